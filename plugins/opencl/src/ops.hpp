// Op planning: turns one node into OpenCL launches and copies. The single
// source of truth for query_op_support and executable_compile (R5.3).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hxrt/plugin_support/node_reader.hpp"

namespace hxrt::ocl {

// A node the plugin cannot run, with the most specific reason.
class Unsupported : public std::runtime_error {
 public:
  Unsupported(hxrt_support_reason reason, const std::string& message) : std::runtime_error(message), reason_(reason) {}
  hxrt_support_reason reason() const { return reason_; }

 private:
  hxrt_support_reason reason_;
};

// A kernel argument or copy operand.
struct ArgRef {
  enum Kind { kInput, kOutput, kScratch, kAux, kDummy, kInt, kFloat } kind = kDummy;
  int index = 0;  // node input/output slot, scratch or aux table index
  int32_t i = 0;
  float f = 0;
  static ArgRef input(int k) { return {kInput, k, 0, 0}; }
  static ArgRef output(int k) { return {kOutput, k, 0, 0}; }
  static ArgRef scratch(int k) { return {kScratch, k, 0, 0}; }
  static ArgRef aux(int k) { return {kAux, k, 0, 0}; }
  static ArgRef dummy() { return {kDummy, 0, 0, 0}; }
  static ArgRef integer(int64_t v) { return {kInt, 0, static_cast<int32_t>(v), 0}; }
  static ArgRef real(float v) { return {kFloat, 0, 0, v}; }
  bool is_memory() const { return kind == kInput || kind == kOutput || kind == kScratch || kind == kAux || kind == kDummy; }
};

struct Launch {
  std::string program;  // kernels/<program>.cl
  std::string kernel;   // __kernel function
  std::vector<ArgRef> args;
  unsigned dims = 1;
  size_t global[3] = {1, 1, 1};
  size_t local[3] = {1, 1, 1};
};

struct Copy {
  ArgRef src, dst;
  size_t bytes = 0;
};

struct Step {
  std::optional<Launch> launch;
  std::optional<Copy> copy;
};

struct NodePlan {
  std::vector<Step> steps;
  std::vector<size_t> scratch_bytes;
  std::vector<std::vector<int32_t>> aux;  // small index tables, uploaded at compile
  double flops = 0;  // arithmetic work
  double bytes = 0;  // memory traffic
  // Work in the unit of a bundle's throughput_flops: FLOPs for compute,
  // elements moved for data movement.
  double work() const { return flops > 0 ? flops : bytes / 4; }
};

struct DeviceLimits {
  size_t max_work_group_size = 256;
  uint64_t local_mem_bytes = 16384;
};

// Plans `node` or throws Unsupported.
NodePlan plan_node(const plugin::NodeReader& node, const DeviceLimits& limits);

// The program holding `op`'s kernels ("" for ops done with copies, or an
// unknown op): what hxrt-opencl-bundle builds for a shape-list entry.
std::string program_for_op(const std::string& op);
// The __kernel functions `op`'s plans may launch (empty for copy-only ops).
std::vector<std::string> entry_points_for_op(const std::string& op);
// Whether plan_node knows `op` (default domain).
bool is_known_op(const std::string& op);

}  // namespace hxrt::ocl
