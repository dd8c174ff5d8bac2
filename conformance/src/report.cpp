#include "report.hpp"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace hxrt::conformance {
namespace {

// Areas in the order the summary shows them; unknown areas follow.
const std::vector<std::string> kAreaOrder = {"abi", "memory", "streams", "ops", "cost", "executables", "stress", "onnx"};

std::map<std::string, std::vector<const Result*>> by_area(const std::vector<Result>& results) {
  std::map<std::string, std::vector<const Result*>> areas;
  for (const auto& r : results) areas[r.area].push_back(&r);
  return areas;
}

std::vector<std::string> area_names(const std::map<std::string, std::vector<const Result*>>& areas) {
  std::vector<std::string> names;
  for (const auto& a : kAreaOrder)
    if (areas.count(a)) names.push_back(a);
  for (const auto& [a, _] : areas)
    if (std::find(kAreaOrder.begin(), kAreaOrder.end(), a) == kAreaOrder.end()) names.push_back(a);
  return names;
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out = prefix;
  for (char c : text) {
    out += c;
    if (c == '\n') out += prefix;
  }
  return out;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even when escaped.
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') out += '?';
        else out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

Totals count(const std::vector<Result>& results) {
  Totals t;
  for (const auto& r : results) {
    if (r.status == "pass") ++t.passed;
    else if (r.status == "skip") ++t.skipped;
    else ++t.failed;
  }
  return t;
}

void print_summary(std::ostream& out, const std::string& header, const std::vector<Result>& results, bool verbose) {
  out << header << "\n";
  auto areas = by_area(results);
  for (const auto& name : area_names(areas)) {
    const auto& list = areas[name];
    Totals t;
    for (const Result* r : list) {
      if (r->status == "pass") ++t.passed;
      else if (r->status == "skip") ++t.skipped;
      else ++t.failed;
    }
    out << "\n== " << name << ": " << t.passed << " passed, " << t.failed << " failed, " << t.skipped << " skipped\n";
    // Skips with the same reason are folded into one line.
    std::map<std::string, std::vector<std::string>> skips;
    for (const Result* r : list) {
      if (r->status == "fail") {
        out << "  FAIL " << r->id << "  [" << r->rule << "]\n" << indent(r->message, "       ") << "\n";
      } else if (r->status == "skip") {
        skips[r->message].push_back(r->id);
      } else if (verbose || !r->note.empty()) {
        out << "  pass " << r->id << (r->note.empty() ? "" : "  (" + r->note + ")") << "\n";
      }
    }
    for (const auto& [why, ids] : skips) {
      if (verbose || ids.size() <= 3) {
        for (const auto& id : ids) out << "  skip " << id << ": " << why << "\n";
      } else {
        out << "  skip " << ids.size() << " checks (" << ids.front() << ", ...): " << why << "\n";
      }
    }
  }
  Totals all = count(results);
  out << "\n" << all.passed << " passed, " << all.failed << " failed, " << all.skipped << " skipped\n";
}

void write_junit(const std::string& path, const std::string& suite_name, const std::vector<Result>& results) {
  std::ofstream f(path);
  if (!f) throw std::runtime_error("cannot write " + path);
  Totals all = count(results);
  double total_time = 0;
  for (const auto& r : results) total_time += r.seconds;
  f << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  f << "<testsuites name=\"" << xml_escape(suite_name) << "\" tests=\"" << results.size() << "\" failures=\""
    << all.failed << "\" skipped=\"" << all.skipped << "\" time=\"" << total_time << "\">\n";
  auto areas = by_area(results);
  for (const auto& name : area_names(areas)) {
    const auto& list = areas[name];
    Totals t;
    double time = 0;
    for (const Result* r : list) {
      time += r->seconds;
      if (r->status == "pass") ++t.passed;
      else if (r->status == "skip") ++t.skipped;
      else ++t.failed;
    }
    f << "  <testsuite name=\"" << xml_escape(suite_name + "." + name) << "\" tests=\"" << list.size()
      << "\" failures=\"" << t.failed << "\" skipped=\"" << t.skipped << "\" time=\"" << time << "\">\n";
    for (const Result* r : list) {
      f << "    <testcase classname=\"" << xml_escape(suite_name + "." + name) << "\" name=\"" << xml_escape(r->id)
        << "\" time=\"" << r->seconds << "\">";
      if (r->status == "fail")
        f << "\n      <failure message=\"" << xml_escape(r->rule) << "\">" << xml_escape(r->message)
          << "</failure>\n    ";
      else if (r->status == "skip")
        f << "<skipped message=\"" << xml_escape(r->message) << "\"/>";
      if (!r->note.empty()) f << "<system-out>" << xml_escape(r->note) << "</system-out>";
      f << "</testcase>\n";
    }
    f << "  </testsuite>\n";
  }
  f << "</testsuites>\n";
}

void write_json(const std::string& path, const std::string& plugin, const Options& options,
                const std::vector<Result>& results) {
  nlohmann::json j;
  j["plugin"] = plugin;
  j["plugin_path"] = options.plugin_path;
  j["profile"] = options.profile == Profile::kFull ? "full" : "core";
  j["seed"] = options.seed;
  j["filter"] = options.filter;
  Totals t = count(results);
  j["summary"] = {{"passed", t.passed}, {"failed", t.failed}, {"skipped", t.skipped}};
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : results)
    list.push_back({{"id", r.id}, {"area", r.area}, {"rule", r.rule}, {"status", r.status}, {"message", r.message},
                    {"note", r.note}, {"seconds", r.seconds}});
  j["results"] = list;
  std::ofstream f(path);
  if (!f) throw std::runtime_error("cannot write " + path);
  f << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace hxrt::conformance
