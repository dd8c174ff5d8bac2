// The memory planner against its validator on random lifetimes, and against
// a lower bound: the arena is never smaller than the most bytes live at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "memory_planner.hpp"

using namespace hxrt::host;

TEST(MemoryPlanner, RandomLifetimesNeverShareLiveBytes) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    int steps = 1 + static_cast<int>(rng() % 60);
    std::vector<TensorLifetime> tensors(1 + rng() % 80);
    for (auto& t : tensors) {
      t.size_bytes = rng() % 5 == 0 ? 0 : 1 + rng() % 100000;
      t.first_use = static_cast<int>(rng() % steps);
      t.last_use = t.first_use + static_cast<int>(rng() % (steps - t.first_use));
    }
    MemoryPlan plan = plan_memory_offsets(tensors, 64);
    ASSERT_EQ(validate_memory_plan(tensors, plan), "") << "trial " << trial;
    uint64_t peak_live = 0;
    for (int s = 0; s < steps; ++s) {
      uint64_t live = 0;
      for (const auto& t : tensors)
        if (t.first_use <= s && s <= t.last_use) live += t.size_bytes;
      peak_live = std::max(peak_live, live);
    }
    EXPECT_GE(plan.arena_bytes, peak_live);
    EXPECT_LE(plan.arena_bytes, plan.naive_bytes + 64 * tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) EXPECT_EQ(plan.offsets[i] % 64, 0u);
  }
}

TEST(MemoryPlanner, ValidatorCatchesOverlap) {
  std::vector<TensorLifetime> tensors = {{100, 0, 3}, {100, 2, 5}};
  MemoryPlan bad{{0, 50}, 256, 256};
  EXPECT_NE(validate_memory_plan(tensors, bad), "");
  MemoryPlan good = plan_memory_offsets(tensors, 64);
  EXPECT_EQ(validate_memory_plan(tensors, good), "");
}

TEST(MemoryPlanner, ChainReusesMemory) {
  // a -> b -> c -> d: each tensor lives two steps; two slots suffice.
  std::vector<TensorLifetime> chain;
  for (int i = 0; i < 10; ++i) chain.push_back({1024, i, i + 1});
  MemoryPlan plan = plan_memory_offsets(chain, 64);
  EXPECT_EQ(plan.arena_bytes, 2048u);
  EXPECT_EQ(plan.naive_bytes, 10240u);
}
