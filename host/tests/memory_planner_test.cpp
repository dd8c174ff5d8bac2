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

// In place: an element-wise chain x -> a -> b -> c, each op's output taking its
// input's bytes, needs one buffer; the validator accepts exactly the declared pairs.
TEST(MemoryPlanner, InPlaceChainSharesOneBuffer) {
  std::vector<TensorLifetime> tensors = {{4096, 0, 1}, {4096, 1, 2, 0}, {4096, 2, 3, 1}, {4096, 3, 4, 2}};
  MemoryPlan plan = plan_memory_offsets(tensors, 64);
  EXPECT_EQ(validate_memory_plan(tensors, plan), "");
  for (size_t i = 1; i < tensors.size(); ++i) EXPECT_EQ(plan.offsets[i], plan.offsets[0]) << i;
  EXPECT_EQ(plan.arena_bytes, 4096u);
  EXPECT_EQ(plan.naive_bytes, 4 * 4096u);
  // Without the links, outputs and inputs are live together at each op and need two buffers.
  for (auto& t : tensors) t.in_place_of = -1;
  EXPECT_EQ(plan_memory_offsets(tensors, 64).arena_bytes, 2 * 4096u);
}

TEST(MemoryPlanner, ValidatorRejectsInPlaceWhereTheInputLivesOn) {
  // The input is read after the op that would overwrite it: not an in-place pair.
  std::vector<TensorLifetime> tensors = {{100, 0, 3}, {100, 1, 4, 0}};
  MemoryPlan shared{{0, 0}, 256, 512};
  EXPECT_NE(validate_memory_plan(tensors, shared), "");
  // Undeclared sharing is still caught, declared sharing with other sizes too.
  std::vector<TensorLifetime> undeclared = {{100, 0, 1}, {100, 1, 2}};
  EXPECT_NE(validate_memory_plan(undeclared, shared), "");
  std::vector<TensorLifetime> sizes = {{100, 0, 1}, {200, 1, 2, 0}};
  EXPECT_NE(validate_memory_plan(sizes, MemoryPlan{{0, 0}, 256, 512}), "");
  // The planner does not honour an invalid link: it plans the tensors apart.
  MemoryPlan planned = plan_memory_offsets(tensors, 64);
  EXPECT_NE(planned.offsets[0], planned.offsets[1]);
}

TEST(MemoryPlanner, RandomInPlaceChainsNeverShareOtherLiveBytes) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    int steps = 4 + static_cast<int>(rng() % 40);
    std::vector<TensorLifetime> tensors(2 + rng() % 60);
    for (size_t i = 0; i < tensors.size(); ++i) {
      auto& t = tensors[i];
      t.size_bytes = 1 + rng() % 5000;
      t.first_use = static_cast<int>(rng() % steps);
      t.last_use = t.first_use + static_cast<int>(rng() % (steps - t.first_use));
      // Link to an earlier tensor that ends where this one starts, with its size.
      for (size_t j = 0; j < i && rng() % 2 == 0; ++j) {
        bool taken = false;
        for (size_t k = 0; k < i; ++k) taken |= tensors[k].in_place_of == static_cast<int>(j);
        if (!taken && tensors[j].last_use == t.first_use && tensors[j].first_use < t.first_use) {
          t.size_bytes = tensors[j].size_bytes;
          t.in_place_of = static_cast<int>(j);
          break;
        }
      }
    }
    MemoryPlan plan = plan_memory_offsets(tensors, 64);
    ASSERT_EQ(validate_memory_plan(tensors, plan), "") << "trial " << trial;
    for (size_t i = 0; i < tensors.size(); ++i)
      if (tensors[i].in_place_of >= 0) {
        EXPECT_EQ(plan.offsets[i], plan.offsets[tensors[i].in_place_of]);
      }
  }
}
