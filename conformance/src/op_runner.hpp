// Running graphs on a device through the ABI: query, compile, bind buffers,
// execute, read back.
#pragma once

#include <string>
#include <vector>

#include "graph/ir.hpp"
#include "plugin.hpp"
#include "tensor.hpp"

namespace hxrt::conformance {

struct QueryAnswer {
  bool supported = false;
  hxrt_support_reason reason = HXRT_UNSUPPORTED_OTHER;
  double estimated_ns = 0;
  std::string message;
  std::string describe() const;  // "UNSUPPORTED_SHAPE: MatMul: only 2-D"
};

Status query(const Device& device, const hxrt_node_desc* node, QueryAnswer& answer);

struct OutputSpec {
  hxrt_dtype dtype;
  Dims shape;
};

// Enqueues copies of `inputs`, one execution and copies back on `stream`,
// then synchronizes. Throws std::runtime_error naming the step and status.
std::vector<Tensor> execute(const Device& device, hxrt_stream* stream, hxrt_executable* executable,
                            const std::vector<Tensor>& inputs, const std::vector<OutputSpec>& outputs);

// Expected-output specs for IR values.
std::vector<OutputSpec> output_specs(const host::Graph& graph, const std::vector<int>& values);

}  // namespace hxrt::conformance
