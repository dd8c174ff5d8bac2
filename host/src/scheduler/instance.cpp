#include "scheduler/instance.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace hxrt::sched {

using nlohmann::json;

Link chain(const Link& first, const Link& second) {
  Link out;
  out.latency_ns = first.latency_ns + second.latency_ns;
  const double per_byte = (first.bytes_per_ns == kInf ? 0.0 : 1.0 / first.bytes_per_ns) +
                          (second.bytes_per_ns == kInf ? 0.0 : 1.0 / second.bytes_per_ns);
  out.bytes_per_ns = per_byte == 0.0 ? kInf : 1.0 / per_byte;
  return out;
}

static void fail(const std::string& what) { throw std::invalid_argument("scheduler instance: " + what); }

static bool valid_amount(double v) { return !std::isnan(v) && v >= 0; }

void Instance::finalize() {
  const int q = num_devices();
  const int n = num_tasks();
  if (q <= 0) fail("no devices");
  if (links.size() != static_cast<size_t>(q) * q)
    fail("links has " + std::to_string(links.size()) + " entries, expected devices^2 = " + std::to_string(q * q));
  for (const Link& l : links)
    if (!valid_amount(l.latency_ns) || l.latency_ns == kInf || std::isnan(l.bytes_per_ns) || l.bytes_per_ns <= 0)
      fail("a link has a negative/infinite latency or a non-positive bandwidth");
  memory_limited = false;
  for (const Device& d : devices) {
    if (std::isnan(d.memory_bytes) || d.memory_bytes < 0) fail("device '" + d.name + "' has a negative memory capacity");
    if (d.memory_bytes != kInf) memory_limited = true;
  }
  for (int t = 0; t < n; ++t) {
    const Task& task = tasks[t];
    if (static_cast<int>(task.cost_ns.size()) != q)
      fail("task " + std::to_string(t) + " has " + std::to_string(task.cost_ns.size()) + " costs for " +
           std::to_string(q) + " devices");
    bool any = false;
    for (double c : task.cost_ns) {
      if (std::isnan(c) || c < 0) fail("task " + std::to_string(t) + " has a negative or NaN cost");
      any |= c != kInf;
    }
    if (!any) fail("task " + std::to_string(t) + " ('" + task.name + "') is supported by no device");
    if (!valid_amount(task.weight_bytes) || !valid_amount(task.output_bytes) || task.weight_bytes == kInf ||
        task.output_bytes == kInf)
      fail("task " + std::to_string(t) + " has invalid byte sizes");
  }
  in_edges.assign(n, {});
  out_edges.assign(n, {});
  for (size_t e = 0; e < edges.size(); ++e) {
    const Edge& edge = edges[e];
    if (edge.src < 0 || edge.src >= n || edge.dst < 0 || edge.dst >= n)
      fail("edge " + std::to_string(e) + " names a task out of range");
    if (edge.src == edge.dst) fail("edge " + std::to_string(e) + " is a self-loop");
    if (!valid_amount(edge.bytes) || edge.bytes == kInf) fail("edge " + std::to_string(e) + " has invalid bytes");
    out_edges[edge.src].push_back(static_cast<int>(e));
    in_edges[edge.dst].push_back(static_cast<int>(e));
  }
  // Kahn's algorithm, smallest index first so the order is deterministic.
  std::vector<int> indeg(n);
  for (int t = 0; t < n; ++t) indeg[t] = static_cast<int>(in_edges[t].size());
  topo_order.clear();
  std::vector<int> ready;
  for (int t = n - 1; t >= 0; --t)
    if (indeg[t] == 0) ready.push_back(t);
  while (!ready.empty()) {
    const int t = ready.back();
    ready.pop_back();
    topo_order.push_back(t);
    for (int e : out_edges[t])
      if (--indeg[edges[e].dst] == 0) ready.push_back(edges[e].dst);
  }
  if (static_cast<int>(topo_order.size()) != n) fail("the graph has a cycle");
  topo_pos.assign(n, 0);
  for (int i = 0; i < n; ++i) topo_pos[topo_order[i]] = i;
}

int Instance::fallback_device() const {
  for (int d = 0; d < num_devices(); ++d)
    if (devices[d].kind == "cpu") return d;
  return 0;
}

void set_uniform_links(Instance& instance, Link link) {
  instance.links.assign(instance.devices.size() * instance.devices.size(), link);
}

void set_links_via_host(Instance& instance, const std::vector<HostHop>& hops) {
  const int q = instance.num_devices();
  if (static_cast<int>(hops.size()) != q) fail("one host hop per device is needed");
  instance.links.assign(static_cast<size_t>(q) * q, Link{});
  for (int a = 0; a < q; ++a)
    for (int b = 0; b < q; ++b)
      if (a != b) instance.link(a, b) = chain(hops[a].to_host, hops[b].from_host);
}

// JSON has no infinity: null stands for it (unsupported cost, unlimited memory, free bytes).
static json number_or_null(double v) { return v == kInf ? json(nullptr) : json(v); }
static double read_number(const json& j, const char* key, double missing) {
  if (!j.contains(key)) return missing;
  const json& v = j.at(key);
  if (v.is_null()) return kInf;
  if (!v.is_number()) fail(std::string("'") + key + "' is not a number");
  return v.get<double>();
}

