// The cost-driven placer: builds a scheduling instance from the graph (each
// node's estimate on every device, every edge's bytes, each device's memory,
// and the transfer model between every pair of devices) and places nodes by
// hxrt's scheduler (HEFT/PEFT/best-single portfolio plus refinement).
#pragma once

#include "placement.hpp"
#include "scheduler/scheduler.hpp"

namespace hxrt::host {

// The instance the scheduler sees for `graph` on `devices`; exposed for tests
// and for hxrt-sched-bench's replay of real models.
sched::Instance make_instance(const Graph& graph, const std::vector<DeviceRecord*>& devices,
                              const SupportTable& table);

class CostPlacer final : public Placer {
 public:
  explicit CostPlacer(sched::Options options = {}) : options_(options) {}
  Placement place(const Graph& graph, const std::vector<DeviceRecord*>& devices, const SupportTable& table) override;
  // The schedule of the last place() call (predicted makespan, per-node times).
  const sched::Schedule& last_schedule() const { return last_; }

 private:
  sched::Options options_;
  sched::Schedule last_;
};

}  // namespace hxrt::host
