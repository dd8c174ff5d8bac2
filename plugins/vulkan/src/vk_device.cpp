#include "vk_device.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "shaders.hpp"

namespace hxrt::vk {

PluginError vk_error(VkResult result, const std::string& what) {
  hxrt_status_code code = HXRT_STATUS_INTERNAL;
  if (result == VK_ERROR_OUT_OF_HOST_MEMORY || result == VK_ERROR_OUT_OF_DEVICE_MEMORY ||
      result == VK_ERROR_TOO_MANY_OBJECTS || result == VK_ERROR_FRAGMENTATION || result == VK_ERROR_FRAGMENTED_POOL)
    code = HXRT_STATUS_RESOURCE_EXHAUSTED;
  else if (result == VK_ERROR_DEVICE_LOST)
    code = HXRT_STATUS_DEVICE_LOST;
  return PluginError(code, what + " failed: " + result_name(result));
}

void check_vk(VkResult result, const std::string& what) {
  if (result != VK_SUCCESS) throw vk_error(result, what);
}

// ---------------------------------------------------------------------------
// Memory.
// ---------------------------------------------------------------------------

struct Block {
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceAddress address = 0;
  void* mapped = nullptr;
  uint64_t size = 0;
  bool dedicated = false;
  std::map<uint64_t, uint64_t> free_ranges;  // offset -> size
};

namespace {
// Every buffer is a storage buffer addressed from shaders and copied both ways.
constexpr VkBufferUsageFlags kStorageUsage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                             VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                             VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
}  // namespace

VkBuffer Allocation::buffer() const { return block ? block->buffer : VK_NULL_HANDLE; }
VkDeviceAddress Allocation::address() const { return block ? block->address + offset : 0; }
void* Allocation::mapped() const { return block && block->mapped ? static_cast<char*>(block->mapped) + offset : nullptr; }

MemoryPool::MemoryPool(const DeviceFunctions& f, VkDevice device, uint32_t memory_type, bool host_visible,
                       uint64_t block_size, uint64_t alignment, uint64_t capacity, uint64_t max_allocation,
                       std::string name)
    : f_(f), device_(device), memory_type_(memory_type), host_visible_(host_visible), block_size_(block_size),
      alignment_(alignment), capacity_(capacity), max_allocation_(max_allocation), name_(std::move(name)) {}

MemoryPool::~MemoryPool() {
  for (auto& block : blocks_) destroy_block(block.get());
}

Block* MemoryPool::new_block(uint64_t size, bool dedicated) {
  if (size > max_allocation_)
    throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, name_ + ": " + std::to_string(size) +
                                                          " bytes exceed the device's maxMemoryAllocationSize of " +
                                                          std::to_string(max_allocation_));
  if (reserved_ + size > capacity_)
    throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED,
                      name_ + ": cannot allocate " + std::to_string(size) + " bytes, " + std::to_string(reserved_) +
                          " of " + std::to_string(capacity_) + " bytes are in use");
  auto block = std::make_unique<Block>();
  block->size = size;
  block->dedicated = dedicated;
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = size;
  bi.usage = kStorageUsage;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check_vk(f_.vkCreateBuffer(device_, &bi, nullptr, &block->buffer), name_ + ": vkCreateBuffer");
  VkMemoryRequirements req{};
  f_.vkGetBufferMemoryRequirements(device_, block->buffer, &req);
  if ((req.memoryTypeBits & (1u << memory_type_)) == 0) {
    f_.vkDestroyBuffer(device_, block->buffer, nullptr);
    throw PluginError(HXRT_STATUS_INTERNAL, name_ + ": storage buffers cannot live in memory type " +
                                                std::to_string(memory_type_));
  }
  VkMemoryAllocateFlagsInfo flags{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO};
  flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, &flags};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = memory_type_;
  VkResult r = f_.vkAllocateMemory(device_, &ai, nullptr, &block->memory);
  if (r != VK_SUCCESS) {
    f_.vkDestroyBuffer(device_, block->buffer, nullptr);
    throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED,
                      name_ + ": vkAllocateMemory of " + std::to_string(req.size) + " bytes failed: " + result_name(r));
  }
  r = f_.vkBindBufferMemory(device_, block->buffer, block->memory, 0);
  if (r == VK_SUCCESS && host_visible_) r = f_.vkMapMemory(device_, block->memory, 0, VK_WHOLE_SIZE, 0, &block->mapped);
  if (r != VK_SUCCESS) {
    f_.vkDestroyBuffer(device_, block->buffer, nullptr);
    f_.vkFreeMemory(device_, block->memory, nullptr);
    throw vk_error(r, name_ + ": binding or mapping memory");
  }
  VkBufferDeviceAddressInfo dai{VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO};
  dai.buffer = block->buffer;
  block->address = f_.vkGetBufferDeviceAddress(device_, &dai);
  block->free_ranges[0] = size;
  reserved_ += size;
  blocks_.push_back(std::move(block));
  return blocks_.back().get();
}

