#include "scheduler/heuristics.hpp"

#include <algorithm>
#include <queue>

namespace hxrt::sched {

namespace {

// Resident weights per device: a device is admissible while its capacity holds
// them plus room for the largest single op's inputs and output.
class WeightBudget {
 public:
  explicit WeightBudget(const Instance& inst) : inst_(inst), used_(inst.num_devices(), 0) {
    for (int t = 0; t < inst.num_tasks(); ++t) {
      double working = inst.tasks[t].output_bytes;
      for (int e : inst.in_edges[t]) working += inst.tasks[inst.edges[e].src].output_bytes;
      reserve_ = std::max(reserve_, working);
    }
  }
  bool fits(int task, int device) const {
    return used_[device] + inst_.tasks[task].weight_bytes + reserve_ <= inst_.devices[device].memory_bytes;
  }
  // Whether any supporting device still fits the task (if none, memory is ignored for it).
  bool any_fits(int task) const {
    for (int d = 0; d < inst_.num_devices(); ++d)
      if (inst_.supported(task, d) && fits(task, d)) return true;
    return false;
  }
  void add(int task, int device) { used_[device] += inst_.tasks[task].weight_bytes; }

 private:
  const Instance& inst_;
  std::vector<double> used_;
  double reserve_ = 0;
};

}  // namespace

double mean_cost(const Instance& inst, int task) {
  double sum = 0;
  int count = 0;
  for (double c : inst.tasks[task].cost_ns)
    if (c != kInf) sum += c, ++count;
  return sum / count;
}

std::vector<double> mean_comm(const Instance& inst) {
  const int q = inst.num_devices();
  std::vector<double> out(inst.edges.size(), 0);
  if (q < 2) return out;
  for (size_t e = 0; e < inst.edges.size(); ++e) {
    double sum = 0;
    for (int a = 0; a < q; ++a)
      for (int b = 0; b < q; ++b)
        if (a != b) sum += inst.comm(static_cast<int>(e), a, b);
    out[e] = sum / (q * (q - 1));
  }
  return out;
}

static std::vector<double> rank_with(const Instance& inst, const std::vector<double>& w, const std::vector<double>& c) {
  std::vector<double> rank(inst.num_tasks(), 0);
  for (auto it = inst.topo_order.rbegin(); it != inst.topo_order.rend(); ++it) {
    const int t = *it;
    double tail = 0;
    for (int e : inst.out_edges[t]) tail = std::max(tail, c[e] + rank[inst.edges[e].dst]);
    rank[t] = w[t] + tail;
  }
  return rank;
}

std::vector<double> upward_rank(const Instance& inst) {
  std::vector<double> w(inst.num_tasks());
  for (int t = 0; t < inst.num_tasks(); ++t) w[t] = mean_cost(inst, t);
  return rank_with(inst, w, mean_comm(inst));
}

std::vector<int> assignment_order(const Instance& inst, const std::vector<int>& device) {
  std::vector<double> w(inst.num_tasks()), c(inst.edges.size());
  for (int t = 0; t < inst.num_tasks(); ++t) w[t] = inst.cost(t, device[t]);
  for (size_t e = 0; e < inst.edges.size(); ++e)
    c[e] = inst.comm(static_cast<int>(e), device[inst.edges[e].src], device[inst.edges[e].dst]);
  return priority_order(inst, rank_with(inst, w, c));
}

std::vector<double> optimistic_cost_table(const Instance& inst) {
  const int q = inst.num_devices();
  const std::vector<double> cbar = mean_comm(inst);
  std::vector<double> oct(static_cast<size_t>(inst.num_tasks()) * q, 0);
  for (auto it = inst.topo_order.rbegin(); it != inst.topo_order.rend(); ++it) {
    const int t = *it;
    for (int e : inst.out_edges[t]) {
      const int s = inst.edges[e].dst;
      // best[w] = OCT(s, w) + cost(s, w); the transfer applies only off processor p.
      double best_any = kInf;
      for (int w = 0; w < q; ++w) best_any = std::min(best_any, oct[s * q + w] + inst.cost(s, w) + cbar[e]);
      for (int p = 0; p < q; ++p) {
        const double here = oct[s * q + p] + inst.cost(s, p);
        oct[t * q + p] = std::max(oct[t * q + p], std::min(best_any, here));
      }
    }
  }
  return oct;
}

std::vector<int> priority_order(const Instance& inst, const std::vector<double>& priority) {
  const int n = inst.num_tasks();
  std::vector<int> indeg(n), order;
  order.reserve(n);
  auto lower = [&](int a, int b) { return priority[a] != priority[b] ? priority[a] < priority[b] : a > b; };
  std::priority_queue<int, std::vector<int>, decltype(lower)> ready(lower);
  for (int t = 0; t < n; ++t) {
    indeg[t] = static_cast<int>(inst.in_edges[t].size());
    if (indeg[t] == 0) ready.push(t);
  }
  while (!ready.empty()) {
    const int t = ready.top();
    ready.pop();
    order.push_back(t);
    for (int e : inst.out_edges[t])
      if (--indeg[inst.edges[e].dst] == 0) ready.push(inst.edges[e].dst);
  }
  return order;
}

// List scheduling in `order`, each task on the device minimising EFT + bias[task*q + d].
static Schedule eft_schedule(const Instance& inst, const std::vector<int>& order, const std::vector<double>* bias,
                             const char* name) {
  const int q = inst.num_devices();
  ListScheduler ls(inst);
  WeightBudget budget(inst);
  for (int t : order) {
    const bool mind_memory = inst.memory_limited && budget.any_fits(t);
    int best = -1;
    double best_key = kInf, best_start = 0;
    for (int d = 0; d < q; ++d) {
      if (!inst.supported(t, d) || (mind_memory && !budget.fits(t, d))) continue;
      const double start = ls.earliest_start(t, d);
      const double key = start + inst.cost(t, d) + (bias ? (*bias)[t * q + d] : 0.0);
      if (best < 0 || key < best_key) best = d, best_key = key, best_start = start;
    }
    ls.place(t, best, best_start);
    budget.add(t, best);
  }
  return ls.take(name, order);
}

Schedule heft(const Instance& inst) { return eft_schedule(inst, priority_order(inst, upward_rank(inst)), nullptr, "heft"); }

Schedule heft_reranked(const Instance& inst, const Schedule& previous) {
  return eft_schedule(inst, assignment_order(inst, previous.device), nullptr, "heft-reranked");
}

Schedule peft(const Instance& inst) {
  const int q = inst.num_devices();
  const std::vector<double> oct = optimistic_cost_table(inst);
  std::vector<double> rank(inst.num_tasks(), 0);
  for (int t = 0; t < inst.num_tasks(); ++t) {
    int count = 0;
    for (int d = 0; d < q; ++d)
      if (inst.supported(t, d)) rank[t] += oct[t * q + d], ++count;
    rank[t] /= count;
  }
  return eft_schedule(inst, priority_order(inst, rank), &oct, "peft");
}

Schedule single_device(const Instance& inst, int device) {
  const int n = inst.num_tasks(), q = inst.num_devices();
  const int fallback = inst.fallback_device();
  WeightBudget budget(inst);
  std::vector<int> assign(n);
  bool mixed = false;
  for (int t : inst.topo_order) {
    int d = inst.supported(t, device) ? device : (inst.supported(t, fallback) ? fallback : -1);
    if (d < 0 || (inst.memory_limited && !budget.fits(t, d) && budget.any_fits(t))) {
      // Unsupported on both, or no room: the fastest supporting device with room.
      const bool mind_memory = inst.memory_limited && budget.any_fits(t);
      d = -1;
      for (int o = 0; o < q; ++o)
        if (inst.supported(t, o) && (!mind_memory || budget.fits(t, o)) && (d < 0 || inst.cost(t, o) < inst.cost(t, d)))
          d = o;
    }
    assign[t] = d;
    mixed |= d != device;
    budget.add(t, d);
  }
  // On one device the order does not change the makespan; with fallbacks it does.
  return simulate(inst, assign, mixed ? assignment_order(inst, assign) : inst.topo_order,
                  "single:" + inst.devices[device].name);
}

Schedule best_single_device(const Instance& inst) {
  Schedule best;
  bool have = false;
  for (int d = 0; d < inst.num_devices(); ++d) {
    Schedule s = single_device(inst, d);
    // Fitting in memory first, then makespan.
    const double over = memory_overflow(inst, s);
    if (!have || over < memory_overflow(inst, best) || (over == memory_overflow(inst, best) && s.makespan < best.makespan)) {
      best = std::move(s);
      have = true;
    }
  }
  best.algorithm = "best-single(" + best.algorithm.substr(7) + ")";
  return best;
}

static int kind_priority(const std::string& kind) {
  if (kind == "gpu") return 3;
  if (kind == "cpu") return 0;
  return 1;
}

Schedule priority_first_fit(const Instance& inst) {
  const int q = inst.num_devices();
  std::vector<int> prefs(q);
  for (int d = 0; d < q; ++d) prefs[d] = d;
  std::stable_sort(prefs.begin(), prefs.end(), [&](int a, int b) {
    return kind_priority(inst.devices[a].kind) > kind_priority(inst.devices[b].kind);
  });
  WeightBudget budget(inst);
  std::vector<int> assign(inst.num_tasks(), -1);
  for (int t : inst.topo_order) {
    const bool mind_memory = inst.memory_limited && budget.any_fits(t);
    for (int d : prefs)
      if (inst.supported(t, d) && (!mind_memory || budget.fits(t, d))) {
        assign[t] = d;
        break;
      }
    budget.add(t, assign[t]);
  }
  return simulate(inst, assign, inst.topo_order, "priority-first-fit");
}

Schedule online_eft(const Instance& inst) {
  const int n = inst.num_tasks(), q = inst.num_devices();
  ListScheduler ls(inst);
  WeightBudget budget(inst);
  std::vector<double> avail(q, 0), released(n, 0);
  std::vector<int> missing(n), order;
  order.reserve(n);
  // Tasks are dispatched when their last input finishes (submission order breaks ties).
  using Item = std::pair<double, int>;
  auto later = [&](const Item& a, const Item& b) {
    return a.first != b.first ? a.first > b.first : inst.topo_pos[a.second] > inst.topo_pos[b.second];
  };
  std::priority_queue<Item, std::vector<Item>, decltype(later)> ready(later);
  for (int t = 0; t < n; ++t) {
    missing[t] = static_cast<int>(inst.in_edges[t].size());
    if (missing[t] == 0) ready.push({0.0, t});
  }
  while (!ready.empty()) {
    const int t = ready.top().second;
    ready.pop();
    order.push_back(t);
    const bool mind_memory = inst.memory_limited && budget.any_fits(t);
    int best = -1;
    double best_finish = kInf, best_start = 0;
    for (int d = 0; d < q; ++d) {
      if (!inst.supported(t, d) || (mind_memory && !budget.fits(t, d))) continue;
      const double start = std::max(avail[d], ls.ready_time(t, d));
      const double finish = start + inst.cost(t, d);
      if (best < 0 || finish < best_finish) best = d, best_finish = finish, best_start = start;
    }
    ls.place(t, best, best_start);
    budget.add(t, best);
    avail[best] = best_finish;
    for (int e : inst.out_edges[t]) {
      const int s = inst.edges[e].dst;
      released[s] = std::max(released[s], best_finish);
      if (--missing[s] == 0) ready.push({released[s], s});
    }
  }
  return ls.take("online-eft", order);
}

}  // namespace hxrt::sched
