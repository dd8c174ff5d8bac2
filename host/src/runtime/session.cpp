#include "session.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "abi_views.hpp"
#include "graph/onnx_import.hpp"
#include "graph/shape_inference.hpp"

namespace hxrt::host {

Session::Session(Environment& environment, const void* model_bytes, size_t model_size, const SessionConfig& config)
    : environment_(environment), devices_(select_devices(config)) {
  graph_ = import_onnx_model(model_bytes, model_size);
  set_input_shapes(graph_, config.input_shapes);
  infer_shapes(graph_, [this](const Graph& g, const Node& n) { return fold(g, n); });

  SupportTable table = query_support_table(graph_, devices_);
  std::shared_ptr<Placer> placer = config.placer ? config.placer : std::make_shared<PriorityPlacer>();
  Placement placement = placer->place(graph_, devices_, table);
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    int d = placement.device_of_node[n];
    placements_.push_back({graph_.nodes[n].name, graph_.nodes[n].op_type, devices_[d]->id,
                           table.support[n][d].estimated_ns});
  }
  executor_ = std::make_unique<Executor>(graph_, devices_, placement, environment_.logger());
}

Session::~Session() = default;

std::vector<DeviceRecord*> Session::select_devices(const SessionConfig& config) const {
  std::vector<DeviceRecord*> chosen;
  std::set<std::string> unmatched(config.allowed_devices.begin(), config.allowed_devices.end());
  for (DeviceRecord* device : environment_.devices()) {
    if (config.allowed_devices.empty()) {
      chosen.push_back(device);
      continue;
    }
    for (const auto& wanted : config.allowed_devices) {
      if (wanted == device->id || wanted == device->plugin->name()) {
        chosen.push_back(device);
        unmatched.erase(wanted);
        break;
      }
    }
  }
  if (!unmatched.empty()) {
    std::string available;
    for (DeviceRecord* device : environment_.devices()) available += (available.empty() ? "" : ", ") + device->id;
    throw Error(HXRT_STATUS_NOT_FOUND, fmt::format("device '{}' is not available (devices: {})", *unmatched.begin(),
                                                   available.empty() ? "none" : available));
  }
  if (chosen.empty()) {
    std::string reasons;
    for (const auto& e : environment_.load_errors()) reasons += "\n  " + e.message;
    throw Error(HXRT_STATUS_UNAVAILABLE,
                "no devices are available: no plugin with devices was loaded" + (reasons.empty() ? "" : ":" + reasons));
  }
  return chosen;
}

// Constant folding runs the node on a device (CPU-type ones first), so the
// host needs no kernels of its own.
std::vector<std::shared_ptr<const HostTensor>> Session::fold(const Graph& graph, const Node& node) {
  std::vector<DeviceRecord*> order = devices_;
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
    std::vector<hxrt_buffer*> raw;
    std::vector<std::shared_ptr<HostTensor>> results;
    for (int v : view.output_values()) {
      auto tensor = std::make_shared<HostTensor>();
      tensor->dtype = graph.values[v].dtype;
      tensor->shape = *graph.values[v].shape;
      tensor->bytes.resize(static_cast<size_t>(tensor->numel()) * dtype_size(tensor->dtype));
      buffers.push_back(allocate_buffer(*device, tensor->bytes.size()));
      raw.push_back(buffers.back().get());
      results.push_back(std::move(tensor));
    }
    StreamPtr stream = create_stream(*device);
    hxrt_executable_execute_args args{};
    args.struct_size = sizeof(args);
    args.executable = executable.get();
    args.stream = stream.get();
    args.num_outputs = raw.size();
    args.output_buffers = raw.data();
    device->plugin->check(device->plugin->api().executable_execute(&args), "constant folding of '" + node.name + "'");
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

void Session::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) {
  if (inputs.size() != graph_.inputs.size() || outputs.size() != graph_.outputs.size())
    throw Error(HXRT_STATUS_INVALID_ARGUMENT, "run: wrong number of inputs or outputs");
  executor_->run(inputs, outputs);
}

void Session::run(const std::map<std::string, const void*>& inputs, const std::map<std::string, void*>& outputs) {
  std::vector<const void*> in(graph_.inputs.size(), nullptr);
  std::vector<void*> out(graph_.outputs.size(), nullptr);
  for (const auto& [name, data] : inputs) {
    auto it = std::find_if(graph_.inputs.begin(), graph_.inputs.end(),
                           [&](int v) { return graph_.values[v].name == name; });
    if (it == graph_.inputs.end()) throw Error(HXRT_STATUS_INVALID_ARGUMENT, "run: the model has no input '" + name + "'");
    in[static_cast<size_t>(it - graph_.inputs.begin())] = data;
  }
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i] == nullptr)
      throw Error(HXRT_STATUS_INVALID_ARGUMENT, "run: input '" + graph_.values[graph_.inputs[i]].name + "' is missing");
  for (const auto& [name, data] : outputs) {
    auto it = std::find_if(graph_.outputs.begin(), graph_.outputs.end(),
                           [&](int v) { return graph_.values[v].name == name; });
    if (it == graph_.outputs.end())
      throw Error(HXRT_STATUS_INVALID_ARGUMENT, "run: the model has no output '" + name + "'");
    out[static_cast<size_t>(it - graph_.outputs.begin())] = data;
  }
  executor_->run(in, out);
}

}  // namespace hxrt::host
