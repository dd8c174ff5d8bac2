// Streams and events on a Vulkan queue (docs/abi.md R7).
//
// A stream records enqueued work into a command buffer and submits it in
// batches, each signalling the stream's timeline semaphore with the next
// value. Event records capture (stream, value); cross-stream waits are
// semaphore waits on the GPU. A per-stream completion thread waits for each
// batch in order, then runs its host-side actions (read-back memcpys into
// pageable memory), releases its staging and scratch memory and publishes
// the completed value, so host waits see those actions done. Failures
// (submit errors, a lost device) are kept per batch value: the sticky error
// is the first failure after the last stream_synchronize, and an event
// carries the first failure up to its value.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "vk_device.hpp"

namespace hxrt::vk {

// One item of stream work, prepared before the stream lock is taken so a
// failure to prepare leaves the stream unchanged (R7.3).
struct Work {
  std::function<void(VkCommandBuffer)> record;  // may be empty (an ordered no-op)
  std::function<void()> before;                 // host action once all earlier work completed
  std::function<void()> after;                  // host action once the GPU part completed
  std::vector<std::pair<MemoryPool*, Allocation>> release;  // freed once completed
  std::vector<std::shared_ptr<const void>> keep;            // kept alive until completed
  Work() = default;
  Work(Work&&) = default;  // a moved-from Work has nothing left to release
  Work& operator=(Work&&) = default;
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;
  ~Work();
};

class StreamCore;

// What an event record captured: work of `core` up to `value`; failures
// after `cleared` (the last synchronize before the record) are carried.
struct Capture {
  std::shared_ptr<StreamCore> core;
  uint64_t cleared = 0;
  uint64_t value = 0;
};

class StreamCore : public std::enable_shared_from_this<StreamCore> {
 public:
  explicit StreamCore(Device& device);
  ~StreamCore();
  StreamCore(const StreamCore&) = delete;
  StreamCore& operator=(const StreamCore&) = delete;

  Device& device() { return device_; }
  // Records `work` (skipped when the stream holds a sticky error).
  void enqueue(Work work);
  Capture record_event();
  void wait(const Capture& capture);
  std::optional<PluginError> synchronize();
  // Drains and stops the completion thread; the core stays usable by events.
  void shutdown() noexcept;

  void wait_completed(uint64_t value);
  bool is_completed(uint64_t value);
  std::optional<PluginError> failure_in(uint64_t after, uint64_t up_to);

 private:
  struct Dependency {
    std::shared_ptr<StreamCore> core;
    Capture capture;
  };
  struct Batch {
    uint64_t value = 0;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    bool host_signal = false;  // the submit failed: signal from the host instead
    bool submitted = false;    // false: the completion thread submits it
    VkResult submit_error = VK_SUCCESS;
    std::vector<Work> work;
    std::vector<Capture> waits;       // same device: GPU waits
    std::vector<Capture> host_waits;  // another device: waited for on the host
  };

  void flush_locked();
  bool submit_batch(Batch& batch, bool skip);  // false: failed, submit_error set (caller records it)
  bool sticky_locked() const;
  void add_failure_locked(uint64_t value, PluginError error);
  void complete_loop();

  Device& device_;
  const DeviceFunctions& f_;
  VkSemaphore semaphore_ = VK_NULL_HANDLE;
  VkCommandPool pool_ = VK_NULL_HANDLE;

  std::mutex mutex_;
  std::condition_variable work_cv_, done_cv_;
  VkCommandBuffer current_ = VK_NULL_HANDLE;  // recording, not yet submitted
  std::vector<Work> current_work_;
  std::vector<Capture> pending_waits_, pending_host_waits_;
  uint64_t unsubmitted_ = 0;  // batches left for the completion thread to submit
  std::vector<VkCommandBuffer> free_cbs_;
  uint64_t submitted_ = 0;   // last value submitted
  uint64_t completed_ = 0;   // last value whose host actions ran
  uint64_t cleared_ = 0;     // failures up to here were reported by synchronize
  std::deque<Batch> in_flight_;
  std::vector<std::pair<uint64_t, PluginError>> failures_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread worker_;
};

}  // namespace hxrt::vk
