// CPU plugin entry points: op support, subgraph claims, compilation and
// execution of graphs as sequences of per-node kernels from the registry.
#include "hxrt/plugin_support/abi_checks.hpp"
#include <dnnl.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "hxrt/plugin_support/node_reader.hpp"
#include "plugin_cost.hpp"
#include "plugin_objects.hpp"

using hxrt::plugin::check_graph;
using hxrt::plugin::check_node;
using hxrt::plugin::value_bytes;

namespace hxrt::cpu {
namespace {

using plugin::PluginError;
using plugin::require_non_null;
using plugin::require_struct_size;

// A valid, never written pointer for empty values (kernels treat NULL as "omitted").
void* empty_storage() {
  alignas(64) static uint8_t storage[64];
  return storage;
}

// Lays out the values of a checked graph and builds a kernel for every node.
std::shared_ptr<CompiledGraph> compile_graph(const hxrt_graph_desc& g) {
  auto compiled = std::make_shared<CompiledGraph>();
  compiled->values.resize(g.num_values);
  for (size_t v = 0; v < g.num_values; ++v) compiled->values[v].bytes = value_bytes(*g.values[v]);
  compiled->input_values.assign(g.input_values, g.input_values + g.num_inputs);
  compiled->output_values.assign(g.output_values, g.output_values + g.num_outputs);

  for (size_t k = 0; k < g.num_inputs; ++k) {
    auto& value = compiled->values[static_cast<size_t>(g.input_values[k])];
    if (value.source == CompiledGraph::Source::kNone) {
      value.source = CompiledGraph::Source::kInput;
      value.input_index = static_cast<int64_t>(k);
    }
  }
  for (size_t n = 0; n < g.num_nodes; ++n) {
    const hxrt_graph_node& gn = *g.nodes[n];
    for (size_t i = 0; i < gn.node->num_outputs; ++i) {
      int64_t v = gn.output_values[i];
      if (v < 0) continue;
      auto& value = compiled->values[static_cast<size_t>(v)];
      if (value.source != CompiledGraph::Source::kNone)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                          "value " + std::to_string(v) + " is produced twice or is also a graph input");
      value.source = CompiledGraph::Source::kProduced;
    }
  }
  for (size_t v = 0; v < g.num_values; ++v) {
    auto& value = compiled->values[v];
    const hxrt_tensor_desc& desc = *g.values[v];
    // An empty constant may come without data.
    if (value.source == CompiledGraph::Source::kNone && (desc.constant_data != nullptr || value.bytes == 0)) {
      if (desc.constant_size_bytes < value.bytes)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "constant value " + std::to_string(v) + " has " +
                                                            std::to_string(desc.constant_size_bytes) +
                                                            " bytes, expected " + std::to_string(value.bytes));
      auto bytes = static_cast<const uint8_t*>(desc.constant_data);
      value.constant = bytes != nullptr ? std::make_shared<std::vector<uint8_t>>(bytes, bytes + value.bytes)
                                        : std::make_shared<std::vector<uint8_t>>();
      value.source = CompiledGraph::Source::kConstant;
    }
  }
  for (size_t k = 0; k < g.num_outputs; ++k) {
    auto& value = compiled->values[static_cast<size_t>(g.output_values[k])];
    if (value.source == CompiledGraph::Source::kProduced && value.output_slot < 0)
      value.output_slot = static_cast<int64_t>(k);
    if (value.source == CompiledGraph::Source::kNone)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "graph output " + std::to_string(k) + " is never produced");
  }
  size_t arena = 0;
  for (size_t v = 0; v < g.num_values; ++v) {
    auto& value = compiled->values[v];
    if (value.source == CompiledGraph::Source::kProduced && value.output_slot < 0) {
      value.intermediate = static_cast<int64_t>(compiled->intermediate_offsets.size());
      compiled->intermediate_offsets.push_back(arena);
      arena += align_up(value.bytes);
    }
  }
  compiled->arena_bytes = arena;

  for (size_t n = 0; n < g.num_nodes; ++n) {
    const hxrt_graph_node& gn = *g.nodes[n];
    for (size_t i = 0; i < gn.node->num_inputs; ++i) {
      int64_t v = gn.input_values[i];
      if (v >= 0 && compiled->values[static_cast<size_t>(v)].source == CompiledGraph::Source::kNone)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "node " + std::to_string(n) + " reads value " +
                                                            std::to_string(v) + ", which nothing defines");
    }
    NodeReader reader(*gn.node);
    CompiledGraph::Step step;
    step.name = std::string(gn.node->op_type) + (gn.node->name && *gn.node->name ? std::string(" ") + gn.node->name : "");
    try {
      step.kernel = create_kernel(reader);
    } catch (const Unsupported& why) {
      throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "node " + std::to_string(n) + " (" + step.name +
                                                       ") is not supported: " + why.what());
    } catch (const dnnl::error& e) {
      throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "node " + std::to_string(n) + " (" + step.name +
                                                       "): oneDNN: " + e.what());
    }
    step.inputs.assign(gn.input_values, gn.input_values + gn.node->num_inputs);
    step.outputs.assign(gn.output_values, gn.output_values + gn.node->num_outputs);
    compiled->steps.push_back(std::move(step));
  }
  return compiled;
}

}  // namespace

