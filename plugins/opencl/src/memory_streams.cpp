// OpenCL plugin entry points: buffers (cl_mem; pinned via CL_MEM_ALLOC_HOST_PTR
// and a persistent map), streams (in-order, profiling command queues), events
// (markers) and copies.
#include <cstring>
#include <limits>

#include "plugin_objects.hpp"

using hxrt::ocl::cl_check;
using hxrt::plugin::PluginError;

hxrt_buffer::~hxrt_buffer() {
  if (mapped != nullptr) {
    cl_event done = nullptr;
    if (clEnqueueUnmapMemObject(device->internal_queue, mem, mapped, 0, nullptr, &done) == CL_SUCCESS) {
      clWaitForEvents(1, &done);
      clReleaseEvent(done);
    }
  }
  if (mem != nullptr) clReleaseMemObject(mem);
}

hxrt_stream::~hxrt_stream() {
  if (queue != nullptr) {
    clFinish(queue);
    reap(true);
    clReleaseCommandQueue(queue);
  }
}

void hxrt_stream::track(cl_event event, std::string label, bool kernel) {
  pending.push_back({event, std::move(label), kernel});
  if (pending.size() > 512) reap(false);  // bound the list for streams synchronised rarely
}

void hxrt_stream::reap(bool all_finished) {
  std::vector<PendingCommand> keep;
  for (auto& c : pending) {
    cl_int status = CL_QUEUED;
    clGetEventInfo(c.event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, nullptr);
    if (status > CL_COMPLETE && !all_finished) {
      keep.push_back(c);
      continue;
    }
    if (status < 0 && !error)
      error = PluginError(status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES
                              ? HXRT_STATUS_RESOURCE_EXHAUSTED
                              : HXRT_STATUS_INTERNAL,
                          c.label + " failed on the device: " + hxrt::ocl::cl_error_name(status));
    if (c.kernel && status == CL_COMPLETE) {
      cl_ulong start = 0, end = 0;
      if (clGetEventProfilingInfo(c.event, CL_PROFILING_COMMAND_START, sizeof(start), &start, nullptr) == CL_SUCCESS &&
          clGetEventProfilingInfo(c.event, CL_PROFILING_COMMAND_END, sizeof(end), &end, nullptr) == CL_SUCCESS &&
          end >= start) {
        device->measured_kernel_ns += end - start;
        device->measured_kernels += 1;
      }
    }
    clReleaseEvent(c.event);
  }
  pending = std::move(keep);
}

namespace hxrt::ocl {
namespace {

using plugin::require_non_null;

void check_range(uint64_t offset, uint64_t size, uint64_t buffer_size, const char* what) {
  if (offset > buffer_size || size > buffer_size - offset)
    throw PluginError(HXRT_STATUS_OUT_OF_RANGE, std::string(what) + ": " + std::to_string(size) + " bytes at offset " +
                                                    std::to_string(offset) + " lie outside its buffer of " +
                                                    std::to_string(buffer_size) + " bytes");
}

void check_stream_buffer(hxrt_stream* stream, hxrt_buffer* buffer, const char* what) {
  if (buffer->device->context != stream->device->context)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(what) + " belongs to another context");
}

hxrt_plugin_status* error_status(const std::optional<PluginError>& error) {
  return error ? plugin::make_status(error->code(), error->what()) : nullptr;
}

}  // namespace

