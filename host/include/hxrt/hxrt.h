/* hxrt — public C API of the host library (libhxrt).
 *
 * An application creates an environment (which discovers and loads device
 * plugins), creates a session from an ONNX model, and runs it with named
 * tensors. Every function returns NULL on success or an hxrt_status* that the
 * caller frees with hxrt_status_free. Compiles as C11 and C++.
 *
 *   hxrt_environment* env;  hxrt_environment_create(NULL, &env);
 *   hxrt_session* s;        hxrt_session_create_from_file(env, "m.onnx", NULL, &s);
 *   hxrt_session_run(s, inputs, n_in, outputs, n_out);
 */
#ifndef HXRT_HXRT_H_
#define HXRT_HXRT_H_

#include <stddef.h>
#include <stdint.h>

#include "hxrt/plugin_abi.h" /* hxrt_dtype, hxrt_device_kind, hxrt_log_fn */
#include "hxrt/status_code.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define HXRT_API __declspec(dllexport)
#else
#define HXRT_API __attribute__((visibility("default")))
#endif

/* ---- Status -------------------------------------------------------------- */

typedef struct hxrt_status hxrt_status; /* NULL means success */

HXRT_API hxrt_status_code hxrt_status_get_code(const hxrt_status* status);
HXRT_API const char* hxrt_status_get_message(const hxrt_status* status); /* "" for NULL */
HXRT_API void hxrt_status_free(hxrt_status* status);
HXRT_API const char* hxrt_status_code_name(hxrt_status_code code); /* "INVALID_ARGUMENT", ... */

HXRT_API const char* hxrt_version(void); /* "0.1.0" */

/* ---- Environment: plugins and devices -------------------------------------- */

typedef struct hxrt_environment hxrt_environment;

typedef struct hxrt_environment_options {
  size_t struct_size;
  /* Extra plugin files or directories, separated by ':'; searched before
   * HXRT_PLUGIN_PATH and the install directory. May be NULL. */
  const char* plugin_path;
  /* Non-zero: load only plugin_path, ignore HXRT_PLUGIN_PATH and the install dir. */
  int32_t only_plugin_path;
  /* Receives host and plugin messages at or below log_level; NULL prints
   * warnings and errors to stderr. */
  hxrt_log_fn logger;
  void* logger_user_data;
  hxrt_log_level log_level;
  /* Options passed to every plugin's context_create ("key=value" strings,
   * ';'-separated, each optionally prefixed "plugin-name:"). May be NULL. */
  const char* plugin_options;
} hxrt_environment_options;

/* options may be NULL for defaults. A plugin that fails to load is recorded
 * (see hxrt_environment_load_error) and the others keep working; creating an
 * environment fails only for invalid arguments. */
HXRT_API hxrt_status* hxrt_environment_create(const hxrt_environment_options* options, hxrt_environment** environment);
HXRT_API void hxrt_environment_destroy(hxrt_environment* environment);

typedef struct hxrt_plugin_info {
  size_t struct_size;
  const char* path;
  const char* name;
  const char* version;
  uint32_t abi_major;
  uint32_t abi_minor;
  size_t num_devices;
} hxrt_plugin_info;

HXRT_API size_t hxrt_environment_plugin_count(const hxrt_environment* environment);
HXRT_API hxrt_status* hxrt_environment_get_plugin(const hxrt_environment* environment, size_t index,
                                                  hxrt_plugin_info* info);

/* Plugins that were found but could not be used: path and reason. */
HXRT_API size_t hxrt_environment_load_error_count(const hxrt_environment* environment);
HXRT_API hxrt_status* hxrt_environment_get_load_error(const hxrt_environment* environment, size_t index,
                                                      const char** path, const char** message);

typedef struct hxrt_device_info {
  size_t struct_size;
  const char* id;          /* stable within an environment: "cpu:0", "vulkan:1" */
  const char* name;
  const char* vendor;
  const char* plugin_name;
  hxrt_device_kind kind;
  uint64_t memory_bytes;
  double peak_flops_f32;
  double memory_bandwidth_bytes_per_s;
  int32_t host_addressable;
  /* The plugin's transfer model for this device (R6.1). */
  hxrt_transfer_costs transfer_costs;
  /* Added with plugin ABI 1.2 (callers built against an older hxrt.h pass a
   * smaller struct_size and still work):
   * non-zero when the device wraps host memory (buffer_wrap_host_memory):
   * it then reads inputs from and writes outputs to the caller's buffers
   * directly (when host_addressable), or copies them at pinned speed once
   * registered (hxrt_environment_register_host_memory). */
  int32_t can_wrap_host_memory;
} hxrt_device_info;

