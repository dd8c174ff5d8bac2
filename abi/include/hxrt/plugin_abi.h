/* hxrt plugin ABI, version 1.2 (1.0 plus the fields marked "since 1.1" and
 * "since 1.2").
 *
 * The one contract between the hxrt host library and a device plugin (a shared
 * library). docs/abi.md is the normative text; the rule numbers (R1.1, ...)
 * quoted here refer to it. This header compiles as C11 and as C++.
 *
 * Stability: the header is append-only. Enumerators, struct fields and function
 * table slots are only ever added at the end; nothing is renamed, reordered or
 * removed within a major version.
 */
#ifndef HXRT_PLUGIN_ABI_H_
#define HXRT_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#include "hxrt/status_code.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Versioning (R1)                                                           */
/* ------------------------------------------------------------------------ */

#define HXRT_ABI_VERSION_MAJOR 1u
#define HXRT_ABI_VERSION_MINOR 2u

/* The single symbol every plugin exports (R1.1). */
#define HXRT_PLUGIN_ENTRY_SYMBOL "hxrt_plugin_negotiate"

#if defined(_WIN32)
#define HXRT_PLUGIN_EXPORT __declspec(dllexport)
#else
#define HXRT_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* The size a struct had in the version that introduced a field: use it to ask
 * whether a struct of size `size` carries `field` (R2.3). */
#define HXRT_STRUCT_HAS_FIELD(size, type, field) \
  ((size) >= offsetof(type, field) + sizeof(((type*)0)->field))

/* ------------------------------------------------------------------------ */
/* Opaque handles (R3). Each has a destroy function in the table below.      */
/* ------------------------------------------------------------------------ */

typedef struct hxrt_plugin_status hxrt_plugin_status;   /* NULL means OK */
typedef struct hxrt_plugin_context hxrt_plugin_context; /* one per load */
typedef struct hxrt_device hxrt_device;                 /* owned by context */
typedef struct hxrt_buffer hxrt_buffer;                 /* device or pinned memory */
typedef struct hxrt_stream hxrt_stream;                 /* in-order work queue */
typedef struct hxrt_event hxrt_event;                   /* point in a stream */
typedef struct hxrt_executable hxrt_executable;         /* compiled subgraph */

/* ------------------------------------------------------------------------ */
/* Plain data shared by many calls                                          */
/* ------------------------------------------------------------------------ */

/* Element types. Values equal ONNX TensorProto.DataType so no table is needed. */
typedef enum hxrt_dtype {
  HXRT_DTYPE_UNDEFINED = 0,
  HXRT_DTYPE_FLOAT32 = 1,
  HXRT_DTYPE_UINT8 = 2,
  HXRT_DTYPE_INT8 = 3,
  HXRT_DTYPE_UINT16 = 4,
  HXRT_DTYPE_INT16 = 5,
  HXRT_DTYPE_INT32 = 6,
  HXRT_DTYPE_INT64 = 7,
  HXRT_DTYPE_STRING = 8,
  HXRT_DTYPE_BOOL = 9,
  HXRT_DTYPE_FLOAT16 = 10,
  HXRT_DTYPE_FLOAT64 = 11,
  HXRT_DTYPE_UINT32 = 12,
  HXRT_DTYPE_UINT64 = 13,
  HXRT_DTYPE_BFLOAT16 = 16
} hxrt_dtype;

typedef enum hxrt_log_level {
  HXRT_LOG_ERROR = 0,
  HXRT_LOG_WARNING = 1,
  HXRT_LOG_INFO = 2,
  HXRT_LOG_DEBUG = 3
} hxrt_log_level;

/* Host-provided logger (R8.1). Thread-safe; `message` is valid during the call. */
typedef void (*hxrt_log_fn)(void* user_data, hxrt_log_level level, const char* message);

/* A tensor's type and shape, and its value when known at compile time.
 * Elements are dense, row-major, little-endian, with no padding. */
