#include "hxrt/plugin_support/status.hpp"

#include <cstring>

namespace hxrt::plugin {

namespace {
// Returned when a status itself cannot be allocated: NULL would read as OK (R3.2).
hxrt_plugin_status out_of_memory_status{HXRT_STATUS_RESOURCE_EXHAUSTED, "out of host memory"};
}  // namespace

hxrt_plugin_status* make_status(hxrt_status_code code, std::string message) noexcept {
  try {
    return new hxrt_plugin_status{code, std::move(message)};
  } catch (...) {
    return &out_of_memory_status;
  }
}

void require_struct_size(size_t given, size_t minimum, const char* struct_name) {
  if (given < minimum) {
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(struct_name) + ".struct_size is " +
                                                        std::to_string(given) + ", smaller than version 1.0's " +
                                                        std::to_string(minimum));
  }
}

hxrt_status_code status_get_code(const hxrt_plugin_status* status) {
  return status == nullptr ? HXRT_STATUS_OK : status->code;
}

const char* status_get_message(const hxrt_plugin_status* status) {
  return status == nullptr ? "" : status->message.c_str();
}

void status_destroy(hxrt_plugin_status* status) {
  if (status != &out_of_memory_status) delete status;
}

void copy_to_buffer(const std::string& text, char* buffer, size_t capacity) noexcept {
  if (buffer == nullptr || capacity == 0) return;
  size_t n = text.size() < capacity - 1 ? text.size() : capacity - 1;
  std::memcpy(buffer, text.data(), n);
  buffer[n] = '\0';
}

}  // namespace hxrt::plugin
