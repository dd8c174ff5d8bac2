// Memory planning: tensors whose lifetimes do not overlap share bytes of one
// arena per device. Greedy by size (largest first, lowest fitting offset), as
// in TFLite's arena planner: simple, and close to the peak of live bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hxrt::host {

struct TensorLifetime {
  uint64_t size_bytes = 0;
  int first_use = 0;  // inclusive positions in the execution order
  int last_use = 0;
  // In place: the index of a tensor of the same size whose bytes this one
  // takes; that tensor's last use must be this one's first use (the op that
  // reads it and writes this). -1: none.
  int in_place_of = -1;
};

struct MemoryPlan {
  std::vector<uint64_t> offsets;  // one per lifetime, aligned
  uint64_t arena_bytes = 0;       // the arena size the plan needs
  uint64_t naive_bytes = 0;       // one buffer per tensor, for comparison
};

MemoryPlan plan_memory_offsets(const std::vector<TensorLifetime>& tensors, uint64_t alignment = 256);

// Empty when no two tensors that are live at the same time share a byte and
// every tensor lies inside the arena; otherwise names the first conflict. The
// one sharing allowed is a declared in-place pair: same size, same offset, and
// the input's last use is the output's first use.
std::string validate_memory_plan(const std::vector<TensorLifetime>& tensors, const MemoryPlan& plan);

}  // namespace hxrt::host