typedef struct hxrt_tensor_desc {
  size_t struct_size;
  hxrt_dtype dtype;
  size_t rank;          /* 0 for a scalar */
  const int64_t* dims;  /* `rank` entries, each >= 0 */
  /* Non-NULL when the value is a compile-time constant (an initializer or a
   * folded value). The plugin must copy what it keeps past the call (R5.4). */
  const void* constant_data;
  size_t constant_size_bytes;
} hxrt_tensor_desc;

/* ONNX attribute kinds; values equal ONNX AttributeProto.AttributeType. */
typedef enum hxrt_attribute_type {
  HXRT_ATTRIBUTE_UNDEFINED = 0,
  HXRT_ATTRIBUTE_FLOAT = 1,
  HXRT_ATTRIBUTE_INT = 2,
  HXRT_ATTRIBUTE_STRING = 3,
  HXRT_ATTRIBUTE_TENSOR = 4,
  HXRT_ATTRIBUTE_FLOATS = 6,
  HXRT_ATTRIBUTE_INTS = 7,
  HXRT_ATTRIBUTE_STRINGS = 8
} hxrt_attribute_type;

typedef struct hxrt_attribute {
  size_t struct_size;
  const char* name;
  hxrt_attribute_type type;
  float f;                       /* FLOAT */
  int64_t i;                     /* INT */
  const char* s;                 /* STRING: bytes, not NUL-terminated... */
  size_t s_size;                 /* ...of this length */
  size_t count;                  /* FLOATS, INTS, STRINGS: number of items */
  const float* floats;           /* FLOATS */
  const int64_t* ints;           /* INTS */
  const char* const* strings;    /* STRINGS: NUL-terminated */
  const hxrt_tensor_desc* tensor; /* TENSOR: constant_data is set */
} hxrt_attribute;

/* One ONNX node with fully inferred input and output descriptors (R5.1). */
typedef struct hxrt_node_desc {
  size_t struct_size;
  const char* name;      /* may be "" */
  const char* domain;    /* "" or "ai.onnx" for the default domain */
  const char* op_type;   /* e.g. "Conv" */
  int64_t opset_version; /* opset of `domain` the model imports */
  size_t num_attributes;
  const hxrt_attribute* const* attributes;
  size_t num_inputs;
  const hxrt_tensor_desc* const* inputs;   /* an omitted optional input is NULL */
  size_t num_outputs;
  const hxrt_tensor_desc* const* outputs;  /* an omitted optional output is NULL */
} hxrt_node_desc;

/* A subgraph handed to compile or claim (R6). Values are numbered 0..num_values-1;
 * a node refers to its inputs and outputs by value index, -1 for omitted ones.
 * node->inputs[k] == values[input_values[k]] for every present input. */
typedef struct hxrt_graph_node {
  size_t struct_size;
  const hxrt_node_desc* node;
  const int64_t* input_values;  /* node->num_inputs entries */
  const int64_t* output_values; /* node->num_outputs entries */
} hxrt_graph_node;

typedef struct hxrt_graph_desc {
  size_t struct_size;
  size_t num_values;
  const hxrt_tensor_desc* const* values;
  size_t num_nodes;                       /* in a valid topological order */
  const hxrt_graph_node* const* nodes;
  size_t num_inputs;                      /* runtime inputs, in execute order */
  const int64_t* input_values;
  size_t num_outputs;                     /* results, in execute order */
  const int64_t* output_values;
} hxrt_graph_desc;

/* ------------------------------------------------------------------------ */
/* Identity (R9)                                                             */
/* ------------------------------------------------------------------------ */

typedef struct hxrt_plugin_identity {
  size_t struct_size;
  const char* name;          /* short, stable: "cpu", "cuda", ... */
  const char* version;       /* the plugin's own semantic version, "1.2.3" */
  uint32_t abi_major;        /* the ABI version the plugin implements */
  uint32_t abi_minor;
  size_t num_build_properties; /* key/value strings: compiler, library versions */
  const char* const* build_property_keys;
  const char* const* build_property_values;
} hxrt_plugin_identity;

