/* hxrt plugin template: a minimal, complete device plugin in plain C11.
 *
 * Copy this file, rename it, and replace the parts marked "VENDOR:" with calls
 * into your driver. docs/abi.md is the normative spec; the comments cite its
 * rules (R1.1, ...). README.md in this directory lists what to rename.
 *
 * What the template does:
 *   - one device, "template-cpu", whose memory is ordinary host memory;
 *   - synchronous streams: work has finished when the enqueue call returns
 *     (allowed by R7), so an event is complete as soon as it is recorded;
 *   - five float32 ops on the host CPU with plain loops: Add and Mul (same
 *     shape, or one operand with a single element), Relu, MatMul (2-D) and
 *     Softmax (last axis).
 *
 * Every entry point checks its arguments (NULL, struct_size, handle kind) and
 * answers INVALID_ARGUMENT instead of crashing (R3.3). Only the entry symbol
 * hxrt_plugin_negotiate is exported (R1.1); everything else is static.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "hxrt/plugin_abi.h"

/* VENDOR: rename these. The identity name should match the file name
 * libhxrt_<name>.so (R9). */
#define TPL_NAME "template"
#define TPL_VERSION "0.1.0"
#define TPL_DEVICE_NAME "template-cpu"
#define TPL_VENDOR "hxrt sample"
#define TPL_DEFAULT_MEMORY_BYTES (1024ull * 1024ull * 1024ull) /* option "memory_bytes" overrides */
#define TPL_ALIGNMENT 64u   /* buffer start alignment (R4.3) */
#define TPL_MAX_OPSET 23    /* newest opset whose Add/Mul/Relu/MatMul/Softmax we know */

#if defined(__GNUC__)
#define TPL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TPL_PRINTF(f, a)
#endif
#define TPL_STR2(x) #x
#define TPL_STR(x) TPL_STR2(x)

/* ======================================================================== */
/* Status objects (R3.2)                                                     */
/* ======================================================================== */

struct hxrt_plugin_status {
  hxrt_status_code code;
  const char* message; /* points just past the struct, same allocation */
};

/* Returned when even the status cannot be allocated: a failure must never be
 * reported as NULL (= success). status_destroy knows not to free it. */
static hxrt_plugin_status g_out_of_memory = {HXRT_STATUS_RESOURCE_EXHAUSTED,
                                             "out of host memory (while reporting an error)"};

static hxrt_plugin_status* status_new(hxrt_status_code code, const char* format, ...) TPL_PRINTF(2, 3);
static hxrt_plugin_status* status_new(hxrt_status_code code, const char* format, ...) {
  char text[512];
  va_list ap;
  va_start(ap, format);
  vsnprintf(text, sizeof text, format, ap);
  va_end(ap);
  size_t n = strlen(text);
  hxrt_plugin_status* status = malloc(sizeof *status + n + 1);
  if (status == NULL) return &g_out_of_memory;
  char* copy = (char*)(status + 1);
  memcpy(copy, text, n + 1);
  status->code = code;
  status->message = copy;
  return status;
}

#define INVALID(...) status_new(HXRT_STATUS_INVALID_ARGUMENT, __VA_ARGS__)
#define NO_MEMORY() status_new(HXRT_STATUS_RESOURCE_EXHAUSTED, "out of host memory")

static hxrt_status_code api_status_get_code(const hxrt_plugin_status* s) { return s ? s->code : HXRT_STATUS_OK; }
static const char* api_status_get_message(const hxrt_plugin_status* s) { return s ? s->message : ""; }
static void api_status_destroy(hxrt_plugin_status* s) {
  if (s != NULL && s != &g_out_of_memory) free(s);
}

/* An error remembered by a stream (sticky) or an event (carried), R7. */
typedef struct tpl_error {
  hxrt_status_code code; /* HXRT_STATUS_OK: no error */
  char message[256];
} tpl_error;

static void error_take(tpl_error* error, hxrt_plugin_status* status) { /* consumes `status` */
  error->code = status->code;
  snprintf(error->message, sizeof error->message, "%s", status->message);
  api_status_destroy(status);
}
static hxrt_plugin_status* error_report(const tpl_error* error) {
  return error->code == HXRT_STATUS_OK ? NULL : status_new(error->code, "%s", error->message);
}

/* R2.3 / R3.3: an args struct must be non-NULL and carry every ABI 1.0 field
 * (`last` is its last 1.0 field). VENDOR: keep `last` at the 1.0 field when you
 * move to newer headers, and test newer fields with HXRT_STRUCT_HAS_FIELD. */
