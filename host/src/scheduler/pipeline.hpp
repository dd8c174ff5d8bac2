// The throughput objective: for a stream of requests, the graph is cut into
// pipeline stages, consecutive in a topological order, each on its own device;
// requests flow through them, so throughput is set by the slowest stage.
#pragma once

#include <vector>

#include "scheduler/instance.hpp"

namespace hxrt::sched {

struct PipelinePlan {
  std::vector<int> stage_of_task;  // per task
  std::vector<int> stage_device;   // per stage, distinct devices
  std::vector<double> stage_ns;    // per stage: compute + receiving its inputs
  double period_ns = kInf;         // slowest stage = time between finished requests
};

// A stage's time is its ops' costs on its device plus the transfers of every input
// it receives from earlier stages, each charged conservatively at the slowest link
// from any device used earlier (the stage computes and receives in turn). Dynamic
// programming over cut points and used-device sets gives the minimum period under
// that charge; graphs above `max_blocks` ops are cut at block boundaries only.
PipelinePlan pipeline_stages(const Instance& instance, const std::vector<int>& order, int max_blocks = 1000);

// The period of a given split under the same charge (for checks and reports).
double pipeline_period(const Instance& instance, const std::vector<int>& order, const std::vector<int>& stage_of_task,
                       const std::vector<int>& stage_device, std::vector<double>* stage_ns = nullptr);

}  // namespace hxrt::sched
