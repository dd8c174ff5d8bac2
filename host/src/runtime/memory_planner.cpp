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

// The tensor whose bytes `i` finally takes, following in-place links; -1 when
// the links are invalid (out of range, a cycle, sizes or lifetimes that do not chain).
int in_place_root(const std::vector<TensorLifetime>& tensors, size_t i) {
  size_t steps = 0;
  while (tensors[i].in_place_of >= 0) {
    size_t j = static_cast<size_t>(tensors[i].in_place_of);
    if (j >= tensors.size() || j == i || ++steps > tensors.size() || tensors[j].size_bytes != tensors[i].size_bytes ||
        tensors[j].last_use != tensors[i].first_use)
      return -1;
    i = j;
  }
  return static_cast<int>(i);
}

MemoryPlan plan_memory_offsets(const std::vector<TensorLifetime>& tensors, uint64_t alignment) {
  // In-place chains are planned as one tensor living from the first one's
  // first use to the last one's last use; all members get its offset.
  std::vector<int> root(tensors.size());
  std::vector<TensorLifetime> merged = tensors;
  bool any = false;
  for (size_t i = 0; i < tensors.size(); ++i) {
    root[i] = in_place_root(tensors, i);
    if (root[i] < 0) root[i] = static_cast<int>(i);  // invalid links: planned alone (the validator says why)
    merged[i].in_place_of = -1;
    any |= root[i] != static_cast<int>(i);
  }
  if (any) {
    std::vector<int> slot(tensors.size(), -1);
    std::vector<TensorLifetime> planned;
    for (size_t i = 0; i < tensors.size(); ++i)
      if (root[i] == static_cast<int>(i)) {
        slot[i] = static_cast<int>(planned.size());
        planned.push_back(merged[i]);
      }
    for (size_t i = 0; i < tensors.size(); ++i) {
      TensorLifetime& r = planned[slot[root[i]]];
      r.first_use = std::min(r.first_use, tensors[i].first_use);
      r.last_use = std::max(r.last_use, tensors[i].last_use);
    }
    MemoryPlan roots_plan = plan_memory_offsets(planned, alignment);
    MemoryPlan plan;
    plan.arena_bytes = roots_plan.arena_bytes;
    for (size_t i = 0; i < tensors.size(); ++i) {
      plan.offsets.push_back(roots_plan.offsets[slot[root[i]]]);
      plan.naive_bytes += align_up(tensors[i].size_bytes, alignment);
    }
    return plan;
  }
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
      auto in_place_pair = [&](size_t in, size_t out) {
        return tensors[out].in_place_of == static_cast<int>(in) && in_place_root(tensors, out) >= 0 &&
               plan.offsets[in] == plan.offsets[out] && tensors[in].last_use == tensors[out].first_use &&
               tensors[in].first_use < tensors[out].first_use;
      };
      if (in_place_pair(i, j) || in_place_pair(j, i)) continue;
      bool disjoint = plan.offsets[i] + tensors[i].size_bytes <= plan.offsets[j] ||
                      plan.offsets[j] + tensors[j].size_bytes <= plan.offsets[i];
      if (!disjoint) return "tensors " + std::to_string(i) + " and " + std::to_string(j) + " are live together and share bytes";
    }
  }
  return {};
}

}  // namespace hxrt::host