std::string to_json(const Instance& instance, int indent) {
  json j;
  j["format"] = "hxrt-sched-instance";
  j["version"] = 1;
  json devices = json::array();
  for (const Device& d : instance.devices)
    devices.push_back({{"name", d.name}, {"plugin", d.plugin}, {"kind", d.kind},
                       {"memory_bytes", number_or_null(d.memory_bytes)}});
  j["devices"] = devices;
  json links = json::array();
  const int q = instance.num_devices();
  for (int a = 0; a < q; ++a)
    for (int b = 0; b < q; ++b)
      if (a != b && static_cast<size_t>(a * q + b) < instance.links.size())
        links.push_back({{"from", a}, {"to", b}, {"latency_ns", instance.link(a, b).latency_ns},
                         {"bytes_per_ns", number_or_null(instance.link(a, b).bytes_per_ns)}});
  j["links"] = links;
  json tasks = json::array();
  for (const Task& t : instance.tasks) {
    json costs = json::array();
    for (double c : t.cost_ns) costs.push_back(number_or_null(c));
    json jt = {{"name", t.name}, {"cost_ns", costs}};
    if (!t.op.empty()) jt["op"] = t.op;
    if (t.weight_bytes != 0) jt["weight_bytes"] = t.weight_bytes;
    if (t.output_bytes != 0) jt["output_bytes"] = t.output_bytes;
    tasks.push_back(jt);
  }
  j["tasks"] = tasks;
  json edges = json::array();
  for (const Edge& e : instance.edges) edges.push_back({e.src, e.dst, e.bytes});
  j["edges"] = edges;
  return j.dump(indent);
}

Instance instance_from_json(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(std::string("not JSON: ") + e.what());
  }
  Instance inst;
  try {
    if (!j.is_object() || j.value("format", "") != "hxrt-sched-instance") fail("format is not 'hxrt-sched-instance'");
    if (j.value("version", 0) != 1) fail("unsupported version (expected 1)");
    for (const json& d : j.at("devices")) {
      Device dev;
      dev.name = d.value("name", "");
      dev.plugin = d.value("plugin", "");
      dev.kind = d.value("kind", "other");
      dev.memory_bytes = read_number(d, "memory_bytes", kInf);
      inst.devices.push_back(dev);
    }
    const int q = inst.num_devices();
    inst.links.assign(static_cast<size_t>(q) * q, Link{});
    std::vector<char> seen(static_cast<size_t>(q) * q, 0);
    for (const json& l : j.at("links")) {
      const int a = l.at("from").get<int>(), b = l.at("to").get<int>();
      if (a < 0 || a >= q || b < 0 || b >= q || a == b) fail("a link names devices out of range");
      inst.link(a, b).latency_ns = read_number(l, "latency_ns", 0);
      inst.link(a, b).bytes_per_ns = read_number(l, "bytes_per_ns", kInf);
      seen[a * q + b] = 1;
    }
    for (int a = 0; a < q; ++a)
      for (int b = 0; b < q; ++b)
        if (a != b && !seen[a * q + b])
          fail("no link from device " + std::to_string(a) + " to device " + std::to_string(b));
    for (const json& t : j.at("tasks")) {
      Task task;
      task.name = t.value("name", "");
      task.op = t.value("op", "");
      for (const json& c : t.at("cost_ns")) {
        if (!c.is_null() && !c.is_number()) fail("a cost is not a number");
        task.cost_ns.push_back(c.is_null() ? kInf : c.get<double>());
      }
      task.weight_bytes = read_number(t, "weight_bytes", 0);
      task.output_bytes = read_number(t, "output_bytes", 0);
      inst.tasks.push_back(std::move(task));
    }
    for (const json& e : j.at("edges")) {
      if (!e.is_array() || e.size() != 3) fail("an edge is not [src, dst, bytes]");
      inst.edges.push_back({e[0].get<int>(), e[1].get<int>(), e[2].get<double>()});
    }
  } catch (const json::exception& e) {
    fail(std::string("malformed: ") + e.what());
  }
  inst.finalize();
  return inst;
}

Instance read_instance(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return instance_from_json(ss.str());
}

void write_instance(const Instance& instance, const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write '" + path + "'");
  out << to_json(instance) << '\n';
}

double min_cost(const Instance& instance, int task) {
  const auto& c = instance.tasks[task].cost_ns;
  return *std::min_element(c.begin(), c.end());
}

double critical_path_min_cost(const Instance& instance) {
  std::vector<double> finish(instance.num_tasks(), 0);
  double best = 0;
  for (int t : instance.topo_order) {
    double start = 0;
    for (int e : instance.in_edges[t]) start = std::max(start, finish[instance.edges[e].src]);
    finish[t] = start + min_cost(instance, t);
    best = std::max(best, finish[t]);
  }
  return best;
}

double lower_bound(const Instance& instance) {
  double work = 0;
  for (int t = 0; t < instance.num_tasks(); ++t) work += min_cost(instance, t);
  return std::max(critical_path_min_cost(instance), work / instance.num_devices());
}

}  // namespace hxrt::sched
