// The Vulkan compute plugin: implements the hxrt plugin ABI (1.2) with
// Vulkan 1.2 compute (docs/plugins/vulkan.md).
//
// Devices: every physical device with a compute queue, Vulkan 1.2,
// bufferDeviceAddress and timeline semaphores. Memory: sub-allocated
// device-local blocks (DEVICE), persistently mapped host-visible blocks
// (HOST_PINNED) and caller memory imported with VK_EXT_external_memory_host
// (buffer_wrap_host_memory). Streams: batched command buffers on the
// device's compute queue with a timeline semaphore (vk_stream.hpp).
// Executables: GLSL kernels embedded as SPIR-V (executable.hpp, ops.hpp).
#include "hxrt/plugin_support/abi_checks.hpp"
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "executable.hpp"
#include "hxrt/plugin_abi.h"
#include "hxrt/plugin_support/node_reader.hpp"
#include "hxrt/plugin_support/status.hpp"
#include "ops.hpp"
#include "vk_device.hpp"
#include "vk_loader.hpp"
#include "vk_stream.hpp"

using hxrt::plugin::check_graph;
using hxrt::plugin::check_node;
using hxrt::plugin::value_bytes;

using hxrt::plugin::guard;
using hxrt::plugin::PluginError;
using hxrt::plugin::require_non_null;
using hxrt::plugin::require_struct_size;
namespace vk = hxrt::vk;


namespace {
// Tags that let entry points refuse a handle of the wrong kind (R3.1).
enum : uint32_t {
  kDeviceTag = 0x56444556,
  kBufferTag = 0x56425546,
  kStreamTag = 0x56535452,
  kEventTag = 0x56455654,
  kExecutableTag = 0x56455845
};
}  // namespace

struct hxrt_device {
  uint32_t tag = kDeviceTag;
  hxrt_plugin_context* context = nullptr;
  std::unique_ptr<vk::Device> vk;
};

struct hxrt_buffer {
  uint32_t tag = kBufferTag;
  hxrt_device* device = nullptr;
  hxrt_memory_kind kind = HXRT_MEMORY_DEVICE;
  uint64_t size = 0;
  vk::Allocation allocation;
  // Wrapped caller memory (R4.6): the import owns the Vulkan objects, shared
  // with copies that found the memory by address until they complete.
  bool wrapped = false;
  bool read_only = false;  // wrapped read-only: never a copy destination or an output
  void* wrapped_host = nullptr;
  std::shared_ptr<const vk::HostImport> import;
  ~hxrt_buffer() {
    tag = 0;
    if (!wrapped) device->vk->pool(kind).free(allocation);
  }
  // The host address of the buffer's memory, or NULL when it has none.
  void* host() const {
    if (wrapped) return wrapped_host;
    return kind == HXRT_MEMORY_HOST_PINNED ? allocation.mapped() : nullptr;
  }
};

// A range of host memory that a buffer of the device holds: copies to and
// from it go straight through vkCmdCopyBuffer instead of staging.
struct HostRange {
  VkBuffer buffer = VK_NULL_HANDLE;
  uint64_t offset = 0;                // of the address within `buffer`
  std::shared_ptr<const void> keep;   // keeps a wrapped buffer's import alive
};

struct hxrt_plugin_context {
  hxrt_log_fn logger = nullptr;
  void* logger_user_data = nullptr;
  VkInstance instance = VK_NULL_HANDLE;
  vk::InstanceFunctions fi;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  std::atomic<uint64_t> validation_errors{0};
  std::vector<std::unique_ptr<hxrt_device>> devices;
  std::vector<hxrt_device*> device_list;
  // Pinned and wrapped buffers by host address, so copies from/to them skip staging.
  std::mutex host_buffers_mutex;
  std::map<uintptr_t, hxrt_buffer*> host_buffers;

  void log(hxrt_log_level level, const std::string& message) const {
    if (logger != nullptr) logger(logger_user_data, level, message.c_str());
  }
  // Keeps the first buffer at an address: runs in flight may wrap the same
  // caller memory at once, and each removes only its own entry.
  void add_host_buffer(hxrt_buffer* b) {
    std::lock_guard lock(host_buffers_mutex);
    host_buffers.emplace(reinterpret_cast<uintptr_t>(b->host()), b);
  }
  void remove_host_buffer(hxrt_buffer* b) {
    std::lock_guard lock(host_buffers_mutex);
    auto it = host_buffers.find(reinterpret_cast<uintptr_t>(b->host()));
    if (it != host_buffers.end() && it->second == b) host_buffers.erase(it);
  }
  // The buffer range of `device` holding [p, p + n), if any; `write`: the
  // copy writes it, which read-only wrapped memory refuses.
  std::optional<HostRange> find_host_range(const void* p, uint64_t n, hxrt_device* device, bool write) {
    std::lock_guard lock(host_buffers_mutex);
    auto address = reinterpret_cast<uintptr_t>(p);
    auto it = host_buffers.upper_bound(address);
    if (it == host_buffers.begin()) return std::nullopt;
    --it;
    hxrt_buffer* b = it->second;
    uint64_t into = address - it->first;
    if (b->device != device || into > b->size || n > b->size - into || (write && b->read_only)) return std::nullopt;
    return HostRange{b->allocation.buffer(), b->allocation.offset + into, b->import};
  }
  ~hxrt_plugin_context() {
    devices.clear();
    if (messenger != VK_NULL_HANDLE) fi.vkDestroyDebugUtilsMessengerEXT(instance, messenger, nullptr);
    if (instance != VK_NULL_HANDLE) fi.vkDestroyInstance(instance, nullptr);
  }
};

