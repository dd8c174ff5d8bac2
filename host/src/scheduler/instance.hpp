// A scheduling instance: the graph as tasks with per-device costs, edges with
// bytes, devices with memory and the transfer model between them. Everything the
// scheduler knows; it never sees plugins. Times are in nanoseconds.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace hxrt::sched {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

struct Device {
  std::string name;
  std::string plugin;               // devices of one plugin copy directly; others go through pinned host memory
  std::string kind = "other";       // "cpu", "gpu", "other": priority baselines and CPU fallback use it
  double memory_bytes = kInf;       // capacity for weights + live activations
};

// One transfer hop: latency + bytes / bandwidth.
struct Link {
  double latency_ns = 0;
  double bytes_per_ns = kInf;  // inf: bytes cost nothing (latency only)
  double cost(double bytes) const { return latency_ns + (bytes_per_ns == kInf ? 0.0 : bytes / bytes_per_ns); }
};

// Two hops in sequence (device -> pinned host -> device) as one link: the latencies
// add, and so do the per-byte times.
Link chain(const Link& first, const Link& second);

struct Task {
  std::string name;
  std::string op;               // informative (op type); the scheduler never reads it
  std::vector<double> cost_ns;  // per device; kInf = unsupported there
  double weight_bytes = 0;      // resident on its device for the whole run (constants)
  double output_bytes = 0;      // its output, live from its start until its last reader is done
};

struct Edge {
  int src = 0;
  int dst = 0;
  double bytes = 0;
};

class Instance {
 public:
  std::vector<Device> devices;
  std::vector<Task> tasks;
  std::vector<Edge> edges;
  std::vector<Link> links;  // q*q, row = from, column = to; the diagonal is unused (free)

  int num_tasks() const { return static_cast<int>(tasks.size()); }
  int num_devices() const { return static_cast<int>(devices.size()); }
  const Link& link(int from, int to) const { return links[static_cast<size_t>(from) * devices.size() + to]; }
  Link& link(int from, int to) { return links[static_cast<size_t>(from) * devices.size() + to]; }

  // Checks sizes, indices, acyclicity and that every task runs somewhere, then
  // builds the adjacency and topological order below. Throws std::invalid_argument.
  void finalize();

  // Derived by finalize().
  std::vector<std::vector<int>> in_edges, out_edges;  // edge indices
  std::vector<int> topo_order;                        // tasks, predecessors first
  std::vector<int> topo_pos;                          // position of each task in topo_order
  bool memory_limited = false;                        // some device has a finite capacity

  double comm(int edge, int from, int to) const {
    return from == to ? 0.0 : link(from, to).cost(edges[edge].bytes);
  }
  double cost(int task, int device) const { return tasks[task].cost_ns[device]; }
  bool supported(int task, int device) const { return tasks[task].cost_ns[device] != kInf; }

  // The device unsupported ops fall back to: the first "cpu" device, else device 0.
  int fallback_device() const;
};

// Uniform links between all pairs (the HEFT papers' model).
void set_uniform_links(Instance& instance, Link link);

// Links from each device's own hops to and from pinned host memory: a copy between
// two devices costs both hops (the ABI copies across plugins through the host).
struct HostHop {
  Link to_host, from_host;
};
void set_links_via_host(Instance& instance, const std::vector<HostHop>& hops);

// JSON (see docs/scheduler.md). read throws std::invalid_argument with the reason.
std::string to_json(const Instance& instance, int indent = 1);
Instance instance_from_json(const std::string& text);
Instance read_instance(const std::string& path);
void write_instance(const Instance& instance, const std::string& path);

// Bounds used by the metrics and the exact search.
double min_cost(const Instance& instance, int task);          // over supported devices
double critical_path_min_cost(const Instance& instance);      // every task at its cheapest, transfers free
double lower_bound(const Instance& instance);                 // max(critical path, total min work / q)

}  // namespace hxrt::sched
