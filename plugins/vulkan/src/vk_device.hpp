// One Vulkan physical device as an hxrt device: the logical device and its
// compute queue, a sub-allocator over large VkDeviceMemory blocks, pipelines
// created once and cached (with a VkPipelineCache persisted to disk), and the
// rates the cost model uses, measured once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hxrt/plugin_abi.h"
#include "hxrt/plugin_support/status.hpp"
#include "vk_loader.hpp"

namespace hxrt::vk {

using plugin::PluginError;

// Throws PluginError for a failed VkResult: out-of-memory results become
// RESOURCE_EXHAUSTED, a lost device DEVICE_LOST, anything else INTERNAL.
void check_vk(VkResult result, const std::string& what);
PluginError vk_error(VkResult result, const std::string& what);

using LogFn = std::function<void(hxrt_log_level, const std::string&)>;

struct Block;

// A range of one block; size 0 means an empty allocation with no block.
struct Allocation {
  Block* block = nullptr;
  uint64_t offset = 0;
  uint64_t size = 0;  // as rounded by the allocator
  VkBuffer buffer() const;
  VkDeviceAddress address() const;  // 0 for an empty allocation
  void* mapped() const;             // host pointer for host-visible pools
};

// First-fit sub-allocator over blocks of one memory type; large requests get
// a block of their own, so every tensor is not its own VkDeviceMemory.
class MemoryPool {
 public:
  MemoryPool(const DeviceFunctions& f, VkDevice device, uint32_t memory_type, bool host_visible, uint64_t block_size,
             uint64_t alignment, uint64_t capacity, uint64_t max_allocation, std::string name);
  ~MemoryPool();
  Allocation allocate(uint64_t size);  // throws RESOURCE_EXHAUSTED
  void free(const Allocation& allocation) noexcept;
  uint64_t capacity() const { return capacity_; }

 private:
  Block* new_block(uint64_t size, bool dedicated);
  void destroy_block(Block* block) noexcept;

  const DeviceFunctions& f_;
  VkDevice device_;
  uint32_t memory_type_;
  bool host_visible_;
  uint64_t block_size_, alignment_, capacity_, max_allocation_;
  std::string name_;
  std::mutex mutex_;
  uint64_t reserved_ = 0;  // bytes of VkDeviceMemory held
  std::vector<std::unique_ptr<Block>> blocks_;
};

class Device;

// Caller host memory imported as one VkBuffer (VK_EXT_external_memory_host,
// R4.6). Its allocation's mapping is the caller's pointer. Destruction
// releases the Vulkan objects only: the memory stays the caller's.
class HostImport {
 public:
  // `host` and `size` are non-zero multiples of the device's
  // host_import_alignment(); read_only leaves out transfer writes. Throws PluginError.
  HostImport(const Device& device, void* host, uint64_t size, bool read_only);
  ~HostImport();
  HostImport(const HostImport&) = delete;
  HostImport& operator=(const HostImport&) = delete;
  Allocation allocation() const;

 private:
  void release() noexcept;
  const DeviceFunctions& f_;
  VkDevice device_;
  std::unique_ptr<Block> block_;
};

// Frees an allocation at the end of a scope (compile-time uploads, measurements).
struct ScopedAllocation {
  MemoryPool& pool;
  Allocation allocation;
  ~ScopedAllocation() { pool.free(allocation); }
};

struct Pipeline {
  VkPipeline pipeline = VK_NULL_HANDLE;
  uint32_t local_size = 0;
};

// What shaders may assume about the device, from its limits and features.
struct DeviceCaps {
  uint32_t max_workgroup_invocations = 128;
  uint32_t max_workgroup_size_x = 128;
  uint32_t max_group_count[3] = {65535, 65535, 65535};
  uint32_t max_shared_bytes = 16384;
  uint32_t subgroup_size = 0;
  bool subgroup_arithmetic = false;
  bool float16 = false;
  bool int64 = false;
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_allocation = 0;
  bool gpu = false;
  // Rates for the roofline cost model (measured at context creation).
  double flops_per_s = 1e10;
  double bytes_per_s = 1e10;
  double launch_ns = 5000;
};

// The push constants every shader shares (shaders/common.glsl mirrors it).
struct PushConstants {
  uint64_t t[6] = {};   // tensor addresses (0 = absent)
  uint64_t params = 0;  // address of the node's int32 parameter block
  uint32_t n = 0;
  uint32_t u[7] = {};
  float f[4] = {};
};
static_assert(sizeof(PushConstants) == 104);

class Device {
 public:
  Device(const GlobalFunctions& g, const InstanceFunctions& fi, VkInstance instance, VkPhysicalDevice physical,
         uint32_t index, LogFn log, std::string cache_dir, bool measure);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceFunctions& fn() const { return f_; }
  VkDevice handle() const { return device_; }
  uint32_t queue_family() const { return queue_family_; }
  const DeviceCaps& caps() const { return caps_; }
  DeviceCaps& caps_mut() { return caps_; }
  const std::string& name() const { return name_; }
  const std::string& vendor() const { return vendor_; }
  const std::string& driver_version() const { return driver_version_; }
  hxrt_device_kind kind() const { return kind_; }
  uint64_t memory_bytes() const { return device_pool_->capacity(); }
  uint32_t compute_units() const { return compute_units_; }
  // Host <-> device copy rates as measured (defaults until then).
  struct Link {
    double latency_ns = 20000;
    double pinned_bytes_per_s = 5e9;
    double h2d_pageable_bytes_per_s = 2e9;
    double d2h_pageable_bytes_per_s = 2e9;
  };
  const Link& link() const { return link_; }

