// The FPGA flow end to end on the test machine's OpenCL device: build a
// kernel bundle with hxrt-opencl-bundle, load the plugin in bundle mode, and
// check that queries follow the manifest, nothing is compiled from source,
// results are right, and broken bundles cost only their device.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "opencl_test_support.hpp"

namespace hxrt::ocl::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kShapes = R"([
  {"op": "MatMul", "inputs": [[4, 8], [8, 5]]},
  {"op": "Relu", "inputs": [{"min": [1, 1], "max": [64, 64]}]},
  {"op": "Add", "inputs": [[4, 5], [5]]},
  {"op": "Transpose", "inputs": [[4, 5]], "attributes": {"perm": [1, 0]}}
])";

class OpenclBundle : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ensure_pocl_cache();
    {
      Context probe;
      num_devices_ = probe.devices().size();
    }
    if (num_devices_ == 0) return;
    dir_ = make_temp_dir("bundle");
    std::ofstream(dir_ + "/shapes.json") << kShapes;
    std::string command = std::string("\"") + HXRT_OCL_BUNDLE_TOOL + "\" --device 0 --kernels matmul,elementwise,data --shapes \"" +
                          dir_ + "/shapes.json\" --out \"" + dir_ + "/bundle\" > \"" + dir_ + "/tool.log\" 2>&1";
    tool_rc_ = std::system(command.c_str());
    std::ifstream in(dir_ + "/bundle/manifest.json");
    if (in) manifest_ = json::parse(in);
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (num_devices_ == 0) GTEST_SKIP() << "no OpenCL device";
    ASSERT_EQ(tool_rc_, 0) << "hxrt-opencl-bundle failed; see " << dir_ << "/tool.log";
  }
  static std::string bundle() { return dir_ + "/bundle"; }
  // A copy of the bundle with `edit` applied, for the failure cases.
  static std::string variant(const std::string& name, const std::function<void(const std::string&, json&)>& edit) {
    std::string out = dir_ + "/" + name;
    fs::copy(bundle(), out, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    json m = manifest_;
    edit(out, m);
    std::ofstream(out + "/manifest.json") << m.dump(2);
    return out;
  }

  static inline size_t num_devices_ = 0;
  static inline std::string dir_;
  static inline int tool_rc_ = -1;
  static inline json manifest_;
};

// FNV-1a 64 as docs/plugins/opencl-fpga.md specifies the manifest checksum.
std::string hex_checksum(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(h));
  return text;
}

const json& kernel_entry(const json& manifest, const std::string& op) {
  for (const auto& k : manifest["kernels"])
    if (k["op"] == op) return k;
  throw std::runtime_error("no " + op);
}

TEST_F(OpenclBundle, ToolWritesManifestAndBinaries) {
  EXPECT_EQ(manifest_["format"], "hxrt-opencl-bundle");
  EXPECT_EQ(manifest_["programs"].size(), 3u);
  for (const auto& p : manifest_["programs"]) {
    auto size = fs::file_size(bundle() + "/" + p["binary"].get<std::string>());
    EXPECT_EQ(size, p["binary_size"].get<uint64_t>());
    EXPECT_GT(size, 0u);
  }
  EXPECT_EQ(manifest_["kernels"].size(), 4u);
  EXPECT_EQ(kernel_entry(manifest_, "MatMul")["entry_points"], json::array({"gemm_tiled"}));
}

