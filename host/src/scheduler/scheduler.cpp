#include "scheduler/scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include "scheduler/heuristics.hpp"

namespace hxrt::sched {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Fitting in memory first, then makespan.
struct Score {
  double overflow = 0, makespan = 0;
  bool better_than(const Score& o) const {
    if (overflow != o.overflow) return overflow < o.overflow;
    return makespan < o.makespan * (1 - 1e-12);
  }
  bool worse_than(const Score& o) const { return o.better_than(*this); }
};

Score score(const Instance& inst, const Schedule& s) { return {memory_overflow(inst, s), s.makespan}; }

class LocalSearch {
 public:
  LocalSearch(const Instance& inst, const Options& opt, Clock::time_point deadline_base)
      : inst_(inst), opt_(opt), t0_(deadline_base), rng_(opt.seed), ls_(inst) {}

  Schedule run(const Schedule& from, int* evaluations) {
    assign_ = from.device;
    order_ = from.order;
    dup_ = duplicates_of(from);
    cur_ = from;
    cur_score_ = score(inst_, cur_);
    best_ = cur_;
    best_score_ = cur_score_;
    crit_ = critical_path(inst_, cur_);
    const int n = inst_.num_tasks();
    if (n == 0 || inst_.num_devices() < 2) return best_;
    // Without an improvement in this many tries, perturb the best and search again.
    const int stall_limit = std::max(40, std::min(4 * n, 400));
    int stall = 0;
    bool reordered = false;
    while (evals_ < opt_.max_evaluations && ms_since(t0_) < opt_.time_budget_ms) {
      std::vector<int> cand = assign_;
      std::vector<int> cand_order = order_;
      std::vector<std::vector<int>> cand_dup = dup_;
      const int kind = static_cast<int>(uniform(100));
      bool changed;
      if (kind < 27) changed = move_single(cand);
      else if (kind < 40) changed = pull_to_neighbour(cand);
      else if (kind < 58) changed = move_cluster(cand);
      else if (kind < 70) changed = swap(cand);
      else if (kind < 80) changed = opt_.duplicate && duplicate(cand, cand_dup);
      else if (kind < 83) changed = unduplicate(cand_dup);
      else if (kind < 95) changed = promote(cand_order);
      else {
        if (reordered) continue;
        cand_order = assignment_order(inst_, cand);
        reordered = changed = true;
      }
      if (!changed) {
        ++stall;
        if (stall > stall_limit) perturb(stall, reordered);
        continue;
      }
      Schedule s = evaluate(cand, cand_order, cand_dup);
      const Score sc = score(inst_, s);
      if (!sc.worse_than(cur_score_)) {
        const bool improved = sc.better_than(cur_score_);
        accept(std::move(cand), std::move(cand_order), std::move(s), sc);
        if (improved) stall = 0, reordered = false;
        else ++stall;
      } else {
        ++stall;
      }
      if (stall > stall_limit) perturb(stall, reordered);
    }
    if (evaluations) *evaluations += evals_;
    best_.algorithm = "hxrt";
    return best_;
  }

 private:
  const Instance& inst_;
  const Options& opt_;
  Clock::time_point t0_;
  std::mt19937_64 rng_;
  ListScheduler ls_;  // reused across evaluations: its buffers stay allocated
  std::vector<int> assign_, order_, crit_, pos_;
  std::vector<std::vector<int>> dup_;  // per task: devices it is duplicated on
  Schedule cur_, best_;
  Score cur_score_, best_score_;
  int evals_ = 0;

