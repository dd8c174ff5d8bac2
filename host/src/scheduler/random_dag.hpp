// Random task graphs the way Topcuoglu, Hariri and Wu (2002, section 5.1) generate
// them: v tasks in levels (height sqrt(v)/alpha, mean width alpha*sqrt(v)), out-degree,
// communication-to-computation ratio CCR and processor heterogeneity beta; the same
// seed gives the same instance on every platform (own integer RNG, no std distributions).
#pragma once

#include <cstdint>

#include "scheduler/instance.hpp"

namespace hxrt::sched {

struct RandomDagParams {
  int v = 100;             // tasks
  double ccr = 1.0;        // mean transfer time / mean computation time
  double alpha = 1.0;      // shape: < 1 tall and thin, > 1 short and wide
  int out_degree = 3;      // each task has 1..out_degree successors in later levels
  double beta = 0.5;       // heterogeneity: costs spread +-beta/2 around the task's mean
  int q = 4;               // devices
  double mean_cost = 100;  // w_DAG, ns
  double support = 1.0;    // probability that a device other than the CPU (device 0) runs a task
  uint64_t seed = 1;
};

Instance random_dag(const RandomDagParams& params);

// A small deterministic generator (splitmix64) shared by the generator and tests.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }  // [0, n)

 private:
  uint64_t state_;
};

}  // namespace hxrt::sched
