// Shared by the scheduler tests: every algorithm's schedule for an instance, and
// the random shapes the tests sweep.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "scheduler/heuristics.hpp"
#include "scheduler/random_dag.hpp"
#include "scheduler/scheduler.hpp"

namespace hxrt::sched::testing {

inline std::vector<Schedule> all_schedules(const Instance& inst, const Options& options = {}) {
  std::vector<Schedule> out{heft(inst), peft(inst), best_single_device(inst), priority_first_fit(inst), online_eft(inst)};
  for (int d = 0; d < inst.num_devices(); ++d) out.push_back(single_device(inst, d));
  out.push_back(schedule(inst, options).best);
  return out;
}

inline ::testing::AssertionResult valid(const Instance& inst, const Schedule& s, bool check_memory = true) {
  const auto errors = validate(inst, s, check_memory);
  if (errors.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.algorithm << ": " << errors.front() << " (" << errors.size() << " errors)";
}

}  // namespace hxrt::sched::testing
