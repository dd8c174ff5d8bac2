// Shape inference driver: graph inputs, per-node dispatch to the shape rules
// (shape_rules_*.cpp) and constant folding.
#include "graph/shape_inference.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/error.hpp"
#include "graph/shape_rules.hpp"

namespace hxrt::host {

namespace {

// Ops that only reinterpret their first input's bytes: a constant input gives
// a constant output without running anything.
bool is_data_preserving(const std::string& op) {
  return op == "Identity" || op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze";
}

}  // namespace

bool is_deterministic(const Graph& graph, const Node& node) {
  static const std::set<std::string> random_ops = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                                   "RandomUniformLike", "Multinomial", "Bernoulli"};
  if (!node.domain.empty()) return false;  // unknown semantics: never fold
  if (random_ops.count(node.op_type)) return false;
  if (node.op_type == "Dropout") {
    if (node.opset >= 12) {
      if (node.inputs.size() > 2 && node.inputs[2] >= 0) {
        const Value& v = graph.values[static_cast<size_t>(node.inputs[2])];
        if (!v.constant) return false;
        return v.constant->numel() == 1 && v.constant->bytes.at(0) == 0;
      }
      return true;
    }
    return node.opset >= 7 || node.get_int("is_test", 0) != 0;
  }
  return true;
}

void set_input_shapes(Graph& graph, const std::map<std::string, Shape>& shapes) {
  for (const auto& [name, shape] : shapes) {
    int id = -1;
    for (int in : graph.inputs) {
      if (graph.values[static_cast<size_t>(in)].name == name) id = in;
    }
    if (id < 0) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("'{}' is not a runtime input of the graph (cannot set its shape)", name)};
    }
    for (int64_t d : shape) {
      if (d < 0) {
        throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                    fmt::format("shape {} given for input '{}' has a negative dim", shape_to_string(shape), name)};
      }
    }
    auto declared = graph.declared_shapes.find(id);
    if (declared != graph.declared_shapes.end()) {
      const PartialShape& p = declared->second;
      bool ok = p.size() == shape.size();
      for (size_t k = 0; ok && k < p.size(); ++k) ok = !p[k] || *p[k] == shape[k];
      if (!ok) {
        throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                    fmt::format("shape {} given for input '{}' does not match its declared shape {}",
                                shape_to_string(shape), name, partial_shape_to_string(p))};
      }
    }
    graph.values[static_cast<size_t>(id)].shape = shape;
  }
}

void bind_input_constants(Graph& graph, const std::map<std::string, HostTensor>& values) {
  for (const auto& [name, tensor] : values) {
    auto it = std::find_if(graph.inputs.begin(), graph.inputs.end(),
                           [&](int id) { return graph.values[static_cast<size_t>(id)].name == name; });
    if (it == graph.inputs.end()) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("'{}' is not a runtime input of the graph", name)};
    }
    Value& v = graph.values[static_cast<size_t>(*it)];
    if (v.dtype != tensor.dtype) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("value given for input '{}' is {}, the input is {}", name,
                                                            dtype_name(tensor.dtype), dtype_name(v.dtype))};
    }
    if (tensor.bytes.size() != static_cast<size_t>(tensor.numel()) * dtype_size(tensor.dtype)) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("value given for input '{}' has {} bytes for shape {}", name, tensor.bytes.size(),
                              shape_to_string(tensor.shape))};
    }
    set_input_shapes(graph, {{name, tensor.shape}});
    v.constant = std::make_shared<const HostTensor>(tensor);
    graph.inputs.erase(it);
  }
}