#define REQUIRE_ARGS(args, type, last)                                                              \
  do {                                                                                              \
    if ((args) == NULL) return INVALID(#type " pointer is NULL");                                   \
    if (!HXRT_STRUCT_HAS_FIELD((args)->struct_size, type, last))                                    \
      return INVALID(#type ".struct_size is %zu, smaller than ABI 1.0's %zu", (args)->struct_size, \
                     offsetof(type, last) + sizeof((args)->last));                                  \
  } while (0)

/* R2.4: write an output field only when the caller's struct has room for it. */
#define SET_OUT(p, type, field, value) \
  do {                                 \
    if (HXRT_STRUCT_HAS_FIELD((p)->struct_size, type, field)) (p)->field = (value); \
  } while (0)

/* ======================================================================== */
/* Objects (R3.1). Each starts with a magic number so that a NULL, foreign  */
/* or destroyed handle is answered with INVALID_ARGUMENT where we can tell.  */
/* ======================================================================== */

enum { MAGIC_DEAD = 0, MAGIC_CONTEXT = 0x7A01, MAGIC_DEVICE, MAGIC_BUFFER, MAGIC_STREAM, MAGIC_EVENT, MAGIC_EXECUTABLE };

struct hxrt_device {
  unsigned magic;
  hxrt_plugin_context* context;
  uint64_t memory_bytes;    /* capacity, reported (R4.2) and enforced (R4.3) */
  mtx_t mutex;              /* guards allocated_bytes */
  uint64_t allocated_bytes; /* DEVICE buffers currently allocated */
};

struct hxrt_plugin_context {
  unsigned magic;
  hxrt_log_fn logger; /* may be NULL: then we log nothing (R8.1) */
  void* logger_user_data;
  hxrt_device device;       /* VENDOR: one per physical device found */
  hxrt_device* devices[1];  /* the array context_get_devices hands out */
};

struct hxrt_buffer {
  unsigned magic;
  hxrt_device* device;
  hxrt_memory_kind kind;
  uint64_t size;
  void* data; /* VENDOR: your device pointer / allocation handle */
};

struct hxrt_stream {
  unsigned magic;
  hxrt_device* device;
  mtx_t mutex;     /* serialises work on the stream: it is in-order (R7) */
  tpl_error error; /* sticky until stream_synchronize reports it */
};

struct hxrt_event {
  unsigned magic;
  hxrt_device* device;
  mtx_t mutex;
  tpl_error error; /* the recording stream's error at the record point */
};

#define VALID(p, m) ((p) != NULL && (p)->magic == (m))
#define REQUIRE_HANDLE(p, m, what) \
  do {                             \
    if (!VALID(p, m)) return INVALID("%s is NULL or not a live " TPL_NAME " handle", what); \
  } while (0)

static void tpl_log(const hxrt_plugin_context* ctx, hxrt_log_level level, const char* format, ...) TPL_PRINTF(3, 4);
static void tpl_log(const hxrt_plugin_context* ctx, hxrt_log_level level, const char* format, ...) {
  if (ctx == NULL || ctx->logger == NULL) return;
  char text[512];
  va_list ap;
  va_start(ap, format);
  vsnprintf(text, sizeof text, format, ap);
  va_end(ap);
  ctx->logger(ctx->logger_user_data, level, text); /* R8.1: valid only during the call */
}

/* ======================================================================== */
/* Context and devices (R4.1, R4.2, R8.2)                                    */
/* ======================================================================== */

static int parse_u64(const char* text, uint64_t* out) {
  if (text[0] < '0' || text[0] > '9') return 0; /* strtoull would accept "-1" */
  char* end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0') return 0;
  *out = value;
  return 1;
}

static hxrt_plugin_status* api_context_create(hxrt_context_create_args* args) {
  REQUIRE_ARGS(args, hxrt_context_create_args, context);
  args->context = NULL;
  if (args->num_options > 0 && (args->option_keys == NULL || args->option_values == NULL))
    return INVALID("option_keys/option_values are NULL but num_options is %zu", args->num_options);
  hxrt_plugin_context* ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL) return NO_MEMORY();
  ctx->logger = args->logger;
  ctx->logger_user_data = args->logger_user_data;

  uint64_t memory_bytes = TPL_DEFAULT_MEMORY_BYTES;
  for (size_t i = 0; i < args->num_options; ++i) { /* R8.2 */
    const char* key = args->option_keys[i];
    const char* value = args->option_values[i];
    if (key == NULL || value == NULL) {
      free(ctx);
      return INVALID("option %zu has a NULL key or value", i);
    }
    if (strcmp(key, "memory_bytes") == 0) {
      if (!parse_u64(value, &memory_bytes) || memory_bytes == 0) {
        free(ctx);
        return INVALID("option memory_bytes=\"%s\" is not a positive integer", value);
      }
    } else {
      tpl_log(ctx, HXRT_LOG_WARNING, "ignoring unknown option \"%s\"", key);
    }
  }

  /* VENDOR: open the driver and enumerate devices here. Finding none is not an
   * error: report zero devices and log why (R4.1). */
  hxrt_device* dev = &ctx->device;
  if (mtx_init(&dev->mutex, mtx_plain) != thrd_success) {
    free(ctx);
    return status_new(HXRT_STATUS_INTERNAL, "mtx_init failed");
  }
  dev->magic = MAGIC_DEVICE;
  dev->context = ctx;
  dev->memory_bytes = memory_bytes;
  ctx->devices[0] = dev;
  ctx->magic = MAGIC_CONTEXT;
  tpl_log(ctx, HXRT_LOG_INFO, "context created: device %s with %" PRIu64 " bytes", TPL_DEVICE_NAME, memory_bytes);
  args->context = ctx;
  return NULL;
}

/* R3.1: the host destroys every buffer, stream, event and executable first. */
static void api_context_destroy(hxrt_plugin_context* ctx) {
  if (!VALID(ctx, MAGIC_CONTEXT)) return;
  mtx_destroy(&ctx->device.mutex);
  ctx->device.magic = MAGIC_DEAD;
  ctx->magic = MAGIC_DEAD;
  free(ctx);
}

static hxrt_plugin_status* api_context_get_devices(hxrt_context_get_devices_args* args) {
  REQUIRE_ARGS(args, hxrt_context_get_devices_args, devices);
  REQUIRE_HANDLE(args->context, MAGIC_CONTEXT, "context");
  args->num_devices = 1; /* same handles on every call (R4.1) */
  args->devices = args->context->devices;
  return NULL;
}

static hxrt_plugin_status* api_device_get_properties(hxrt_device_get_properties_args* args) {
  REQUIRE_ARGS(args, hxrt_device_get_properties_args, properties);
  REQUIRE_HANDLE(args->device, MAGIC_DEVICE, "device");
  hxrt_device_properties* p = args->properties;
  if (p == NULL) return INVALID("properties is NULL");
  /* VENDOR: report your hardware. Hints are 0 when unknown. */
  SET_OUT(p, hxrt_device_properties, name, TPL_DEVICE_NAME);
  SET_OUT(p, hxrt_device_properties, vendor, TPL_VENDOR);
  SET_OUT(p, hxrt_device_properties, kind, HXRT_DEVICE_KIND_CPU);
  SET_OUT(p, hxrt_device_properties, memory_bytes, args->device->memory_bytes);
  SET_OUT(p, hxrt_device_properties, peak_flops_f32, 2e9);             /* naive loops */
  SET_OUT(p, hxrt_device_properties, memory_bandwidth_bytes_per_s, 1e10);
  SET_OUT(p, hxrt_device_properties, host_addressable, 1);             /* R4.5 */
  SET_OUT(p, hxrt_device_properties, driver_version, "");
  SET_OUT(p, hxrt_device_properties, compute_units, 1u);
  return NULL;
}

/* R6.1: time(bytes) = latency_ns + bytes / bandwidth, per direction. */
static hxrt_plugin_status* api_device_get_transfer_costs(hxrt_device_get_transfer_costs_args* args) {
  REQUIRE_ARGS(args, hxrt_device_get_transfer_costs_args, costs);
  REQUIRE_HANDLE(args->device, MAGIC_DEVICE, "device");
  hxrt_transfer_costs* c = args->costs;
  if (c == NULL) return INVALID("costs is NULL");
  const hxrt_link_cost memcpy_cost = {200.0, 1e10}; /* VENDOR: measure your links */
  SET_OUT(c, hxrt_transfer_costs, host_to_device_pageable, memcpy_cost);
  SET_OUT(c, hxrt_transfer_costs, host_to_device_pinned, memcpy_cost);
  SET_OUT(c, hxrt_transfer_costs, device_to_host_pageable, memcpy_cost);
  SET_OUT(c, hxrt_transfer_costs, device_to_host_pinned, memcpy_cost);
  SET_OUT(c, hxrt_transfer_costs, device_to_device, memcpy_cost);
  return NULL;
}

/* ======================================================================== */
/* Buffers (R4.3 - R4.5)                                                     */
/* ======================================================================== */

