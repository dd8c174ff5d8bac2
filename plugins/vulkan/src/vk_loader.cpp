#include "vk_loader.hpp"

#include <dlfcn.h>

#include <mutex>

namespace hxrt::vk {

namespace {
// The loader stays open for the life of the plugin: contexts come and go, and
// reopening it each time would reload every ICD.
struct LoaderHandle {
  void* library = nullptr;
  GlobalFunctions functions;
  std::string error;
  LoaderHandle() {
    for (const char* name : {"libvulkan.so.1", "libvulkan.so"}) {
      library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (library != nullptr) break;
    }
    if (library == nullptr) {
      const char* e = dlerror();
      error = std::string("cannot open the Vulkan loader libvulkan.so.1: ") + (e ? e : "unknown error");
      return;
    }
    functions.vkGetInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(library, "vkGetInstanceProcAddr"));
    if (functions.vkGetInstanceProcAddr == nullptr) {
      error = "the Vulkan loader has no vkGetInstanceProcAddr";
      return;
    }
#define HXRT_VK_LOAD_GLOBAL(name) \
  functions.name = reinterpret_cast<PFN_##name>(functions.vkGetInstanceProcAddr(VK_NULL_HANDLE, #name));
    HXRT_VK_GLOBAL_FUNCTIONS(HXRT_VK_LOAD_GLOBAL)
#undef HXRT_VK_LOAD_GLOBAL
    if (functions.vkCreateInstance == nullptr) error = "the Vulkan loader has no vkCreateInstance";
  }
  ~LoaderHandle() {
    if (library != nullptr) dlclose(library);
  }
};
}  // namespace

const GlobalFunctions* load_global(std::string& why) {
  static LoaderHandle handle;
  if (!handle.error.empty()) {
    why = handle.error;
    return nullptr;
  }
  return &handle.functions;
}

InstanceFunctions load_instance(const GlobalFunctions& g, VkInstance instance) {
  InstanceFunctions f;
#define HXRT_VK_LOAD_INSTANCE(name) f.name = reinterpret_cast<PFN_##name>(g.vkGetInstanceProcAddr(instance, #name));
  HXRT_VK_INSTANCE_FUNCTIONS(HXRT_VK_LOAD_INSTANCE)
#undef HXRT_VK_LOAD_INSTANCE
  return f;
}

DeviceFunctions load_device(const InstanceFunctions& i, VkDevice device) {
  DeviceFunctions f;
#define HXRT_VK_LOAD_DEVICE(name) f.name = reinterpret_cast<PFN_##name>(i.vkGetDeviceProcAddr(device, #name));
  HXRT_VK_DEVICE_FUNCTIONS(HXRT_VK_LOAD_DEVICE)
#undef HXRT_VK_LOAD_DEVICE
  return f;
}

const char* result_name(VkResult result) {
  switch (result) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
    case VK_ERROR_FRAGMENTATION: return "VK_ERROR_FRAGMENTATION";
    case VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS: return "VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS";
    default: return "VkResult(other)";
  }
}

}  // namespace hxrt::vk
