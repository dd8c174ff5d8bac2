#include "device_objects.hpp"

#include <cmath>

namespace hxrt::host {
namespace {

// Sets the args' struct_size, calls one table slot, and turns a status into an
// Error naming the device and the operation.
template <typename Args>
void call(const DeviceRecord& device, hxrt_plugin_status* (*const hxrt_plugin_api::*slot)(Args*), Args& args,
          const std::string& what) {
  args.struct_size = sizeof(Args);
  device.plugin->check((device.plugin->api().*slot)(&args), device.id + ": " + what);
}

}  // namespace

BufferPtr allocate_buffer(const DeviceRecord& device, uint64_t size_bytes, hxrt_memory_kind kind) {
  hxrt_buffer_allocate_args args{};
  args.device = device.handle;
  args.size_bytes = size_bytes;
  args.memory_kind = kind;
  call(device, &hxrt_plugin_api::buffer_allocate, args, "allocating " + std::to_string(size_bytes) + " bytes");
  return BufferPtr(args.buffer, BufferDeleter{&device.plugin->api()});
}

void* host_pointer(const DeviceRecord& device, hxrt_buffer* buffer) {
  if (device.plugin->api().buffer_get_host_pointer == nullptr || buffer == nullptr) return nullptr;
  hxrt_buffer_get_host_pointer_args args{};
  args.buffer = buffer;
  call(device, &hxrt_plugin_api::buffer_get_host_pointer, args, "buffer_get_host_pointer");
  return args.host_pointer;
}

BufferPtr wrap_host_memory(const DeviceRecord& device, void* data, uint64_t size_bytes, bool read_only) {
  if (!device.can_wrap_host_memory)
    throw Error(HXRT_STATUS_UNIMPLEMENTED, device.id + ": the device cannot wrap host memory");
  uint64_t alignment = device.wrap_host_memory_alignment;
  if (alignment > 1 && (reinterpret_cast<uintptr_t>(data) % alignment != 0 || size_bytes % alignment != 0))
    throw Error(HXRT_STATUS_INVALID_ARGUMENT,
                device.id + ": host memory to wrap must be aligned to " + std::to_string(alignment) + " bytes");
  hxrt_buffer_wrap_host_memory_args args{};
  args.device = device.handle;
  args.host_pointer = data;
  args.size_bytes = size_bytes;
  args.read_only = read_only ? 1 : 0;
  call(device, &hxrt_plugin_api::buffer_wrap_host_memory, args,
       "wrapping " + std::to_string(size_bytes) + " bytes of host memory");
  return BufferPtr(args.buffer, BufferDeleter{&device.plugin->api()});
}

BufferPtr try_wrap_host_memory(const DeviceRecord& device, void* data, uint64_t size_bytes, bool read_only) {
  try {
    return wrap_host_memory(device, data, size_bytes, read_only);
  } catch (const Error&) {
    return BufferPtr(nullptr, BufferDeleter{&device.plugin->api()});
  }
}

StreamPtr create_stream(const DeviceRecord& device) {
  hxrt_stream_create_args args{};
  args.device = device.handle;
  call(device, &hxrt_plugin_api::stream_create, args, "stream_create");
  return StreamPtr(args.stream, StreamDeleter{&device.plugin->api()});
}

EventPtr create_event(const DeviceRecord& device) {
  hxrt_event_create_args args{};
  args.device = device.handle;
  call(device, &hxrt_plugin_api::event_create, args, "event_create");
  return EventPtr(args.event, EventDeleter{&device.plugin->api()});
}

ExecutablePtr compile(const DeviceRecord& device, const hxrt_graph_desc* graph, const std::string& what) {
  hxrt_executable_compile_args args{};
  args.device = device.handle;
  args.graph = graph;
  call(device, &hxrt_plugin_api::executable_compile, args, "compiling " + what);
  if (args.executable == nullptr) throw Error(HXRT_STATUS_INTERNAL, device.id + ": compile returned no executable");
  return ExecutablePtr(args.executable, ExecutableDeleter{&device.plugin->api()});
}

void copy_to_device(const DeviceRecord& device, hxrt_stream* stream, const void* src, BufferSlice dst,
                    uint64_t size_bytes) {
  hxrt_copy_to_device_args args{};
  args.stream = stream;
  args.src = src;
  args.dst = dst.buffer;
  args.dst_offset = dst.offset;
  args.size_bytes = size_bytes;
  call(device, &hxrt_plugin_api::copy_to_device, args, "copy_to_device");
}

void copy_to_host(const DeviceRecord& device, hxrt_stream* stream, BufferSlice src, void* dst, uint64_t size_bytes) {
  hxrt_copy_to_host_args args{};
  args.stream = stream;
  args.src = src.buffer;
  args.src_offset = src.offset;
  args.dst = dst;
  args.size_bytes = size_bytes;
  call(device, &hxrt_plugin_api::copy_to_host, args, "copy_to_host");
}

void copy_on_device(const DeviceRecord& device, hxrt_stream* stream, BufferSlice src, BufferSlice dst,
                    uint64_t size_bytes) {
  hxrt_copy_on_device_args args{};
  args.stream = stream;
  args.src = src.buffer;
  args.src_offset = src.offset;
  args.dst = dst.buffer;
  args.dst_offset = dst.offset;
  args.size_bytes = size_bytes;
  call(device, &hxrt_plugin_api::copy_on_device, args, "copy_on_device");
}

void record_event(const DeviceRecord& device, hxrt_event* event, hxrt_stream* stream) {
  hxrt_event_record_args args{};
  args.event = event;
  args.stream = stream;
  call(device, &hxrt_plugin_api::event_record, args, "event_record");
}

void wait_event(const DeviceRecord& device, hxrt_stream* stream, hxrt_event* event) {
  hxrt_stream_wait_event_args args{};
  args.stream = stream;
  args.event = event;
  call(device, &hxrt_plugin_api::stream_wait_event, args, "stream_wait_event");
}

void execute(const DeviceRecord& device, hxrt_executable* executable, hxrt_stream* stream,
             const std::vector<BufferSlice>& inputs, const std::vector<BufferSlice>& outputs, const std::string& what) {
  std::vector<hxrt_buffer*> input_buffers, output_buffers;
  std::vector<uint64_t> input_offsets, output_offsets;
  for (const BufferSlice& s : inputs) {
    input_buffers.push_back(s.buffer);
    input_offsets.push_back(s.offset);
  }
  for (const BufferSlice& s : outputs) {
    output_buffers.push_back(s.buffer);
    output_offsets.push_back(s.offset);
  }
  hxrt_executable_execute_args args{};
  args.executable = executable;
  args.stream = stream;
  args.num_inputs = inputs.size();
  args.input_buffers = input_buffers.data();
  args.input_offsets = input_offsets.data();
  args.num_outputs = outputs.size();
  args.output_buffers = output_buffers.data();
  args.output_offsets = output_offsets.data();
  call(device, &hxrt_plugin_api::executable_execute, args, what);
}

void synchronize_event(const DeviceRecord& device, hxrt_event* event, const std::string& what) {
  device.plugin->check(device.plugin->api().event_synchronize(event), device.id + ": " + what);
}

void synchronize_stream(const DeviceRecord& device, hxrt_stream* stream, const std::string& what) {
  device.plugin->check(device.plugin->api().stream_synchronize(stream), device.id + ": " + what);
}

SupportAnswer query_support(const DeviceRecord& device, const hxrt_node_desc* node) {
  char message[256] = {0};
  hxrt_query_op_support_args args{};
  args.struct_size = sizeof(args);
  args.device = device.handle;
  args.node = node;
  args.reason_message = message;
  args.reason_message_capacity = sizeof(message);
  hxrt_plugin_status* status = device.plugin->api().query_op_support(&args);
  SupportAnswer answer;
  if (status != nullptr) {
    // A failing query is treated as "not supported" with the plugin's message.
    const auto& api = device.plugin->api();
    answer.message = std::string("query failed: ") + api.status_get_message(status);
    api.status_destroy(status);
    return answer;
  }
  answer.supported = args.supported != 0;
  answer.reason = args.reason;
  answer.message = message;
  answer.estimated_ns = args.estimated_ns;
  if (answer.supported && !(std::isfinite(answer.estimated_ns) && answer.estimated_ns > 0))
    answer.estimated_ns = 1e6;  // a broken estimate must not win placement by accident
  return answer;
}

}  // namespace hxrt::host
