// RAII owners for plugin objects and the few calls the host makes on them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plugin.hpp"

namespace hxrt::host {

struct BufferDeleter {
  const hxrt_plugin_api* api;
  void operator()(hxrt_buffer* b) const { if (b) api->buffer_destroy(b); }
};
struct StreamDeleter {
  const hxrt_plugin_api* api;
  void operator()(hxrt_stream* s) const { if (s) api->stream_destroy(s); }
};
struct EventDeleter {
  const hxrt_plugin_api* api;
  void operator()(hxrt_event* e) const { if (e) api->event_destroy(e); }
};
struct ExecutableDeleter {
  const hxrt_plugin_api* api;
  void operator()(hxrt_executable* x) const { if (x) api->executable_destroy(x); }
};

using BufferPtr = std::unique_ptr<hxrt_buffer, BufferDeleter>;
using StreamPtr = std::unique_ptr<hxrt_stream, StreamDeleter>;
using EventPtr = std::unique_ptr<hxrt_event, EventDeleter>;
using ExecutablePtr = std::unique_ptr<hxrt_executable, ExecutableDeleter>;

BufferPtr allocate_buffer(const DeviceRecord& device, uint64_t size_bytes,
                          hxrt_memory_kind kind = HXRT_MEMORY_DEVICE);
// The host address of a buffer (R4.5), or nullptr when it has none or the plugin lacks the slot.
void* host_pointer(const DeviceRecord& device, hxrt_buffer* buffer);
// Wraps caller host memory as a DEVICE buffer (ABI 1.2, R4.6). Returns
// nullptr, never throws, when the device cannot (no slot or property, the
// pointer or size is misaligned, or the plugin refuses): the caller copies.
BufferPtr try_wrap_host_memory(const DeviceRecord& device, void* data, uint64_t size_bytes, bool read_only);
// As above, but a refusal is an Error naming the device and the reason.
BufferPtr wrap_host_memory(const DeviceRecord& device, void* data, uint64_t size_bytes, bool read_only);
// Whether the device's memory is host memory (host-addressable, or a CPU-type
// device such as PoCL or lavapipe): wrapped caller buffers are then used in
// place by its executables, so they need no registration and no copies.
inline bool works_in_host_memory(const DeviceRecord& device) {
  return device.host_addressable || device.kind == HXRT_DEVICE_KIND_CPU;
}
StreamPtr create_stream(const DeviceRecord& device);
EventPtr create_event(const DeviceRecord& device);
ExecutablePtr compile(const DeviceRecord& device, const hxrt_graph_desc* graph, const std::string& what);

// A place in device memory: a buffer and a byte offset into it.
struct BufferSlice {
  hxrt_buffer* buffer = nullptr;
  uint64_t offset = 0;
};

void copy_to_device(const DeviceRecord& device, hxrt_stream* stream, const void* src, BufferSlice dst,
                    uint64_t size_bytes);
void copy_to_host(const DeviceRecord& device, hxrt_stream* stream, BufferSlice src, void* dst, uint64_t size_bytes);
void copy_on_device(const DeviceRecord& device, hxrt_stream* stream, BufferSlice src, BufferSlice dst,
                    uint64_t size_bytes);
// Enqueues one run of `executable` on `stream`.
void execute(const DeviceRecord& device, hxrt_executable* executable, hxrt_stream* stream,
             const std::vector<BufferSlice>& inputs, const std::vector<BufferSlice>& outputs, const std::string& what);
void record_event(const DeviceRecord& device, hxrt_event* event, hxrt_stream* stream);
void wait_event(const DeviceRecord& device, hxrt_stream* stream, hxrt_event* event);
void synchronize_event(const DeviceRecord& device, hxrt_event* event, const std::string& what);
void synchronize_stream(const DeviceRecord& device, hxrt_stream* stream, const std::string& what);

struct SupportAnswer {
  bool supported = false;
  hxrt_support_reason reason = HXRT_UNSUPPORTED_OTHER;
  std::string message;
  double estimated_ns = 0;
};
SupportAnswer query_support(const DeviceRecord& device, const hxrt_node_desc* node);

}  // namespace hxrt::host
