#include "constant_folding.hpp"

#include <algorithm>

#include "abi_views.hpp"

namespace hxrt::host {

// Constant folding runs the node on a device (CPU-type ones first), so the
// host needs no kernels of its own.
std::vector<std::shared_ptr<const HostTensor>> fold_on_devices(const std::vector<DeviceRecord*>& devices,
                                                               const Graph& graph, const Node& node) {
  std::vector<DeviceRecord*> order = devices;
  std::stable_sort(order.begin(), order.end(), [](const DeviceRecord* a, const DeviceRecord* b) {
    return (a->kind == HXRT_DEVICE_KIND_CPU) > (b->kind == HXRT_DEVICE_KIND_CPU);
  });
  int node_index = static_cast<int>(&node - graph.nodes.data());
  SubgraphView view(graph, {node_index}, /*all_outputs=*/true);
  NodeView query(graph, node);
  for (DeviceRecord* device : order) {
    if (!query_support(*device, query.desc()).supported) continue;
    ExecutablePtr executable = compile(*device, view.desc(), "constant folding of '" + node.name + "'");
    std::vector<BufferPtr> buffers;
    std::vector<BufferSlice> raw;
    std::vector<std::shared_ptr<HostTensor>> results;
    for (int v : view.output_values()) {
      auto tensor = std::make_shared<HostTensor>();
      tensor->dtype = graph.values[v].dtype;
      tensor->shape = *graph.values[v].shape;
      tensor->bytes.resize(static_cast<size_t>(tensor->numel()) * dtype_size(tensor->dtype));
      buffers.push_back(allocate_buffer(*device, tensor->bytes.size()));
      raw.push_back({buffers.back().get(), 0});
      results.push_back(std::move(tensor));
    }
    StreamPtr stream = create_stream(*device);
    execute(*device, executable.get(), stream.get(), {}, raw, "constant folding of '" + node.name + "'");
    for (size_t i = 0; i < raw.size(); ++i)
      copy_to_host(*device, stream.get(), raw[i], results[i]->bytes.data(), results[i]->bytes.size());
    synchronize_stream(*device, stream.get(), "constant folding of '" + node.name + "'");
    // Map results back onto the node's output slots (omitted outputs stay null).
    std::vector<std::shared_ptr<const HostTensor>> by_slot(node.outputs.size());
    size_t next = 0;
    for (size_t slot = 0; slot < node.outputs.size(); ++slot)
      if (node.outputs[slot] >= 0) by_slot[slot] = results[next++];
    return by_slot;
  }
  return {};  // no device can fold it: it stays a runtime node
}

}  // namespace hxrt::host
