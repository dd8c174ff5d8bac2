#include "cl_common.hpp"

#include <cstdio>

// From cl_ext.h (cl_khr_icd): the ICD loader found no platform.
#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

namespace hxrt::ocl {

const char* cl_error_name(cl_int code) {
  switch (code) {
#define HXRT_CL_ERR(x) \
  case x: return #x;
    HXRT_CL_ERR(CL_SUCCESS)
    HXRT_CL_ERR(CL_DEVICE_NOT_FOUND)
    HXRT_CL_ERR(CL_DEVICE_NOT_AVAILABLE)
    HXRT_CL_ERR(CL_COMPILER_NOT_AVAILABLE)
    HXRT_CL_ERR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    HXRT_CL_ERR(CL_OUT_OF_RESOURCES)
    HXRT_CL_ERR(CL_OUT_OF_HOST_MEMORY)
    HXRT_CL_ERR(CL_PROFILING_INFO_NOT_AVAILABLE)
    HXRT_CL_ERR(CL_MEM_COPY_OVERLAP)
    HXRT_CL_ERR(CL_IMAGE_FORMAT_MISMATCH)
    HXRT_CL_ERR(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    HXRT_CL_ERR(CL_BUILD_PROGRAM_FAILURE)
    HXRT_CL_ERR(CL_MAP_FAILURE)
    HXRT_CL_ERR(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    HXRT_CL_ERR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    HXRT_CL_ERR(CL_COMPILE_PROGRAM_FAILURE)
    HXRT_CL_ERR(CL_LINKER_NOT_AVAILABLE)
    HXRT_CL_ERR(CL_LINK_PROGRAM_FAILURE)
    HXRT_CL_ERR(CL_INVALID_VALUE)
    HXRT_CL_ERR(CL_INVALID_DEVICE_TYPE)
    HXRT_CL_ERR(CL_INVALID_PLATFORM)
    HXRT_CL_ERR(CL_INVALID_DEVICE)
    HXRT_CL_ERR(CL_INVALID_CONTEXT)
    HXRT_CL_ERR(CL_INVALID_QUEUE_PROPERTIES)
    HXRT_CL_ERR(CL_INVALID_COMMAND_QUEUE)
    HXRT_CL_ERR(CL_INVALID_HOST_PTR)
    HXRT_CL_ERR(CL_INVALID_MEM_OBJECT)
    HXRT_CL_ERR(CL_INVALID_BINARY)
    HXRT_CL_ERR(CL_INVALID_BUILD_OPTIONS)
    HXRT_CL_ERR(CL_INVALID_PROGRAM)
    HXRT_CL_ERR(CL_INVALID_PROGRAM_EXECUTABLE)
    HXRT_CL_ERR(CL_INVALID_KERNEL_NAME)
    HXRT_CL_ERR(CL_INVALID_KERNEL_DEFINITION)
    HXRT_CL_ERR(CL_INVALID_KERNEL)
    HXRT_CL_ERR(CL_INVALID_ARG_INDEX)
    HXRT_CL_ERR(CL_INVALID_ARG_VALUE)
    HXRT_CL_ERR(CL_INVALID_ARG_SIZE)
    HXRT_CL_ERR(CL_INVALID_KERNEL_ARGS)
    HXRT_CL_ERR(CL_INVALID_WORK_DIMENSION)
    HXRT_CL_ERR(CL_INVALID_WORK_GROUP_SIZE)
    HXRT_CL_ERR(CL_INVALID_WORK_ITEM_SIZE)
    HXRT_CL_ERR(CL_INVALID_GLOBAL_OFFSET)
    HXRT_CL_ERR(CL_INVALID_EVENT_WAIT_LIST)
    HXRT_CL_ERR(CL_INVALID_EVENT)
    HXRT_CL_ERR(CL_INVALID_OPERATION)
    HXRT_CL_ERR(CL_INVALID_BUFFER_SIZE)
    HXRT_CL_ERR(CL_INVALID_GLOBAL_WORK_SIZE)
    HXRT_CL_ERR(CL_PLATFORM_NOT_FOUND_KHR)
#undef HXRT_CL_ERR
    default: return "CL error";
  }
}

hxrt_status_code status_for(cl_int err) {
  if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES || err == CL_OUT_OF_HOST_MEMORY ||
      err == CL_INVALID_BUFFER_SIZE)
    return HXRT_STATUS_RESOURCE_EXHAUSTED;
  return HXRT_STATUS_INTERNAL;
}

void cl_check(cl_int err, const std::string& what, hxrt_status_code code) {
  if (err == CL_SUCCESS) return;
  if (code == HXRT_STATUS_INTERNAL) code = status_for(err);
  throw plugin::PluginError(code, what + ": " + cl_error_name(err) + " (" + std::to_string(err) + ")");
}

std::string device_string(cl_device_id device, cl_device_info what) {
  size_t size = 0;
  if (clGetDeviceInfo(device, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  if (clGetDeviceInfo(device, what, size, text.data(), nullptr) != CL_SUCCESS) return "";
  while (!text.empty() && (text.back() == '\0' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string platform_string(cl_platform_id platform, cl_platform_info what) {
  size_t size = 0;
  if (clGetPlatformInfo(platform, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  if (clGetPlatformInfo(platform, what, size, text.data(), nullptr) != CL_SUCCESS) return "";
  while (!text.empty() && (text.back() == '\0' || text.back() == ' ')) text.pop_back();
  return text;
}

DeviceIdentity identify(cl_platform_id platform, cl_device_id device) {
  return {platform_string(platform, CL_PLATFORM_NAME), device_string(device, CL_DEVICE_VENDOR),
          device_string(device, CL_DEVICE_NAME), device_string(device, CL_DRIVER_VERSION),
          device_string(device, CL_DEVICE_VERSION)};
}

std::vector<FoundDevice> find_devices(std::string* why_none) {
  std::vector<FoundDevice> found;
  cl_uint num_platforms = 0;
  cl_int err = clGetPlatformIDs(0, nullptr, &num_platforms);
  if (err != CL_SUCCESS || num_platforms == 0) {
    if (why_none)
      *why_none = err == CL_SUCCESS || err == CL_PLATFORM_NOT_FOUND_KHR
                      ? "the OpenCL ICD loader found no platforms (no ICD under /etc/OpenCL/vendors or OCL_ICD_VENDORS)"
                      : std::string("clGetPlatformIDs failed: ") + cl_error_name(err);
    return found;
  }
  std::vector<cl_platform_id> platforms(num_platforms);
  clGetPlatformIDs(num_platforms, platforms.data(), nullptr);
  std::string reasons;
  for (cl_platform_id platform : platforms) {
    cl_uint n = 0;
    err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &n);
    if (err != CL_SUCCESS || n == 0) {
      reasons += (reasons.empty() ? "" : "; ") + platform_string(platform, CL_PLATFORM_NAME) + ": no devices (" +
                 cl_error_name(err) + ")";
      continue;
    }
    std::vector<cl_device_id> devices(n);
    clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, n, devices.data(), nullptr);
    for (cl_device_id d : devices) found.push_back({platform, d});
  }
  if (found.empty() && why_none) *why_none = "no OpenCL devices: " + reasons;
  return found;
}

uint64_t fnv1a64(const void* data, size_t size, uint64_t seed) {
  uint64_t h = seed;
  auto bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    h ^= bytes[i];
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t fnv1a64(std::string_view text, uint64_t seed) { return fnv1a64(text.data(), text.size(), seed); }

std::string hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace hxrt::ocl