void MemoryPool::destroy_block(Block* block) noexcept {
  if (block->mapped) f_.vkUnmapMemory(device_, block->memory);
  f_.vkDestroyBuffer(device_, block->buffer, nullptr);
  f_.vkFreeMemory(device_, block->memory, nullptr);
  reserved_ -= block->size;
}

Allocation MemoryPool::allocate(uint64_t size) {
  if (size == 0) return {};
  if (size > UINT64_MAX - alignment_)
    throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, name_ + ": " + std::to_string(size) + " bytes is too large");
  uint64_t rounded = (size + alignment_ - 1) / alignment_ * alignment_;
  std::lock_guard lock(mutex_);
  if (rounded > block_size_ / 2) {
    Block* block = new_block(rounded, true);
    block->free_ranges.clear();
    return {block, 0, rounded};
  }
  auto take = [&](Block* block) -> std::optional<Allocation> {
    for (auto it = block->free_ranges.begin(); it != block->free_ranges.end(); ++it) {
      if (it->second < rounded) continue;
      uint64_t offset = it->first, remaining = it->second - rounded;
      block->free_ranges.erase(it);
      if (remaining > 0) block->free_ranges[offset + rounded] = remaining;
      return Allocation{block, offset, rounded};
    }
    return std::nullopt;
  };
  for (auto& block : blocks_)
    if (!block->dedicated)
      if (auto a = take(block.get())) return *a;
  return *take(new_block(block_size_, false));
}

void MemoryPool::free(const Allocation& allocation) noexcept {
  if (allocation.block == nullptr) return;
  std::lock_guard lock(mutex_);
  Block* block = allocation.block;
  auto owner = std::find_if(blocks_.begin(), blocks_.end(), [&](auto& b) { return b.get() == block; });
  if (owner == blocks_.end()) return;
  if (block->dedicated) {
    destroy_block(block);
    blocks_.erase(owner);
    return;
  }
  auto& ranges = block->free_ranges;
  auto [it, inserted] = ranges.emplace(allocation.offset, allocation.size);
  if (!inserted) return;  // double free: ignore rather than corrupt the list
  auto next = std::next(it);
  if (next != ranges.end() && it->first + it->second == next->first) {
    it->second += next->second;
    ranges.erase(next);
  }
  if (it != ranges.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      ranges.erase(it);
      it = prev;
    }
  }
  // Give an empty block back unless it is the last shared one.
  if (ranges.size() == 1 && ranges.begin()->second == block->size) {
    size_t shared = std::count_if(blocks_.begin(), blocks_.end(), [](auto& b) { return !b->dedicated; });
    if (shared > 1) {
      destroy_block(block);
      blocks_.erase(owner);
    }
  }
}

// ---------------------------------------------------------------------------
// Imported host memory.
// ---------------------------------------------------------------------------

