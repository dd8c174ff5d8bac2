#include "executor.hpp"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "abi_views.hpp"

namespace hxrt::host {

Executor::Executor(const Graph& graph, std::vector<DeviceRecord*> devices, const Placement& placement,
                   std::vector<double> estimated_ns, const Logger& logger)
    : graph_(graph), devices_(std::move(devices)), logger_(logger), estimated_ns_(std::move(estimated_ns)) {
  home_.assign(graph.values.size(), -1);
  graph_input_slot_.assign(graph.values.size(), -1);
  for (size_t i = 0; i < graph.inputs.size(); ++i) graph_input_slot_[graph.inputs[i]] = static_cast<int>(i);
  std::set<int> used_devices;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    used_devices.insert(placement.device_of_node[n]);
    for (int v : graph.nodes[n].outputs)
      if (v >= 0) home_[v] = placement.device_of_node[n];
  }
  streams_.resize(devices_.size());
  for (int d : used_devices) streams_[d] = create_stream(*devices_[d]);

  std::set<Key> resident;  // (value, device) pairs some action fills
  std::vector<Action> actions;
  // Inputs go up as soon as a run starts.
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    int d = placement.device_of_node[n];
    for (int v : graph.nodes[n].inputs) {
      if (v < 0 || graph.values[v].constant || graph_input_slot_[v] < 0) continue;
      if (resident.insert({v, d}).second)
        actions.push_back({ActionKind::kUpload, v, -1, d, -1, graph_input_slot_[v], nullptr});
    }
  }
  // Values that cross plugins are staged right after they are produced.
  std::map<int, std::set<int>> consumers_elsewhere;  // value -> devices other than home
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (int v : graph.nodes[n].inputs)
      if (v >= 0 && home_[v] >= 0 && home_[v] != placement.device_of_node[n])
        consumers_elsewhere[v].insert(placement.device_of_node[n]);

  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    int d = placement.device_of_node[n];
    Step step{static_cast<int>(n), d, nullptr, {}, {}, {}, {}};
    SubgraphView view(graph, {static_cast<int>(n)}, /*all_outputs=*/true);
    for (int v : view.input_values()) {
      if (home_[v] >= 0 && home_[v] != d && resident.insert({v, d}).second) plan_transfer(v, d, actions);
      step.inputs.push_back({v, d});
    }
    for (int v : view.output_values()) step.outputs.push_back({v, d});
    step.executable = compile(*devices_[d], view.desc(), fmt::format("node '{}' ({})", node.name, node.op_type));
    steps_.push_back(std::move(step));
    actions.push_back({ActionKind::kExecute, -1, -1, d, static_cast<int>(steps_.size() - 1), -1, nullptr});
    for (int v : node.outputs) {
      if (v < 0) continue;
      auto it = consumers_elsewhere.find(v);
      bool crosses_plugins = false;
      if (it != consumers_elsewhere.end())
        for (int c : it->second) crosses_plugins |= devices_[c]->plugin != devices_[d]->plugin;
      if (crosses_plugins) {
        events_.push_back(create_event(*devices_[d]));
        staging_[v].resize(static_cast<size_t>(bytes_of(v)));
        staging_event_[v] = events_.back().get();
        actions.push_back({ActionKind::kToStaging, v, d, -1, -1, -1, events_.back().get()});
      }
      for (size_t o = 0; o < graph.outputs.size(); ++o)
        if (graph.outputs[o] == v)
          actions.push_back({ActionKind::kDownloadOutput, v, d, -1, -1, static_cast<int>(o), nullptr});
    }
  }
  actions_ = std::move(actions);
  plan_memory();
}

Executor::~Executor() {
  // Let in-flight work finish before arenas and executables go away.
  for (size_t d = 0; d < streams_.size(); ++d) {
    if (!streams_[d]) continue;
    try {
      synchronize_stream(*devices_[d], streams_[d].get(), "stream failed while destroying a session");
    } catch (const Error& e) {
      logger_.warning(e.message());
    }
  }
}

int64_t Executor::bytes_of(int value) const {
  const Value& v = graph_.values[value];
  return element_count(*v.shape) * static_cast<int64_t>(dtype_size(v.dtype));
}

