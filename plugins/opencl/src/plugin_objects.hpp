// Private to the OpenCL plugin: the objects behind the ABI's opaque handles
// and the entry points plugin.cpp collects into the function table.
#pragma once

#include "hxrt/plugin_support/abi_checks.hpp"
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cl_common.hpp"
#include "hxrt/plugin_abi.h"
#include "hxrt/plugin_support/node_reader.hpp"
#include "hxrt/plugin_support/status.hpp"
#include "manifest.hpp"
#include "ops.hpp"
#include "programs.hpp"

// The size of the version 1.0 part of an ABI struct: up to and including `last_field`.

struct hxrt_device {
  hxrt_plugin_context* context = nullptr;
  int index = 0;  // among every OpenCL device found, before any was skipped
  cl_platform_id platform = nullptr;
  cl_device_id id = nullptr;
  cl_context cl_ctx = nullptr;
  cl_command_queue internal_queue = nullptr;  // maps, staging
  hxrt::ocl::DeviceIdentity identity;
  hxrt_device_kind kind = HXRT_DEVICE_KIND_OTHER;
  uint64_t memory_bytes = 0;
  uint64_t max_alloc_bytes = 0;
  uint32_t compute_units = 0;
  double peak_flops = 0;
  double bandwidth = 0;
  bool unified_memory = false;
  uint64_t base_align_bytes = 128;  // CL_DEVICE_MEM_BASE_ADDR_ALIGN: sub-buffer origins
  hxrt::ocl::DeviceLimits limits;
  std::unique_ptr<hxrt::ocl::ProgramStore> programs;
  std::optional<hxrt::ocl::Manifest> bundle;  // set in bundle mode
  std::string bundle_dir;
  cl_mem dummy = nullptr;  // bound to unused buffer arguments
  std::atomic<uint64_t> measured_kernel_ns{0};
  std::atomic<uint64_t> measured_kernels{0};

  ~hxrt_device();
};

struct hxrt_plugin_context {
  hxrt_log_fn logger = nullptr;
  void* logger_user_data = nullptr;
  hxrt::ocl::ProgramStats stats;
  std::vector<std::unique_ptr<hxrt_device>> devices;
  std::vector<hxrt_device*> device_list;

  void log(hxrt_log_level level, const std::string& message) const {
    if (logger != nullptr) logger(logger_user_data, level, message.c_str());
  }
};

struct hxrt_buffer {
  hxrt_device* device = nullptr;
  cl_mem mem = nullptr;  // NULL for a 0-byte buffer
  uint64_t size = 0;
  uint64_t base = 0;     // where the buffer starts inside mem (pinned alignment)
  hxrt_memory_kind kind = HXRT_MEMORY_DEVICE;
  void* host = nullptr;  // HOST_PINNED: the persistent mapping (+ base)
  void* mapped = nullptr;
  ~hxrt_buffer();
};

// A command the stream has enqueued and not yet checked.
struct PendingCommand {
  cl_event event;
  std::string label;
  bool kernel;
};

struct hxrt_stream {
  hxrt_device* device = nullptr;
  cl_command_queue queue = nullptr;
  std::mutex mutex;
  std::optional<hxrt::plugin::PluginError> error;  // sticky (R7.4)
  std::vector<PendingCommand> pending;

  ~hxrt_stream();
  // Runs `body` under the stream lock unless the stream has failed; an
  // exception from it becomes the sticky error (the work runs "on" the stream).
  template <typename Body>
  void submit(Body&& body) {
    std::lock_guard lock(mutex);
    if (error) return;
    try {
      body();
    } catch (const hxrt::plugin::PluginError& e) {
      error = e;
    } catch (const std::exception& e) {
      error = hxrt::plugin::PluginError(HXRT_STATUS_INTERNAL, e.what());
    }
  }
  // Keeps `event` for error checks and profiling (stream lock held).
  void track(cl_event event, std::string label, bool kernel);
  // Drops finished commands, turning failures into the sticky error (lock held).
  void reap(bool all_finished);
};

// What one event_record captured.
struct EventCapture {
  cl_event marker = nullptr;  // NULL: nothing to wait for
  std::optional<hxrt::plugin::PluginError> error;
  ~EventCapture() {
    if (marker != nullptr) clReleaseEvent(marker);
  }
};

struct hxrt_event {
  hxrt_device* device = nullptr;
  std::mutex mutex;
  std::shared_ptr<EventCapture> current = std::make_shared<EventCapture>();
  std::shared_ptr<EventCapture> get() {
    std::lock_guard lock(mutex);
    return current;
  }
};

namespace hxrt::ocl {

class CompiledGraph;

// Plans `node` for `device`: in bundle mode only what the manifest declares
// (throws Unsupported otherwise); returns the plan and its estimated time.
struct DevicePlan {
  NodePlan plan;
  double estimated_ns = 0;
};
DevicePlan plan_for_device(const hxrt_device& device, const plugin::NodeReader& node);

template <typename Args, typename Body>
hxrt_plugin_status* check_args(Args* args, size_t v1_size, const char* type_name, Body&& body) noexcept {
  return plugin::guard([&] {
    plugin::require_non_null(args, "args");
    plugin::require_struct_size(args->struct_size, v1_size, type_name);
    body();
  });
}

namespace entry {
hxrt_plugin_status* context_create(hxrt_context_create_args* args);
void context_destroy(hxrt_plugin_context* context);
hxrt_plugin_status* context_get_devices(hxrt_context_get_devices_args* args);
hxrt_plugin_status* device_get_properties(hxrt_device_get_properties_args* args);
hxrt_plugin_status* device_get_transfer_costs(hxrt_device_get_transfer_costs_args* args);

hxrt_plugin_status* buffer_allocate(hxrt_buffer_allocate_args* args);
void buffer_destroy(hxrt_buffer* buffer);
hxrt_plugin_status* buffer_get_host_pointer(hxrt_buffer_get_host_pointer_args* args);
hxrt_plugin_status* buffer_wrap_host_memory(hxrt_buffer_wrap_host_memory_args* args);
hxrt_plugin_status* stream_create(hxrt_stream_create_args* args);
void stream_destroy(hxrt_stream* stream);
hxrt_plugin_status* stream_synchronize(hxrt_stream* stream);
hxrt_plugin_status* stream_wait_event(hxrt_stream_wait_event_args* args);
hxrt_plugin_status* event_create(hxrt_event_create_args* args);
void event_destroy(hxrt_event* event);
hxrt_plugin_status* event_record(hxrt_event_record_args* args);
hxrt_plugin_status* event_synchronize(hxrt_event* event);
hxrt_plugin_status* event_query(hxrt_event_query_args* args);
hxrt_plugin_status* copy_to_device(hxrt_copy_to_device_args* args);
hxrt_plugin_status* copy_to_host(hxrt_copy_to_host_args* args);
hxrt_plugin_status* copy_on_device(hxrt_copy_on_device_args* args);

hxrt_plugin_status* query_op_support(hxrt_query_op_support_args* args);
hxrt_plugin_status* claim_subgraph(hxrt_claim_subgraph_args* args);
hxrt_plugin_status* executable_compile(hxrt_executable_compile_args* args);
void executable_destroy(hxrt_executable* executable);
hxrt_plugin_status* executable_execute(hxrt_executable_execute_args* args);
}  // namespace entry
}  // namespace hxrt::ocl
