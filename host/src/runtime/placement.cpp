#include "placement.hpp"

#include <fmt/format.h>

#include "abi_views.hpp"

namespace hxrt::host {

int device_priority(hxrt_device_kind kind) {
  switch (kind) {
    case HXRT_DEVICE_KIND_GPU: return 3;
    case HXRT_DEVICE_KIND_FPGA: return 2;
    case HXRT_DEVICE_KIND_OTHER: return 1;
    default: return 0;  // CPU: the fallback
  }
}

SupportTable query_support_table(const Graph& graph, const std::vector<DeviceRecord*>& devices) {
  SupportTable table;
  table.support.resize(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    NodeView view(graph, graph.nodes[n]);
    for (const DeviceRecord* device : devices) table.support[n].push_back(query_support(*device, view.desc()));
  }
  return table;
}

Error unsupported_node_error(const Graph& graph, int node, const std::vector<DeviceRecord*>& devices,
                             const SupportTable& table) {
  const Node& n = graph.nodes[node];
  std::string reasons;
  for (size_t d = 0; d < devices.size(); ++d)
    reasons += fmt::format("\n  {}: {}", devices[d]->id, table.support[node][d].message);
  if (devices.empty()) reasons = " (no devices are available)";
  return Error(HXRT_STATUS_UNIMPLEMENTED, fmt::format("no device supports node '{}' (op {} opset {}):{}", n.name,
                                                      n.op_type, n.opset, reasons));
}

Placement PriorityPlacer::place(const Graph& graph, const std::vector<DeviceRecord*>& devices,
                                const SupportTable& table) {
  Placement placement;
  placement.device_of_node.assign(graph.nodes.size(), -1);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    int best = -1;
    for (size_t d = 0; d < devices.size(); ++d) {
      if (!table.support[n][d].supported) continue;
      if (best < 0 || (!list_order_ && device_priority(devices[d]->kind) > device_priority(devices[best]->kind)))
        best = static_cast<int>(d);
    }
    if (best < 0) throw unsupported_node_error(graph, static_cast<int>(n), devices, table);
    placement.device_of_node[n] = best;
  }
  return placement;
}

}  // namespace hxrt::host
