// CUDA plugin entry points: the context, device discovery, properties and
// transfer costs measured once per device.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "cuda_objects.hpp"

namespace hxrt::cuda {
namespace {

using plugin::require_non_null;

bool parse_bool(const char* key, const char* value) {
  std::string_view v(value);
  if (v == "1" || v == "true" || v == "on") return true;
  if (v == "0" || v == "false" || v == "off") return false;
  throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                    std::string("option ") + key + " must be 0 or 1, got '" + value + "'");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Times `copy` (one synchronous transfer) at a small and a large size and fits
// time = latency + bytes / bandwidth.
template <typename Copy>
hxrt_link_cost measure_link(Copy&& copy, size_t small, size_t large) {
  auto best = [&](size_t bytes) {
    double t = std::numeric_limits<double>::infinity();
    for (int i = 0; i < 4; ++i) {  // the first run warms up
      auto t0 = std::chrono::steady_clock::now();
      copy(bytes);
      if (i > 0) t = std::min(t, seconds_since(t0));
    }
    return t;
  };
  double ts = best(small), tl = best(large);
  hxrt_link_cost cost{};
  double bw = tl > ts ? static_cast<double>(large - small) / (tl - ts) : static_cast<double>(large) / tl;
  cost.bandwidth_bytes_per_s = std::isfinite(bw) && bw > 0 ? bw : 8e9;
  cost.latency_ns = std::max(0.0, (ts - static_cast<double>(small) / cost.bandwidth_bytes_per_s) * 1e9);
  return cost;
}

void measure_transfers(hxrt_device& d) {
  constexpr size_t kSmall = 4096, kLarge = size_t{32} << 20;
  void *dev_a = nullptr, *dev_b = nullptr, *pinned = nullptr;
  std::vector<char> pageable(kLarge, 1);
  cudaStream_t s = d.alloc_stream;
  check_cuda(cudaMalloc(&dev_a, kLarge), "cudaMalloc");
  struct Free {
    void** ptrs[3];
    ~Free() {
      cudaFree(*ptrs[0]);
      cudaFree(*ptrs[1]);
      cudaFreeHost(*ptrs[2]);
    }
  } release{{&dev_a, &dev_b, &pinned}};
  check_cuda(cudaMalloc(&dev_b, kLarge), "cudaMalloc");
  check_cuda(cudaHostAlloc(&pinned, kLarge, cudaHostAllocPortable), "cudaHostAlloc");
  std::memset(pinned, 1, kLarge);
  auto copy = [&](void* dst, const void* src) {
    return [=](size_t bytes) {
      check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s), "measuring transfers");
      check_cuda(cudaStreamSynchronize(s), "measuring transfers");
    };
  };
  d.costs.struct_size = sizeof(hxrt_transfer_costs);
  d.costs.host_to_device_pageable = measure_link(copy(dev_a, pageable.data()), kSmall, kLarge);
  d.costs.host_to_device_pinned = measure_link(copy(dev_a, pinned), kSmall, kLarge);
  d.costs.device_to_host_pageable = measure_link(copy(pageable.data(), dev_a), kSmall, kLarge);
  d.costs.device_to_host_pinned = measure_link(copy(pinned, dev_a), kSmall, kLarge);
  d.costs.device_to_device = measure_link(copy(dev_b, dev_a), kSmall, kLarge);
  // A copy reads and writes every byte: the memory's bandwidth is twice the copy rate.
  d.rates.bandwidth = 2.0 * d.costs.device_to_device.bandwidth_bytes_per_s;
}

