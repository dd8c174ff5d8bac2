// Models, references, placers and environments shared by the session and
// executor tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "graph/onnx_proto.hpp"
#include "hxrt/hxrt.hpp"
#include "session.hpp"

namespace hxrt_test {

inline std::string plugin_dir() {
  const char* dir = std::getenv("HXRT_PLUGIN_DIR");
  return dir ? dir : HXRT_TEST_PLUGIN_DIR;
}

inline hxrt::Environment make_environment() {
  static std::string path = plugin_dir() + "/libhxrt_cpu.so:" + std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so";
  hxrt_environment_options options{};
  options.struct_size = sizeof(options);
  options.plugin_path = path.c_str();
  options.only_plugin_path = 1;
  options.log_level = HXRT_LOG_ERROR;
  return hxrt::Environment(&options);
}

// An environment config that loads exactly these plugins and logs errors only.
inline hxrt::host::EnvironmentConfig only_plugins(std::vector<std::string> paths) {
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = std::move(paths);
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  return config;
}

// The CPU and template plugins, shared by the tests of one process.
inline hxrt::host::Environment& cpu_and_template() {
  static hxrt::host::Environment env(
      only_plugins({plugin_dir() + "/libhxrt_cpu.so", std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so"}));
  return env;
}

inline void add_input(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> dims) {
  auto* v = g->add_input();
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

inline void add_node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + out[0]);
  for (auto& i : in) n->add_input(i);
  for (auto& o : out) n->add_output(o);
}

// y = Relu(MatMul(a, b) + c) with a [4,8], b [8,5], c [5].
inline std::string mlp_model(const std::string& activation = "Relu") {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("mlp");
  add_input(g, "a", {4, 8});
  add_input(g, "b", {8, 5});
  add_input(g, "c", {5});
  add_node(g, "MatMul", {"a", "b"}, {"ab"});
  add_node(g, "Add", {"ab", "c"}, {"abc"});
  add_node(g, activation, {"abc"}, {"y"});
  auto* y = g->add_output();
  y->set_name("y");
  y->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m.SerializeAsString();
}

inline std::vector<float> random_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

inline std::vector<double> mlp_reference(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& c) {
  std::vector<double> y(20);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j) {
      double s = c[j];
      for (int k = 0; k < 8; ++k) s += double(a[i * 8 + k]) * b[k * 5 + j];
      y[i * 5 + j] = s > 0 ? s : 0;
    }
  return y;
}

// y = Sigmoid(Abs(Neg(Relu(a + c)))) over [64, 64]: a chain of element-wise ops.
inline std::string chain_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("chain");
  add_input(g, "a", {64, 64});
  add_input(g, "c", {64, 64});
  add_node(g, "Add", {"a", "c"}, {"s"});
  add_node(g, "Relu", {"s"}, {"r"});
  add_node(g, "Neg", {"r"}, {"n"});
  add_node(g, "Abs", {"n"}, {"b"});
  add_node(g, "Sigmoid", {"b"}, {"y"});
  auto* y = g->add_output();
  y->set_name("y");
  y->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m.SerializeAsString();
}

inline std::vector<double> chain_reference(const std::vector<float>& a, const std::vector<float>& c) {
  std::vector<double> y(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    double v = std::max(0.0, double(a[i]) + c[i]);
    y[i] = 1 / (1 + std::exp(-std::fabs(-v)));
  }
  return y;
}

// Alternates nodes between the CPU plugin and the template plugin, so every
// edge crosses plugins through host staging.
class AlternatingPlacer final : public hxrt::host::Placer {
 public:
  hxrt::host::Placement place(const hxrt::host::Graph& graph, const std::vector<hxrt::host::DeviceRecord*>& devices,
                              const hxrt::host::SupportTable& table) override {
    hxrt::host::Placement p;
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      int want = static_cast<int>((n + 1) % devices.size());
      if (!table.support[n][want].supported) want = 0;
      p.device_of_node.push_back(want);
    }
    return p;
  }
};

// Places each node by device id, round robin over `ids` (the first that
// supports it when the preferred one does not).
class RoundRobinPlacer final : public hxrt::host::Placer {
 public:
  explicit RoundRobinPlacer(std::vector<std::string> ids) : ids_(std::move(ids)) {}
  hxrt::host::Placement place(const hxrt::host::Graph& graph, const std::vector<hxrt::host::DeviceRecord*>& devices,
                              const hxrt::host::SupportTable& table) override {
    hxrt::host::Placement p;
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      int chosen = -1;
      for (size_t k = 0; k < ids_.size() && chosen < 0; ++k)
        for (size_t d = 0; d < devices.size(); ++d)
          if (devices[d]->id == ids_[(n + k) % ids_.size()] && table.support[n][d].supported) chosen = static_cast<int>(d);
      p.device_of_node.push_back(std::max(chosen, 0));
    }
    return p;
  }

 private:
  std::vector<std::string> ids_;
};

}  // namespace hxrt_test