void Executor::plan_transfer(int value, int device, std::vector<Action>& actions) {
  int from = home_[value];
  if (devices_[from]->plugin == devices_[device]->plugin && devices_[from]->plugin->api().copy_on_device != nullptr) {
    events_.push_back(create_event(*devices_[from]));
    actions.push_back({ActionKind::kPeerCopy, value, from, device, -1, -1, events_.back().get()});
    return;
  }
  if (!staging_.count(value)) {
    // Same plugin without a device-to-device path: stage right after the producer.
    events_.push_back(create_event(*devices_[from]));
    staging_[value].resize(static_cast<size_t>(bytes_of(value)));
    staging_event_[value] = events_.back().get();
    for (size_t i = 0; i < actions.size(); ++i) {
      if (actions[i].kind != ActionKind::kExecute) continue;
      const auto& produced = graph_.nodes[steps_[actions[i].step].node].outputs;
      if (std::find(produced.begin(), produced.end(), value) == produced.end()) continue;
      actions.insert(actions.begin() + static_cast<long>(i) + 1,
                     {ActionKind::kToStaging, value, from, -1, -1, -1, events_.back().get()});
      break;
    }
  }
  actions.push_back({ActionKind::kFromStaging, value, from, device, -1, -1, staging_event_.at(value)});
}

// Lifetimes are spans of the action list. Every action on a device's memory
// runs on that device's one stream, in action order, so reuse after the last
// use is safe; the one exception is a peer copy, which reads the source
// device's memory from the destination's stream: such sources stay live to
// the end of the run.
void Executor::plan_memory() {
  std::map<Key, std::pair<int, int>> span;  // first, last action index
  auto touch = [&](int value, int device, int index) {
    auto [it, inserted] = span.emplace(Key{value, device}, std::make_pair(index, index));
    if (!inserted) it->second.second = std::max(it->second.second, index);
  };
  int end = static_cast<int>(actions_.size());
  for (int i = 0; i < end; ++i) {
    const Action& a = actions_[i];
    switch (a.kind) {
      case ActionKind::kUpload: case ActionKind::kFromStaging: touch(a.value, a.to, i); break;
      case ActionKind::kToStaging: case ActionKind::kDownloadOutput: touch(a.value, a.from, i); break;
      case ActionKind::kPeerCopy: touch(a.value, a.from, end); touch(a.value, a.to, i); break;
      case ActionKind::kExecute:
        for (const Key& k : steps_[a.step].inputs) touch(k.first, k.second, i);
        for (const Key& k : steps_[a.step].outputs) touch(k.first, k.second, i);
        break;
    }
  }
  arenas_.resize(devices_.size());
  for (size_t d = 0; d < devices_.size(); ++d) {
    std::vector<Key> keys;
    std::vector<TensorLifetime> lifetimes;
    for (const auto& [key, first_last] : span) {
      if (key.second != static_cast<int>(d)) continue;
      keys.push_back(key);
      lifetimes.push_back({static_cast<uint64_t>(bytes_of(key.first)), first_last.first, first_last.second});
    }
    if (keys.empty()) continue;
    MemoryPlan plan = plan_memory_offsets(lifetimes);
    // Cheap next to compiling: a wrong plan would corrupt results silently.
    if (std::string problem = validate_memory_plan(lifetimes, plan); !problem.empty())
      throw Error(HXRT_STATUS_INTERNAL, devices_[d]->id + ": memory plan is invalid: " + problem);
    arenas_[d] = allocate_buffer(*devices_[d], plan.arena_bytes);
    for (size_t i = 0; i < keys.size(); ++i) slices_[keys[i]] = {arenas_[d].get(), plan.offsets[i]};
    memory_stats_.push_back({devices_[d]->id, plan.arena_bytes, plan.naive_bytes});
  }
  for (Step& step : steps_) {
    for (const Key& k : step.inputs) step.input_slices.push_back(slices_.at(k));
    for (const Key& k : step.outputs) step.output_slices.push_back(slices_.at(k));
  }
}

