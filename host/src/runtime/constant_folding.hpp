// Constant folding on a device: a node whose inputs are all constant runs once
// on a device (CPU-type ones first) and its outputs become constants, so the
// host needs no kernels of its own.
#pragma once

#include <memory>
#include <vector>

#include "device_objects.hpp"
#include "graph/ir.hpp"

namespace hxrt::host {

// Returns one tensor per output slot (null for omitted outputs), or an empty
// vector when no device supports the node (it then stays a runtime node).
std::vector<std::shared_ptr<const HostTensor>> fold_on_devices(const std::vector<DeviceRecord*>& devices,
                                                               const Graph& graph, const Node& node);

}  // namespace hxrt::host
