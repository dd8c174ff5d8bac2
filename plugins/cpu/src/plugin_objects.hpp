// Private to the CPU plugin module: the objects behind the ABI's opaque
// handles, the shared argument checking of the entry points, and the entry
// points that plugin.cpp collects into the function table.
//
// Only hxrt_plugin_negotiate is exported; everything here has hidden
// visibility (the module is built with -fvisibility=hidden).
#pragma once

#include "hxrt/plugin_support/abi_checks.hpp"
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hxrt/plugin_abi.h"
#include "hxrt/plugin_support/host_stream.hpp"
#include "hxrt/plugin_support/status.hpp"
#include "kernel.hpp"

// The size of the version 1.0 part of an ABI struct: up to and including `last_field`.
// The arguments check_args() wants for an args struct: its v1.0 size and its name.

// ---------------------------------------------------------------------------
// Handle types (opaque to the host).
// ---------------------------------------------------------------------------

struct hxrt_device {
  hxrt_plugin_context* context = nullptr;
  std::string name;
  std::string vendor;
  uint64_t memory_bytes = 0;
  double peak_flops = 0;
  double bandwidth = 0;
  uint32_t cores = 1;
  double memcpy_bandwidth = 0;
};

struct hxrt_plugin_context {
  hxrt_log_fn logger = nullptr;
  void* logger_user_data = nullptr;
  int num_threads = 1;
  hxrt_device device;
  hxrt_device* device_list[1] = {nullptr};

  void log(hxrt_log_level level, const std::string& message) const {
    if (logger != nullptr) logger(logger_user_data, level, message.c_str());
  }
};

struct hxrt_buffer {
  hxrt_device* device = nullptr;
  void* data = nullptr;
  uint64_t size = 0;
  bool owned = true;  // false: caller memory from buffer_wrap_host_memory (R4.6)
  ~hxrt_buffer() {
    if (owned) std::free(data);
  }
};

struct hxrt_stream {
  hxrt_device* device = nullptr;
  int num_threads = 1;
  hxrt::plugin::HostStream stream;

  // Every task runs through here so OpenMP (and thus oneDNN) uses the
  // context's thread count on this worker thread.
  void enqueue(std::function<void()> task) {
    int threads = num_threads;
    stream.enqueue([threads, task = std::move(task)] {
      if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
      task();
    });
  }
};

struct hxrt_event {
  hxrt_device* device = nullptr;
  hxrt::plugin::HostEvent event;
};

namespace hxrt::cpu {

// Alignment of buffers and of intermediate values.
constexpr size_t kAlignment = 64;

// `bytes` rounded up to a multiple of kAlignment.
constexpr size_t align_up(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

// The compiled form of a graph; shared with in-flight tasks so destroying the
// executable while work is queued stays safe.
struct CompiledGraph {
  enum class Source { kInput, kConstant, kProduced, kNone };
  struct Value {
    Source source = Source::kNone;
    size_t bytes = 0;
    int64_t input_index = -1;   // kInput
    int64_t output_slot = -1;   // kProduced and a graph output: the first output position
    int64_t intermediate = -1;  // kProduced and not an output: index into intermediate offsets
    std::shared_ptr<std::vector<uint8_t>> constant;  // kConstant
  };
  struct Step {
    std::unique_ptr<Kernel> kernel;
    std::vector<int64_t> inputs;
    std::vector<int64_t> outputs;
    std::string name;
  };
  std::vector<Value> values;
  std::vector<Step> steps;
  std::vector<int64_t> input_values;
  std::vector<int64_t> output_values;
  std::vector<size_t> intermediate_offsets;  // into one per-execution arena
  size_t arena_bytes = 0;

  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) const;
};

}  // namespace hxrt::cpu

struct hxrt_executable {
  hxrt_device* device = nullptr;
  std::shared_ptr<const hxrt::cpu::CompiledGraph> graph;
};

namespace hxrt::cpu {

// ---------------------------------------------------------------------------
// Shared checks.
// ---------------------------------------------------------------------------

// The body of an entry point that takes an args struct: checks that `args` is
// non-NULL and carries at least the `v1_size` bytes of version 1.0 (pass
// HXRT_V1_ARGS(type, last_field) for both size and name), then runs `body()`,
// all under plugin::guard so that no exception crosses the ABI.
template <typename Args, typename Body>
hxrt_plugin_status* check_args(Args* args, size_t v1_size, const char* type_name, Body&& body) noexcept {
  return plugin::guard([&] {
    plugin::require_non_null(args, "args");
    plugin::require_struct_size(args->struct_size, v1_size, type_name);
    body();
  });
}

inline void check_device(hxrt_device* device) { plugin::require_non_null(device, "device"); }

// "major.minor.patch" of the oneDNN library loaded at run time.
std::string onednn_version_string();

// ---------------------------------------------------------------------------
// Entry points, collected into the function table by plugin.cpp.
// ---------------------------------------------------------------------------

namespace entry {

// plugin_context.cpp
hxrt_plugin_status* context_create(hxrt_context_create_args* args);
void context_destroy(hxrt_plugin_context* context);
hxrt_plugin_status* context_get_devices(hxrt_context_get_devices_args* args);
hxrt_plugin_status* device_get_properties(hxrt_device_get_properties_args* args);
hxrt_plugin_status* device_get_transfer_costs(hxrt_device_get_transfer_costs_args* args);

// plugin_memory_streams.cpp
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

// plugin_executable.cpp
hxrt_plugin_status* query_op_support(hxrt_query_op_support_args* args);
hxrt_plugin_status* claim_subgraph(hxrt_claim_subgraph_args* args);
hxrt_plugin_status* executable_compile(hxrt_executable_compile_args* args);
void executable_destroy(hxrt_executable* executable);
hxrt_plugin_status* executable_execute(hxrt_executable_execute_args* args);

}  // namespace entry
}  // namespace hxrt::cpu
