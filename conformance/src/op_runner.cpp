#include "op_runner.hpp"

#include <cmath>
#include <stdexcept>

namespace hxrt::conformance {

std::string QueryAnswer::describe() const {
  return std::string(supported ? "SUPPORTED" : reason_name(reason)) + (message.empty() ? "" : ": " + message);
}

Status query(const Device& device, const hxrt_node_desc* node, QueryAnswer& answer) {
  char message[512];
  std::fill(std::begin(message), std::end(message), 0);
  hxrt_query_op_support_args a{};
  a.struct_size = sizeof(a);
  a.device = device.handle();
  a.node = node;
  a.reason_message = message;
  a.reason_message_capacity = sizeof(message);
  Status s(device.api(), device.api()->query_op_support(&a));
  if (s.ok()) {
    answer.supported = a.supported != 0;
    answer.reason = a.reason;
    answer.estimated_ns = a.estimated_ns;
    message[sizeof(message) - 1] = '\0';
    answer.message = message;
  }
  return s;
}

std::vector<Tensor> execute(const Device& device, hxrt_stream* stream, hxrt_executable* executable,
                            const std::vector<Tensor>& inputs, const std::vector<OutputSpec>& outputs) {
  std::vector<Buffer> in_buffers, out_buffers;
  std::vector<std::vector<uint8_t>> in_bytes;
  std::vector<hxrt_buffer*> in_handles, out_handles;
  for (const Tensor& t : inputs) {
    in_bytes.push_back(encode(t));
    in_buffers.push_back(device.must_allocate(in_bytes.back().size()));
    in_handles.push_back(in_buffers.back().get());
    must(device.copy_to_device(stream, in_bytes.back().data(), in_handles.back(), 0, in_bytes.back().size()),
         "copy_to_device of an input");
  }
  std::vector<std::vector<uint8_t>> out_bytes;
  for (const OutputSpec& o : outputs) {
    size_t bytes = static_cast<size_t>(Tensor::numel_of(o.shape)) * dtype_bytes(o.dtype);
    out_bytes.emplace_back(bytes, 0xCD);
    out_buffers.push_back(device.must_allocate(bytes));
    out_handles.push_back(out_buffers.back().get());
  }
  hxrt_executable_execute_args e{};
  e.struct_size = sizeof(e);
  e.executable = executable;
  e.stream = stream;
  e.num_inputs = in_handles.size();
  e.input_buffers = in_handles.data();
  e.num_outputs = out_handles.size();
  e.output_buffers = out_handles.data();
  must(Status(device.api(), device.api()->executable_execute(&e)), "executable_execute (R6)");
  for (size_t i = 0; i < outputs.size(); ++i)
    must(device.copy_to_host(stream, out_handles[i], 0, out_bytes[i].data(), out_bytes[i].size()),
         "copy_to_host of an output");
  must(device.synchronize(stream), "stream_synchronize after executing (R7.4: execution error)");
  std::vector<Tensor> results;
  for (size_t i = 0; i < outputs.size(); ++i)
    results.push_back(decode(outputs[i].dtype, outputs[i].shape, out_bytes[i].data(), out_bytes[i].size()));
  return results;
}

std::vector<OutputSpec> output_specs(const host::Graph& graph, const std::vector<int>& values) {
  std::vector<OutputSpec> specs;
  for (int v : values) specs.push_back({graph.values[v].dtype, *graph.values[v].shape});
  return specs;
}

}  // namespace hxrt::conformance
