#include "vk_stream.hpp"

namespace hxrt::vk {

namespace {
constexpr size_t kMaxItemsPerBatch = 32;  // submit early so long sequences overlap with recording
}

Work::~Work() {
  for (auto& [pool, allocation] : release) pool->free(allocation);
}

StreamCore::StreamCore(Device& device) : device_(device), f_(device.fn()) {
  VkSemaphoreTypeCreateInfo st{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
  st.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
  VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, &st};
  check_vk(f_.vkCreateSemaphore(device_.handle(), &si, nullptr, &semaphore_), "vkCreateSemaphore");
  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = device_.queue_family();
  VkResult r = f_.vkCreateCommandPool(device_.handle(), &pi, nullptr, &pool_);
  if (r != VK_SUCCESS) {
    f_.vkDestroySemaphore(device_.handle(), semaphore_, nullptr);
    throw vk_error(r, "vkCreateCommandPool");
  }
  worker_ = std::thread([this] { complete_loop(); });
}

StreamCore::~StreamCore() {
  shutdown();
  // The semaphore has signalled, but the driver may still be retiring the
  // last batch: wait for the queue before freeing its command buffers.
  device_.wait_idle();
  if (!free_cbs_.empty())
    f_.vkFreeCommandBuffers(device_.handle(), pool_, static_cast<uint32_t>(free_cbs_.size()), free_cbs_.data());
  f_.vkDestroyCommandPool(device_.handle(), pool_, nullptr);
  f_.vkDestroySemaphore(device_.handle(), semaphore_, nullptr);
}

void StreamCore::shutdown() noexcept {
  {
    std::unique_lock lock(mutex_);
    if (stopped_) return;
    try {
      flush_locked();
    } catch (...) {
    }
    stopping_ = true;
    stopped_ = true;
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard lock(mutex_);
  if (current_ != VK_NULL_HANDLE) {
    f_.vkEndCommandBuffer(current_);
    free_cbs_.push_back(current_);
    current_ = VK_NULL_HANDLE;
  }
  current_work_.clear();
}

bool StreamCore::sticky_locked() const {
  for (auto& [value, error] : failures_)
    if (value > cleared_) return true;
  return false;
}

void StreamCore::add_failure_locked(uint64_t value, PluginError error) {
  failures_.emplace_back(value, std::move(error));
}

std::optional<PluginError> StreamCore::failure_in(uint64_t after, uint64_t up_to) {
  std::lock_guard lock(mutex_);
  for (auto& [value, error] : failures_)
    if (value > after && value <= up_to) return error;
  return std::nullopt;
}

void StreamCore::enqueue(Work work) {
  std::lock_guard lock(mutex_);
  if (stopped_) throw PluginError(HXRT_STATUS_FAILED_PRECONDITION, "stream is being destroyed");
  if (sticky_locked()) return;  // R7.4: later work is skipped (its memory is released by ~Work)
  // Host actions need all earlier work finished: give them a batch of their own.
  bool host_part = static_cast<bool>(work.before);
  if (host_part) flush_locked();
  if (work.record) {
    if (current_ == VK_NULL_HANDLE) {
      VkCommandBuffer cb = VK_NULL_HANDLE;
      if (!free_cbs_.empty()) {
        cb = free_cbs_.back();
        check_vk(f_.vkResetCommandBuffer(cb, 0), "vkResetCommandBuffer");
        free_cbs_.pop_back();
      } else {
        VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
        ai.commandPool = pool_;
        ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        ai.commandBufferCount = 1;
        check_vk(f_.vkAllocateCommandBuffers(device_.handle(), &ai, &cb), "vkAllocateCommandBuffers");
      }
      VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
      bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
      VkResult r = f_.vkBeginCommandBuffer(cb, &bi);
      if (r != VK_SUCCESS) {
        free_cbs_.push_back(cb);
        throw vk_error(r, "vkBeginCommandBuffer");
      }
      current_ = cb;
    }
    // Each item sees the effects of everything before it on this queue (R7.2).
    full_barrier(f_, current_);
    work.record(current_);
  }
  current_work_.push_back(std::move(work));
  if (host_part || current_work_.size() >= kMaxItemsPerBatch) flush_locked();
}

bool StreamCore::submit_batch(Batch& batch, bool skip) {
  std::vector<VkSemaphore> wait_semaphores;
  std::vector<uint64_t> wait_values;
  std::vector<VkPipelineStageFlags> wait_stages;
  for (const Capture& c : batch.waits) {
    wait_semaphores.push_back(c.core->semaphore_);
    wait_values.push_back(c.value);
    wait_stages.push_back(VK_PIPELINE_STAGE_ALL_COMMANDS_BIT);
  }
  VkTimelineSemaphoreSubmitInfo ts{VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
  ts.waitSemaphoreValueCount = static_cast<uint32_t>(wait_values.size());
  ts.pWaitSemaphoreValues = wait_values.data();
  ts.signalSemaphoreValueCount = 1;
  ts.pSignalSemaphoreValues = &batch.value;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO, &ts};
  si.waitSemaphoreCount = static_cast<uint32_t>(wait_semaphores.size());
  si.pWaitSemaphores = wait_semaphores.data();
  si.pWaitDstStageMask = wait_stages.data();
  // A skipped batch still signals its value, so events and waits on it finish.
  si.commandBufferCount = batch.cb != VK_NULL_HANDLE && !skip ? 1 : 0;
  si.pCommandBuffers = &batch.cb;
  si.signalSemaphoreCount = 1;
  si.pSignalSemaphores = &semaphore_;
  if (skip)
    for (auto& w : batch.work) w.after = nullptr;
  VkResult r = device_.submit(si);
  batch.submitted = true;
  if (r == VK_SUCCESS) return true;
  batch.host_signal = true;
  batch.submit_error = r;
  for (auto& w : batch.work) w.after = nullptr;
  return false;
}

void StreamCore::flush_locked() {
  if (current_work_.empty() && pending_waits_.empty() && pending_host_waits_.empty() && current_ == VK_NULL_HANDLE)
    return;
  Batch batch;
  batch.value = submitted_ + 1;
  batch.work = std::move(current_work_);
  batch.waits = std::move(pending_waits_);
  batch.host_waits = std::move(pending_host_waits_);
  current_work_.clear();
  pending_waits_.clear();
  pending_host_waits_.clear();
  bool failed = false;
  if (current_ != VK_NULL_HANDLE) {
    full_barrier(f_, current_);  // makes results visible to host reads
    VkResult r = f_.vkEndCommandBuffer(current_);
    batch.cb = current_;
    current_ = VK_NULL_HANDLE;
    if (r != VK_SUCCESS) {
      add_failure_locked(batch.value, vk_error(r, "vkEndCommandBuffer"));
      failed = true;
    }
  }
  bool host_part = !batch.host_waits.empty();
  for (auto& w : batch.work) host_part = host_part || static_cast<bool>(w.before);
  submitted_ = batch.value;
  if (host_part || unsubmitted_ > 0) {
    ++unsubmitted_;  // the completion thread submits it once earlier work finished
  } else {
    // Submitting under our lock keeps batch order equal to queue order.
    if (!submit_batch(batch, failed || sticky_locked()))
      add_failure_locked(batch.value, vk_error(batch.submit_error, "vkQueueSubmit"));
  }
  in_flight_.push_back(std::move(batch));
  work_cv_.notify_all();
}

void StreamCore::complete_loop() {
  for (;;) {
    Batch* batch = nullptr;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return !in_flight_.empty() || stopping_; });
      if (in_flight_.empty()) return;
      batch = &in_flight_.front();  // stable: only this thread pops
    }
    std::optional<PluginError> failure;
    // R7.5: a stream waiting on an event inherits the error the event carries.
    std::optional<PluginError> inherited;
    if (!batch->submitted) {
      for (const Capture& c : batch->host_waits) {
        c.core->wait_completed(c.value);
        if (!inherited) inherited = c.core->failure_in(c.cleared, c.value);
      }
      bool skip = static_cast<bool>(inherited);
      {
        std::lock_guard lock(mutex_);
        skip = skip || sticky_locked();
      }
      for (auto& w : batch->work) {
        if (!w.before || skip || failure) continue;
        try {
          w.before();
        } catch (const PluginError& e) {
          failure = e;
        } catch (const std::exception& e) {
          failure = PluginError(HXRT_STATUS_INTERNAL, e.what());
        }
      }
      bool ok = submit_batch(*batch, skip || failure.has_value());
      std::lock_guard lock(mutex_);
      if (!ok) add_failure_locked(batch->value, vk_error(batch->submit_error, "vkQueueSubmit"));
      --unsubmitted_;
    }
    if (batch->host_signal) {
      VkSemaphoreSignalInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO};
      si.semaphore = semaphore_;
      si.value = batch->value;
      f_.vkSignalSemaphore(device_.handle(), &si);
    } else {
      VkSemaphoreWaitInfo wi{VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
      wi.semaphoreCount = 1;
      wi.pSemaphores = &semaphore_;
      wi.pValues = &batch->value;
      VkResult r = f_.vkWaitSemaphores(device_.handle(), &wi, UINT64_MAX);
      if (r != VK_SUCCESS && !failure) failure = vk_error(r, "waiting for stream work");
    }
    if (!failure) {
      for (auto& w : batch->work) {
        if (!w.after) continue;
        try {
          w.after();
        } catch (const PluginError& e) {
          if (!failure) failure = e;
        } catch (const std::exception& e) {
          if (!failure) failure = PluginError(HXRT_STATUS_INTERNAL, e.what());
        }
      }
    }
    for (const Capture& c : batch->waits)
      if (!inherited) inherited = c.core->failure_in(c.cleared, c.value);
    VkCommandBuffer cb = batch->cb;
    {
      std::lock_guard lock(mutex_);
      if (failure) add_failure_locked(batch->value, *failure);
      if (inherited && !sticky_locked()) add_failure_locked(batch->value, *inherited);
      if (cb != VK_NULL_HANDLE) free_cbs_.push_back(cb);
      completed_ = batch->value;
      in_flight_.pop_front();  // ~Work releases memory
    }
    done_cv_.notify_all();
  }
}

