// Sessions end to end through the public API and, through the runtime,
// placement, calibration and memory limits.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/perf_model.hpp"
#include "session_test_util.hpp"

using namespace hxrt_test;

namespace {

// y = Relu(a + c) + (a + c) * (a + c) over [64]: one producer, readers on two devices.
std::string fork_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("fork");
  add_input(g, "a", {64});
  add_input(g, "c", {64});
  add_node(g, "Add", {"a", "c"}, {"s"});
  add_node(g, "Relu", {"s"}, {"r"});
  add_node(g, "Mul", {"s", "s"}, {"m"});
  add_node(g, "Add", {"r", "m"}, {"y"});
  auto* y = g->add_output();
  y->set_name("y");
  y->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m.SerializeAsString();
}

// The Mul on the template plugin, everything else on the CPU, and the Add that
// makes `s` duplicated on the template plugin (the scheduler's duplication).
class DuplicatingPlacer final : public hxrt::host::Placer {
 public:
  hxrt::host::Placement place(const hxrt::host::Graph& graph, const std::vector<hxrt::host::DeviceRecord*>&,
                              const hxrt::host::SupportTable&) override {
    hxrt::host::Placement p;
    for (const auto& node : graph.nodes) p.device_of_node.push_back(node.op_type == "Mul" ? 1 : 0);
    p.duplicates.emplace_back(0, 1);
    return p;
  }
};

}  // namespace

TEST(Session, RunsAModelAndMatchesAReference) {
  auto env = make_environment();
  std::string model = mlp_model();
  hxrt::Session session(env, model.data(), model.size());
  auto a = random_values(32, 1), b = random_values(40, 2), c = random_values(5, 3);
  std::vector<float> y(20, -99.0f);
  session.run({{"a", a}, {"b", b}, {"c", c}}, {{"y", y}});
  auto ref = mlp_reference(a, b, c);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-5) << i;
  auto outputs = session.outputs();
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].dims, (std::vector<int64_t>{4, 5}));
}

TEST(Session, ManyThreadsShareASession) {
  auto env = make_environment();
  std::string model = mlp_model();
  hxrt::Session session(env, model.data(), model.size());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < 20; ++r) {
        auto a = random_values(32, 10 + t * 100 + r), b = random_values(40, 2), c = random_values(5, 3);
        std::vector<float> y(20);
        session.run({{"a", a}, {"b", b}, {"c", c}}, {{"y", y}});
        auto ref = mlp_reference(a, b, c);
        for (size_t i = 0; i < y.size(); ++i)
          if (std::fabs(y[i] - ref[i]) > 1e-5) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Session, MalformedModelGivesAClearError) {
  auto env = make_environment();
  std::string garbage = "\x08\x96\x01 definitely not a protobuf model \xff\xff";
  try {
    hxrt::Session session(env, garbage.data(), garbage.size());
    FAIL() << "garbage must not load";
  } catch (const hxrt::Error& e) {
    EXPECT_NE(e.code(), HXRT_STATUS_OK);
    EXPECT_FALSE(std::string(e.what()).empty());
  }
}

TEST(Session, UnsupportedOpNamesTheNodeAndEachDevicesReason) {
  auto env = make_environment();
  std::string model = mlp_model("NotARealOp");
  try {
    hxrt::Session session(env, model.data(), model.size());
    FAIL() << "an unknown op must be refused";
  } catch (const hxrt::Error& e) {
    std::string message = e.what();
    EXPECT_EQ(e.code(), HXRT_STATUS_UNIMPLEMENTED) << message;
    EXPECT_NE(message.find("NotARealOp"), std::string::npos) << message;
  }
}

TEST(Session, WrongInputShapeIsRejectedBeforeAnyDeviceWork) {
  auto env = make_environment();
  std::string model = mlp_model();
  hxrt::Session session(env, model.data(), model.size());
  std::vector<float> a(31), b(40), c(5), y(20);
  try {
    session.run({{"a", a}, {"b", b}, {"c", c}}, {{"y", y}});
    FAIL() << "a too-small input must be refused";
  } catch (const hxrt::Error& e) {
    EXPECT_EQ(e.code(), HXRT_STATUS_INVALID_ARGUMENT) << e.what();
  }
}