TEST_F(OpenclBundle, QueriesFollowTheManifestOnly) {
  Context ctx({{"bundle", bundle()}});
  auto devices = ctx.devices();
  ASSERT_EQ(devices.size(), num_devices_) << ::testing::PrintToString(ctx.log());
  hxrt_device* d = devices[0];
  const auto* api = ctx.api();

  NodeSpec mm("MatMul", 13);
  mm.input({4, 8}).input({8, 5}).output({4, 5});
  Support s = query(api, d, mm);
  ASSERT_TRUE(s.supported) << s.message;
  // The estimate is the manifest's: latency + FLOPs / throughput.
  const json& k = kernel_entry(manifest_, "MatMul");
  double expected = k["latency_ns"].get<double>() + 1e9 * (2.0 * 4 * 8 * 5) / k["throughput_flops"].get<double>();
  EXPECT_NEAR(s.estimated_ns, expected, expected * 1e-9);

  NodeSpec other("MatMul", 13);
  other.input({4, 8}).input({8, 6}).output({4, 6});
  s = query(api, d, other);
  EXPECT_FALSE(s.supported);
  EXPECT_EQ(s.reason, HXRT_UNSUPPORTED_SHAPE);
  EXPECT_NE(s.message.find("shape not in kernel bundle"), std::string::npos) << s.message;

  for (Shape shape : {Shape{1, 1}, Shape{64, 64}, Shape{3, 17}}) {
    NodeSpec relu("Relu", 14);
    relu.input(shape).output(shape);
    EXPECT_TRUE(query(api, d, relu).supported) << ::testing::PrintToString(shape);
  }
  NodeSpec big("Relu", 14);
  big.input({65, 2}).output({65, 2});
  EXPECT_EQ(query(api, d, big).reason, HXRT_UNSUPPORTED_SHAPE);
  NodeSpec rank3("Relu", 14);
  rank3.input({2, 2, 2}).output({2, 2, 2});
  EXPECT_EQ(query(api, d, rank3).reason, HXRT_UNSUPPORTED_SHAPE);

  // The JIT plugin can run Sigmoid (same program), but the bundle does not declare it.
  NodeSpec sigmoid("Sigmoid", 13);
  sigmoid.input({4, 5}).output({4, 5});
  EXPECT_EQ(query(api, d, sigmoid).reason, HXRT_UNSUPPORTED_OP);
  NodeSpec conv("Conv", 11);
  conv.input({1, 1, 4, 4}).input({1, 1, 3, 3}).output({1, 1, 2, 2});
  EXPECT_EQ(query(api, d, conv).reason, HXRT_UNSUPPORTED_OP);

  NodeSpec identity_perm("Transpose", 13);
  identity_perm.input({4, 5}).output({4, 5}).attr("perm", std::vector<int64_t>{0, 1});
  EXPECT_EQ(query(api, d, identity_perm).reason, HXRT_UNSUPPORTED_ATTRIBUTE);
  NodeSpec transpose("Transpose", 13);
  transpose.input({4, 5}).output({5, 4}).attr("perm", std::vector<int64_t>{1, 0});
  EXPECT_TRUE(query(api, d, transpose).supported);
}

TEST_F(OpenclBundle, RunsWithoutCompilingAnySource) {
  Context ctx({{"bundle", bundle()}});
  ASSERT_FALSE(ctx.devices().empty());
  hxrt_device* d = ctx.devices()[0];
  auto a = random_floats(32, 1), b = random_floats(40, 2), c = random_floats(5, 3), r = random_floats(12 * 7, 4);
  NodeSpec mm("MatMul", 13);
  mm.input({4, 8}).input({8, 5}).output({4, 5});
  auto y = run_node(ctx.api(), d, mm, {a, b});
  ASSERT_EQ(y.size(), 1u);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j) {
      double s = 0;
      for (int k = 0; k < 8; ++k) s += double(a[i * 8 + k]) * b[k * 5 + j];
      EXPECT_NEAR(y[0][i * 5 + j], s, 1e-5);
    }
  NodeSpec add("Add", 14);
  add.input({4, 5}).input({5}).output({4, 5});
  auto z = run_node(ctx.api(), d, add, {y[0], c});
  ASSERT_EQ(z.size(), 1u);
  for (int i = 0; i < 20; ++i) EXPECT_FLOAT_EQ(z[0][i], y[0][i] + c[i % 5]);
  NodeSpec relu("Relu", 14);
  relu.input({12, 7}).output({12, 7});
  auto w = run_node(ctx.api(), d, relu, {r});
  ASSERT_EQ(w.size(), 1u);
  for (int i = 0; i < 84; ++i) EXPECT_EQ(w[0][i], r[i] > 0 ? r[i] : 0.0f);
  ctx.destroy();
  // The no-compile guarantee: the plugin counts every clCreateProgramWithSource.
  EXPECT_TRUE(ctx.log_contains("programs built from source: 0, loaded from the binary cache: 0, loaded from kernel bundles: 3"))
      << ::testing::PrintToString(ctx.log());
  EXPECT_FALSE(ctx.log_contains("from source for"));
}

