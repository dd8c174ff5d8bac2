// The host's internal error type. Public C API functions catch it (and any
// other exception) and turn it into an hxrt_status.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "hxrt/status_code.h"

namespace hxrt::host {

class Error : public std::exception {
 public:
  Error(hxrt_status_code code, std::string message) : code_(code), message_(std::move(message)) {}
  hxrt_status_code code() const noexcept { return code_; }
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& message() const noexcept { return message_; }

 private:
  hxrt_status_code code_;
  std::string message_;
};

}  // namespace hxrt::host
