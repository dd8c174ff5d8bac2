// The CPU plugin: implements the hxrt plugin ABI v1.0 on the host CPU.
//
// Devices: one (the host). Memory: 64-byte aligned host allocations (DEVICE and
// HOST_PINNED are the same thing here). Streams: plugin::HostStream worker
// threads. Executables: a sequence of per-node kernels from the registry.
#include <dnnl.hpp>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hxrt/plugin_abi.h"
#include "hxrt/plugin_support/host_stream.hpp"
#include "hxrt/plugin_support/node_reader.hpp"
#include "hxrt/plugin_support/status.hpp"
#include "kernel.hpp"
#include "plugin_cost.hpp"

using hxrt::plugin::PluginError;
using hxrt::plugin::guard;
using hxrt::plugin::require_non_null;
using hxrt::plugin::require_struct_size;

namespace {

constexpr size_t kAlignment = 64;

#define HXRT_V1_SIZE(type, last_field) (offsetof(type, last_field) + sizeof(((type*)nullptr)->last_field))

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

struct CpuInfo {
  std::string model = "host CPU";
  std::string vendor = "unknown";
  bool avx512 = false;
  bool avx2 = false;
};

CpuInfo read_cpuinfo() {
  CpuInfo info;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  bool have_model = false, have_vendor = false, have_flags = false;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = trim(line.substr(0, colon));
    std::string value = trim(line.substr(colon + 1));
    if (key == "model name" && !have_model && !value.empty()) {
      info.model = value;
      have_model = true;
    } else if (key == "vendor_id" && !have_vendor && !value.empty()) {
      info.vendor = value;
      have_vendor = true;
    } else if (key == "flags" && !have_flags) {
      info.avx512 = value.find("avx512f") != std::string::npos;
      info.avx2 = value.find("avx2") != std::string::npos;
      have_flags = true;
    }
  }
  return info;
}

// Measures memcpy bandwidth on a 16 MiB buffer (a few milliseconds).
double measure_memcpy_bandwidth() {
  constexpr size_t kBytes = size_t{16} << 20;
  try {
    std::vector<char> a(kBytes, 1), b(kBytes, 0);
    std::memcpy(b.data(), a.data(), kBytes);  // warm up / fault in pages
    double best = std::numeric_limits<double>::infinity();
    for (int i = 0; i < 3; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      std::memcpy(b.data(), a.data(), kBytes);
      auto t1 = std::chrono::steady_clock::now();
      best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
    }
    volatile char sink = b[kBytes / 2];
    (void)sink;
    if (best > 0 && std::isfinite(best)) return static_cast<double>(kBytes) / best;
  } catch (...) {
  }
  return 10e9;
}

uint64_t physical_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
}

}  // namespace

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
  ~hxrt_buffer() { std::free(data); }
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

