// The OpenCL plugin: implements the hxrt plugin ABI v1.0 on every OpenCL
// device the ICD loader reports (CL_DEVICE_TYPE_ALL).
//
// Kernels come from the embedded OpenCL C sources (JIT, with a binary cache)
// or from a kernel bundle of prebuilt binaries (the FPGA flow; see
// docs/plugins/opencl-fpga.md). This file holds the identity, the function
// table and negotiation; context.cpp, memory_streams.cpp and executable.cpp
// hold the entry points.
#include "hxrt/plugin_support/abi_checks.hpp"
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "plugin_objects.hpp"

namespace hxrt::ocl {
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

struct BuildProperties {
  std::string compiler = compiler_string();
  std::string cl_target = std::to_string(CL_TARGET_OPENCL_VERSION);
  std::string programs = [] {
    std::string list;
    for (const auto& name : embedded_program_names()) list += (list.empty() ? "" : ",") + name;
    return list;
  }();
  const char* keys[4] = {"compiler", "cl_target_opencl_version", "embedded_programs", "build_options"};
  const char* values[4] = {compiler.c_str(), cl_target.c_str(), programs.c_str(), kBuildOptions};
};

const hxrt_plugin_identity& identity() {
  static const BuildProperties props;
  static const hxrt_plugin_identity id = [] {
    hxrt_plugin_identity i{};
    i.struct_size = sizeof(hxrt_plugin_identity);
    i.name = "opencl";
    i.version = "0.1.0";
    i.abi_major = HXRT_ABI_VERSION_MAJOR;
    i.abi_minor = HXRT_ABI_VERSION_MINOR;
    i.num_build_properties = 4;
    i.build_property_keys = props.keys;
    i.build_property_values = props.values;
    return i;
  }();
  return id;
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
    a.device_get_properties = entry::device_get_properties;
    a.device_get_transfer_costs = entry::device_get_transfer_costs;
    a.buffer_allocate = entry::buffer_allocate;
    a.buffer_destroy = entry::buffer_destroy;
    a.buffer_get_host_pointer = entry::buffer_get_host_pointer;
    a.buffer_wrap_host_memory = entry::buffer_wrap_host_memory;
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
    a.claim_subgraph = nullptr;  // the host's grouping of accepted nodes is what we would do
    a.executable_compile = entry::executable_compile;
    a.executable_destroy = entry::executable_destroy;
    a.executable_execute = entry::executable_execute;
    return a;
  }();
  return api;
}

// Built when the library loads, so negotiation itself never allocates.
[[maybe_unused]] const hxrt_plugin_api& g_api_at_load = api_table();

}  // namespace
}  // namespace hxrt::ocl

extern "C" HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args) {
  return hxrt::plugin::negotiate(args, hxrt::ocl::api_table());
}
