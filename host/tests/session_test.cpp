// Sessions end to end through the public API and, for placement across two
// plugins, through the runtime with a forced placement.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <cstdlib>
#include <random>
#include <string>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "graph/onnx_proto.hpp"
#include "hxrt/hxrt.hpp"
#include "scheduler/perf_model.hpp"
#include "session.hpp"

namespace {

std::string plugin_dir() {
  const char* dir = std::getenv("HXRT_PLUGIN_DIR");
  return dir ? dir : HXRT_TEST_PLUGIN_DIR;
}

hxrt::Environment make_environment() {
  static std::string path = plugin_dir() + "/libhxrt_cpu.so:" + std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so";
  hxrt_environment_options options{};
  options.struct_size = sizeof(options);
  options.plugin_path = path.c_str();
  options.only_plugin_path = 1;
  options.log_level = HXRT_LOG_ERROR;
  return hxrt::Environment(&options);
}

void add_input(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> dims) {
  auto* v = g->add_input();
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

void add_node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + out[0]);
  for (auto& i : in) n->add_input(i);
  for (auto& o : out) n->add_output(o);
}

// y = Relu(MatMul(a, b) + c) with a [4,8], b [8,5], c [5].
std::string mlp_model(const std::string& activation = "Relu") {
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

std::vector<float> random_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

std::vector<double> mlp_reference(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& c) {
  std::vector<double> y(20);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j) {
      double s = c[j];
      for (int k = 0; k < 8; ++k) s += double(a[i * 8 + k]) * b[k * 5 + j];
      y[i * 5 + j] = s > 0 ? s : 0;
    }
  return y;
}

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

TEST(Session, ValuesCrossPluginsCorrectly) {
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {plugin_dir() + "/libhxrt_cpu.so", std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so"};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  hxrt::host::Environment env(config);
  ASSERT_EQ(env.devices().size(), 2u);
  hxrt::host::SessionConfig session_config;
  session_config.placer = std::make_shared<AlternatingPlacer>();
  std::string model = mlp_model();
  hxrt::host::Session session(env, model.data(), model.size(), session_config);
  std::set<std::string> used;
  for (const auto& p : session.placements()) used.insert(p.device_id);
  EXPECT_EQ(used.size(), 2u) << "the test needs both plugins in use";
  for (int r = 0; r < 3; ++r) {
    auto a = random_values(32, 7 + r), b = random_values(40, 8), c = random_values(5, 9);
    std::vector<float> y(20);
    session.run(std::vector<const void*>{a.data(), b.data(), c.data()}, std::vector<void*>{y.data()});
    auto ref = mlp_reference(a, b, c);
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-5) << i;
  }
}

TEST(Session, TraceCoversEveryActionInStreamOrder) {
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {plugin_dir() + "/libhxrt_cpu.so", std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so"};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  hxrt::host::Environment env(config);
  hxrt::host::SessionConfig session_config;
  session_config.placer = std::make_shared<AlternatingPlacer>();
  std::string model = mlp_model();
  hxrt::host::Session session(env, model.data(), model.size(), session_config);
  auto a = random_values(32, 1), b = random_values(40, 2), c = random_values(5, 3);
  std::vector<float> y(20);
  hxrt::host::RunTrace trace;
  session.run(std::vector<const void*>{a.data(), b.data(), c.data()}, std::vector<void*>{y.data()}, &trace);
  auto ref = mlp_reference(a, b, c);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-5) << "tracing must not change results";

  std::map<std::string, int> computes;
  std::map<std::string, double> track_end;
  for (const auto& r : trace.measured) {
    EXPECT_GE(r.end_us, r.start_us) << r.name;
    if (r.category == "compute") ++computes[r.name];
    if (r.category == "copy") {
      EXPECT_GT(r.bytes, 0u) << r.name;
    }
    if (r.track == "host") continue;
    // One stream runs one thing at a time, in order.
    EXPECT_GE(r.start_us, track_end[r.track] - 1e-9) << r.name << " on " << r.track;
    track_end[r.track] = r.end_us;
  }
  EXPECT_EQ(computes.size(), 3u);  // MatMul, Add, Relu
  for (const auto& [name, count] : computes) EXPECT_EQ(count, 1) << name;
  EXPECT_GE(track_end.size(), 2u) << "two devices, two stream tracks";
  auto host_waits = std::count_if(trace.measured.begin(), trace.measured.end(),
                                 [](const auto& r) { return r.track == "host"; });
  EXPECT_EQ(trace.predicted.size(), trace.measured.size() - static_cast<size_t>(host_waits));
  EXPECT_GT(trace.predicted_makespan_us(), 0.0);
  std::string json = trace.to_chrome_json();
  EXPECT_NE(json.find("\"traceEvents\""), std::string::npos);
  EXPECT_NE(json.find("predicted"), std::string::npos);
}

