// CUDA plugin entry points: buffers (stream-ordered pool, pinned host memory),
// streams and events (CUDA streams and events plus the ABI's sticky-error
// rules), and copies (cudaMemcpyAsync over unified addressing, peer copies
// between devices of the context).
#include <string>

#include "cuda_objects.hpp"

namespace hxrt::cuda {
namespace {

using plugin::require_non_null;

void check_same_context(const hxrt_device* a, const hxrt_device* b, const char* what) {
  if (a->context != b->context)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(what) + " belongs to another context");
}

// `offset + size` within the buffer, computed without overflow (R7.6).
void check_range(const hxrt_buffer* b, uint64_t offset, uint64_t size, const char* what) {
  if (offset > b->size || size > b->size - offset)
    throw PluginError(HXRT_STATUS_OUT_OF_RANGE, std::string(what) + ": " + std::to_string(size) + " bytes at offset " +
                                                    std::to_string(offset) + " lie outside its buffer of " +
                                                    std::to_string(b->size) + " bytes");
}

char* at(hxrt_buffer* b, uint64_t offset) { return static_cast<char*>(b->data) + offset; }

void copy_async(hxrt_stream* stream, void* dst, const void* src, uint64_t size, const char* what) {
  if (size == 0) return;
  enqueue(stream, [&] {
    check_cuda(cudaMemcpyAsync(dst, src, size, cudaMemcpyDefault, stream->stream), what);
  });
}

}  // namespace

namespace entry {

hxrt_plugin_status* buffer_allocate(hxrt_buffer_allocate_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_buffer_allocate_args, buffer), [&] {
    args->buffer = nullptr;
    check_device(args->device);
    hxrt_device* d = args->device;
    if (args->memory_kind != HXRT_MEMORY_DEVICE && args->memory_kind != HXRT_MEMORY_HOST_PINNED)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                        "unknown memory kind " + std::to_string(static_cast<int>(args->memory_kind)));
    auto buffer = std::make_unique<hxrt_buffer>();
    buffer->device = d;
    buffer->size = args->size_bytes;
    buffer->kind = args->memory_kind;
    if (args->size_bytes > 0) {
      if (args->memory_kind == HXRT_MEMORY_DEVICE) {
        if (args->size_bytes > d->memory_bytes)
          throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate " + std::to_string(args->size_bytes) +
                                                                " bytes: the device has " +
                                                                std::to_string(d->memory_bytes));
        std::lock_guard lock(d->alloc_mutex);
        use_device(d->ordinal);
        // Stream-ordered from the pool, then completed: the buffer is usable
        // by any stream as soon as this returns (R4.3).
        cudaError_t e = cudaMallocFromPoolAsync(&buffer->data, args->size_bytes, d->pool, d->alloc_stream);
        if (e == cudaSuccess) e = cudaStreamSynchronize(d->alloc_stream);
        if (e != cudaSuccess) {
          cudaGetLastError();
          if (e == cudaErrorMemoryAllocation)
            throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED,
                              "cannot allocate " + std::to_string(args->size_bytes) + " bytes of device memory");
          throw cuda_error(e, "cudaMallocFromPoolAsync");
        }
      } else {
        use_device(d->ordinal);
        cudaError_t e = cudaHostAlloc(&buffer->data, args->size_bytes, cudaHostAllocPortable | cudaHostAllocMapped);
        if (e != cudaSuccess) {
          cudaGetLastError();
          throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate " + std::to_string(args->size_bytes) +
                                                                " bytes of pinned host memory: " + cudaGetErrorName(e));
        }
      }
    }
    args->buffer = buffer.release();
  });
}

void buffer_destroy(hxrt_buffer* buffer) {
  if (buffer == nullptr) return;
  if (buffer->data != nullptr && cudaSetDevice(buffer->device->ordinal) == cudaSuccess) {
    if (buffer->wrapped_host != nullptr) {
      cudaHostUnregister(buffer->wrapped_host);  // the memory stays the caller's (R4.6)
      cudaGetLastError();
    } else if (buffer->kind == HXRT_MEMORY_DEVICE) {
      std::lock_guard lock(buffer->device->alloc_mutex);
      cudaFreeAsync(buffer->data, buffer->device->alloc_stream);  // back to the pool
    } else {
      cudaFreeHost(buffer->data);
    }
  }
  delete buffer;
}

hxrt_plugin_status* buffer_get_host_pointer(hxrt_buffer_get_host_pointer_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_buffer_get_host_pointer_args, host_pointer), [&] {
    require_non_null(args->buffer, "buffer");
    args->host_pointer = nullptr;
    if (args->buffer->wrapped_host != nullptr) {
      args->host_pointer = args->buffer->wrapped_host;
    } else if (args->buffer->kind == HXRT_MEMORY_HOST_PINNED) {
      // A 0-byte buffer needs some non-NULL pointer; the host never dereferences it.
      static char empty;
      args->host_pointer = args->buffer->data != nullptr ? args->buffer->data : &empty;
    }
  });
}

