#include "scheduler/export.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hxrt::sched {

static std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

static std::string task_label(const Instance& inst, int t) {
  const Task& task = inst.tasks[t];
  return task.name.empty() ? fmt::format("#{}", t) : task.name;
}

std::string gantt_svg(const Instance& inst, const Schedule& s) {
  const int q = inst.num_devices();
  const double width = 1000, row = 36, left = 110, top = 30;
  const double span = s.makespan > 0 ? s.makespan : 1;
  auto x = [&](double t) { return left + (width - left - 20) * t / span; };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"10\">\n<text x=\"{}\" y=\"16\" font-size=\"12\">{}: makespan {:.1f} ns</text>\n",
      width, top + row * q + 30, left, xml_escape(s.algorithm), s.makespan);
  static const char* colours[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1"};
  for (int d = 0; d < q; ++d) {
    const double y = top + row * d;
    svg += fmt::format("<text x=\"4\" y=\"{}\">{}</text>\n", y + row / 2 + 3, xml_escape(inst.devices[d].name));
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ccc\"/>\n", left, y + row, width - 20,
                       y + row);
  }
  for (int t = 0; t < inst.num_tasks(); ++t) {
    const double y = top + row * s.device[t] + 4;
    const double w = std::max(0.5, x(s.finish[t]) - x(s.start[t]));
    svg += fmt::format(
        "<rect x=\"{:.2f}\" y=\"{}\" width=\"{:.2f}\" height=\"{}\" fill=\"{}\" stroke=\"#333\" stroke-width=\"0.3\">"
        "<title>{} [{:.1f}, {:.1f}]</title></rect>\n",
        x(s.start[t]), y, w, row - 8, colours[s.device[t] % 7], xml_escape(task_label(inst, t)), s.start[t], s.finish[t]);
    if (w > 28)
      svg += fmt::format("<text x=\"{:.2f}\" y=\"{}\" fill=\"white\">{}</text>\n", x(s.start[t]) + 2, y + row / 2,
                         xml_escape(task_label(inst, t)));
  }
  for (const auto& tr : s.transfers(inst)) {
    const double y1 = top + row * tr.from + row / 2, y2 = top + row * tr.to + row / 2;
    svg += fmt::format(
        "<line x1=\"{:.2f}\" y1=\"{}\" x2=\"{:.2f}\" y2=\"{}\" stroke=\"#e15759\" stroke-width=\"0.8\" "
        "stroke-dasharray=\"3,2\"><title>transfer {} -&gt; {}: {:.1f} ns</title></line>\n",
        x(tr.start), y1, x(tr.finish), y2, xml_escape(task_label(inst, inst.edges[tr.edge].src)),
        xml_escape(task_label(inst, inst.edges[tr.edge].dst)), tr.finish - tr.start);
  }
  svg += "</svg>\n";
  return svg;
}

std::string chrome_trace_json(const Instance& inst, const Schedule& s) {
  nlohmann::json events = nlohmann::json::array();
  for (int d = 0; d < inst.num_devices(); ++d)
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", d},
                      {"args", {{"name", inst.devices[d].name}}}});
  // Chrome traces count microseconds.
  for (int t = 0; t < inst.num_tasks(); ++t)
    events.push_back({{"name", task_label(inst, t)}, {"cat", inst.tasks[t].op.empty() ? "op" : inst.tasks[t].op},
                      {"ph", "X"}, {"pid", 1}, {"tid", s.device[t]}, {"ts", s.start[t] / 1000.0},
                      {"dur", (s.finish[t] - s.start[t]) / 1000.0}});
  for (const auto& tr : s.transfers(inst))
    events.push_back({{"name", fmt::format("copy {}->{}", task_label(inst, inst.edges[tr.edge].src),
                                           task_label(inst, inst.edges[tr.edge].dst))},
                      {"cat", "transfer"}, {"ph", "X"}, {"pid", 2}, {"tid", tr.from * inst.num_devices() + tr.to},
                      {"ts", tr.start / 1000.0}, {"dur", (tr.finish - tr.start) / 1000.0},
                      {"args", {{"bytes", inst.edges[tr.edge].bytes}}}});
  return nlohmann::json{{"traceEvents", events}, {"displayTimeUnit", "ns"}}.dump(1);
}

std::string explain_text(const Instance& inst, const Schedule& s) {
  std::string out = fmt::format("schedule '{}': predicted makespan {:.0f} ns\n", s.algorithm, s.makespan);
  std::vector<int> order(inst.num_tasks());
  for (int t = 0; t < inst.num_tasks(); ++t) order[t] = t;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return s.start[a] < s.start[b]; });
  out += fmt::format("{:<32} {:<14} {:>12} {:>12}\n", "op", "device", "start_ns", "finish_ns");
  for (int t : order)
    out += fmt::format("{:<32} {:<14} {:>12.0f} {:>12.0f}\n", task_label(inst, t), inst.devices[s.device[t]].name,
                       s.start[t], s.finish[t]);
  const auto transfers = s.transfers(inst);
  out += fmt::format("{} transfers\n", transfers.size());
  for (const auto& tr : transfers)
    out += fmt::format("  {} -> {}: {} -> {}, {:.0f} bytes, {:.0f}..{:.0f} ns\n",
                       task_label(inst, inst.edges[tr.edge].src), task_label(inst, inst.edges[tr.edge].dst),
                       inst.devices[tr.from].name, inst.devices[tr.to].name, inst.edges[tr.edge].bytes, tr.start,
                       tr.finish);
  return out;
}

}  // namespace hxrt::sched
