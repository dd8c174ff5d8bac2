#include "session.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "abi_views.hpp"
#include "constant_folding.hpp"
#include "cost_placer.hpp"
#include "scheduler/perf_model.hpp"
#include "graph/onnx_import.hpp"
#include "graph/shape_inference.hpp"

namespace hxrt::host {

Session::Session(Environment& environment, const void* model_bytes, size_t model_size, const SessionConfig& config)
    : environment_(environment), devices_(select_devices(config)) {
  graph_ = import_onnx_model(model_bytes, model_size);
  set_input_shapes(graph_, config.input_shapes);
  std::map<std::string, HostTensor> bound;
  for (const auto& name : shape_determining_inputs(graph_)) {
    auto it = config.input_values.find(name);
    if (it != config.input_values.end()) bound.emplace(name, it->second);
  }
  if (!bound.empty()) bind_input_constants(graph_, bound);
  infer_shapes(graph_, [this](const Graph& g, const Node& n) { return fold_on_devices(devices_, g, n); });
  drop_folded_nodes();

  support_ = query_support_table(graph_, devices_);
  std::string perf_model = config.perf_model.empty() ? default_perf_model_path() : config.perf_model;
  if (perf_model != "none") apply_measured_costs(perf_model);
  std::shared_ptr<Placer> placer = config.placer ? config.placer : std::make_shared<CostPlacer>();
  ExecutorOptions options = config.executor;
  if (options.transfer_costs.empty()) options.transfer_costs = support_.transfer_costs;
  // Throughput: several requests in flight, so one request's copies and ops
  // overlap another's on other devices and streams.
  if (config.objective == Objective::kThroughput) options.runs_in_flight = std::max(options.runs_in_flight, 4);
  const int run_contexts = std::max(1, options.runs_in_flight);
  // What the session may use per device: its memory, or the session's limit
  // there. Placement plans within `capacity`, lowered where plans overshoot.
  std::vector<double> limits;
  for (const DeviceRecord* d : devices_) {
    double bytes = d->memory_bytes > 0 ? static_cast<double>(d->memory_bytes) : sched::kInf;
    if (auto it = config.memory_limits.find(d->id); it != config.memory_limits.end())
      bytes = std::min(bytes, static_cast<double>(it->second));
    limits.push_back(bytes);
  }
  std::vector<double> capacity = limits;
  // The scheduler's memory model is an estimate and the executor's plan is
  // exact (alignment, copy-stream lifetimes, one arena per run context). Where
  // the plan needs more than a device allows, place again with that device's
  // capacity lowered by the excess; after three plans, fail clearly.
  const Graph unplaced_graph = graph_;
  const SupportTable unplaced_support = support_;
  for (int attempt = 0;; ++attempt) {
    support_.memory_capacity = capacity;
    Placement placement = placer->place(graph_, devices_, support_);
    apply_duplicates(placement);
    placements_.clear();
    for (size_t n = 0; n < graph_.nodes.size(); ++n) {
      int d = placement.device_of_node[n];
      placements_.push_back({graph_.nodes[n].name, graph_.nodes[n].op_type, devices_[d]->id,
                             support_.support[n][d].estimated_ns});
    }
    std::vector<double> estimates;
    for (const auto& p : placements_) estimates.push_back(p.estimated_ns);
    executor_ = std::make_unique<Executor>(graph_, devices_, placement, std::move(estimates), environment_.logger(),
                                           options);
    auto [device, excess] = memory_overshoot(limits, run_contexts);
    if (device < 0) break;
    if (attempt == 2)
      throw Error(HXRT_STATUS_RESOURCE_EXHAUSTED,
                  fmt::format("{}: the memory plan needs {:.0f} bytes more than the session may use there (its "
                              "limit, counting weights plus one activation arena per run context, {} context(s)); "
                              "allow more devices, run fewer requests in flight or raise the limit",
                              devices_[device]->id, excess, run_contexts));
    environment_.logger().info(fmt::format("{}: memory plan {:.0f} bytes over its limit; placing again",
                                           devices_[device]->id, excess));
    executor_.reset();
    graph_ = unplaced_graph;
    support_ = unplaced_support;
    capacity[device] = std::max(0.0, capacity[device] - excess);
  }
}

std::pair<int, double> Session::memory_overshoot(const std::vector<double>& limits, int run_contexts) const {
  std::map<std::string, int> index;
  for (size_t d = 0; d < devices_.size(); ++d) index[devices_[d]->id] = static_cast<int>(d);
  std::vector<double> used(devices_.size(), 0.0);
  for (const DeviceMemoryStats& stats : executor_->memory_stats())
    used[index.at(stats.device_id)] += static_cast<double>(stats.planned_bytes) * run_contexts;
  // Weights live in each device's executables once per session.
  std::set<std::pair<int, int>> weights;  // (value, device)
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    int d = index.at(placements_[n].device_id);
    for (int v : graph_.nodes[n].inputs)
      if (v >= 0 && graph_.values[v].constant && weights.insert({v, d}).second)
        used[d] += static_cast<double>(graph_.values[v].constant->bytes.size());
  }
  int worst = -1;
  double worst_excess = 0;
  for (size_t d = 0; d < devices_.size(); ++d) {
    if (used[d] - limits[d] > worst_excess) {
      worst = static_cast<int>(d);
      worst_excess = used[d] - limits[d];
    }
  }
  return {worst, worst_excess};
}

