// CPU plugin entry points: the context and its one device (the host CPU).
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "plugin_objects.hpp"

namespace hxrt::cpu {
namespace {

using plugin::PluginError;
using plugin::require_non_null;

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

// Checks a caller's out-struct: non-NULL, and (version 1.0) at least carrying struct_size.
template <typename T>
void require_out_struct(const T* out, const char* what) {
  require_non_null(out, what);
  if (out->struct_size < sizeof(size_t))
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(what) + "->struct_size is too small");
}

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

}  // namespace

namespace entry {

hxrt_plugin_status* context_create(hxrt_context_create_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_context_create_args, context), [&] {
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
  return check_args(args, HXRT_V1_ARGS(hxrt_context_get_devices_args, devices), [&] {
    require_non_null(args->context, "context");
    args->num_devices = 1;
    args->devices = args->context->device_list;
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
    p.vendor = d.vendor.c_str();
    p.kind = HXRT_DEVICE_KIND_CPU;
    p.memory_bytes = d.memory_bytes;
    p.peak_flops_f32 = d.peak_flops;
    p.memory_bandwidth_bytes_per_s = d.bandwidth;
    p.host_addressable = 1;
    p.can_wrap_host_memory = 1;  // since ABI 1.2: a wrapped buffer is the caller's memory itself (R4.6)
    p.wrap_host_memory_alignment = 0;
    p.in_place_elementwise = 1;  // since ABI 1.2: element-wise kernels read element i before writing it
    p.driver_version = "";
    p.compute_units = d.cores;
    write_out_struct(args->properties, p);
  });
}

hxrt_plugin_status* device_get_transfer_costs(hxrt_device_get_transfer_costs_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_device_get_transfer_costs_args, costs), [&] {
    check_device(args->device);
    require_out_struct(args->costs, "costs");
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

}  // namespace entry
}  // namespace hxrt::cpu
