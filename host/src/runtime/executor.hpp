// The executor: runs a placed graph through streams and events on each device.
//
// At construction it compiles one executable per node on its device, lays out
// a fixed list of actions (uploads, executions, transfers, downloads) and
// plans device memory: values whose lifetimes (spans of the action list) do
// not overlap share bytes of one arena per device.
//
// A run replays the actions in a run context: its own streams (per device one
// for compute, one copy-in stream for everything arriving on the device and
// one copy-out stream for everything leaving it, ordered by events only where
// a value passes between them), arenas, host staging and events. Device work is
// enqueued asynchronously; the host waits only where a value crosses between
// plugins and at the end for the outputs. When a run has such a crossing, each
// device's actions are enqueued by their own thread, so a wait for one
// crossing never holds up the other devices. A crossing takes one hop when either
// side can address host memory (the copy goes straight into or out of that
// device's arena), otherwise it goes through host staging in chunks so the two
// hops overlap. Devices that can wrap host memory (ABI 1.2) execute directly on
// the caller's input and output buffers. Several contexts let several runs be
// in flight at once (throughput mode): while one request computes on a device,
// the next one's copies and earlier ops proceed.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
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
  uint64_t planned_bytes = 0;  // the arena of one run context
  uint64_t naive_bytes = 0;    // one buffer per tensor would have needed this
};

struct ExecutorOptions {
  int runs_in_flight = 1;                 // run contexts; more overlap requests
  // Cross-plugin copies move in chunks of this size: each chunk costs a host
  // wait and an enqueue, so chunks are kept large (docs/benchmarks/executor.md).
  uint64_t transfer_chunk_bytes = 16 << 20;
  // Per device (the session's order): transfer costs for the predicted trace,
  // refined by measurements; empty = what each plugin reports.
  std::vector<hxrt_transfer_costs> transfer_costs;
  // Copies on their own streams per device (copy-in: uploads, peer copies and
  // staged arrivals; copy-out: downloads and staging), so they overlap compute
  // (of this run and of others in flight); false: all on the compute stream.
  bool copy_streams = true;
  // Zero-copy where a device can address host memory: caller buffers bound
  // directly on devices that wrap host memory (R4.6), and one-hop crossings
  // into or out of host-addressable arenas. false: always copy and stage.
  bool zero_copy = true;
  // In-place execution: an element-wise op's output may take the bytes of an
  // input of the same size whose last use is that op.
  bool in_place = true;
};

class Executor {
 public:
  // `estimated_ns[n]` is the placed device's estimate for node n (for the predicted trace).
  Executor(const Graph& graph, std::vector<DeviceRecord*> devices, const Placement& placement,
           std::vector<double> estimated_ns, const Logger& logger, ExecutorOptions options = {});
  ~Executor();

  // inputs[i] is the data of graph.inputs[i]; outputs[i] receives
  // graph.outputs[i] (nullptr: not wanted). Blocks until outputs are written.
  // Thread-safe: up to runs_in_flight calls proceed at once.
  // With `trace`, also records when each action ran (one extra event per action).
  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, RunTrace* trace = nullptr);

  const std::vector<DeviceMemoryStats>& memory_stats() const { return memory_stats_; }
  // The schedule the plugins' estimates and transfer costs predict for one run.
  std::vector<TraceRecord> predict() const;

 private:
  enum class ActionKind { kUpload, kExecute, kToStaging, kFromStaging, kPeerCopy, kDownloadOutput };
  enum StreamRole { kCompute = 0, kCopyIn = 1, kCopyOut = 2, kRoles = 3 };
  struct Action {
    ActionKind kind;
    int value = -1;          // IR value moved
    int from = -1, to = -1;  // device indices (-1: host)
    int step = -1;           // kExecute
    int slot = -1;           // graph input index (kUpload) or graph output index (kDownloadOutput)
  };
  using Key = std::pair<int, int>;  // (value, device)
  struct Step {
    std::vector<int> nodes;  // one node, or a group the plugin claimed (consecutive in topological order)
    int device;
    ExecutablePtr executable;
    std::vector<Key> inputs, outputs;
  };
  // How a value crossing plugins (or devices without a peer path) travels.
  struct Crossing {
    int from = -1;
    bool source_direct = false;       // consumers copy straight out of the host-addressable source arena
    std::set<int> direct_to;          // host-addressable destinations the source copies straight into
    bool needs_staging = false;       // some destination goes through host staging
  };
  struct Staging;   // host memory a crossing value passes through
  struct Context;   // everything one run in flight owns
  struct RunState;  // what one run adds to its context: zero-copy bindings, events to wait for

  int64_t bytes_of(int value) const;
  // Nodes in topological order, cut into groups: maximal runs of consecutive
  // nodes on one device that its plugin's claim_subgraph put in one group.
  // Consecutive runs are convex, so executing a group as one step keeps order.
  std::vector<std::vector<int>> group_nodes(const Placement& placement) const;
  std::string step_name(const Step& step) const;
  void plan_transfer(int value, int device, std::vector<Action>& actions);
  void plan_lanes();
  void plan_memory();
  std::unique_ptr<Context> make_context();
  Context& acquire();
  void release(Context& context);
  void bind_caller_memory(RunState& r, const std::vector<const void*>& inputs, const std::vector<void*>& outputs);
  void perform(Context& c, RunState& r, size_t index, const std::vector<const void*>& inputs,
               const std::vector<void*>& outputs);
  // Calls `act` for every action, in order per device: on this thread alone,
  // or with one thread per device when some action makes the host wait.
  void dispatch(const std::function<void(size_t)>& act) const;
  void run_traced(Context& c, RunState& r, const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
                  RunTrace& trace);
  int stream_of(const Action& action) const;  // the device whose stream runs the action
  StreamRole role_of(const Action& action) const;
  bool zero_copy_on(int device) const;
  bool arena_in_host_memory(int device) const;
  bool wraps_arena(int device) const;
  TraceRecord describe(const Action& action) const;

  const Graph& graph_;
  std::vector<DeviceRecord*> devices_;
  const Logger& logger_;
  ExecutorOptions options_;
  std::vector<double> estimated_ns_;
  std::vector<int> home_;  // device producing each value; -1 for host (inputs, constants)
  std::vector<bool> device_used_;
  std::vector<Step> steps_;
  std::vector<Action> actions_;
  std::vector<int> graph_input_slot_;            // value -> graph input index, or -1
  std::map<int, int> staged_values_;             // value -> device it is staged from
  std::map<int, Crossing> crossings_;             // value -> how it crosses (same keys as staged_values_)
  std::map<Key, int> producer_step_;              // (value, device) -> the step that writes it
  std::vector<bool> step_signals_;                // the step records an event other streams or the host wait for
  std::map<Key, Key> in_place_;                   // output key -> input key whose bytes it takes
  // Per device, its actions in order (those whose stream is on it).
  std::vector<std::vector<size_t>> lanes_;
  // Per action: an action of another device that must be enqueued before it
  // (it records the event this one waits for), or -1.
  std::vector<int> enqueue_after_;
  std::vector<int> execute_action_;  // per step: the action that executes it
  bool dispatch_lanes_ = false;  // some action waits on the host mid-run, and several devices have actions
  std::map<Key, std::pair<int, uint64_t>> planned_;  // (value, device) -> (device, offset in its arena)
  std::vector<uint64_t> arena_bytes_;            // per device
  std::vector<DeviceMemoryStats> memory_stats_;

  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Context>> contexts_;
  std::vector<Context*> idle_;
};

}  // namespace hxrt::host