namespace entry {

hxrt_plugin_status* buffer_allocate(hxrt_buffer_allocate_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_buffer_allocate_args, buffer), [&] {
    args->buffer = nullptr;
    require_non_null(args->device, "device");
    hxrt_device* d = args->device;
    if (args->memory_kind != HXRT_MEMORY_DEVICE && args->memory_kind != HXRT_MEMORY_HOST_PINNED)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "unknown memory kind " + std::to_string(args->memory_kind));
    uint64_t size = args->size_bytes;
    bool pinned = args->memory_kind == HXRT_MEMORY_HOST_PINNED;
    // Pinned mappings are over-allocated so the host pointer can be 64-byte aligned.
    uint64_t extra = pinned ? 64 : 0;
    if (size > d->memory_bytes || size + extra > d->max_alloc_bytes)
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED,
                        "cannot allocate " + std::to_string(size) + " bytes on " + d->identity.name + " (at most " +
                            std::to_string(d->max_alloc_bytes) + " bytes per buffer)");
    auto buffer = std::make_unique<hxrt_buffer>();
    buffer->device = d;
    buffer->size = size;
    buffer->kind = args->memory_kind;
    if (size == 0 && !pinned) {
      args->buffer = buffer.release();  // OpenCL has no empty buffers; nothing is ever read
      return;
    }
    cl_int err = CL_SUCCESS;
    cl_mem_flags flags = CL_MEM_READ_WRITE | (pinned ? CL_MEM_ALLOC_HOST_PTR : 0);
    buffer->mem = clCreateBuffer(d->cl_ctx, flags, static_cast<size_t>(size + extra), nullptr, &err);
    if (err != CL_SUCCESS)
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED,
                        "clCreateBuffer(" + std::to_string(size) + " bytes): " + cl_error_name(err));
    if (pinned) {
      buffer->mapped = clEnqueueMapBuffer(d->internal_queue, buffer->mem, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
                                          static_cast<size_t>(size + extra), 0, nullptr, nullptr, &err);
      cl_check(err, "clEnqueueMapBuffer of a pinned buffer");
      auto address = reinterpret_cast<uintptr_t>(buffer->mapped);
      buffer->base = (64 - address % 64) % 64;
      buffer->host = static_cast<char*>(buffer->mapped) + buffer->base;
    }
    args->buffer = buffer.release();
  });
}

void buffer_destroy(hxrt_buffer* buffer) { delete buffer; }

hxrt_plugin_status* buffer_get_host_pointer(hxrt_buffer_get_host_pointer_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_buffer_get_host_pointer_args, host_pointer), [&] {
    require_non_null(args->buffer, "buffer");
    args->host_pointer = args->buffer->host;  // NULL for DEVICE buffers (R4.5)
  });
}

// Caller memory as a buffer (R4.6), on devices sharing the host's memory:
// CL_MEM_USE_HOST_PTR, mapped for the buffer's life like a pinned buffer, so
// copies use the caller's memory directly. Unmapping and releasing never
// frees it.
hxrt_plugin_status* buffer_wrap_host_memory(hxrt_buffer_wrap_host_memory_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_buffer_wrap_host_memory_args, buffer), [&] {
    args->buffer = nullptr;
    require_non_null(args->device, "device");
    hxrt_device* d = args->device;
    if (!d->unified_memory)
      throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "buffer_wrap_host_memory: " + d->identity.name +
                                                       " does not share the host's memory (can_wrap_host_memory is 0)");
    uint64_t size = args->size_bytes;
    if (size > 0) require_non_null(args->host_pointer, "host_pointer");
    uint64_t align = d->base_align_bytes;
    if (align > 1 && (reinterpret_cast<uintptr_t>(args->host_pointer) % align != 0 || size % align != 0))
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "buffer_wrap_host_memory: pointer and size must be multiples of " +
                                                          std::to_string(align) + " bytes (wrap_host_memory_alignment)");
    if (size > d->max_alloc_bytes)
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "buffer_wrap_host_memory: " + std::to_string(size) +
                                                            " bytes exceed the largest buffer of " + d->identity.name);
    auto buffer = std::make_unique<hxrt_buffer>();
    buffer->device = d;
    buffer->size = size;
    buffer->kind = HXRT_MEMORY_DEVICE;
    if (size == 0) {
      static char empty;
      buffer->host = &empty;  // never dereferenced
      args->buffer = buffer.release();
      return;
    }
    cl_int err = CL_SUCCESS;
    cl_mem_flags flags = (args->read_only != 0 ? CL_MEM_READ_ONLY : CL_MEM_READ_WRITE) | CL_MEM_USE_HOST_PTR;
    buffer->mem = clCreateBuffer(d->cl_ctx, flags, static_cast<size_t>(size), args->host_pointer, &err);
    if (err != CL_SUCCESS)
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED,
                        "clCreateBuffer(CL_MEM_USE_HOST_PTR, " + std::to_string(size) + " bytes): " + cl_error_name(err));
    cl_map_flags map = args->read_only != 0 ? CL_MAP_READ : (CL_MAP_READ | CL_MAP_WRITE);
    buffer->mapped = clEnqueueMapBuffer(d->internal_queue, buffer->mem, CL_TRUE, map, 0, static_cast<size_t>(size), 0,
                                        nullptr, nullptr, &err);
    cl_check(err, "clEnqueueMapBuffer of a wrapped buffer");
    // For CL_MEM_USE_HOST_PTR the mapping is the caller's memory itself.
    if (buffer->mapped != args->host_pointer)
      throw PluginError(HXRT_STATUS_INTERNAL, "buffer_wrap_host_memory: the mapping is not the wrapped memory");
    buffer->host = buffer->mapped;
    args->buffer = buffer.release();
  });
}

