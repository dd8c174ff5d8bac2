// In-order streams and events run by a host worker thread, for plugins whose
// device is driven from the host (the CPU plugin, simple vendor plugins).
//
// Semantics follow docs/abi.md R7: work runs in enqueue order; an error raised
// by a task is sticky on the stream (later tasks are skipped) until
// synchronize() returns it; an event records the stream's error state at its
// point, and a stream waiting on an event inherits that event's error.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "hxrt/plugin_support/status.hpp"

namespace hxrt::plugin {

// The outcome of work up to one event record; shared by the event and the
// tasks that signal or wait for it.
class EventState {
 public:
  void complete(std::optional<PluginError> error);
  // Blocks until complete; returns the error carried, if any.
  std::optional<PluginError> wait();
  bool is_complete();

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::optional<PluginError> error_;
};

class HostEvent {
 public:
  // A never-recorded event counts as complete (like CUDA and Vulkan events).
  HostEvent();
  std::shared_ptr<EventState> current();
  void set_current(std::shared_ptr<EventState> state);

 private:
  std::mutex mutex_;
  std::shared_ptr<EventState> state_;
};

class HostStream {
 public:
  using Task = std::function<void()>;  // throws PluginError (or anything) on failure

  HostStream();
  ~HostStream();  // drains queued work, then joins the worker
  HostStream(const HostStream&) = delete;
  HostStream& operator=(const HostStream&) = delete;

  void enqueue(Task task);
  void record(HostEvent& event);
  void wait_for(HostEvent& event);
  // Waits for all enqueued work; returns and clears the sticky error.
  std::optional<PluginError> synchronize();

 private:
  void run();
  void fail(PluginError error);

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  struct Entry {
    Task task;
    bool runs_after_error;  // event markers must signal even on a failed stream
  };
  void push(Task task, bool runs_after_error);

  std::deque<Entry> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::optional<PluginError> error_;  // guarded by mutex_
  std::thread worker_;
};

}  // namespace hxrt::plugin
