// Argument checks every plugin makes on the ABI's descriptors (R2.3, R3.3,
// R5.1, R6): one implementation, so every plugin answers bad input alike.
#pragma once

#include <cstddef>

#include "hxrt/plugin_abi.h"

// The size a struct had in ABI 1.0: up to and including its last 1.0 field
// (docs/abi.md lists them). Checking against it, not sizeof, keeps 1.0 callers working.
#define HXRT_V1_SIZE(type, last_field) (offsetof(type, last_field) + sizeof(((type*)nullptr)->last_field))
// The two arguments require_struct_size wants: the 1.0 size and the struct's name.
#define HXRT_V1_ARGS(type, last_field) HXRT_V1_SIZE(type, last_field), #type

namespace hxrt::plugin {

// A node descriptor with its tensors and attributes; throws PluginError(INVALID_ARGUMENT).
void check_node(const hxrt_node_desc* node);
// A graph descriptor, every node in it, and every value index; throws PluginError(INVALID_ARGUMENT).
void check_graph(const hxrt_graph_desc* graph);
// The dense byte size of a tensor; throws on a negative or missing dimension.
size_t value_bytes(const hxrt_tensor_desc& desc);

// The whole of hxrt_plugin_negotiate for a plugin built against this header
// (R1): refuses another major with a message naming both versions (never
// allocates), otherwise answers this version and `table`.
hxrt_status_code negotiate(hxrt_plugin_negotiate_args* args, const hxrt_plugin_api& table);

}  // namespace hxrt::plugin