void infer_node_shapes(Graph& graph, size_t node_index) {
  const Node& node = graph.nodes.at(node_index);
  shape_rules::Ctx c(graph, node);
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i] < 0) continue;
    const Value& v = graph.values[static_cast<size_t>(node.inputs[i])];
    if (v.producer >= static_cast<int>(node_index)) {
      throw Error{HXRT_STATUS_INTERNAL, fmt::format("{} node '{}': input '{}' is produced by a later node",
                                                    node.op_type, node.name, v.name)};
    }
    if (!v.shape) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("{} node '{}': input '{}' has no known shape", node.op_type, node.name, v.name)};
    }
  }
  const auto& table = shape_rules::rule_table();
  auto fn = node.domain.empty() ? table.find(node.op_type) : table.end();
  if (fn != table.end()) {
    fn->second(c);
  } else {
    // No shape function: accept the model's own fully static declarations.
    bool declared = !node.outputs.empty();
    for (int out : node.outputs) {
      if (out < 0) continue;
      auto d = graph.declared_shapes.find(out);
      if (d == graph.declared_shapes.end() || graph.values[static_cast<size_t>(out)].dtype == HXRT_DTYPE_UNDEFINED) {
        declared = false;
        break;
      }
      for (const auto& dim : d->second) declared = declared && dim.has_value();
    }
    if (!declared) {
      c.fail(HXRT_STATUS_UNIMPLEMENTED,
             fmt::format("no shape inference for op {}{}{} (opset {}) and the model does not declare static output "
                         "shapes",
                         node.domain, node.domain.empty() ? "" : ":", node.op_type, node.opset));
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o] < 0) continue;
      Value& v = graph.values[static_cast<size_t>(node.outputs[o])];
      Shape s;
      for (const auto& dim : graph.declared_shapes[node.outputs[o]]) s.push_back(*dim);
      v.shape = s;
    }
  }
  for (size_t o = 0; o < node.outputs.size(); ++o) {
    if (node.outputs[o] < 0) continue;
    const Value& v = graph.values[static_cast<size_t>(node.outputs[o])];
    if (!v.shape || v.dtype == HXRT_DTYPE_UNDEFINED) {
      c.fail(HXRT_STATUS_UNIMPLEMENTED, fmt::format("could not infer the dtype and shape of output {} ('{}')", o, v.name));
    }
  }
}

void infer_shapes(Graph& graph, const ConstantFolder& fold) {
  for (int in : graph.inputs) {
    const Value& v = graph.values[static_cast<size_t>(in)];
    if (v.dtype == HXRT_DTYPE_UNDEFINED) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("graph input '{}' has no element type", v.name)};
    }
    if (!v.shape) {
      auto d = graph.declared_shapes.find(in);
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("graph input '{}' has a dynamic or unknown shape {}; give it a static shape "
                              "(set_input_shapes)",
                              v.name, d == graph.declared_shapes.end() ? "(none declared)"
                                                                       : partial_shape_to_string(d->second))};
    }
  }
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    infer_node_shapes(graph, k);
    const Node& node = graph.nodes[k];
    bool outputs_constant = true;
    for (int out : node.outputs) {
      if (out >= 0 && !graph.values[static_cast<size_t>(out)].constant) outputs_constant = false;
    }
    if (outputs_constant) continue;  // Shape, Size
    bool all_constant = false;
    for (int in : node.inputs) {
      if (in < 0) continue;
      all_constant = true;
      if (!graph.values[static_cast<size_t>(in)].constant) {
        all_constant = false;
        break;
      }
    }
    if (!all_constant || !is_deterministic(graph, node)) continue;
    if (is_data_preserving(node.op_type) && node.outputs.size() == 1 && node.outputs[0] >= 0) {
      Value& out = graph.values[static_cast<size_t>(node.outputs[0])];
      auto t = std::make_shared<HostTensor>(*graph.values[static_cast<size_t>(node.inputs[0])].constant);
      t->shape = *out.shape;
      out.constant = std::move(t);
      continue;
    }
    if (!fold) continue;
    auto results = fold(graph, node);
    if (results.empty()) continue;
    if (results.size() != node.outputs.size()) {
      throw Error{HXRT_STATUS_INTERNAL,
                  fmt::format("{} node '{}': constant folding returned {} tensors for {} outputs", node.op_type,
                              node.name, results.size(), node.outputs.size())};
    }
    for (size_t o = 0; o < results.size(); ++o) {
      if (node.outputs[o] < 0 || !results[o]) continue;
      Value& out = graph.values[static_cast<size_t>(node.outputs[o])];
      if (results[o]->dtype != out.dtype || results[o]->shape != *out.shape ||
          results[o]->bytes.size() != static_cast<size_t>(results[o]->numel()) * dtype_size(results[o]->dtype)) {
        throw Error{HXRT_STATUS_INTERNAL,
                    fmt::format("{} node '{}': folded output {} is {} {} but inference says {} {}", node.op_type,
                                node.name, o, dtype_name(results[o]->dtype), shape_to_string(results[o]->shape),
                                dtype_name(out.dtype), shape_to_string(*out.shape))};
      }
      out.constant = results[o];
    }
  }
  for (int out : graph.outputs) {
    const Value& v = graph.values[static_cast<size_t>(out)];
    if (!v.shape) throw Error{HXRT_STATUS_INTERNAL, fmt::format("graph output '{}' has no shape", v.name)};
  }
}

}  // namespace hxrt::host