std::unique_ptr<hxrt_device> open_device(hxrt_plugin_context* ctx, int ordinal) {
  auto d = std::make_unique<hxrt_device>();
  d->context = ctx;
  d->ordinal = ordinal;
  use_device(ordinal);
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, ordinal), "cudaGetDeviceProperties");
  d->name = prop.name;
  d->memory_bytes = prop.totalGlobalMem;
  d->sms = static_cast<uint32_t>(prop.multiProcessorCount);
  d->cc_major = prop.major;
  d->cc_minor = prop.minor;
  int driver = 0;
  cudaDriverGetVersion(&driver);
  d->driver_version = "CUDA driver " + std::to_string(driver / 1000) + "." + std::to_string((driver % 1000) / 10) +
                      ", compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor);
  int clock_khz = 0;
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, ordinal);
  double clock = clock_khz > 0 ? clock_khz * 1e3 : 1.5e9;
  // Peak rates per SM and clock: 128 FP32 lanes x 2 flop; dense FP16 tensor
  // cores 4096 flop on Hopper, 2048 on Ampere/Ada, 1024 before.
  d->rates.flops_f32 = d->sms * 128.0 * 2.0 * clock;
  double tensor_per_sm = prop.major >= 9 ? 4096.0 : (prop.major == 8 ? 2048.0 : 1024.0);
  d->rates.flops_tensor = d->sms * tensor_per_sm * clock;
  d->rates.flops_tf32 = d->rates.flops_tensor / 2.0;
  // One op run on its own through the ABI (enqueue, launch, completion) costs
  // ~10-15 us of wall time on an H100 host, whatever its size.
  d->rates.launch_ns = 10000.0;

  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = ordinal;
  check_cuda(cudaMemPoolCreate(&d->pool, &props), "cudaMemPoolCreate");
  // Keep freed memory in the pool: re-allocation is then cheap.
  uint64_t threshold = std::numeric_limits<uint64_t>::max();
  check_cuda(cudaMemPoolSetAttribute(d->pool, cudaMemPoolAttrReleaseThreshold, &threshold), "cudaMemPoolSetAttribute");
  check_cuda(cudaStreamCreateWithFlags(&d->alloc_stream, cudaStreamNonBlocking), "cudaStreamCreate");
  measure_transfers(*d);
  return d;
}

void close_device(hxrt_device& d) {
  if (cudaSetDevice(d.ordinal) != cudaSuccess) return;
  if (d.alloc_stream != nullptr) {
    cudaStreamSynchronize(d.alloc_stream);
    cudaStreamDestroy(d.alloc_stream);
  }
  if (d.pool != nullptr) cudaMemPoolDestroy(d.pool);
}

// Lets each device reach the others' memory where the hardware allows (peer copies).
void enable_peers(hxrt_plugin_context& ctx) {
  for (auto& a : ctx.devices)
    for (auto& b : ctx.devices) {
      if (a == b) continue;
      int can = 0;
      if (cudaDeviceCanAccessPeer(&can, a->ordinal, b->ordinal) != cudaSuccess || !can) continue;
      cudaSetDevice(a->ordinal);
      cudaError_t e = cudaDeviceEnablePeerAccess(b->ordinal, 0);
      if (e != cudaSuccess && e != cudaErrorPeerAccessAlreadyEnabled) {
        cudaGetLastError();
        continue;
      }
      cudaGetLastError();
      cudaMemAccessDesc access{};
      access.location.type = cudaMemLocationTypeDevice;
      access.location.id = a->ordinal;
      access.flags = cudaMemAccessFlagsProtReadWrite;
      cudaMemPoolSetAccess(b->pool, &access, 1);
      ctx.log(HXRT_LOG_INFO, "cuda plugin: peer access " + std::to_string(a->ordinal) + " -> " +
                                 std::to_string(b->ordinal));
    }
}

template <typename T>
void require_out_struct(const T* out, const char* what) {
  require_non_null(out, what);
  if (out->struct_size < sizeof(size_t))
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(what) + "->struct_size is too small");
}

// Writes `ours` into the caller's struct up to the smaller size (R2.4).
template <typename T>
void write_out_struct(T* dst, const T& ours) {
  size_t caller = dst->struct_size;
  size_t n = std::min(caller, sizeof(T));
  if (n > sizeof(size_t))
    std::memcpy(reinterpret_cast<char*>(dst) + sizeof(size_t), reinterpret_cast<const char*>(&ours) + sizeof(size_t),
                n - sizeof(size_t));
  dst->struct_size = caller;
}

}  // namespace

