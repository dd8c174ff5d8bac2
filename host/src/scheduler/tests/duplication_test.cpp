// Duplicating a cheap task on a consumer's device instead of transferring its
// output: the validator checks duplicates like tasks, and the scheduler finds
// duplication where it pays.
#include "scheduler/schedule.hpp"
#include "test_support.hpp"

namespace hxrt::sched {
namespace {

using testing::valid;

bool mentions(const std::vector<std::string>& errors, const std::string& what) {
  for (const auto& e : errors)
    if (e.find(what) != std::string::npos) return true;
  return false;
}

// a (cheap everywhere, large output) feeds b, which only device 0 runs, and c,
// which only device 1 runs. A transfer of a's output costs 100 ns; recomputing
// a costs 2 ns.
Instance fork_across_devices() {
  Instance inst;
  inst.devices = {{"d0", "p0", "cpu", kInf}, {"d1", "p1", "gpu", kInf}};
  inst.tasks = {{"a", "", {2, 2}, 0, 100}, {"b", "", {30, kInf}, 0, 4}, {"c", "", {kInf, 30}, 0, 4}};
  inst.edges = {{0, 1, 100}, {0, 2, 100}};
  set_uniform_links(inst, Link{0, 1});
  inst.finalize();
  return inst;
}

TEST(Duplication, RecomputingACheapTaskBeatsTheTransfer) {
  const Instance inst = fork_across_devices();
  Options without;
  without.duplicate = false;
  const Schedule plain = schedule(inst, without).best;
  ASSERT_TRUE(valid(inst, plain));
  EXPECT_TRUE(plain.duplicates.empty());
  EXPECT_DOUBLE_EQ(plain.makespan, 2 + 100 + 30);  // one of b, c waits for the transfer

  const Schedule dup = schedule(inst).best;
  ASSERT_TRUE(valid(inst, dup));
  ASSERT_EQ(dup.duplicates.size(), 1u);
  EXPECT_EQ(dup.duplicates[0].task, 0);
  EXPECT_NE(dup.duplicates[0].device, dup.device[0]);
  EXPECT_DOUBLE_EQ(dup.makespan, 2 + 30);
  EXPECT_TRUE(dup.transfers(inst).empty());  // both consumers read a local instance
}

TEST(Duplication, ValidatorChecksDuplicatesLikeTasks) {
  const Instance inst = fork_across_devices();
  const std::vector<std::vector<int>> on_other{{1}, {}, {}};
  const Schedule s = simulate(inst, {0, 0, 1}, inst.topo_order, "dup", &on_other);
  ASSERT_TRUE(valid(inst, s));
  ASSERT_EQ(s.duplicates.size(), 1u);

  Schedule early = s;  // c starts before any instance of a can reach device 1
  early.duplicates.clear();
  EXPECT_TRUE(mentions(validate(inst, early), "before its input"));

  Schedule twice = s;
  twice.duplicates.push_back(twice.duplicates[0]);
  EXPECT_TRUE(mentions(validate(inst, twice), "runs twice"));

  Schedule overlap = s;  // the duplicate moved onto c's time on device 1
  overlap.duplicates[0].start = s.start[2], overlap.duplicates[0].finish = s.start[2] + 2;
  EXPECT_TRUE(mentions(validate(inst, overlap), "overlap"));

  Instance unsupported = fork_across_devices();
  unsupported.tasks[0].cost_ns[1] = kInf;
  unsupported.finalize();
  EXPECT_TRUE(mentions(validate(unsupported, s), "does not support"));

  Schedule wrong_duration = s;
  wrong_duration.duplicates[0].finish += 1;
  EXPECT_TRUE(mentions(validate(inst, wrong_duration), "its cost is"));
}

TEST(Duplication, DuplicatesCountInMemory) {
  Instance inst = fork_across_devices();
  const std::vector<std::vector<int>> on_other{{1}, {}, {}};
  const Schedule s = simulate(inst, {0, 0, 1}, inst.topo_order, "dup", &on_other);
  // Device 1 holds the duplicate's 100-byte output while c runs and writes 4 bytes.
  EXPECT_DOUBLE_EQ(memory_peaks(inst, s)[1], 104);
  inst.devices[1].memory_bytes = 103;
  inst.finalize();
  EXPECT_TRUE(mentions(validate(inst, s), "peaks at"));
}

TEST(Duplication, RandomGraphSchedulesWithDuplicatesAreValid) {
  int with_duplicates = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    RandomDagParams p;
    p.v = 20 + static_cast<int>(seed % 5) * 10;
    p.q = 4;
    p.ccr = std::vector<double>{1, 5, 10}[seed % 3];
    p.seed = 500 + seed;
    const Instance inst = random_dag(p);
    Options opt;
    opt.time_budget_ms = 1e9;
    opt.max_evaluations = 1500;
    const Result r = schedule(inst, opt);
    ASSERT_TRUE(valid(inst, r.best)) << "seed " << p.seed;
    for (const Schedule& c : r.candidates) EXPECT_LE(r.best.makespan, c.makespan * (1 + 1e-9));
    with_duplicates += !r.best.duplicates.empty();
  }
  // Communication-heavy graphs give duplication something to win; the count is
  // not fixed, but none at all would mean the move never pays.
  EXPECT_GT(with_duplicates, 0);
}

}  // namespace
}  // namespace hxrt::sched
