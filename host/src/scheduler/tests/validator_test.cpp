// The validator rejects each kind of violation; memory limits make the schedule spill.
#include "scheduler/schedule.hpp"
#include "test_support.hpp"

namespace hxrt::sched {
namespace {

using testing::valid;

Instance chain3() {
  // a -> b -> c, two devices; device 1 twice as fast, transfers 10 ns + 1 ns/byte.
  Instance inst;
  inst.devices = {{"cpu", "cpu", "cpu", kInf}, {"gpu", "vk", "gpu", kInf}};
  inst.tasks = {{"a", "", {20, 10}, 0, 4}, {"b", "", {20, 10}, 0, 4}, {"c", "", {20, 10}, 0, 4}};
  inst.edges = {{0, 1, 4}, {1, 2, 4}};
  set_uniform_links(inst, Link{10, 1});
  inst.finalize();
  return inst;
}

bool mentions(const std::vector<std::string>& errors, const std::string& what) {
  for (const auto& e : errors)
    if (e.find(what) != std::string::npos) return true;
  return false;
}

TEST(Validator, AcceptsACorrectScheduleAndCatchesEachViolation) {
  const Instance inst = chain3();
  Schedule s = simulate(inst, {0, 1, 1}, inst.topo_order);
  // a on cpu 0-20, transfer 14 -> b on gpu 34-44, c 44-54.
  EXPECT_DOUBLE_EQ(s.makespan, 54);
  ASSERT_TRUE(valid(inst, s));

  Schedule early = s;  // b before its input arrives
  early.start[1] -= 5, early.finish[1] -= 5, early.start[2] -= 5, early.finish[2] -= 5, early.makespan -= 5;
  EXPECT_TRUE(mentions(validate(inst, early), "before its input"));

  Schedule overlap = simulate(inst, {0, 0, 0}, inst.topo_order);
  overlap.start[1] = 10, overlap.finish[1] = 30;  // also precedence, but overlap must be reported
  EXPECT_TRUE(mentions(validate(inst, overlap), "overlap"));

  Schedule wrong_duration = s;
  wrong_duration.finish[2] += 1, wrong_duration.makespan += 1;
  EXPECT_TRUE(mentions(validate(inst, wrong_duration), "its cost is"));

  Schedule wrong_makespan = s;
  wrong_makespan.makespan = 40;
  EXPECT_TRUE(mentions(validate(inst, wrong_makespan), "makespan"));

  Instance unsupported = chain3();
  unsupported.tasks[1].cost_ns[1] = kInf;
  unsupported.finalize();
  EXPECT_TRUE(mentions(validate(unsupported, s), "does not support"));

  Instance small = chain3();
  small.devices[1].memory_bytes = 7;  // b's and c's outputs (4 + 4) are live together at c's start
  small.finalize();
  EXPECT_TRUE(mentions(validate(small, s), "peaks at"));
  small.devices[1].memory_bytes = 8;
  small.finalize();
  EXPECT_TRUE(valid(small, s));
}

TEST(Validator, MemoryPeaksFollowTheModel) {
  const Instance inst = chain3();
  const Schedule s = simulate(inst, {0, 1, 1}, inst.topo_order);
  const std::vector<double> peaks = memory_peaks(inst, s);
  // cpu: a's output lives 0..34 (until sent); gpu: a's copy 20..44, b's 34..54, c's 44..54 (graph output).
  EXPECT_DOUBLE_EQ(peaks[0], 4);
  EXPECT_DOUBLE_EQ(peaks[1], 8);
}

TEST(Memory, GraphTooBigForTheFastDeviceSpills) {
  // 12 independent-ish layers with 100 MB weights; the fast device holds 500 MB.
  RandomDagParams p;
  p.v = 12, p.q = 2, p.alpha = 0.5, p.ccr = 0.1, p.seed = 3;
  Instance inst = random_dag(p);
  for (auto& t : inst.tasks) {
    t.cost_ns[1] = t.cost_ns[0] / 10;  // device 1 ten times faster
    t.weight_bytes = 100e6;
    t.output_bytes = 1e6;
  }
  inst.devices[1].memory_bytes = 500e6;
  inst.finalize();
  Options opt;
  opt.time_budget_ms = 1e9;
  const Result r = schedule(inst, opt);
  ASSERT_TRUE(valid(inst, r.best));
  int on_fast = 0;
  for (int d : r.best.device) on_fast += d == 1;
  EXPECT_GE(on_fast, 1);  // it uses the fast device ...
  EXPECT_LE(on_fast, 4);  // ... as far as its memory allows (weights 100 MB each, plus activations)
  // Every greedy candidate keeps the resident weights within capacity (activations
  // are the refinement's and the repair's job).
  for (const Schedule& c : r.candidates) {
    EXPECT_TRUE(valid(inst, c, false)) << c.algorithm;
    double weights = 0;
    for (int t = 0; t < inst.num_tasks(); ++t) weights += c.device[t] == 1 ? inst.tasks[t].weight_bytes : 0;
    EXPECT_LE(weights, 500e6) << c.algorithm;
  }
  // Without refinement the repair alone must still make it fit.
  opt.refine = false;
  EXPECT_TRUE(valid(inst, schedule(inst, opt).best));
}

TEST(Validator, TransfersListEachCrossDeviceEdge) {
  const Instance inst = chain3();
  const Schedule s = simulate(inst, {0, 1, 1}, inst.topo_order);
  const auto transfers = s.transfers(inst);
  ASSERT_EQ(transfers.size(), 1u);
  EXPECT_EQ(transfers[0].edge, 0);
  EXPECT_DOUBLE_EQ(transfers[0].start, 20);
  EXPECT_DOUBLE_EQ(transfers[0].finish, 34);
}

}  // namespace
}  // namespace hxrt::sched
