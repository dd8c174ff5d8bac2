// The greedy schedulers: HEFT and PEFT (hxrt's greedy candidates) and the
// baselines they are compared against. All are memory-aware for resident weights:
// a device whose capacity the weights already fill is not chosen while another fits.
#pragma once

#include <vector>

#include "scheduler/schedule.hpp"

namespace hxrt::sched {

// Mean cost of a task over the devices that support it, and mean transfer time of
// an edge over all ordered pairs of distinct devices (HEFT's w-bar and c-bar).
double mean_cost(const Instance& instance, int task);
std::vector<double> mean_comm(const Instance& instance);

// HEFT's upward rank on mean costs.
std::vector<double> upward_rank(const Instance& instance);
// PEFT's optimistic cost table, oct[task * q + device].
std::vector<double> optimistic_cost_table(const Instance& instance);
// A topological order: repeatedly the ready task of highest priority (ties: lower index).
std::vector<int> priority_order(const Instance& instance, const std::vector<double>& priority);
// Upward rank with each task's actual device cost and transfers between actual devices.
std::vector<int> assignment_order(const Instance& instance, const std::vector<int>& device);

// Topcuoglu, Hariri and Wu 2002: upward rank, insertion-based earliest finish time.
Schedule heft(const Instance& instance);
// Arabnejad and Barbosa 2014: optimistic cost table, EFT + OCT.
Schedule peft(const Instance& instance);
// HEFT again with ranks from a previous schedule's actual costs and transfers
// (the mean-cost ranks misjudge paths that end up on one device).
Schedule heft_reranked(const Instance& instance, const Schedule& previous);
// Everything on one device; ops it does not support run on the CPU fallback, and
// weights that do not fit spill to the device with room that runs them fastest.
Schedule single_device(const Instance& instance, int device);
Schedule best_single_device(const Instance& instance);
// ONNX Runtime style: each op on the first device in priority order (GPU, other,
// CPU) that supports it and has room, in topological order.
Schedule priority_first_fit(const Instance& instance);
// StarPU dmda style: online, each task when its inputs are done goes to the device
// with the earliest expected finish (queue append, transfers included); no lookahead.
Schedule online_eft(const Instance& instance);

}  // namespace hxrt::sched