/* ------------------------------------------------------------------------ */
/* Devices (R4)                                                              */
/* ------------------------------------------------------------------------ */

typedef enum hxrt_device_kind {
  HXRT_DEVICE_KIND_OTHER = 0,
  HXRT_DEVICE_KIND_CPU = 1,
  HXRT_DEVICE_KIND_GPU = 2,
  HXRT_DEVICE_KIND_FPGA = 3
} hxrt_device_kind;

/* Filled by the plugin; the host sets struct_size to what it allocated and the
 * plugin writes only fields inside both sizes (R2.4). Strings stay valid until
 * the context is destroyed. Hints are 0 when unknown. */
typedef struct hxrt_device_properties {
  size_t struct_size;
  const char* name;
  const char* vendor;
  hxrt_device_kind kind;
  uint64_t memory_bytes;            /* usable device memory */
  double peak_flops_f32;            /* hint: FLOP/s */
  double memory_bandwidth_bytes_per_s; /* hint */
  /* Non-zero when a DEVICE buffer's memory is ordinary host memory, so
   * buffer_get_host_pointer succeeds for it (R4.5). */
  int32_t host_addressable;
  const char* driver_version;       /* "" when not applicable */
  uint32_t compute_units;           /* cores, SMs, CUs; 0 when unknown */
  /* Since 1.1: the largest single DEVICE buffer buffer_allocate can return
   * (OpenCL's CL_DEVICE_MAX_MEM_ALLOC_SIZE, Vulkan's maxMemoryAllocationSize);
   * 0 means memory_bytes. */
  uint64_t max_allocation_bytes;
  /* Since 1.2: non-zero when buffer_wrap_host_memory accepts host memory on
   * this device (R4.6): the device addresses host memory directly (a CPU
   * device, PoCL, lavapipe) or through mapped, registered pages (CUDA). */
  int32_t can_wrap_host_memory;
  /* Since 1.2: the alignment in bytes (a power of two) that the pointer and
   * the size given to buffer_wrap_host_memory must have; 0 means any. */
  uint64_t wrap_host_memory_alignment;
  /* Since 1.2: non-zero when an executable of a single element-wise node
   * (R6) runs correctly with its output at exactly the bytes of one input of
   * the same size (in-place), so the host may plan it that way; 0 = never. */
  int32_t in_place_elementwise;
} hxrt_device_properties;

/* One copy direction: time(bytes) = latency_ns + bytes / bandwidth (R6.1). */
typedef struct hxrt_link_cost {
  double latency_ns;
  double bandwidth_bytes_per_s;
} hxrt_link_cost;

typedef struct hxrt_transfer_costs {
  size_t struct_size;
  hxrt_link_cost host_to_device_pageable;
  hxrt_link_cost host_to_device_pinned;
  hxrt_link_cost device_to_host_pageable;
  hxrt_link_cost device_to_host_pinned;
  hxrt_link_cost device_to_device;  /* within this device */
} hxrt_transfer_costs;

/* ------------------------------------------------------------------------ */
/* Memory (R4.3)                                                            */
/* ------------------------------------------------------------------------ */

typedef enum hxrt_memory_kind {
  HXRT_MEMORY_DEVICE = 0,      /* device-local; reached through copies */
  HXRT_MEMORY_HOST_PINNED = 1  /* host memory the device reads fast; host-mappable */
} hxrt_memory_kind;

/* ------------------------------------------------------------------------ */
/* Capability queries (R5)                                                   */
/* ------------------------------------------------------------------------ */

typedef enum hxrt_support_reason {
  HXRT_SUPPORTED = 0,
  HXRT_UNSUPPORTED_OP = 1,        /* op_type/domain unknown to the plugin */
  HXRT_UNSUPPORTED_OPSET = 2,     /* op known, this opset version not */
  HXRT_UNSUPPORTED_DTYPE = 3,
  HXRT_UNSUPPORTED_SHAPE = 4,     /* rank, size or a shape outside a fixed set */
  HXRT_UNSUPPORTED_ATTRIBUTE = 5, /* an attribute value the plugin cannot do */
  HXRT_UNSUPPORTED_OTHER = 6
} hxrt_support_reason;

