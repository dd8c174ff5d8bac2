// A schedule for people: a Gantt chart (SVG, one row per device, transfers as
// arrows) and Chrome trace JSON (chrome://tracing, Perfetto).
#pragma once

#include <string>

#include "scheduler/schedule.hpp"

namespace hxrt::sched {

std::string gantt_svg(const Instance& instance, const Schedule& schedule);
std::string chrome_trace_json(const Instance& instance, const Schedule& schedule);
// A text table: task, device, start, finish; then each transfer and the makespan.
std::string explain_text(const Instance& instance, const Schedule& schedule);

}  // namespace hxrt::sched