void CompiledGraph::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) const {
  // Intermediates are per execution, so concurrent runs never share them.
  void* arena = nullptr;
  if (arena_bytes > 0) {
    arena = std::aligned_alloc(kAlignment, align_up(arena_bytes));
    if (arena == nullptr) throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate intermediate values");
  }
  std::unique_ptr<void, decltype(&std::free)> arena_owner(arena, &std::free);

  std::vector<void*> ptr(values.size(), nullptr);
  for (size_t v = 0; v < values.size(); ++v) {
    const Value& value = values[v];
    switch (value.source) {
      case Source::kInput: ptr[v] = const_cast<void*>(inputs[static_cast<size_t>(value.input_index)]); break;
      case Source::kConstant: ptr[v] = value.constant->empty() ? empty_storage() : value.constant->data(); break;
      case Source::kProduced:
        if (value.output_slot >= 0)
          ptr[v] = outputs[static_cast<size_t>(value.output_slot)];
        else
          ptr[v] = value.bytes == 0 ? empty_storage()
                                    : static_cast<uint8_t*>(arena) + intermediate_offsets[static_cast<size_t>(value.intermediate)];
        break;
      case Source::kNone: break;
    }
  }
  std::vector<const void*> step_inputs;
  std::vector<void*> step_outputs;
  for (const Step& step : steps) {
    step_inputs.assign(step.inputs.size(), nullptr);
    step_outputs.assign(step.outputs.size(), nullptr);
    for (size_t i = 0; i < step.inputs.size(); ++i)
      if (step.inputs[i] >= 0) step_inputs[i] = ptr[static_cast<size_t>(step.inputs[i])];
    for (size_t i = 0; i < step.outputs.size(); ++i)
      if (step.outputs[i] >= 0) step_outputs[i] = ptr[static_cast<size_t>(step.outputs[i])];
    try {
      step.kernel->run(step_inputs, step_outputs);
    } catch (const PluginError& e) {
      throw PluginError(e.code(), "node '" + step.name + "': " + e.what());
    } catch (const dnnl::error& e) {
      throw PluginError(HXRT_STATUS_INTERNAL, "node '" + step.name + "': oneDNN: " + e.what());
    }
  }
  // Outputs not written in place (graph inputs, constants, repeated outputs).
  for (size_t k = 0; k < output_values.size(); ++k) {
    size_t v = static_cast<size_t>(output_values[k]);
    if (outputs[k] != ptr[v] && values[v].bytes > 0 && ptr[v] != nullptr) std::memcpy(outputs[k], ptr[v], values[v].bytes);
  }
}

namespace entry {

hxrt_plugin_status* query_op_support(hxrt_query_op_support_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_query_op_support_args, reason_message_capacity), [&] {
    check_device(args->device);
    check_node(args->node);
    NodeReader reader(*args->node);
    auto answer = [&](bool supported, hxrt_support_reason reason, double estimated_ns, const std::string& message) {
      args->supported = supported ? 1 : 0;
      args->reason = reason;
      args->estimated_ns = estimated_ns;
      plugin::copy_to_buffer(message, args->reason_message, args->reason_message_capacity);
    };
    try {
      create_kernel(reader);
      answer(true, HXRT_SUPPORTED, estimate_node_ns(reader, args->device->peak_flops, args->device->bandwidth), "");
    } catch (const Unsupported& why) {
      answer(false, why.reason(), 0, why.what());
    } catch (const PluginError& e) {
      // A malformed node is the caller's problem, but a plugin-side limitation
      // (e.g. a value that must be constant) is just "not supported".
      if (e.code() == HXRT_STATUS_INVALID_ARGUMENT) throw;
      answer(false, HXRT_UNSUPPORTED_OTHER, 0, e.what());
    } catch (const dnnl::error& e) {
      answer(false, HXRT_UNSUPPORTED_OTHER, 0, std::string("oneDNN: ") + e.what());
    }
  });
}