// Each broken bundle: the context still loads, that device is skipped with a
// clear error, and the other devices stay.
void expect_device_skipped(const std::string& dir, const std::string& why, size_t num_devices) {
  Context ctx({{"bundle.0", dir}});
  ASSERT_NE(ctx.get(), nullptr);
  EXPECT_EQ(ctx.devices().size(), num_devices - 1);
  EXPECT_TRUE(ctx.log_contains("skipped")) << ::testing::PrintToString(ctx.log());
  EXPECT_TRUE(ctx.log_contains(why)) << "expected '" << why << "' in " << ::testing::PrintToString(ctx.log());
}

TEST_F(OpenclBundle, CorruptBinarySkipsTheDevice) {
  std::string dir = variant("corrupt", [](const std::string& out, json&) {
    std::fstream f(out + "/matmul.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(64);
    f.write("\x13\x37\xde\xad", 4);
  });
  expect_device_skipped(dir, "the binary is corrupt", num_devices_);
}

TEST_F(OpenclBundle, GarbageBinaryWithMatchingChecksumIsRejectedByTheDriver) {
  // The manifest vouches for the bytes, so only the driver can catch this one.
  std::string dir = variant("garbage", [](const std::string& out, json& m) {
    std::string garbage(4096, '\0');
    for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 7) & 0xff);
    std::ofstream(out + "/matmul.bin", std::ios::binary) << garbage;
    for (auto& p : m["programs"])
      if (p["name"] == "matmul") {
        p["binary_size"] = garbage.size();
        p["binary_fnv1a64"] = hex_checksum(garbage);
      }
  });
  expect_device_skipped(dir, "program 'matmul'", num_devices_);
}

TEST_F(OpenclBundle, ManifestNamingAMissingKernelSkipsTheDevice) {
  std::string dir = variant("missing-kernel", [](const std::string&, json& m) {
    for (auto& k : m["kernels"])
      if (k["op"] == "MatMul") k["entry_points"] = json::array({"gemm_systolic_16x16"});
  });
  expect_device_skipped(dir, "names entry point 'gemm_systolic_16x16'", num_devices_);
}

TEST_F(OpenclBundle, MissingBinaryFileSkipsTheDevice) {
  std::string dir = variant("missing-file", [](const std::string& out, json&) { fs::remove(out + "/data.bin"); });
  expect_device_skipped(dir, "cannot read the binary", num_devices_);
}

TEST_F(OpenclBundle, DeviceMismatchSkipsTheDevice) {
  std::string dir = variant("mismatch", [](const std::string&, json& m) {
    m["device"]["name"] = "Agilex 7 FPGA (hxrt test)";
    m["device"]["vendor"] = "Intel(R) Corporation";
  });
  expect_device_skipped(dir, "was built for another device", num_devices_);
}

TEST_F(OpenclBundle, MalformedManifestSkipsTheDevice) {
  std::string dir = variant("malformed", [](const std::string&, json& m) { m["kernels"][0].erase("latency_ns"); });
  expect_device_skipped(dir, "has no \"latency_ns\"", num_devices_);
}

}  // namespace
}  // namespace hxrt::ocl::test
