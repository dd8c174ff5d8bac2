// The Vulkan entry points the plugin uses, loaded at run time from the
// system loader (libvulkan.so.1). Nothing links against libvulkan, so a
// machine without it still loads the plugin and reports zero devices (R4.1).
#pragma once

#include <vulkan/vulkan.h>

#include <string>

namespace hxrt::vk {

#define HXRT_VK_GLOBAL_FUNCTIONS(X) \
  X(vkCreateInstance)               \
  X(vkEnumerateInstanceVersion)     \
  X(vkEnumerateInstanceLayerProperties) \
  X(vkEnumerateInstanceExtensionProperties)

#define HXRT_VK_INSTANCE_FUNCTIONS(X)        \
  X(vkDestroyInstance)                       \
  X(vkEnumeratePhysicalDevices)              \
  X(vkGetPhysicalDeviceProperties)           \
  X(vkGetPhysicalDeviceProperties2)          \
  X(vkGetPhysicalDeviceFeatures2)            \
  X(vkGetPhysicalDeviceMemoryProperties)     \
  X(vkGetPhysicalDeviceQueueFamilyProperties) \
  X(vkEnumerateDeviceExtensionProperties)    \
  X(vkGetPhysicalDeviceExternalBufferProperties) \
  X(vkCreateDevice)                          \
  X(vkGetDeviceProcAddr)                     \
  X(vkCreateDebugUtilsMessengerEXT)          \
  X(vkDestroyDebugUtilsMessengerEXT)

#define HXRT_VK_DEVICE_FUNCTIONS(X)      \
  X(vkDestroyDevice)                     \
  X(vkGetDeviceQueue)                    \
  X(vkDeviceWaitIdle)                    \
  X(vkAllocateMemory)                    \
  X(vkFreeMemory)                        \
  X(vkMapMemory)                         \
  X(vkUnmapMemory)                       \
  X(vkCreateBuffer)                      \
  X(vkDestroyBuffer)                     \
  X(vkGetBufferMemoryRequirements)       \
  X(vkBindBufferMemory)                  \
  X(vkGetBufferDeviceAddress)            \
  X(vkCreateShaderModule)                \
  X(vkDestroyShaderModule)               \
  X(vkCreatePipelineLayout)              \
  X(vkDestroyPipelineLayout)             \
  X(vkCreateComputePipelines)            \
  X(vkDestroyPipeline)                   \
  X(vkCreatePipelineCache)               \
  X(vkDestroyPipelineCache)              \
  X(vkGetPipelineCacheData)              \
  X(vkCreateCommandPool)                 \
  X(vkDestroyCommandPool)                \
  X(vkAllocateCommandBuffers)            \
  X(vkFreeCommandBuffers)                \
  X(vkResetCommandBuffer)                \
  X(vkBeginCommandBuffer)                \
  X(vkEndCommandBuffer)                  \
  X(vkCmdBindPipeline)                   \
  X(vkCmdPushConstants)                  \
  X(vkCmdDispatch)                       \
  X(vkCmdCopyBuffer)                     \
  X(vkCmdFillBuffer)                     \
  X(vkCmdPipelineBarrier)                \
  X(vkCmdWriteTimestamp)                 \
  X(vkCreateQueryPool)                   \
  X(vkDestroyQueryPool)                  \
  X(vkGetQueryPoolResults)               \
  X(vkCmdResetQueryPool)                 \
  X(vkQueueSubmit)                       \
  X(vkQueueWaitIdle)                     \
  X(vkCreateSemaphore)                   \
  X(vkDestroySemaphore)                  \
  X(vkWaitSemaphores)                    \
  X(vkSignalSemaphore)                   \
  X(vkGetSemaphoreCounterValue)          \
  X(vkGetMemoryHostPointerPropertiesEXT) /* NULL without VK_EXT_external_memory_host */

#define HXRT_VK_DECLARE(name) PFN_##name name = nullptr;

struct GlobalFunctions {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
  HXRT_VK_GLOBAL_FUNCTIONS(HXRT_VK_DECLARE)
};
struct InstanceFunctions {
  HXRT_VK_INSTANCE_FUNCTIONS(HXRT_VK_DECLARE)
};
struct DeviceFunctions {
  HXRT_VK_DEVICE_FUNCTIONS(HXRT_VK_DECLARE)
};

// Opens the loader once per process (kept open until unload); returns NULL
// and sets `why` when no loader is installed.
const GlobalFunctions* load_global(std::string& why);
InstanceFunctions load_instance(const GlobalFunctions& g, VkInstance instance);
DeviceFunctions load_device(const InstanceFunctions& i, VkDevice device);

const char* result_name(VkResult result);

}  // namespace hxrt::vk
