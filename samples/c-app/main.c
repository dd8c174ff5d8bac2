/* hxrt C sample: load an ONNX model, run it once on the available devices
 * with inputs of 0.5, and print each output's shape and first values.
 *
 *   hxrt-sample-c MODEL.onnx
 *
 * Uses only the public C API (hxrt/hxrt.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hxrt/hxrt.h"

static int report(hxrt_status* status, const char* what) {
  if (status == NULL) return 0;
  fprintf(stderr, "%s failed: %s: %s\n", what, hxrt_status_code_name(hxrt_status_get_code(status)),
          hxrt_status_get_message(status));
  hxrt_status_free(status);
  return 1;
}

static size_t element_count(const hxrt_value_info* info) {
  size_t n = 1;
  for (size_t i = 0; i < info->rank; ++i) n *= (size_t)info->dims[i];
  return n;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
    return 2;
  }
  hxrt_environment* env = NULL;
  if (report(hxrt_environment_create(NULL, &env), "creating the environment")) return 1;
  printf("hxrt %s: %zu device(s)\n", hxrt_version(), hxrt_environment_device_count(env));

  hxrt_session* session = NULL;
  if (report(hxrt_session_create_from_file(env, argv[1], NULL, &session), "creating the session")) {
    hxrt_environment_destroy(env);
    return 1;
  }

  size_t n_in = hxrt_session_input_count(session), n_out = hxrt_session_output_count(session);
  hxrt_tensor* inputs = calloc(n_in, sizeof(hxrt_tensor));
  hxrt_tensor* outputs = calloc(n_out, sizeof(hxrt_tensor));
  const hxrt_tensor** input_ptrs = calloc(n_in, sizeof(hxrt_tensor*));
  hxrt_tensor** output_ptrs = calloc(n_out, sizeof(hxrt_tensor*));
  int failed = inputs == NULL || outputs == NULL || input_ptrs == NULL || output_ptrs == NULL;

  for (size_t i = 0; i < n_in && !failed; ++i) {
    hxrt_value_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    failed = report(hxrt_session_get_input(session, i, &info), "reading an input");
    if (failed) break;
    if (info.dtype != HXRT_DTYPE_FLOAT32) {
      fprintf(stderr, "input '%s' is not float32; this sample only fills float32 inputs\n", info.name);
      failed = 1;
      break;
    }
    size_t n = element_count(&info);
    float* data = malloc(n * sizeof(float) + 1);
    for (size_t k = 0; data != NULL && k < n; ++k) data[k] = 0.5f;
    inputs[i] = (hxrt_tensor){sizeof(hxrt_tensor), info.name, info.dtype, info.rank, info.dims, data, n * sizeof(float)};
    input_ptrs[i] = &inputs[i];
    failed = data == NULL;
  }
  for (size_t i = 0; i < n_out && !failed; ++i) {
    hxrt_value_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    failed = report(hxrt_session_get_output(session, i, &info), "reading an output");
    if (failed || info.dtype != HXRT_DTYPE_FLOAT32) {
      failed = 1;
      break;
    }
    size_t n = element_count(&info);
    void* data = malloc(n * sizeof(float) + 1);
    outputs[i] = (hxrt_tensor){sizeof(hxrt_tensor), info.name, info.dtype, info.rank, info.dims, data, n * sizeof(float)};
    output_ptrs[i] = &outputs[i];
    failed = data == NULL;
  }
  if (!failed) failed = report(hxrt_session_run(session, input_ptrs, n_in, output_ptrs, n_out), "running");
  for (size_t i = 0; i < n_out && !failed; ++i) {
    const float* values = outputs[i].data;
    printf("output '%s' [", outputs[i].name);
    for (size_t d = 0; d < outputs[i].rank; ++d) printf("%s%lld", d ? "," : "", (long long)outputs[i].dims[d]);
    printf("]:");
    for (size_t k = 0; k < 5 && k < outputs[i].size_bytes / sizeof(float); ++k) printf(" %g", values[k]);
    printf(" ...\n");
  }
  size_t nodes = hxrt_session_node_count(session);
  for (size_t i = 0; i < nodes && i < 3 && !failed; ++i) {
    hxrt_node_placement p;
    memset(&p, 0, sizeof(p));
    p.struct_size = sizeof(p);
    if (hxrt_session_get_node_placement(session, i, &p) == NULL)
      printf("node %s (%s) runs on %s\n", p.node_name, p.op_type, p.device_id);
  }
  for (size_t i = 0; i < n_in; ++i) free(inputs[i].data);
  for (size_t i = 0; i < n_out; ++i) free(outputs[i].data);
  free(inputs);
  free(outputs);
  free(input_ptrs);
  free(output_ptrs);
  hxrt_session_destroy(session);
  hxrt_environment_destroy(env);
  return failed ? 1 : 0;
}