namespace {

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
    std::unique_ptr<hxrt::cpu::Kernel> kernel;
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

// A valid, never written pointer for empty values (kernels treat NULL as "omitted").
void* empty_storage() {
  alignas(64) static uint8_t storage[64];
  return storage;
}

void CompiledGraph::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) const {
  // Intermediates are per execution, so concurrent runs never share them.
  void* arena = nullptr;
  if (arena_bytes > 0) {
    arena = std::aligned_alloc(kAlignment, (arena_bytes + kAlignment - 1) / kAlignment * kAlignment);
    if (arena == nullptr) throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate intermediate values");
  }
  std::unique_ptr<void, decltype(&std::free)> arena_owner(arena, &std::free);

  std::vector<void*> ptr(values.size(), nullptr);
  for (size_t v = 0; v < values.size(); ++v) {
    const Value& value = values[v];
    switch (value.source) {
      case Source::kInput: ptr[v] = const_cast<void*>(inputs[static_cast<size_t>(value.input_index)]); break;
      case Source::kConstant: ptr[v] = value.constant->empty() ? empty_storage() : value.constant->data(); break;
      case Source::kProduced:
        if (value.output_slot >= 0)
          ptr[v] = outputs[static_cast<size_t>(value.output_slot)];
        else
          ptr[v] = value.bytes == 0 ? empty_storage()
                                    : static_cast<uint8_t*>(arena) + intermediate_offsets[static_cast<size_t>(value.intermediate)];
        break;
      case Source::kNone: break;
    }
  }
  std::vector<const void*> step_inputs;
  std::vector<void*> step_outputs;
  for (const Step& step : steps) {
    step_inputs.assign(step.inputs.size(), nullptr);
    step_outputs.assign(step.outputs.size(), nullptr);
    for (size_t i = 0; i < step.inputs.size(); ++i)
      if (step.inputs[i] >= 0) step_inputs[i] = ptr[static_cast<size_t>(step.inputs[i])];
    for (size_t i = 0; i < step.outputs.size(); ++i)
      if (step.outputs[i] >= 0) step_outputs[i] = ptr[static_cast<size_t>(step.outputs[i])];
    try {
      step.kernel->run(step_inputs, step_outputs);
    } catch (const PluginError& e) {
      throw PluginError(e.code(), "node '" + step.name + "': " + e.what());
    } catch (const dnnl::error& e) {
      throw PluginError(HXRT_STATUS_INTERNAL, "node '" + step.name + "': oneDNN: " + e.what());
    }
  }
  // Outputs not written in place (graph inputs, constants, repeated outputs).
  for (size_t k = 0; k < output_values.size(); ++k) {
    size_t v = static_cast<size_t>(output_values[k]);
    if (outputs[k] != ptr[v] && values[v].bytes > 0 && ptr[v] != nullptr) std::memcpy(outputs[k], ptr[v], values[v].bytes);
  }
}

}  // namespace

struct hxrt_executable {
  hxrt_device* device = nullptr;
  std::shared_ptr<const CompiledGraph> graph;
};

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

std::string onednn_version_string() {
  const dnnl_version_t* v = dnnl_version();
  if (v == nullptr) return "unknown";
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
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
// Helpers.
// ---------------------------------------------------------------------------

void check_range(uint64_t offset, uint64_t size, uint64_t buffer_size, const char* what) {
  if (offset > buffer_size || size > buffer_size - offset)
    throw PluginError(HXRT_STATUS_OUT_OF_RANGE, std::string(what) + ": range [" + std::to_string(offset) + ", " +
                                                    std::to_string(offset) + "+" + std::to_string(size) +
                                                    ") lies outside the buffer of " + std::to_string(buffer_size) +
                                                    " bytes");
}

void check_device(hxrt_device* device) { require_non_null(device, "device"); }

// Writes `ours` into the caller's struct up to the smaller size; keeps the caller's struct_size.
template <typename T>
void write_out_struct(T* dst, const T& ours) {
  size_t caller = dst->struct_size;
  size_t n = std::min(caller, sizeof(T));
  if (n > sizeof(size_t))
    std::memcpy(reinterpret_cast<char*>(dst) + sizeof(size_t), reinterpret_cast<const char*>(&ours) + sizeof(size_t),
                n - sizeof(size_t));
  dst->struct_size = caller;
}

// ---------------------------------------------------------------------------
// Entry points.
// ---------------------------------------------------------------------------

hxrt_plugin_status* context_create(hxrt_context_create_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_context_create_args, context), "hxrt_context_create_args");
    if (args->num_options > 0 && (args->option_keys == nullptr || args->option_values == nullptr))
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "option_keys/option_values must not be NULL");
    auto ctx = std::make_unique<hxrt_plugin_context>();
    ctx->logger = args->logger;
    ctx->logger_user_data = args->logger_user_data;
    unsigned hw = std::thread::hardware_concurrency();
    ctx->num_threads = hw > 0 ? static_cast<int>(hw) : 1;
    for (size_t i = 0; i < args->num_options; ++i) {
      const char* key = args->option_keys[i];
      const char* value = args->option_values[i];
      require_non_null(key, "option key");
      require_non_null(value, "option value");
      if (std::string_view(key) == "num_threads") {
        char* end = nullptr;
        long n = std::strtol(value, &end, 10);
        if (end == value || *end != '\0' || n < 1 || n > 4096)
          throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                            std::string("option num_threads must be a positive integer, got '") + value + "'");
        ctx->num_threads = static_cast<int>(n);
      } else {
        ctx->log(HXRT_LOG_WARNING, std::string("cpu plugin: ignoring unknown option '") + key + "'");
      }
    }
    CpuInfo cpu = read_cpuinfo();
    hxrt_device& d = ctx->device;
    d.context = ctx.get();
    d.name = cpu.model;
    d.vendor = cpu.vendor;
    d.memory_bytes = physical_memory_bytes();
    d.cores = hw > 0 ? hw : 1;
    // A hint only: cores x 2 FMA units x 2 flop/FMA... simplified as
    // cores x 2 x lanes x ~2.5 GHz, 16 float lanes with AVX-512, else 8.
    double lanes = cpu.avx512 ? 16.0 : 8.0;
    d.peak_flops = static_cast<double>(d.cores) * 2.0 * lanes * 2.5e9;
    d.bandwidth = 20e9;  // hint: a typical DRAM bandwidth
    d.memcpy_bandwidth = measure_memcpy_bandwidth();
    ctx->device_list[0] = &ctx->device;
    ctx->log(HXRT_LOG_INFO, "cpu plugin: device '" + d.name + "', " + std::to_string(ctx->num_threads) +
                                " threads, oneDNN " + onednn_version_string());
    args->context = ctx.release();
  });
}

