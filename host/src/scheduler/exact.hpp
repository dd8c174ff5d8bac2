// The exact optimum for small graphs (about 10 tasks), by branch and bound, in the
// same model as the heuristics (no duplication, transfers without contention).
// Used to check the heuristics and the validator: nothing may beat it.
#pragma once

#include <cstdint>

#include "scheduler/schedule.hpp"

namespace hxrt::sched {

struct ExactResult {
  bool found = false;    // a schedule better than the given upper bound was found
  bool proven = true;    // the search finished within its node limit
  Schedule schedule;     // the optimum when found && proven
  int64_t nodes = 0;
};

// Optimal makespan; with an upper bound (e.g. the best heuristic's makespan) only
// strictly shorter schedules are searched for, and found = false proves none exists.
// Memory capacities are not considered.
ExactResult exact_optimum(const Instance& instance, double upper_bound = kInf, int64_t node_limit = 200'000'000);

}  // namespace hxrt::sched
