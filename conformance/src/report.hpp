// The three outputs: the readable summary (stdout), JUnit XML and JSON.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "suite.hpp"

namespace hxrt::conformance {

struct Totals {
  size_t passed = 0, failed = 0, skipped = 0;
};

Totals count(const std::vector<Result>& results);
// Grouped by area; ends with the line "N passed, N failed, N skipped".
void print_summary(std::ostream& out, const std::string& header, const std::vector<Result>& results, bool verbose);
void write_junit(const std::string& path, const std::string& suite_name, const std::vector<Result>& results);
void write_json(const std::string& path, const std::string& plugin, const Options& options,
                const std::vector<Result>& results);

}  // namespace hxrt::conformance