void context_destroy(hxrt_plugin_context* context) { delete context; }

hxrt_plugin_status* context_get_devices(hxrt_context_get_devices_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_context_get_devices_args, devices),
                        "hxrt_context_get_devices_args");
    require_non_null(args->context, "context");
    args->num_devices = 1;
    args->devices = args->context->device_list;
  });
}

hxrt_plugin_status* device_get_properties(hxrt_device_get_properties_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_device_get_properties_args, properties),
                        "hxrt_device_get_properties_args");
    check_device(args->device);
    require_non_null(args->properties, "properties");
    // The properties struct of version 1.0 must at least carry struct_size.
    if (args->properties->struct_size < sizeof(size_t))
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "properties->struct_size is too small");
    const hxrt_device& d = *args->device;
    hxrt_device_properties p{};
    p.struct_size = sizeof(p);
    p.name = d.name.c_str();
    p.vendor = d.vendor.c_str();
    p.kind = HXRT_DEVICE_KIND_CPU;
    p.memory_bytes = d.memory_bytes;
    p.peak_flops_f32 = d.peak_flops;
    p.memory_bandwidth_bytes_per_s = d.bandwidth;
    p.host_addressable = 1;
    p.driver_version = "";
    p.compute_units = d.cores;
    write_out_struct(args->properties, p);
  });
}

hxrt_plugin_status* device_get_transfer_costs(hxrt_device_get_transfer_costs_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_device_get_transfer_costs_args, costs),
                        "hxrt_device_get_transfer_costs_args");
    check_device(args->device);
    require_non_null(args->costs, "costs");
    if (args->costs->struct_size < sizeof(size_t))
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "costs->struct_size is too small");
    hxrt_link_cost link{1000.0, args->device->memcpy_bandwidth};
    hxrt_transfer_costs c{};
    c.struct_size = sizeof(c);
    c.host_to_device_pageable = link;
    c.host_to_device_pinned = link;
    c.device_to_host_pageable = link;
    c.device_to_host_pinned = link;
    c.device_to_device = link;
    write_out_struct(args->costs, c);
  });
}

