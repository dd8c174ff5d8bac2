#include "abi_views.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "common/error.hpp"

namespace hxrt::host {

const hxrt_tensor_desc* DescriptorArena::tensor(const Value& value) {
  if (!value.shape) throw Error(HXRT_STATUS_INTERNAL, "value '" + value.name + "' has no inferred shape");
  hxrt_tensor_desc& d = tensors_.emplace_back();
  d.struct_size = sizeof(hxrt_tensor_desc);
  d.dtype = value.dtype;
  const Shape& dims = dims_.emplace_back(*value.shape);
  d.rank = dims.size();
  d.dims = dims.data();
  if (value.constant) {
    kept_constants_.push_back(value.constant);
    d.constant_data = value.constant->bytes.data();
    d.constant_size_bytes = value.constant->bytes.size();
  }
  return &d;
}

const hxrt_tensor_desc* DescriptorArena::tensor(const HostTensor& constant) {
  hxrt_tensor_desc& d = tensors_.emplace_back();
  d.struct_size = sizeof(hxrt_tensor_desc);
  d.dtype = constant.dtype;
  const Shape& dims = dims_.emplace_back(constant.shape);
  d.rank = dims.size();
  d.dims = dims.data();
  d.constant_data = constant.bytes.data();
  d.constant_size_bytes = constant.bytes.size();
  return &d;
}

const hxrt_attribute* DescriptorArena::attribute(const Attribute& a) {
  hxrt_attribute& d = attributes_.emplace_back();
  d.struct_size = sizeof(hxrt_attribute);
  d.name = a.name.c_str();
  d.type = a.type;
  d.f = a.f;
  d.i = a.i;
  d.s = a.s.data();
  d.s_size = a.s.size();
  switch (a.type) {
    case HXRT_ATTRIBUTE_FLOATS:
      d.count = a.floats.size();
      d.floats = a.floats.data();
      break;
    case HXRT_ATTRIBUTE_INTS:
      d.count = a.ints.size();
      d.ints = a.ints.data();
      break;
    case HXRT_ATTRIBUTE_STRINGS: {
      auto& list = string_lists_.emplace_back();
      for (const auto& s : a.strings) list.push_back(s.c_str());
      d.count = list.size();
      d.strings = list.data();
      break;
    }
    case HXRT_ATTRIBUTE_TENSOR:
      if (a.tensor) {
        kept_constants_.push_back(a.tensor);
        d.tensor = tensor(*a.tensor);
      }
      break;
    default:
      break;
  }
  return &d;
}

const hxrt_node_desc* DescriptorArena::node(const Graph& graph, const Node& node) {
  auto& attrs = attribute_lists_.emplace_back();
  for (const auto& a : node.attributes) attrs.push_back(attribute(a));
  auto& inputs = tensor_lists_.emplace_back();
  for (int v : node.inputs) inputs.push_back(v < 0 ? nullptr : tensor(graph.values[v]));
  auto& outputs = tensor_lists_.emplace_back();
  for (int v : node.outputs) outputs.push_back(v < 0 ? nullptr : tensor(graph.values[v]));
  hxrt_node_desc& d = nodes_.emplace_back();
  d.struct_size = sizeof(hxrt_node_desc);
  d.name = node.name.c_str();
  d.domain = node.domain.c_str();
  d.op_type = node.op_type.c_str();
  d.opset_version = node.opset;
  d.num_attributes = attrs.size();
  d.attributes = attrs.data();
  d.num_inputs = inputs.size();
  d.inputs = inputs.data();
  d.num_outputs = outputs.size();
  d.outputs = outputs.data();
  return &d;
}

SubgraphView::SubgraphView(const Graph& graph, const std::vector<int>& node_ids, bool all_outputs) {
  std::set<int> members(node_ids.begin(), node_ids.end());
  std::map<int, int64_t> local;  // IR value -> index in values_
  auto local_index = [&](int value) -> int64_t {
    if (value < 0) return -1;
    auto [it, inserted] = local.emplace(value, static_cast<int64_t>(values_.size()));
    if (inserted) values_.push_back(arena_.tensor(graph.values[value]));
    return it->second;
  };
  std::set<int> produced_inside;
  for (int id : node_ids)
    for (int v : graph.nodes[id].outputs)
      if (v >= 0) produced_inside.insert(v);

  for (int id : node_ids) {
    const Node& node = graph.nodes[id];
    auto& in = index_lists_.emplace_back();
    for (int v : node.inputs) {
      in.push_back(local_index(v));
      bool external = v >= 0 && !produced_inside.count(v) && !graph.values[v].constant;
      if (external && std::find(input_values_.begin(), input_values_.end(), v) == input_values_.end())
        input_values_.push_back(v);
    }
    auto& out = index_lists_.emplace_back();
    for (int v : node.outputs) out.push_back(local_index(v));
    hxrt_graph_node& gn = graph_nodes_.emplace_back();
    gn.struct_size = sizeof(hxrt_graph_node);
    gn.node = arena_.node(graph, node);
    gn.input_values = in.data();
    gn.output_values = out.data();
    node_pointers_.push_back(&gn);
  }

  // Outputs: needed by a node outside the set, or a graph output.
  std::set<int> needed_outside(graph.outputs.begin(), graph.outputs.end());
  if (!all_outputs) {
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      if (members.count(static_cast<int>(n))) continue;
      for (int v : graph.nodes[n].inputs)
        if (v >= 0 && produced_inside.count(v)) needed_outside.insert(v);
    }
  }
  for (int id : node_ids)
    for (int v : graph.nodes[id].outputs)
      if (v >= 0 && (all_outputs || needed_outside.count(v))) output_values_.push_back(v);

  for (int v : input_values_) input_indices_.push_back(local.at(v));
  for (int v : output_values_) output_indices_.push_back(local.at(v));
  desc_.struct_size = sizeof(hxrt_graph_desc);
  desc_.num_values = values_.size();
  desc_.values = values_.data();
  desc_.num_nodes = node_pointers_.size();
  desc_.nodes = node_pointers_.data();
  desc_.num_inputs = input_indices_.size();
  desc_.input_values = input_indices_.data();
  desc_.num_outputs = output_indices_.size();
  desc_.output_values = output_indices_.data();
}

}  // namespace hxrt::host
