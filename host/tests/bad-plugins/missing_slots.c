/* Test plugin: negotiates fine but leaves mandatory slots NULL. */
#include "hxrt/plugin_abi.h"

static const hxrt_plugin_identity identity = {
    .struct_size = sizeof(hxrt_plugin_identity), .name = "missing-slots", .version = "0.0.1", .abi_major = 1};
static const hxrt_plugin_api table = {
    .struct_size = sizeof(hxrt_plugin_api), .abi_major = 1, .identity = &identity};

HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args) {
  args->plugin_abi_major = 1;
  args->plugin_abi_minor = 0;
  args->api = &table;
  return HXRT_STATUS_OK;
}
