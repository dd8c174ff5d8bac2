// Small string helpers shared by the host library and its tools.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace hxrt::host {

// Splits "a:b::c" on `separator`, dropping empty parts.
inline std::vector<std::string> split_list(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

}  // namespace hxrt::host
