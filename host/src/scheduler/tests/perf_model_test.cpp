// The measured-cost model: means, transfer fits, persistence, overriding estimates.
#include <gtest/gtest.h>

#include <filesystem>

#include "scheduler/perf_model.hpp"

namespace hxrt::sched {
namespace {

TEST(PerfModel, MeansPerDeviceOpAndSignature) {
  PerfModel m;
  m.record("cpu", "Conv", "f32[1,3,8,8]", 100);
  m.record("cpu", "Conv", "f32[1,3,8,8]", 300);
  m.record("cpu", "Conv", "f32[1,3,16,16]", 900);
  m.record("cpu", "Conv", "f32[1,3,8,8]", -5);  // ignored
  EXPECT_DOUBLE_EQ(*m.cost("cpu", "Conv", "f32[1,3,8,8]"), 200);
  EXPECT_EQ(m.samples("cpu", "Conv", "f32[1,3,8,8]"), 2);
  EXPECT_DOUBLE_EQ(*m.cost("cpu", "Conv", "f32[1,3,16,16]"), 900);
  EXPECT_FALSE(m.cost("gpu", "Conv", "f32[1,3,8,8]").has_value());
}

TEST(PerfModel, TransferFitRecoversLatencyAndBandwidth) {
  PerfModel m;
  for (double bytes : {1e3, 1e5, 1e6, 4e6}) m.record_transfer("cpu", "gpu", bytes, 5000 + bytes / 8);
  const auto link = m.transfer("cpu", "gpu");
  ASSERT_TRUE(link.has_value());
  EXPECT_NEAR(link->latency_ns, 5000, 1e-3);
  EXPECT_NEAR(link->bytes_per_ns, 8, 1e-9);
  m.record_transfer("gpu", "cpu", 1e3, 10);  // one size only: no fit
  EXPECT_FALSE(m.transfer("gpu", "cpu").has_value());
}

TEST(PerfModel, PersistsAndOverridesEstimates) {
  PerfModel m;
  m.record("gpu", "Relu", "f32[4]", 42);
  for (double bytes : {0.0, 1e6}) m.record_transfer("cpu", "gpu", bytes, 1000 + bytes / 2);
  const auto path = std::filesystem::temp_directory_path() / "hxrt_perf_model_test.json";
  m.save(path.string());
  const PerfModel back = PerfModel::load(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(back.to_json(), m.to_json());

  Instance inst;
  inst.devices = {{"cpu", "cpu", "cpu", kInf}, {"gpu", "vk", "gpu", kInf}};
  inst.tasks = {{"a", "Relu", {10, 99}, 0, 0}, {"b", "Relu", {10, kInf}, 0, 0}};
  set_uniform_links(inst, Link{0, 1});
  inst.finalize();
  EXPECT_EQ(back.apply(inst, {"f32[4]", "f32[4]"}), 1);  // b stays unsupported on gpu
  EXPECT_DOUBLE_EQ(inst.cost(0, 1), 42);
  EXPECT_EQ(inst.cost(1, 1), kInf);
  EXPECT_NEAR(inst.link(0, 1).latency_ns, 1000, 1e-6);
  EXPECT_DOUBLE_EQ(inst.link(1, 0).latency_ns, 0);  // not measured: unchanged
  EXPECT_THROW(PerfModel::from_json("{\"format\":\"x\"}"), std::invalid_argument);
  EXPECT_THROW(PerfModel::from_json("not json"), std::invalid_argument);
  EXPECT_TRUE(PerfModel::load("/nonexistent/hxrt/model.json").to_json().find("\"ops\": []") != std::string::npos);
}

}  // namespace
}  // namespace hxrt::sched
