#include "graph/onnx_import.hpp"

#include <climits>
#include <fstream>
#include <functional>
#include <iterator>
#include <queue>
#include <unordered_map>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "common/error.hpp"
#include "graph/onnx_proto.hpp"
#include "graph/tensor_proto.hpp"

namespace hxrt::host {

namespace {

std::string normalize_domain(const std::string& domain) { return domain == "ai.onnx" ? std::string() : domain; }

std::string node_label(const onnx::NodeProto& node) {
  return fmt::format("{} node '{}'", node.op_type(), node.name());
}

// Element type and (possibly partial) shape of a ValueInfoProto. `what`
// names it in errors ("graph input 'x'").
struct ValueType {
  hxrt_dtype dtype = HXRT_DTYPE_UNDEFINED;
  bool has_shape = false;
  PartialShape shape;
};

ValueType value_type(const onnx::ValueInfoProto& info, const std::string& what, bool required) {
  ValueType vt;
  if (!info.has_type()) {
    if (required) throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{} has no type", what)};
    return vt;
  }
  const onnx::TypeProto& type = info.type();
  if (!type.has_tensor_type()) {
    const char* kind = type.has_sequence_type() ? "a sequence"
                       : type.has_map_type()    ? "a map"
                       : type.has_optional_type() ? "an optional"
                       : type.has_sparse_tensor_type() ? "a sparse tensor"
                                                       : "a non-tensor";
    if (required) {
      throw Error{HXRT_STATUS_UNIMPLEMENTED, fmt::format("{} is {} type; only dense tensors are supported", what, kind)};
    }
    return vt;
  }
  const auto& tt = type.tensor_type();
  if (tt.has_elem_type()) {
    vt.dtype = dtype_from_onnx(tt.elem_type());
    if (vt.dtype == HXRT_DTYPE_UNDEFINED && (required || tt.elem_type() != 0)) {
      throw Error{HXRT_STATUS_UNIMPLEMENTED,
                  fmt::format("{} has unsupported element type {}", what, onnx_dtype_name(tt.elem_type()))};
    }
  } else if (required) {
    throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{} has no element type", what)};
  }
  if (tt.has_shape()) {
    vt.has_shape = true;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value() && d.dim_value() >= 0) {
        vt.shape.emplace_back(d.dim_value());
      } else {
        vt.shape.emplace_back(std::nullopt);
      }
    }
  }
  return vt;
}

std::optional<Shape> static_shape(const PartialShape& p) {
  Shape s;
  for (const auto& d : p) {
    if (!d) return std::nullopt;
    s.push_back(*d);
  }
  return s;
}

std::shared_ptr<const HostTensor> make_tensor(const onnx::TensorProto& proto, const std::string& what) {
  try {
    return std::make_shared<const HostTensor>(tensor_from_proto(proto));
  } catch (const Error& e) {
    throw Error{e.code(), fmt::format("{}: {}", what, e.message())};
  }
}

int attribute_kind(const onnx::AttributeProto& a) {
  if (a.type() != onnx::AttributeProto::UNDEFINED) return a.type();
  // Very old models leave `type` unset; infer it from the field that is set.
  if (a.has_g()) return onnx::AttributeProto::GRAPH;
  if (a.graphs_size() > 0) return onnx::AttributeProto::GRAPHS;
  if (a.has_t()) return onnx::AttributeProto::TENSOR;
  if (a.has_sparse_tensor()) return onnx::AttributeProto::SPARSE_TENSOR;
  if (a.ints_size() > 0) return onnx::AttributeProto::INTS;
  if (a.floats_size() > 0) return onnx::AttributeProto::FLOATS;
  if (a.strings_size() > 0) return onnx::AttributeProto::STRINGS;
  if (a.tensors_size() > 0) return onnx::AttributeProto::TENSORS;
  if (a.has_s()) return onnx::AttributeProto::STRING;
  if (a.has_i()) return onnx::AttributeProto::INT;
  if (a.has_f()) return onnx::AttributeProto::FLOAT;
  return onnx::AttributeProto::UNDEFINED;
}