hxrt_plugin_status* stream_create(hxrt_stream_create_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_stream_create_args, stream), [&] {
    args->stream = nullptr;
    require_non_null(args->device, "device");
    auto stream = std::make_unique<hxrt_stream>();
    stream->device = args->device;
    cl_int err = CL_SUCCESS;
    // In order, with profiling: kernel times feed the device's measured totals.
    stream->queue = clCreateCommandQueue(args->device->cl_ctx, args->device->id, CL_QUEUE_PROFILING_ENABLE, &err);
    cl_check(err, "clCreateCommandQueue");
    args->stream = stream.release();
  });
}

void stream_destroy(hxrt_stream* stream) { delete stream; }

hxrt_plugin_status* stream_synchronize(hxrt_stream* stream) {
  std::optional<PluginError> error;
  hxrt_plugin_status* failure = plugin::guard([&] {
    require_non_null(stream, "stream");
    cl_int err = clFinish(stream->queue);
    std::lock_guard lock(stream->mutex);
    stream->reap(true);
    if (err != CL_SUCCESS && !stream->error)
      stream->error = PluginError(HXRT_STATUS_INTERNAL, std::string("clFinish: ") + cl_error_name(err));
    error = std::move(stream->error);
    stream->error.reset();
  });
  return failure != nullptr ? failure : error_status(error);
}

hxrt_plugin_status* stream_wait_event(hxrt_stream_wait_event_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_stream_wait_event_args, event), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->event, "event");
    hxrt_stream* s = args->stream;
    if (args->event->device->context != s->device->context)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "stream_wait_event: the event belongs to another context");
    std::shared_ptr<EventCapture> capture = args->event->get();
    std::lock_guard lock(s->mutex);
    if (capture->error) {
      if (!s->error) s->error = capture->error;  // R7.5: the waiting stream inherits it
      return;
    }
    if (capture->marker == nullptr || s->error) return;
    cl_event wait = capture->marker;
    cl_context marker_ctx = nullptr;
    clGetEventInfo(wait, CL_EVENT_CONTEXT, sizeof(marker_ctx), &marker_ctx, nullptr);
    cl_event bridge = nullptr;
    cl_int err = CL_SUCCESS;
    if (marker_ctx != s->device->cl_ctx) {
      // Another device's context: a user event completed by the marker's callback.
      bridge = clCreateUserEvent(s->device->cl_ctx, &err);
      cl_check(err, "clCreateUserEvent");
      clRetainEvent(bridge);
      err = clSetEventCallback(
          wait, CL_COMPLETE,
          [](cl_event, cl_int status, void* user) {
            auto e = static_cast<cl_event>(user);
            clSetUserEventStatus(e, status < 0 ? status : CL_COMPLETE);
            clReleaseEvent(e);
          },
          bridge);
      if (err != CL_SUCCESS) {
        clReleaseEvent(bridge);
        clReleaseEvent(bridge);
        cl_check(err, "clSetEventCallback");
      }
      wait = bridge;
    }
    cl_event done = nullptr;
    err = clEnqueueBarrierWithWaitList(s->queue, 1, &wait, &done);
    if (bridge != nullptr) clReleaseEvent(bridge);
    cl_check(err, "clEnqueueBarrierWithWaitList");
    s->track(done, "waiting for an event", false);
  });
}

hxrt_plugin_status* event_create(hxrt_event_create_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_event_create_args, event), [&] {
    args->event = nullptr;
    require_non_null(args->device, "device");
    auto event = std::make_unique<hxrt_event>();
    event->device = args->device;
    args->event = event.release();
  });
}