/* ------------------------------------------------------------------------ */
/* Argument structs. Each begins with struct_size = sizeof(the caller's copy).*/
/* Fields marked [out] are written by the callee.                           */
/* ------------------------------------------------------------------------ */

typedef struct hxrt_context_create_args {
  size_t struct_size;
  hxrt_log_fn logger;          /* may be NULL: the plugin then logs nothing */
  void* logger_user_data;
  size_t num_options;          /* key/value strings, plugin-defined (R8.2) */
  const char* const* option_keys;
  const char* const* option_values;
  hxrt_plugin_context* context; /* [out] */
} hxrt_context_create_args;

typedef struct hxrt_context_get_devices_args {
  size_t struct_size;
  hxrt_plugin_context* context;
  size_t num_devices;              /* [out] may be 0 (R4.1) */
  hxrt_device* const* devices;     /* [out] owned by the context */
} hxrt_context_get_devices_args;

typedef struct hxrt_device_get_properties_args {
  size_t struct_size;
  hxrt_device* device;
  hxrt_device_properties* properties; /* [out] caller-allocated, struct_size set */
} hxrt_device_get_properties_args;

typedef struct hxrt_device_get_transfer_costs_args {
  size_t struct_size;
  hxrt_device* device;
  hxrt_transfer_costs* costs; /* [out] caller-allocated, struct_size set */
} hxrt_device_get_transfer_costs_args;

typedef struct hxrt_buffer_allocate_args {
  size_t struct_size;
  hxrt_device* device;
  uint64_t size_bytes;         /* 0 is valid and yields a usable empty buffer */
  hxrt_memory_kind memory_kind;
  hxrt_buffer* buffer;         /* [out] */
} hxrt_buffer_allocate_args;

typedef struct hxrt_buffer_get_host_pointer_args {
  size_t struct_size;
  hxrt_buffer* buffer;
  void* host_pointer;          /* [out] NULL when not host-addressable */
} hxrt_buffer_get_host_pointer_args;

/* Since 1.2 (R4.6): wraps caller host memory as a DEVICE buffer of `device`
 * without copying. The memory stays the caller's: it must stay valid until
 * buffer_destroy, which never frees it. */
typedef struct hxrt_buffer_wrap_host_memory_args {
  size_t struct_size;
  hxrt_device* device;
  void* host_pointer;          /* aligned to wrap_host_memory_alignment; NULL only when size_bytes is 0 */
  uint64_t size_bytes;         /* a multiple of wrap_host_memory_alignment */
  int32_t read_only;           /* non-zero: the device only reads the memory */
  hxrt_buffer* buffer;         /* [out] */
} hxrt_buffer_wrap_host_memory_args;

typedef struct hxrt_stream_create_args {
  size_t struct_size;
  hxrt_device* device;
  hxrt_stream* stream;         /* [out] */
} hxrt_stream_create_args;

typedef struct hxrt_event_create_args {
  size_t struct_size;
  hxrt_device* device;
  hxrt_event* event;           /* [out] */
} hxrt_event_create_args;

typedef struct hxrt_event_record_args {
  size_t struct_size;
  hxrt_event* event;
  hxrt_stream* stream;
} hxrt_event_record_args;

typedef struct hxrt_stream_wait_event_args {
  size_t struct_size;
  hxrt_stream* stream;         /* later work on it waits for... */
  hxrt_event* event;           /* ...this event (may be from another stream of the same plugin) */
} hxrt_stream_wait_event_args;

typedef struct hxrt_event_query_args {
  size_t struct_size;
  hxrt_event* event;
  int32_t completed;           /* [out] non-zero once the recorded work finished */
} hxrt_event_query_args;

