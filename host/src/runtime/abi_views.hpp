// ABI descriptors (hxrt_node_desc, hxrt_graph_desc) built from the host IR.
// Each view owns every byte its descriptors point at, so a descriptor stays
// valid exactly as long as its view (R5.4 gives plugins no longer than a call).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "graph/ir.hpp"
#include "hxrt/plugin_abi.h"

namespace hxrt::host {

class DescriptorArena {
 public:
  const hxrt_tensor_desc* tensor(const Value& value);
  const hxrt_tensor_desc* tensor(const HostTensor& constant);
  const hxrt_node_desc* node(const Graph& graph, const Node& node);

 private:
  const hxrt_attribute* attribute(const Attribute& attribute);
  std::deque<hxrt_tensor_desc> tensors_;
  std::deque<Shape> dims_;
  std::deque<std::shared_ptr<const HostTensor>> kept_constants_;
  std::deque<hxrt_attribute> attributes_;
  std::deque<std::vector<const char*>> string_lists_;
  std::deque<std::vector<const hxrt_attribute*>> attribute_lists_;
  std::deque<std::vector<const hxrt_tensor_desc*>> tensor_lists_;
  std::deque<hxrt_node_desc> nodes_;
};

// One node on its own, for capability queries.
class NodeView {
 public:
  NodeView(const Graph& graph, const Node& node) : desc_(arena_.node(graph, node)) {}
  const hxrt_node_desc* desc() const { return desc_; }

 private:
  DescriptorArena arena_;
  const hxrt_node_desc* desc_;
};

// A set of nodes as an hxrt_graph_desc. Runtime inputs are the non-constant
// values consumed from outside the set; outputs are values the set produces
// that are needed outside it (or are graph outputs), or every output when
// `all_outputs` is set.
class SubgraphView {
 public:
  SubgraphView(const Graph& graph, const std::vector<int>& node_ids, bool all_outputs);
  const hxrt_graph_desc* desc() const { return &desc_; }
  // IR value indices of the executable's inputs and outputs, in execute order.
  const std::vector<int>& input_values() const { return input_values_; }
  const std::vector<int>& output_values() const { return output_values_; }

 private:
  DescriptorArena arena_;
  std::vector<const hxrt_tensor_desc*> values_;
  std::deque<std::vector<int64_t>> index_lists_;
  std::deque<hxrt_graph_node> graph_nodes_;
  std::vector<const hxrt_graph_node*> node_pointers_;
  std::vector<int> input_values_, output_values_;
  std::vector<int64_t> input_indices_, output_indices_;
  hxrt_graph_desc desc_{};
};

}  // namespace hxrt::host
