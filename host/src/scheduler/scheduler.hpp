// hxrt's scheduler: a portfolio of greedy candidates (HEFT, PEFT, best single
// device, online EFT), the best of them refined by iterated local search.
#pragma once

#include <cstdint>
#include <vector>

#include "scheduler/schedule.hpp"

namespace hxrt::sched {

struct Options {
  bool refine = true;
  int max_evaluations = 4000;   // re-simulations the refinement may spend
  // Wall-clock cap for the whole call (greedy + refinement); < 0: by graph size,
  // 40 ms up to 10,000 ops rising linearly to 900 ms at 100,000.
  double time_budget_ms = -1;
  uint64_t seed = 1;            // the search is deterministic for a seed unless the time cap cuts it
  bool duplicate = true;        // may recompute cheap tasks on a consumer's device instead of a transfer
};

struct Result {
  Schedule best;                     // valid, and no slower than any candidate
  std::vector<Schedule> candidates;  // the greedy schedules, for reports
  int evaluations = 0;
  double wall_ms = 0;
};

// The latency objective: the makespan of one run. Among schedules that fit in
// memory, the shortest; if none fits, the one overflowing least.
Result schedule(const Instance& instance, const Options& options = {});

double auto_time_budget_ms(int tasks);

// The refinement on its own, from a given schedule (its assignment and order).
Schedule refine(const Instance& instance, const Schedule& start, const Options& options, int* evaluations = nullptr);

}  // namespace hxrt::sched