/* Copies (R7). Host pointers must stay valid until the stream reaches the copy. */
typedef struct hxrt_copy_to_device_args {
  size_t struct_size;
  hxrt_stream* stream;
  const void* src;             /* host memory (pageable or a pinned buffer's pointer) */
  hxrt_buffer* dst;
  uint64_t dst_offset;
  uint64_t size_bytes;
} hxrt_copy_to_device_args;

typedef struct hxrt_copy_to_host_args {
  size_t struct_size;
  hxrt_stream* stream;
  hxrt_buffer* src;
  uint64_t src_offset;
  void* dst;                   /* host memory */
  uint64_t size_bytes;
} hxrt_copy_to_host_args;

typedef struct hxrt_copy_on_device_args {
  size_t struct_size;
  hxrt_stream* stream;
  hxrt_buffer* src;
  uint64_t src_offset;
  hxrt_buffer* dst;            /* same plugin; may be another device of it */
  uint64_t dst_offset;
  uint64_t size_bytes;
} hxrt_copy_on_device_args;

typedef struct hxrt_query_op_support_args {
  size_t struct_size;
  hxrt_device* device;
  const hxrt_node_desc* node;
  int32_t supported;            /* [out] non-zero when the device can run it */
  hxrt_support_reason reason;   /* [out] HXRT_SUPPORTED or why not */
  double estimated_ns;          /* [out] estimated execution time; > 0 when supported */
  char* reason_message;         /* caller buffer for a readable reason, may be NULL */
  size_t reason_message_capacity;
} hxrt_query_op_support_args;

typedef struct hxrt_claim_subgraph_args {
  size_t struct_size;
  hxrt_device* device;
  const hxrt_graph_desc* graph;
  /* [out] caller array of graph->num_nodes entries: -1 = not claimed; nodes
   * sharing a non-negative id form one group to compile together (R5.6). */
  int64_t* group_of_node;
  /* [out] caller array of graph->num_nodes entries, may be NULL: estimated ns
   * of each group, written at the group's first node. */
  double* group_estimated_ns;
} hxrt_claim_subgraph_args;

typedef struct hxrt_executable_compile_args {
  size_t struct_size;
  hxrt_device* device;
  const hxrt_graph_desc* graph;
  hxrt_executable* executable; /* [out] */
} hxrt_executable_compile_args;

typedef struct hxrt_executable_execute_args {
  size_t struct_size;
  hxrt_executable* executable;
  hxrt_stream* stream;                 /* a stream of the executable's device */
  size_t num_inputs;                   /* == graph->num_inputs */
  hxrt_buffer* const* input_buffers;
  const uint64_t* input_offsets;       /* bytes; NULL means all 0 */
  size_t num_outputs;                  /* == graph->num_outputs */
  hxrt_buffer* const* output_buffers;
  const uint64_t* output_offsets;      /* bytes; NULL means all 0 */
} hxrt_executable_execute_args;

/* ------------------------------------------------------------------------ */
/* The function table (R2). Slots marked [mandatory] must be non-NULL.      */
/* Every function returns NULL on success or a status the caller destroys.  */
/* ------------------------------------------------------------------------ */

