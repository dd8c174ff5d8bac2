// OpenCL basics shared by the plugin and hxrt-opencl-bundle: the 1.2 API
// surface from the 3.0 headers, error names, device identity and hashing.
#pragma once

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hxrt/plugin_support/status.hpp"

namespace hxrt::ocl {

const char* cl_error_name(cl_int code);

// Throws PluginError(code) "<what>: CL_..." unless err == CL_SUCCESS.
void cl_check(cl_int err, const std::string& what, hxrt_status_code code = HXRT_STATUS_INTERNAL);

// Maps an allocation failure to RESOURCE_EXHAUSTED, anything else to INTERNAL.
hxrt_status_code status_for(cl_int err);

std::string device_string(cl_device_id device, cl_device_info what);
std::string platform_string(cl_platform_id platform, cl_platform_info what);
template <typename T>
T device_value(cl_device_id device, cl_device_info what) {
  T value{};
  if (clGetDeviceInfo(device, what, sizeof(T), &value, nullptr) != CL_SUCCESS) return T{};
  return value;
}

// Who a program binary is for: a bundle's manifest records it and the plugin
// compares it with the device it runs on.
struct DeviceIdentity {
  std::string platform;  // CL_PLATFORM_NAME
  std::string vendor;    // CL_DEVICE_VENDOR
  std::string name;      // CL_DEVICE_NAME
  std::string driver_version;  // CL_DRIVER_VERSION
  std::string device_version;  // CL_DEVICE_VERSION
};
DeviceIdentity identify(cl_platform_id platform, cl_device_id device);

// Every (platform, device) pair of CL_DEVICE_TYPE_ALL in discovery order.
// An ICD loader without platforms yields an empty list and a reason.
struct FoundDevice {
  cl_platform_id platform;
  cl_device_id device;
};
std::vector<FoundDevice> find_devices(std::string* why_none);

// FNV-1a, 64 bit: cache keys and bundle checksums (integrity, not security).
uint64_t fnv1a64(const void* data, size_t size, uint64_t seed = 1469598103934665603ull);
uint64_t fnv1a64(std::string_view text, uint64_t seed = 1469598103934665603ull);
std::string hex64(uint64_t value);

// Build options every program gets; part of the cache key and the manifest.
inline constexpr const char* kBuildOptions = "-cl-std=CL1.2";

}  // namespace hxrt::ocl
