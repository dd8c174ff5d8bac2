// The executor through sessions: values crossing plugins and devices, copy
// streams, zero-copy, in-place planning, tracing and teardown, under
// concurrent runs.
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

#include "session_test_util.hpp"

using namespace hxrt_test;

namespace {

// Runs chain_model's session from two threads, `runs` requests each, with
// inputs seeded from `seed`; returns how many outputs differ from the reference.
int chain_mismatches_from_two_threads(hxrt::host::Session& session, int runs, unsigned seed) {
  const size_t n = 64 * 64;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < runs; ++r) {
        unsigned s = seed + 100 * t + static_cast<unsigned>(r);
        auto a = random_values(n, s), c = random_values(n, s + 50);
        std::vector<float> y(n, -1.0f);
        session.run(std::vector<const void*>{a.data(), c.data()}, std::vector<void*>{y.data()});
        auto ref = chain_reference(a, c);
        for (size_t i = 0; i < n; ++i)
          if (std::fabs(y[i] - ref[i]) > 1e-5) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  return failures.load();
}

}  // namespace

TEST(Executor, ValuesCrossPluginsCorrectly) {
  hxrt::host::Environment env(only_plugins({plugin_dir() + "/libhxrt_cpu.so", std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so"}));
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

TEST(Executor, TraceCoversEveryActionInStreamOrder) {
  hxrt::host::Environment env(only_plugins({plugin_dir() + "/libhxrt_cpu.so", std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so"}));
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

TEST(Executor, ConcurrentRunsWithChunkedCrossPluginCopies) {
  hxrt::host::Environment env(only_plugins({plugin_dir() + "/libhxrt_cpu.so", std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so"}));
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

// Copy streams, zero-copy and in-place change how a run moves and keeps data,
// never its results: every combination, with three runs in flight from three
// threads, across two plugins (the template plugin has no buffer_wrap_host_memory,
// like a 1.1 plugin, so its side always copies).
TEST(Executor, ExecutorOptionsKeepResultsUnderConcurrency) {
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
TEST(Executor, ElementwiseChainRunsInPlace) {
  hxrt::host::Environment env(only_plugins({plugin_dir() + "/libhxrt_cpu.so"}));
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

// Every run context has up to three streams per device (compute, upload,
// download); tearing a session down drains each with its own device's plugin
// and reports nothing (a stream handed to the wrong plugin would be an error).
TEST(Executor, TeardownDrainsEveryStreamWithItsOwnPlugin) {
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
TEST(Executor, OpenClZeroCopyWithAlignedAndUnalignedBuffers) {
  std::string path = plugin_dir() + "/libhxrt_opencl.so";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no OpenCL plugin in this build";
  hxrt::host::Environment env(only_plugins({path}));
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
TEST(Executor, TraceMarksZeroCopyTransfers) {
  hxrt::host::Environment env(only_plugins({plugin_dir() + "/libhxrt_cpu.so"}));
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

// Two PoCL devices (POCL_DEVICES) and the CPU plugin: a value passing between
// the OpenCL devices is a peer copy on the receiver's copy-in stream; values
// crossing to the CPU plugin make the host wait, so each device's actions are
// enqueued by their own thread. Results match the reference with two runs in
// flight from two threads, and the trace shows each copy on its copy stream.
TEST(Executor, PeerCopiesAndCrossingsOnCopyStreamsAcrossThreeDevices) {
  std::string path = plugin_dir() + "/libhxrt_opencl.so";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no OpenCL plugin in this build";
  // PoCL reads this once per process: under ctest every test has its own process.
  setenv("POCL_DEVICES", "pthread pthread", /*overwrite=*/0);
  hxrt::host::Environment env(only_plugins({path, plugin_dir() + "/libhxrt_cpu.so"}));
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

  EXPECT_EQ(chain_mismatches_from_two_threads(session, 8, 100), 0);

  const size_t n = 64 * 64;

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
TEST(Executor, CrossingsBetweenTwoCpuTypeDevicesMatchWithAndWithoutZeroCopy) {
  std::string opencl = plugin_dir() + "/libhxrt_opencl.so", vulkan = plugin_dir() + "/libhxrt_vulkan.so";
  if (!std::filesystem::exists(opencl) || !std::filesystem::exists(vulkan))
    GTEST_SKIP() << "needs the OpenCL and Vulkan plugins in this build";
  hxrt::host::Environment env(only_plugins({opencl, vulkan}));
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
    EXPECT_EQ(chain_mismatches_from_two_threads(session, 4, 300), 0) << "zero_copy " << zero_copy;
  }
}
