// End to end through libhxrt: a model whose MatMul and Relu match a kernel
// bundle's shapes runs them on the OpenCL device and the rest on the CPU; a
// MatMul outside the bundle's shapes falls back to the CPU.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "graph/onnx_proto.hpp"
#include "hxrt/hxrt.hpp"
#include "opencl_test_support.hpp"

namespace hxrt::ocl::test {
namespace {

std::string plugin_dir() {
  const char* dir = std::getenv("HXRT_PLUGIN_DIR");
  return dir != nullptr && *dir != '\0' ? dir : HXRT_TEST_PLUGIN_DIR;
}

void add_value(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

// y = Relu(MatMul(a, b) + c), a [4, k], b [k, 5], c [5].
std::string model(int64_t k) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("mlp");
  add_value(g->add_input(), "a", {4, k});
  add_value(g->add_input(), "b", {k, 5});
  add_value(g->add_input(), "c", {5});
  auto node = [&](const std::string& op, std::vector<std::string> in, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(op);
    for (auto& i : in) n->add_input(i);
    n->add_output(out);
  };
  node("MatMul", {"a", "b"}, "ab");
  node("Add", {"ab", "c"}, "abc");
  node("Relu", {"abc"}, "y");
  add_value(g->add_output(), "y", {4, 5});
  return m.SerializeAsString();
}

class OpenclSession : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ensure_pocl_cache();
    dir_ = make_temp_dir("session");
    std::ofstream(dir_ + "/shapes.json")
        << R"([{"op": "MatMul", "inputs": [[4, 8], [8, 5]]}, {"op": "Relu", "inputs": [[4, 5]]}])";
    std::string command = std::string("\"") + HXRT_OCL_BUNDLE_TOOL + "\" --kernels matmul,elementwise --shapes \"" + dir_ +
                          "/shapes.json\" --out \"" + dir_ + "/bundle\" > \"" + dir_ + "/tool.log\" 2>&1";
    tool_rc_ = std::system(command.c_str());
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  void SetUp() override {
    {
      Context probe;
      if (probe.devices().empty()) GTEST_SKIP() << "no OpenCL device";
    }
    ASSERT_EQ(tool_rc_, 0) << "hxrt-opencl-bundle failed; see " << dir_ << "/tool.log";
    // The OpenCL plugin first: PoCL is a CPU-kind device, and the host breaks
    // ties between equal kinds by discovery order.
    path_ = plugin_dir() + "/libhxrt_opencl.so:" + plugin_dir() + "/libhxrt_cpu.so";
    options_ = "opencl:bundle=" + dir_ + "/bundle";
    hxrt_environment_options env{};
    env.struct_size = sizeof(env);
    env.plugin_path = path_.c_str();
    env.only_plugin_path = 1;
    env.log_level = HXRT_LOG_WARNING;
    env.plugin_options = options_.c_str();
    environment_ = std::make_unique<hxrt::Environment>(&env);
  }

  std::vector<double> reference(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& c,
                                int64_t k) {
    std::vector<double> y(20);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 5; ++j) {
        double s = c[j];
        for (int64_t t = 0; t < k; ++t) s += double(a[i * k + t]) * b[t * 5 + j];
        y[i * 5 + j] = s > 0 ? s : 0;
      }
    return y;
  }

  std::map<std::string, std::string> run_model(int64_t k) {
    std::string bytes = model(k);
    // OpenCL first by preference: on this machine PoCL and oneDNN share the
    // same cores, so the cost placer would rightly choose the CPU plugin.
    const char* allowed[] = {"opencl", "cpu"};
    hxrt_session_options options{};
    options.struct_size = sizeof(options);
    options.allowed_devices = allowed;
    options.num_allowed_devices = 2;
    options.placement = HXRT_PLACEMENT_PRIORITY;
    hxrt::Session session(*environment_, bytes.data(), bytes.size(), &options);
    std::map<std::string, std::string> where;
    for (const auto& p : session.placement()) where[p.op_type] = p.device_id;
    explain_ = session.explain();  // what hxrt-run --explain prints
    auto a = random_floats(4 * k, 1), b = random_floats(k * 5, 2), c = random_floats(5, 3);
    std::vector<float> y(20, -1);
    session.run({{"a", a}, {"b", b}, {"c", c}}, {{"y", y}});
    auto ref = reference(a, b, c, k);
    for (int i = 0; i < 20; ++i) EXPECT_NEAR(y[i], ref[i], 1e-5) << i;
    return where;
  }

  static inline std::string dir_;
  static inline int tool_rc_ = -1;
  std::string path_, options_, explain_;
  std::unique_ptr<hxrt::Environment> environment_;
};

TEST_F(OpenclSession, BundleShapesRunOnOpenclTheRestOnCpu) {
  auto where = run_model(8);
  EXPECT_EQ(where["MatMul"], "opencl:0");
  EXPECT_EQ(where["Relu"], "opencl:0");
  EXPECT_EQ(where["Add"], "cpu:0");  // not in the bundle
}

TEST_F(OpenclSession, ShapeOutsideTheBundleFallsBackToCpu) {
  auto where = run_model(9);
  EXPECT_EQ(where["MatMul"], "cpu:0");
  EXPECT_EQ(where["Relu"], "opencl:0");
  // The fallback's reason is visible in the session's explanation.
  EXPECT_NE(explain_.find("shape not in kernel bundle"), std::string::npos) << explain_;
}

}  // namespace
}  // namespace hxrt::ocl::test