struct hxrt_stream {
  uint32_t tag = kStreamTag;
  hxrt_device* device = nullptr;
  std::shared_ptr<vk::StreamCore> core;
  ~hxrt_stream() {
    tag = 0;
    if (core) core->shutdown();
  }
};

struct hxrt_event {
  uint32_t tag = kEventTag;
  hxrt_device* device = nullptr;
  std::mutex mutex;
  vk::Capture capture;  // empty until recorded: complete, no error
  vk::Capture current() {
    std::lock_guard lock(mutex);
    return capture;
  }
};

struct hxrt_executable {
  uint32_t tag = kExecutableTag;
  hxrt_device* device = nullptr;
  std::shared_ptr<vk::Executable> exe;
};

namespace {

// ---------------------------------------------------------------------------
// Identity.
// ---------------------------------------------------------------------------

std::string compiler_string() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return "gcc " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." + std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

struct BuildProperties {
  std::string headers = std::to_string(VK_API_VERSION_MAJOR(VK_HEADER_VERSION_COMPLETE)) + "." +
                        std::to_string(VK_API_VERSION_MINOR(VK_HEADER_VERSION_COMPLETE)) + "." +
                        std::to_string(VK_HEADER_VERSION);
  std::string compiler = compiler_string();
  const char* keys[3] = {"vulkan_headers", "compiler", "shaders"};
  const char* values[3] = {headers.c_str(), compiler.c_str(), "GLSL 460 -> SPIR-V (glslc, embedded)"};
};

const BuildProperties& build_properties() {
  static const BuildProperties props;
  return props;
}

const hxrt_plugin_identity& identity() {
  static const hxrt_plugin_identity id = [] {
    hxrt_plugin_identity i{};
    i.struct_size = sizeof(hxrt_plugin_identity);
    i.name = "vulkan";
    i.version = "0.1.0";
    i.abi_major = HXRT_ABI_VERSION_MAJOR;
    i.abi_minor = HXRT_ABI_VERSION_MINOR;
    i.num_build_properties = 3;
    i.build_property_keys = build_properties().keys;
    i.build_property_values = build_properties().values;
    return i;
  }();
  return id;
}

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

template <typename T>
T* checked(T* handle, uint32_t tag, const char* what) {
  if (handle == nullptr) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(what) + " must not be NULL");
  if (handle->tag != tag) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(what) + " is not a vulkan " + what + " handle");
  return handle;
}

void check_range(uint64_t offset, uint64_t size, uint64_t buffer_size, const std::string& what) {
  if (offset > buffer_size || size > buffer_size - offset)
    throw PluginError(HXRT_STATUS_OUT_OF_RANGE, what + ": " + std::to_string(size) + " bytes at offset " +
                                                    std::to_string(offset) + " lie outside its buffer of " +
                                                    std::to_string(buffer_size) + " bytes");
}

template <typename T>
void write_out_struct(T* dst, const T& ours) {
  size_t caller = dst->struct_size;
  size_t n = std::min(caller, sizeof(T));
  if (n > sizeof(size_t))
    std::memcpy(reinterpret_cast<char*>(dst) + sizeof(size_t), reinterpret_cast<const char*>(&ours) + sizeof(size_t),
                n - sizeof(size_t));
  dst->struct_size = caller;
}

hxrt_plugin_status* error_status(const std::optional<PluginError>& error) {
  if (!error) return nullptr;
  return hxrt::plugin::make_status(error->code(), error->what());
}

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/hxrt/vulkan";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/hxrt/vulkan";
  return {};
}

bool parse_flag(const char* key, const char* value) {
  std::string v = value;
  if (v == "1" || v == "true" || v == "on") return true;
  if (v == "0" || v == "false" || v == "off") return false;
  throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                    std::string("option ") + key + " must be 0 or 1 (or true/false), got '" + value + "'");
}

VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                              VkDebugUtilsMessageTypeFlagsEXT,
                                              const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* ctx = static_cast<hxrt_plugin_context*>(user);
  std::string text = std::string("vulkan validation: ") + (data && data->pMessage ? data->pMessage : "(no message)");
  std::replace(text.begin(), text.end(), '\n', ' ');
  if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    ctx->validation_errors.fetch_add(1);
    ctx->log(HXRT_LOG_ERROR, text);
  } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    ctx->log(HXRT_LOG_WARNING, text);
  }
  return VK_FALSE;
}