hxrt_plugin_status* buffer_allocate(hxrt_buffer_allocate_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_buffer_allocate_args, buffer), "hxrt_buffer_allocate_args");
    check_device(args->device);
    if (args->memory_kind != HXRT_MEMORY_DEVICE && args->memory_kind != HXRT_MEMORY_HOST_PINNED)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "unknown memory kind " + std::to_string(args->memory_kind));
    uint64_t size = args->size_bytes;
    uint64_t limit = args->device->memory_bytes;
    if ((limit != 0 && size > limit) || size > std::numeric_limits<size_t>::max() - kAlignment)
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate " + std::to_string(size) +
                                                            " bytes: more than the host's physical memory");
    auto buffer = std::make_unique<hxrt_buffer>();
    buffer->device = args->device;
    buffer->size = size;
    // aligned_alloc needs a multiple of the alignment; a 0-byte buffer still gets a valid pointer.
    size_t rounded = std::max<size_t>(kAlignment, (static_cast<size_t>(size) + kAlignment - 1) / kAlignment * kAlignment);
    buffer->data = std::aligned_alloc(kAlignment, rounded);
    if (buffer->data == nullptr)
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate " + std::to_string(size) + " bytes");
    args->buffer = buffer.release();
  });
}

void buffer_destroy(hxrt_buffer* buffer) { delete buffer; }

hxrt_plugin_status* buffer_get_host_pointer(hxrt_buffer_get_host_pointer_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_buffer_get_host_pointer_args, host_pointer),
                        "hxrt_buffer_get_host_pointer_args");
    require_non_null(args->buffer, "buffer");
    args->host_pointer = args->buffer->data;
  });
}

hxrt_plugin_status* stream_create(hxrt_stream_create_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_stream_create_args, stream), "hxrt_stream_create_args");
    check_device(args->device);
    auto stream = std::make_unique<hxrt_stream>();
    stream->device = args->device;
    stream->num_threads = args->device->context->num_threads;
    args->stream = stream.release();
  });
}

void stream_destroy(hxrt_stream* stream) { delete stream; }

hxrt_plugin_status* error_status(const std::optional<PluginError>& error) {
  if (!error) return nullptr;
  return hxrt::plugin::make_status(error->code(), error->what());
}

hxrt_plugin_status* stream_synchronize(hxrt_stream* stream) {
  hxrt_plugin_status* result = nullptr;
  hxrt_plugin_status* failure = guard([&] {
    require_non_null(stream, "stream");
    result = error_status(stream->stream.synchronize());
  });
  return failure != nullptr ? failure : result;
}

hxrt_plugin_status* stream_wait_event(hxrt_stream_wait_event_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_stream_wait_event_args, event), "hxrt_stream_wait_event_args");
    require_non_null(args->stream, "stream");
    require_non_null(args->event, "event");
    args->stream->stream.wait_for(args->event->event);
  });
}

hxrt_plugin_status* event_create(hxrt_event_create_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_event_create_args, event), "hxrt_event_create_args");
    check_device(args->device);
    auto event = std::make_unique<hxrt_event>();
    event->device = args->device;
    args->event = event.release();
  });
}

void event_destroy(hxrt_event* event) { delete event; }

hxrt_plugin_status* event_record(hxrt_event_record_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_event_record_args, stream), "hxrt_event_record_args");
    require_non_null(args->event, "event");
    require_non_null(args->stream, "stream");
    args->stream->stream.record(args->event->event);
  });
}

hxrt_plugin_status* event_synchronize(hxrt_event* event) {
  hxrt_plugin_status* result = nullptr;
  hxrt_plugin_status* failure = guard([&] {
    require_non_null(event, "event");
    result = error_status(event->event.current()->wait());
  });
  return failure != nullptr ? failure : result;
}

hxrt_plugin_status* event_query(hxrt_event_query_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_event_query_args, completed), "hxrt_event_query_args");
    require_non_null(args->event, "event");
    args->completed = args->event->event.current()->is_complete() ? 1 : 0;
  });
}

hxrt_plugin_status* copy_to_device(hxrt_copy_to_device_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_copy_to_device_args, size_bytes), "hxrt_copy_to_device_args");
    require_non_null(args->stream, "stream");
    require_non_null(args->dst, "dst");
    if (args->size_bytes > 0) require_non_null(args->src, "src");
    check_range(args->dst_offset, args->size_bytes, args->dst->size, "copy_to_device dst");
    if (args->size_bytes == 0) return;
    char* dst = static_cast<char*>(args->dst->data) + args->dst_offset;
    const void* src = args->src;
    size_t n = static_cast<size_t>(args->size_bytes);
    args->stream->enqueue([dst, src, n] { std::memmove(dst, src, n); });
  });
}

