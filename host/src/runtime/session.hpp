// A session: one imported, shape-inferred, placed and compiled model.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "environment.hpp"
#include "executor.hpp"
#include "graph/ir.hpp"
#include "placement.hpp"

namespace hxrt::sched {
class PerfModel;
}

namespace hxrt::host {

enum class Objective { kLatency, kThroughput };

struct SessionConfig {
  std::vector<std::string> allowed_devices;  // ids ("cpu:0") or plugin names ("cpu"); empty = all
  Objective objective = Objective::kLatency;
  std::map<std::string, Shape> input_shapes;  // for symbolic input dims
  // Values for inputs; those consumed where an op needs a compile-time value
  // (see shape_determining_inputs) become constants, the rest are ignored.
  std::map<std::string, HostTensor> input_values;
  std::shared_ptr<Placer> placer;             // default: CostPlacer (hxrt's scheduler)
  ExecutorOptions executor;                   // throughput objective raises runs_in_flight to at least 4
  // Device id -> the most bytes this session may use there (weights plus the
  // planned activation arenas of every run context); default: the device's memory.
  // Placement keeps within it, and a plan that still exceeds it fails the session.
  std::map<std::string, uint64_t> memory_limits;
  // Measured op costs that override the plugins' estimates (see perf_model_path()).
  // "" = the default path; "none" = use no measurements.
  std::string perf_model;
};

struct NodePlacement {
  std::string node_name;
  std::string op_type;
  std::string device_id;
  double estimated_ns = 0;
};

// Graph inputs consumed directly where an op needs a value at compile time
// (Reshape's shape, Slice's starts/ends/axes/steps, Pad's pads, Resize's
// scales/sizes, reduction and (Un)Squeeze axes, Split's sizes, ...).
std::vector<std::string> shape_determining_inputs(const Graph& graph);

class Session {
 public:
  Session(Environment& environment, const void* model_bytes, size_t model_size, const SessionConfig& config);
  ~Session();

  const Graph& graph() const { return graph_; }
  const std::vector<DeviceRecord*>& devices() const { return devices_; }
  const std::vector<NodePlacement>& placements() const { return placements_; }
  const std::vector<DeviceMemoryStats>& memory_stats() const { return executor_->memory_stats(); }
  // Runs `runs` traced runs and records each node's measured time on its
  // device into the performance model at `path` (created if missing).
  void calibrate(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, int runs,
                 const std::string& path) const;
  // $HXRT_PERF_MODEL ("none" disables it), else $XDG_CACHE_HOME (or ~/.cache)/hxrt/perf-model.json.
  static std::string default_perf_model_path();

  // Placement with each device's answer per node, the predicted schedule and
  // its transfers, as readable text; `predicted` receives the schedule.
  std::string explain(std::vector<TraceRecord>* predicted = nullptr) const;

  // Inputs and outputs by name, validated against the static signature.
  // With `trace`, also records the run's timeline (see trace.hpp).
  void run(const std::map<std::string, const void*>& inputs, const std::map<std::string, void*>& outputs,
           RunTrace* trace = nullptr);
  // Positional form: one entry per graph input / output (nullptr = output not wanted).
  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, RunTrace* trace = nullptr);

 private:
  std::vector<DeviceRecord*> select_devices(const SessionConfig& config) const;
  void drop_folded_nodes();
  void apply_measured_costs(const std::string& path);
  void apply_duplicates(Placement& placement);
  void apply_measured_transfers(const sched::PerfModel& model);
  // Device index and its bytes over the limit where the executor's plan needs
  // more than the session may use (weights + arenas x run contexts); -1 if none.
  std::pair<int, double> memory_overshoot(const std::vector<double>& limits, int run_contexts) const;

  Environment& environment_;
  std::vector<DeviceRecord*> devices_;
  Graph graph_;
  std::vector<NodePlacement> placements_;
  SupportTable support_;
  std::unique_ptr<Executor> executor_;
};

}  // namespace hxrt::host
