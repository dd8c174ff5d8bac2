/* Compiled as strict C11: proves the ABI headers are plain C, and checks the
 * layout promises of docs/abi.md that a C compiler can see. */
#include <stdio.h>
#include <string.h>

#include "hxrt/plugin_abi.h"

static int failures = 0;
#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                \
    }                                                            \
  } while (0)

int main(void) {
  /* R2.1: every args struct and table starts with struct_size. */
  CHECK(offsetof(hxrt_plugin_api, struct_size) == 0);
  CHECK(offsetof(hxrt_plugin_negotiate_args, struct_size) == 0);
  CHECK(offsetof(hxrt_tensor_desc, struct_size) == 0);
  CHECK(offsetof(hxrt_node_desc, struct_size) == 0);
  CHECK(offsetof(hxrt_graph_desc, struct_size) == 0);
  CHECK(offsetof(hxrt_device_properties, struct_size) == 0);
  CHECK(offsetof(hxrt_executable_execute_args, struct_size) == 0);

  /* R2.3: the field-presence macro answers by size. */
  CHECK(HXRT_STRUCT_HAS_FIELD(sizeof(hxrt_device_properties), hxrt_device_properties, compute_units));
  CHECK(!HXRT_STRUCT_HAS_FIELD(offsetof(hxrt_device_properties, compute_units), hxrt_device_properties,
                               compute_units));

  /* Enumerations equal ONNX's numbering. */
  CHECK(HXRT_DTYPE_FLOAT32 == 1 && HXRT_DTYPE_INT64 == 7 && HXRT_DTYPE_BOOL == 9 && HXRT_DTYPE_BFLOAT16 == 16);
  CHECK(HXRT_ATTRIBUTE_INTS == 7 && HXRT_ATTRIBUTE_TENSOR == 4);
  CHECK(HXRT_STATUS_OK == 0);
  CHECK(strcmp(HXRT_PLUGIN_ENTRY_SYMBOL, "hxrt_plugin_negotiate") == 0);

  if (failures == 0) printf("abi_c11_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
