/* Test plugin: depends on a symbol no library provides, so dlopen itself fails. */
#include "hxrt/plugin_abi.h"

extern int hxrt_test_symbol_that_does_not_exist(void);

HXRT_PLUGIN_EXPORT hxrt_status_code hxrt_plugin_negotiate(hxrt_plugin_negotiate_args* args) {
  (void)args;
  return (hxrt_status_code)hxrt_test_symbol_that_does_not_exist();
}