namespace entry {

hxrt_plugin_status* context_create(hxrt_context_create_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_context_create_args, context), [&] {
    args->context = nullptr;
    if (args->num_options > 0 && (args->option_keys == nullptr || args->option_values == nullptr))
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "option_keys/option_values must not be NULL");
    auto ctx = std::make_unique<hxrt_plugin_context>();
    ctx->logger = args->logger;
    ctx->logger_user_data = args->logger_user_data;
    for (size_t i = 0; i < args->num_options; ++i) {
      const char* key = args->option_keys[i];
      const char* value = args->option_values[i];
      require_non_null(key, "option key");
      require_non_null(value, "option value");
      std::string_view k(key);
      if (k == "allow_tf32") {
        ctx->config.allow_tf32 = parse_bool(key, value);
      } else if (k == "cuda_graphs") {
        ctx->cuda_graphs = parse_bool(key, value);
      } else if (k == "channels_last") {
        std::string_view v(value);
        if (v == "0" || v == "off") ctx->channels_last = 0;
        else if (v == "auto") ctx->channels_last = 1;
        else if (v == "1" || v == "on") ctx->channels_last = 2;
        else
          throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                            std::string("option channels_last must be 0, auto or 1, got '") + value + "'");
      } else if (k == "graph_min_ops") {
        char* end = nullptr;
        long n = std::strtol(value, &end, 10);
        if (end == value || *end != '\0' || n < 1 || n > 1000000)
          throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                            std::string("option graph_min_ops must be a positive integer, got '") + value + "'");
        ctx->graph_min_ops = static_cast<int>(n);
      } else {
        ctx->log(HXRT_LOG_WARNING, std::string("cuda plugin: ignoring unknown option '") + key + "'");
      }
    }
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      // No driver, no GPU or a driver too old: zero devices, not an error (R4.1).
      cudaGetLastError();
      ctx->log(HXRT_LOG_WARNING, std::string("cuda plugin: no CUDA device: cudaGetDeviceCount failed with ") +
                                     cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
      count = 0;
    } else if (count == 0) {
      ctx->log(HXRT_LOG_WARNING, "cuda plugin: no CUDA device: the driver reports 0 devices");
    }
    int previous = 0;
    bool restore = count > 0 && cudaGetDevice(&previous) == cudaSuccess;
    for (int i = 0; i < count; ++i) {
      try {
        ctx->devices.push_back(open_device(ctx.get(), i));
        const hxrt_device& d = *ctx->devices.back();
        ctx->log(HXRT_LOG_INFO, "cuda plugin: device " + std::to_string(i) + " '" + d.name + "', " +
                                    std::to_string(d.sms) + " SMs, " + std::to_string(d.memory_bytes >> 20) + " MiB, " +
                                    d.driver_version);
      } catch (const PluginError& err) {
        cudaGetLastError();
        ctx->log(HXRT_LOG_WARNING, "cuda plugin: skipping device " + std::to_string(i) + ": " + err.what());
      }
    }
    enable_peers(*ctx);
    for (auto& d : ctx->devices) ctx->device_list.push_back(d.get());
    if (restore) cudaSetDevice(previous);
    args->context = ctx.release();
  });
}

void context_destroy(hxrt_plugin_context* context) {
  if (context == nullptr) return;
  for (auto& d : context->devices) {
    if (cudaSetDevice(d->ordinal) == cudaSuccess) {
      d->libs.reset();  // while the handles' device is current
    }
    close_device(*d);
  }
  delete context;
}

hxrt_plugin_status* context_get_devices(hxrt_context_get_devices_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_context_get_devices_args, devices), [&] {
    require_non_null(args->context, "context");
    args->num_devices = args->context->device_list.size();
    args->devices = args->context->device_list.data();
  });
}

hxrt_plugin_status* device_get_properties(hxrt_device_get_properties_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_device_get_properties_args, properties), [&] {
    check_device(args->device);
    require_out_struct(args->properties, "properties");
    const hxrt_device& d = *args->device;
    hxrt_device_properties p{};
    p.struct_size = sizeof(p);
    p.name = d.name.c_str();
    p.vendor = "NVIDIA";
    p.kind = HXRT_DEVICE_KIND_GPU;
    p.memory_bytes = d.memory_bytes;
    p.peak_flops_f32 = d.rates.flops_f32;
    p.memory_bandwidth_bytes_per_s = d.rates.bandwidth;
    p.host_addressable = 0;
    p.driver_version = d.driver_version.c_str();
    p.compute_units = d.sms;
    p.max_allocation_bytes = d.memory_bytes;  // since ABI 1.1; one pool allocation may take it all
    write_out_struct(args->properties, p);
  });
}

hxrt_plugin_status* device_get_transfer_costs(hxrt_device_get_transfer_costs_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_device_get_transfer_costs_args, costs), [&] {
    check_device(args->device);
    require_out_struct(args->costs, "costs");
    write_out_struct(args->costs, args->device->costs);
  });
}

}  // namespace entry
}  // namespace hxrt::cuda