HXRT_API size_t hxrt_environment_device_count(const hxrt_environment* environment);
HXRT_API hxrt_status* hxrt_environment_get_device(const hxrt_environment* environment, size_t index,
                                                  hxrt_device_info* info);

/* ---- Host memory for inputs and outputs ------------------------------------ */

/* Allocates size_bytes of page-locked ("pinned") host memory through the
 * plugin of device_id, for run inputs and outputs: a GPU copies it at full
 * bus speed and asynchronously, so uploads and downloads overlap compute
 * (pageable memory is copied by the driver through its own staging, on the
 * host's time). device_id NULL: the first device that is not host-addressable
 * and offers pinned memory; when there is none, ordinary 64-byte aligned host
 * memory. Free it with hxrt_environment_free_host_memory before destroying
 * the environment (destroying the environment frees what is left). */
HXRT_API hxrt_status* hxrt_environment_allocate_host_memory(hxrt_environment* environment, const char* device_id,
                                                            size_t size_bytes, void** data);
HXRT_API hxrt_status* hxrt_environment_free_host_memory(hxrt_environment* environment, void* data);

/* Registers caller memory [data, data + size_bytes) with device_id (plugin
 * ABI 1.2 buffer_wrap_host_memory; CUDA: cudaHostRegister), so copies to and
 * from it run at pinned speed. device_id NULL: every device that can wrap host
 * memory and whose memory is not host memory (host-addressable and CPU-type
 * devices need no registration: they use the caller's buffers directly). The
 * memory must stay valid until
 * hxrt_environment_unregister_host_memory (or the environment is destroyed).
 * Registering memory of hxrt_environment_allocate_host_memory is not needed. */
HXRT_API hxrt_status* hxrt_environment_register_host_memory(hxrt_environment* environment, const char* device_id,
                                                            void* data, size_t size_bytes);
HXRT_API hxrt_status* hxrt_environment_unregister_host_memory(hxrt_environment* environment, void* data);

/* ---- Tensors -------------------------------------------------------------- */

/* A caller-owned dense tensor. For inputs `data` is read; for outputs the
 * caller provides `data` of `size_bytes` and the run writes it. */
typedef struct hxrt_tensor {
  size_t struct_size;
  const char* name;
  hxrt_dtype dtype;
  size_t rank;
  const int64_t* dims;
  void* data;
  size_t size_bytes;
} hxrt_tensor;

/* ---- Sessions ------------------------------------------------------------ */

typedef enum hxrt_objective {
  HXRT_OBJECTIVE_LATENCY = 0,   /* minimise one run's time */
  HXRT_OBJECTIVE_THROUGHPUT = 1 /* maximise runs per second */
} hxrt_objective;

typedef enum hxrt_placement_policy {
  /* hxrt's scheduler: every node where the plugins' cost estimates and the
   * transfer model predict the shortest run (the default). */
  HXRT_PLACEMENT_COST = 0,
  /* Each node on the first device that supports it, in the order of
   * allowed_devices (or GPUs, then FPGAs and others, then CPUs when none is given). */
  HXRT_PLACEMENT_PRIORITY = 1
} hxrt_placement_policy;

typedef struct hxrt_session_options {
  size_t struct_size;
  /* Devices the session may use, by id ("cpu:0") or plugin name ("cpu");
   * NULL/0 means every device. */
  const char* const* allowed_devices;
  size_t num_allowed_devices;
  hxrt_objective objective;
  /* Shapes for inputs whose dims are symbolic in the model (data ignored). */
  const hxrt_tensor* const* input_shapes;
  size_t num_input_shapes;
  /* Values for inputs that determine shapes (a Reshape's shape, Slice's
   * starts, Resize's sizes, reduction axes, ... fed as graph inputs). The
   * session turns those into constants, so they leave the run signature;
   * values given for any other input are ignored. */
  const hxrt_tensor* const* input_values;
  size_t num_input_values;
  hxrt_placement_policy placement;
  /* Measured op costs that override the plugins' estimates (hxrt_session_calibrate
   * writes them). NULL: $HXRT_PERF_MODEL, else ~/.cache/hxrt/perf-model.json;
   * "none": use no measurements. */
  const char* perf_model_path;
  /* Added after perf_model_path (callers with a smaller struct_size set no
   * limits): the most bytes the session may use on a device, weights plus the
   * planned activation memory of every request in flight. Placement keeps
   * within them; a session whose memory plan still exceeds one fails with
   * HXRT_STATUS_RESOURCE_EXHAUSTED naming the device. NULL/0: each device's
   * memory. */
  const char* const* memory_limit_devices;  /* device ids ("cuda:0") */
  const uint64_t* memory_limit_bytes;       /* one per device id */
  size_t num_memory_limits;
} hxrt_session_options;