// Registers caller memory with CUDA (page-locked, mapped): copies to and from it
// run at pinned speed, and kernels may reach it over the bus (R4.6).
hxrt_plugin_status* buffer_wrap_host_memory(hxrt_buffer_wrap_host_memory_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_buffer_wrap_host_memory_args, buffer), [&] {
    args->buffer = nullptr;
    check_device(args->device);
    if (args->size_bytes > 0) require_non_null(args->host_pointer, "host_pointer");
    auto buffer = std::make_unique<hxrt_buffer>();
    buffer->device = args->device;
    buffer->size = args->size_bytes;
    buffer->kind = HXRT_MEMORY_DEVICE;
    if (args->size_bytes > 0) {
      use_device(args->device->ordinal);
      unsigned flags = cudaHostRegisterPortable | cudaHostRegisterMapped;
      if (args->read_only != 0) flags |= cudaHostRegisterReadOnly;
      cudaError_t e = cudaHostRegister(args->host_pointer, args->size_bytes, flags);
      if (e == cudaErrorNotSupported && (flags & cudaHostRegisterReadOnly) != 0) {
        cudaGetLastError();  // read-only registration needs a capable system; plain registration is enough
        e = cudaHostRegister(args->host_pointer, args->size_bytes, flags & ~cudaHostRegisterReadOnly);
      }
      if (e != cudaSuccess) {
        cudaGetLastError();
        throw PluginError(e == cudaErrorHostMemoryAlreadyRegistered ? HXRT_STATUS_FAILED_PRECONDITION
                                                                    : HXRT_STATUS_RESOURCE_EXHAUSTED,
                          "buffer_wrap_host_memory: cudaHostRegister of " + std::to_string(args->size_bytes) +
                              " bytes failed: " + cudaGetErrorName(e));
      }
      void* device_pointer = nullptr;
      e = cudaHostGetDevicePointer(&device_pointer, args->host_pointer, 0);
      if (e != cudaSuccess) {
        cudaGetLastError();
        cudaHostUnregister(args->host_pointer);
        throw cuda_error(e, "cudaHostGetDevicePointer");
      }
      buffer->data = device_pointer;
      buffer->wrapped_host = args->host_pointer;
    }
    args->buffer = buffer.release();
  });
}

hxrt_plugin_status* stream_create(hxrt_stream_create_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_stream_create_args, stream), [&] {
    args->stream = nullptr;
    check_device(args->device);
    auto stream = std::make_unique<hxrt_stream>();
    stream->device = args->device;
    use_device(args->device->ordinal);
    check_cuda(cudaStreamCreateWithFlags(&stream->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    args->stream = stream.release();
  });
}

void stream_destroy(hxrt_stream* stream) {
  if (stream == nullptr) return;
  if (cudaSetDevice(stream->device->ordinal) == cudaSuccess) {
    cudaStreamSynchronize(stream->stream);  // R3.1: finish enqueued work, drop any error
    cudaStreamDestroy(stream->stream);
    cudaGetLastError();
  }
  delete stream;
}

hxrt_plugin_status* stream_synchronize(hxrt_stream* stream) {
  return plugin::guard([&] {
    require_non_null(stream, "stream");
    use_device(stream->device->ordinal);
    cudaError_t e = cudaStreamSynchronize(stream->stream);
    std::optional<PluginError> sticky;
    {
      std::lock_guard lock(stream->mutex);
      sticky.swap(stream->error);  // returned once, then cleared (R7.4)
    }
    if (sticky) throw *sticky;
    if (e != cudaSuccess) throw cuda_error(e, "work on the stream failed");
  });
}

hxrt_plugin_status* stream_wait_event(hxrt_stream_wait_event_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_stream_wait_event_args, event), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->event, "event");
    check_same_context(args->stream->device, args->event->device, "event");
    hxrt_stream* s = args->stream;
    hxrt_event* ev = args->event;
    std::lock_guard lock(s->mutex);
    std::lock_guard event_lock(ev->mutex);
    if (!ev->recorded) return;  // a never-recorded event is complete
    use_device(s->device->ordinal);
    check_cuda(cudaStreamWaitEvent(s->stream, ev->event, 0), "cudaStreamWaitEvent");
    if (ev->error && !s->error) s->error = ev->error;  // the waiting stream inherits (R7.5)
  });
}