hxrt_plugin_status* copy_to_host(hxrt_copy_to_host_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_copy_to_host_args, size_bytes), "hxrt_copy_to_host_args");
    require_non_null(args->stream, "stream");
    require_non_null(args->src, "src");
    if (args->size_bytes > 0) require_non_null(args->dst, "dst");
    check_range(args->src_offset, args->size_bytes, args->src->size, "copy_to_host src");
    if (args->size_bytes == 0) return;
    const char* src = static_cast<const char*>(args->src->data) + args->src_offset;
    void* dst = args->dst;
    size_t n = static_cast<size_t>(args->size_bytes);
    args->stream->enqueue([dst, src, n] { std::memmove(dst, src, n); });
  });
}

hxrt_plugin_status* copy_on_device(hxrt_copy_on_device_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_copy_on_device_args, size_bytes), "hxrt_copy_on_device_args");
    require_non_null(args->stream, "stream");
    require_non_null(args->src, "src");
    require_non_null(args->dst, "dst");
    check_range(args->src_offset, args->size_bytes, args->src->size, "copy_on_device src");
    check_range(args->dst_offset, args->size_bytes, args->dst->size, "copy_on_device dst");
    if (args->size_bytes == 0) return;
    const char* src = static_cast<const char*>(args->src->data) + args->src_offset;
    char* dst = static_cast<char*>(args->dst->data) + args->dst_offset;
    size_t n = static_cast<size_t>(args->size_bytes);
    args->stream->enqueue([dst, src, n] { std::memmove(dst, src, n); });
  });
}

void check_node(const hxrt_node_desc* node) {
  require_non_null(node, "node");
  require_struct_size(node->struct_size, HXRT_V1_SIZE(hxrt_node_desc, outputs), "hxrt_node_desc");
  require_non_null(node->op_type, "node->op_type");
  if (node->num_attributes > 0) require_non_null(node->attributes, "node->attributes");
  if (node->num_inputs > 0) require_non_null(node->inputs, "node->inputs");
  if (node->num_outputs > 0) require_non_null(node->outputs, "node->outputs");
}

hxrt_plugin_status* query_op_support(hxrt_query_op_support_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_query_op_support_args, reason_message_capacity),
                        "hxrt_query_op_support_args");
    check_device(args->device);
    check_node(args->node);
    hxrt::plugin::NodeReader reader(*args->node);
    try {
      hxrt::cpu::create_kernel(reader);
      args->supported = 1;
      args->reason = HXRT_SUPPORTED;
      args->estimated_ns = hxrt::cpu::estimate_node_ns(reader, args->device->peak_flops, args->device->bandwidth);
      hxrt::plugin::copy_to_buffer("", args->reason_message, args->reason_message_capacity);
    } catch (const hxrt::cpu::Unsupported& why) {
      args->supported = 0;
      args->reason = why.reason();
      args->estimated_ns = 0;
      hxrt::plugin::copy_to_buffer(why.what(), args->reason_message, args->reason_message_capacity);
    } catch (const PluginError& e) {
      // A malformed node is the caller's problem, but a plugin-side limitation
      // (e.g. a value that must be constant) is just "not supported".
      if (e.code() == HXRT_STATUS_INVALID_ARGUMENT) throw;
      args->supported = 0;
      args->reason = HXRT_UNSUPPORTED_OTHER;
      args->estimated_ns = 0;
      hxrt::plugin::copy_to_buffer(e.what(), args->reason_message, args->reason_message_capacity);
    } catch (const dnnl::error& e) {
      args->supported = 0;
      args->reason = HXRT_UNSUPPORTED_OTHER;
      args->estimated_ns = 0;
      hxrt::plugin::copy_to_buffer(std::string("oneDNN: ") + e.what(), args->reason_message,
                                   args->reason_message_capacity);
    }
  });
}