void event_destroy(hxrt_event* event) { delete event; }  // captures live on in waits that hold them

hxrt_plugin_status* event_record(hxrt_event_record_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_event_record_args, stream), [&] {
    require_non_null(args->event, "event");
    require_non_null(args->stream, "stream");
    if (args->stream->device != args->event->device)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "event_record: the stream belongs to another device than the event");
    hxrt_stream* s = args->stream;
    auto capture = std::make_shared<EventCapture>();
    {
      std::lock_guard lock(s->mutex);
      if (s->error) {
        capture->error = s->error;
      } else {
        cl_event marker = nullptr;
        cl_check(clEnqueueMarkerWithWaitList(s->queue, 0, nullptr, &marker), "clEnqueueMarkerWithWaitList");
        capture->marker = marker;
        clFlush(s->queue);  // waiters on other queues must see it submitted
      }
    }
    std::lock_guard lock(args->event->mutex);
    args->event->current = std::move(capture);
  });
}

namespace {
// The error of a capture once its marker is done: the carried one, or the marker's failure.
std::optional<PluginError> capture_error(const EventCapture& c) {
  if (c.error) return c.error;
  if (c.marker == nullptr) return std::nullopt;
  cl_int status = CL_COMPLETE;
  clGetEventInfo(c.marker, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, nullptr);
  if (status < 0)
    return PluginError(HXRT_STATUS_INTERNAL, std::string("work before the event failed: ") + cl_error_name(status));
  return std::nullopt;
}
}  // namespace

hxrt_plugin_status* event_synchronize(hxrt_event* event) {
  std::optional<PluginError> error;
  hxrt_plugin_status* failure = plugin::guard([&] {
    require_non_null(event, "event");
    auto capture = event->get();
    if (capture->marker != nullptr) clWaitForEvents(1, &capture->marker);
    error = capture_error(*capture);
  });
  return failure != nullptr ? failure : error_status(error);
}

hxrt_plugin_status* event_query(hxrt_event_query_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_event_query_args, completed), [&] {
    require_non_null(args->event, "event");
    auto capture = args->event->get();
    cl_int status = CL_COMPLETE;
    if (capture->marker != nullptr)
      clGetEventInfo(capture->marker, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, nullptr);
    args->completed = status <= CL_COMPLETE ? 1 : 0;
  });
}

// A pinned buffer stays mapped for its whole life, and OpenCL leaves reading
// or writing a mapped buffer with enqueue commands undefined (NVIDIA's driver
// indeed misses host writes). Its bytes are the mapping: copies touching it
// wait for the stream's earlier work and then use the mapping directly.
namespace {
char* mapped_bytes(const hxrt_buffer* buffer, uint64_t offset) {
  return buffer->host != nullptr ? static_cast<char*>(buffer->host) + offset : nullptr;
}
}  // namespace

hxrt_plugin_status* copy_to_device(hxrt_copy_to_device_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_copy_to_device_args, size_bytes), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->dst, "dst");
    if (args->size_bytes > 0) require_non_null(args->src, "src");
    check_stream_buffer(args->stream, args->dst, "copy_to_device dst");
    check_range(args->dst_offset, args->size_bytes, args->dst->size, "copy_to_device dst");
    if (args->size_bytes == 0) return;
    hxrt_stream* s = args->stream;
    s->submit([&] {
      if (char* mapped = mapped_bytes(args->dst, args->dst_offset)) {
        cl_check(clFinish(s->queue), "clFinish");
        std::memcpy(mapped, args->src, args->size_bytes);
        return;
      }
      cl_event done = nullptr;
      cl_check(clEnqueueWriteBuffer(s->queue, args->dst->mem, CL_FALSE, args->dst->base + args->dst_offset,
                                    args->size_bytes, args->src, 0, nullptr, &done),
               "clEnqueueWriteBuffer");
      s->track(done, "copy_to_device", false);
    });
  });
}

