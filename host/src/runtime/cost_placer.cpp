#include "cost_placer.hpp"

#include <map>

namespace hxrt::host {
namespace {

sched::Link link_of(const hxrt_link_cost& cost) {
  sched::Link link;
  link.latency_ns = cost.latency_ns;
  link.bytes_per_ns = cost.bandwidth_bytes_per_s > 0 ? cost.bandwidth_bytes_per_s / 1e9 : sched::kInf;
  return link;
}

const char* kind_name(hxrt_device_kind kind) {
  switch (kind) {
    case HXRT_DEVICE_KIND_CPU: return "cpu";
    case HXRT_DEVICE_KIND_GPU: return "gpu";
    default: return "other";
  }
}

double value_bytes(const Value& v) {
  return v.shape ? static_cast<double>(element_count(*v.shape)) * static_cast<double>(dtype_size(v.dtype)) : 0.0;
}

}  // namespace

sched::Instance make_instance(const Graph& graph, const std::vector<DeviceRecord*>& devices,
                              const SupportTable& table) {
  sched::Instance instance;
  for (size_t i = 0; i < devices.size(); ++i) {
    const DeviceRecord* d = devices[i];
    double capacity = d->memory_bytes > 0 ? static_cast<double>(d->memory_bytes) : sched::kInf;
    if (i < table.memory_capacity.size()) capacity = std::min(capacity, table.memory_capacity[i]);
    instance.devices.push_back({d->id, d->plugin->name(), kind_name(d->kind), capacity});
  }
  std::vector<int> producer(graph.values.size(), -1);
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (int v : graph.nodes[n].outputs)
      if (v >= 0) producer[v] = static_cast<int>(n);
  std::map<std::pair<int, int>, double> edge_bytes;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    sched::Task task;
    task.name = node.name;
    task.op = node.op_type;
    for (size_t d = 0; d < devices.size(); ++d) {
      const SupportAnswer& a = table.support[n][d];
      task.cost_ns.push_back(a.supported ? a.estimated_ns : sched::kInf);
    }
    for (int v : node.inputs) {
      if (v < 0) continue;
      if (graph.values[v].constant) task.weight_bytes += value_bytes(graph.values[v]);
      else if (producer[v] >= 0) edge_bytes[{producer[v], static_cast<int>(n)}] += value_bytes(graph.values[v]);
    }
    for (int v : node.outputs)
      if (v >= 0) task.output_bytes += value_bytes(graph.values[v]);
    instance.tasks.push_back(std::move(task));
  }
  for (const auto& [ends, bytes] : edge_bytes) instance.edges.push_back({ends.first, ends.second, bytes});
  // Different plugins meet in pinned host memory: both hops count. Devices of
  // one plugin copy directly at the source's device-to-device rate.
  auto costs = [&](size_t d) -> const hxrt_transfer_costs& {
    return table.transfer_costs.empty() ? devices[d]->transfer_costs : table.transfer_costs[d];
  };
  std::vector<sched::HostHop> hops;
  for (size_t d = 0; d < devices.size(); ++d)
    hops.push_back({link_of(costs(d).device_to_host_pinned), link_of(costs(d).host_to_device_pinned)});
  sched::set_links_via_host(instance, hops);
  for (size_t a = 0; a < devices.size(); ++a)
    for (size_t b = 0; b < devices.size(); ++b)
      if (a != b && devices[a]->plugin == devices[b]->plugin)
        instance.link(static_cast<int>(a), static_cast<int>(b)) = link_of(costs(a).device_to_device);
  instance.finalize();
  return instance;
}

Placement CostPlacer::place(const Graph& graph, const std::vector<DeviceRecord*>& devices, const SupportTable& table) {
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    bool any = false;
    for (const auto& answer : table.support[n]) any |= answer.supported;
    if (!any) throw unsupported_node_error(graph, static_cast<int>(n), devices, table);
  }
  Placement placement;
  if (graph.nodes.empty()) return placement;
  sched::Instance instance = make_instance(graph, devices, table);
  sched::Result result = sched::schedule(instance, options_);
  last_ = result.best;
  placement.device_of_node = result.best.device;
  for (const auto& d : result.best.duplicates) placement.duplicates.emplace_back(d.task, d.device);
  return placement;
}

}  // namespace hxrt::host