  uint64_t uniform(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  static std::vector<std::vector<int>> duplicates_of(const Schedule& s) {
    std::vector<std::vector<int>> dup(s.device.size());
    for (const auto& d : s.duplicates) dup[d.task].push_back(d.device);
    return dup;
  }

  Schedule evaluate(const std::vector<int>& a, const std::vector<int>& order,
                    const std::vector<std::vector<int>>& dup) {
    ++evals_;
    ls_.reset();
    for (int t : order) {
      ls_.place(t, a[t], ls_.earliest_start(t, a[t]));
      for (int d : dup[t])
        if (d != a[t] && has_consumer_on(t, d, a)) ls_.place_duplicate(t, d, ls_.earliest_start(t, d));
    }
    return ls_.take("hxrt", order);
  }

  // A duplicate only pays where one of the task's consumers runs.
  bool has_consumer_on(int t, int device, const std::vector<int>& a) const {
    for (int e : inst_.out_edges[t])
      if (a[inst_.edges[e].dst] == device) return true;
    return false;
  }

  void accept(std::vector<int> a, std::vector<int> order, Schedule s, Score sc) {
    assign_ = std::move(a);
    order_ = std::move(order);
    dup_ = duplicates_of(s);  // only the duplicates that were placed
    cur_ = std::move(s);
    cur_score_ = sc;
    crit_ = critical_path(inst_, cur_);
    if (cur_score_.better_than(best_score_)) {
      best_ = cur_;
      best_score_ = cur_score_;
    }
  }

  // Mostly tasks on the critical path: only they can shorten the makespan directly.
  int pick_task() {
    if (!crit_.empty() && uniform(10) < 8) return crit_[uniform(crit_.size())];
    return static_cast<int>(uniform(inst_.num_tasks()));
  }

  int other_device(int task, int current) {
    const int q = inst_.num_devices();
    int options = 0;
    for (int d = 0; d < q; ++d) options += d != current && inst_.supported(task, d);
    if (options == 0) return -1;
    int k = static_cast<int>(uniform(options));
    for (int d = 0; d < q; ++d)
      if (d != current && inst_.supported(task, d) && k-- == 0) return d;
    return -1;
  }

  bool move_single(std::vector<int>& a) {
    const int t = pick_task();
    const int d = other_device(t, a[t]);
    if (d < 0) return false;
    a[t] = d;
    return true;
  }

  // Moves a task next to the neighbour it exchanges the costliest transfer with.
  bool pull_to_neighbour(std::vector<int>& a) {
    const int t = pick_task();
    int target = -1;
    double heaviest = -1;
    auto consider = [&](int e, int other) {
      if (a[other] == a[t] || !inst_.supported(t, a[other])) return;
      const double c = inst_.comm(e, a[t], a[other]);
      if (c > heaviest) heaviest = c, target = a[other];
    };
    for (int e : inst_.in_edges[t]) consider(e, inst_.edges[e].src);
    for (int e : inst_.out_edges[t]) consider(e, inst_.edges[e].dst);
    if (target < 0) return false;
    a[t] = target;
    return true;
  }

  // A connected group of tasks sharing a device moves together, so transfers
  // inside it stay free (single moves cannot cross that valley at high CCR).
  bool move_cluster(std::vector<int>& a) {
    const int t = pick_task();
    const int from = a[t];
    const size_t limit = 2 + uniform(7);
    std::vector<int> cluster{t};
    std::vector<char> in(inst_.num_tasks(), 0);
    in[t] = 1;
    for (size_t i = 0; i < cluster.size() && cluster.size() < limit; ++i) {
      const int u = cluster[i];
      auto grow = [&](int v) {
        if (!in[v] && a[v] == from && cluster.size() < limit) in[v] = 1, cluster.push_back(v);
      };
      for (int e : inst_.in_edges[u]) grow(inst_.edges[e].src);
      for (int e : inst_.out_edges[u]) grow(inst_.edges[e].dst);
    }
    const int d = other_device(t, from);
    if (d < 0) return false;
    bool any = false;
    for (int u : cluster)
      if (inst_.supported(u, d)) a[u] = d, any = true;
    return any;
  }

  // Moves a critical task earlier in the priority order (still after all its
  // predecessors), so it claims its device's time before tasks that can wait.
  bool promote(std::vector<int>& order) {
    if (crit_.empty()) return false;
    const int t = crit_[uniform(crit_.size())];
    if (pos_.size() != order.size()) pos_.resize(order.size());
    for (size_t i = 0; i < order.size(); ++i) pos_[order[i]] = static_cast<int>(i);
    int lowest = -1;
    for (int e : inst_.in_edges[t]) lowest = std::max(lowest, pos_[inst_.edges[e].src]);
    const int at = pos_[t];
    if (at - lowest <= 1) return false;
    const int to = lowest + 1 + static_cast<int>(uniform(at - lowest - 1));
    std::rotate(order.begin() + to, order.begin() + at, order.begin() + at + 1);
    return true;
  }

  // Recomputes a task on a consumer's device where the transfer there costs
  // more than running the task again (cheap ops with large outputs).
  bool duplicate(const std::vector<int>& a, std::vector<std::vector<int>>& dup) {
    const int t = pick_task();
    int chosen = -1, seen = 0;
    for (int e : inst_.out_edges[t]) {
      const int d = a[inst_.edges[e].dst];
      if (d == a[t] || !inst_.supported(t, d) || inst_.comm(e, a[t], d) <= inst_.cost(t, d)) continue;
      if (std::find(dup[t].begin(), dup[t].end(), d) != dup[t].end()) continue;
      if (uniform(++seen) == 0) chosen = d;  // uniform among the candidates
    }
    if (chosen < 0) return false;
    dup[t].push_back(chosen);
    return true;
  }

  bool unduplicate(std::vector<std::vector<int>>& dup) {
    std::vector<int> with;
    for (size_t t = 0; t < dup.size(); ++t)
      if (!dup[t].empty()) with.push_back(static_cast<int>(t));
    if (with.empty()) return false;
    auto& list = dup[with[uniform(with.size())]];
    list.erase(list.begin() + static_cast<long>(uniform(list.size())));
    return true;
  }

  bool swap(std::vector<int>& a) {
    const int t = pick_task();
    for (int tries = 0; tries < 8; ++tries) {
      const int x = static_cast<int>(uniform(inst_.num_tasks()));
      if (a[x] == a[t] || !inst_.supported(t, a[x]) || !inst_.supported(x, a[t])) continue;
      std::swap(a[t], a[x]);
      return true;
    }
    return false;
  }

  // Iterated local search: restart from the best with a few random moves.
  void perturb(int& stall, bool& reordered) {
    stall = 0;
    reordered = false;
    std::vector<int> a = best_.device;
    crit_ = critical_path(inst_, best_);
    const int k = 2 + static_cast<int>(uniform(3));
    for (int i = 0; i < k; ++i) {
      if (uniform(2)) move_cluster(a);
      else move_single(a);
    }
    std::vector<int> order = best_.order;
    std::vector<std::vector<int>> dup = duplicates_of(best_);
    Schedule s = evaluate(a, order, dup);
    const Score sc = score(inst_, s);
    assign_ = std::move(a);
    order_ = std::move(order);
    dup_ = duplicates_of(s);
    cur_ = std::move(s);
    cur_score_ = sc;
    crit_ = critical_path(inst_, cur_);
    if (cur_score_.better_than(best_score_)) best_ = cur_, best_score_ = cur_score_;
  }
};

// Moves tasks off devices that overflow, heaviest first, to the device with the
// most room that runs them fastest, until everything fits or nothing helps.
Schedule repair_memory(const Instance& inst, Schedule s) {
  const int q = inst.num_devices();
  for (int round = 0; round < inst.num_tasks(); ++round) {
    const std::vector<double> peaks = memory_peaks(inst, s);
    int worst = -1;
    for (int d = 0; d < q; ++d)
      if (peaks[d] > inst.devices[d].memory_bytes && (worst < 0 || peaks[d] - inst.devices[d].memory_bytes >
                                                                      peaks[worst] - inst.devices[worst].memory_bytes))
        worst = d;
    if (worst < 0) break;
    int victim = -1, target = -1;
    for (int t = 0; t < inst.num_tasks(); ++t) {
      if (s.device[t] != worst) continue;
      const double bytes = inst.tasks[t].weight_bytes + inst.tasks[t].output_bytes;
      if (victim >= 0 && bytes <= inst.tasks[victim].weight_bytes + inst.tasks[victim].output_bytes) continue;
      int best = -1;
      for (int d = 0; d < q; ++d)
        if (d != worst && inst.supported(t, d) && peaks[d] + bytes <= inst.devices[d].memory_bytes &&
            (best < 0 || inst.cost(t, d) < inst.cost(t, best)))
          best = d;
      if (best >= 0) victim = t, target = best;
    }
    if (victim < 0) break;
    std::vector<int> a = s.device;
    a[victim] = target;
    s = simulate(inst, a, assignment_order(inst, a), s.algorithm);
  }
  return s;
}

}  // namespace

double auto_time_budget_ms(int tasks) {
  if (tasks <= 10000) return 40;
  return std::min(900.0, 40 + (tasks - 10000) * (860.0 / 90000));
}

static Options resolved(const Instance& instance, Options options) {
  if (options.time_budget_ms < 0) options.time_budget_ms = auto_time_budget_ms(instance.num_tasks());
  return options;
}

Schedule refine(const Instance& instance, const Schedule& start, const Options& given, int* evaluations) {
  const Options options = resolved(instance, given);
  LocalSearch search(instance, options, Clock::now());
  return search.run(start, evaluations);
}

Result schedule(const Instance& instance, const Options& given) {
  const auto t0 = Clock::now();
  const Options options = resolved(instance, given);
  Result result;
  result.candidates.push_back(heft(instance));
  result.candidates.push_back(peft(instance));
  result.candidates.push_back(best_single_device(instance));
  result.candidates.push_back(online_eft(instance));
  result.candidates.push_back(heft_reranked(instance, result.candidates[0]));
  const Schedule* best = &result.candidates[0];
  for (const Schedule& s : result.candidates)
    if (score(instance, s).better_than(score(instance, *best))) best = &s;
  result.best = *best;
  if (instance.memory_limited && memory_overflow(instance, result.best) > 0) {
    Schedule repaired = repair_memory(instance, result.best);
    if (score(instance, repaired).better_than(score(instance, result.best))) result.best = std::move(repaired);
  }
  if (options.refine) {
    LocalSearch search(instance, options, t0);
    Schedule refined = search.run(*best, &result.evaluations);
    if (score(instance, refined).better_than(score(instance, result.best))) result.best = std::move(refined);
  }
  result.wall_ms = ms_since(t0);
  return result;
}

}  // namespace hxrt::sched
