// The host's logger: forwards to the application's callback or stderr, and is
// handed to plugins as their hxrt_log_fn (R8.1).
#pragma once

#include <string>

#include "hxrt/plugin_abi.h"

namespace hxrt::host {

class Logger {
 public:
  Logger(hxrt_log_fn sink, void* user_data, hxrt_log_level max_level)
      : sink_(sink), user_data_(user_data), max_level_(max_level) {}

  void log(hxrt_log_level level, const std::string& message) const;
  void error(const std::string& message) const { log(HXRT_LOG_ERROR, message); }
  void warning(const std::string& message) const { log(HXRT_LOG_WARNING, message); }
  void info(const std::string& message) const { log(HXRT_LOG_INFO, message); }
  void debug(const std::string& message) const { log(HXRT_LOG_DEBUG, message); }

  // The C callback given to plugins; user_data is the Logger.
  static void plugin_log(void* user_data, hxrt_log_level level, const char* message);

 private:
  hxrt_log_fn sink_;
  void* user_data_;
  hxrt_log_level max_level_;
};

}  // namespace hxrt::host