void Executor::perform(const Action& a, const std::vector<const void*>& inputs, const std::vector<void*>& outputs) {
  uint64_t size = a.value >= 0 ? static_cast<uint64_t>(bytes_of(a.value)) : 0;
  switch (a.kind) {
    case ActionKind::kUpload:
      copy_to_device(*devices_[a.to], streams_[a.to].get(), inputs[a.slot], slice(a.value, a.to), size);
      break;
    case ActionKind::kExecute: {
      const Step& step = steps_[a.step];
      const Node& node = graph_.nodes[step.node];
      execute(*devices_[step.device], step.executable.get(), streams_[step.device].get(), step.input_slices,
              step.output_slices, fmt::format("executing node '{}' ({})", node.name, node.op_type));
      break;
    }
    case ActionKind::kToStaging:
      copy_to_host(*devices_[a.from], streams_[a.from].get(), slice(a.value, a.from), staging_.at(a.value).data(), size);
      record_event(*devices_[a.from], a.event, streams_[a.from].get());
      break;
    case ActionKind::kFromStaging:
      // The one place the host waits mid-run: a value crossing plugins.
      synchronize_event(*devices_[a.from], a.event, "waiting for a staged transfer");
      copy_to_device(*devices_[a.to], streams_[a.to].get(), staging_.at(a.value).data(), slice(a.value, a.to), size);
      break;
    case ActionKind::kPeerCopy:
      record_event(*devices_[a.from], a.event, streams_[a.from].get());
      wait_event(*devices_[a.to], streams_[a.to].get(), a.event);
      copy_on_device(*devices_[a.to], streams_[a.to].get(), slice(a.value, a.from), slice(a.value, a.to), size);
      break;
    case ActionKind::kDownloadOutput:
      if (outputs[a.slot] != nullptr)
        copy_to_host(*devices_[a.from], streams_[a.from].get(), slice(a.value, a.from), outputs[a.slot], size);
      break;
  }
}

void Executor::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, RunTrace* trace) {
  std::lock_guard lock(run_mutex_);
  std::optional<Error> first_error;
  try {
    if (trace != nullptr) run_traced(inputs, outputs, *trace);
    else
      for (const Action& action : actions_) perform(action, inputs, outputs);
  } catch (const Error& e) {
    first_error = e;
  }
  // Always drain every stream, so no work still touches caller memory after we return.
  for (size_t d = 0; d < streams_.size(); ++d) {
    if (!streams_[d]) continue;
    try {
      synchronize_stream(*devices_[d], streams_[d].get(), "run failed");
    } catch (const Error& e) {
      if (!first_error) first_error = e;
    }
  }
  if (first_error) throw *first_error;
  // Outputs that no device produces: constants and pass-through inputs.
  for (size_t o = 0; o < graph_.outputs.size(); ++o) {
    int v = graph_.outputs[o];
    if (outputs[o] == nullptr || home_[v] >= 0) continue;
    const Value& value = graph_.values[v];
    if (value.constant) std::memcpy(outputs[o], value.constant->bytes.data(), value.constant->bytes.size());
    else if (graph_input_slot_[v] >= 0)
      std::memcpy(outputs[o], inputs[graph_input_slot_[v]], static_cast<size_t>(bytes_of(v)));
  }
}

int Executor::stream_of(const Action& a) const {
  switch (a.kind) {
    case ActionKind::kUpload: case ActionKind::kFromStaging: case ActionKind::kPeerCopy: return a.to;
    case ActionKind::kExecute: return steps_[a.step].device;
    case ActionKind::kToStaging: case ActionKind::kDownloadOutput: return a.from;
  }
  return -1;
}

TraceRecord Executor::describe(const Action& a) const {
  TraceRecord r;
  int stream = stream_of(a);
  r.track = devices_[stream]->id + " stream";
  if (a.kind == ActionKind::kExecute) {
    const Node& node = graph_.nodes[steps_[a.step].node];
    r.name = node.name + " (" + node.op_type + ")";
    r.category = "compute";
    return r;
  }
  static const char* kinds[] = {"upload", "", "to staging", "from staging", "peer copy", "download"};
  r.name = std::string(kinds[static_cast<int>(a.kind)]) + " " + graph_.values[a.value].name;
  r.category = "copy";
  r.bytes = static_cast<uint64_t>(bytes_of(a.value));
  return r;
}

