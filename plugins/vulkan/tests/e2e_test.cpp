// End to end through the host's public C++ API: light ONNX models run with
// devices cpu + vulkan, some nodes placed on the Vulkan device, outputs
// matching the models' expected outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "graph/tensor_proto.hpp"
#include "hxrt/hxrt.hpp"

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
