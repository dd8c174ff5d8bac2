/* Test plugin: claims success but answers ABI major 7; the host must refuse it itself. */
#include "hxrt/plugin_abi.h"

static const hxrt_plugin_api empty_table = {.struct_size = sizeof(hxrt_plugin_api), .abi_major = 7};

HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args) {
  args->plugin_abi_major = 7;
  args->plugin_abi_minor = 0;
  args->api = &empty_table;
  return HXRT_STATUS_OK;
}
