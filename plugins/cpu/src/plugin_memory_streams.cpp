// CPU plugin entry points: buffers, streams, events and copies.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "plugin_objects.hpp"

namespace hxrt::cpu {
namespace {

using plugin::PluginError;
using plugin::require_non_null;

void check_range(uint64_t offset, uint64_t size, uint64_t buffer_size, const char* what) {
  if (offset > buffer_size || size > buffer_size - offset)
    throw PluginError(HXRT_STATUS_OUT_OF_RANGE, std::string(what) + ": range [" + std::to_string(offset) + ", " +
                                                    std::to_string(offset) + "+" + std::to_string(size) +
                                                    ") lies outside the buffer of " + std::to_string(buffer_size) +
                                                    " bytes");
}

// The address `offset` bytes into `buffer`.
char* at(hxrt_buffer* buffer, uint64_t offset) { return static_cast<char*>(buffer->data) + offset; }

// Copies of at least this many bytes are split across the stream's threads:
// one thread reaches a fraction of the memory bandwidth.
constexpr size_t kParallelCopyBytes = size_t{1} << 20;

// Queues a copy of `size` bytes on `stream` (nothing for 0 bytes). Large
// copies between ranges that do not overlap run in parallel, in 64 KiB-aligned
// slices (the task runs with the stream's OpenMP thread count).
void enqueue_copy(hxrt_stream* stream, void* dst, const void* src, uint64_t size) {
  if (size == 0) return;
  size_t n = static_cast<size_t>(size);
  auto d = reinterpret_cast<uintptr_t>(dst), s = reinterpret_cast<uintptr_t>(src);
  bool overlap = d < s + n && s < d + n;
  if (n < kParallelCopyBytes || overlap || stream->num_threads <= 1) {
    stream->enqueue([dst, src, n] { std::memmove(dst, src, n); });
    return;
  }
  stream->enqueue([dst, src, n] {
    const int threads = omp_get_max_threads();
    const size_t slice = (n / static_cast<size_t>(threads) + 65535) / 65536 * 65536;
    const long slices = static_cast<long>((n + slice - 1) / slice);
#pragma omp parallel for schedule(static)
    for (long i = 0; i < slices; ++i) {
      size_t begin = static_cast<size_t>(i) * slice, length = std::min(slice, n - begin);
      std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin, length);
    }
  });
}

hxrt_plugin_status* error_status(const std::optional<PluginError>& error) {
  if (!error) return nullptr;
  return plugin::make_status(error->code(), error->what());
}

// The body of a blocking wait: `wait()` checks its handle and returns the
// error of the work waited for, if any. A failed check is reported first.
template <typename Wait>
hxrt_plugin_status* wait_status(Wait&& wait) {
  hxrt_plugin_status* result = nullptr;
  hxrt_plugin_status* failure = plugin::guard([&] { result = error_status(wait()); });
  return failure != nullptr ? failure : result;
}

}  // namespace

namespace entry {

// ---------------------------------------------------------------------------
// Buffers.
// ---------------------------------------------------------------------------

hxrt_plugin_status* buffer_allocate(hxrt_buffer_allocate_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_buffer_allocate_args, buffer), [&] {
    check_device(args->device);
    if (args->memory_kind != HXRT_MEMORY_DEVICE && args->memory_kind != HXRT_MEMORY_HOST_PINNED)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "unknown memory kind " + std::to_string(args->memory_kind));
    uint64_t size = args->size_bytes;
    uint64_t limit = args->device->memory_bytes;
    if ((limit != 0 && size > limit) || size > std::numeric_limits<size_t>::max() - kAlignment)
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate " + std::to_string(size) +
                                                            " bytes: more than the host's physical memory");
    auto buffer = std::make_unique<hxrt_buffer>();
    buffer->device = args->device;
    buffer->size = size;
    // aligned_alloc needs a multiple of the alignment; a 0-byte buffer still gets a valid pointer.
    size_t rounded = std::max<size_t>(kAlignment, align_up(static_cast<size_t>(size)));
    buffer->data = std::aligned_alloc(kAlignment, rounded);
    if (buffer->data == nullptr)
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate " + std::to_string(size) + " bytes");
    args->buffer = buffer.release();
  });
}

void buffer_destroy(hxrt_buffer* buffer) { delete buffer; }