hxrt_plugin_status* copy_to_host(hxrt_copy_to_host_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_copy_to_host_args, size_bytes), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->src, "src");
    if (args->size_bytes > 0) require_non_null(args->dst, "dst");
    check_stream_buffer(args->stream, args->src, "copy_to_host src");
    check_range(args->src_offset, args->size_bytes, args->src->size, "copy_to_host src");
    if (args->size_bytes == 0) return;
    hxrt_stream* s = args->stream;
    s->submit([&] {
      if (const char* mapped = mapped_bytes(args->src, args->src_offset)) {
        cl_check(clFinish(s->queue), "clFinish");
        std::memcpy(args->dst, mapped, args->size_bytes);
        return;
      }
      cl_event done = nullptr;
      cl_check(clEnqueueReadBuffer(s->queue, args->src->mem, CL_FALSE, args->src->base + args->src_offset,
                                   args->size_bytes, args->dst, 0, nullptr, &done),
               "clEnqueueReadBuffer");
      s->track(done, "copy_to_host", false);
    });
  });
}

hxrt_plugin_status* copy_on_device(hxrt_copy_on_device_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_copy_on_device_args, size_bytes), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->src, "src");
    require_non_null(args->dst, "dst");
    hxrt_stream* s = args->stream;
    check_stream_buffer(s, args->src, "copy_on_device src");
    check_stream_buffer(s, args->dst, "copy_on_device dst");
    check_range(args->src_offset, args->size_bytes, args->src->size, "copy_on_device src");
    check_range(args->dst_offset, args->size_bytes, args->dst->size, "copy_on_device dst");
    if (args->size_bytes == 0) return;
    hxrt_buffer* src = args->src;
    hxrt_buffer* dst = args->dst;
    s->submit([&] {
      char* src_mapped = mapped_bytes(src, args->src_offset);
      char* dst_mapped = mapped_bytes(dst, args->dst_offset);
      if (src_mapped != nullptr || dst_mapped != nullptr) {
        cl_check(clFinish(s->queue), "clFinish");
        if (src_mapped != nullptr && dst_mapped != nullptr) {
          std::memmove(dst_mapped, src_mapped, args->size_bytes);
        } else if (src_mapped != nullptr) {
          cl_command_queue q = dst->device == s->device ? s->queue : dst->device->internal_queue;
          cl_check(clEnqueueWriteBuffer(q, dst->mem, CL_TRUE, dst->base + args->dst_offset, args->size_bytes,
                                        src_mapped, 0, nullptr, nullptr),
                   "clEnqueueWriteBuffer (from pinned)");
        } else {
          cl_command_queue q = src->device == s->device ? s->queue : src->device->internal_queue;
          cl_check(clEnqueueReadBuffer(q, src->mem, CL_TRUE, src->base + args->src_offset, args->size_bytes,
                                       dst_mapped, 0, nullptr, nullptr),
                   "clEnqueueReadBuffer (into pinned)");
        }
        return;
      }
      if (src->device->cl_ctx == s->device->cl_ctx && dst->device->cl_ctx == s->device->cl_ctx) {
        cl_event done = nullptr;
        cl_check(clEnqueueCopyBuffer(s->queue, src->mem, dst->mem, src->base + args->src_offset,
                                     dst->base + args->dst_offset, args->size_bytes, 0, nullptr, &done),
                 "clEnqueueCopyBuffer");
        s->track(done, "copy_on_device", false);
        return;
      }
      // Between devices with separate OpenCL contexts: staged through the
      // host, synchronously (R7.1 allows completing work before returning).
      cl_check(clFinish(s->queue), "clFinish");
      std::vector<uint8_t> staging(args->size_bytes);
      cl_command_queue src_queue = src->device == s->device ? s->queue : src->device->internal_queue;
      cl_command_queue dst_queue = dst->device == s->device ? s->queue : dst->device->internal_queue;
      cl_check(clEnqueueReadBuffer(src_queue, src->mem, CL_TRUE, src->base + args->src_offset, args->size_bytes,
                                   staging.data(), 0, nullptr, nullptr),
               "clEnqueueReadBuffer (staging)");
      cl_check(clEnqueueWriteBuffer(dst_queue, dst->mem, CL_TRUE, dst->base + args->dst_offset, args->size_bytes,
                                    staging.data(), 0, nullptr, nullptr),
               "clEnqueueWriteBuffer (staging)");
    });
  });
}

}  // namespace entry
}  // namespace hxrt::ocl
