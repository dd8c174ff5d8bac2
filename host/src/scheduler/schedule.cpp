#include "scheduler/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace hxrt::sched {

static bool close(double a, double b) { return std::abs(a - b) <= 1e-6 * std::max({1.0, std::abs(a), std::abs(b)}); }

Schedule::Source Schedule::source(const Instance& instance, int edge, int to) const {
  const int src = instance.edges[edge].src;
  Source best{device[src], finish[src], finish[src] + instance.comm(edge, device[src], to)};
  for (const Duplicate& d : duplicates)
    if (d.task == src && d.finish + instance.comm(edge, d.device, to) < best.arrival)
      best = {d.device, d.finish, d.finish + instance.comm(edge, d.device, to)};
  return best;
}

std::vector<Schedule::Transfer> Schedule::transfers(const Instance& instance) const {
  std::vector<Transfer> out;
  for (size_t e = 0; e < instance.edges.size(); ++e) {
    const int edge = static_cast<int>(e);
    auto consumer_on = [&](int to) {
      const Source from = source(instance, edge, to);
      if (from.device != to) out.push_back({edge, from.device, to, from.ready, from.arrival});
    };
    consumer_on(device[instance.edges[e].dst]);
    for (const Duplicate& d : duplicates)
      if (d.task == instance.edges[e].dst) consumer_on(d.device);
  }
  return out;
}

std::vector<double> memory_peaks(const Instance& instance, const Schedule& s) {
  const int q = instance.num_devices(), n = instance.num_tasks();
  std::vector<double> weights(q, 0);
  for (int t = 0; t < n; ++t) weights[s.device[t]] += instance.tasks[t].weight_bytes;
  for (const Schedule::Duplicate& d : s.duplicates) weights[d.device] += instance.tasks[d.task].weight_bytes;
  struct Event {
    double time;
    int kind;  // 0 free, 1 allocate, 2 free of a zero-length lifetime (after the allocations at its instant)
    double bytes;
  };
  std::vector<std::vector<Event>> events(q);
  auto live = [&](int dev, double from, double to, double bytes) {
    if (bytes <= 0) return;
    events[dev].push_back({from, 1, bytes});
    events[dev].push_back({std::max(from, to), to <= from ? 2 : 0, -bytes});
  };
  auto duplicated_on = [&](int task, int device) {
    for (const Schedule::Duplicate& d : s.duplicates)
      if (d.task == task && d.device == device) return true;
    return false;
  };
  std::vector<double> until(q);
  for (int t = 0; t < n; ++t) {
    const double bytes = instance.tasks[t].output_bytes;
    const int home = s.device[t];
    std::fill(until.begin(), until.end(), -1.0);
    until[home] = s.finish[t];
    if (instance.out_edges[t].empty()) until[home] = s.makespan;  // a graph output stays to the end
    for (int e : instance.out_edges[t]) {
      const int dst = instance.edges[e].dst, dev = s.device[dst];
      if (dev != home && duplicated_on(t, dev)) continue;  // its readers there use the duplicate's output
      until[dev] = std::max(until[dev], s.finish[dst]);
      if (dev != home) until[home] = std::max(until[home], s.finish[t] + instance.comm(e, home, dev));
    }
    for (int d = 0; d < q; ++d) {
      if (until[d] < 0) continue;
      live(d, d == home ? s.start[t] : s.finish[t], until[d], bytes);
    }
  }
  // A duplicate's output lives on its device from its start until the last
  // reader there is done.
  for (const Schedule::Duplicate& dup : s.duplicates) {
    double last = dup.finish;
    for (int e : instance.out_edges[dup.task]) {
      const int dst = instance.edges[e].dst;
      if (s.device[dst] == dup.device) last = std::max(last, s.finish[dst]);
      for (const Schedule::Duplicate& other : s.duplicates)
        if (other.task == dst && other.device == dup.device) last = std::max(last, other.finish);
    }
    live(dup.device, dup.start, last, instance.tasks[dup.task].output_bytes);
  }
  std::vector<double> peaks(q);
  for (int d = 0; d < q; ++d) {
    auto& ev = events[d];
    // Frees before allocations at the same instant: a buffer released at t can be reused at t.
    std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
      return a.time != b.time ? a.time < b.time : a.kind < b.kind;
    });
    double cur = 0, peak = 0;
    for (size_t i = 0; i < ev.size(); ++i) {
      cur += ev[i].bytes;
      peak = std::max(peak, cur);
    }
    peaks[d] = weights[d] + peak;
  }
  return peaks;
}

