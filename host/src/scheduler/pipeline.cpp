#include "scheduler/pipeline.hpp"

#include <algorithm>
#include <stdexcept>

namespace hxrt::sched {

namespace {

// The slowest link into `to` from any device in `mask`, as latency and seconds per byte.
struct Worst {
  double latency = 0, per_byte = 0;
};

Worst worst_link(const Instance& inst, unsigned mask, int to) {
  Worst w;
  for (int s = 0; s < inst.num_devices(); ++s) {
    if (!(mask >> s & 1u) || s == to) continue;
    const Link& l = inst.link(s, to);
    w.latency = std::max(w.latency, l.latency_ns);
    w.per_byte = std::max(w.per_byte, l.bytes_per_ns == kInf ? 0.0 : 1.0 / l.bytes_per_ns);
  }
  return w;
}

}  // namespace

double pipeline_period(const Instance& inst, const std::vector<int>& order, const std::vector<int>& stage_of_task,
                       const std::vector<int>& stage_device, std::vector<double>* stage_ns) {
  const int stages = static_cast<int>(stage_device.size());
  std::vector<double> time(stages, 0);
  std::vector<int> pos(inst.num_tasks());
  for (size_t i = 0; i < order.size(); ++i) pos[order[i]] = static_cast<int>(i);
  for (int t = 0; t < inst.num_tasks(); ++t) time[stage_of_task[t]] += inst.cost(t, stage_device[stage_of_task[t]]);
  for (int st = 0; st < stages; ++st) {
    unsigned earlier = 0;
    for (int k = 0; k < st; ++k) earlier |= 1u << stage_device[k];
    const Worst w = worst_link(inst, earlier, stage_device[st]);
    for (const Edge& e : inst.edges)
      if (stage_of_task[e.dst] == st && stage_of_task[e.src] < st) time[st] += w.latency + e.bytes * w.per_byte;
  }
  if (stage_ns) *stage_ns = time;
  return time.empty() ? 0 : *std::max_element(time.begin(), time.end());
}

PipelinePlan pipeline_stages(const Instance& inst, const std::vector<int>& order, int max_blocks) {
  const int n = inst.num_tasks(), q = inst.num_devices();
  if (q > 16) throw std::invalid_argument("pipeline_stages: at most 16 devices");
  if (static_cast<int>(order.size()) != n) throw std::invalid_argument("pipeline_stages: order must list every task");
  PipelinePlan plan;
  if (n == 0) return plan;
  // Cut points: block boundaries over the order.
  const int blocks = std::min(n, std::max(1, max_blocks));
  std::vector<int> bound(blocks + 1);
  for (int b = 0; b <= blocks; ++b) bound[b] = static_cast<int>(static_cast<long long>(n) * b / blocks);
  std::vector<int> pos(n), block_of(n);
  for (int i = 0; i < n; ++i) pos[order[i]] = i;
  for (int b = 0; b < blocks; ++b)
    for (int i = bound[b]; i < bound[b + 1]; ++i) block_of[order[i]] = b;
  // Prefix compute cost per device over blocks, and prefix counts of unsupported ops
  // (infinities would turn differences into NaN).
  std::vector<std::vector<double>> prefix(q, std::vector<double>(blocks + 1, 0));
  std::vector<std::vector<int>> unsupported(q, std::vector<int>(blocks + 1, 0));
  for (int d = 0; d < q; ++d)
    for (int b = 0; b < blocks; ++b) {
      double c = 0;
      int missing = 0;
      for (int i = bound[b]; i < bound[b + 1]; ++i) {
        if (inst.supported(order[i], d)) c += inst.cost(order[i], d);
        else ++missing;
      }
      prefix[d][b + 1] = prefix[d][b] + c;
      unsupported[d][b + 1] = unsupported[d][b] + missing;
    }
  const unsigned full = 1u << q;
  // dp[b][mask]: best period for blocks [0, b) using exactly the devices in mask.
  std::vector<double> dp(static_cast<size_t>(blocks + 1) * full, kInf);
  struct Choice {
    int from = -1, device = -1;
  };
  std::vector<Choice> choice(dp.size());
  dp[0] = 0;
  std::vector<double> in_bytes(blocks + 1), in_count(blocks + 1);
  for (int j = 0; j < blocks; ++j) {
    // Inputs of blocks [j, i) that come from before j, accumulated as i grows.
    double bytes = 0, count = 0;
    for (int i = j + 1; i <= blocks; ++i) {
      for (int k = bound[i - 1]; k < bound[i]; ++k)
        for (int e : inst.in_edges[order[k]])
          if (block_of[inst.edges[e].src] < j) bytes += inst.edges[e].bytes, count += 1;
      in_bytes[i] = bytes, in_count[i] = count;
    }
    for (unsigned mask = 0; mask < full; ++mask) {
      const double before = dp[static_cast<size_t>(j) * full + mask];
      if (before == kInf) continue;
      for (int d = 0; d < q; ++d) {
        if (mask >> d & 1u) continue;
        const Worst w = worst_link(inst, mask, d);
        const unsigned next = mask | 1u << d;
        for (int i = j + 1; i <= blocks; ++i) {
          if (unsupported[d][i] != unsupported[d][j]) break;  // longer stages on d cannot help
          const double compute = prefix[d][i] - prefix[d][j];
          const double stage = compute + in_count[i] * w.latency + in_bytes[i] * w.per_byte;
          const double period = std::max(before, stage);
          double& slot = dp[static_cast<size_t>(i) * full + next];
          if (period < slot) slot = period, choice[static_cast<size_t>(i) * full + next] = {j, d};
        }
      }
    }
  }
  unsigned best_mask = 0;
  for (unsigned mask = 1; mask < full; ++mask)
    if (dp[static_cast<size_t>(blocks) * full + mask] < dp[static_cast<size_t>(blocks) * full + best_mask]) best_mask = mask;
  if (dp[static_cast<size_t>(blocks) * full + best_mask] == kInf) return plan;  // no split runs every op
  // Walk the choices back into stages.
  std::vector<std::pair<int, int>> stages;  // (first block, device), last stage first
  int i = blocks;
  unsigned mask = best_mask;
  while (i > 0) {
    const Choice c = choice[static_cast<size_t>(i) * full + mask];
    stages.push_back({c.from, c.device});
    mask &= ~(1u << c.device);
    i = c.from;
  }
  std::reverse(stages.begin(), stages.end());
  plan.stage_of_task.assign(n, 0);
  for (size_t s = 0; s < stages.size(); ++s) {
    plan.stage_device.push_back(stages[s].second);
    const int end = s + 1 < stages.size() ? stages[s + 1].first : blocks;
    for (int k = bound[stages[s].first]; k < bound[end]; ++k) plan.stage_of_task[order[k]] = static_cast<int>(s);
  }
  plan.period_ns = pipeline_period(inst, order, plan.stage_of_task, plan.stage_device, &plan.stage_ns);
  return plan;
}

}  // namespace hxrt::sched