static hxrt_plugin_status* api_buffer_allocate(hxrt_buffer_allocate_args* args) {
  REQUIRE_ARGS(args, hxrt_buffer_allocate_args, buffer);
  args->buffer = NULL;
  hxrt_device* dev = args->device;
  REQUIRE_HANDLE(dev, MAGIC_DEVICE, "device");
  hxrt_memory_kind kind = args->memory_kind;
  if (kind != HXRT_MEMORY_DEVICE && kind != HXRT_MEMORY_HOST_PINNED)
    return INVALID("unknown memory_kind %d", (int)kind);
  uint64_t size = args->size_bytes;
  /* Capacity is enforced for DEVICE memory only; pinned memory is host memory. */
  if (kind == HXRT_MEMORY_DEVICE) {
    mtx_lock(&dev->mutex);
    uint64_t in_use = dev->allocated_bytes;
    int fits = size <= dev->memory_bytes - in_use;
    if (fits) dev->allocated_bytes += size;
    mtx_unlock(&dev->mutex);
    if (!fits)
      return status_new(HXRT_STATUS_RESOURCE_EXHAUSTED,
                        "cannot allocate %" PRIu64 " bytes on %s: %" PRIu64 " of %" PRIu64 " bytes in use", size,
                        TPL_DEVICE_NAME, in_use, dev->memory_bytes);
  }
  hxrt_buffer* buf = NULL;
  void* data = NULL;
  if (size <= SIZE_MAX - TPL_ALIGNMENT) {
    /* aligned_alloc wants a multiple of the alignment; size 0 still gets a
     * real, usable (empty) allocation. */
    size_t rounded = ((size_t)size + TPL_ALIGNMENT - 1) / TPL_ALIGNMENT * TPL_ALIGNMENT;
    data = aligned_alloc(TPL_ALIGNMENT, rounded == 0 ? TPL_ALIGNMENT : rounded);
    buf = malloc(sizeof *buf);
  }
  if (data == NULL || buf == NULL) {
    free(data);
    free(buf);
    if (kind == HXRT_MEMORY_DEVICE) {
      mtx_lock(&dev->mutex);
      dev->allocated_bytes -= size;
      mtx_unlock(&dev->mutex);
    }
    return status_new(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate %" PRIu64 " bytes of host memory", size);
  }
  buf->magic = MAGIC_BUFFER;
  buf->device = dev;
  buf->kind = kind;
  buf->size = size;
  buf->data = data;
  args->buffer = buf;
  return NULL;
}

static void api_buffer_destroy(hxrt_buffer* buf) {
  if (!VALID(buf, MAGIC_BUFFER)) return;
  if (buf->kind == HXRT_MEMORY_DEVICE) {
    mtx_lock(&buf->device->mutex);
    buf->device->allocated_bytes -= buf->size;
    mtx_unlock(&buf->device->mutex);
  }
  free(buf->data);
  buf->magic = MAGIC_DEAD;
  free(buf);
}

static hxrt_plugin_status* api_buffer_get_host_pointer(hxrt_buffer_get_host_pointer_args* args) {
  REQUIRE_ARGS(args, hxrt_buffer_get_host_pointer_args, host_pointer);
  REQUIRE_HANDLE(args->buffer, MAGIC_BUFFER, "buffer");
  args->host_pointer = args->buffer->data; /* host_addressable = 1: always mappable */
  return NULL;
}

/* ======================================================================== */
/* Streams and events (R7)                                                   */
/* ======================================================================== */

static hxrt_plugin_status* api_stream_create(hxrt_stream_create_args* args) {
  REQUIRE_ARGS(args, hxrt_stream_create_args, stream);
  args->stream = NULL;
  REQUIRE_HANDLE(args->device, MAGIC_DEVICE, "device");
  hxrt_stream* s = calloc(1, sizeof *s);
  if (s == NULL) return NO_MEMORY();
  if (mtx_init(&s->mutex, mtx_plain) != thrd_success) {
    free(s);
    return status_new(HXRT_STATUS_INTERNAL, "mtx_init failed");
  }
  s->magic = MAGIC_STREAM;
  s->device = args->device;
  args->stream = s;
  return NULL;
}

/* Pending work is finished first (trivially here); a sticky error is dropped. */
static void api_stream_destroy(hxrt_stream* s) {
  if (!VALID(s, MAGIC_STREAM)) return;
  mtx_destroy(&s->mutex);
  s->magic = MAGIC_DEAD;
  free(s);
}

/* One piece of work for a stream. Returns NULL or the status it failed with. */
typedef hxrt_plugin_status* (*tpl_work_fn)(void* work);

/* Runs `fn(work)` in order on the stream. After a failure, later work is
 * skipped and the error stays on the stream until stream_synchronize reports
 * it (R7). VENDOR: a real device would push the work to its queue and return
 * at once; note the error when the device reports that the work failed. The
 * enqueue call itself still returns NULL: an execution failure belongs to the
 * stream, not to the call (R7). */
static void stream_submit(hxrt_stream* s, tpl_work_fn fn, void* work) {
  mtx_lock(&s->mutex);
  if (s->error.code == HXRT_STATUS_OK) {
    hxrt_plugin_status* status = fn(work);
    if (status != NULL) error_take(&s->error, status);
  }
  mtx_unlock(&s->mutex);
}

static hxrt_plugin_status* api_stream_synchronize(hxrt_stream* s) {
  REQUIRE_HANDLE(s, MAGIC_STREAM, "stream");
  mtx_lock(&s->mutex); /* VENDOR: wait for the device queue to drain here */
  hxrt_plugin_status* status = error_report(&s->error);
  s->error.code = HXRT_STATUS_OK; /* reported once, then the stream is usable again */
  mtx_unlock(&s->mutex);
  return status;
}

static hxrt_plugin_status* api_event_create(hxrt_event_create_args* args) {
  REQUIRE_ARGS(args, hxrt_event_create_args, event);
  args->event = NULL;
  REQUIRE_HANDLE(args->device, MAGIC_DEVICE, "device");
  hxrt_event* e = calloc(1, sizeof *e); /* never recorded = complete, no error */
  if (e == NULL) return NO_MEMORY();
  if (mtx_init(&e->mutex, mtx_plain) != thrd_success) {
    free(e);
    return status_new(HXRT_STATUS_INTERNAL, "mtx_init failed");
  }
  e->magic = MAGIC_EVENT;
  e->device = args->device;
  args->event = e;
  return NULL;
}

static void api_event_destroy(hxrt_event* e) {
  if (!VALID(e, MAGIC_EVENT)) return;
  mtx_destroy(&e->mutex);
  e->magic = MAGIC_DEAD;
  free(e);
}

/* Work before this point has already run, so the event is complete at once and
 * carries the stream's error at this point. Lock order: stream, then event. */
static hxrt_plugin_status* api_event_record(hxrt_event_record_args* args) {
  REQUIRE_ARGS(args, hxrt_event_record_args, stream);
  REQUIRE_HANDLE(args->event, MAGIC_EVENT, "event");
  REQUIRE_HANDLE(args->stream, MAGIC_STREAM, "stream");
  if (args->event->device != args->stream->device)
    return INVALID("event and stream belong to different devices");
  mtx_lock(&args->stream->mutex);
  mtx_lock(&args->event->mutex);
  args->event->error = args->stream->error;
  mtx_unlock(&args->event->mutex);
  mtx_unlock(&args->stream->mutex);
  return NULL;
}

/* A stream waiting on a failed event inherits its error (R7). */
static hxrt_plugin_status* api_stream_wait_event(hxrt_stream_wait_event_args* args) {
  REQUIRE_ARGS(args, hxrt_stream_wait_event_args, event);
  REQUIRE_HANDLE(args->stream, MAGIC_STREAM, "stream");
  REQUIRE_HANDLE(args->event, MAGIC_EVENT, "event");
  if (args->event->device->context != args->stream->device->context)
    return INVALID("event and stream belong to different contexts");
  mtx_lock(&args->event->mutex);
  tpl_error carried = args->event->error;
  mtx_unlock(&args->event->mutex);
  mtx_lock(&args->stream->mutex);
  if (args->stream->error.code == HXRT_STATUS_OK && carried.code != HXRT_STATUS_OK) args->stream->error = carried;
  mtx_unlock(&args->stream->mutex);
  return NULL;
}

static hxrt_plugin_status* api_event_synchronize(hxrt_event* e) {
  REQUIRE_HANDLE(e, MAGIC_EVENT, "event");
  mtx_lock(&e->mutex);
  hxrt_plugin_status* status = error_report(&e->error); /* the carried error, each time */
  mtx_unlock(&e->mutex);
  return status;
}

static hxrt_plugin_status* api_event_query(hxrt_event_query_args* args) {
  REQUIRE_ARGS(args, hxrt_event_query_args, completed);
  REQUIRE_HANDLE(args->event, MAGIC_EVENT, "event");
  args->completed = 1; /* synchronous streams: recorded work is always done */
  return NULL;
}

/* ======================================================================== */
/* Copies (R7): bounds-checked before anything is enqueued                   */
/* ======================================================================== */

typedef struct copy_work {
  void* dst;
  const void* src;
  size_t size;
} copy_work;

static hxrt_plugin_status* run_copy(void* work) {
  copy_work* c = work;
  if (c->size > 0) memmove(c->dst, c->src, c->size);
  return NULL;
}

static hxrt_plugin_status* check_range(const hxrt_buffer* b, uint64_t offset, uint64_t size, const char* what) {
  if (offset > b->size || size > b->size - offset)
    return status_new(HXRT_STATUS_OUT_OF_RANGE,
                      "%s: %" PRIu64 " bytes at offset %" PRIu64 " lie outside its buffer of %" PRIu64 " bytes", what,
                      size, offset, b->size);
  return NULL;
}

static hxrt_plugin_status* check_copy_stream(const hxrt_stream* s, const hxrt_buffer* b) {
  if (b->device->context != s->device->context) return INVALID("buffer and stream belong to different contexts");
  return NULL;
}

static hxrt_plugin_status* api_copy_to_device(hxrt_copy_to_device_args* args) {
  REQUIRE_ARGS(args, hxrt_copy_to_device_args, size_bytes);
  REQUIRE_HANDLE(args->stream, MAGIC_STREAM, "stream");
  REQUIRE_HANDLE(args->dst, MAGIC_BUFFER, "dst");
  if (args->src == NULL && args->size_bytes > 0) return INVALID("src is NULL");
  hxrt_plugin_status* st = check_copy_stream(args->stream, args->dst);
  if (st == NULL) st = check_range(args->dst, args->dst_offset, args->size_bytes, "copy_to_device dst");
  if (st != NULL) return st;
  copy_work w = {(char*)args->dst->data + args->dst_offset, args->src, (size_t)args->size_bytes};
  stream_submit(args->stream, run_copy, &w);
  return NULL;
}

static hxrt_plugin_status* api_copy_to_host(hxrt_copy_to_host_args* args) {
  REQUIRE_ARGS(args, hxrt_copy_to_host_args, size_bytes);
  REQUIRE_HANDLE(args->stream, MAGIC_STREAM, "stream");
  REQUIRE_HANDLE(args->src, MAGIC_BUFFER, "src");
  if (args->dst == NULL && args->size_bytes > 0) return INVALID("dst is NULL");
  hxrt_plugin_status* st = check_copy_stream(args->stream, args->src);
  if (st == NULL) st = check_range(args->src, args->src_offset, args->size_bytes, "copy_to_host src");
  if (st != NULL) return st;
  copy_work w = {args->dst, (const char*)args->src->data + args->src_offset, (size_t)args->size_bytes};
  stream_submit(args->stream, run_copy, &w);
  return NULL;
}

static hxrt_plugin_status* api_copy_on_device(hxrt_copy_on_device_args* args) {
  REQUIRE_ARGS(args, hxrt_copy_on_device_args, size_bytes);
  REQUIRE_HANDLE(args->stream, MAGIC_STREAM, "stream");
  REQUIRE_HANDLE(args->src, MAGIC_BUFFER, "src");
  REQUIRE_HANDLE(args->dst, MAGIC_BUFFER, "dst");
  hxrt_plugin_status* st = check_copy_stream(args->stream, args->src);
  if (st == NULL) st = check_copy_stream(args->stream, args->dst);
  if (st == NULL) st = check_range(args->src, args->src_offset, args->size_bytes, "copy_on_device src");
  if (st == NULL) st = check_range(args->dst, args->dst_offset, args->size_bytes, "copy_on_device dst");
  if (st != NULL) return st;
  copy_work w = {(char*)args->dst->data + args->dst_offset, (const char*)args->src->data + args->src_offset,
                 (size_t)args->size_bytes};
  stream_submit(args->stream, run_copy, &w);
  return NULL;
}

/* ======================================================================== */
/* Ops: what we support and how to run one node (R5)                         */
/* ======================================================================== */

typedef enum tpl_op { OP_ADD, OP_MUL, OP_RELU, OP_MATMUL, OP_SOFTMAX } tpl_op;

static const struct {
  const char* op_type;
  tpl_op op;
  int min_opset; /* oldest opset with today's semantics */
  size_t num_inputs;
} g_ops[] = {
    {"Add", OP_ADD, 7, 2}, {"Mul", OP_MUL, 7, 2}, {"Relu", OP_RELU, 6, 1},
    {"MatMul", OP_MATMUL, 1, 2}, {"Softmax", OP_SOFTMAX, 1, 1},
};

/* The answer for one node, and what a kernel needs to run it. */
typedef struct tpl_plan {
  int supported;
  hxrt_support_reason reason;
  char message[256];
  double estimated_ns;
  tpl_op op;
  int64_t numel_in[2], numel_out; /* element counts */
  int64_t m, k, n;                /* MatMul [m,k]x[k,n]; Softmax: m rows of n */
} tpl_plan;

#define UNSUPPORTED(plan, why, ...)                                     \
  do {                                                                  \
    (plan)->reason = (why);                                             \
    snprintf((plan)->message, sizeof (plan)->message, __VA_ARGS__);     \
    return NULL;                                                        \
  } while (0)

static const char* dtype_name(hxrt_dtype t) {
  switch (t) {
    case HXRT_DTYPE_FLOAT32: return "float32";
    case HXRT_DTYPE_FLOAT16: return "float16";
    case HXRT_DTYPE_BFLOAT16: return "bfloat16";
    case HXRT_DTYPE_FLOAT64: return "float64";
    case HXRT_DTYPE_INT8: return "int8";
    case HXRT_DTYPE_INT32: return "int32";
    case HXRT_DTYPE_INT64: return "int64";
    case HXRT_DTYPE_BOOL: return "bool";
    default: return "this dtype";
  }
}

/* A tensor descriptor must be large enough and have sane dims (R5.1). */
static hxrt_plugin_status* check_tensor(const hxrt_tensor_desc* t, const char* what, size_t index) {
  if (t == NULL) return INVALID("%s %zu is NULL", what, index);
  if (!HXRT_STRUCT_HAS_FIELD(t->struct_size, hxrt_tensor_desc, constant_size_bytes))
    return INVALID("%s %zu: hxrt_tensor_desc.struct_size %zu is too small", what, index, t->struct_size);
  if (t->rank > 0 && t->dims == NULL) return INVALID("%s %zu: dims is NULL", what, index);
  for (size_t d = 0; d < t->rank; ++d)
    if (t->dims[d] < 0) return INVALID("%s %zu: dimension %zu is negative", what, index, d);
  return NULL;
}

/* Element count, or -1 if it overflows. */
static int64_t numel(const hxrt_tensor_desc* t) {
  int64_t n = 1;
  for (size_t d = 0; d < t->rank; ++d) {
    if (t->dims[d] != 0 && n > INT64_MAX / 8 / t->dims[d]) return -1; /* keep bytes in range too */
    n *= t->dims[d];
  }
  return n;
}

static int same_shape(const hxrt_tensor_desc* a, const hxrt_tensor_desc* b) {
  if (a->rank != b->rank) return 0;
  for (size_t d = 0; d < a->rank; ++d)
    if (a->dims[d] != b->dims[d]) return 0;
  return 1;
}

/* Examines `node`. Returns a status only for a malformed descriptor; otherwise
 * fills `plan` (supported or not, with a reason). Pure: no side effects (R5.3). */
static hxrt_plugin_status* plan_node(const hxrt_node_desc* node, tpl_plan* plan) {
  memset(plan, 0, sizeof *plan);
  if (node == NULL) return INVALID("node descriptor is NULL");
  if (!HXRT_STRUCT_HAS_FIELD(node->struct_size, hxrt_node_desc, outputs))
    return INVALID("hxrt_node_desc.struct_size %zu is too small", node->struct_size);
  if (node->domain == NULL || node->op_type == NULL) return INVALID("node domain or op_type is NULL");
  if ((node->num_inputs > 0 && node->inputs == NULL) || (node->num_outputs > 0 && node->outputs == NULL) ||
      (node->num_attributes > 0 && node->attributes == NULL))
    return INVALID("node %s: an inputs/outputs/attributes array is NULL", node->op_type);
  hxrt_plugin_status* st = NULL;
  for (size_t i = 0; i < node->num_inputs && st == NULL; ++i)
    if (node->inputs[i] != NULL) st = check_tensor(node->inputs[i], "input", i); /* NULL = omitted (R5.1) */
  for (size_t i = 0; i < node->num_outputs && st == NULL; ++i)
    if (node->outputs[i] != NULL) st = check_tensor(node->outputs[i], "output", i);
  for (size_t i = 0; i < node->num_attributes && st == NULL; ++i) {
    const hxrt_attribute* a = node->attributes[i];
    if (a == NULL || !HXRT_STRUCT_HAS_FIELD(a->struct_size, hxrt_attribute, tensor) || a->name == NULL)
      st = INVALID("attribute %zu is NULL, too small or unnamed", i);
  }
  if (st != NULL) return st;
  plan->reason = HXRT_UNSUPPORTED_OTHER;

  /* R5.2: "" and "ai.onnx" are both the default ONNX domain. */
  if (strcmp(node->domain, "") != 0 && strcmp(node->domain, "ai.onnx") != 0)
    UNSUPPORTED(plan, HXRT_UNSUPPORTED_OP, "domain \"%s\" is not supported", node->domain);
  size_t which = 0, count = sizeof g_ops / sizeof g_ops[0];
  while (which < count && strcmp(g_ops[which].op_type, node->op_type) != 0) ++which;
  if (which == count) UNSUPPORTED(plan, HXRT_UNSUPPORTED_OP, "op %s is not implemented", node->op_type);
  plan->op = g_ops[which].op;
  if (node->opset_version < g_ops[which].min_opset || node->opset_version > TPL_MAX_OPSET)
    UNSUPPORTED(plan, HXRT_UNSUPPORTED_OPSET, "%s from opset %" PRId64 " is not supported (opsets %d to %d are)",
                node->op_type, node->opset_version, g_ops[which].min_opset, TPL_MAX_OPSET);
  size_t nin = g_ops[which].num_inputs;
  if (node->num_inputs != nin || node->num_outputs != 1 || node->outputs[0] == NULL ||
      node->inputs[0] == NULL || (nin == 2 && node->inputs[1] == NULL))
    UNSUPPORTED(plan, HXRT_UNSUPPORTED_OTHER, "%s needs %zu input(s) and 1 output", node->op_type, nin);
  const hxrt_tensor_desc* a = node->inputs[0];
  const hxrt_tensor_desc* b = nin == 2 ? node->inputs[1] : NULL;
  const hxrt_tensor_desc* y = node->outputs[0];
  if (a->dtype != HXRT_DTYPE_FLOAT32 || (b && b->dtype != HXRT_DTYPE_FLOAT32) || y->dtype != HXRT_DTYPE_FLOAT32)
    UNSUPPORTED(plan, HXRT_UNSUPPORTED_DTYPE, "%s on %s is not supported, only float32", node->op_type,
                dtype_name(a->dtype != HXRT_DTYPE_FLOAT32 ? a->dtype : b && b->dtype != HXRT_DTYPE_FLOAT32 ? b->dtype : y->dtype));
  plan->numel_in[0] = numel(a);
  plan->numel_in[1] = b ? numel(b) : 0;
  plan->numel_out = numel(y);
  if (plan->numel_in[0] < 0 || plan->numel_in[1] < 0 || plan->numel_out < 0)
    UNSUPPORTED(plan, HXRT_UNSUPPORTED_SHAPE, "%s: tensor too large", node->op_type);

  /* R5.3: a rough cost model, > 0, finite and growing with the problem size.
   * VENDOR: calibrate against your kernels. */
  double elems = (double)plan->numel_out;
  switch (plan->op) {
    case OP_ADD:
    case OP_MUL: {
      /* Same shape, or one operand with a single element broadcast to the other's shape. */
      int ok = (same_shape(a, y) && (same_shape(b, y) || (plan->numel_in[1] == 1 && b->rank <= y->rank))) ||
               (same_shape(b, y) && plan->numel_in[0] == 1 && a->rank <= y->rank);
      if (!ok)
        UNSUPPORTED(plan, HXRT_UNSUPPORTED_SHAPE,
                    "%s: only equal shapes or a single-element operand are supported (no general broadcasting)",
                    node->op_type);
      plan->estimated_ns = 100.0 + 0.5 * elems;
      break;
    }
    case OP_RELU:
      if (!same_shape(a, y)) UNSUPPORTED(plan, HXRT_UNSUPPORTED_SHAPE, "Relu: output shape differs from input");
      plan->estimated_ns = 100.0 + 0.5 * elems;
      break;
    case OP_MATMUL:
      if (a->rank != 2 || b->rank != 2 || y->rank != 2)
        UNSUPPORTED(plan, HXRT_UNSUPPORTED_SHAPE, "MatMul: only 2-D x 2-D is supported (got rank %zu x %zu)",
                    a->rank, b->rank);
      if (a->dims[1] != b->dims[0] || y->dims[0] != a->dims[0] || y->dims[1] != b->dims[1])
        UNSUPPORTED(plan, HXRT_UNSUPPORTED_SHAPE, "MatMul: inconsistent shapes");
      plan->m = a->dims[0];
      plan->k = a->dims[1];
      plan->n = b->dims[1];
      plan->estimated_ns = 100.0 + 0.5 * 2.0 * (double)plan->m * (double)plan->k * (double)plan->n;
      break;
    case OP_SOFTMAX: {
      /* Opset >= 13: default axis -1. Before 13 the default is 1 and the input is
       * flattened to 2-D at `axis`, which equals a last-axis softmax only when
       * axis is the last axis; we support exactly that case. */
      int64_t axis = node->opset_version >= 13 ? -1 : 1;
      for (size_t i = 0; i < node->num_attributes; ++i) {
        const hxrt_attribute* attr = node->attributes[i];
        if (strcmp(attr->name, "axis") != 0) continue;
        if (attr->type != HXRT_ATTRIBUTE_INT) UNSUPPORTED(plan, HXRT_UNSUPPORTED_ATTRIBUTE, "Softmax: axis is not an INT");
        axis = attr->i;
      }
      int64_t rank = (int64_t)a->rank;
      if (rank == 0 || !same_shape(a, y))
        UNSUPPORTED(plan, HXRT_UNSUPPORTED_SHAPE, "Softmax: needs rank >= 1 and output shape = input shape");
      if (axis < 0) axis += rank;
      if (axis != rank - 1)
        UNSUPPORTED(plan, HXRT_UNSUPPORTED_ATTRIBUTE, "Softmax: only the last axis is supported (axis=%" PRId64 ")",
                    axis);
      plan->n = a->dims[rank - 1];
      plan->m = plan->n == 0 ? 0 : plan->numel_out / plan->n;
      plan->estimated_ns = 100.0 + 5.0 * elems;
      break;
    }
  }
  plan->supported = 1;
  plan->reason = HXRT_SUPPORTED;
  plan->message[0] = '\0';
  return NULL;
}

static hxrt_plugin_status* api_query_op_support(hxrt_query_op_support_args* args) {
  REQUIRE_ARGS(args, hxrt_query_op_support_args, reason_message_capacity);
  REQUIRE_HANDLE(args->device, MAGIC_DEVICE, "device");
  tpl_plan plan;
  hxrt_plugin_status* st = plan_node(args->node, &plan);
  if (st != NULL) return st; /* malformed descriptor; "unsupported" is an answer, not an error */
  args->supported = plan.supported;
  args->reason = plan.reason;
  args->estimated_ns = plan.supported ? plan.estimated_ns : 0.0;
  if (args->reason_message != NULL && args->reason_message_capacity > 0)
    snprintf(args->reason_message, args->reason_message_capacity, "%s", plan.message);
  return NULL;
}

/* ======================================================================== */
/* Kernels                                                                  */
/* ======================================================================== */

static void run_kernel(const tpl_plan* p, const float* a, const float* b, float* y) {
  switch (p->op) {
    case OP_ADD:
    case OP_MUL: {
      int64_t sa = p->numel_in[0] == p->numel_out ? 1 : 0; /* 0: broadcast element 0 */
      int64_t sb = p->numel_in[1] == p->numel_out ? 1 : 0;
      for (int64_t i = 0; i < p->numel_out; ++i)
        y[i] = p->op == OP_ADD ? a[i * sa] + b[i * sb] : a[i * sa] * b[i * sb];
      break;
    }
    case OP_RELU:
      for (int64_t i = 0; i < p->numel_out; ++i) y[i] = a[i] < 0.0f ? 0.0f : a[i];
      break;
    case OP_MATMUL:
      for (int64_t i = 0; i < p->m * p->n; ++i) y[i] = 0.0f;
      for (int64_t i = 0; i < p->m; ++i)
        for (int64_t k = 0; k < p->k; ++k) {
          float aik = a[i * p->k + k];
          for (int64_t j = 0; j < p->n; ++j) y[i * p->n + j] += aik * b[k * p->n + j];
        }
      break;
    case OP_SOFTMAX:
      for (int64_t r = 0; r < p->m; ++r) {
        const float* x = a + r * p->n;
        float* out = y + r * p->n;
        float max = x[0], sum = 0.0f;
        for (int64_t j = 1; j < p->n; ++j) max = x[j] > max ? x[j] : max;
        for (int64_t j = 0; j < p->n; ++j) sum += out[j] = expf(x[j] - max);
        for (int64_t j = 0; j < p->n; ++j) out[j] /= sum;
      }
      break;
  }
}

/* ======================================================================== */
/* Executables (R6)                                                          */
/* ======================================================================== */

enum { VALUE_UNUSED, VALUE_INPUT, VALUE_CONSTANT, VALUE_PRODUCED };

typedef struct tpl_value {
  int role;
  uint64_t bytes;
  float* storage; /* constants and intermediates: owned; inputs/outputs: NULL */
} tpl_value;

typedef struct tpl_step {
  tpl_plan plan;
  size_t in[2], out; /* value indices */
} tpl_step;

struct hxrt_executable {
  unsigned magic;
  hxrt_device* device;
  mtx_t mutex; /* executions share `bound` and the intermediates: one at a time */
  int has_mutex;
  size_t num_values, num_steps, num_inputs, num_outputs;
  tpl_value* values;
  tpl_step* steps;
  size_t* inputs;  /* value index of each graph input, in execute order */
  size_t* outputs; /* value index of each graph output */
  float** bound;   /* per execution: where each value's data lives */
};

static void api_executable_destroy(hxrt_executable* exe) {
  if (!VALID(exe, MAGIC_EXECUTABLE)) return;
  for (size_t v = 0; exe->values != NULL && v < exe->num_values; ++v) free(exe->values[v].storage);
  if (exe->has_mutex) mtx_destroy(&exe->mutex);
  free(exe->values);
  free(exe->steps);
  free(exe->inputs);
  free(exe->outputs);
  free(exe->bound);
  exe->magic = MAGIC_DEAD;
  free(exe);
}

/* The header promises node->inputs[k] == values[input_values[k]]; check that
 * the sizes agree so a buggy caller cannot make a kernel overrun a buffer. */
static hxrt_plugin_status* check_value(const hxrt_executable* exe, const hxrt_graph_desc* g, int64_t v,
                                       const hxrt_tensor_desc* desc, size_t node) {
  if (v < 0 || (uint64_t)v >= exe->num_values)
    return INVALID("node %zu refers to value %" PRId64 ", outside 0..%zu", node, v, exe->num_values);
  if (g->values[v]->dtype != HXRT_DTYPE_FLOAT32 || (uint64_t)numel(desc) * sizeof(float) != exe->values[v].bytes)
    return INVALID("node %zu: value %" PRId64 " disagrees with the node's descriptor", node, v);
  return NULL;
}

/* Everything the graph says is copied (R5.4): the descriptors die with the call. */
static hxrt_plugin_status* build_executable(hxrt_executable* exe, const hxrt_graph_desc* g) {
  size_t nv = g->num_values;
  exe->num_values = nv;
  exe->num_steps = g->num_nodes;
  exe->num_inputs = g->num_inputs;
  exe->num_outputs = g->num_outputs;
  exe->values = calloc(nv + 1, sizeof *exe->values);
  exe->bound = calloc(nv + 1, sizeof *exe->bound);
  exe->steps = calloc(g->num_nodes + 1, sizeof *exe->steps);
  exe->inputs = calloc(g->num_inputs + 1, sizeof *exe->inputs);
  exe->outputs = calloc(g->num_outputs + 1, sizeof *exe->outputs);
  if (!exe->values || !exe->bound || !exe->steps || !exe->inputs || !exe->outputs) return NO_MEMORY();
  if ((nv > 0 && g->values == NULL) || (g->num_nodes > 0 && g->nodes == NULL) ||
      (g->num_inputs > 0 && g->input_values == NULL) || (g->num_outputs > 0 && g->output_values == NULL))
    return INVALID("graph: a values/nodes/inputs/outputs array is NULL");
  for (size_t v = 0; v < nv; ++v) {
    hxrt_plugin_status* st = check_tensor(g->values[v], "value", v);
    if (st != NULL) return st;
    int64_t n = numel(g->values[v]);
    if (n < 0) return status_new(HXRT_STATUS_UNIMPLEMENTED, "value %zu is too large", v);
    exe->values[v].bytes = (uint64_t)n * sizeof(float); /* only float32 values are used by our ops */
  }
  for (size_t i = 0; i < g->num_inputs; ++i) {
    int64_t v = g->input_values[i];
    if (v < 0 || (uint64_t)v >= nv || exe->values[v].role != VALUE_UNUSED)
      return INVALID("graph input %zu: value %" PRId64 " is out of range or listed twice", i, v);
    exe->values[v].role = VALUE_INPUT;
    exe->inputs[i] = (size_t)v;
  }
  for (size_t s = 0; s < g->num_nodes; ++s) {
    const hxrt_graph_node* gn = g->nodes[s];
    if (gn == NULL || !HXRT_STRUCT_HAS_FIELD(gn->struct_size, hxrt_graph_node, output_values) ||
        gn->input_values == NULL || gn->output_values == NULL)
      return INVALID("graph node %zu is NULL, too small, or lacks value indices", s);
    tpl_step* step = &exe->steps[s];
    hxrt_plugin_status* st = plan_node(gn->node, &step->plan);
    if (st != NULL) return st;
    if (!step->plan.supported)
      return status_new(HXRT_STATUS_UNIMPLEMENTED, "node %zu (\"%s\", %s) is not supported: %s", s, gn->node->name ? gn->node->name : "",
                        gn->node->op_type, step->plan.message);
    for (size_t k = 0; k < gn->node->num_inputs; ++k) { /* every input known to plan_node is present */
      int64_t v = gn->input_values[k];
      st = check_value(exe, g, v, gn->node->inputs[k], s);
      if (st != NULL) return st;
      tpl_value* val = &exe->values[v];
      if (val->role == VALUE_UNUSED && g->values[v]->constant_data != NULL) { /* a constant: copy it */
        if (g->values[v]->constant_size_bytes != val->bytes)
          return INVALID("value %" PRId64 ": constant has %zu bytes, expected %" PRIu64, v,
                         g->values[v]->constant_size_bytes, val->bytes);
        val->storage = malloc(val->bytes + 1);
        if (val->storage == NULL) return NO_MEMORY();
        memcpy(val->storage, g->values[v]->constant_data, (size_t)val->bytes);
        val->role = VALUE_CONSTANT;
      }
      if (val->role == VALUE_UNUSED)
        return INVALID("node %zu reads value %" PRId64 " before any node produces it (topological order)", s, v);
      step->in[k] = (size_t)v;
    }
    int64_t v = gn->output_values[0];
    st = check_value(exe, g, v, gn->node->outputs[0], s);
    if (st != NULL) return st;
    if (exe->values[v].role != VALUE_UNUSED) return INVALID("node %zu output: value %" PRId64 " is already defined", s, v);
    exe->values[v].role = VALUE_PRODUCED;
    step->out = (size_t)v;
  }
  for (size_t i = 0; i < g->num_outputs; ++i) {
    int64_t v = g->output_values[i];
    if (v < 0 || (uint64_t)v >= nv || exe->values[v].role != VALUE_PRODUCED)
      return INVALID("graph output %zu: value %" PRId64 " is not produced by a node of the graph", i, v);
    exe->outputs[i] = (size_t)v;
  }
  /* Intermediates: produced values that are not graph outputs get memory now,
   * so execute allocates nothing. VENDOR: plan device memory here. */
  for (size_t v = 0; v < nv; ++v) {
    int is_output = 0;
    for (size_t i = 0; i < g->num_outputs; ++i) is_output |= exe->outputs[i] == v;
    if (exe->values[v].role == VALUE_PRODUCED && !is_output) {
      exe->values[v].storage = malloc(exe->values[v].bytes + 1);
      if (exe->values[v].storage == NULL) return NO_MEMORY();
    }
  }
  if (mtx_init(&exe->mutex, mtx_plain) != thrd_success) return status_new(HXRT_STATUS_INTERNAL, "mtx_init failed");
  exe->has_mutex = 1;
  return NULL;
}

static hxrt_plugin_status* api_executable_compile(hxrt_executable_compile_args* args) {
  REQUIRE_ARGS(args, hxrt_executable_compile_args, executable);
  args->executable = NULL;
  REQUIRE_HANDLE(args->device, MAGIC_DEVICE, "device");
  const hxrt_graph_desc* g = args->graph;
  if (g == NULL) return INVALID("graph is NULL");
  if (!HXRT_STRUCT_HAS_FIELD(g->struct_size, hxrt_graph_desc, output_values))
    return INVALID("hxrt_graph_desc.struct_size %zu is too small", g->struct_size);
  hxrt_executable* exe = calloc(1, sizeof *exe);
  if (exe == NULL) return NO_MEMORY();
  exe->magic = MAGIC_EXECUTABLE;
  exe->device = args->device;
  hxrt_plugin_status* st = build_executable(exe, g);
  if (st != NULL) {
    api_executable_destroy(exe);
    return st;
  }
  args->executable = exe;
  return NULL;
}

/* The work one execution enqueues. Points into the caller's args: fine for a
 * synchronous stream. VENDOR: an asynchronous plugin copies what it needs. */
typedef struct exec_work {
  hxrt_executable* exe;
  const hxrt_executable_execute_args* args;
} exec_work;

static hxrt_plugin_status* run_executable(void* work) {
  hxrt_executable* exe = ((exec_work*)work)->exe;
  const hxrt_executable_execute_args* args = ((exec_work*)work)->args;
  mtx_lock(&exe->mutex);
  for (size_t v = 0; v < exe->num_values; ++v) exe->bound[v] = exe->values[v].storage;
  for (size_t i = 0; i < exe->num_inputs; ++i)
    exe->bound[exe->inputs[i]] =
        (float*)((char*)args->input_buffers[i]->data + (args->input_offsets ? args->input_offsets[i] : 0));
  for (size_t i = 0; i < exe->num_outputs; ++i)
    exe->bound[exe->outputs[i]] =
        (float*)((char*)args->output_buffers[i]->data + (args->output_offsets ? args->output_offsets[i] : 0));
  for (size_t s = 0; s < exe->num_steps; ++s) {
    const tpl_step* step = &exe->steps[s];
    const float* b = step->plan.op == OP_RELU || step->plan.op == OP_SOFTMAX ? NULL : exe->bound[step->in[1]];
    run_kernel(&step->plan, exe->bound[step->in[0]], b, exe->bound[step->out]);
  }
  mtx_unlock(&exe->mutex);
  return NULL; /* VENDOR: return a status when the device reports a failure */
}

/* Checks the buffers passed for graph inputs or outputs (R4.4, R6). */
static hxrt_plugin_status* check_bindings(const hxrt_executable* exe, size_t count, hxrt_buffer* const* buffers,
                                          const uint64_t* offsets, const size_t* values, const char* what) {
  if (count > 0 && buffers == NULL) return INVALID("%s buffers array is NULL", what);
  for (size_t i = 0; i < count; ++i) {
    const hxrt_buffer* buf = buffers[i];
    if (!VALID(buf, MAGIC_BUFFER)) return INVALID("%s %zu: buffer is NULL or not a live handle", what, i);
    if (buf->device != exe->device) return INVALID("%s %zu: buffer belongs to another device", what, i);
    uint64_t offset = offsets ? offsets[i] : 0;
    if (offset % sizeof(float) != 0) return INVALID("%s %zu: offset %" PRIu64 " is not float-aligned", what, i, offset);
    hxrt_plugin_status* st = check_range(buf, offset, exe->values[values[i]].bytes, what);
    if (st != NULL) return st;
  }
  return NULL;
}

static hxrt_plugin_status* api_executable_execute(hxrt_executable_execute_args* args) {
  REQUIRE_ARGS(args, hxrt_executable_execute_args, output_offsets);
  hxrt_executable* exe = args->executable;
  REQUIRE_HANDLE(exe, MAGIC_EXECUTABLE, "executable");
  REQUIRE_HANDLE(args->stream, MAGIC_STREAM, "stream");
  if (args->stream->device != exe->device) return INVALID("stream belongs to another device than the executable");
  if (args->num_inputs != exe->num_inputs || args->num_outputs != exe->num_outputs)
    return INVALID("executable takes %zu inputs and %zu outputs, got %zu and %zu", exe->num_inputs,
                   exe->num_outputs, args->num_inputs, args->num_outputs);
  hxrt_plugin_status* st =
      check_bindings(exe, args->num_inputs, args->input_buffers, args->input_offsets, exe->inputs, "input");
  if (st == NULL)
    st = check_bindings(exe, args->num_outputs, args->output_buffers, args->output_offsets, exe->outputs, "output");
  if (st != NULL) return st; /* nothing was enqueued */
  exec_work work = {exe, args};
  stream_submit(args->stream, run_executable, &work);
  return NULL;
}

/* ======================================================================== */
/* Identity (R9), the table (R2.5) and negotiation (R1)                      */
/* ======================================================================== */

#if defined(__clang__)
#define TPL_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define TPL_COMPILER "gcc " __VERSION__
#else
#define TPL_COMPILER "unknown"
#endif

static const char* const g_build_keys[] = {"compiler", "c_standard", "kernels"};
static const char* const g_build_values[] = {TPL_COMPILER, TPL_STR(__STDC_VERSION__), "reference C loops, float32"};

static const hxrt_plugin_identity g_identity = {
    .struct_size = sizeof(hxrt_plugin_identity),
    .name = TPL_NAME,
    .version = TPL_VERSION,
    .abi_major = HXRT_ABI_VERSION_MAJOR,
    .abi_minor = HXRT_ABI_VERSION_MINOR,
    .num_build_properties = sizeof g_build_keys / sizeof g_build_keys[0],
    .build_property_keys = g_build_keys,
    .build_property_values = g_build_values,
};

/* Optional slots may be NULL (R2.5); the template fills all but claim_subgraph,
 * for which the host then groups the nodes query_op_support accepts. */
static const hxrt_plugin_api g_api = {
    .struct_size = sizeof(hxrt_plugin_api),
    .abi_major = HXRT_ABI_VERSION_MAJOR,
    .abi_minor = HXRT_ABI_VERSION_MINOR,
    .identity = &g_identity,
    .status_get_code = api_status_get_code,
    .status_get_message = api_status_get_message,
    .status_destroy = api_status_destroy,
    .context_create = api_context_create,
    .context_destroy = api_context_destroy,
    .context_get_devices = api_context_get_devices,
    .device_get_properties = api_device_get_properties,
    .device_get_transfer_costs = api_device_get_transfer_costs,
    .buffer_allocate = api_buffer_allocate,
    .buffer_destroy = api_buffer_destroy,
    .buffer_get_host_pointer = api_buffer_get_host_pointer,
    .stream_create = api_stream_create,
    .stream_destroy = api_stream_destroy,
    .stream_synchronize = api_stream_synchronize,
    .stream_wait_event = api_stream_wait_event,
    .event_create = api_event_create,
    .event_destroy = api_event_destroy,
    .event_record = api_event_record,
    .event_synchronize = api_event_synchronize,
    .event_query = api_event_query,
    .copy_to_device = api_copy_to_device,
    .copy_to_host = api_copy_to_host,
    .copy_on_device = api_copy_on_device,
    .query_op_support = api_query_op_support,
    .claim_subgraph = NULL,
    .executable_compile = api_executable_compile,
    .executable_destroy = api_executable_destroy,
    .executable_execute = api_executable_execute,
};

/* The only exported symbol (R1.1). Pure: no allocation, no device access. */
HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args);
_Static_assert(_Generic(&hxrt_plugin_negotiate, hxrt_plugin_negotiate_fn: 1, default: 0),
               "hxrt_plugin_negotiate must have the type hxrt_plugin_negotiate_fn");

HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args) {
  if (args == NULL || !HXRT_STRUCT_HAS_FIELD(args->struct_size, hxrt_plugin_negotiate_args, message_capacity))
    return HXRT_STATUS_INVALID_ARGUMENT;
  args->plugin_abi_major = HXRT_ABI_VERSION_MAJOR;
  args->plugin_abi_minor = HXRT_ABI_VERSION_MINOR;
  args->api = NULL;
  if (args->host_abi_major != HXRT_ABI_VERSION_MAJOR) { /* R1.3: majors must match */
    if (args->message != NULL && args->message_capacity > 0)
      snprintf(args->message, args->message_capacity,
               "plugin %s speaks hxrt plugin ABI %u.%u, the host speaks %u.%u: major versions differ", TPL_NAME,
               HXRT_ABI_VERSION_MAJOR, HXRT_ABI_VERSION_MINOR, args->host_abi_major, args->host_abi_minor);
    return HXRT_STATUS_VERSION_MISMATCH;
  }
  /* Any host minor is fine: an older host passes smaller args and reads only
   * the table slots it knows (R1.4, R2). */
  if (args->message != NULL && args->message_capacity > 0) args->message[0] = '\0';
  args->api = &g_api;
  return HXRT_STATUS_OK;
}
