// The objects behind the ABI's opaque handles, the argument checks shared by
// the entry points, and the entry points plugin.cpp collects into the table.
// Only hxrt_plugin_negotiate is exported (the module is built with hidden
// visibility).
#pragma once

#include "hxrt/plugin_support/abi_checks.hpp"
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cuda_common.hpp"
#include "hxrt/plugin_abi.h"
#include "hxrt/plugin_support/status.hpp"
#include "ops.hpp"

// The size of the version 1.0 part of an ABI struct: up to and including `last_field`.

struct hxrt_device {
  hxrt_plugin_context* context = nullptr;
  int ordinal = 0;
  std::string name;
  std::string driver_version;
  uint64_t memory_bytes = 0;
  uint32_t sms = 0;
  int cc_major = 0, cc_minor = 0;
  hxrt::cuda::DeviceRates rates;
  hxrt_transfer_costs costs{};
  cudaMemPool_t pool = nullptr;       // stream-ordered pool of DEVICE buffers
  cudaStream_t alloc_stream = nullptr;  // where pool allocations are ordered
  std::mutex alloc_mutex;
  hxrt::cuda::Libraries libs;
};

struct hxrt_plugin_context {
  hxrt_log_fn logger = nullptr;
  void* logger_user_data = nullptr;
  hxrt::cuda::OpConfig config;
  bool cuda_graphs = true;   // capture executables as CUDA graphs after their first run
  int graph_min_ops = 2;     // ... when they launch at least this many ops
  int channels_last = 1;     // NHWC convolutions: 0 off, 1 where measured faster (auto), 2 always
  std::vector<std::unique_ptr<hxrt_device>> devices;
  std::vector<hxrt_device*> device_list;

  void log(hxrt_log_level level, const std::string& message) const {
    if (logger != nullptr) logger(logger_user_data, level, message.c_str());
  }
};

struct hxrt_buffer {
  hxrt_device* device = nullptr;
  void* data = nullptr;  // device pointer (DEVICE) or host pointer (HOST_PINNED)
  uint64_t size = 0;
  hxrt_memory_kind kind = HXRT_MEMORY_DEVICE;
  void* wrapped_host = nullptr;  // buffer_wrap_host_memory: the caller's memory, registered (R4.6)
};

struct hxrt_stream {
  hxrt_device* device = nullptr;
  cudaStream_t stream = nullptr;
  std::mutex mutex;  // serialises enqueues and guards `error`
  std::optional<hxrt::plugin::PluginError> error;  // the sticky error (R7.4)
};

struct hxrt_event {
  hxrt_device* device = nullptr;
  cudaEvent_t event = nullptr;
  std::mutex mutex;
  bool recorded = false;
  std::optional<hxrt::plugin::PluginError> error;  // carried from the stream at record time
};

namespace hxrt::cuda {

// The body of an entry point taking an args struct: checks that `args` is
// non-NULL and covers version 1.0, then runs `body()` under plugin::guard.
template <typename Args, typename Body>
hxrt_plugin_status* check_args(Args* args, size_t v1_size, const char* type_name, Body&& body) noexcept {
  return plugin::guard([&] {
    plugin::require_non_null(args, "args");
    plugin::require_struct_size(args->struct_size, v1_size, type_name);
    body();
  });
}

inline void check_device(const hxrt_device* device) { plugin::require_non_null(device, "device"); }

// Runs enqueue work for `stream` under its lock (R7.3): returns without doing
// anything while the stream carries a sticky error, and turns a failure of the
// work into the sticky error instead of an enqueue error.
template <typename Body>
void enqueue(hxrt_stream* stream, Body&& body) {
  std::lock_guard lock(stream->mutex);
  if (stream->error) return;
  try {
    body();
  } catch (const PluginError& e) {
    stream->error = e;
  }
}

namespace entry {

// context.cpp
hxrt_plugin_status* context_create(hxrt_context_create_args* args);
void context_destroy(hxrt_plugin_context* context);
hxrt_plugin_status* context_get_devices(hxrt_context_get_devices_args* args);
hxrt_plugin_status* device_get_properties(hxrt_device_get_properties_args* args);
hxrt_plugin_status* device_get_transfer_costs(hxrt_device_get_transfer_costs_args* args);

// memory_streams.cpp
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

// executable.cpp
hxrt_plugin_status* query_op_support(hxrt_query_op_support_args* args);
hxrt_plugin_status* claim_subgraph(hxrt_claim_subgraph_args* args);
hxrt_plugin_status* executable_compile(hxrt_executable_compile_args* args);
void executable_destroy(hxrt_executable* executable);
hxrt_plugin_status* executable_execute(hxrt_executable_execute_args* args);

}  // namespace entry
}  // namespace hxrt::cuda
