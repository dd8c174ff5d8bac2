#include "trace.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hxrt::host {
namespace {

double makespan(const std::vector<TraceRecord>& records) {
  double end = 0;
  for (const auto& r : records) end = std::max(end, r.end_us);
  return end;
}

}  // namespace

double RunTrace::measured_makespan_us() const { return makespan(measured); }
double RunTrace::predicted_makespan_us() const { return makespan(predicted); }

double RunTrace::hidden_transfer_share() const {
  double copy_total = 0, hidden = 0;
  for (const auto& copy : measured) {
    if (copy.category != "copy" || copy.end_us <= copy.start_us) continue;
    copy_total += copy.end_us - copy.start_us;
    // Union of compute intervals on other tracks, clipped to this copy.
    std::vector<std::pair<double, double>> covers;
    for (const auto& c : measured)
      if (c.category == "compute" && c.track != copy.track && c.end_us > copy.start_us && c.start_us < copy.end_us)
        covers.emplace_back(std::max(c.start_us, copy.start_us), std::min(c.end_us, copy.end_us));
    std::sort(covers.begin(), covers.end());
    double cursor = copy.start_us;
    for (const auto& [begin, end] : covers) {
      if (end <= cursor) continue;
      hidden += end - std::max(begin, cursor);
      cursor = end;
    }
  }
  return copy_total > 0 ? hidden / copy_total : 1.0;
}

std::string RunTrace::to_chrome_json() const {
  nlohmann::json events = nlohmann::json::array();
  auto emit = [&](const std::vector<TraceRecord>& records, int pid, const char* process) {
    events.push_back({{"ph", "M"}, {"pid", pid}, {"name", "process_name"}, {"args", {{"name", process}}}});
    std::map<std::string, int> tids;
    for (const auto& r : records) {
      auto [it, inserted] = tids.emplace(r.track, static_cast<int>(tids.size()) + 1);
      if (inserted)
        events.push_back({{"ph", "M"}, {"pid", pid}, {"tid", it->second}, {"name", "thread_name"},
                          {"args", {{"name", r.track}}}});
      nlohmann::json args = {{"category", r.category}};
      if (r.bytes) args["bytes"] = r.bytes;
      events.push_back({{"ph", "X"}, {"pid", pid}, {"tid", it->second}, {"name", r.name}, {"cat", r.category},
                        {"ts", r.start_us}, {"dur", std::max(0.0, r.end_us - r.start_us)}, {"args", args}});
    }
  };
  emit(measured, 1, "measured");
  emit(predicted, 2, "predicted");
  return nlohmann::json{{"traceEvents", events}, {"displayTimeUnit", "ns"}}.dump(1);
}

std::string RunTrace::to_svg(const std::vector<TraceRecord>& records, const std::string& title) {
  std::map<std::string, int> rows;
  for (const auto& r : records) rows.emplace(r.track, static_cast<int>(rows.size()));
  const double width = 1200, label = 160, row_height = 28, top = 40;
  double span = std::max(makespan(records), 1e-9);
  double scale = (width - label - 20) / span;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"11\">\n<text x=\"10\" y=\"20\" font-size=\"14\">{} (makespan {:.1f} us)</text>\n",
      width, top + row_height * static_cast<double>(rows.size()) + 20, title, span);
  for (const auto& [track, row] : rows)
    svg += fmt::format("<text x=\"10\" y=\"{}\">{}</text>\n", top + row * row_height + 18, track);
  for (const auto& r : records) {
    double x = label + r.start_us * scale, w = std::max(1.0, (r.end_us - r.start_us) * scale);
    const char* color = r.category == "compute" ? "#4c78a8" : r.category == "copy" ? "#f58518" : "#bab0ac";
    svg += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"><title>{} {:.1f}-{:.1f} us"
        "</title></rect>\n",
        x, top + rows[r.track] * row_height + 4, w, row_height - 8, color, r.name, r.start_us, r.end_us);
  }
  return svg + "</svg>\n";
}

std::string RunTrace::summary() const {
  return fmt::format("makespan: measured {:.1f} us, predicted {:.1f} us; transfer time hidden under compute: {:.0f}%",
                     measured_makespan_us(), predicted_makespan_us(), 100.0 * hidden_transfer_share());
}

}  // namespace hxrt::host