// Creates the instance and every usable device; problems leave zero devices
// and a WARNING (R4.1), never a failure.
void open_devices(hxrt_plugin_context& ctx, bool validation, const std::string& cache_dir, bool measure) {
  std::string why;
  const vk::GlobalFunctions* g = vk::load_global(why);
  if (g == nullptr) {
    ctx.log(HXRT_LOG_WARNING, "vulkan plugin: no devices: " + why);
    return;
  }
  uint32_t version = VK_API_VERSION_1_0;
  if (g->vkEnumerateInstanceVersion) g->vkEnumerateInstanceVersion(&version);
  if (version < VK_API_VERSION_1_2) {
    ctx.log(HXRT_LOG_WARNING, "vulkan plugin: no devices: the Vulkan loader supports only " +
                                  std::to_string(VK_API_VERSION_MAJOR(version)) + "." +
                                  std::to_string(VK_API_VERSION_MINOR(version)) + ", the plugin needs 1.2");
    return;
  }
  std::vector<const char*> layers, extensions;
  if (validation) {
    uint32_t count = 0;
    g->vkEnumerateInstanceLayerProperties(&count, nullptr);
    std::vector<VkLayerProperties> props(count);
    g->vkEnumerateInstanceLayerProperties(&count, props.data());
    bool have_layer = std::any_of(props.begin(), props.end(), [](auto& p) {
      return std::strcmp(p.layerName, "VK_LAYER_KHRONOS_validation") == 0;
    });
    if (have_layer) {
      layers.push_back("VK_LAYER_KHRONOS_validation");
      extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    } else {
      ctx.log(HXRT_LOG_WARNING, "vulkan plugin: validation=1 but VK_LAYER_KHRONOS_validation is not installed");
    }
  }
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "hxrt";
  app.pEngineName = "hxrt vulkan plugin";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = static_cast<uint32_t>(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  VkResult r = g->vkCreateInstance(&ci, nullptr, &ctx.instance);
  if (r != VK_SUCCESS) {
    ctx.instance = VK_NULL_HANDLE;
    ctx.log(HXRT_LOG_WARNING, std::string("vulkan plugin: no devices: vkCreateInstance failed: ") + vk::result_name(r));
    return;
  }
  ctx.fi = vk::load_instance(*g, ctx.instance);
  if (!extensions.empty() && ctx.fi.vkCreateDebugUtilsMessengerEXT) {
    VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
    mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mi.pfnUserCallback = debug_callback;
    mi.pUserData = &ctx;
    if (ctx.fi.vkCreateDebugUtilsMessengerEXT(ctx.instance, &mi, nullptr, &ctx.messenger) != VK_SUCCESS)
      ctx.messenger = VK_NULL_HANDLE;
  }
  uint32_t count = 0;
  ctx.fi.vkEnumeratePhysicalDevices(ctx.instance, &count, nullptr);
  std::vector<VkPhysicalDevice> physical(count);
  if (count > 0) ctx.fi.vkEnumeratePhysicalDevices(ctx.instance, &count, physical.data());
  auto log = [&ctx](hxrt_log_level level, const std::string& message) { ctx.log(level, message); };
  for (uint32_t i = 0; i < count; ++i) {
    try {
      auto d = std::make_unique<hxrt_device>();
      d->context = &ctx;
      d->vk = std::make_unique<vk::Device>(*g, ctx.fi, ctx.instance, physical[i], i, log, cache_dir, measure);
      ctx.device_list.push_back(d.get());
      ctx.devices.push_back(std::move(d));
    } catch (const std::exception& e) {
      ctx.log(HXRT_LOG_WARNING, "vulkan plugin: skipping physical device " + std::to_string(i) + ": " + e.what());
    }
  }
  if (ctx.devices.empty())
    ctx.log(HXRT_LOG_WARNING, count == 0 ? "vulkan plugin: no devices: no Vulkan driver (ICD) reports a physical device"
                                         : "vulkan plugin: no devices: no physical device is usable");
}

// ---------------------------------------------------------------------------
// Entry points: context and devices.
// ---------------------------------------------------------------------------

hxrt_plugin_status* context_create(hxrt_context_create_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_context_create_args, context), "hxrt_context_create_args");
    args->context = nullptr;
    if (args->num_options > 0 && (args->option_keys == nullptr || args->option_values == nullptr))
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "option_keys/option_values must not be NULL");
    auto ctx = std::make_unique<hxrt_plugin_context>();
    ctx->logger = args->logger;
    ctx->logger_user_data = args->logger_user_data;
    bool validation = false, measure = true;
    std::string cache_dir = default_cache_dir();
    for (size_t i = 0; i < args->num_options; ++i) {
      const char* key = args->option_keys[i];
      const char* value = args->option_values[i];
      require_non_null(key, "option key");
      require_non_null(value, "option value");
      std::string_view k = key;
      if (k == "validation") validation = parse_flag(key, value);
      else if (k == "measure") measure = parse_flag(key, value);
      else if (k == "cache_dir") cache_dir = value;
      else ctx->log(HXRT_LOG_WARNING, std::string("vulkan plugin: ignoring unknown option '") + key + "'");
    }
    open_devices(*ctx, validation, cache_dir, measure);
    args->context = ctx.release();
  });
}

void context_destroy(hxrt_plugin_context* context) {
  if (context == nullptr) return;
  try {
    context->devices.clear();  // saves pipeline caches; may still report validation messages
    if (context->messenger != VK_NULL_HANDLE) {
      uint64_t errors = context->validation_errors.load();
      context->log(errors ? HXRT_LOG_WARNING : HXRT_LOG_INFO,
                   "vulkan validation: " + std::to_string(errors) + " error(s) in this context");
    }
  } catch (...) {
  }
  delete context;
}