Attribute convert_attribute(const onnx::NodeProto& node, const onnx::AttributeProto& a) {
  Attribute out;
  out.name = a.name();
  const int kind = attribute_kind(a);
  switch (kind) {
    case onnx::AttributeProto::FLOAT:
      out.type = HXRT_ATTRIBUTE_FLOAT;
      out.f = a.f();
      break;
    case onnx::AttributeProto::INT:
      out.type = HXRT_ATTRIBUTE_INT;
      out.i = a.i();
      break;
    case onnx::AttributeProto::STRING:
      out.type = HXRT_ATTRIBUTE_STRING;
      out.s = a.s();
      break;
    case onnx::AttributeProto::TENSOR:
      out.type = HXRT_ATTRIBUTE_TENSOR;
      out.tensor = make_tensor(a.t(), fmt::format("{} attribute '{}'", node_label(node), a.name()));
      break;
    case onnx::AttributeProto::FLOATS:
      out.type = HXRT_ATTRIBUTE_FLOATS;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      out.type = HXRT_ATTRIBUTE_INTS;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      out.type = HXRT_ATTRIBUTE_STRINGS;
      out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case onnx::AttributeProto::GRAPH:
    case onnx::AttributeProto::GRAPHS:
      throw Error{HXRT_STATUS_UNIMPLEMENTED,
                  fmt::format("control flow op {} is not supported ({} has subgraph attribute '{}')", node.op_type(),
                              node_label(node), a.name())};
    case onnx::AttributeProto::UNDEFINED:
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("{}: attribute '{}' has no type and no value", node_label(node), a.name())};
    default:
      throw Error{HXRT_STATUS_UNIMPLEMENTED,
                  fmt::format("{}: attribute '{}' has type {} ({}), which is not supported", node_label(node),
                              a.name(), onnx::AttributeProto::AttributeType_Name(
                                            static_cast<onnx::AttributeProto::AttributeType>(kind)),
                              kind)};
  }
  return out;
}

template <typename T>
std::shared_ptr<const HostTensor> tensor_of(hxrt_dtype dtype, Shape shape, const std::vector<T>& values) {
  return std::make_shared<const HostTensor>(make_host_tensor(dtype, std::move(shape), values));
}

// The value of a Constant node.
std::shared_ptr<const HostTensor> constant_node_value(const onnx::NodeProto& node) {
  if (node.attribute_size() != 1) {
    throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                fmt::format("{} must have exactly one attribute, has {}", node_label(node), node.attribute_size())};
  }
  const onnx::AttributeProto& a = node.attribute(0);
  const std::string& n = a.name();
  if (n == "value") {
    if (!a.has_t()) throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{}: 'value' is not a tensor", node_label(node))};
    return make_tensor(a.t(), fmt::format("{} attribute 'value'", node_label(node)));
  }
  if (n == "value_float") return tensor_of<float>(HXRT_DTYPE_FLOAT32, {}, {a.f()});
  if (n == "value_floats") {
    std::vector<float> v(a.floats().begin(), a.floats().end());
    return tensor_of<float>(HXRT_DTYPE_FLOAT32, {static_cast<int64_t>(v.size())}, v);
  }
  if (n == "value_int") return tensor_of<int64_t>(HXRT_DTYPE_INT64, {}, {a.i()});
  if (n == "value_ints") {
    std::vector<int64_t> v(a.ints().begin(), a.ints().end());
    return tensor_of<int64_t>(HXRT_DTYPE_INT64, {static_cast<int64_t>(v.size())}, v);
  }
  if (n == "sparse_value") {
    throw Error{HXRT_STATUS_UNIMPLEMENTED, fmt::format("{}: sparse_value constants are not supported", node_label(node))};
  }
  if (n == "value_string" || n == "value_strings") {
    throw Error{HXRT_STATUS_UNIMPLEMENTED, fmt::format("{}: string constants are not supported", node_label(node))};
  }
  throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{}: unknown attribute '{}'", node_label(node), n)};
}

bool is_constant_node(const onnx::NodeProto& node) {
  return node.op_type() == "Constant" && normalize_domain(node.domain()).empty();
}

}  // namespace

