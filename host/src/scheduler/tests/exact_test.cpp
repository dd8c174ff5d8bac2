// Branch and bound against brute force, and no heuristic below the optimum.
#include <algorithm>
#include <functional>

#include "scheduler/exact.hpp"
#include "test_support.hpp"

namespace hxrt::sched {
namespace {

using testing::all_schedules;
using testing::valid;

// Brute force: every assignment x every topological order, simulated with
// append-only list scheduling. Independent of the search's pruning.
double brute_force(const Instance& inst) {
  const int n = inst.num_tasks(), q = inst.num_devices();
  double best = kInf;
  std::vector<int> assign(n, 0), order, missing(n);
  for (int t = 0; t < n; ++t) missing[t] = static_cast<int>(inst.in_edges[t].size());
  std::vector<char> used(n, 0);
  std::function<void()> orders = [&]() {
    if (static_cast<int>(order.size()) == n) {
      std::vector<double> fin(n), avail(q, 0);
      double mk = 0;
      for (int t : order) {
        double s = avail[assign[t]];
        for (int e : inst.in_edges[t])
          s = std::max(s, fin[inst.edges[e].src] + inst.comm(e, assign[inst.edges[e].src], assign[t]));
        fin[t] = s + inst.cost(t, assign[t]);
        avail[assign[t]] = fin[t];
        mk = std::max(mk, fin[t]);
      }
      best = std::min(best, mk);
      return;
    }
    for (int t = 0; t < n; ++t) {
      if (used[t] || missing[t]) continue;
      used[t] = 1;
      order.push_back(t);
      for (int e : inst.out_edges[t]) --missing[inst.edges[e].dst];
      orders();
      for (int e : inst.out_edges[t]) ++missing[inst.edges[e].dst];
      order.pop_back();
      used[t] = 0;
    }
  };
  std::function<void(int)> assigns = [&](int t) {
    if (t == n) return orders();
    for (int d = 0; d < q; ++d)
      if (inst.supported(t, d)) assign[t] = d, assigns(t + 1);
  };
  assigns(0);
  return best;
}

TEST(Exact, MatchesBruteForceOnTinyGraphs) {
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    RandomDagParams p;
    p.v = 4 + static_cast<int>(seed % 3);
    p.q = 2 + static_cast<int>(seed % 2);
    p.ccr = std::vector<double>{0.1, 1, 10}[seed % 3];
    p.alpha = seed % 2 ? 0.5 : 2.0;
    p.seed = seed;
    const Instance inst = random_dag(p);
    const ExactResult r = exact_optimum(inst);
    ASSERT_TRUE(r.found && r.proven);
    ASSERT_TRUE(valid(inst, r.schedule));
    EXPECT_NEAR(r.schedule.makespan, brute_force(inst), 1e-9) << "seed " << seed;
  }
}

TEST(Exact, NoHeuristicBeatsTheOptimum) {
  int strictly_worse = 0, total = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    RandomDagParams p;
    p.v = 6 + static_cast<int>(seed % 4);  // 6..9 tasks
    p.q = 3;
    p.ccr = std::vector<double>{0.1, 0.5, 1, 5, 10}[seed % 5];
    p.alpha = std::vector<double>{0.5, 1, 2}[seed % 3];
    p.support = seed % 4 == 0 ? 0.7 : 1.0;
    p.seed = 1000 + seed;
    const Instance inst = random_dag(p);
    const ExactResult r = exact_optimum(inst);
    ASSERT_TRUE(r.found && r.proven) << "seed " << p.seed;
    ASSERT_TRUE(valid(inst, r.schedule));
    Options opt;
    opt.time_budget_ms = 1e9;
    opt.duplicate = false;  // the exact search covers schedules without duplicates (duplication_test.cpp)
    for (const Schedule& s : all_schedules(inst, opt)) {
      ASSERT_TRUE(valid(inst, s));
      EXPECT_GE(s.makespan, r.schedule.makespan * (1 - 1e-9)) << s.algorithm << " seed " << p.seed;
      strictly_worse += s.makespan > r.schedule.makespan * (1 + 1e-9);
      ++total;
    }
    // Seeded with the optimum as upper bound, the search proves nothing shorter exists.
    const ExactResult again = exact_optimum(inst, r.schedule.makespan);
    EXPECT_FALSE(again.found);
    EXPECT_TRUE(again.proven);
  }
  // The check can fail: most heuristic schedules are above the optimum.
  EXPECT_GT(strictly_worse, total / 4);
}

}  // namespace
}  // namespace hxrt::sched
