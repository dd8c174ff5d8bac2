// End to end through the host's public C++ API: light ONNX models run with
// devices cpu + vulkan, some nodes placed on the Vulkan device, outputs
// matching the models' expected outputs.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <random>
#include <string>
#include <thread>

#include "graph/onnx_proto.hpp"
#include "graph/tensor_proto.hpp"
#include "hxrt/hxrt.hpp"
#include "session.hpp"

namespace fs = std::filesystem;

namespace {

std::string shared_data() {
  const char* env = std::getenv("HXRT_SHARED_DATA");
  return env && *env ? env : HXRT_TEST_SHARED_DATA;
}

std::string plugin_dir() {
  const char* env = std::getenv("HXRT_PLUGIN_DIR");
  return env && *env ? env : HXRT_TEST_PLUGIN_DIR;
}

// Runs `model` on cpu + vulkan; returns how many nodes went to vulkan and to cpu.
void run_split(const std::string& name, int* on_vulkan, int* on_cpu) {
  setenv("MESA_SHADER_CACHE_DIR", HXRT_VK_TEST_CACHE "/mesa", 0);
  fs::path root = fs::path(shared_data()) / "onnx-light/onnx/backend/test/data/light";
  fs::path model = root / (name + ".onnx"), expected_file = root / (name + "_output_0.pb");
  if (!fs::exists(model)) GTEST_SKIP() << model << " not found (set HXRT_SHARED_DATA)";
  // Vulkan first: with equal estimates the host keeps discovery order.
  std::string path = plugin_dir() + "/libhxrt_vulkan.so:" + plugin_dir() + "/libhxrt_cpu.so";
  // measure=0: fixed rates, so the placement (a cost decision) does not depend on the load of the machine.
  std::string options = "vulkan:cache_dir=" HXRT_VK_TEST_CACHE "/pipelines;vulkan:measure=0";
  hxrt_environment_options eo{};
  eo.struct_size = sizeof(eo);
  eo.plugin_path = path.c_str();
  eo.only_plugin_path = 1;
  eo.log_level = HXRT_LOG_WARNING;
  eo.plugin_options = options.c_str();
  hxrt::Environment env(&eo);
  bool have_vulkan = false;
  for (const auto& d : env.devices()) have_vulkan |= d.plugin_name == "vulkan";
  if (!have_vulkan) GTEST_SKIP() << "no Vulkan device";

  const char* allowed[] = {"cpu", "vulkan"};
  hxrt_session_options so{};
  so.struct_size = sizeof(so);
  so.allowed_devices = allowed;
  so.num_allowed_devices = 2;
  hxrt::Session session(env, model.string(), &so);
  *on_vulkan = *on_cpu = 0;
  for (const auto& p : session.placement()) {
    if (p.device_id.rfind("vulkan:", 0) == 0) ++*on_vulkan;
    if (p.device_id.rfind("cpu:", 0) == 0) ++*on_cpu;
  }
  // The weights are constants, so any input gives the expected output.
  auto inputs = session.inputs();
  ASSERT_EQ(inputs.size(), 1u);
  int64_t n = 1;
  for (int64_t d : inputs[0].dims) n *= d;
  std::vector<float> x(static_cast<size_t>(n));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  for (float& v : x) v = dist(rng);
  hxrt::host::HostTensor expected = hxrt::host::load_tensor_proto_file(expected_file.string());
  std::vector<float> y(static_cast<size_t>(expected.numel()));
  session.run({{inputs[0].name, x}}, {{session.outputs()[0].name, y}});
  size_t bad = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    double want = expected.data<float>()[i];
    if (!(std::fabs(y[i] - want) <= 1e-5 + 1e-3 * std::fabs(want))) {
      if (bad++ < 5) ADD_FAILURE() << name << " output[" << i << "] = " << y[i] << ", expected " << want;
    }
  }
  EXPECT_EQ(bad, 0u) << name;
}

}  // namespace

TEST(VulkanEndToEnd, SqueezenetOnCpuAndVulkan) {
  int on_vulkan = 0, on_cpu = 0;
  run_split("light_squeezenet", &on_vulkan, &on_cpu);
  if (IsSkipped()) return;
  EXPECT_GT(on_vulkan, 0) << "no node was placed on the Vulkan device";
  std::printf("light_squeezenet: %d nodes on vulkan, %d on cpu\n", on_vulkan, on_cpu);
}