hxrt_plugin_status* context_get_devices(hxrt_context_get_devices_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_context_get_devices_args, devices),
                        "hxrt_context_get_devices_args");
    require_non_null(args->context, "context");
    args->num_devices = args->context->device_list.size();
    args->devices = args->context->device_list.data();
  });
}

hxrt_plugin_status* device_get_properties(hxrt_device_get_properties_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_device_get_properties_args, properties),
                        "hxrt_device_get_properties_args");
    hxrt_device* d = checked(args->device, kDeviceTag, "device");
    require_non_null(args->properties, "properties");
    if (args->properties->struct_size < sizeof(size_t))
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "properties->struct_size is too small");
    const vk::Device& v = *d->vk;
    hxrt_device_properties p{};
    p.struct_size = sizeof(p);
    p.name = v.name().c_str();
    p.vendor = v.vendor().c_str();
    p.kind = v.kind();
    p.memory_bytes = v.memory_bytes();
    p.peak_flops_f32 = v.caps().flops_per_s;
    p.memory_bandwidth_bytes_per_s = v.caps().bytes_per_s;
    p.host_addressable = 0;
    p.driver_version = v.driver_version().c_str();
    p.compute_units = v.compute_units();
    p.max_allocation_bytes = std::min<uint64_t>(v.caps().max_allocation, p.memory_bytes);
    p.can_wrap_host_memory = v.host_import_alignment() > 0 ? 1 : 0;
    p.wrap_host_memory_alignment = v.host_import_alignment();
    write_out_struct(args->properties, p);
  });
}

hxrt_plugin_status* device_get_transfer_costs(hxrt_device_get_transfer_costs_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_device_get_transfer_costs_args, costs),
                        "hxrt_device_get_transfer_costs_args");
    hxrt_device* d = checked(args->device, kDeviceTag, "device");
    require_non_null(args->costs, "costs");
    if (args->costs->struct_size < sizeof(size_t))
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "costs->struct_size is too small");
    const vk::Device& v = *d->vk;
    const vk::Device::Link& l = v.link();
    hxrt_transfer_costs c{};
    c.struct_size = sizeof(c);
    c.host_to_device_pageable = {l.latency_ns, l.h2d_pageable_bytes_per_s};
    c.host_to_device_pinned = {l.latency_ns, l.pinned_bytes_per_s};
    c.device_to_host_pageable = {l.latency_ns, l.d2h_pageable_bytes_per_s};
    c.device_to_host_pinned = {l.latency_ns, l.pinned_bytes_per_s};
    c.device_to_device = {v.caps().launch_ns, v.caps().bytes_per_s / 2};
    write_out_struct(args->costs, c);
  });
}

// ---------------------------------------------------------------------------
// Memory.
// ---------------------------------------------------------------------------

hxrt_plugin_status* buffer_allocate(hxrt_buffer_allocate_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_buffer_allocate_args, buffer), "hxrt_buffer_allocate_args");
    args->buffer = nullptr;
    hxrt_device* d = checked(args->device, kDeviceTag, "device");
    if (args->memory_kind != HXRT_MEMORY_DEVICE && args->memory_kind != HXRT_MEMORY_HOST_PINNED)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "unknown memory kind " + std::to_string(args->memory_kind));
    auto buffer = std::make_unique<hxrt_buffer>();
    buffer->device = d;
    buffer->kind = args->memory_kind;
    buffer->size = args->size_bytes;
    buffer->allocation = d->vk->pool(args->memory_kind).allocate(args->size_bytes);
    if (buffer->kind == HXRT_MEMORY_HOST_PINNED && buffer->size > 0) d->context->add_host_buffer(buffer.get());
    args->buffer = buffer.release();
  });
}

// Caller memory as a DEVICE buffer (R4.6), imported with
// VK_EXT_external_memory_host: copies and executables use the caller's
// memory itself. Destroying the buffer releases the import, not the memory.
hxrt_plugin_status* buffer_wrap_host_memory(hxrt_buffer_wrap_host_memory_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_buffer_wrap_host_memory_args, buffer),
                        "hxrt_buffer_wrap_host_memory_args");
    args->buffer = nullptr;
    hxrt_device* d = checked(args->device, kDeviceTag, "device");
    const vk::Device& v = *d->vk;
    const uint64_t alignment = v.host_import_alignment();
    if (alignment == 0)
      throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "buffer_wrap_host_memory: " + v.name() +
                                                       " cannot import host memory (no VK_EXT_external_memory_host; "
                                                       "can_wrap_host_memory is 0)");
    const uint64_t size = args->size_bytes;
    if (size > 0) require_non_null(args->host_pointer, "host_pointer");
    if (reinterpret_cast<uintptr_t>(args->host_pointer) % alignment != 0 || size % alignment != 0)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                        "buffer_wrap_host_memory: pointer and size must be multiples of " + std::to_string(alignment) +
                            " bytes (wrap_host_memory_alignment, Vulkan's minImportedHostPointerAlignment)");
    if (size > v.caps().max_allocation && v.caps().max_allocation > 0)
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "buffer_wrap_host_memory: " + std::to_string(size) +
                                                            " bytes exceed the maxMemoryAllocationSize of " + v.name());
    auto buffer = std::make_unique<hxrt_buffer>();
    buffer->device = d;
    buffer->kind = HXRT_MEMORY_DEVICE;
    buffer->size = size;
    buffer->wrapped = true;
    buffer->read_only = args->read_only != 0;
    buffer->wrapped_host = args->host_pointer;
    if (size > 0) {
      buffer->import = std::make_shared<const vk::HostImport>(v, args->host_pointer, size, buffer->read_only);
      buffer->allocation = buffer->import->allocation();
      d->context->add_host_buffer(buffer.get());
    }
    args->buffer = buffer.release();
  });
}

