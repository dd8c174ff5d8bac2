// The executor: runs a placed graph through streams and events on each device.
//
// At construction it compiles one executable per node on its device, gives
// every value a buffer on each device that needs it, and lays out a fixed
// list of actions (uploads, executions, transfers, downloads). A run replays
// the actions: all device work is enqueued asynchronously; the host only
// waits where a value crosses between plugins (through host staging) and at
// the end for the outputs.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "device_objects.hpp"
#include "graph/ir.hpp"
#include "logger.hpp"
#include "placement.hpp"

namespace hxrt::host {

class Executor {
 public:
  Executor(const Graph& graph, std::vector<DeviceRecord*> devices, const Placement& placement, const Logger& logger);
  ~Executor();

  // inputs[i] is the data of graph.inputs[i]; outputs[i] receives
  // graph.outputs[i] (nullptr: not wanted). Blocks until outputs are written.
  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs);

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
  struct Step {
    int node;
    int device;
    ExecutablePtr executable;
    std::vector<hxrt_buffer*> inputs, outputs;
  };

  hxrt_buffer* buffer_for(int value, int device);  // allocates on first use (planning only)
  int64_t bytes_of(int value) const;
  void plan_value_on(int value, int device, std::vector<Action>& actions);
  void perform(const Action& action, const std::vector<const void*>& inputs, const std::vector<void*>& outputs);

  const Graph& graph_;
  std::vector<DeviceRecord*> devices_;
  const Logger& logger_;
  std::vector<int> home_;  // device producing each value; -1 for host (inputs, constants)
  std::vector<StreamPtr> streams_;      // one per device
  std::map<std::pair<int, int>, BufferPtr> buffers_;  // (value, device)
  std::map<int, std::vector<uint8_t>> staging_;       // host staging per value
  std::map<int, hxrt_event*> staging_event_;          // signalled when staging_[value] is filled
  std::vector<EventPtr> events_;
  std::vector<Step> steps_;
  std::vector<Action> actions_;
  std::vector<int> graph_input_slot_;  // value -> graph input index, or -1
  std::mutex run_mutex_;               // one run at a time: buffers are shared
};

}  // namespace hxrt::host