hxrt_plugin_status* claim_subgraph(hxrt_claim_subgraph_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_claim_subgraph_args, group_estimated_ns), [&] {
    check_device(args->device);
    check_graph(args->graph);
    const hxrt_graph_desc& g = *args->graph;
    if (g.num_nodes > 0) require_non_null(args->group_of_node, "group_of_node");
    for (size_t n = 0; n < g.num_nodes; ++n) {
      NodeReader reader(*g.nodes[n]->node);
      bool supported = false;
      try {
        create_kernel(reader);
        supported = true;
      } catch (const Unsupported&) {
      } catch (const PluginError& e) {
        if (e.code() == HXRT_STATUS_INVALID_ARGUMENT) throw;
      } catch (const dnnl::error&) {
      }
      args->group_of_node[n] = supported ? static_cast<int64_t>(n) : -1;
      if (args->group_estimated_ns != nullptr)
        args->group_estimated_ns[n] =
            supported ? estimate_node_ns(reader, args->device->peak_flops, args->device->bandwidth) : 0.0;
    }
  });
}

hxrt_plugin_status* executable_compile(hxrt_executable_compile_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_executable_compile_args, executable), [&] {
    check_device(args->device);
    check_graph(args->graph);
    auto compiled = compile_graph(*args->graph);
    auto exe = std::make_unique<hxrt_executable>();
    exe->device = args->device;
    exe->graph = std::move(compiled);
    args->executable = exe.release();
  });
}

void executable_destroy(hxrt_executable* executable) { delete executable; }

hxrt_plugin_status* executable_execute(hxrt_executable_execute_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_executable_execute_args, output_offsets), [&] {
    require_non_null(args->executable, "executable");
    require_non_null(args->stream, "stream");
    const auto& graph = args->executable->graph;
    if (args->num_inputs != graph->input_values.size())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable takes " + std::to_string(graph->input_values.size()) +
                                                          " inputs, got " + std::to_string(args->num_inputs));
    if (args->num_outputs != graph->output_values.size())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable produces " +
                                                          std::to_string(graph->output_values.size()) +
                                                          " outputs, got " + std::to_string(args->num_outputs));
    if (args->num_inputs > 0) require_non_null(args->input_buffers, "input_buffers");
    if (args->num_outputs > 0) require_non_null(args->output_buffers, "output_buffers");
    auto resolve = [&](hxrt_buffer* buffer, uint64_t offset, size_t bytes, const std::string& what) -> char* {
      if (buffer == nullptr) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, what + " buffer is NULL");
      if (offset > buffer->size || bytes > buffer->size - offset)
        throw PluginError(HXRT_STATUS_OUT_OF_RANGE, what + " needs " + std::to_string(bytes) + " bytes at offset " +
                                                            std::to_string(offset) + ", but the buffer has " +
                                                            std::to_string(buffer->size));
      return static_cast<char*>(buffer->data) + offset;
    };
    std::vector<const void*> inputs(args->num_inputs);
    std::vector<void*> outputs(args->num_outputs);
    for (size_t k = 0; k < args->num_inputs; ++k) {
      size_t bytes = graph->values[static_cast<size_t>(graph->input_values[k])].bytes;
      inputs[k] = resolve(args->input_buffers[k], args->input_offsets ? args->input_offsets[k] : 0, bytes,
                          "input " + std::to_string(k));
    }
    for (size_t k = 0; k < args->num_outputs; ++k) {
      size_t bytes = graph->values[static_cast<size_t>(graph->output_values[k])].bytes;
      outputs[k] = resolve(args->output_buffers[k], args->output_offsets ? args->output_offsets[k] : 0, bytes,
                           "output " + std::to_string(k));
    }
    std::shared_ptr<const CompiledGraph> keep = graph;
    args->stream->enqueue([keep, inputs = std::move(inputs), outputs = std::move(outputs)] { keep->run(inputs, outputs); });
  });
}

}  // namespace entry
}  // namespace hxrt::cpu
