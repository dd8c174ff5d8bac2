// Status objects and exception guards for plugins written in C++.
//
// Nothing may cross the ABI as an exception (rule R3.3): every exported entry
// point wraps its body in guard(), which turns PluginError, std::bad_alloc and
// any other exception into a status object.
#pragma once

#include <exception>
#include <new>
#include <string>
#include <utility>

#include "hxrt/plugin_abi.h"

struct hxrt_plugin_status {
  hxrt_status_code code;
  std::string message;
};

namespace hxrt::plugin {

// Thrown inside a plugin to report a status with a code.
class PluginError : public std::exception {
 public:
  PluginError(hxrt_status_code code, std::string message) : code_(code), message_(std::move(message)) {}
  hxrt_status_code code() const noexcept { return code_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  hxrt_status_code code_;
  std::string message_;
};

// Returns a new status; when even that allocation fails, a static
// RESOURCE_EXHAUSTED status that status_destroy leaves alone.
hxrt_plugin_status* make_status(hxrt_status_code code, std::string message) noexcept;

// Throws PluginError(INVALID_ARGUMENT) naming `what` when `pointer` is null.
inline void require_non_null(const void* pointer, const char* what) {
  if (pointer == nullptr) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(what) + " must not be NULL");
}

// Checks the caller's struct_size covers at least the fields of version 1.0.
void require_struct_size(size_t given, size_t minimum, const char* struct_name);

// Runs `body`; converts any exception into a status object.
template <typename Body>
hxrt_plugin_status* guard(Body&& body) noexcept {
  try {
    body();
    return nullptr;
  } catch (const PluginError& e) {
    return make_status(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return make_status(HXRT_STATUS_RESOURCE_EXHAUSTED, "out of host memory");
  } catch (const std::exception& e) {
    return make_status(HXRT_STATUS_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return make_status(HXRT_STATUS_INTERNAL, "internal error: unknown exception");
  }
}

// Implementations of the three mandatory status slots of hxrt_plugin_api.
hxrt_status_code status_get_code(const hxrt_plugin_status* status);
const char* status_get_message(const hxrt_plugin_status* status);
void status_destroy(hxrt_plugin_status* status);

// Copies `text` into a caller buffer of `capacity` bytes, always NUL-terminated.
void copy_to_buffer(const std::string& text, char* buffer, size_t capacity) noexcept;

}  // namespace hxrt::plugin
