#include "hxrt/plugin_support/abi_checks.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "hxrt/plugin_support/node_reader.hpp"
#include "hxrt/plugin_support/status.hpp"

namespace hxrt::plugin {
namespace {

void check_tensor(const hxrt_tensor_desc* t) {
  if (t == nullptr) return;  // an omitted optional input or output
  require_struct_size(t->struct_size, HXRT_V1_SIZE(hxrt_tensor_desc, constant_size_bytes), "hxrt_tensor_desc");
  if (t->rank > 0) require_non_null(t->dims, "tensor dims");
  for (size_t i = 0; i < t->rank; ++i)
    if (t->dims[i] < 0) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "a tensor has a negative dimension");
}

}  // namespace

void check_node(const hxrt_node_desc* node) {
  require_non_null(node, "node");
  require_struct_size(node->struct_size, HXRT_V1_SIZE(hxrt_node_desc, outputs), "hxrt_node_desc");
  require_non_null(node->op_type, "node->op_type");
  require_non_null(node->domain, "node->domain");
  if (node->num_attributes > 0) require_non_null(node->attributes, "node->attributes");
  if (node->num_inputs > 0) require_non_null(node->inputs, "node->inputs");
  if (node->num_outputs > 0) require_non_null(node->outputs, "node->outputs");
  for (size_t i = 0; i < node->num_inputs; ++i) check_tensor(node->inputs[i]);
  for (size_t i = 0; i < node->num_outputs; ++i) check_tensor(node->outputs[i]);
  for (size_t i = 0; i < node->num_attributes; ++i) {
    require_non_null(node->attributes[i], "node attribute");
    require_struct_size(node->attributes[i]->struct_size, HXRT_V1_SIZE(hxrt_attribute, tensor), "hxrt_attribute");
    require_non_null(node->attributes[i]->name, "attribute name");
  }
}

void check_graph(const hxrt_graph_desc* graph) {
  require_non_null(graph, "graph");
  require_struct_size(graph->struct_size, HXRT_V1_SIZE(hxrt_graph_desc, output_values), "hxrt_graph_desc");
  if (graph->num_values > 0) require_non_null(graph->values, "graph->values");
  if (graph->num_nodes > 0) require_non_null(graph->nodes, "graph->nodes");
  if (graph->num_inputs > 0) require_non_null(graph->input_values, "graph->input_values");
  if (graph->num_outputs > 0) require_non_null(graph->output_values, "graph->output_values");
  auto check_value = [&](int64_t v, bool allow_missing, const char* what) {
    if (v == -1 && allow_missing) return;
    if (v < 0 || static_cast<uint64_t>(v) >= graph->num_values)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(what) + " refers to value " + std::to_string(v) +
                                                          " outside 0.." + std::to_string(graph->num_values));
  };
  for (size_t v = 0; v < graph->num_values; ++v) {
    require_non_null(graph->values[v], "graph value");
    check_tensor(graph->values[v]);
  }
  for (size_t n = 0; n < graph->num_nodes; ++n) {
    const hxrt_graph_node* gn = graph->nodes[n];
    require_non_null(gn, "graph node");
    require_struct_size(gn->struct_size, HXRT_V1_SIZE(hxrt_graph_node, output_values), "hxrt_graph_node");
    check_node(gn->node);
    if (gn->node->num_inputs > 0) require_non_null(gn->input_values, "graph node input_values");
    if (gn->node->num_outputs > 0) require_non_null(gn->output_values, "graph node output_values");
    for (size_t i = 0; i < gn->node->num_inputs; ++i) check_value(gn->input_values[i], true, "node input");
    for (size_t i = 0; i < gn->node->num_outputs; ++i) check_value(gn->output_values[i], true, "node output");
  }
  for (size_t i = 0; i < graph->num_inputs; ++i) check_value(graph->input_values[i], false, "graph input");
  for (size_t i = 0; i < graph->num_outputs; ++i) check_value(graph->output_values[i], false, "graph output");
}

size_t value_bytes(const hxrt_tensor_desc& desc) {
  for (size_t i = 0; i < desc.rank; ++i)
    if (desc.dims == nullptr || desc.dims[i] < 0)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "negative or missing dimension");
  return static_cast<size_t>(element_count(shape_of(desc))) * dtype_size(desc.dtype);
}

hxrt_status_code negotiate(hxrt_plugin_negotiate_args* args, const hxrt_plugin_api& table) {
  if (args == nullptr || args->struct_size < HXRT_V1_SIZE(hxrt_plugin_negotiate_args, message_capacity))
    return HXRT_STATUS_INVALID_ARGUMENT;
  args->plugin_abi_major = HXRT_ABI_VERSION_MAJOR;
  args->plugin_abi_minor = HXRT_ABI_VERSION_MINOR;
  const char* name = table.identity != nullptr && table.identity->name != nullptr ? table.identity->name : "?";
  char text[192] = {0};  // a stack buffer: negotiation never allocates
  hxrt_status_code code = HXRT_STATUS_OK;
  if (args->host_abi_major != HXRT_ABI_VERSION_MAJOR) {
    std::snprintf(text, sizeof(text), "plugin %s implements hxrt plugin ABI %u.%u, the host speaks %u.%u: major versions differ",
                  name, HXRT_ABI_VERSION_MAJOR, HXRT_ABI_VERSION_MINOR, args->host_abi_major, args->host_abi_minor);
    code = HXRT_STATUS_VERSION_MISMATCH;
  }
  args->api = code == HXRT_STATUS_OK ? &table : nullptr;
  if (args->message != nullptr && args->message_capacity > 0) {  // "" on success (R1.3)
    size_t n = std::min(std::strlen(text), args->message_capacity - 1);
    std::memcpy(args->message, text, n);
    args->message[n] = '\0';
  }
  return code;
}

}  // namespace hxrt::plugin
