#include "test_util.hpp"

#include <cstdlib>
#include <cstring>

#include "graph/onnx_import.hpp"

namespace hxrt::host::test {

std::optional<std::filesystem::path> shared_data_dir() {
  const char* env = std::getenv("HXRT_SHARED_DATA");
#ifdef HXRT_GRAPH_TESTS_SHARED_DATA
  if (!env || !*env) env = HXRT_GRAPH_TESTS_SHARED_DATA;  // the CMake setting
#endif
  if (!env || !*env) return std::nullopt;
  std::error_code ec;
  if (!std::filesystem::is_directory(env, ec)) return std::nullopt;
  return std::filesystem::path(env);
}

HostTensor make_int64(const Shape& shape, const std::vector<int64_t>& values) {
  return make_host_tensor(HXRT_DTYPE_INT64, shape, values);
}

HostTensor make_float(const Shape& shape, const std::vector<float>& values) {
  return make_host_tensor(HXRT_DTYPE_FLOAT32, shape, values);
}

namespace {

const Value& input_value(const Graph& g, const Node& n, size_t i) { return g.values.at(static_cast<size_t>(n.inputs.at(i))); }
const Value& output_value(const Graph& g, const Node& n, size_t i) {
  return g.values.at(static_cast<size_t>(n.outputs.at(i)));
}

}  // namespace

std::vector<std::shared_ptr<const HostTensor>> fold_constant_of_shape(const Graph& graph, const Node& node) {
  if (node.op_type != "ConstantOfShape") return {};
  const Value& out = output_value(graph, node, 0);
  auto t = std::make_shared<HostTensor>();
  t->dtype = out.dtype;
  t->shape = *out.shape;
  const size_t esize = dtype_size(t->dtype);
  std::vector<uint8_t> fill(esize, 0);
  if (const Attribute* a = node.find_attribute("value")) fill = a->tensor->bytes;
  const auto n = static_cast<size_t>(t->numel());
  t->bytes.resize(n * esize);
  for (size_t k = 0; k < n; ++k) std::memcpy(t->bytes.data() + k * esize, fill.data(), esize);
  return {t};
}

std::vector<std::shared_ptr<const HostTensor>> fold_shape_ops(const Graph& graph, const Node& node) {
  if (node.op_type == "ConstantOfShape") return fold_constant_of_shape(graph, node);
  const Value& out = output_value(graph, node, 0);
  if (out.dtype != HXRT_DTYPE_INT64) return {};
  std::vector<int64_t> result;
  if (node.op_type == "Gather" && node.get_int("axis", 0) == 0) {
    const auto data = input_value(graph, node, 0).constant->as_ints();
    for (int64_t i : input_value(graph, node, 1).constant->as_ints()) {
      result.push_back(data.at(static_cast<size_t>(i < 0 ? i + static_cast<int64_t>(data.size()) : i)));
    }
  } else if (node.op_type == "Concat") {
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const auto part = input_value(graph, node, i).constant->as_ints();
      result.insert(result.end(), part.begin(), part.end());
    }
  } else if (node.op_type == "Cast") {
    result = input_value(graph, node, 0).constant->as_ints();
  } else {
    return {};
  }
  return {std::make_shared<HostTensor>(make_int64(*out.shape, result))};
}

ModelBuilder::ModelBuilder(int64_t opset, int64_t ir_version) {
  model_.set_ir_version(ir_version);
  auto* op = model_.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  model_.mutable_graph()->set_name("test");
}

ModelBuilder& ModelBuilder::input(const std::string& name, int32_t elem_type,
                                  std::optional<std::vector<int64_t>> dims) {
  auto* in = model_.mutable_graph()->add_input();
  in->set_name(name);
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  if (dims) {
    auto* shape = tt->mutable_shape();
    for (size_t k = 0; k < dims->size(); ++k) {
      auto* d = shape->add_dim();
      if ((*dims)[k] >= 0) {
        d->set_dim_value((*dims)[k]);
      } else {
        d->set_dim_param("d" + std::to_string(k));
      }
    }
  }
  return *this;
}

ModelBuilder& ModelBuilder::output(const std::string& name, int32_t elem_type) {
  auto* out = model_.mutable_graph()->add_output();
  out->set_name(name);
  out->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
  return *this;
}

onnx::TensorProto& ModelBuilder::add_initializer(const std::string& name, int32_t data_type,
                                                  const std::vector<int64_t>& dims) {
  auto* t = model_.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(data_type);
  for (int64_t d : dims) t->add_dims(d);
  return *t;
}

ModelBuilder& ModelBuilder::init_int64(const std::string& name, const std::vector<int64_t>& dims,
                                       const std::vector<int64_t>& v) {
  onnx::TensorProto& t = add_initializer(name, onnx::TensorProto::INT64, dims);
  for (int64_t x : v) t.add_int64_data(x);
  return *this;
}

ModelBuilder& ModelBuilder::init_float(const std::string& name, const std::vector<int64_t>& dims,
                                       const std::vector<float>& v) {
  add_initializer(name, onnx::TensorProto::FLOAT, dims).set_raw_data(v.data(), v.size() * sizeof(float));
  return *this;
}

onnx::NodeProto& ModelBuilder::node(const std::string& op, std::vector<std::string> inputs,
                                    std::vector<std::string> outputs, const std::string& name) {
  auto* n = model_.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name.empty() ? op + "_" + std::to_string(model_.graph().node_size() - 1) : name);
  for (auto& i : inputs) n->add_input(i);
  for (auto& o : outputs) n->add_output(o);
  return *n;
}

std::string ModelBuilder::bytes() const { return model_.SerializeAsString(); }

Graph ModelBuilder::import() const {
  const std::string b = bytes();
  return import_onnx_model(b.data(), b.size());
}

namespace {

onnx::AttributeProto& add_attribute(onnx::NodeProto& node, const std::string& name,
                                    onnx::AttributeProto::AttributeType type) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(type);
  return *a;
}

}  // namespace

void set_attr(onnx::NodeProto& node, const std::string& name, int64_t v) {
  add_attribute(node, name, onnx::AttributeProto::INT).set_i(v);
}
void set_attr(onnx::NodeProto& node, const std::string& name, float v) {
  add_attribute(node, name, onnx::AttributeProto::FLOAT).set_f(v);
}
void set_attr(onnx::NodeProto& node, const std::string& name, const std::string& v) {
  add_attribute(node, name, onnx::AttributeProto::STRING).set_s(v);
}
void set_attr(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto& a = add_attribute(node, name, onnx::AttributeProto::INTS);
  for (int64_t x : v) a.add_ints(x);
}
void set_attr(onnx::NodeProto& node, const std::string& name, const std::vector<float>& v) {
  onnx::AttributeProto& a = add_attribute(node, name, onnx::AttributeProto::FLOATS);
  for (float x : v) a.add_floats(x);
}

}  // namespace hxrt::host::test