Capture StreamCore::record_event() {
  std::lock_guard lock(mutex_);
  flush_locked();
  return Capture{shared_from_this(), cleared_, submitted_};
}

void StreamCore::wait(const Capture& capture) {
  if (capture.core == nullptr || capture.value == 0) return;  // never recorded: nothing to wait for
  if (capture.core.get() == this) return;  // in-order already (its error is ours)
  // Asked before taking our lock: two streams may wait on each other's events.
  std::optional<PluginError> error = capture.core->failure_in(capture.cleared, capture.value);
  std::lock_guard lock(mutex_);
  if (error && !sticky_locked()) {
    flush_locked();  // work enqueued before the wait still runs
    add_failure_locked(submitted_ + 1, *error);
  }
  // Timeline semaphores belong to one VkDevice: other devices are waited for on the host.
  if (&capture.core->device_ == &device_)
    pending_waits_.push_back(capture);
  else
    pending_host_waits_.push_back(capture);
}

void StreamCore::wait_completed(uint64_t value) {
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [&] { return completed_ >= value; });
}

bool StreamCore::is_completed(uint64_t value) {
  std::lock_guard lock(mutex_);
  return completed_ >= value;
}

std::optional<PluginError> StreamCore::synchronize() {
  std::unique_lock lock(mutex_);
  flush_locked();
  uint64_t target = submitted_;
  done_cv_.wait(lock, [&] { return completed_ >= target; });
  std::optional<PluginError> error;
  for (auto& [value, e] : failures_)
    if (value > cleared_ && value <= target && !error) error = e;
  cleared_ = std::max(cleared_, target);
  return error;
}

}  // namespace hxrt::vk