Session::~Session() = default;

// Each duplicate becomes a copy of its node on the duplicate's device, writing
// its own values; the nodes placed on that device read those instead of the
// original's (transferred) values. Copies follow their originals, so the node
// list stays topologically sorted and chains of duplicates resolve in order.
void Session::apply_duplicates(Placement& placement) {
  if (placement.duplicates.empty()) return;
  std::map<int, std::vector<int>> copies_of;  // node -> devices
  for (const auto& [node, device] : placement.duplicates) copies_of[node].push_back(device);
  std::map<std::pair<int, int>, int> local;  // (value, device) -> the duplicate's value there
  auto rewire = [&](Node& node, int device) {
    for (int& v : node.inputs) {
      auto it = local.find({v, device});
      if (v >= 0 && it != local.end()) v = it->second;
    }
  };
  std::vector<Node> nodes;
  std::vector<int> device_of_node;
  std::vector<std::vector<SupportAnswer>> support;
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    const int home = placement.device_of_node[n];
    Node original = graph_.nodes[n];
    rewire(original, home);
    nodes.push_back(original);
    device_of_node.push_back(home);
    support.push_back(support_.support[n]);
    auto it = copies_of.find(static_cast<int>(n));
    if (it == copies_of.end()) continue;
    for (int device : it->second) {
      Node copy = graph_.nodes[n];
      copy.name += "@" + devices_[device]->id;
      rewire(copy, device);
      for (int& v : copy.outputs) {
        if (v < 0) continue;
        Value value = graph_.values[v];
        value.name += "@" + devices_[device]->id;
        const int original_value = v;
        v = graph_.add_value(std::move(value));
        local[{original_value, device}] = v;
      }
      nodes.push_back(std::move(copy));
      device_of_node.push_back(device);
      support.push_back(support_.support[n]);
    }
  }
  graph_.nodes = std::move(nodes);
  graph_.reindex_producers();
  placement.device_of_node = std::move(device_of_node);
  placement.duplicates.clear();
  support_.support = std::move(support);
}

// Nodes whose every output became a constant need not run again.
void Session::drop_folded_nodes() {
  std::vector<Node> kept;
  for (Node& node : graph_.nodes) {
    bool folded = true;
    for (int v : node.outputs)
      if (v >= 0 && !graph_.values[v].constant) folded = false;
    if (!folded) kept.push_back(std::move(node));
  }
  graph_.nodes = std::move(kept);
  graph_.reindex_producers();
}