void buffer_destroy(hxrt_buffer* buffer) {
  if (buffer == nullptr || buffer->tag != kBufferTag) return;
  if (buffer->size > 0 && buffer->host() != nullptr) buffer->device->context->remove_host_buffer(buffer);
  delete buffer;
}

hxrt_plugin_status* buffer_get_host_pointer(hxrt_buffer_get_host_pointer_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_buffer_get_host_pointer_args, host_pointer),
                        "hxrt_buffer_get_host_pointer_args");
    hxrt_buffer* b = checked(args->buffer, kBufferTag, "buffer");
    if (b->kind != HXRT_MEMORY_HOST_PINNED && !b->wrapped) {
      args->host_pointer = nullptr;
      return;
    }
    // An empty pinned or wrapped buffer still answers a non-NULL pointer (never dereferenced).
    static char empty;
    void* host = b->host();
    args->host_pointer = b->size > 0 || host != nullptr ? host : &empty;
  });
}

// ---------------------------------------------------------------------------
// Streams and events.
// ---------------------------------------------------------------------------

hxrt_plugin_status* stream_create(hxrt_stream_create_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_stream_create_args, stream), "hxrt_stream_create_args");
    args->stream = nullptr;
    hxrt_device* d = checked(args->device, kDeviceTag, "device");
    auto stream = std::make_unique<hxrt_stream>();
    stream->device = d;
    stream->core = std::make_shared<vk::StreamCore>(*d->vk);
    args->stream = stream.release();
  });
}

void stream_destroy(hxrt_stream* stream) {
  if (stream == nullptr || stream->tag != kStreamTag) return;
  delete stream;
}

hxrt_plugin_status* stream_synchronize(hxrt_stream* stream) {
  hxrt_plugin_status* result = nullptr;
  hxrt_plugin_status* failure = guard([&] { result = error_status(checked(stream, kStreamTag, "stream")->core->synchronize()); });
  return failure != nullptr ? failure : result;
}

hxrt_plugin_status* stream_wait_event(hxrt_stream_wait_event_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_stream_wait_event_args, event), "hxrt_stream_wait_event_args");
    hxrt_stream* s = checked(args->stream, kStreamTag, "stream");
    hxrt_event* e = checked(args->event, kEventTag, "event");
    if (e->device->context != s->device->context)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "stream_wait_event: event and stream belong to different contexts");
    s->core->wait(e->current());
  });
}

hxrt_plugin_status* event_create(hxrt_event_create_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_event_create_args, event), "hxrt_event_create_args");
    args->event = nullptr;
    auto event = std::make_unique<hxrt_event>();
    event->device = checked(args->device, kDeviceTag, "device");
    args->event = event.release();
  });
}

void event_destroy(hxrt_event* event) {
  if (event == nullptr || event->tag != kEventTag) return;
  event->tag = 0;
  delete event;
}

hxrt_plugin_status* event_record(hxrt_event_record_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_event_record_args, stream), "hxrt_event_record_args");
    hxrt_event* e = checked(args->event, kEventTag, "event");
    hxrt_stream* s = checked(args->stream, kStreamTag, "stream");
    if (s->device != e->device)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "event_record: the stream belongs to another device than the event");
    vk::Capture capture = s->core->record_event();
    std::lock_guard lock(e->mutex);
    e->capture = std::move(capture);
  });
}

hxrt_plugin_status* event_synchronize(hxrt_event* event) {
  hxrt_plugin_status* result = nullptr;
  hxrt_plugin_status* failure = guard([&] {
    vk::Capture c = checked(event, kEventTag, "event")->current();
    if (c.core == nullptr) return;
    c.core->wait_completed(c.value);
    result = error_status(c.core->failure_in(c.cleared, c.value));
  });
  return failure != nullptr ? failure : result;
}

hxrt_plugin_status* event_query(hxrt_event_query_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_event_query_args, completed), "hxrt_event_query_args");
    vk::Capture c = checked(args->event, kEventTag, "event")->current();
    args->completed = c.core == nullptr || c.core->is_completed(c.value) ? 1 : 0;
  });
}

// ---------------------------------------------------------------------------
// Copies.
// ---------------------------------------------------------------------------

// R4.6: the device never writes memory wrapped read-only.
void refuse_read_only(const hxrt_buffer* buffer, const std::string& what) {
  if (buffer->read_only)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                      what + " is host memory wrapped read-only; the device cannot write it");
}

struct Staging {
  vk::MemoryPool* pool;
  vk::Allocation allocation;
};

Staging staging_for(hxrt_device* d, uint64_t size) {
  vk::MemoryPool& pool = d->vk->pool(HXRT_MEMORY_HOST_PINNED);
  return {&pool, pool.allocate(size)};
}

