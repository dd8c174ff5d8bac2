#include "scheduler/random_dag.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hxrt::sched {

Instance random_dag(const RandomDagParams& p) {
  if (p.v < 1 || p.q < 1 || p.alpha <= 0 || p.out_degree < 1 || p.ccr < 0 || p.beta < 0 || p.beta > 2)
    throw std::invalid_argument("random_dag: parameters out of range");
  Rng rng(p.seed);
  Instance inst;
  for (int d = 0; d < p.q; ++d)
    inst.devices.push_back({"dev" + std::to_string(d), "plugin" + std::to_string(d), d == 0 ? "cpu" : "other", kInf});
  set_uniform_links(inst, Link{0, 1});  // edge bytes are then transfer times, as in the paper

  // Levels: widths drawn uniformly around alpha*sqrt(v) until v tasks are placed.
  const double mean_width = std::max(1.0, p.alpha * std::sqrt(static_cast<double>(p.v)));
  std::vector<std::vector<int>> levels;
  int placed = 0;
  while (placed < p.v) {
    int width = 1 + rng.below(std::max(1, static_cast<int>(std::lround(2 * mean_width)) - 1));
    width = std::min(width, p.v - placed);
    levels.emplace_back();
    for (int i = 0; i < width; ++i) levels.back().push_back(placed++);
  }
  std::vector<int> level_of(p.v);
  for (size_t l = 0; l < levels.size(); ++l)
    for (int t : levels[l]) level_of[t] = static_cast<int>(l);

  for (int t = 0; t < p.v; ++t) {
    Task task;
    task.name = "t" + std::to_string(t);
    const double mean = rng.uniform(0.0, 2.0 * p.mean_cost);
    for (int d = 0; d < p.q; ++d) {
      double c = std::max(1e-3, rng.uniform(mean * (1 - p.beta / 2), mean * (1 + p.beta / 2)));
      if (d != 0 && p.support < 1.0 && rng.uniform() >= p.support) c = kInf;
      task.cost_ns.push_back(c);
    }
    inst.tasks.push_back(task);
  }

  // Edges: 1..out_degree distinct successors, mostly in the next level.
  std::vector<std::vector<int>> linked(p.v);  // successors so far (few per task)
  std::vector<char> has_pred(p.v, 0);
  auto add_edge = [&](int a, int b) {
    if (std::find(linked[a].begin(), linked[a].end(), b) != linked[a].end()) return;
    linked[a].push_back(b);
    has_pred[b] = 1;
    inst.edges.push_back({a, b, rng.uniform(0.0, 2.0 * p.ccr * p.mean_cost)});
  };
  const int last_level = static_cast<int>(levels.size()) - 1;
  for (int t = 0; t < p.v; ++t) {
    const int l = level_of[t];
    if (l == last_level) continue;
    const int first_later = levels[l + 1].front();
    const int later = p.v - first_later;
    const int degree = std::min(1 + rng.below(p.out_degree), later);
    for (int k = 0; k < degree; ++k) {
      const auto& next = levels[l + 1];
      const int target = rng.uniform() < 0.7 ? next[rng.below(static_cast<int>(next.size()))]
                                             : first_later + rng.below(later);
      add_edge(t, target);
    }
  }
  // Every task below the first level needs an input, else it would be a spurious entry.
  for (int t = 0; t < p.v; ++t)
    if (level_of[t] > 0 && !has_pred[t]) {
      const auto& prev = levels[level_of[t] - 1];
      add_edge(prev[rng.below(static_cast<int>(prev.size()))], t);
    }
  inst.finalize();
  return inst;
}

}  // namespace hxrt::sched