HostImport::HostImport(const Device& device, void* host, uint64_t size, bool read_only)
    : f_(device.fn()), device_(device.handle()), block_(std::make_unique<Block>()) {
  const uint64_t alignment = device.host_import_alignment();
  if (alignment == 0)
    throw PluginError(HXRT_STATUS_UNIMPLEMENTED, device.name() + " cannot import host memory");
  if (host == nullptr || size == 0 || reinterpret_cast<uintptr_t>(host) % alignment != 0 || size % alignment != 0)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                      "imported host memory must be a non-empty range whose pointer and size are multiples of " +
                          std::to_string(alignment) + " bytes");
  try {
    VkMemoryHostPointerPropertiesEXT host_types{VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
    VkResult r = f_.vkGetMemoryHostPointerPropertiesEXT(device_, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
                                                        host, &host_types);
    if (r == VK_ERROR_INVALID_EXTERNAL_HANDLE)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, device.name() + " cannot import this host pointer (" +
                                                          std::string(result_name(r)) + ")");
    check_vk(r, "vkGetMemoryHostPointerPropertiesEXT");

    VkExternalMemoryBufferCreateInfo external{VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO};
    external.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, &external};
    bi.size = size;
    // Read-only memory is never a transfer destination; shaders only read inputs (R6).
    bi.usage = read_only ? kStorageUsage & ~VkBufferUsageFlags{VK_BUFFER_USAGE_TRANSFER_DST_BIT} : kStorageUsage;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkBuffer buffer = VK_NULL_HANDLE;
    check_vk(f_.vkCreateBuffer(device_, &bi, nullptr, &buffer), "vkCreateBuffer for imported host memory");
    block_->buffer = buffer;
    VkMemoryRequirements req{};
    f_.vkGetBufferMemoryRequirements(device_, block_->buffer, &req);
    if (req.size > size)
      throw PluginError(HXRT_STATUS_UNAVAILABLE, "a buffer of " + std::to_string(size) + " bytes needs " +
                                                     std::to_string(req.size) + " bytes of memory on " + device.name());

    // The host reads and writes the memory through its own pointer with no
    // flush or invalidate, so only host-coherent types will do (cached preferred).
    const VkPhysicalDeviceMemoryProperties& mem = device.memory_properties();
    const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const uint32_t candidates = req.memoryTypeBits & host_types.memoryTypeBits;
    int type = -1;
    for (uint32_t t = 0; t < mem.memoryTypeCount; ++t) {
      VkMemoryPropertyFlags fl = mem.memoryTypes[t].propertyFlags;
      if ((candidates & (1u << t)) == 0 || (fl & coherent) != coherent) continue;
      bool cached = fl & VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
      if (type < 0 || (cached && !(mem.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT)))
        type = static_cast<int>(t);
    }
    if (type < 0)
      throw PluginError(HXRT_STATUS_UNAVAILABLE,
                        device.name() + " offers no host-coherent memory type for imported host memory");

    VkMemoryDedicatedAllocateInfo dedicated{VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO};
    dedicated.buffer = block_->buffer;
    VkMemoryAllocateFlagsInfo flags{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
                                    device.host_import_dedicated() ? &dedicated : nullptr};
    flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
    VkImportMemoryHostPointerInfoEXT import{VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT, &flags};
    import.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
    import.pHostPointer = host;
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, &import};
    ai.allocationSize = size;
    ai.memoryTypeIndex = static_cast<uint32_t>(type);
    VkDeviceMemory memory = VK_NULL_HANDLE;
    r = f_.vkAllocateMemory(device_, &ai, nullptr, &memory);
    if (r == VK_ERROR_INVALID_EXTERNAL_HANDLE)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, device.name() + " refused to import " + std::to_string(size) +
                                                          " bytes of host memory (" + result_name(r) + ")");
    check_vk(r, "vkAllocateMemory importing " + std::to_string(size) + " bytes of host memory");
    block_->memory = memory;
    check_vk(f_.vkBindBufferMemory(device_, block_->buffer, block_->memory, 0),
             "vkBindBufferMemory of imported host memory");
    VkBufferDeviceAddressInfo dai{VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO};
    dai.buffer = block_->buffer;
    block_->address = f_.vkGetBufferDeviceAddress(device_, &dai);
    block_->mapped = host;
    block_->size = size;
    block_->dedicated = true;
  } catch (...) {
    release();
    throw;
  }
}

HostImport::~HostImport() { release(); }