// LRN is not a Vulkan op: those nodes run on the CPU plugin, the rest may run on Vulkan.
TEST(VulkanEndToEnd, InceptionSplitsAcrossDevices) {
  int on_vulkan = 0, on_cpu = 0;
  run_split("light_inception_v1", &on_vulkan, &on_cpu);
  if (IsSkipped()) return;
  EXPECT_GT(on_vulkan, 0);
  EXPECT_GT(on_cpu, 0);
  std::printf("light_inception_v1: %d nodes on vulkan, %d on cpu\n", on_vulkan, on_cpu);
}

namespace {

// y = Sigmoid(Relu(a + c)) over [n] floats: three element-wise ops.
std::string chain_model(int64_t n) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("chain");
  for (const char* name : {"a", "c"}) {
    auto* v = g->add_input();
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_value(n);
  }
  auto node = [&](const char* op, std::vector<std::string> in, const char* out) {
    auto* p = g->add_node();
    p->set_op_type(op);
    p->set_name(std::string(op) + "_" + out);
    for (auto& i : in) p->add_input(i);
    p->add_output(out);
  };
  node("Add", {"a", "c"}, "s");
  node("Relu", {"s"}, "r");
  node("Sigmoid", {"r"}, "y");
  auto* y = g->add_output();
  y->set_name("y");
  y->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m.SerializeAsString();
}

// Add and Sigmoid on the Vulkan device, Relu on the CPU: the caller's
// buffers meet only the Vulkan device, and values cross twice.
class SplitChainPlacer final : public hxrt::host::Placer {
 public:
  hxrt::host::Placement place(const hxrt::host::Graph& graph, const std::vector<hxrt::host::DeviceRecord*>& devices,
                              const hxrt::host::SupportTable&) override {
    auto index_of = [&](const std::string& prefix) {
      for (size_t d = 0; d < devices.size(); ++d)
        if (devices[d]->id.rfind(prefix, 0) == 0) return static_cast<int>(d);
      throw std::runtime_error("no " + prefix + " device");
    };
    hxrt::host::Placement p;
    for (const auto& node : graph.nodes)
      p.device_of_node.push_back(index_of(node.op_type == "Relu" ? "cpu:" : "vulkan:"));
    return p;
  }
};

// The first CPU-type Vulkan device that wraps host memory, or NULL.
const hxrt::host::DeviceRecord* wrapping_vulkan_device(const hxrt::host::Environment& env) {
  for (const auto* d : env.devices())
    if (d->id.rfind("vulkan:", 0) == 0 && d->can_wrap_host_memory && d->kind == HXRT_DEVICE_KIND_CPU) return d;
  return nullptr;
}

hxrt::host::EnvironmentConfig environment_config(std::vector<std::string> plugins) {
  setenv("MESA_SHADER_CACHE_DIR", HXRT_VK_TEST_CACHE "/mesa", 0);
  hxrt::host::EnvironmentConfig config;
  for (const auto& name : plugins) config.plugin_paths.push_back(plugin_dir() + "/libhxrt_" + name + ".so");
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  config.plugin_options = "vulkan:cache_dir=" HXRT_VK_TEST_CACHE "/pipelines;vulkan:measure=0";
  return config;
}