// Replays the action list against the plugins' estimates and transfer costs:
// each stream runs its actions in order; a value is ready when its producer
// or copy finishes.
std::vector<TraceRecord> Executor::predict() const {
  std::vector<double> stream_free(devices_.size(), 0.0);
  std::map<Key, double> ready;  // (value, device) -> time available, us
  auto link_us = [](const hxrt_link_cost& link, uint64_t bytes) {
    double bw = link.bandwidth_bytes_per_s > 0 ? link.bandwidth_bytes_per_s : 1e9;
    return (link.latency_ns + 1e9 * static_cast<double>(bytes) / bw) / 1e3;
  };
  std::vector<TraceRecord> out;
  for (const Action& a : actions_) {
    TraceRecord r = describe(a);
    int stream = stream_of(a);
    const hxrt_transfer_costs& costs = devices_[stream]->transfer_costs;
    double earliest = stream_free[stream], duration = 0;
    switch (a.kind) {
      case ActionKind::kUpload: duration = link_us(costs.host_to_device_pageable, r.bytes); break;
      case ActionKind::kExecute:
        for (const Key& k : steps_[a.step].inputs) earliest = std::max(earliest, ready[k]);
        duration = estimated_ns_.empty() ? 0 : estimated_ns_[steps_[a.step].node] / 1e3;
        break;
      case ActionKind::kToStaging: case ActionKind::kDownloadOutput:
        earliest = std::max(earliest, ready[{a.value, a.from}]);
        duration = link_us(costs.device_to_host_pageable, r.bytes);
        break;
      case ActionKind::kFromStaging:
        earliest = std::max(earliest, ready[{a.value, -1}]);
        duration = link_us(costs.host_to_device_pageable, r.bytes);
        break;
      case ActionKind::kPeerCopy:
        earliest = std::max(earliest, ready[{a.value, a.from}]);
        duration = link_us(costs.device_to_device, r.bytes);
        break;
    }
    r.start_us = earliest;
    r.end_us = earliest + duration;
    stream_free[stream] = r.end_us;
    if (a.kind == ActionKind::kExecute)
      for (const Key& k : steps_[a.step].outputs) ready[k] = r.end_us;
    else if (a.kind == ActionKind::kToStaging) ready[{a.value, -1}] = r.end_us;
    else if (a.kind != ActionKind::kDownloadOutput) ready[{a.value, a.to}] = r.end_us;
    out.push_back(std::move(r));
  }
  return out;
}

// Tracing: after each action the host records an event on the action's
// stream; one waiter thread per stream waits for those events in order and
// stamps their completion. An action starts when it was enqueued or when the
// previous action on its stream completed, whichever is later.
void Executor::run_traced(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, RunTrace& trace) {
  using Clock = std::chrono::steady_clock;
  if (trace_events_.empty())
    for (const Action& a : actions_) trace_events_.push_back(create_event(*devices_[stream_of(a)]));
  struct Item {
    size_t action;
    double enqueued_us;
  };
  struct Waiter {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<Item> queue;
    bool closed = false;
    std::thread thread;
  };
  Clock::time_point t0 = Clock::now();
  auto now_us = [&] { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); };
  std::vector<TraceRecord> records(actions_.size());
  std::vector<std::unique_ptr<Waiter>> waiters(devices_.size());
  for (size_t d = 0; d < devices_.size(); ++d) {
    if (!streams_[d]) continue;
    waiters[d] = std::make_unique<Waiter>();
    Waiter* w = waiters[d].get();
    w->thread = std::thread([this, w, d, &records, &now_us] {
      double previous_end = 0;
      for (;;) {
        Item item;
        {
          std::unique_lock lock(w->mutex);
          w->cv.wait(lock, [&] { return w->closed || !w->queue.empty(); });
          if (w->queue.empty()) return;
          item = w->queue.front();
          w->queue.pop_front();
        }
        hxrt_plugin_status* status = devices_[d]->plugin->api().event_synchronize(trace_events_[item.action].get());
        if (status != nullptr) devices_[d]->plugin->api().status_destroy(status);  // run() reports errors
        double end = now_us();
        records[item.action] = describe(actions_[item.action]);
        records[item.action].start_us = std::max(item.enqueued_us, previous_end);
        records[item.action].end_us = end;
        previous_end = end;
      }
    });
  }
  std::vector<TraceRecord> host_waits;
  auto close_waiters = [&] {
    for (auto& w : waiters) {
      if (!w) continue;
      {
        std::lock_guard lock(w->mutex);
        w->closed = true;
      }
      w->cv.notify_all();
      w->thread.join();
    }
  };
  try {
    for (size_t i = 0; i < actions_.size(); ++i) {
      const Action& a = actions_[i];
      double enqueued = now_us();
      perform(a, inputs, outputs);
      if (a.kind == ActionKind::kFromStaging)
        host_waits.push_back({"host", "wait for " + graph_.values[a.value].name, "wait", enqueued, now_us(), 0});
      int stream = stream_of(a);
      record_event(*devices_[stream], trace_events_[i].get(), streams_[stream].get());
      Waiter& w = *waiters[stream];
      {
        std::lock_guard lock(w.mutex);
        w.queue.push_back({i, enqueued});
      }
      w.cv.notify_one();
    }
  } catch (...) {
    close_waiters();
    throw;
  }
  close_waiters();
  trace.measured = std::move(records);
  trace.measured.insert(trace.measured.end(), host_waits.begin(), host_waits.end());
  trace.predicted = predict();
}

}  // namespace hxrt::host