typedef struct hxrt_plugin_api {
  size_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  const hxrt_plugin_identity* identity; /* [mandatory] static data */

  /* Status objects (R3.2). */
  hxrt_status_code (*status_get_code)(const hxrt_plugin_status* status);    /* [mandatory] */
  const char* (*status_get_message)(const hxrt_plugin_status* status);      /* [mandatory] */
  void (*status_destroy)(hxrt_plugin_status* status);                       /* [mandatory] */

  /* Context and devices. */
  hxrt_plugin_status* (*context_create)(hxrt_context_create_args* args);               /* [mandatory] */
  void (*context_destroy)(hxrt_plugin_context* context);                               /* [mandatory] */
  hxrt_plugin_status* (*context_get_devices)(hxrt_context_get_devices_args* args);     /* [mandatory] */
  hxrt_plugin_status* (*device_get_properties)(hxrt_device_get_properties_args* args); /* [mandatory] */
  hxrt_plugin_status* (*device_get_transfer_costs)(hxrt_device_get_transfer_costs_args* args);

  /* Memory. */
  hxrt_plugin_status* (*buffer_allocate)(hxrt_buffer_allocate_args* args);             /* [mandatory] */
  void (*buffer_destroy)(hxrt_buffer* buffer);                                         /* [mandatory] */
  hxrt_plugin_status* (*buffer_get_host_pointer)(hxrt_buffer_get_host_pointer_args* args);

  /* Streams and events. */
  hxrt_plugin_status* (*stream_create)(hxrt_stream_create_args* args);                 /* [mandatory] */
  void (*stream_destroy)(hxrt_stream* stream);                                         /* [mandatory] */
  hxrt_plugin_status* (*stream_synchronize)(hxrt_stream* stream);                      /* [mandatory] */
  hxrt_plugin_status* (*stream_wait_event)(hxrt_stream_wait_event_args* args);         /* [mandatory] */
  hxrt_plugin_status* (*event_create)(hxrt_event_create_args* args);                   /* [mandatory] */
  void (*event_destroy)(hxrt_event* event);                                            /* [mandatory] */
  hxrt_plugin_status* (*event_record)(hxrt_event_record_args* args);                   /* [mandatory] */
  hxrt_plugin_status* (*event_synchronize)(hxrt_event* event);                         /* [mandatory] */
  hxrt_plugin_status* (*event_query)(hxrt_event_query_args* args);

  /* Transfers. */
  hxrt_plugin_status* (*copy_to_device)(hxrt_copy_to_device_args* args);               /* [mandatory] */
  hxrt_plugin_status* (*copy_to_host)(hxrt_copy_to_host_args* args);                   /* [mandatory] */
  hxrt_plugin_status* (*copy_on_device)(hxrt_copy_on_device_args* args);

  /* Ops and executables. */
  hxrt_plugin_status* (*query_op_support)(hxrt_query_op_support_args* args);           /* [mandatory] */
  hxrt_plugin_status* (*claim_subgraph)(hxrt_claim_subgraph_args* args);
  hxrt_plugin_status* (*executable_compile)(hxrt_executable_compile_args* args);       /* [mandatory] */
  void (*executable_destroy)(hxrt_executable* executable);                             /* [mandatory] */
  hxrt_plugin_status* (*executable_execute)(hxrt_executable_execute_args* args);       /* [mandatory] */

  /* Since 1.2. */
  hxrt_plugin_status* (*buffer_wrap_host_memory)(hxrt_buffer_wrap_host_memory_args* args); /* R4.6 */
} hxrt_plugin_api;

/* ------------------------------------------------------------------------ */
/* Negotiation: the entry point (R1)                                        */
/* ------------------------------------------------------------------------ */

typedef struct hxrt_plugin_negotiate_args {
  size_t struct_size;
  uint32_t host_abi_major;      /* the highest version the host speaks */
  uint32_t host_abi_minor;
  uint32_t plugin_abi_major;    /* [out] the version the plugin implements */
  uint32_t plugin_abi_minor;    /* [out] */
  const hxrt_plugin_api* api;   /* [out] static table, valid until unload; NULL on refusal */
  char* message;                /* caller buffer for the refusal reason, may be NULL */
  size_t message_capacity;
} hxrt_plugin_negotiate_args;

/* Returns HXRT_STATUS_OK and sets `api`, or refuses: HXRT_STATUS_VERSION_MISMATCH
 * when the majors differ, HXRT_STATUS_INVALID_ARGUMENT for a NULL or too-small
 * args struct. Never allocates; may be called any number of times. */
typedef hxrt_status_code (*hxrt_plugin_negotiate_fn)(hxrt_plugin_negotiate_args* args);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HXRT_PLUGIN_ABI_H_ */