  MemoryPool& pool(hxrt_memory_kind kind) { return kind == HXRT_MEMORY_HOST_PINNED ? *host_pool_ : *device_pool_; }

  // Non-zero when caller host memory can be imported (HostImport): the
  // alignment its pointer and size need (minImportedHostPointerAlignment).
  uint64_t host_import_alignment() const { return host_import_alignment_; }
  // Whether an import must be a dedicated allocation of its buffer.
  bool host_import_dedicated() const { return host_import_dedicated_; }
  const VkPhysicalDeviceMemoryProperties& memory_properties() const { return memory_properties_; }

  // Submits under the queue lock (vkQueueSubmit needs external synchronisation).
  VkResult submit(const VkSubmitInfo& info);
  // Waits until the queue has finished all submitted work, its driver-side
  // bookkeeping included (lavapipe's queue thread still touches a submission's
  // command buffers after signalling its semaphore).
  void wait_idle();
  // Records with `record`, submits and waits: for compile-time uploads and measurements.
  void run_now(const std::function<void(VkCommandBuffer)>& record);

  // The pipeline for `shader` with these specialization constants (id 0 is
  // the workgroup size), created on first use.
  const Pipeline& pipeline(const std::string& shader, const std::vector<uint32_t>& spec);
  VkPipelineLayout pipeline_layout() const { return layout_; }
  void save_pipeline_cache() noexcept;

  // Device time of the recorded work in ns (timestamp queries where the queue
  // has them, else the host clock around submit-and-wait).
  double time_ns(const std::function<void(VkCommandBuffer)>& record);

 private:
  void create_logical_device(const InstanceFunctions& fi);
  // Sets host_import_* and adds VK_EXT_external_memory_host to `extensions`
  // where the driver can import host allocations into storage buffers.
  void offer_host_import(const InstanceFunctions& fi, std::vector<const char*>& extensions);
  // Imports one page once the device exists; a failure turns import off.
  void probe_host_import();
  void measure_rates();  // in ops.cpp: it runs the plugin's own kernels
  double timestamp_period_ns_ = 0;

  VkPhysicalDevice physical_;
  uint32_t index_;
  LogFn log_;
  std::string cache_path_;
  VkDevice device_ = VK_NULL_HANDLE;
  DeviceFunctions f_;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  std::mutex queue_mutex_;
  DeviceCaps caps_;
  std::string name_, vendor_, driver_version_;
  hxrt_device_kind kind_ = HXRT_DEVICE_KIND_OTHER;
  uint32_t compute_units_ = 0;
  Link link_;
  std::unique_ptr<MemoryPool> device_pool_, host_pool_;
  VkPhysicalDeviceMemoryProperties memory_properties_{};
  uint64_t host_import_alignment_ = 0;
  bool host_import_dedicated_ = false;

  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipelineCache pipeline_cache_ = VK_NULL_HANDLE;
  std::mutex pipelines_mutex_;
  std::map<std::pair<std::string, std::vector<uint32_t>>, Pipeline> pipelines_;
  std::map<std::string, VkShaderModule> modules_;

  std::mutex once_mutex_;  // run_now's pool and semaphore
  VkCommandPool once_pool_ = VK_NULL_HANDLE;
  VkSemaphore once_semaphore_ = VK_NULL_HANDLE;
  uint64_t once_value_ = 0;
};

// Memory barrier between everything before and everything after, including
// host reads of host-visible memory.
void full_barrier(const DeviceFunctions& f, VkCommandBuffer cb);

}  // namespace hxrt::vk
