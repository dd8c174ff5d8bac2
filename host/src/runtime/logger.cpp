#include "logger.hpp"

#include <cstdio>
#include <mutex>

namespace hxrt::host {
namespace {
const char* level_name(hxrt_log_level level) {
  switch (level) {
    case HXRT_LOG_ERROR: return "error";
    case HXRT_LOG_WARNING: return "warning";
    case HXRT_LOG_INFO: return "info";
    default: return "debug";
  }
}
}  // namespace

void Logger::log(hxrt_log_level level, const std::string& message) const {
  if (level > max_level_) return;
  if (sink_ != nullptr) {
    sink_(user_data_, level, message.c_str());
    return;
  }
  static std::mutex stderr_mutex;
  std::lock_guard lock(stderr_mutex);
  std::fprintf(stderr, "hxrt %s: %s\n", level_name(level), message.c_str());
}

void Logger::plugin_log(void* user_data, hxrt_log_level level, const char* message) {
  if (user_data == nullptr || message == nullptr) return;
  static_cast<const Logger*>(user_data)->log(level, message);
}

}  // namespace hxrt::host
