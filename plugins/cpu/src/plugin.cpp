// The CPU plugin: implements the hxrt plugin ABI v1.0 on the host CPU.
//
// Devices: one (the host). Memory: 64-byte aligned host allocations (DEVICE and
// HOST_PINNED are the same thing here). Streams: plugin::HostStream worker
// threads. Executables: a sequence of per-node kernels from the registry.
//
// This file holds the identity, the function table and negotiation, the one
// exported symbol. The entry points live in plugin_context.cpp (context and
// devices), plugin_memory_streams.cpp (buffers, streams, events, copies) and
// plugin_executable.cpp (op support, claiming, compilation, execution).
#include "hxrt/plugin_support/abi_checks.hpp"
#include <dnnl.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "plugin_objects.hpp"

namespace hxrt::cpu {

std::string onednn_version_string() {
  const dnnl_version_t* v = dnnl_version();
  if (v == nullptr) return "unknown";
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

namespace {

// ---------------------------------------------------------------------------
// Identity.
// ---------------------------------------------------------------------------

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

// Built once at load; strings live until unload.
struct BuildProperties {
  std::string onednn = onednn_version_string();
  std::string onednn_headers = std::to_string(DNNL_VERSION_MAJOR) + "." + std::to_string(DNNL_VERSION_MINOR) + "." +
                               std::to_string(DNNL_VERSION_PATCH);
  std::string compiler = compiler_string();
  std::string openmp = std::to_string(_OPENMP);
  const char* keys[4] = {"onednn_version", "onednn_headers", "compiler", "openmp"};
  const char* values[4] = {onednn.c_str(), onednn_headers.c_str(), compiler.c_str(), openmp.c_str()};
};

const BuildProperties& build_properties() {
  static const BuildProperties props;
  return props;
}

const hxrt_plugin_identity& identity() {
  static const hxrt_plugin_identity id = [] {
    hxrt_plugin_identity i{};
    i.struct_size = sizeof(hxrt_plugin_identity);
    i.name = "cpu";
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

// ---------------------------------------------------------------------------
// The function table.
// ---------------------------------------------------------------------------

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
    a.device_get_properties = entry::device_get_properties;
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

// Built when the library loads, so negotiation itself never allocates.
[[maybe_unused]] const hxrt_plugin_api& g_api_at_load = api_table();

}  // namespace
}  // namespace hxrt::cpu

extern "C" HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args) {
  return hxrt::plugin::negotiate(args, hxrt::cpu::api_table());
}