void check_graph(const hxrt_graph_desc* graph) {
  require_non_null(graph, "graph");
  require_struct_size(graph->struct_size, HXRT_V1_SIZE(hxrt_graph_desc, output_values), "hxrt_graph_desc");
  if (graph->num_values > 0) require_non_null(graph->values, "graph->values");
  if (graph->num_nodes > 0) require_non_null(graph->nodes, "graph->nodes");
  if (graph->num_inputs > 0) require_non_null(graph->input_values, "graph->input_values");
  if (graph->num_outputs > 0) require_non_null(graph->output_values, "graph->output_values");
  auto check_value = [&](int64_t v, bool allow_missing, const char* what) {
    if (v == -1 && allow_missing) return;
    if (v < 0 || static_cast<uint64_t>(v) >= graph->num_values)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(what) + " refers to value " + std::to_string(v) +
                                                          " outside 0.." + std::to_string(graph->num_values));
  };
  for (size_t v = 0; v < graph->num_values; ++v) require_non_null(graph->values[v], "graph value");
  for (size_t n = 0; n < graph->num_nodes; ++n) {
    const hxrt_graph_node* gn = graph->nodes[n];
    require_non_null(gn, "graph node");
    require_struct_size(gn->struct_size, HXRT_V1_SIZE(hxrt_graph_node, output_values), "hxrt_graph_node");
    check_node(gn->node);
    if (gn->node->num_inputs > 0) require_non_null(gn->input_values, "graph node input_values");
    if (gn->node->num_outputs > 0) require_non_null(gn->output_values, "graph node output_values");
    for (size_t i = 0; i < gn->node->num_inputs; ++i) check_value(gn->input_values[i], true, "node input");
    for (size_t i = 0; i < gn->node->num_outputs; ++i) check_value(gn->output_values[i], true, "node output");
  }
  for (size_t i = 0; i < graph->num_inputs; ++i) check_value(graph->input_values[i], false, "graph input");
  for (size_t i = 0; i < graph->num_outputs; ++i) check_value(graph->output_values[i], false, "graph output");
}

size_t value_bytes(const hxrt_tensor_desc& desc) {
  size_t elem = hxrt::plugin::dtype_size(desc.dtype);
  int64_t n = hxrt::plugin::element_count(hxrt::plugin::shape_of(desc));
  if (n < 0) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "negative dimension");
  return static_cast<size_t>(n) * elem;
}

hxrt_plugin_status* claim_subgraph(hxrt_claim_subgraph_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_claim_subgraph_args, group_estimated_ns),
                        "hxrt_claim_subgraph_args");
    check_device(args->device);
    check_graph(args->graph);
    const hxrt_graph_desc& g = *args->graph;
    if (g.num_nodes > 0) require_non_null(args->group_of_node, "group_of_node");
    for (size_t n = 0; n < g.num_nodes; ++n) {
      hxrt::plugin::NodeReader reader(*g.nodes[n]->node);
      bool supported = false;
      try {
        hxrt::cpu::create_kernel(reader);
        supported = true;
      } catch (const hxrt::cpu::Unsupported&) {
      } catch (const PluginError& e) {
        if (e.code() == HXRT_STATUS_INVALID_ARGUMENT) throw;
      } catch (const dnnl::error&) {
      }
      args->group_of_node[n] = supported ? static_cast<int64_t>(n) : -1;
      if (args->group_estimated_ns != nullptr)
        args->group_estimated_ns[n] =
            supported ? hxrt::cpu::estimate_node_ns(reader, args->device->peak_flops, args->device->bandwidth) : 0.0;
    }
  });
}