void record_copy(const vk::DeviceFunctions& f, VkCommandBuffer cb, VkBuffer src, uint64_t src_offset, VkBuffer dst,
                 uint64_t dst_offset, uint64_t size) {
  VkBufferCopy region{src_offset, dst_offset, size};
  f.vkCmdCopyBuffer(cb, src, dst, 1, &region);
}

// Copies between a device buffer and a staging range with a one-off submit on
// that buffer's device: for buffers of another device than the stream's.
void copy_now(hxrt_device* d, VkBuffer src, uint64_t src_offset, VkBuffer dst, uint64_t dst_offset, uint64_t size) {
  d->vk->run_now([&](VkCommandBuffer cb) { record_copy(d->vk->fn(), cb, src, src_offset, dst, dst_offset, size); });
}

hxrt_plugin_status* copy_to_device(hxrt_copy_to_device_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_copy_to_device_args, size_bytes), "hxrt_copy_to_device_args");
    hxrt_stream* s = checked(args->stream, kStreamTag, "stream");
    hxrt_buffer* dst = checked(args->dst, kBufferTag, "dst");
    if (dst->device->context != s->device->context)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "copy_to_device: dst belongs to another context");
    refuse_read_only(dst, "copy_to_device: dst");
    if (args->size_bytes > 0) require_non_null(args->src, "src");
    check_range(args->dst_offset, args->size_bytes, dst->size, "copy_to_device dst");
    uint64_t n = args->size_bytes;
    if (n == 0) return;
    VkBuffer dst_buffer = dst->allocation.buffer();
    uint64_t dst_offset = dst->allocation.offset + args->dst_offset;
    const vk::DeviceFunctions& f = s->device->vk->fn();
    vk::Work work;
    if (dst->device != s->device) {
      Staging st = staging_for(dst->device, n);
      work.release.emplace_back(st.pool, st.allocation);
      std::memcpy(st.allocation.mapped(), args->src, n);  // R7.6: src may be read at enqueue time
      hxrt_device* d = dst->device;
      vk::Allocation a = st.allocation;
      work.before = [d, a, dst_buffer, dst_offset, n] { copy_now(d, a.buffer(), a.offset, dst_buffer, dst_offset, n); };
    } else if (std::optional<HostRange> src = s->device->context->find_host_range(args->src, n, s->device, false)) {
      if (src->keep) work.keep.push_back(src->keep);
      work.record = [&f, src_buffer = src->buffer, src_offset = src->offset, dst_buffer, dst_offset,
                     n](VkCommandBuffer cb) { record_copy(f, cb, src_buffer, src_offset, dst_buffer, dst_offset, n); };
    } else {
      Staging st = staging_for(s->device, n);
      work.release.emplace_back(st.pool, st.allocation);
      std::memcpy(st.allocation.mapped(), args->src, n);
      vk::Allocation a = st.allocation;
      work.record = [&f, a, dst_buffer, dst_offset, n](VkCommandBuffer cb) {
        record_copy(f, cb, a.buffer(), a.offset, dst_buffer, dst_offset, n);
      };
    }
    s->core->enqueue(std::move(work));
  });
}

hxrt_plugin_status* copy_to_host(hxrt_copy_to_host_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_copy_to_host_args, size_bytes), "hxrt_copy_to_host_args");
    hxrt_stream* s = checked(args->stream, kStreamTag, "stream");
    hxrt_buffer* src = checked(args->src, kBufferTag, "src");
    if (src->device->context != s->device->context)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "copy_to_host: src belongs to another context");
    if (args->size_bytes > 0) require_non_null(args->dst, "dst");
    check_range(args->src_offset, args->size_bytes, src->size, "copy_to_host src");
    uint64_t n = args->size_bytes;
    if (n == 0) return;
    VkBuffer src_buffer = src->allocation.buffer();
    uint64_t src_offset = src->allocation.offset + args->src_offset;
    void* dst = args->dst;
    const vk::DeviceFunctions& f = s->device->vk->fn();
    vk::Work work;
    if (src->device != s->device) {
      Staging st = staging_for(src->device, n);
      work.release.emplace_back(st.pool, st.allocation);
      hxrt_device* d = src->device;
      vk::Allocation a = st.allocation;
      work.before = [d, a, src_buffer, src_offset, dst, n] {
        copy_now(d, src_buffer, src_offset, a.buffer(), a.offset, n);
        std::memcpy(dst, a.mapped(), n);
      };
    } else if (std::optional<HostRange> to = s->device->context->find_host_range(dst, n, s->device, true)) {
      if (to->keep) work.keep.push_back(to->keep);
      work.record = [&f, src_buffer, src_offset, dst_buffer = to->buffer, dst_offset = to->offset,
                     n](VkCommandBuffer cb) { record_copy(f, cb, src_buffer, src_offset, dst_buffer, dst_offset, n); };
    } else {
      Staging st = staging_for(s->device, n);
      work.release.emplace_back(st.pool, st.allocation);
      vk::Allocation a = st.allocation;
      work.record = [&f, a, src_buffer, src_offset, n](VkCommandBuffer cb) {
        record_copy(f, cb, src_buffer, src_offset, a.buffer(), a.offset, n);
      };
      work.after = [a, dst, n] { std::memcpy(dst, a.mapped(), n); };
    }
    s->core->enqueue(std::move(work));
  });
}

