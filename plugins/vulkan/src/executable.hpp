// A compiled subgraph: the node plans in graph order, weights and parameter
// blocks uploaded once at compile time, and a per-run scratch arena for
// intermediates (allocated at execute, so concurrent runs never share it).
#pragma once

#include <memory>
#include <vector>

#include "ops.hpp"
#include "vk_device.hpp"

namespace hxrt::vk {

// Where a tensor lives on the device: a buffer range and its address.
struct Location {
  VkBuffer buffer = VK_NULL_HANDLE;
  uint64_t offset = 0;
  VkDeviceAddress address = 0;
};

class Executable {
 public:
  Executable(Device& device, const hxrt_graph_desc& graph);  // throws PluginError
  ~Executable();
  Executable(const Executable&) = delete;
  Executable& operator=(const Executable&) = delete;

  Device& device() const { return device_; }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  uint64_t input_bytes(size_t k) const { return values_[static_cast<size_t>(inputs_[k])].bytes; }
  uint64_t output_bytes(size_t k) const { return values_[static_cast<size_t>(outputs_[k])].bytes; }
  uint64_t arena_bytes() const { return arena_bytes_; }

  void record(VkCommandBuffer cb, const std::vector<Location>& inputs, const std::vector<Location>& outputs,
              const Allocation& arena) const;

 private:
  enum class Source { kNone, kInput, kConstant, kOutput, kIntermediate };
  struct Value {
    Source source = Source::kNone;
    uint64_t bytes = 0;
    int64_t slot = -1;     // input or output position
    uint64_t offset = 0;   // into the constant block or the arena
  };
  struct CompiledStep {
    Step step;
    int64_t value[6] = {-1, -1, -1, -1, -1, -1};  // graph value of each operand
    VkPipeline pipeline = VK_NULL_HANDLE;
    uint64_t params_offset = 0;
    std::string node;
  };

  Device& device_;
  std::vector<Value> values_;
  std::vector<int64_t> inputs_, outputs_;
  std::vector<CompiledStep> steps_;
  Allocation constants_;  // weights and parameter blocks
  uint64_t arena_bytes_ = 0;
};

// Records one dispatch of `step` with operand locations `t` (absent: {}).
void record_dispatch(Device& device, VkCommandBuffer cb, VkPipeline pipeline, const Step& step, const Location t[6],
                     VkDeviceAddress params);

}  // namespace hxrt::vk