hxrt_plugin_status* executable_compile(hxrt_executable_compile_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_executable_compile_args, executable),
                        "hxrt_executable_compile_args");
    check_device(args->device);
    check_graph(args->graph);
    const hxrt_graph_desc& g = *args->graph;
    auto compiled = std::make_shared<CompiledGraph>();
    compiled->values.resize(g.num_values);
    for (size_t v = 0; v < g.num_values; ++v) compiled->values[v].bytes = value_bytes(*g.values[v]);
    compiled->input_values.assign(g.input_values, g.input_values + g.num_inputs);
    compiled->output_values.assign(g.output_values, g.output_values + g.num_outputs);

    for (size_t k = 0; k < g.num_inputs; ++k) {
      auto& value = compiled->values[static_cast<size_t>(g.input_values[k])];
      if (value.source == CompiledGraph::Source::kNone) {
        value.source = CompiledGraph::Source::kInput;
        value.input_index = static_cast<int64_t>(k);
      }
    }
    for (size_t n = 0; n < g.num_nodes; ++n) {
      const hxrt_graph_node& gn = *g.nodes[n];
      for (size_t i = 0; i < gn.node->num_outputs; ++i) {
        int64_t v = gn.output_values[i];
        if (v < 0) continue;
        auto& value = compiled->values[static_cast<size_t>(v)];
        if (value.source != CompiledGraph::Source::kNone)
          throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                            "value " + std::to_string(v) + " is produced twice or is also a graph input");
        value.source = CompiledGraph::Source::kProduced;
      }
    }
    for (size_t v = 0; v < g.num_values; ++v) {
      auto& value = compiled->values[v];
      const hxrt_tensor_desc& desc = *g.values[v];
      // An empty constant may come without data.
      if (value.source == CompiledGraph::Source::kNone && (desc.constant_data != nullptr || value.bytes == 0)) {
        if (desc.constant_size_bytes < value.bytes)
          throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "constant value " + std::to_string(v) + " has " +
                                                              std::to_string(desc.constant_size_bytes) +
                                                              " bytes, expected " + std::to_string(value.bytes));
        auto bytes = static_cast<const uint8_t*>(desc.constant_data);
        value.constant = bytes != nullptr ? std::make_shared<std::vector<uint8_t>>(bytes, bytes + value.bytes)
                                          : std::make_shared<std::vector<uint8_t>>();
        value.source = CompiledGraph::Source::kConstant;
      }
    }
    for (size_t k = 0; k < g.num_outputs; ++k) {
      auto& value = compiled->values[static_cast<size_t>(g.output_values[k])];
      if (value.source == CompiledGraph::Source::kProduced && value.output_slot < 0)
        value.output_slot = static_cast<int64_t>(k);
      if (value.source == CompiledGraph::Source::kNone)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "graph output " + std::to_string(k) + " is never produced");
    }
    size_t arena = 0;
    for (size_t v = 0; v < g.num_values; ++v) {
      auto& value = compiled->values[v];
      if (value.source == CompiledGraph::Source::kProduced && value.output_slot < 0) {
        value.intermediate = static_cast<int64_t>(compiled->intermediate_offsets.size());
        compiled->intermediate_offsets.push_back(arena);
        arena += (value.bytes + kAlignment - 1) / kAlignment * kAlignment;
      }
    }
    compiled->arena_bytes = arena;

    for (size_t n = 0; n < g.num_nodes; ++n) {
      const hxrt_graph_node& gn = *g.nodes[n];
      for (size_t i = 0; i < gn.node->num_inputs; ++i) {
        int64_t v = gn.input_values[i];
        if (v >= 0 && compiled->values[static_cast<size_t>(v)].source == CompiledGraph::Source::kNone)
          throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "node " + std::to_string(n) + " reads value " +
                                                              std::to_string(v) + ", which nothing defines");
      }
      hxrt::plugin::NodeReader reader(*gn.node);
      CompiledGraph::Step step;
      step.name = std::string(gn.node->op_type) + (gn.node->name && *gn.node->name ? std::string(" ") + gn.node->name : "");
      try {
        step.kernel = hxrt::cpu::create_kernel(reader);
      } catch (const hxrt::cpu::Unsupported& why) {
        throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "node " + std::to_string(n) + " (" + step.name +
                                                         ") is not supported: " + why.what());
      } catch (const dnnl::error& e) {
        throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "node " + std::to_string(n) + " (" + step.name +
                                                         "): oneDNN: " + e.what());
      }
      step.inputs.assign(gn.input_values, gn.input_values + gn.node->num_inputs);
      step.outputs.assign(gn.output_values, gn.output_values + gn.node->num_outputs);
      compiled->steps.push_back(std::move(step));
    }
    auto exe = std::make_unique<hxrt_executable>();
    exe->device = args->device;
    exe->graph = std::move(compiled);
    args->executable = exe.release();
  });
}

