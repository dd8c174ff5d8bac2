// Op planning: one function decides, for a node descriptor, whether the
// device runs it and how (the shader dispatches or buffer copies), so
// query_op_support and executable_compile can never disagree (R5.3).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "hxrt/plugin_support/node_reader.hpp"
#include "vk_device.hpp"

namespace hxrt::vk {

// A node the plugin does not run, with the ABI's reason.
class Unsupported : public std::runtime_error {
 public:
  Unsupported(hxrt_support_reason reason, const std::string& message) : std::runtime_error(message), reason_(reason) {}
  hxrt_support_reason reason() const { return reason_; }

 private:
  hxrt_support_reason reason_;
};

// A tensor a step reads or writes: one of the node's inputs or outputs.
struct Operand {
  enum Kind { kNone, kInput, kOutput } kind = kNone;
  int index = 0;
};
inline Operand node_input(int i) { return {Operand::kInput, i}; }
inline Operand node_output(int i) { return {Operand::kOutput, i}; }

struct Step {
  enum class Kind { kDispatch, kCopy } kind = Kind::kDispatch;
  // kDispatch
  std::string shader;
  std::vector<uint32_t> spec;  // spec[0]: workgroup size
  Operand t[6];
  std::vector<int32_t> params;
  PushConstants pc;            // scalars; addresses are filled in when recorded
  uint32_t groups[3] = {1, 1, 1};
  // kCopy: bytes from t[0] + src_offset to t[1] + dst_offset
  uint64_t bytes = 0, src_offset = 0, dst_offset = 0;
};

struct NodePlan {
  std::vector<Step> steps;
  double flops = 0;  // for the roofline estimate
  double bytes = 0;
};

// Throws Unsupported when the device cannot run the node, PluginError
// (INVALID_ARGUMENT) when the descriptor is malformed.
NodePlan plan_node(const plugin::NodeReader& node, const DeviceCaps& caps);

// Roofline: launches plus max(flops / rate, bytes / bandwidth); > 0 and monotone.
double estimate_ns(const NodePlan& plan, const DeviceCaps& caps);

}  // namespace hxrt::vk