TEST(Session, UnknownDeviceIsRefused) {
  auto env = make_environment();
  std::string model = mlp_model();
  const char* wanted[] = {"gpu:7"};
  hxrt_session_options options{};
  options.struct_size = sizeof(options);
  options.allowed_devices = wanted;
  options.num_allowed_devices = 1;
  try {
    hxrt::Session session(env, model.data(), model.size(), &options);
    FAIL();
  } catch (const hxrt::Error& e) {
    EXPECT_EQ(e.code(), HXRT_STATUS_NOT_FOUND) << e.what();
  }
}

TEST(Session, CalibrationFeedsMeasuredCostsBack) {
  hxrt::host::Environment env(only_plugins({plugin_dir() + "/libhxrt_cpu.so"}));
  std::string path = (std::filesystem::temp_directory_path() / "hxrt-session-test-perf-model.json").string();
  std::filesystem::remove(path);
  std::string model = mlp_model();
  hxrt::host::SessionConfig first;
  first.perf_model = "none";
  hxrt::host::Session measured(env, model.data(), model.size(), first);
  auto a = random_values(32, 1), b = random_values(40, 2), c = random_values(5, 3);
  std::vector<float> y(20);
  measured.calibrate(std::vector<const void*>{a.data(), b.data(), c.data()}, std::vector<void*>{y.data()}, 3, path);
  ASSERT_TRUE(std::filesystem::exists(path));

  hxrt::host::SessionConfig second;
  second.perf_model = path;
  hxrt::host::Session informed(env, model.data(), model.size(), second);
  hxrt::host::SessionConfig plain;
  plain.perf_model = "none";
  hxrt::host::Session estimated(env, model.data(), model.size(), plain);
  // Every node now carries its measured time, not the plugin's estimate.
  int changed = 0;
  for (size_t n = 0; n < informed.placements().size(); ++n) {
    EXPECT_GT(informed.placements()[n].estimated_ns, 0.0);
    changed += informed.placements()[n].estimated_ns != estimated.placements()[n].estimated_ns;
  }
  EXPECT_EQ(changed, static_cast<int>(informed.placements().size()));
  std::filesystem::remove(path);
}

