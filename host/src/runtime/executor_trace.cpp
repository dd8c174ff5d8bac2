// Tracing and the predicted schedule: what each action looks like on a
// timeline, the schedule the plugins' estimates predict, and traced runs that
// record when each action really ran.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "abi_views.hpp"
#include "executor_state.hpp"

namespace hxrt::host {

TraceRecord Executor::describe(const Action& a) const {
  TraceRecord r;
  int stream = stream_of(a);
  static const char* roles[] = {" stream", " copy-in stream", " copy-out stream"};
  r.track = devices_[stream]->id + roles[role_of(a)];
  r.device = stream;
  if (a.kind == ActionKind::kExecute) {
    const Step& step = steps_[a.step];
    r.name = step_name(step);
    r.category = "compute";
    if (step.nodes.size() == 1) r.node = step.nodes.front();  // calibration keys single nodes only
    return r;
  }
  static const char* kinds[] = {"upload", "", "to staging", "from staging", "peer copy", "download"};
  r.name = std::string(kinds[static_cast<int>(a.kind)]) + " " + graph_.values[a.value].name;
  r.category = "copy";
  r.bytes = static_cast<uint64_t>(bytes_of(a.value));
  r.value = a.value;
  switch (a.kind) {
    case ActionKind::kUpload: case ActionKind::kFromStaging: r.copy_from = -1; r.copy_to = a.to; break;
    case ActionKind::kToStaging: case ActionKind::kDownloadOutput: r.copy_from = a.from; r.copy_to = -1; break;
    case ActionKind::kPeerCopy: r.copy_from = a.from; r.copy_to = a.to; break;
    case ActionKind::kExecute: break;
  }
  return r;
}

// Replays the action list against the plugins' estimates and transfer costs:
// each stream runs its actions in order; a value is ready when its producer
// or copy finishes.
std::vector<TraceRecord> Executor::predict() const {
  std::vector<double> stream_free(devices_.size() * kRoles, 0.0);
  std::map<Key, double> ready;  // (value, device) -> time available, us
  auto link_us = [](const hxrt_link_cost& link, uint64_t bytes) {
    double bw = link.bandwidth_bytes_per_s > 0 ? link.bandwidth_bytes_per_s : 1e9;
    return (link.latency_ns + 1e9 * static_cast<double>(bytes) / bw) / 1e3;
  };
  std::vector<TraceRecord> out;
  for (const Action& a : actions_) {
    TraceRecord r = describe(a);
    int device = stream_of(a);
    size_t stream = static_cast<size_t>(device) * kRoles + role_of(a);
    const hxrt_transfer_costs& costs =
        options_.transfer_costs.empty() ? devices_[device]->transfer_costs : options_.transfer_costs[device];
    double earliest = stream_free[stream], duration = 0;
    switch (a.kind) {
      case ActionKind::kUpload: duration = link_us(costs.host_to_device_pageable, r.bytes); break;
      case ActionKind::kExecute:
        for (const Key& k : steps_[a.step].inputs) earliest = std::max(earliest, ready[k]);
        for (int n : steps_[a.step].nodes) duration += estimated_ns_.empty() ? 0 : estimated_ns_[n] / 1e3;
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
void Executor::run_traced(Context& c, RunState& run, const std::vector<const void*>& inputs,
                          const std::vector<void*>& outputs, RunTrace& trace) {
  using Clock = std::chrono::steady_clock;
  if (c.trace_events.empty())
    for (const Action& a : actions_) c.trace_events.push_back(create_event(*devices_[stream_of(a)]));
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
  // An action on one stream that waited for another stream's action (an op
  // for its upload, a download for its op) starts no earlier than that ended.
  std::vector<std::vector<size_t>> deps(actions_.size());
  {
    std::map<Key, size_t> arrival_of;  // (value, device) -> the copy-in action that delivers it
    for (size_t i = 0; i < actions_.size(); ++i) {
      const Action& a = actions_[i];
      // An upload skipped for zero-copy delays nothing: its record is not a dependency.
      bool skipped_upload = a.kind == ActionKind::kUpload && run.bound.count({a.value, a.to}) > 0;
      if (role_of(a) == kCopyIn && !skipped_upload) arrival_of[{a.value, a.to}] = i;
      if (a.kind == ActionKind::kExecute) {
        for (const Key& k : steps_[a.step].inputs)
          if (auto it = arrival_of.find(k); it != arrival_of.end()) deps[i].push_back(it->second);
      }
      if ((a.kind == ActionKind::kDownloadOutput || a.kind == ActionKind::kToStaging) && role_of(a) != kCompute)
        deps[i].push_back(static_cast<size_t>(execute_action_[producer_step_.at({a.value, a.from})]));
      if (enqueue_after_[i] >= 0) deps[i].push_back(static_cast<size_t>(enqueue_after_[i]));
    }
  }
  std::mutex ends_mutex;
  std::condition_variable ends_cv;
  std::vector<double> ends(actions_.size(), -1.0);
  trace.origin_us = std::chrono::duration<double, std::micro>(t0.time_since_epoch()).count();
  std::vector<std::unique_ptr<Waiter>> waiters(c.streams.size());
  for (size_t s = 0; s < c.streams.size(); ++s) {
    if (!c.streams[s]) continue;
    waiters[s] = std::make_unique<Waiter>();
    Waiter* w = waiters[s].get();
    size_t d = s / kRoles;
    w->thread = std::thread([this, w, d, &c, &records, &now_us, &deps, &ends, &ends_mutex, &ends_cv] {
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
        hxrt_plugin_status* status = devices_[d]->plugin->api().event_synchronize(c.trace_events[item.action].get());
        if (status != nullptr) devices_[d]->plugin->api().status_destroy(status);  // run() reports errors
        double end = now_us();
        double start = std::max(item.enqueued_us, previous_end);
        {
          std::unique_lock lock(ends_mutex);
          for (size_t dep : deps[item.action]) {
            ends_cv.wait(lock, [&] { return ends[dep] >= 0; });  // stamped by its stream's waiter
            start = std::max(start, ends[dep]);
          }
          ends[item.action] = end;
        }
        ends_cv.notify_all();
        records[item.action] = describe(actions_[item.action]);
        records[item.action].start_us = std::min(start, end);
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
  std::mutex host_waits_mutex;
  try {
    dispatch([&](size_t i) {
      const Action& a = actions_[i];
      double enqueued = now_us();
      perform(c, run, i, inputs, outputs);
      if (a.kind == ActionKind::kFromStaging) {
        std::lock_guard lock(host_waits_mutex);
        host_waits.push_back({"host", "wait for " + graph_.values[a.value].name, "wait", enqueued, now_us(), 0});
      }
      size_t stream = static_cast<size_t>(stream_of(a)) * kRoles + role_of(a);
      record_event(*devices_[stream_of(a)], c.trace_events[i].get(), c.streams[stream].get());
      Waiter& w = *waiters[stream];
      {
        std::lock_guard lock(w.mutex);
        w.queue.push_back({i, enqueued});
      }
      w.cv.notify_one();
    });
  } catch (...) {
    close_waiters();
    throw;
  }
  close_waiters();
  // Copies the run skipped because the caller's buffer was bound zero-copy:
  // kept (one record per action) but not counted as copies.
  for (size_t i = 0; i < actions_.size(); ++i) {
    const Action& a = actions_[i];
    bool skipped = false;
    if (a.kind == ActionKind::kUpload) skipped = run.bound.count({a.value, a.to}) > 0;
    if (a.kind == ActionKind::kDownloadOutput) {
      auto it = run.bound_host.find({a.value, a.from});
      skipped = outputs[a.slot] == nullptr || (it != run.bound_host.end() && it->second == outputs[a.slot]);
    }
    if (!skipped) continue;
    records[i].category = "zero-copy";
    records[i].name += " (no copy)";
    records[i].bytes = 0;
    records[i].end_us = records[i].start_us;
  }
  trace.measured = std::move(records);
  trace.measured.insert(trace.measured.end(), host_waits.begin(), host_waits.end());
  trace.predicted = predict();
}

}  // namespace hxrt::host