namespace {

// The performance model's keys: a device by plugin and name (stable across
// runs, unlike indices), a node by its op and tensor types.
std::string device_key(const DeviceRecord& d) { return d.plugin->name() + "/" + d.name; }
// The performance model's name for host memory, the other end of uploads and downloads.
constexpr const char* kHostKey = "host";

std::string signature(const Graph& graph, const Node& node) {
  auto describe = [&](int v) {
    if (v < 0) return std::string("-");
    const Value& value = graph.values[v];
    return std::string(dtype_name(value.dtype)) + (value.shape ? shape_to_string(*value.shape) : "[?]");
  };
  std::string text;
  for (int v : node.inputs) text += (text.empty() ? "" : ",") + describe(v);
  text += "->";
  for (size_t i = 0; i < node.outputs.size(); ++i) text += (i ? "," : "") + describe(node.outputs[i]);
  return text;
}

}  // namespace

std::string Session::default_perf_model_path() {
  if (const char* explicit_path = std::getenv("HXRT_PERF_MODEL")) return explicit_path;  // "none" disables
  std::string base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME")) base = xdg;
  else if (const char* home = std::getenv("HOME")) base = std::string(home) + "/.cache";
  else base = "/tmp";
  return base + "/hxrt/perf-model.json";
}

void Session::apply_measured_costs(const std::string& path) {
  sched::PerfModel model;
  try {
    model = sched::PerfModel::load(path);
  } catch (const std::exception& e) {
    environment_.logger().warning("ignoring the performance model " + path + ": " + e.what());
    return;
  }
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    std::string sig = signature(graph_, graph_.nodes[n]);
    for (size_t d = 0; d < devices_.size(); ++d) {
      SupportAnswer& answer = support_.support[n][d];
      if (!answer.supported) continue;
      if (auto measured = model.cost(device_key(*devices_[d]), graph_.nodes[n].op_type, sig)) answer.estimated_ns = *measured;
    }
  }
  apply_measured_transfers(model);
}

namespace {

hxrt_link_cost link_cost(const sched::Link& link) {
  // A fit with no per-byte time still needs a finite rate in the ABI struct
  // (0 reads as "unknown" there).
  return {link.latency_ns, link.bytes_per_ns == sched::kInf ? 1e18 : link.bytes_per_ns * 1e9};
}

}  // namespace

// Measured hops (fitted as latency + bytes / bandwidth from calibration runs)
// replace the plugin's transfer estimates, for placement and for the
// predicted trace alike. A hop never measured keeps the plugin's answer.
void Session::apply_measured_transfers(const sched::PerfModel& model) {
  support_.transfer_costs.clear();
  for (const DeviceRecord* device : devices_) support_.transfer_costs.push_back(device->transfer_costs);
  for (size_t d = 0; d < devices_.size(); ++d) {
    hxrt_transfer_costs& costs = support_.transfer_costs[d];
    const std::string key = device_key(*devices_[d]);
    if (auto to_host = model.transfer(key, kHostKey))
      costs.device_to_host_pinned = costs.device_to_host_pageable = link_cost(*to_host);
    if (auto from_host = model.transfer(kHostKey, key))
      costs.host_to_device_pinned = costs.host_to_device_pageable = link_cost(*from_host);
    if (auto within = model.transfer(key, key)) costs.device_to_device = link_cost(*within);
  }
}