// Host memory for inputs and outputs through the public API: allocated
// (ordinary aligned memory without a GPU plugin), registered with a device
// that wraps host memory, used for runs, and clear errors for misuse.
TEST(Session, HostMemoryThroughThePublicApi) {
  hxrt::Environment env = make_environment();
  bool cpu_wraps = false;
  for (const auto& d : env.devices())
    if (d.id == "cpu:0") cpu_wraps = d.can_wrap_host_memory;
  EXPECT_TRUE(cpu_wraps) << "the CPU plugin wraps host memory (ABI 1.2)";
  std::string model = mlp_model();
  hxrt::Session session(env, model.data(), model.size());
  auto a_values = random_values(32, 1), b_values = random_values(40, 2), c_values = random_values(5, 3);
  {
    hxrt::Environment::HostMemory a = env.allocate_host_memory(a_values.size() * 4);
    hxrt::Environment::HostMemory y = env.allocate_host_memory(20 * 4);
    std::copy(a_values.begin(), a_values.end(), a.as<float>().begin());
    ASSERT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 64, 0u);
    std::vector<float> registered(5);
    std::copy(c_values.begin(), c_values.end(), registered.begin());
    env.register_host_memory(registered.data(), registered.size() * 4, "cpu:0");
    session.run({{"a", a.as<float>()}, {"b", b_values}, {"c", registered}}, {{"y", y.as<float>()}});
    auto ref = mlp_reference(a_values, b_values, c_values);
    for (size_t i = 0; i < 20; ++i) EXPECT_NEAR(y.as<float>()[i], ref[i], 1e-5) << i;
    env.unregister_host_memory(registered.data());
  }
  int local = 0;
  auto code_of = [](hxrt_status* st) {
    hxrt_status_code code = hxrt_status_get_code(st);
    hxrt_status_free(st);
    return code;
  };
  EXPECT_EQ(code_of(hxrt_environment_free_host_memory(env.get(), &local)), HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(code_of(hxrt_environment_unregister_host_memory(env.get(), &local)), HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(code_of(hxrt_environment_register_host_memory(env.get(), "cpu:0", nullptr, 4)), HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(code_of(hxrt_environment_register_host_memory(env.get(), "nope:3", &local, 4)), HXRT_STATUS_NOT_FOUND);
  EXPECT_EQ(code_of(hxrt_environment_register_host_memory(env.get(), "template:0", &local, 4)), HXRT_STATUS_UNIMPLEMENTED)
      << "the template plugin does not wrap host memory";
  void* data = &local;
  EXPECT_EQ(code_of(hxrt_environment_allocate_host_memory(env.get(), nullptr, 16, nullptr)), HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(code_of(hxrt_environment_allocate_host_memory(env.get(), "nope:0", 16, &data)), HXRT_STATUS_NOT_FOUND);
  EXPECT_EQ(data, nullptr);
  EXPECT_EQ(code_of(hxrt_environment_allocate_host_memory(nullptr, nullptr, 16, &data)), HXRT_STATUS_INVALID_ARGUMENT);
  // Left allocated on purpose: destroying the environment frees it.
  EXPECT_EQ(code_of(hxrt_environment_allocate_host_memory(env.get(), "cpu:0", 100, &data)), HXRT_STATUS_OK);
  EXPECT_NE(data, nullptr);
}

TEST(Session, DuplicatedNodeFeedsItsReadersLocally) {
  hxrt::host::SessionConfig session_config;
  session_config.placer = std::make_shared<DuplicatingPlacer>();
  session_config.perf_model = "none";
  std::string model = fork_model();
  hxrt::host::Session session(cpu_and_template(), model.data(), model.size(), session_config);
  std::map<std::string, std::string> device_of;
  for (const auto& p : session.placements()) device_of[p.node_name] = p.device_id;
  ASSERT_EQ(device_of.size(), 5u) << "four nodes and one duplicate";
  EXPECT_EQ(device_of["Add_s"], "cpu:0");
  EXPECT_EQ(device_of["Add_s@template:0"], "template:0");
  EXPECT_EQ(device_of["Mul_m"], "template:0");
  for (int r = 0; r < 3; ++r) {
    auto a = random_values(64, 20 + r), c = random_values(64, 30 + r);
    std::vector<float> y(64);
    hxrt::host::RunTrace trace;
    session.run(std::vector<const void*>{a.data(), c.data()}, std::vector<void*>{y.data()}, &trace);
    for (size_t i = 0; i < y.size(); ++i) {
      double s = double(a[i]) + c[i];
      EXPECT_NEAR(y[i], std::max(0.0, s) + s * s, 1e-5) << i;
    }
    // `s` never crosses to the template plugin: its Mul reads the local duplicate.
    for (const auto& record : trace.measured) {
      const bool moves_s = record.name.size() >= 2 && record.name.substr(record.name.size() - 2) == " s";
      EXPECT_FALSE(record.category == "copy" && moves_s) << record.name;
    }
  }
}

TEST(Session, MeasuredTransferCostsReplaceThePluginsEstimates) {
  hxrt::host::Environment& env = cpu_and_template();
  const hxrt::host::DeviceRecord* tpl = env.devices()[1];
  ASSERT_EQ(tpl->id, "template:0");
  // A host -> template hop measured at 5 ms plus 1 ns per byte: far above the
  // plugin's own 0.2 us estimate, so the predicted schedule must show it.
  hxrt::sched::PerfModel measured;
  const std::string key = tpl->plugin->name() + "/" + tpl->name;
  measured.record_transfer("host", key, 100, 5e6 + 100);
  measured.record_transfer("host", key, 300, 5e6 + 300);
  std::string path = (std::filesystem::temp_directory_path() / "hxrt-session-test-transfers.json").string();
  measured.save(path);

  std::string model = mlp_model();
  auto predicted_makespan_us = [&](const std::string& perf_model) {
    hxrt::host::SessionConfig config;
    config.placer = std::make_shared<AlternatingPlacer>();
    config.perf_model = perf_model;
    hxrt::host::Session session(env, model.data(), model.size(), config);
    std::vector<hxrt::host::TraceRecord> schedule;
    session.explain(&schedule);
    double makespan = 0;
    for (const auto& r : schedule) makespan = std::max(makespan, r.end_us);
    return makespan;
  };
  EXPECT_LT(predicted_makespan_us("none"), 5000.0);
  EXPECT_GE(predicted_makespan_us(path), 5000.0);
  std::filesystem::remove(path);
}

TEST(Session, CalibrationRecordsTransferHops) {
  std::string path = (std::filesystem::temp_directory_path() / "hxrt-session-test-calibrated-hops.json").string();
  std::filesystem::remove(path);
  hxrt::host::SessionConfig config;
  config.placer = std::make_shared<AlternatingPlacer>();
  config.perf_model = "none";
  std::string model = mlp_model();
  hxrt::host::Session session(cpu_and_template(), model.data(), model.size(), config);
  auto a = random_values(32, 1), b = random_values(40, 2), c = random_values(5, 3);
  std::vector<float> y(20);
  session.calibrate(std::vector<const void*>{a.data(), b.data(), c.data()}, std::vector<void*>{y.data()}, 2, path);
  const std::string text = hxrt::sched::PerfModel::load(path).to_json();
  // Values cross between the plugins in both directions, so both hops of each are recorded.
  EXPECT_NE(text.find("\"from\": \"host\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"to\": \"host\""), std::string::npos) << text;
  std::filesystem::remove(path);
}

// The executor's memory plan is checked against each device's limit: a
// session whose plan cannot fit fails with RESOURCE_EXHAUSTED naming the
// device, and with a second device the work moves there instead.
TEST(Session, MemoryLimitFailsClearlyOrMovesWorkElsewhere) {
  // y = Relu(a @ b): ops the template plugin runs too, but 1000x slower than
  // the CPU plugin, so without a limit the scheduler picks the CPU.
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("matmul_relu");
  const size_t rows = 64, inner = 256, cols = 64;
  add_input(g, "a", {int64_t(rows), int64_t(inner)});
  add_input(g, "b", {int64_t(inner), int64_t(cols)});
  add_node(g, "MatMul", {"a", "b"}, {"ab"});
  add_node(g, "Relu", {"ab"}, {"y"});
  g->add_output()->set_name("y");
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  std::string model = m.SerializeAsString();
  {
    hxrt::host::Environment env(only_plugins({plugin_dir() + "/libhxrt_cpu.so"}));
    hxrt::host::SessionConfig session_config;
    session_config.memory_limits = {{"cpu:0", 64}};
    try {
      hxrt::host::Session session(env, model.data(), model.size(), session_config);
      FAIL() << "a plan larger than the limit must fail the session";
    } catch (const hxrt::host::Error& e) {
      EXPECT_EQ(e.code(), HXRT_STATUS_RESOURCE_EXHAUSTED) << e.what();
      EXPECT_NE(std::string(e.what()).find("cpu:0"), std::string::npos) << e.what();
    }
  }
  hxrt::host::Environment& env = cpu_and_template();
  hxrt::host::SessionConfig session_config;
  session_config.perf_model = "none";
  {
    hxrt::host::Session unlimited(env, model.data(), model.size(), session_config);
    bool on_cpu = false;
    for (const auto& p : unlimited.placements()) on_cpu |= p.device_id == "cpu:0";
    ASSERT_TRUE(on_cpu) << "without a limit the CPU should take some of the work";
  }
  session_config.memory_limits = {{"cpu:0", 64}};
  hxrt::host::Session session(env, model.data(), model.size(), session_config);
  for (const auto& p : session.placements()) EXPECT_EQ(p.device_id, "template:0") << p.node_name;
  auto a = random_values(rows * inner, 5), b = random_values(inner * cols, 6);
  std::vector<float> y(rows * cols);
  session.run(std::vector<const void*>{a.data(), b.data()}, std::vector<void*>{y.data()});
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j) {
      double dot = 0;
      for (size_t k = 0; k < inner; ++k) dot += double(a[i * inner + k]) * b[k * cols + j];
      ASSERT_NEAR(y[i * cols + j], std::max(0.0, dot), 1e-4) << i << "," << j;
    }
}
