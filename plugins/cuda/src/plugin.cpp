// The CUDA plugin: implements the hxrt plugin ABI v1.0 on NVIDIA GPUs.
//
// Devices: every CUDA device (none without a driver or GPU: the context then
// reports zero devices with the reason). Memory: DEVICE buffers from a
// stream-ordered pool per device, HOST_PINNED from cudaHostAlloc. Streams and
// events: CUDA streams and events. Executables: cuBLASLt / cuDNN / own kernels
// per node, replayed as CUDA graphs after their first run.
//
// This file holds the identity, the function table and negotiation, the one
// exported symbol. Entry points: context.cpp, memory_streams.cpp, executable.cpp.
#include "hxrt/plugin_support/abi_checks.hpp"
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "cuda_objects.hpp"

namespace hxrt::cuda {
namespace {

std::string compiler_string() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return "gcc " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

// Versions of the headers the plugin was built against; runtime driver
// versions are device properties (R9).
struct BuildProperties {
  std::string toolkit = HXRT_CUDA_TOOLKIT_VERSION;
  std::string cudnn = std::to_string(CUDNN_MAJOR) + "." + std::to_string(CUDNN_MINOR) + "." +
                      std::to_string(CUDNN_PATCHLEVEL);
  std::string cublas = std::to_string(CUBLAS_VER_MAJOR) + "." + std::to_string(CUBLAS_VER_MINOR) + "." +
                       std::to_string(CUBLAS_VER_PATCH);
  std::string compiler = compiler_string();
  const char* keys[4] = {"cuda_toolkit", "cudnn_headers", "cublas_headers", "compiler"};
  const char* values[4] = {toolkit.c_str(), cudnn.c_str(), cublas.c_str(), compiler.c_str()};
};

const BuildProperties& build_properties() {
  static const BuildProperties props;
  return props;
}

const hxrt_plugin_identity& identity() {
  static const hxrt_plugin_identity id = [] {
    hxrt_plugin_identity i{};
    i.struct_size = sizeof(hxrt_plugin_identity);
    i.name = "cuda";
    i.version = "0.1.0";
    i.abi_major = HXRT_ABI_VERSION_MAJOR;
    i.abi_minor = HXRT_ABI_VERSION_MINOR;
    i.num_build_properties = 4;
    i.build_property_keys = build_properties().keys;
    i.build_property_values = build_properties().values;
    return i;
  }();
  return id;
}

// Properties as context.cpp reports them, plus the 1.2 fields: every CUDA
// device registers host memory (buffer_wrap_host_memory), at any alignment.
hxrt_plugin_status* device_get_properties(hxrt_device_get_properties_args* args) {
  hxrt_plugin_status* status = entry::device_get_properties(args);
  if (status != nullptr) return status;
  hxrt_device_properties* p = args->properties;
  if (HXRT_STRUCT_HAS_FIELD(p->struct_size, hxrt_device_properties, can_wrap_host_memory)) p->can_wrap_host_memory = 1;
  if (HXRT_STRUCT_HAS_FIELD(p->struct_size, hxrt_device_properties, wrap_host_memory_alignment))
    p->wrap_host_memory_alignment = 0;
  return nullptr;
}

const hxrt_plugin_api& api_table() {
  static const hxrt_plugin_api api = [] {
    hxrt_plugin_api a{};
    a.struct_size = sizeof(hxrt_plugin_api);
    a.abi_major = HXRT_ABI_VERSION_MAJOR;
    a.abi_minor = HXRT_ABI_VERSION_MINOR;
    a.identity = &identity();
    a.status_get_code = plugin::status_get_code;
    a.status_get_message = plugin::status_get_message;
    a.status_destroy = plugin::status_destroy;
    a.context_create = entry::context_create;
    a.context_destroy = entry::context_destroy;
    a.context_get_devices = entry::context_get_devices;
    a.device_get_properties = device_get_properties;
    a.device_get_transfer_costs = entry::device_get_transfer_costs;
    a.buffer_allocate = entry::buffer_allocate;
    a.buffer_destroy = entry::buffer_destroy;
    a.buffer_get_host_pointer = entry::buffer_get_host_pointer;
    a.stream_create = entry::stream_create;
    a.stream_destroy = entry::stream_destroy;
    a.stream_synchronize = entry::stream_synchronize;
    a.stream_wait_event = entry::stream_wait_event;
    a.event_create = entry::event_create;
    a.event_destroy = entry::event_destroy;
    a.event_record = entry::event_record;
    a.event_synchronize = entry::event_synchronize;
    a.event_query = entry::event_query;
    a.copy_to_device = entry::copy_to_device;
    a.copy_to_host = entry::copy_to_host;
    a.copy_on_device = entry::copy_on_device;
    a.query_op_support = entry::query_op_support;
    a.claim_subgraph = entry::claim_subgraph;
    a.executable_compile = entry::executable_compile;
    a.executable_destroy = entry::executable_destroy;
    a.executable_execute = entry::executable_execute;
    a.buffer_wrap_host_memory = entry::buffer_wrap_host_memory;
    return a;
  }();
  return api;
}

// Built when the library loads, so negotiation itself never allocates (R1.2).
[[maybe_unused]] const hxrt_plugin_api& g_api_at_load = api_table();

}  // namespace
}  // namespace hxrt::cuda

extern "C" HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args) {
  return hxrt::plugin::negotiate(args, hxrt::cuda::api_table());
}