typedef struct hxrt_session hxrt_session;

HXRT_API hxrt_status* hxrt_session_create_from_file(hxrt_environment* environment, const char* model_path,
                                                    const hxrt_session_options* options, hxrt_session** session);
HXRT_API hxrt_status* hxrt_session_create_from_bytes(hxrt_environment* environment, const void* model_bytes,
                                                     size_t model_size, const hxrt_session_options* options,
                                                     hxrt_session** session);
/* Must outlive nothing: the environment must outlive its sessions. */
HXRT_API void hxrt_session_destroy(hxrt_session* session);

/* Static input/output signature. Strings and dims stay valid for the session's life. */
typedef struct hxrt_value_info {
  size_t struct_size;
  const char* name;
  hxrt_dtype dtype;
  size_t rank;
  const int64_t* dims;
} hxrt_value_info;

HXRT_API size_t hxrt_session_input_count(const hxrt_session* session);
HXRT_API size_t hxrt_session_output_count(const hxrt_session* session);
HXRT_API hxrt_status* hxrt_session_get_input(const hxrt_session* session, size_t index, hxrt_value_info* info);
HXRT_API hxrt_status* hxrt_session_get_output(const hxrt_session* session, size_t index, hxrt_value_info* info);

/* Runs the model once. Every input must be given (by name); outputs may be a
 * subset. Blocks until the outputs are written. Safe to call from several
 * threads; runs of one session are serialised. */
HXRT_API hxrt_status* hxrt_session_run(hxrt_session* session, const hxrt_tensor* const* inputs, size_t num_inputs,
                                       hxrt_tensor* const* outputs, size_t num_outputs);

/* As hxrt_session_run, and writes the run's timeline as Chrome trace JSON
 * (opens in Perfetto) to trace_path: a track per device stream with each op
 * and copy (with bytes), host waits, and the predicted schedule beside it.
 * `summary` (may be NULL) receives a one-line comparison of predicted and
 * measured makespan and the share of transfer time hidden under compute. */
HXRT_API hxrt_status* hxrt_session_run_traced(hxrt_session* session, const hxrt_tensor* const* inputs, size_t num_inputs,
                                              hxrt_tensor* const* outputs, size_t num_outputs, const char* trace_path,
                                              char* summary, size_t summary_capacity);

/* Explains the session's plan: each node's device with every device's answer
 * (estimate, or why it cannot run the node), the predicted makespan and each
 * transfer. Writes up to text_capacity bytes of NUL-terminated text (text may
 * be NULL) and sets *text_size (may be NULL) to the full length. svg_path and
 * trace_path (each may be NULL) receive the predicted schedule as a Gantt
 * chart (SVG) and as Chrome trace JSON. */
HXRT_API hxrt_status* hxrt_session_explain(const hxrt_session* session, char* text, size_t text_capacity,
                                           size_t* text_size, const char* svg_path, const char* trace_path);

/* Runs the model `runs` times with tracing and records each node's measured
 * time on its device into the performance model at perf_model_path (NULL: the
 * default path), so later sessions place by measurement rather than estimate. */
HXRT_API hxrt_status* hxrt_session_calibrate(hxrt_session* session, const hxrt_tensor* const* inputs, size_t num_inputs,
                                             hxrt_tensor* const* outputs, size_t num_outputs, int32_t runs,
                                             const char* perf_model_path);

/* Where each node runs: the placement the session chose. */
typedef struct hxrt_node_placement {
  size_t struct_size;
  const char* node_name;
  const char* op_type;
  const char* device_id;
  double estimated_ns; /* the device's estimate */
} hxrt_node_placement;

HXRT_API size_t hxrt_session_node_count(const hxrt_session* session);
HXRT_API hxrt_status* hxrt_session_get_node_placement(const hxrt_session* session, size_t index,
                                                      hxrt_node_placement* placement);

/* Device memory the session planned: one arena per device in which tensors
 * with disjoint lifetimes share bytes (weights live inside executables). */
typedef struct hxrt_memory_stats {
  size_t struct_size;
  const char* device_id;
  uint64_t planned_bytes; /* allocated by this session */
  uint64_t naive_bytes;   /* what one buffer per tensor would need */
} hxrt_memory_stats;

HXRT_API size_t hxrt_session_memory_stats_count(const hxrt_session* session);
HXRT_API hxrt_status* hxrt_session_get_memory_stats(const hxrt_session* session, size_t index,
                                                    hxrt_memory_stats* stats);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HXRT_HXRT_H_ */