double memory_overflow(const Instance& instance, const Schedule& schedule) {
  if (!instance.memory_limited) return 0;
  const std::vector<double> peaks = memory_peaks(instance, schedule);
  double over = 0;
  for (int d = 0; d < instance.num_devices(); ++d)
    over += std::max(0.0, peaks[d] - instance.devices[d].memory_bytes);
  return over;
}

std::vector<std::string> validate(const Instance& inst, const Schedule& s, bool check_memory) {
  std::vector<std::string> errors;
  const int n = inst.num_tasks(), q = inst.num_devices();
  if (static_cast<int>(s.device.size()) != n || static_cast<int>(s.start.size()) != n ||
      static_cast<int>(s.finish.size()) != n) {
    errors.push_back("schedule does not cover every task exactly once");
    return errors;
  }
  double last = 0;
  for (int t = 0; t < n; ++t) {
    const int d = s.device[t];
    if (d < 0 || d >= q) {
      errors.push_back(fmt::format("task {} is on device {} which does not exist", t, d));
      continue;
    }
    if (!inst.supported(t, d)) errors.push_back(fmt::format("task {} is on device {} which does not support it", t, d));
    else if (!close(s.finish[t] - s.start[t], inst.cost(t, d)))
      errors.push_back(fmt::format("task {} runs {} ns on device {}, its cost is {}", t, s.finish[t] - s.start[t], d,
                                   inst.cost(t, d)));
    if (!(s.start[t] >= 0)) errors.push_back(fmt::format("task {} starts before 0", t));
    last = std::max(last, s.finish[t]);
  }
  std::vector<std::vector<char>> duplicated(n, std::vector<char>(q, 0));
  for (const Schedule::Duplicate& d : s.duplicates) {
    if (d.task < 0 || d.task >= n || d.device < 0 || d.device >= q) {
      errors.push_back(fmt::format("a duplicate names task {} on device {}, which do not exist", d.task, d.device));
      continue;
    }
    if (d.device == s.device[d.task] || duplicated[d.task][d.device])
      errors.push_back(fmt::format("task {} runs twice on device {}", d.task, d.device));
    duplicated[d.task][d.device] = 1;
    if (!inst.supported(d.task, d.device))
      errors.push_back(fmt::format("a duplicate of task {} is on device {} which does not support it", d.task, d.device));
    else if (!close(d.finish - d.start, inst.cost(d.task, d.device)))
      errors.push_back(fmt::format("a duplicate of task {} runs {} ns on device {}, its cost is {}", d.task,
                                   d.finish - d.start, d.device, inst.cost(d.task, d.device)));
    if (!(d.start >= 0)) errors.push_back(fmt::format("a duplicate of task {} starts before 0", d.task));
    last = std::max(last, d.finish);
  }
  if (!errors.empty()) return errors;
  if (!close(last, s.makespan)) errors.push_back(fmt::format("makespan {} but the last task finishes at {}", s.makespan, last));
  for (size_t e = 0; e < inst.edges.size(); ++e) {
    const Edge& edge = inst.edges[e];
    auto check = [&](double start, int device, const char* what) {
      const double arrival = s.arrival(inst, static_cast<int>(e), device);
      if (start < arrival && !close(start, arrival))
        errors.push_back(fmt::format("{} {} starts at {} before its input from task {} arrives at {}", what, edge.dst,
                                     start, edge.src, arrival));
    };
    check(s.start[edge.dst], s.device[edge.dst], "task");
    for (const Schedule::Duplicate& d : s.duplicates)
      if (d.task == edge.dst) check(d.start, d.device, "a duplicate of task");
  }
  struct Interval {
    double start, finish;
    int task;
  };
  std::vector<std::vector<Interval>> on(q);
  for (int t = 0; t < n; ++t) on[s.device[t]].push_back({s.start[t], s.finish[t], t});
  for (const Schedule::Duplicate& d : s.duplicates) on[d.device].push_back({d.start, d.finish, d.task});
  for (int d = 0; d < q; ++d) {
    auto& ts = on[d];
    std::sort(ts.begin(), ts.end(), [&](const Interval& a, const Interval& b) {
      return a.start != b.start ? a.start < b.start : a.finish < b.finish;
    });
    for (size_t i = 1; i < ts.size(); ++i)
      if (ts[i].start < ts[i - 1].finish && !close(ts[i].start, ts[i - 1].finish))
        errors.push_back(fmt::format("tasks {} and {} overlap on device {}", ts[i - 1].task, ts[i].task, d));
  }
  if (check_memory && inst.memory_limited) {
    const std::vector<double> peaks = memory_peaks(inst, s);
    for (int d = 0; d < q; ++d)
      if (peaks[d] > inst.devices[d].memory_bytes)
        errors.push_back(fmt::format("device {} peaks at {} bytes, capacity {}", d, peaks[d], inst.devices[d].memory_bytes));
  }
  return errors;
}

