// The pipeline split against brute force over every cut and device choice.
#include <functional>

#include "scheduler/pipeline.hpp"
#include "test_support.hpp"

namespace hxrt::sched {
namespace {

double brute_force_period(const Instance& inst, const std::vector<int>& order) {
  const int n = inst.num_tasks(), q = inst.num_devices();
  double best = kInf;
  std::vector<int> stage_of(n), devices;
  std::vector<char> used(q, 0);
  // Stage s covers order[start, end); choose end and a fresh device for each.
  std::function<void(int)> go = [&](int start) {
    if (start == n) {
      best = std::min(best, pipeline_period(inst, order, stage_of, devices));
      return;
    }
    for (int d = 0; d < q; ++d) {
      if (used[d]) continue;
      used[d] = 1;
      devices.push_back(d);
      for (int end = start + 1; end <= n; ++end) {
        bool ok = true;
        for (int k = start; k < end; ++k) {
          stage_of[order[k]] = static_cast<int>(devices.size()) - 1;
          ok &= inst.supported(order[k], d);
        }
        if (ok) go(end);
      }
      devices.pop_back();
      used[d] = 0;
    }
  };
  go(0);
  return best;
}

TEST(Pipeline, DynamicProgrammingMatchesBruteForce) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    RandomDagParams p;
    p.v = 3 + static_cast<int>(seed % 6);
    p.q = 2 + static_cast<int>(seed % 3);
    p.ccr = std::vector<double>{0.1, 1, 10}[seed % 3];
    p.support = seed % 4 == 0 ? 0.6 : 1.0;
    p.seed = seed;
    Instance inst = random_dag(p);
    inst.link(0, 1) = Link{3, 0.5};  // make links differ so the worst-link charge matters
    inst.finalize();
    const PipelinePlan plan = pipeline_stages(inst, inst.topo_order);
    ASSERT_LT(plan.period_ns, kInf);
    EXPECT_NEAR(plan.period_ns, brute_force_period(inst, inst.topo_order), 1e-9) << "seed " << seed;
    // Stages are contiguous in the order, on distinct devices that run their ops.
    int last = 0;
    for (int t : inst.topo_order) {
      EXPECT_GE(plan.stage_of_task[t], last);
      last = plan.stage_of_task[t];
      EXPECT_TRUE(inst.supported(t, plan.stage_device[plan.stage_of_task[t]]));
    }
    std::vector<int> devs = plan.stage_device;
    std::sort(devs.begin(), devs.end());
    EXPECT_EQ(std::unique(devs.begin(), devs.end()), devs.end());
  }
}

TEST(Pipeline, SplitsAChainAcrossEqualDevicesToRaiseThroughput) {
  // 8 equal ops in a chain, 4 equal devices, free transfers: 4 stages of 2 ops.
  Instance inst;
  for (int d = 0; d < 4; ++d) inst.devices.push_back({"d" + std::to_string(d), "p", "other", kInf});
  for (int t = 0; t < 8; ++t) inst.tasks.push_back({"t", "", {10, 10, 10, 10}, 0, 0});
  for (int t = 0; t + 1 < 8; ++t) inst.edges.push_back({t, t + 1, 0});
  set_uniform_links(inst, Link{0, kInf});
  inst.finalize();
  const PipelinePlan plan = pipeline_stages(inst, inst.topo_order);
  EXPECT_DOUBLE_EQ(plan.period_ns, 20);
  EXPECT_EQ(plan.stage_device.size(), 4u);
  // With blocks coarser than ops the split can only be as good or worse.
  EXPECT_GE(pipeline_stages(inst, inst.topo_order, 3).period_ns, plan.period_ns);
}

}  // namespace
}  // namespace hxrt::sched
