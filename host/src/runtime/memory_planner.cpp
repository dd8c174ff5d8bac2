#include "memory_planner.hpp"

#include <algorithm>
#include <numeric>

namespace hxrt::host {
namespace {

uint64_t align_up(uint64_t value, uint64_t alignment) { return (value + alignment - 1) / alignment * alignment; }

bool lifetimes_overlap(const TensorLifetime& a, const TensorLifetime& b) {
  return a.first_use <= b.last_use && b.first_use <= a.last_use;
}

}  // namespace

MemoryPlan plan_memory_offsets(const std::vector<TensorLifetime>& tensors, uint64_t alignment) {
  MemoryPlan plan;
  plan.offsets.assign(tensors.size(), 0);
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return tensors[a].size_bytes > tensors[b].size_bytes; });
  struct Placed {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Placed> placed;  // kept sorted by offset
  for (size_t index : order) {
    const TensorLifetime& t = tensors[index];
    plan.naive_bytes += align_up(t.size_bytes, alignment);
    uint64_t size = align_up(std::max<uint64_t>(t.size_bytes, 1), alignment);
    // Lowest gap between tensors live at the same time that fits `size`.
    uint64_t offset = 0;
    for (const Placed& p : placed) {
      if (!lifetimes_overlap(tensors[p.index], t)) continue;
      if (offset + size <= p.begin) break;
      offset = std::max(offset, p.end);
    }
    plan.offsets[index] = offset;
    placed.push_back({offset, offset + size, index});
    std::sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) { return a.begin < b.begin; });
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
  }
  return plan;
}

std::string validate_memory_plan(const std::vector<TensorLifetime>& tensors, const MemoryPlan& plan) {
  if (plan.offsets.size() != tensors.size()) return "plan has a different number of tensors";
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (plan.offsets[i] + tensors[i].size_bytes > plan.arena_bytes)
      return "tensor " + std::to_string(i) + " extends past the arena";
    for (size_t j = i + 1; j < tensors.size(); ++j) {
      if (!lifetimes_overlap(tensors[i], tensors[j]) || tensors[i].size_bytes == 0 || tensors[j].size_bytes == 0)
        continue;
      bool disjoint = plan.offsets[i] + tensors[i].size_bytes <= plan.offsets[j] ||
                      plan.offsets[j] + tensors[j].size_bytes <= plan.offsets[i];
      if (!disjoint) return "tensors " + std::to_string(i) + " and " + std::to_string(j) + " are live together and share bytes";
    }
  }
  return {};
}

}  // namespace hxrt::host