hxrt_plugin_status* copy_on_device(hxrt_copy_on_device_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_copy_on_device_args, size_bytes), "hxrt_copy_on_device_args");
    hxrt_stream* s = checked(args->stream, kStreamTag, "stream");
    hxrt_buffer* src = checked(args->src, kBufferTag, "src");
    hxrt_buffer* dst = checked(args->dst, kBufferTag, "dst");
    if (src->device->context != s->device->context || dst->device->context != s->device->context)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "copy_on_device: buffers belong to another context");
    refuse_read_only(dst, "copy_on_device: dst");
    check_range(args->src_offset, args->size_bytes, src->size, "copy_on_device src");
    check_range(args->dst_offset, args->size_bytes, dst->size, "copy_on_device dst");
    uint64_t n = args->size_bytes;
    if (n == 0) return;
    VkBuffer src_buffer = src->allocation.buffer(), dst_buffer = dst->allocation.buffer();
    uint64_t src_offset = src->allocation.offset + args->src_offset, dst_offset = dst->allocation.offset + args->dst_offset;
    const vk::DeviceFunctions& f = s->device->vk->fn();
    vk::Work work;
    if (src->device == s->device && dst->device == s->device) {
      work.record = [&f, src_buffer, src_offset, dst_buffer, dst_offset, n](VkCommandBuffer cb) {
        record_copy(f, cb, src_buffer, src_offset, dst_buffer, dst_offset, n);
      };
    } else {
      // Across devices: through host staging memory of each, in stream order.
      Staging from = staging_for(src->device, n), to = staging_for(dst->device, n);
      work.release.emplace_back(from.pool, from.allocation);
      work.release.emplace_back(to.pool, to.allocation);
      hxrt_device *sd = src->device, *dd = dst->device;
      vk::Allocation a = from.allocation, b = to.allocation;
      work.before = [=] {
        copy_now(sd, src_buffer, src_offset, a.buffer(), a.offset, n);
        std::memcpy(b.mapped(), a.mapped(), n);
        copy_now(dd, b.buffer(), b.offset, dst_buffer, dst_offset, n);
      };
    }
    s->core->enqueue(std::move(work));
  });
}

// ---------------------------------------------------------------------------
// Ops and executables.
// ---------------------------------------------------------------------------

// The single decision for query and claim: supported with an estimate, or why not.
struct Answer {
  bool supported = false;
  hxrt_support_reason reason = HXRT_UNSUPPORTED_OTHER;
  double estimated_ns = 0;
  std::string message;
};

Answer answer_for(const hxrt_node_desc& node, const vk::DeviceCaps& caps) {
  Answer a;
  try {
    vk::NodePlan plan = vk::plan_node(hxrt::plugin::NodeReader(node), caps);
    a.supported = true;
    a.reason = HXRT_SUPPORTED;
    a.estimated_ns = vk::estimate_ns(plan, caps);
  } catch (const vk::Unsupported& why) {
    a.reason = why.reason();
    a.message = why.what();
  } catch (const PluginError& e) {
    if (e.code() == HXRT_STATUS_INVALID_ARGUMENT) throw;
    a.reason = HXRT_UNSUPPORTED_OTHER;
    a.message = e.what();
  }
  return a;
}

hxrt_plugin_status* query_op_support(hxrt_query_op_support_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_query_op_support_args, reason_message_capacity),
                        "hxrt_query_op_support_args");
    hxrt_device* d = checked(args->device, kDeviceTag, "device");
    check_node(args->node);
    Answer a = answer_for(*args->node, d->vk->caps());
    args->supported = a.supported ? 1 : 0;
    args->reason = a.reason;
    args->estimated_ns = a.estimated_ns;
    hxrt::plugin::copy_to_buffer(a.message, args->reason_message, args->reason_message_capacity);
  });
}

hxrt_plugin_status* claim_subgraph(hxrt_claim_subgraph_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_claim_subgraph_args, group_estimated_ns),
                        "hxrt_claim_subgraph_args");
    hxrt_device* d = checked(args->device, kDeviceTag, "device");
    check_graph(args->graph);
    const hxrt_graph_desc& g = *args->graph;
    if (g.num_nodes > 0) require_non_null(args->group_of_node, "group_of_node");
    // One group per node: always convex; the host merges runs it places together.
    for (size_t n = 0; n < g.num_nodes; ++n) {
      Answer a = answer_for(*g.nodes[n]->node, d->vk->caps());
      args->group_of_node[n] = a.supported ? static_cast<int64_t>(n) : -1;
      if (args->group_estimated_ns != nullptr) args->group_estimated_ns[n] = a.supported ? a.estimated_ns : 0.0;
    }
  });
}

hxrt_plugin_status* executable_compile(hxrt_executable_compile_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_executable_compile_args, executable),
                        "hxrt_executable_compile_args");
    args->executable = nullptr;
    hxrt_device* d = checked(args->device, kDeviceTag, "device");
    check_graph(args->graph);
    auto exe = std::make_unique<hxrt_executable>();
    exe->device = d;
    exe->exe = std::make_shared<vk::Executable>(*d->vk, *args->graph);
    args->executable = exe.release();
  });
}