Graph import_onnx_proto(const onnx::ModelProto& model) {
  Graph g;
  if (!model.has_ir_version() || model.ir_version() <= 0) {
    throw Error{HXRT_STATUS_INVALID_ARGUMENT, "ONNX model has no ir_version"};
  }
  if (model.ir_version() > kMaxOnnxIrVersion) {
    throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                fmt::format("ONNX model has ir_version {}, newer than the highest supported ({})", model.ir_version(),
                            kMaxOnnxIrVersion)};
  }
  g.ir_version = model.ir_version();
  if (model.opset_import_size() == 0) {
    throw Error{HXRT_STATUS_INVALID_ARGUMENT, "ONNX model has no opset_import"};
  }
  for (const auto& op : model.opset_import()) {
    const std::string domain = normalize_domain(op.domain());
    auto [it, inserted] = g.opset_imports.emplace(domain, op.version());
    if (!inserted && it->second != op.version()) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("ONNX model imports domain '{}' twice (opsets {} and {})", domain, it->second, op.version())};
    }
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    throw Error{HXRT_STATUS_INVALID_ARGUMENT, "ONNX model has an empty graph (no nodes)"};
  }
  const onnx::GraphProto& gp = model.graph();
  g.name = gp.name();
  if (gp.sparse_initializer_size() > 0) {
    throw Error{HXRT_STATUS_UNIMPLEMENTED,
                fmt::format("sparse initializer '{}' is not supported", gp.sparse_initializer(0).values().name())};
  }

  std::unordered_map<std::string, int> by_name;
  auto add = [&](Value v) {
    const std::string name = v.name;
    const int id = static_cast<int>(g.values.size());
    g.values.push_back(std::move(v));
    by_name.emplace(name, id);
    return id;
  };
  auto lookup = [&](const std::string& name) {
    auto it = by_name.find(name);
    return it == by_name.end() ? -1 : it->second;
  };

  // Initializers.
  for (const auto& init : gp.initializer()) {
    if (init.name().empty()) throw Error{HXRT_STATUS_INVALID_ARGUMENT, "ONNX model has an initializer with no name"};
    if (lookup(init.name()) >= 0) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("initializer '{}' is defined twice", init.name())};
    }
    Value v;
    v.name = init.name();
    v.constant = make_tensor(init, fmt::format("initializer '{}'", init.name()));
    v.dtype = v.constant->dtype;
    v.shape = v.constant->shape;
    add(std::move(v));
  }
  // Graph inputs; those with an initializer (IR < 4 lists them all) are not runtime inputs.
  for (const auto& in : gp.input()) {
    const std::string what = fmt::format("graph input '{}'", in.name());
    if (in.name().empty()) throw Error{HXRT_STATUS_INVALID_ARGUMENT, "ONNX model has a graph input with no name"};
    const int existing = lookup(in.name());
    if (existing >= 0) {
      if (g.values[existing].constant) continue;  // initializer
      throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{} is listed twice", what)};
    }
    const ValueType vt = value_type(in, what, true);
    Value v;
    v.name = in.name();
    v.dtype = vt.dtype;
    if (vt.has_shape) v.shape = static_shape(vt.shape);
    const int id = add(std::move(v));
    if (vt.has_shape) g.declared_shapes[id] = vt.shape;
    g.inputs.push_back(id);
  }

  // Node outputs (Constant nodes become constants and are dropped).
  std::vector<const onnx::NodeProto*> kept;
  for (const auto& node : gp.node()) {
    const bool constant = is_constant_node(node);
    for (const auto& out : node.output()) {
      if (out.empty()) continue;
      const int existing = lookup(out);
      if (existing >= 0) {
        const Value& e = g.values[existing];
        const std::string source = e.producer >= 0 ? std::string("another node")
                                   : e.constant     ? std::string("an initializer or Constant node")
                                                    : std::string("a graph input");
        throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                    fmt::format("value '{}' produced by {} is already produced by {}", out, node_label(node), source)};
      }
      Value v;
      v.name = out;
      if (constant) {
        v.constant = constant_node_value(node);
        v.dtype = v.constant->dtype;
        v.shape = v.constant->shape;
      } else {
        v.producer = static_cast<int>(kept.size());  // provisional (pre-sort) index
      }
      add(std::move(v));
    }
    if (constant) {
      if (node.output_size() != 1 || node.output(0).empty()) {
        throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{} must have exactly one output", node_label(node))};
      }
    } else {
      kept.push_back(&node);
    }
  }

  // Nodes.
  std::vector<Node> nodes;
  nodes.reserve(kept.size());
  for (size_t k = 0; k < kept.size(); ++k) {
    const onnx::NodeProto& np = *kept[k];
    Node n;
    n.name = np.name().empty() ? fmt::format("{}_{}", np.op_type(), k) : np.name();
    n.domain = normalize_domain(np.domain());
    n.op_type = np.op_type();
    auto op = g.opset_imports.find(n.domain);
    if (op == g.opset_imports.end()) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("{} node '{}' uses domain '{}', which the model does not import", n.op_type, n.name,
                              n.domain)};
    }
    n.opset = op->second;
    for (const auto& a : np.attribute()) n.attributes.push_back(convert_attribute(np, a));
    for (const auto& in : np.input()) {
      if (in.empty()) {
        n.inputs.push_back(-1);
        continue;
      }
      const int id = lookup(in);
      if (id < 0) {
        throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                    fmt::format("{} node '{}': input '{}' is not produced by any node, initializer or graph input",
                                n.op_type, n.name, in)};
      }
      n.inputs.push_back(id);
    }
    for (const auto& out : np.output()) n.outputs.push_back(out.empty() ? -1 : lookup(out));
    nodes.push_back(std::move(n));
  }

  // Topological sort (Kahn), keeping the model's order where it is valid.
  const size_t count = nodes.size();
  std::vector<std::vector<int>> consumers(count);
  std::vector<int> pending(count, 0);
  for (size_t k = 0; k < count; ++k) {
    for (int in : nodes[k].inputs) {
      if (in < 0 || g.values[in].producer < 0) continue;
      consumers[g.values[in].producer].push_back(static_cast<int>(k));
      ++pending[k];
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t k = 0; k < count; ++k) {
    if (pending[k] == 0) ready.push(static_cast<int>(k));
  }
  std::vector<int> order;
  order.reserve(count);
  while (!ready.empty()) {
    const int k = ready.top();
    ready.pop();
    order.push_back(k);
    for (int c : consumers[k]) {
      if (--pending[c] == 0) ready.push(c);
    }
  }
  if (order.size() != count) {
    for (size_t k = 0; k < count; ++k) {
      if (pending[k] > 0) {
        throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                    fmt::format("ONNX graph has a cycle: {} node '{}' depends (directly or not) on its own output",
                                nodes[k].op_type, nodes[k].name)};
      }
    }
  }
  g.nodes.reserve(count);
  for (int k : order) {
    for (int out : nodes[k].outputs) {
      if (out >= 0) g.values[out].producer = static_cast<int>(g.nodes.size());
    }
    g.nodes.push_back(std::move(nodes[k]));
  }

  // Declared types of intermediate values and outputs.
  auto declare = [&](const onnx::ValueInfoProto& info, bool output) {
    const int id = lookup(info.name());
    if (id < 0) {
      if (output) {
        throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                    fmt::format("graph output '{}' is not produced by any node, initializer or graph input",
                                info.name())};
      }
      return;  // value_info for a value that does not exist: ignore
    }
    const ValueType vt = value_type(info, fmt::format("{} '{}'", output ? "graph output" : "value", info.name()), output);
    Value& v = g.values[id];
    if (v.dtype == HXRT_DTYPE_UNDEFINED) v.dtype = vt.dtype;
    if (vt.has_shape && !g.declared_shapes.count(id)) g.declared_shapes[id] = vt.shape;
  };
  for (const auto& info : gp.value_info()) declare(info, false);
  for (const auto& out : gp.output()) {
    declare(out, true);
    g.outputs.push_back(lookup(out.name()));
  }
  if (g.outputs.empty()) throw Error{HXRT_STATUS_INVALID_ARGUMENT, "ONNX graph has no outputs"};
  return g;
}

Graph import_onnx_model(const void* bytes, size_t size) {
  if (bytes == nullptr || size == 0) throw Error{HXRT_STATUS_INVALID_ARGUMENT, "ONNX model is empty (0 bytes)"};
  if (size > static_cast<size_t>(INT_MAX)) {
    throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                fmt::format("ONNX model is {} bytes; models over 2 GiB must use external data, which is not supported",
                            size)};
  }
  onnx::ModelProto model;
  google::protobuf::io::ArrayInputStream raw(bytes, static_cast<int>(size));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT_MAX);
  if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    throw Error{HXRT_STATUS_DATA_LOSS,
                fmt::format("failed to parse the ONNX model: {} bytes are not a valid serialized ModelProto "
                            "(corrupt or truncated file?)",
                            size)};
  }
  return import_onnx_proto(model);
}

Graph import_onnx_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error{HXRT_STATUS_NOT_FOUND, fmt::format("cannot open ONNX model file '{}'", path)};
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return import_onnx_model(bytes.data(), bytes.size());
  } catch (const Error& e) {
    throw Error{e.code(), fmt::format("'{}': {}", path, e.message())};
  }
}

}  // namespace hxrt::host
