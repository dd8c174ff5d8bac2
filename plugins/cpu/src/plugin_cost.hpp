// A simple roofline cost model for one node on the CPU device.
#pragma once

#include "hxrt/plugin_support/node_reader.hpp"

namespace hxrt::cpu {

// Estimated execution time in ns: flops / peak + bytes / bandwidth + a fixed
// per-node overhead. Always > 0 and finite; grows with the tensors' sizes.
double estimate_node_ns(const plugin::NodeReader& node, double peak_flops, double bandwidth_bytes_per_s);

}  // namespace hxrt::cpu
