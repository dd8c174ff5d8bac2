// The executor: runs a placed graph through streams and events on each device.
//
// At construction it compiles one executable per node on its device, lays out
// a fixed list of actions (uploads, executions, transfers, downloads) and
// plans device memory: each device gets one arena in which values whose
// lifetimes (spans of the action list) do not overlap share bytes. A run
// replays the actions: device work is enqueued asynchronously; the host only
// waits where a value crosses between plugins (through host staging) and at
// the end for the outputs.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "device_objects.hpp"
#include "graph/ir.hpp"
#include "logger.hpp"
#include "memory_planner.hpp"
#include "placement.hpp"
#include "trace.hpp"

namespace hxrt::host {

struct DeviceMemoryStats {
  std::string device_id;
  uint64_t planned_bytes = 0;  // the arena this session allocated
  uint64_t naive_bytes = 0;    // one buffer per tensor would have needed this
};

class Executor {
 public:
  // `estimated_ns[n]` is the placed device's estimate for node n (for the predicted trace).
  Executor(const Graph& graph, std::vector<DeviceRecord*> devices, const Placement& placement,
           std::vector<double> estimated_ns, const Logger& logger);
  ~Executor();

  // inputs[i] is the data of graph.inputs[i]; outputs[i] receives
  // graph.outputs[i] (nullptr: not wanted). Blocks until outputs are written.
  // With `trace`, also records when each action ran (one extra event per action).
  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, RunTrace* trace = nullptr);

  const std::vector<DeviceMemoryStats>& memory_stats() const { return memory_stats_; }

 private:
  enum class ActionKind { kUpload, kExecute, kToStaging, kFromStaging, kPeerCopy, kDownloadOutput };
  struct Action {
    ActionKind kind;
    int value = -1;          // IR value moved
    int from = -1, to = -1;  // device indices (-1: host)
    int step = -1;           // kExecute
    int slot = -1;           // graph input index (kUpload) or graph output index (kDownloadOutput)
    hxrt_event* event = nullptr;
  };
  using Key = std::pair<int, int>;  // (value, device)
  struct Step {
    int node;
    int device;
    ExecutablePtr executable;
    std::vector<Key> inputs, outputs;
    std::vector<BufferSlice> input_slices, output_slices;  // resolved after planning
  };

  int64_t bytes_of(int value) const;
  void plan_transfer(int value, int device, std::vector<Action>& actions);
  void plan_memory();
  BufferSlice slice(int value, int device) const { return slices_.at({value, device}); }
  void perform(const Action& action, const std::vector<const void*>& inputs, const std::vector<void*>& outputs);
  void run_traced(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, RunTrace& trace);
  // The stream an action's device work runs on, -1 for none.
  int stream_of(const Action& action) const;
  TraceRecord describe(const Action& action) const;
  std::vector<TraceRecord> predict() const;

  const Graph& graph_;
  std::vector<DeviceRecord*> devices_;
  const Logger& logger_;
  std::vector<int> home_;  // device producing each value; -1 for host (inputs, constants)
  std::vector<StreamPtr> streams_;  // one per device
  std::vector<BufferPtr> arenas_;   // one per device (null when unused)
  std::map<Key, BufferSlice> slices_;
  std::map<int, std::vector<uint8_t>> staging_;  // host staging per value
  std::map<int, hxrt_event*> staging_event_;     // signalled when staging_[value] is filled
  std::vector<EventPtr> events_;
  std::vector<Step> steps_;
  std::vector<Action> actions_;
  std::vector<int> graph_input_slot_;  // value -> graph input index, or -1
  std::vector<DeviceMemoryStats> memory_stats_;
  std::vector<double> estimated_ns_;
  std::vector<EventPtr> trace_events_;  // one per action, made on the first traced run
  std::mutex run_mutex_;  // one run at a time: the arenas are shared
};

}  // namespace hxrt::host