void Session::calibrate(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, int runs,
                        const std::string& path) const {
  sched::PerfModel model = sched::PerfModel::load(path);
  // The first traced run pays one-time costs (lazy pipeline and kernel
  // compilation, first touch of arenas and staging) that later runs do not.
  {
    RunTrace warm_up;
    executor_->run(inputs, outputs, &warm_up);
  }
  for (int r = 0; r < runs; ++r) {
    RunTrace trace;
    executor_->run(inputs, outputs, &trace);
    // A value's second hop (host -> device) cannot start before its first hop
    // (device -> host) ends; the measured span of the second hop may include
    // that wait, which is not transfer time.
    std::map<int, double> reached_host_us;
    for (const TraceRecord& record : trace.measured)
      if (record.category == "copy" && record.copy_to < 0 && record.value >= 0)
        reached_host_us[record.value] = record.end_us;
    for (const TraceRecord& record : trace.measured) {
      if (record.category == "copy" && record.bytes > 0) {
        auto end = [&](int device) { return device < 0 ? std::string(kHostKey) : device_key(*devices_[device]); };
        // Copies between two devices of one plugin are fitted as that plugin's device-to-device rate.
        std::string from = end(record.copy_from), to = end(record.copy_to);
        if (record.copy_from >= 0 && record.copy_to >= 0) to = from;
        double start_us = record.start_us;
        if (record.copy_from < 0) {
          auto staged = reached_host_us.find(record.value);
          if (staged != reached_host_us.end()) start_us = std::max(start_us, staged->second);
        }
        model.record_transfer(from, to, static_cast<double>(record.bytes), std::max(0.0, record.end_us - start_us) * 1e3);
        continue;
      }
      // A zero span means the host saw the op finish before it could start it: no measurement.
      if (record.category != "compute" || record.node < 0 || record.end_us <= record.start_us) continue;
      const Node& node = graph_.nodes[record.node];
      model.record(device_key(*devices_[record.device]), node.op_type, signature(graph_, node),
                   (record.end_us - record.start_us) * 1e3);
    }
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  model.save(path);
}

std::string Session::explain(std::vector<TraceRecord>* predicted) const {
  std::vector<TraceRecord> schedule = executor_->predict();
  double makespan = 0;
  for (const auto& r : schedule) makespan = std::max(makespan, r.end_us);
  std::string text = fmt::format("placement ({} nodes, predicted makespan {:.1f} us):\n", graph_.nodes.size(), makespan);
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    const auto& p = placements_[n];
    text += fmt::format("  {} ({}) -> {}  est {:.1f} us", p.node_name, p.op_type, p.device_id, p.estimated_ns / 1e3);
    std::string others;
    for (size_t d = 0; d < devices_.size(); ++d) {
      if (devices_[d]->id == p.device_id) continue;
      const SupportAnswer& a = support_.support[n][d];
      others += a.supported ? fmt::format("; {}: {:.1f} us", devices_[d]->id, a.estimated_ns / 1e3)
                            : fmt::format("; {}: {}", devices_[d]->id, a.message);
    }
    text += (others.empty() ? "" : "  [" + others.substr(2) + "]") + "\n";
  }
  text += "transfers:\n";
  for (const auto& r : schedule)
    if (r.category == "copy")
      text += fmt::format("  {} ({} bytes) on {}: {:.1f}-{:.1f} us\n", r.name, r.bytes, r.track, r.start_us, r.end_us);
  if (predicted != nullptr) *predicted = std::move(schedule);
  return text;
}

std::vector<std::string> shape_determining_inputs(const Graph& graph) {
  // op -> input slots whose values the op's output shape (or kernel) needs at compile time.
  static const std::map<std::string, std::vector<size_t>> slots = {
      {"Reshape", {1}},      {"Expand", {1}},         {"Tile", {1}},        {"Slice", {1, 2, 3, 4}},
      {"Pad", {1, 3}},       {"Resize", {1, 2, 3}},   {"Upsample", {1}},    {"Split", {1}},
      {"Squeeze", {1}},      {"Unsqueeze", {1}},      {"ReduceMean", {1}},  {"ReduceSum", {1}},
      {"ReduceMax", {1}},    {"ReduceMin", {1}},      {"ReduceProd", {1}},  {"ReduceL1", {1}},
      {"ReduceL2", {1}},     {"ReduceLogSum", {1}},   {"ReduceLogSumExp", {1}}, {"ReduceSumSquare", {1}},
      {"ConstantOfShape", {0}}, {"Range", {0, 1, 2}}, {"TopK", {1}},        {"OneHot", {1}}};
  std::set<int> runtime_inputs(graph.inputs.begin(), graph.inputs.end());
  std::vector<std::string> names;
  for (const Node& node : graph.nodes) {
    auto it = slots.find(node.op_type);
    if (it == slots.end() || !(node.domain.empty() || node.domain == "ai.onnx")) continue;
    for (size_t slot : it->second) {
      if (slot >= node.inputs.size()) continue;
      int v = node.inputs[slot];
      if (v >= 0 && runtime_inputs.count(v) &&
          std::find(names.begin(), names.end(), graph.values[v].name) == names.end())
        names.push_back(graph.values[v].name);
    }
  }
  return names;
}