TEST(Session, ConcurrentRunsWithChunkedCrossPluginCopies) {
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {plugin_dir() + "/libhxrt_cpu.so", std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so"};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  hxrt::host::Environment env(config);
  hxrt::host::SessionConfig session_config;
  session_config.placer = std::make_shared<AlternatingPlacer>();
  session_config.executor.runs_in_flight = 3;
  session_config.executor.transfer_chunk_bytes = 24;  // forces several chunks per crossing value
  session_config.executor.zero_copy = false;  // both plugins are host-addressable: without this, crossings take one hop
  std::string model = mlp_model();
  hxrt::host::Session session(env, model.data(), model.size(), session_config);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < 15; ++r) {
        auto a = random_values(32, 100 * t + r), b = random_values(40, 7 * t + r), c = random_values(5, t);
        std::vector<float> y(20);
        session.run(std::vector<const void*>{a.data(), b.data(), c.data()}, std::vector<void*>{y.data()});
        auto ref = mlp_reference(a, b, c);
        for (size_t i = 0; i < y.size(); ++i)
          if (std::fabs(y[i] - ref[i]) > 1e-5) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Session, CalibrationFeedsMeasuredCostsBack) {
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {plugin_dir() + "/libhxrt_cpu.so"};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  hxrt::host::Environment env(config);
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

namespace {

// y = Sigmoid(Abs(Neg(Relu(a + c)))) over [64, 64]: a chain of element-wise ops.
std::string chain_model() {
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

std::vector<double> chain_reference(const std::vector<float>& a, const std::vector<float>& c) {
  std::vector<double> y(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    double v = std::max(0.0, double(a[i]) + c[i]);
    y[i] = 1 / (1 + std::exp(-std::fabs(-v)));
  }
  return y;
}

hxrt::host::Environment& cpu_and_template() {
  static hxrt::host::Environment env([] {
    hxrt::host::EnvironmentConfig config;
    config.plugin_paths = {plugin_dir() + "/libhxrt_cpu.so",
                           std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so"};
    config.only_plugin_paths = true;
    config.log_level = HXRT_LOG_ERROR;
    return config;
  }());
  return env;
}

}  // namespace

// Copy streams, zero-copy and in-place change how a run moves and keeps data,
// never its results: every combination, with three runs in flight from three
// threads, across two plugins (the template plugin has no buffer_wrap_host_memory,
// like a 1.1 plugin, so its side always copies).
TEST(Session, ExecutorOptionsKeepResultsUnderConcurrency) {
  hxrt::host::Environment& env = cpu_and_template();
  std::string model = mlp_model();
  for (int combo = 0; combo < 8; ++combo) {
    hxrt::host::SessionConfig session_config;
    session_config.placer = std::make_shared<AlternatingPlacer>();
    session_config.executor.runs_in_flight = 3;
    session_config.executor.copy_streams = (combo & 1) != 0;
    session_config.executor.zero_copy = (combo & 2) != 0;
    session_config.executor.in_place = (combo & 4) != 0;
    session_config.executor.transfer_chunk_bytes = 40;
    hxrt::host::Session session(env, model.data(), model.size(), session_config);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
      threads.emplace_back([&, t] {
        for (int r = 0; r < 10; ++r) {
          auto a = random_values(32, 1000 * combo + 100 * t + r), b = random_values(40, 7 * t + r),
               c = random_values(5, t + combo);
          std::vector<float> y(20, -7.0f);
          session.run(std::vector<const void*>{a.data(), b.data(), c.data()}, std::vector<void*>{y.data()});
          auto ref = mlp_reference(a, b, c);
          for (size_t i = 0; i < y.size(); ++i)
            if (std::fabs(y[i] - ref[i]) > 1e-5) ++failures;
        }
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0) << "copy_streams " << (combo & 1) << ", zero_copy " << ((combo >> 1) & 1)
                                  << ", in_place " << ((combo >> 2) & 1);
  }
}

// On the CPU plugin (in_place_elementwise, ABI 1.2) the chain runs in place:
// one 16 KiB tensor's worth of arena per live pair instead of two, and the
// results match whether or not outputs and inputs are bound zero-copy.
TEST(Session, ElementwiseChainRunsInPlace) {
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {plugin_dir() + "/libhxrt_cpu.so"};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  hxrt::host::Environment env(config);
  std::string model = chain_model();
  std::map<int, uint64_t> planned;
  for (int combo = 0; combo < 4; ++combo) {
    hxrt::host::SessionConfig session_config;
    session_config.executor.in_place = (combo & 1) != 0;
    session_config.executor.zero_copy = (combo & 2) != 0;
    session_config.executor.runs_in_flight = 2;
    hxrt::host::Session session(env, model.data(), model.size(), session_config);
    ASSERT_EQ(session.memory_stats().size(), 1u);
    planned[combo] = session.memory_stats()[0].planned_bytes;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&, t] {
        for (int r = 0; r < 5; ++r) {
          auto a = random_values(4096, 50 * t + r + 10 * combo), c = random_values(4096, 3 + t);
          std::vector<float> y(4096);
          session.run(std::vector<const void*>{a.data(), c.data()}, std::vector<void*>{y.data()});
          auto ref = chain_reference(a, c);
          for (size_t i = 0; i < y.size(); ++i)
            if (std::fabs(y[i] - ref[i]) > 1e-5) ++failures;
        }
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0) << "in_place " << (combo & 1) << ", zero_copy " << (combo >> 1);
  }
  // Out of place, a and c (inputs, read by Add) and then each op's input and
  // output are live together; in place, each op overwrites its input.
  EXPECT_LT(planned[1], planned[0]);
  EXPECT_LT(planned[3], planned[2]);
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

// Every run context has up to three streams per device (compute, upload,
// download); tearing a session down drains each with its own device's plugin
// and reports nothing (a stream handed to the wrong plugin would be an error).
TEST(Session, TeardownDrainsEveryStreamWithItsOwnPlugin) {
  static std::vector<std::string> warnings;
  static std::mutex warnings_mutex;
  warnings.clear();
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {plugin_dir() + "/libhxrt_cpu.so", std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so"};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_WARNING;
  config.logger = [](void*, hxrt_log_level level, const char* message) {
    std::lock_guard lock(warnings_mutex);
    if (level <= HXRT_LOG_WARNING) warnings.emplace_back(message);
  };
  hxrt::host::Environment env(config);
  std::string model = mlp_model();
  {
    hxrt::host::SessionConfig session_config;
    session_config.placer = std::make_shared<AlternatingPlacer>();
    session_config.executor.runs_in_flight = 2;
    session_config.executor.zero_copy = false;
    hxrt::host::Session session(env, model.data(), model.size(), session_config);
    auto a = random_values(32, 1), b = random_values(40, 2), c = random_values(5, 3);
    std::vector<float> y(20);
    session.run(std::vector<const void*>{a.data(), b.data(), c.data()}, std::vector<void*>{y.data()});
  }
  std::lock_guard lock(warnings_mutex);
  for (const auto& w : warnings) EXPECT_EQ(w.find("destroying a session"), std::string::npos) << w;
}

// Zero-copy on a CPU-type OpenCL device (PoCL, CL_MEM_USE_HOST_PTR): inputs and
// outputs in memory aligned for the device are bound directly; unaligned ones
// are copied. Results match either way, with runs in flight from two threads.
TEST(Session, OpenClZeroCopyWithAlignedAndUnalignedBuffers) {
  std::string path = plugin_dir() + "/libhxrt_opencl.so";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no OpenCL plugin in this build";
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {path};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  hxrt::host::Environment env(config);
  const hxrt::host::DeviceRecord* device = nullptr;
  for (const auto* d : env.devices())
    if (d->can_wrap_host_memory && d->kind == HXRT_DEVICE_KIND_CPU) device = d;
  if (device == nullptr) GTEST_SKIP() << "no CPU-type OpenCL device that wraps host memory";
  std::string model = chain_model();
  hxrt::host::SessionConfig session_config;
  session_config.allowed_devices = {device->id};
  session_config.executor.runs_in_flight = 2;
  hxrt::host::Session session(env, model.data(), model.size(), session_config);
  const size_t n = 4096, bytes = n * sizeof(float);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      // 4096-byte aligned blocks; the unaligned variant starts 4 bytes in.
      std::unique_ptr<void, void (*)(void*)> block(std::aligned_alloc(4096, 4 * bytes + 4096), std::free);
      auto* base = static_cast<char*>(block.get());
      for (int r = 0; r < 6; ++r) {
        size_t shift = (r % 2 == 0) ? 0 : 4;
        auto* a = reinterpret_cast<float*>(base + shift);
        auto* c = reinterpret_cast<float*>(base + bytes + 1024 + shift);
        auto* y = reinterpret_cast<float*>(base + 2 * bytes + 2048 + shift);
        auto av = random_values(n, 10 * t + r), cv = random_values(n, 20 * t + r);
        std::copy(av.begin(), av.end(), a);
        std::copy(cv.begin(), cv.end(), c);
        std::fill(y, y + n, -1.0f);
        session.run(std::vector<const void*>{a, c}, std::vector<void*>{y});
        auto ref = chain_reference(av, cv);
        for (size_t i = 0; i < n; ++i)
          if (std::fabs(y[i] - ref[i]) > 1e-5) ++failures;
        // Inputs are read-only to the run, also when bound zero-copy.
        for (size_t i = 0; i < n; ++i)
          if (a[i] != av[i] || c[i] != cv[i]) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// A traced run on the CPU plugin binds inputs and outputs zero-copy: those
// uploads and downloads are recorded as "zero-copy" with no bytes, so they
// count neither as copies in the hidden share nor in transfer calibration.
TEST(Session, TraceMarksZeroCopyTransfers) {
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {plugin_dir() + "/libhxrt_cpu.so"};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  hxrt::host::Environment env(config);
  std::string model = chain_model();
  for (bool zero_copy : {true, false}) {
    hxrt::host::SessionConfig session_config;
    session_config.executor.zero_copy = zero_copy;
    hxrt::host::Session session(env, model.data(), model.size(), session_config);
    auto a = random_values(4096, 1), c = random_values(4096, 2);
    std::vector<float> y(4096);
    hxrt::host::RunTrace trace;
    session.run(std::vector<const void*>{a.data(), c.data()}, std::vector<void*>{y.data()}, &trace);
    auto ref = chain_reference(a, c);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], ref[i], 1e-5) << i;
    int copies = 0, zero = 0;
    for (const auto& r : trace.measured) {
      if (r.category == "copy") ++copies;
      if (r.category == "zero-copy") {
        ++zero;
        EXPECT_EQ(r.bytes, 0u) << r.name;
      }
    }
    EXPECT_EQ(zero, zero_copy ? 3 : 0) << "two inputs and one output";
    EXPECT_EQ(copies, zero_copy ? 0 : 3);
  }
}

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

// Two PoCL devices (POCL_DEVICES) and the CPU plugin: a value passing between
// the OpenCL devices is a peer copy on the receiver's copy-in stream; values
// crossing to the CPU plugin make the host wait, so each device's actions are
// enqueued by their own thread. Results match the reference with two runs in
// flight from two threads, and the trace shows each copy on its copy stream.
TEST(Session, PeerCopiesAndCrossingsOnCopyStreamsAcrossThreeDevices) {
  std::string path = plugin_dir() + "/libhxrt_opencl.so";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no OpenCL plugin in this build";
  // PoCL reads this once per process: under ctest every test has its own process.
  setenv("POCL_DEVICES", "pthread pthread", /*overwrite=*/0);
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {path, plugin_dir() + "/libhxrt_cpu.so"};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  hxrt::host::Environment env(config);
  std::set<std::string> ids;
  for (const auto* d : env.devices()) ids.insert(d->id);
  if (!ids.count("opencl:0") || !ids.count("opencl:1"))
    GTEST_SKIP() << "needs two OpenCL devices (PoCL with POCL_DEVICES=\"pthread pthread\", read at first use)";
  hxrt::host::SessionConfig session_config;
  session_config.placer = std::make_shared<RoundRobinPlacer>(std::vector<std::string>{"opencl:0", "opencl:1", "cpu:0"});
  session_config.executor.runs_in_flight = 2;
  session_config.executor.transfer_chunk_bytes = 4096;  // several chunks per 16 KiB value
  std::string model = chain_model();
  hxrt::host::Session session(env, model.data(), model.size(), session_config);
  std::set<std::string> used;
  for (const auto& p : session.placements()) used.insert(p.device_id);
  ASSERT_EQ(used.size(), 3u) << "the test needs all three devices in use";

  const size_t n = 64 * 64;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < 8; ++r) {
        auto a = random_values(n, 100 * t + r), c = random_values(n, 100 * t + r + 50);
        std::vector<float> y(n, -1.0f);
        session.run(std::vector<const void*>{a.data(), c.data()}, std::vector<void*>{y.data()});
        auto ref = chain_reference(a, c);
        for (size_t i = 0; i < n; ++i)
          if (std::fabs(y[i] - ref[i]) > 1e-5) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  auto a = random_values(n, 1), c = random_values(n, 2);
  std::vector<float> y(n);
  hxrt::host::RunTrace trace;
  session.run(std::vector<const void*>{a.data(), c.data()}, std::vector<void*>{y.data()}, &trace);
  auto ref = chain_reference(a, c);
  for (size_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], ref[i], 1e-5) << i;
  int peer_copies = 0, staged_arrivals = 0;
  for (const auto& r : trace.measured) {
    if (r.name.rfind("peer copy", 0) == 0) {
      ++peer_copies;
      EXPECT_EQ(r.track, "opencl:1 copy-in stream") << r.name;
    }
    if (r.name.rfind("from staging", 0) == 0) {
      ++staged_arrivals;
      EXPECT_NE(r.track.find("copy-in stream"), std::string::npos) << r.name << " on " << r.track;
    }
    if (r.name.rfind("to staging", 0) == 0) {
      EXPECT_NE(r.track.find("copy-out stream"), std::string::npos) << r.name << " on " << r.track;
    }
  }
  EXPECT_GE(peer_copies, 1);
  EXPECT_GE(staged_arrivals, 1);
}

// PoCL and lavapipe both work in host memory: with zero-copy on, their arenas
// are host memory they wrap, so values crossing between them take one hop;
// with it off they go through host staging. Results match either way, with
// two runs in flight.
TEST(Session, CrossingsBetweenTwoCpuTypeDevicesMatchWithAndWithoutZeroCopy) {
  std::string opencl = plugin_dir() + "/libhxrt_opencl.so", vulkan = plugin_dir() + "/libhxrt_vulkan.so";
  if (!std::filesystem::exists(opencl) || !std::filesystem::exists(vulkan))
    GTEST_SKIP() << "needs the OpenCL and Vulkan plugins in this build";
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {opencl, vulkan};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  hxrt::host::Environment env(config);
  std::vector<std::string> ids;
  for (const auto* d : env.devices())
    if (d->kind == HXRT_DEVICE_KIND_CPU && d->can_wrap_host_memory && ids.size() < 2 &&
        (ids.empty() || ids.front().substr(0, 6) != d->id.substr(0, 6)))
      ids.push_back(d->id);
  if (ids.size() < 2) GTEST_SKIP() << "needs a CPU-type OpenCL device and a CPU-type Vulkan device that wrap host memory";
  std::string model = chain_model();
  for (bool zero_copy : {true, false}) {
    hxrt::host::SessionConfig session_config;
    session_config.placer = std::make_shared<RoundRobinPlacer>(ids);
    session_config.executor.zero_copy = zero_copy;
    session_config.executor.runs_in_flight = 2;
    hxrt::host::Session session(env, model.data(), model.size(), session_config);
    std::set<std::string> used;
    for (const auto& p : session.placements()) used.insert(p.device_id);
    ASSERT_EQ(used.size(), 2u) << "the test needs both devices in use";
    const size_t n = 64 * 64;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&, t] {
        for (int r = 0; r < 4; ++r) {
          auto a = random_values(n, 300 + 10 * t + r), c = random_values(n, 400 + 10 * t + r);
          std::vector<float> y(n, -1.0f);
          session.run(std::vector<const void*>{a.data(), c.data()}, std::vector<void*>{y.data()});
          auto ref = chain_reference(a, c);
          for (size_t i = 0; i < n; ++i)
            if (std::fabs(y[i] - ref[i]) > 1e-5) ++failures;
        }
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0) << "zero_copy " << zero_copy;
  }
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
    hxrt::host::EnvironmentConfig config;
    config.plugin_paths = {plugin_dir() + "/libhxrt_cpu.so"};
    config.only_plugin_paths = true;
    config.log_level = HXRT_LOG_ERROR;
    hxrt::host::Environment env(config);
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
