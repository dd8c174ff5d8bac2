#include "hxrt/plugin_support/host_stream.hpp"

namespace hxrt::plugin {

void EventState::complete(std::optional<PluginError> error) {
  std::lock_guard lock(mutex_);
  error_ = std::move(error);
  done_ = true;
  done_cv_.notify_all();
}

std::optional<PluginError> EventState::wait() {
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [&] { return done_; });
  return error_;
}

bool EventState::is_complete() {
  std::lock_guard lock(mutex_);
  return done_;
}

HostEvent::HostEvent() : state_(std::make_shared<EventState>()) { state_->complete(std::nullopt); }

std::shared_ptr<EventState> HostEvent::current() {
  std::lock_guard lock(mutex_);
  return state_;
}

void HostEvent::set_current(std::shared_ptr<EventState> state) {
  std::lock_guard lock(mutex_);
  state_ = std::move(state);
}

HostStream::HostStream() : worker_([this] { run(); }) {}

HostStream::~HostStream() {
  {
    std::unique_lock lock(mutex_);
    idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
    stopping_ = true;
  }
  work_cv_.notify_all();
  worker_.join();
}

void HostStream::enqueue(Task task) { push(std::move(task), false); }

void HostStream::push(Task task, bool runs_after_error) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Entry{std::move(task), runs_after_error});
  }
  work_cv_.notify_one();
}

void HostStream::record(HostEvent& event) {
  auto state = std::make_shared<EventState>();
  event.set_current(state);
  // The marker task runs even when the stream has failed: it must signal.
  push(
      [this, state] {
        std::optional<PluginError> error;
        {
          std::lock_guard lock(mutex_);
          error = error_;
        }
        state->complete(std::move(error));
      },
      true);
}

void HostStream::wait_for(HostEvent& event) {
  auto state = event.current();
  enqueue([this, state] {
    if (auto error = state->wait()) fail(*error);
  });
}

std::optional<PluginError> HostStream::synchronize() {
  std::unique_lock lock(mutex_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
  auto error = std::move(error_);
  error_.reset();
  return error;
}

void HostStream::fail(PluginError error) {
  std::lock_guard lock(mutex_);
  if (!error_) error_ = std::move(error);
}

void HostStream::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    Entry entry = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    bool skip = error_.has_value() && !entry.runs_after_error;
    lock.unlock();
    try {
      if (!skip) entry.task();
    } catch (const PluginError& e) {
      fail(e);
    } catch (const std::bad_alloc&) {
      fail(PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "out of host memory"));
    } catch (const std::exception& e) {
      fail(PluginError(HXRT_STATUS_INTERNAL, e.what()));
    } catch (...) {
      fail(PluginError(HXRT_STATUS_INTERNAL, "unknown exception in stream task"));
    }
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace hxrt::plugin