ListScheduler::ListScheduler(const Instance& instance) : inst_(instance), slots_(instance.num_devices()) { reset(); }

void ListScheduler::reset() {
  for (IdleSlots& s : slots_) s.reset();
  device_.assign(inst_.num_tasks(), -1);
  start_.assign(inst_.num_tasks(), 0);
  finish_.assign(inst_.num_tasks(), 0);
  for (int t : touched_) copies_[t].clear();
  copies_.resize(inst_.num_tasks());
  touched_.clear();
  duplicates_.clear();
}

double ListScheduler::ready_time(int task, int device) const {
  double ready = 0;
  for (int e : inst_.in_edges[task]) {
    const int src = inst_.edges[e].src;
    double arrival = finish_[src] + inst_.comm(e, device_[src], device);
    for (const auto& [where, finish] : copies_[src]) arrival = std::min(arrival, finish + inst_.comm(e, where, device));
    ready = std::max(ready, arrival);
  }
  return ready;
}

double ListScheduler::earliest_start(int task, int device) const {
  return slots_[device].earliest(ready_time(task, device), inst_.cost(task, device));
}

void ListScheduler::place(int task, int device, double start) {
  const double w = inst_.cost(task, device);
  slots_[device].occupy(start, w);
  device_[task] = device;
  start_[task] = start;
  finish_[task] = start + w;
}

void ListScheduler::place_duplicate(int task, int device, double start) {
  const double w = inst_.cost(task, device);
  slots_[device].occupy(start, w);
  if (copies_[task].empty()) touched_.push_back(task);
  copies_[task].push_back({device, start + w});
  duplicates_.push_back({task, device, start, start + w});
}

Schedule ListScheduler::take(std::string algorithm, std::vector<int> order) {
  Schedule s;
  s.algorithm = std::move(algorithm);
  s.device = device_;
  s.start = start_;
  s.finish = finish_;
  s.order = std::move(order);
  s.makespan = 0;
  for (double f : finish_) s.makespan = std::max(s.makespan, f);
  s.duplicates = duplicates_;
  for (const auto& d : duplicates_) s.makespan = std::max(s.makespan, d.finish);
  return s;
}

Schedule simulate(const Instance& instance, const std::vector<int>& device, const std::vector<int>& order,
                  std::string algorithm, const std::vector<std::vector<int>>* duplicates) {
  ListScheduler ls(instance);
  for (int t : order) {
    ls.place(t, device[t], ls.earliest_start(t, device[t]));
    if (duplicates == nullptr) continue;
    for (int d : (*duplicates)[t])
      if (d != device[t] && instance.supported(t, d)) ls.place_duplicate(t, d, ls.earliest_start(t, d));
  }
  return ls.take(std::move(algorithm), order);
}

std::vector<int> critical_path(const Instance& inst, const Schedule& s) {
  const int n = inst.num_tasks();
  std::vector<int> path;
  if (n == 0) return path;
  int t = static_cast<int>(std::max_element(s.finish.begin(), s.finish.end()) - s.finish.begin());
  // Per device, tasks by finish time, to find what occupied the device just before a start.
  std::vector<std::vector<int>> on(inst.num_devices());
  for (int i = 0; i < n; ++i) on[s.device[i]].push_back(i);
  for (auto& v : on) std::sort(v.begin(), v.end(), [&](int a, int b) { return s.finish[a] < s.finish[b]; });
  std::vector<char> seen(n, 0);
  while (t >= 0 && !seen[t]) {
    seen[t] = 1;
    path.push_back(t);
    int next = -1;
    for (int e : inst.in_edges[t]) {
      const int src = inst.edges[e].src;
      if (close(s.finish[src] + inst.comm(e, s.device[src], s.device[t]), s.start[t])) {
        next = src;
        break;
      }
    }
    if (next < 0 && s.start[t] > 0) {
      const auto& v = on[s.device[t]];
      auto it = std::lower_bound(v.begin(), v.end(), s.start[t] * (1 - 1e-9) - 1e-9,
                                 [&](int a, double x) { return s.finish[a] < x; });
      if (it != v.end() && *it != t && close(s.finish[*it], s.start[t])) next = *it;
    }
    t = next;
  }
  return path;
}

}  // namespace hxrt::sched