std::vector<DeviceRecord*> Session::select_devices(const SessionConfig& config) const {
  // The caller's order is kept: the priority policy reads it as preference.
  std::vector<DeviceRecord*> chosen;
  std::set<std::string> unmatched;
  if (config.allowed_devices.empty()) chosen = environment_.devices();
  for (const auto& wanted : config.allowed_devices) {
    bool found = false;
    for (DeviceRecord* device : environment_.devices()) {
      if (wanted != device->id && wanted != device->plugin->name()) continue;
      found = true;
      if (std::find(chosen.begin(), chosen.end(), device) == chosen.end()) chosen.push_back(device);
    }
    if (!found) unmatched.insert(wanted);
  }
  if (!unmatched.empty()) {
    std::string available;
    for (DeviceRecord* device : environment_.devices()) available += (available.empty() ? "" : ", ") + device->id;
    throw Error(HXRT_STATUS_NOT_FOUND, fmt::format("device '{}' is not available (devices: {})", *unmatched.begin(),
                                                   available.empty() ? "none" : available));
  }
  if (chosen.empty()) {
    std::string reasons;
    for (const auto& e : environment_.load_errors()) reasons += "\n  " + e.message;
    throw Error(HXRT_STATUS_UNAVAILABLE,
                "no devices are available: no plugin with devices was loaded" + (reasons.empty() ? "" : ":" + reasons));
  }
  return chosen;
}

void Session::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, RunTrace* trace) {
  if (inputs.size() != graph_.inputs.size() || outputs.size() != graph_.outputs.size())
    throw Error(HXRT_STATUS_INVALID_ARGUMENT, "run: wrong number of inputs or outputs");
  executor_->run(inputs, outputs, trace);
}

void Session::run(const std::map<std::string, const void*>& inputs, const std::map<std::string, void*>& outputs,
                  RunTrace* trace) {
  std::vector<const void*> in(graph_.inputs.size(), nullptr);
  std::vector<bool> given(graph_.inputs.size(), false);  // empty tensors may have no data pointer
  std::vector<void*> out(graph_.outputs.size(), nullptr);
  for (const auto& [name, data] : inputs) {
    auto it = std::find_if(graph_.inputs.begin(), graph_.inputs.end(),
                           [&](int v) { return graph_.values[v].name == name; });
    if (it == graph_.inputs.end()) throw Error(HXRT_STATUS_INVALID_ARGUMENT, "run: the model has no input '" + name + "'");
    in[static_cast<size_t>(it - graph_.inputs.begin())] = data;
    given[static_cast<size_t>(it - graph_.inputs.begin())] = true;
  }
  for (size_t i = 0; i < in.size(); ++i)
    if (!given[i])
      throw Error(HXRT_STATUS_INVALID_ARGUMENT, "run: input '" + graph_.values[graph_.inputs[i]].name + "' is missing");
  for (const auto& [name, data] : outputs) {
    auto it = std::find_if(graph_.outputs.begin(), graph_.outputs.end(),
                           [&](int v) { return graph_.values[v].name == name; });
    if (it == graph_.outputs.end())
      throw Error(HXRT_STATUS_INVALID_ARGUMENT, "run: the model has no output '" + name + "'");
    out[static_cast<size_t>(it - graph_.outputs.begin())] = data;
  }
  executor_->run(in, out, trace);
}

}  // namespace hxrt::host
