#include "scheduler/exact.hpp"

#include <algorithm>
#include <stdexcept>

namespace hxrt::sched {

namespace {

// Depth-first search over semi-active schedules. Every semi-active schedule is
// produced exactly once by adding tasks in order of (start, topological position)
// and appending each to its device: a branch that would start earlier than the
// last added task is skipped, which removes the symmetric interleavings.
class BranchAndBound {
 public:
  BranchAndBound(const Instance& inst, double ub, int64_t limit) : inst_(inst), ub_(ub), limit_(limit) {
    const int n = inst.num_tasks(), q = inst.num_devices();
    dev_.assign(n, -1);
    start_.assign(n, 0);
    finish_.assign(n, 0);
    avail_.assign(q, 0);
    missing_.resize(n);
    minw_.resize(n);
    tail_.assign(n, 0);
    for (int t = 0; t < n; ++t) {
      missing_[t] = static_cast<int>(inst.in_edges[t].size());
      minw_[t] = min_cost(inst, t);
      remaining_work_ += minw_[t];
    }
    // tail_: cheapest path after the task to an exit (transfers free).
    for (auto it = inst.topo_order.rbegin(); it != inst.topo_order.rend(); ++it)
      for (int e : inst.out_edges[*it]) {
        const int s = inst.edges[e].dst;
        tail_[*it] = std::max(tail_[*it], minw_[s] + tail_[s]);
      }
    fin_lb_.resize(n);
  }

  ExactResult run() {
    ExactResult r;
    dfs(0, 0.0, -1, 0.0);
    r.nodes = nodes_;
    r.proven = nodes_ < limit_;
    r.found = found_;
    if (found_) r.schedule = best_;
    return r;
  }

 private:
  const Instance& inst_;
  double ub_;
  int64_t limit_, nodes_ = 0;
  bool found_ = false;
  Schedule best_;
  std::vector<int> dev_, missing_;
  std::vector<double> start_, finish_, avail_, minw_, tail_, fin_lb_;
  double remaining_work_ = 0;
  std::vector<int> order_;

  double arrival(int t, int d) const {
    double ready = 0;
    for (int e : inst_.in_edges[t]) {
      const int u = inst_.edges[e].src;
      ready = std::max(ready, finish_[u] + inst_.comm(e, dev_[u], d));
    }
    return ready;
  }

  double lower_bound(double s_last, double makespan) {
    const int q = inst_.num_devices();
    double lb = makespan, busy = 0;
    for (int d = 0; d < q; ++d) busy += avail_[d];
    lb = std::max(lb, (busy + remaining_work_) / q);
    for (int t : inst_.topo_order) {
      if (dev_[t] >= 0) continue;
      double best = kInf;
      for (int d = 0; d < q; ++d) {
        if (!inst_.supported(t, d)) continue;
        double ready = std::max(s_last, avail_[d]);
        for (int e : inst_.in_edges[t]) {
          const int u = inst_.edges[e].src;
          ready = std::max(ready, dev_[u] >= 0 ? finish_[u] + inst_.comm(e, dev_[u], d) : fin_lb_[u]);
        }
        best = std::min(best, ready + inst_.cost(t, d));
      }
      fin_lb_[t] = best;
      lb = std::max(lb, best + tail_[t]);
    }
    return lb;
  }

  void dfs(int placed, double s_last, int last_task, double makespan) {
    if (++nodes_ >= limit_) return;
    const int n = inst_.num_tasks(), q = inst_.num_devices();
    if (placed == n) {
      if (makespan < ub_) {
        ub_ = makespan;
        found_ = true;
        best_.algorithm = "exact";
        best_.device = dev_;
        best_.start = start_;
        best_.finish = finish_;
        best_.order = order_;
        best_.makespan = makespan;
      }
      return;
    }
    if (lower_bound(s_last, makespan) >= ub_) return;
    struct Branch {
      double finish, start;
      int task, device;
    };
    std::vector<Branch> branches;
    for (int t = 0; t < n; ++t) {
      if (dev_[t] >= 0 || missing_[t] > 0) continue;
      for (int d = 0; d < q; ++d) {
        if (!inst_.supported(t, d)) continue;
        const double s = std::max(avail_[d], arrival(t, d));
        // Canonical order: (start, topological position) must increase.
        if (last_task >= 0 && (s < s_last || (s == s_last && inst_.topo_pos[t] < inst_.topo_pos[last_task])))
          continue;
        branches.push_back({s + inst_.cost(t, d), s, t, d});
      }
    }
    // Earliest finish first finds good schedules early, which tightens the bound.
    std::sort(branches.begin(), branches.end(), [](const Branch& a, const Branch& b) {
      return a.finish != b.finish ? a.finish < b.finish : a.task < b.task;
    });
    for (const Branch& b : branches) {
      if (std::max(makespan, b.finish) >= ub_) continue;
      const double saved_avail = avail_[b.device];
      dev_[b.task] = b.device;
      start_[b.task] = b.start;
      finish_[b.task] = b.finish;
      avail_[b.device] = b.finish;
      remaining_work_ -= minw_[b.task];
      for (int e : inst_.out_edges[b.task]) --missing_[inst_.edges[e].dst];
      order_.push_back(b.task);
      dfs(placed + 1, b.start, b.task, std::max(makespan, b.finish));
      order_.pop_back();
      for (int e : inst_.out_edges[b.task]) ++missing_[inst_.edges[e].dst];
      remaining_work_ += minw_[b.task];
      avail_[b.device] = saved_avail;
      dev_[b.task] = -1;
      if (nodes_ >= limit_) return;
    }
  }
};

}  // namespace

ExactResult exact_optimum(const Instance& instance, double upper_bound, int64_t node_limit) {
  if (instance.num_tasks() > 16) throw std::invalid_argument("exact_optimum: more than 16 tasks");
  return BranchAndBound(instance, upper_bound, node_limit).run();
}

}  // namespace hxrt::sched