hxrt_plugin_status* buffer_get_host_pointer(hxrt_buffer_get_host_pointer_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_buffer_get_host_pointer_args, host_pointer), [&] {
    require_non_null(args->buffer, "buffer");
    args->host_pointer = args->buffer->data;
  });
}

// Zero-copy (R4.6): device memory is host memory, so the buffer is the
// caller's memory itself. Nothing to register; destroying it frees nothing.
hxrt_plugin_status* buffer_wrap_host_memory(hxrt_buffer_wrap_host_memory_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_buffer_wrap_host_memory_args, buffer), [&] {
    args->buffer = nullptr;
    check_device(args->device);
    if (args->size_bytes > 0) require_non_null(args->host_pointer, "host_pointer");
    auto buffer = std::make_unique<hxrt_buffer>();
    buffer->device = args->device;
    buffer->size = args->size_bytes;
    buffer->owned = false;
    static char empty;  // a 0-byte buffer still has a valid pointer
    buffer->data = args->host_pointer != nullptr ? args->host_pointer : &empty;
    args->buffer = buffer.release();
  });
}

// ---------------------------------------------------------------------------
// Streams and events.
// ---------------------------------------------------------------------------

hxrt_plugin_status* stream_create(hxrt_stream_create_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_stream_create_args, stream), [&] {
    check_device(args->device);
    auto stream = std::make_unique<hxrt_stream>();
    stream->device = args->device;
    stream->num_threads = args->device->context->num_threads;
    args->stream = stream.release();
  });
}

void stream_destroy(hxrt_stream* stream) { delete stream; }

hxrt_plugin_status* stream_synchronize(hxrt_stream* stream) {
  return wait_status([&] {
    require_non_null(stream, "stream");
    return stream->stream.synchronize();
  });
}

hxrt_plugin_status* stream_wait_event(hxrt_stream_wait_event_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_stream_wait_event_args, event), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->event, "event");
    args->stream->stream.wait_for(args->event->event);
  });
}

hxrt_plugin_status* event_create(hxrt_event_create_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_event_create_args, event), [&] {
    check_device(args->device);
    auto event = std::make_unique<hxrt_event>();
    event->device = args->device;
    args->event = event.release();
  });
}

void event_destroy(hxrt_event* event) { delete event; }

hxrt_plugin_status* event_record(hxrt_event_record_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_event_record_args, stream), [&] {
    require_non_null(args->event, "event");
    require_non_null(args->stream, "stream");
    args->stream->stream.record(args->event->event);
  });
}

hxrt_plugin_status* event_synchronize(hxrt_event* event) {
  return wait_status([&] {
    require_non_null(event, "event");
    return event->event.current()->wait();
  });
}

hxrt_plugin_status* event_query(hxrt_event_query_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_event_query_args, completed), [&] {
    require_non_null(args->event, "event");
    args->completed = args->event->event.current()->is_complete() ? 1 : 0;
  });
}

// ---------------------------------------------------------------------------
// Copies (asynchronous, in stream order).
// ---------------------------------------------------------------------------

hxrt_plugin_status* copy_to_device(hxrt_copy_to_device_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_copy_to_device_args, size_bytes), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->dst, "dst");
    if (args->size_bytes > 0) require_non_null(args->src, "src");
    check_range(args->dst_offset, args->size_bytes, args->dst->size, "copy_to_device dst");
    enqueue_copy(args->stream, at(args->dst, args->dst_offset), args->src, args->size_bytes);
  });
}

hxrt_plugin_status* copy_to_host(hxrt_copy_to_host_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_copy_to_host_args, size_bytes), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->src, "src");
    if (args->size_bytes > 0) require_non_null(args->dst, "dst");
    check_range(args->src_offset, args->size_bytes, args->src->size, "copy_to_host src");
    enqueue_copy(args->stream, args->dst, at(args->src, args->src_offset), args->size_bytes);
  });
}

hxrt_plugin_status* copy_on_device(hxrt_copy_on_device_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_copy_on_device_args, size_bytes), [&] {
    require_non_null(args->stream, "stream");
    require_non_null(args->src, "src");
    require_non_null(args->dst, "dst");
    check_range(args->src_offset, args->size_bytes, args->src->size, "copy_on_device src");
    check_range(args->dst_offset, args->size_bytes, args->dst->size, "copy_on_device dst");
    enqueue_copy(args->stream, at(args->dst, args->dst_offset), at(args->src, args->src_offset), args->size_bytes);
  });
}

}  // namespace entry
}  // namespace hxrt::cpu