void executable_destroy(hxrt_executable* executable) { delete executable; }

hxrt_plugin_status* executable_execute(hxrt_executable_execute_args* args) {
  return guard([&] {
    require_non_null(args, "args");
    require_struct_size(args->struct_size, HXRT_V1_SIZE(hxrt_executable_execute_args, output_offsets),
                        "hxrt_executable_execute_args");
    require_non_null(args->executable, "executable");
    require_non_null(args->stream, "stream");
    const auto& graph = args->executable->graph;
    if (args->num_inputs != graph->input_values.size())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable takes " + std::to_string(graph->input_values.size()) +
                                                          " inputs, got " + std::to_string(args->num_inputs));
    if (args->num_outputs != graph->output_values.size())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable produces " +
                                                          std::to_string(graph->output_values.size()) +
                                                          " outputs, got " + std::to_string(args->num_outputs));
    if (args->num_inputs > 0) require_non_null(args->input_buffers, "input_buffers");
    if (args->num_outputs > 0) require_non_null(args->output_buffers, "output_buffers");
    auto resolve = [&](hxrt_buffer* buffer, uint64_t offset, size_t bytes, const std::string& what) -> char* {
      if (buffer == nullptr) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, what + " buffer is NULL");
      if (offset > buffer->size || bytes > buffer->size - offset)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, what + " needs " + std::to_string(bytes) + " bytes at offset " +
                                                            std::to_string(offset) + ", but the buffer has " +
                                                            std::to_string(buffer->size));
      return static_cast<char*>(buffer->data) + offset;
    };
    std::vector<const void*> inputs(args->num_inputs);
    std::vector<void*> outputs(args->num_outputs);
    for (size_t k = 0; k < args->num_inputs; ++k) {
      size_t bytes = graph->values[static_cast<size_t>(graph->input_values[k])].bytes;
      inputs[k] = resolve(args->input_buffers[k], args->input_offsets ? args->input_offsets[k] : 0, bytes,
                          "input " + std::to_string(k));
    }
    for (size_t k = 0; k < args->num_outputs; ++k) {
      size_t bytes = graph->values[static_cast<size_t>(graph->output_values[k])].bytes;
      outputs[k] = resolve(args->output_buffers[k], args->output_offsets ? args->output_offsets[k] : 0, bytes,
                           "output " + std::to_string(k));
    }
    std::shared_ptr<const CompiledGraph> keep = graph;
    args->stream->enqueue([keep, inputs = std::move(inputs), outputs = std::move(outputs)] { keep->run(inputs, outputs); });
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
  if (args == nullptr || args->struct_size < HXRT_V1_SIZE(hxrt_plugin_negotiate_args, message_capacity))
    return HXRT_STATUS_INVALID_ARGUMENT;
  args->plugin_abi_major = HXRT_ABI_VERSION_MAJOR;
  args->plugin_abi_minor = HXRT_ABI_VERSION_MINOR;
  if (args->host_abi_major != HXRT_ABI_VERSION_MAJOR) {
    args->api = nullptr;
    // Never allocates: format into a stack buffer.
    char text[160];
    std::snprintf(text, sizeof(text), "host speaks ABI %u.%u, plugin implements %u.%u", args->host_abi_major,
                  args->host_abi_minor, HXRT_ABI_VERSION_MAJOR, HXRT_ABI_VERSION_MINOR);
    if (args->message != nullptr && args->message_capacity > 0) {
      size_t n = std::min(std::strlen(text), args->message_capacity - 1);
      std::memcpy(args->message, text, n);
      args->message[n] = '\0';
    }
    return HXRT_STATUS_VERSION_MISMATCH;
  }
  args->api = &api_table();
  return HXRT_STATUS_OK;
}
