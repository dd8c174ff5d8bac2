/* Test plugin: implements a future ABI major (2.0), so it must refuse a 1.x host. */
#include <stdio.h>

#include "hxrt/plugin_abi.h"

HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args) {
  if (args == NULL) return HXRT_STATUS_INVALID_ARGUMENT;
  args->plugin_abi_major = 2;
  args->plugin_abi_minor = 0;
  args->api = NULL;
  if (args->message != NULL && args->message_capacity > 0)
    snprintf(args->message, args->message_capacity, "plugin implements ABI 2.0, host speaks %u.%u",
             args->host_abi_major, args->host_abi_minor);
  return HXRT_STATUS_VERSION_MISMATCH;
}