void executable_destroy(hxrt_executable* executable) {
  if (executable == nullptr || executable->tag != kExecutableTag) return;
  executable->tag = 0;
  delete executable;
}

hxrt_plugin_status* executable_execute(hxrt_executable_execute_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_executable_execute_args, output_offsets),
                        "hxrt_executable_execute_args");
    hxrt_executable* x = checked(args->executable, kExecutableTag, "executable");
    hxrt_stream* s = checked(args->stream, kStreamTag, "stream");
    if (s->device != x->device)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable_execute: the stream belongs to another device");
    const std::shared_ptr<vk::Executable>& exe = x->exe;
    if (args->num_inputs != exe->num_inputs())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable takes " + std::to_string(exe->num_inputs()) +
                                                          " inputs, got " + std::to_string(args->num_inputs));
    if (args->num_outputs != exe->num_outputs())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable produces " + std::to_string(exe->num_outputs()) +
                                                          " outputs, got " + std::to_string(args->num_outputs));
    if (args->num_inputs > 0) require_non_null(args->input_buffers, "input_buffers");
    if (args->num_outputs > 0) require_non_null(args->output_buffers, "output_buffers");
    auto resolve = [&](hxrt_buffer* buffer, uint64_t offset, uint64_t bytes, const std::string& what) {
      hxrt_buffer* b = checked(buffer, kBufferTag, "buffer");
      if (b->device != x->device)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, what + ": the buffer belongs to another device");
      check_range(offset, bytes, b->size, what);
      if (offset % 4 != 0 && bytes > 0)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, what + ": offset " + std::to_string(offset) +
                                                            " is not a multiple of 4 bytes");
      vk::Location loc;
      loc.buffer = b->allocation.buffer();
      loc.offset = b->allocation.offset + offset;
      loc.address = bytes > 0 ? b->allocation.address() + offset : 0;
      return loc;
    };
    std::vector<vk::Location> inputs(args->num_inputs), outputs(args->num_outputs);
    for (size_t k = 0; k < args->num_inputs; ++k)
      inputs[k] = resolve(args->input_buffers[k], args->input_offsets ? args->input_offsets[k] : 0, exe->input_bytes(k),
                          "input " + std::to_string(k));
    for (size_t k = 0; k < args->num_outputs; ++k) {
      refuse_read_only(checked(args->output_buffers[k], kBufferTag, "buffer"), "output " + std::to_string(k));
      outputs[k] = resolve(args->output_buffers[k], args->output_offsets ? args->output_offsets[k] : 0,
                           exe->output_bytes(k), "output " + std::to_string(k));
    }
    vk::Work work;
    vk::MemoryPool& pool = x->device->vk->pool(HXRT_MEMORY_DEVICE);
    vk::Allocation arena = pool.allocate(exe->arena_bytes());
    work.release.emplace_back(&pool, arena);
    work.keep.push_back(exe);
    vk::Executable* raw = exe.get();
    work.record = [raw, inputs = std::move(inputs), outputs = std::move(outputs), arena](VkCommandBuffer cb) {
      raw->record(cb, inputs, outputs, arena);
    };
    s->core->enqueue(std::move(work));
  });
}

const hxrt_plugin_api& api_table() {
  static const hxrt_plugin_api api = [] {
    hxrt_plugin_api a{};
    a.struct_size = sizeof(hxrt_plugin_api);
    a.abi_major = HXRT_ABI_VERSION_MAJOR;
    a.abi_minor = HXRT_ABI_VERSION_MINOR;
    a.identity = &identity();
    a.status_get_code = hxrt::plugin::status_get_code;
    a.status_get_message = hxrt::plugin::status_get_message;
    a.status_destroy = hxrt::plugin::status_destroy;
    a.context_create = context_create;
    a.context_destroy = context_destroy;
    a.context_get_devices = context_get_devices;
    a.device_get_properties = device_get_properties;
    a.device_get_transfer_costs = device_get_transfer_costs;
    a.buffer_allocate = buffer_allocate;
    a.buffer_destroy = buffer_destroy;
    a.buffer_get_host_pointer = buffer_get_host_pointer;
    a.buffer_wrap_host_memory = buffer_wrap_host_memory;
    a.stream_create = stream_create;
    a.stream_destroy = stream_destroy;
    a.stream_synchronize = stream_synchronize;
    a.stream_wait_event = stream_wait_event;
    a.event_create = event_create;
    a.event_destroy = event_destroy;
    a.event_record = event_record;
    a.event_synchronize = event_synchronize;
    a.event_query = event_query;
    a.copy_to_device = copy_to_device;
    a.copy_to_host = copy_to_host;
    a.copy_on_device = copy_on_device;
    a.query_op_support = query_op_support;
    a.claim_subgraph = claim_subgraph;
    a.executable_compile = executable_compile;
    a.executable_destroy = executable_destroy;
    a.executable_execute = executable_execute;
    return a;
  }();
  return api;
}

// Built when the library loads, so negotiation itself never allocates.
[[maybe_unused]] const hxrt_plugin_api& g_api_at_load = api_table();

}  // namespace

extern "C" HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args) {
  return hxrt::plugin::negotiate(args, api_table());
}