// Runs the chain from two threads (two runs in flight), alternating caller
// buffers aligned for the device, which must be bound zero-copy (the trace
// marks both uploads and the download "zero-copy"), with buffers 4 bytes
// off, which are copied. Counts wrong results and wrong zero-copy counts.
int run_chain_with_caller_buffers(hxrt::host::Session& session, int64_t n, uint64_t alignment) {
  const uint64_t bytes = static_cast<uint64_t>(n) * sizeof(float), stride = bytes + alignment;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      std::unique_ptr<void, decltype(&std::free)> block(std::aligned_alloc(alignment, 3 * stride + alignment),
                                                        &std::free);
      auto* base = static_cast<char*>(block.get());
      std::mt19937 rng(static_cast<unsigned>(t));
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      for (int r = 0; r < 4; ++r) {
        const bool aligned = r % 2 == 0;
        const size_t shift = aligned ? 0 : 4;
        auto* a = reinterpret_cast<float*>(base + shift);
        auto* c = reinterpret_cast<float*>(base + stride + shift);
        auto* y = reinterpret_cast<float*>(base + 2 * stride + shift);
        std::vector<float> av(static_cast<size_t>(n)), cv(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
          a[i] = av[i] = dist(rng);
          c[i] = cv[i] = dist(rng);
          y[i] = -1.0f;
        }
        hxrt::host::RunTrace trace;
        session.run(std::vector<const void*>{a, c}, std::vector<void*>{y}, &trace);
        int wrong = 0;
        for (int64_t i = 0; i < n; ++i) {
          double want = 1 / (1 + std::exp(-std::max(0.0, double(av[i] + cv[i]))));
          // Inputs are read-only to the run, also when bound zero-copy.
          if (std::fabs(y[i] - want) > 1e-5 || a[i] != av[i] || c[i] != cv[i]) ++wrong;
        }
        if (wrong > 0)
          ADD_FAILURE() << (aligned ? "aligned" : "unaligned") << " buffers: " << wrong << " wrong elements";
        int zero_copy = 0;
        for (const auto& record : trace.measured) zero_copy += record.category == "zero-copy";
        if (zero_copy != (aligned ? 3 : 0))
          ADD_FAILURE() << (aligned ? "aligned" : "unaligned") << " buffers: " << zero_copy
                        << " zero-copy transfers, expected " << (aligned ? 3 : 0);
        failures += wrong > 0 || zero_copy != (aligned ? 3 : 0);
      }
    });
  for (auto& th : threads) th.join();
  return failures.load();
}

// A size in floats of about 16 KiB that the device can wrap.
int64_t wrappable_floats(uint64_t alignment) {
  return static_cast<int64_t>((uint64_t{16} * 1024 + alignment - 1) / alignment * alignment / sizeof(float));
}

}  // namespace

// Zero-copy through the executor on a CPU-type Vulkan device that wraps host
// memory (lavapipe, VK_EXT_external_memory_host): the whole chain on Vulkan.
TEST(VulkanEndToEnd, ZeroCopyBindsAlignedCallerBuffers) {
  hxrt::host::Environment env(environment_config({"vulkan"}));
  const hxrt::host::DeviceRecord* device = wrapping_vulkan_device(env);
  if (device == nullptr)
    GTEST_SKIP() << "no CPU-type Vulkan device that wraps host memory (lavapipe with VK_EXT_external_memory_host)";
  const uint64_t alignment = std::max<uint64_t>(device->wrap_host_memory_alignment, 64);
  const int64_t n = wrappable_floats(alignment);
  std::string model = chain_model(n);
  hxrt::host::SessionConfig session_config;
  session_config.allowed_devices = {device->id};
  session_config.executor.runs_in_flight = 2;
  hxrt::host::Session session(env, model.data(), model.size(), session_config);
  EXPECT_EQ(run_chain_with_caller_buffers(session, n, alignment), 0);
}

// The same with the Relu on the CPU plugin: values cross Vulkan -> CPU ->
// Vulkan between zero-copy inputs and a zero-copy output.
TEST(VulkanEndToEnd, ZeroCopyWithCrossingsToTheCpu) {
  hxrt::host::Environment env(environment_config({"vulkan", "cpu"}));
  const hxrt::host::DeviceRecord* device = wrapping_vulkan_device(env);
  if (device == nullptr)
    GTEST_SKIP() << "no CPU-type Vulkan device that wraps host memory (lavapipe with VK_EXT_external_memory_host)";
  const uint64_t alignment = std::max<uint64_t>(device->wrap_host_memory_alignment, 64);
  const int64_t n = wrappable_floats(alignment);
  std::string model = chain_model(n);
  hxrt::host::SessionConfig session_config;
  session_config.placer = std::make_shared<SplitChainPlacer>();
  session_config.perf_model = "none";
  session_config.executor.runs_in_flight = 2;
  hxrt::host::Session session(env, model.data(), model.size(), session_config);
  std::map<std::string, std::string> device_of;
  for (const auto& p : session.placements()) device_of[p.op_type] = p.device_id;
  EXPECT_EQ(device_of["Relu"].rfind("cpu:", 0), 0u) << device_of["Relu"];
  EXPECT_EQ(device_of["Add"], device->id);
  EXPECT_EQ(run_chain_with_caller_buffers(session, n, alignment), 0);
}
