// Placement: which device runs each node. The session asks a Placer; the
// cost-driven scheduler plugs in behind the same interface.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "device_objects.hpp"
#include "graph/ir.hpp"

namespace hxrt::host {

// What every device answered for every node: support[node][device].
struct SupportTable {
  std::vector<std::vector<SupportAnswer>> support;
  // Per device (the session's order): the transfer costs placement uses — the
  // plugin's answer, refined by measurements where the performance model has
  // them. Empty: each device's own answer.
  std::vector<hxrt_transfer_costs> transfer_costs;
  // Per device: the bytes placement may plan for weights and activations.
  // Empty: each device's memory_bytes. A session lowers an entry when the
  // executor's memory plan needs more than the scheduler's model predicted.
  std::vector<double> memory_capacity;
};

struct Placement {
  std::vector<int> device_of_node;  // index into the session's device list
  // (node, device): the node also runs on that device, for its readers there,
  // because recomputing it costs less than the transfer (the scheduler's
  // duplication). The session turns each into a copy of the node.
  std::vector<std::pair<int, int>> duplicates;
};

class Placer {
 public:
  virtual ~Placer() = default;
  virtual Placement place(const Graph& graph, const std::vector<DeviceRecord*>& devices,
                          const SupportTable& table) = 0;
};

// Every node on the highest-priority device that supports it. With
// `list_order`, priority is the order of the device list (the caller's
// allowed_devices); otherwise GPUs, then FPGAs and other accelerators, then
// CPUs, ties keeping discovery order.
class PriorityPlacer final : public Placer {
 public:
  explicit PriorityPlacer(bool list_order = false) : list_order_(list_order) {}
  Placement place(const Graph& graph, const std::vector<DeviceRecord*>& devices, const SupportTable& table) override;

 private:
  bool list_order_;
};

int device_priority(hxrt_device_kind kind);  // larger runs first

// Queries every device for every node.
SupportTable query_support_table(const Graph& graph, const std::vector<DeviceRecord*>& devices);

// The error for a node no device supports: names the node, op and each device's reason.
Error unsupported_node_error(const Graph& graph, int node, const std::vector<DeviceRecord*>& devices,
                             const SupportTable& table);

}  // namespace hxrt::host