hxrt_plugin_status* event_create(hxrt_event_create_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_event_create_args, event), [&] {
    args->event = nullptr;
    check_device(args->device);
    auto ev = std::make_unique<hxrt_event>();
    ev->device = args->device;
    use_device(args->device->ordinal);
    check_cuda(cudaEventCreateWithFlags(&ev->event, cudaEventDisableTiming), "cudaEventCreate");
    args->event = ev.release();
  });
}

void event_destroy(hxrt_event* event) {
  if (event == nullptr) return;
  // CUDA defers the release until waits already enqueued are done (R3.1).
  if (cudaSetDevice(event->device->ordinal) == cudaSuccess) cudaEventDestroy(event->event);
  delete event;
}

hxrt_plugin_status* event_record(hxrt_event_record_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_event_record_args, stream), [&] {
    require_non_null(args->event, "event");
    require_non_null(args->stream, "stream");
    if (args->stream->device != args->event->device)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "event_record: the stream belongs to another device");
    hxrt_stream* s = args->stream;
    hxrt_event* ev = args->event;
    std::lock_guard lock(s->mutex);
    std::lock_guard event_lock(ev->mutex);
    use_device(s->device->ordinal);
    check_cuda(cudaEventRecord(ev->event, s->stream), "cudaEventRecord");
    ev->recorded = true;
    ev->error = s->error;  // the event carries the stream's sticky error (R7.5)
  });
}

hxrt_plugin_status* event_synchronize(hxrt_event* event) {
  return plugin::guard([&] {
    require_non_null(event, "event");
    use_device(event->device->ordinal);
    cudaError_t e = cudaEventSynchronize(event->event);
    std::optional<PluginError> carried;
    {
      std::lock_guard lock(event->mutex);
      carried = event->error;  // kept until the event is recorded again
    }
    if (carried) throw *carried;
    if (e != cudaSuccess) throw cuda_error(e, "work before the event failed");
  });
}

hxrt_plugin_status* event_query(hxrt_event_query_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_event_query_args, completed), [&] {
    require_non_null(args->event, "event");
    use_device(args->event->device->ordinal);
    cudaError_t e = cudaEventQuery(args->event->event);
    // Anything but "not ready" means done; errors surface on synchronize.
    args->completed = e == cudaErrorNotReady ? 0 : 1;
    if (e != cudaSuccess && e != cudaErrorNotReady) cudaGetLastError();
  });
}

hxrt_plugin_status* copy_to_device(hxrt_copy_to_device_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_copy_to_device_args, size_bytes), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->dst, "dst");
    check_same_context(args->stream->device, args->dst->device, "dst");
    check_range(args->dst, args->dst_offset, args->size_bytes, "copy_to_device dst");
    if (args->size_bytes > 0) require_non_null(args->src, "src");
    use_device(args->stream->device->ordinal);
    copy_async(args->stream, at(args->dst, args->dst_offset), args->src, args->size_bytes, "copy_to_device");
  });
}

hxrt_plugin_status* copy_to_host(hxrt_copy_to_host_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_copy_to_host_args, size_bytes), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->src, "src");
    check_same_context(args->stream->device, args->src->device, "src");
    check_range(args->src, args->src_offset, args->size_bytes, "copy_to_host src");
    if (args->size_bytes > 0) require_non_null(args->dst, "dst");
    use_device(args->stream->device->ordinal);
    copy_async(args->stream, args->dst, at(args->src, args->src_offset), args->size_bytes, "copy_to_host");
  });
}

hxrt_plugin_status* copy_on_device(hxrt_copy_on_device_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_copy_on_device_args, size_bytes), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->src, "src");
    require_non_null(args->dst, "dst");
    check_same_context(args->stream->device, args->src->device, "src");
    check_same_context(args->stream->device, args->dst->device, "dst");
    check_range(args->src, args->src_offset, args->size_bytes, "copy_on_device src");
    check_range(args->dst, args->dst_offset, args->size_bytes, "copy_on_device dst");
    use_device(args->stream->device->ordinal);
    void* dst = at(args->dst, args->dst_offset);
    const void* src = at(args->src, args->src_offset);
    if (args->size_bytes == 0) return;
    if (args->src->device != args->dst->device && args->src->kind == HXRT_MEMORY_DEVICE &&
        args->dst->kind == HXRT_MEMORY_DEVICE) {
      // Between two GPUs: a peer copy (direct over NVLink/PCIe when peer access is on).
      enqueue(args->stream, [&] {
        check_cuda(cudaMemcpyPeerAsync(dst, args->dst->device->ordinal, src, args->src->device->ordinal,
                                       args->size_bytes, args->stream->stream),
                   "cudaMemcpyPeerAsync");
      });
    } else {
      copy_async(args->stream, dst, src, args->size_bytes, "copy_on_device");
    }
  });
}

}  // namespace entry
}  // namespace hxrt::cuda
