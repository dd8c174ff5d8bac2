// Measured costs, kept per device and keyed by op, shapes and dtypes (StarPU's
// history-based model): once an op has been timed on a device, the measurement
// overrides the plugin's estimate. Transfers are fitted as latency + bytes/bandwidth
// per device pair. Persisted as JSON (docs/scheduler.md).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/instance.hpp"

namespace hxrt::sched {

class PerfModel {
 public:
  // signature: the op's input/output shapes and dtypes, e.g. "f32[1,64,56,56]->f32[1,64,56,56]".
  void record(const std::string& device, const std::string& op, const std::string& signature, double ns);
  std::optional<double> cost(const std::string& device, const std::string& op, const std::string& signature) const;
  int samples(const std::string& device, const std::string& op, const std::string& signature) const;

  void record_transfer(const std::string& from, const std::string& to, double bytes, double ns);
  // Least-squares fit; needs two different sizes. Latency and per-byte time are clamped at 0.
  std::optional<Link> transfer(const std::string& from, const std::string& to) const;

  // Overrides task costs (by device name, task op, signatures[task]) and links (by
  // device names) with measurements; returns how many costs were replaced.
  int apply(Instance& instance, const std::vector<std::string>& signatures) const;

  std::string to_json() const;
  static PerfModel from_json(const std::string& text);  // throws std::invalid_argument
  static PerfModel load(const std::string& path);       // a missing file is an empty model
  void save(const std::string& path) const;

 private:
  struct Stats {
    int count = 0;
    double mean = 0, m2 = 0;  // Welford
  };
  struct Fit {
    int count = 0;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
  };
  std::map<std::string, Stats> ops_;        // key: device \x1f op \x1f signature
  std::map<std::string, Fit> transfers_;    // key: from \x1f to
};

}  // namespace hxrt::sched