void HostImport::release() noexcept {
  if (block_->buffer != VK_NULL_HANDLE) f_.vkDestroyBuffer(device_, block_->buffer, nullptr);
  // Freeing imported memory releases the import; the host memory stays the caller's.
  if (block_->memory != VK_NULL_HANDLE) f_.vkFreeMemory(device_, block_->memory, nullptr);
  block_->buffer = VK_NULL_HANDLE;
  block_->memory = VK_NULL_HANDLE;
}

Allocation HostImport::allocation() const { return {block_.get(), 0, block_->size}; }

// ---------------------------------------------------------------------------
// Device.
// ---------------------------------------------------------------------------

void full_barrier(const DeviceFunctions& f, VkCommandBuffer cb) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
  f.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                         VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0,
                         nullptr);
}

namespace {

std::string hex(const uint8_t* bytes, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[bytes[i] >> 4];
    s += digits[bytes[i] & 15];
  }
  return s;
}

std::string vendor_name(uint32_t id) {
  switch (id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x10005: return "Mesa";
    default: {
      std::ostringstream s;
      s << "vendor 0x" << std::hex << id;
      return s.str();
    }
  }
}

}  // namespace

Device::Device(const GlobalFunctions& /*g*/, const InstanceFunctions& fi, VkInstance /*instance*/,
               VkPhysicalDevice physical, uint32_t index, LogFn log, std::string cache_dir, bool measure)
    : physical_(physical), index_(index), log_(std::move(log)) {
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, &driver};
  VkPhysicalDeviceMaintenance3Properties maint3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, &subgroup};
  VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &maint3};
  fi.vkGetPhysicalDeviceProperties2(physical_, &props2);
  const VkPhysicalDeviceProperties& p = props2.properties;
  const VkPhysicalDeviceLimits& l = p.limits;
  name_ = p.deviceName;
  vendor_ = vendor_name(p.vendorID);
  driver_version_ = std::string(driver.driverName) + (driver.driverInfo[0] ? std::string(" ") + driver.driverInfo : "");
  if (p.apiVersion < VK_API_VERSION_1_2)
    throw PluginError(HXRT_STATUS_UNAVAILABLE, name_ + " supports Vulkan " + std::to_string(VK_API_VERSION_MAJOR(p.apiVersion)) +
                                                   "." + std::to_string(VK_API_VERSION_MINOR(p.apiVersion)) +
                                                   "; the plugin needs 1.2");
  switch (p.deviceType) {
    case VK_PHYSICAL_DEVICE_TYPE_CPU: kind_ = HXRT_DEVICE_KIND_CPU; break;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: kind_ = HXRT_DEVICE_KIND_GPU; break;
    default: kind_ = HXRT_DEVICE_KIND_OTHER; break;
  }
  caps_.gpu = kind_ == HXRT_DEVICE_KIND_GPU;
  caps_.max_workgroup_invocations = l.maxComputeWorkGroupInvocations;
  caps_.max_workgroup_size_x = l.maxComputeWorkGroupSize[0];
  for (int i = 0; i < 3; ++i) caps_.max_group_count[i] = l.maxComputeWorkGroupCount[i];
  caps_.max_shared_bytes = l.maxComputeSharedMemorySize;
  caps_.max_storage_buffer_range = l.maxStorageBufferRange;
  caps_.max_allocation = maint3.maxMemoryAllocationSize;
  if ((subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0) {
    caps_.subgroup_size = subgroup.subgroupSize;
    caps_.subgroup_arithmetic = (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0;
  }

  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f12};
  fi.vkGetPhysicalDeviceFeatures2(physical_, &features);
  if (!f12.bufferDeviceAddress || !f12.timelineSemaphore)
    throw PluginError(HXRT_STATUS_UNAVAILABLE, name_ + " lacks bufferDeviceAddress or timelineSemaphore");
  caps_.int64 = features.features.shaderInt64;
  caps_.float16 = f12.shaderFloat16;

  // The queue: the first family with compute (graphics+compute families come
  // first on most drivers and are the general-purpose ones).
  uint32_t families = 0;
  fi.vkGetPhysicalDeviceQueueFamilyProperties(physical_, &families, nullptr);
  std::vector<VkQueueFamilyProperties> qf(families);
  fi.vkGetPhysicalDeviceQueueFamilyProperties(physical_, &families, qf.data());
  bool found = false;
  for (uint32_t i = 0; i < families && !found; ++i)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      queue_family_ = i;
      found = true;
    }
  if (!found) throw PluginError(HXRT_STATUS_UNAVAILABLE, name_ + " has no compute queue");

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = queue_family_;
  qi.queueCount = 1;
  qi.pQueuePriorities = &priority;
  VkPhysicalDeviceVulkan12Features enable12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  enable12.bufferDeviceAddress = VK_TRUE;
  enable12.timelineSemaphore = VK_TRUE;
  VkPhysicalDeviceFeatures2 enable{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &enable12};
  enable.features.shaderInt64 = features.features.shaderInt64;
  std::vector<const char*> extensions;
  offer_host_import(fi, extensions);
  VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &enable};
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  di.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  di.ppEnabledExtensionNames = extensions.data();
  check_vk(fi.vkCreateDevice(physical_, &di, nullptr, &device_), name_ + ": vkCreateDevice");
  f_ = load_device(fi, device_);
  f_.vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

  // Memory: the largest device-local heap for DEVICE buffers; host-visible
  // coherent memory (cached when offered, for read-back) for pinned buffers.
  fi.vkGetPhysicalDeviceMemoryProperties(physical_, &memory_properties_);
  const VkPhysicalDeviceMemoryProperties& mem = memory_properties_;
  int device_type = -1, host_type = -1;
  auto heap_size = [&](int t) { return mem.memoryHeaps[mem.memoryTypes[t].heapIndex].size; };
  for (uint32_t t = 0; t < mem.memoryTypeCount; ++t) {
    VkMemoryPropertyFlags fl = mem.memoryTypes[t].propertyFlags;
    if ((fl & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (device_type < 0 || heap_size(t) > heap_size(device_type)))
      device_type = static_cast<int>(t);
    const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    if ((fl & hv) == hv) {
      bool cached = fl & VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
      bool best_cached = host_type >= 0 && (mem.memoryTypes[host_type].propertyFlags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
      if (host_type < 0 || (cached && !best_cached)) host_type = static_cast<int>(t);
    }
  }
  if (device_type < 0 || host_type < 0) {
    f_.vkDestroyDevice(device_, nullptr);
    throw PluginError(HXRT_STATUS_UNAVAILABLE, name_ + " has no device-local or no host-visible coherent memory type");
  }
  uint64_t alignment = std::max<uint64_t>({64, l.minStorageBufferOffsetAlignment, l.nonCoherentAtomSize, 256});
  uint64_t max_alloc = caps_.max_allocation ? caps_.max_allocation : (uint64_t{1} << 30);
  uint64_t block = std::min<uint64_t>(uint64_t{64} << 20, max_alloc);
  device_pool_ = std::make_unique<MemoryPool>(f_, device_, device_type, false, block, alignment,
                                              heap_size(device_type), max_alloc, name_ + " device memory");
  host_pool_ = std::make_unique<MemoryPool>(f_, device_, host_type, true, block,
                                            alignment, heap_size(host_type), max_alloc, name_ + " pinned memory");

  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(PushConstants)};
  VkPipelineLayoutCreateInfo li{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  li.pushConstantRangeCount = 1;
  li.pPushConstantRanges = &range;
  check_vk(f_.vkCreatePipelineLayout(device_, &li, nullptr, &layout_), "vkCreatePipelineLayout");

  // The pipeline cache: reuse a saved one when its header names this device.
  std::vector<char> initial;
  if (!cache_dir.empty()) {
    cache_path_ = cache_dir + "/pipelines-" + hex(p.pipelineCacheUUID, VK_UUID_SIZE) + ".bin";
    std::ifstream in(cache_path_, std::ios::binary);
    if (in) initial.assign(std::istreambuf_iterator<char>(in), {});
    bool valid = initial.size() >= 16 + VK_UUID_SIZE;
    if (valid) {
      uint32_t header[4];
      std::memcpy(header, initial.data(), 16);
      valid = header[0] >= 16 + VK_UUID_SIZE && header[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
              header[2] == p.vendorID && header[3] == p.deviceID &&
              std::memcmp(initial.data() + 16, p.pipelineCacheUUID, VK_UUID_SIZE) == 0;
    }
    if (!valid) initial.clear();
  }
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = initial.size();
  ci.pInitialData = initial.empty() ? nullptr : initial.data();
  check_vk(f_.vkCreatePipelineCache(device_, &ci, nullptr, &pipeline_cache_), "vkCreatePipelineCache");

  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT | VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  pi.queueFamilyIndex = queue_family_;
  check_vk(f_.vkCreateCommandPool(device_, &pi, nullptr, &once_pool_), "vkCreateCommandPool");
  VkSemaphoreTypeCreateInfo st{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
  st.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
  VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, &st};
  check_vk(f_.vkCreateSemaphore(device_, &si, nullptr, &once_semaphore_), "vkCreateSemaphore");

  // Compute units: not in core Vulkan; leave unknown (0).
  compute_units_ = 0;
  caps_.launch_ns = caps_.gpu ? 4000 : 20000;
  timestamp_period_ns_ = qf[queue_family_].timestampValidBits > 0 ? l.timestampPeriod : 0.0;
  probe_host_import();
  if (measure) measure_rates();

  log_(HXRT_LOG_INFO,
       "vulkan device " + std::to_string(index_) + ": " + name_ + " (" + vendor_ + ", " + driver_version_ +
           "), Vulkan " + std::to_string(VK_API_VERSION_MAJOR(p.apiVersion)) + "." +
           std::to_string(VK_API_VERSION_MINOR(p.apiVersion)) + ", " + std::to_string(heap_size(device_type) >> 20) +
           " MiB device memory, subgroup " + std::to_string(caps_.subgroup_size) + ", max workgroup " +
           std::to_string(caps_.max_workgroup_invocations) + ", shared " + std::to_string(caps_.max_shared_bytes) +
           " bytes, maxStorageBufferRange " + std::to_string(caps_.max_storage_buffer_range) + ", float16 " +
           (caps_.float16 ? "yes" : "no") + ", measured " + std::to_string(caps_.flops_per_s / 1e9) + " GFLOP/s, " +
           std::to_string(caps_.bytes_per_s / 1e9) + " GB/s, host memory import " +
           (host_import_alignment_ ? "yes (alignment " + std::to_string(host_import_alignment_) + " bytes)" : "no"));
}

void Device::offer_host_import(const InstanceFunctions& fi, std::vector<const char*>& extensions) {
  uint32_t count = 0;
  fi.vkEnumerateDeviceExtensionProperties(physical_, nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> available(count);
  if (count > 0) fi.vkEnumerateDeviceExtensionProperties(physical_, nullptr, &count, available.data());
  bool offered = std::any_of(available.begin(), available.begin() + count, [](const VkExtensionProperties& e) {
    return std::strcmp(e.extensionName, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME) == 0;
  });
  if (!offered || fi.vkGetPhysicalDeviceExternalBufferProperties == nullptr) return;
  VkPhysicalDeviceExternalBufferInfo info{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO};
  info.usage = kStorageUsage;
  info.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
  VkExternalBufferProperties external{VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES};
  fi.vkGetPhysicalDeviceExternalBufferProperties(physical_, &info, &external);
  VkExternalMemoryFeatureFlags features = external.externalMemoryProperties.externalMemoryFeatures;
  if ((features & VK_EXTERNAL_MEMORY_FEATURE_IMPORTABLE_BIT) == 0) return;
  VkPhysicalDeviceExternalMemoryHostPropertiesEXT host{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &host};
  fi.vkGetPhysicalDeviceProperties2(physical_, &props);
  uint64_t alignment = host.minImportedHostPointerAlignment;
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) return;  // R4.2 wants a power of two
  host_import_alignment_ = alignment;
  host_import_dedicated_ = (features & VK_EXTERNAL_MEMORY_FEATURE_DEDICATED_ONLY_BIT) != 0;
  extensions.push_back(VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);  // VK_KHR_external_memory is core in 1.1
}

// Drivers may list the extension yet have no host-coherent type for host
// memory; one real import at creation decides, so can_wrap_host_memory holds.
void Device::probe_host_import() {
  if (host_import_alignment_ == 0) return;
  std::string why;
  if (f_.vkGetMemoryHostPointerPropertiesEXT == nullptr) {
    why = "vkGetMemoryHostPointerPropertiesEXT is not available";
  } else {
    size_t page = static_cast<size_t>(host_import_alignment_);
    std::unique_ptr<void, decltype(&std::free)> memory(std::aligned_alloc(page, page), &std::free);
    try {
      if (memory == nullptr) throw std::bad_alloc();
      HostImport probe(*this, memory.get(), page, false);
    } catch (const std::exception& e) {
      why = e.what();
    }
  }
  if (why.empty()) return;
  host_import_alignment_ = 0;
  log_(HXRT_LOG_WARNING, "vulkan device " + std::to_string(index_) + ": " + name_ +
                             " cannot wrap host memory (VK_EXT_external_memory_host): " + why);
}

Device::~Device() {
  if (device_ == VK_NULL_HANDLE) return;
  f_.vkDeviceWaitIdle(device_);
  save_pipeline_cache();
  for (auto& [key, p] : pipelines_) f_.vkDestroyPipeline(device_, p.pipeline, nullptr);
  for (auto& [key, m] : modules_) f_.vkDestroyShaderModule(device_, m, nullptr);
  f_.vkDestroyPipelineCache(device_, pipeline_cache_, nullptr);
  f_.vkDestroyPipelineLayout(device_, layout_, nullptr);
  f_.vkDestroySemaphore(device_, once_semaphore_, nullptr);
  f_.vkDestroyCommandPool(device_, once_pool_, nullptr);
  device_pool_.reset();
  host_pool_.reset();
  f_.vkDestroyDevice(device_, nullptr);
}

void Device::save_pipeline_cache() noexcept {
  if (cache_path_.empty() || pipeline_cache_ == VK_NULL_HANDLE) return;
  try {
    size_t size = 0;
    if (f_.vkGetPipelineCacheData(device_, pipeline_cache_, &size, nullptr) != VK_SUCCESS || size == 0) return;
    std::vector<char> data(size);
    if (f_.vkGetPipelineCacheData(device_, pipeline_cache_, &size, data.data()) != VK_SUCCESS) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(fs::path(cache_path_).parent_path(), ec);
    // Write aside and rename, so concurrent processes never see half a file.
    std::string tmp = cache_path_ + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(index_);
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(data.data(), static_cast<std::streamsize>(size));
      if (!out) throw std::runtime_error("cannot write " + tmp);
    }
    fs::rename(tmp, cache_path_, ec);
    if (ec) {
      fs::remove(tmp, ec);
      throw std::runtime_error("cannot rename to " + cache_path_);
    }
  } catch (const std::exception& e) {
    log_(HXRT_LOG_WARNING, std::string("vulkan: pipeline cache not saved: ") + e.what());
  }
}

VkResult Device::submit(const VkSubmitInfo& info) {
  std::lock_guard lock(queue_mutex_);
  return f_.vkQueueSubmit(queue_, 1, &info, VK_NULL_HANDLE);
}

void Device::wait_idle() {
  std::lock_guard lock(queue_mutex_);
  f_.vkQueueWaitIdle(queue_);  // a lost device is reported by the next submit; teardown goes on
}

void Device::run_now(const std::function<void(VkCommandBuffer)>& record) {
  std::lock_guard lock(once_mutex_);
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = once_pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb = VK_NULL_HANDLE;
  check_vk(f_.vkAllocateCommandBuffers(device_, &ai, &cb), "vkAllocateCommandBuffers");
  struct Free {
    Device* d;
    VkCommandBuffer cb;
    ~Free() { d->f_.vkFreeCommandBuffers(d->device_, d->once_pool_, 1, &cb); }
  } free_cb{this, cb};
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check_vk(f_.vkBeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");
  full_barrier(f_, cb);
  record(cb);
  full_barrier(f_, cb);
  check_vk(f_.vkEndCommandBuffer(cb), "vkEndCommandBuffer");
  uint64_t value = ++once_value_;
  VkTimelineSemaphoreSubmitInfo ts{VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
  ts.signalSemaphoreValueCount = 1;
  ts.pSignalSemaphoreValues = &value;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO, &ts};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  si.signalSemaphoreCount = 1;
  si.pSignalSemaphores = &once_semaphore_;
  VkResult r = submit(si);
  if (r != VK_SUCCESS) {
    --once_value_;
    throw vk_error(r, "vkQueueSubmit");
  }
  VkSemaphoreWaitInfo wi{VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
  wi.semaphoreCount = 1;
  wi.pSemaphores = &once_semaphore_;
  wi.pValues = &value;
  check_vk(f_.vkWaitSemaphores(device_, &wi, UINT64_MAX), "vkWaitSemaphores");
}

const Pipeline& Device::pipeline(const std::string& shader, const std::vector<uint32_t>& spec) {
  std::lock_guard lock(pipelines_mutex_);
  auto key = std::make_pair(shader, spec);
  auto it = pipelines_.find(key);
  if (it != pipelines_.end()) return it->second;
  VkShaderModule& module = modules_[shader];
  if (module == VK_NULL_HANDLE) {
    const EmbeddedShader* found = nullptr;
    for (const auto& s : kEmbeddedShaders)
      if (shader == s.name) found = &s;
    if (found == nullptr) {
      modules_.erase(shader);
      throw PluginError(HXRT_STATUS_INTERNAL, "no embedded shader named " + shader);
    }
    VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = found->size_bytes;
    mi.pCode = found->code;
    VkResult r = f_.vkCreateShaderModule(device_, &mi, nullptr, &module);
    if (r != VK_SUCCESS) {
      modules_.erase(shader);
      throw vk_error(r, "vkCreateShaderModule(" + shader + ")");
    }
  }
  std::vector<VkSpecializationMapEntry> entries(spec.size());
  for (uint32_t i = 0; i < spec.size(); ++i) entries[i] = {i, i * 4, 4};
  VkSpecializationInfo sinfo{static_cast<uint32_t>(entries.size()), entries.data(), spec.size() * 4, spec.data()};
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = module;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &sinfo;
  ci.layout = layout_;
  Pipeline p;
  p.local_size = spec.empty() ? 1 : spec[0];
  check_vk(f_.vkCreateComputePipelines(device_, pipeline_cache_, 1, &ci, nullptr, &p.pipeline),
           "vkCreateComputePipelines(" + shader + ")");
  return pipelines_.emplace(key, p).first->second;
}

}  // namespace hxrt::vk

namespace hxrt::vk {

double Device::time_ns(const std::function<void(VkCommandBuffer)>& record) {
  if (timestamp_period_ns_ <= 0) {
    auto t0 = std::chrono::steady_clock::now();
    run_now(record);
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  }
  VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
  qi.queryCount = 2;
  VkQueryPool pool = VK_NULL_HANDLE;
  check_vk(f_.vkCreateQueryPool(device_, &qi, nullptr, &pool), "vkCreateQueryPool");
  struct Destroy {
    Device* d;
    VkQueryPool p;
    ~Destroy() { d->f_.vkDestroyQueryPool(d->device_, p, nullptr); }
  } destroy{this, pool};
  run_now([&](VkCommandBuffer cb) {
    f_.vkCmdResetQueryPool(cb, pool, 0, 2);
    f_.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool, 0);
    record(cb);
    f_.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, 1);
  });
  uint64_t ticks[2] = {0, 0};
  check_vk(f_.vkGetQueryPoolResults(device_, pool, 0, 2, sizeof(ticks), ticks, sizeof(uint64_t),
                                    VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
           "vkGetQueryPoolResults");
  return static_cast<double>(ticks[1] - ticks[0]) * timestamp_period_ns_;
}

}  // namespace hxrt::vk
