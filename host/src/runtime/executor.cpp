#include "executor.hpp"

#include <cstring>
#include <set>

#include <fmt/format.h>

#include "abi_views.hpp"

namespace hxrt::host {

Executor::Executor(const Graph& graph, std::vector<DeviceRecord*> devices, const Placement& placement,
                   const Logger& logger)
    : graph_(graph), devices_(std::move(devices)), logger_(logger) {
  home_.assign(graph.values.size(), -1);
  graph_input_slot_.assign(graph.values.size(), -1);
  for (size_t i = 0; i < graph.inputs.size(); ++i) graph_input_slot_[graph.inputs[i]] = static_cast<int>(i);
  std::set<int> used_devices;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    used_devices.insert(placement.device_of_node[n]);
    for (int v : graph.nodes[n].outputs)
      if (v >= 0) home_[v] = placement.device_of_node[n];
  }
  streams_.resize(devices_.size());
  for (int d : used_devices) streams_[d] = create_stream(*devices_[d]);

  std::set<std::pair<int, int>> resident;  // (value, device) already planned
  std::vector<Action> actions;
  // Inputs go up as soon as a run starts.
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    int d = placement.device_of_node[n];
    for (int v : graph.nodes[n].inputs) {
      if (v < 0 || graph.values[v].constant || graph_input_slot_[v] < 0) continue;
      if (!resident.insert({v, d}).second) continue;
      actions.push_back({ActionKind::kUpload, v, -1, d, -1, graph_input_slot_[v], nullptr});
      buffer_for(v, d);
    }
  }
  // Values that cross devices: staged right after they are produced.
  std::map<int, std::set<int>> consumers_elsewhere;  // value -> devices other than home
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (int v : graph.nodes[n].inputs)
      if (v >= 0 && home_[v] >= 0 && home_[v] != placement.device_of_node[n])
        consumers_elsewhere[v].insert(placement.device_of_node[n]);

  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    int d = placement.device_of_node[n];
    Step step{static_cast<int>(n), d, nullptr, {}, {}};
    SubgraphView view(graph, {static_cast<int>(n)}, /*all_outputs=*/true);
    for (int v : view.input_values()) {
      if (home_[v] >= 0 && home_[v] != d && !resident.count({v, d})) plan_value_on(v, d, actions);
      resident.insert({v, d});
      step.inputs.push_back(buffer_for(v, d));
    }
    for (int v : view.output_values()) step.outputs.push_back(buffer_for(v, d));
    std::string what = fmt::format("node '{}' ({})", node.name, node.op_type);
    step.executable = compile(*devices_[d], view.desc(), what);
    steps_.push_back(std::move(step));
    actions.push_back({ActionKind::kExecute, -1, -1, d, static_cast<int>(steps_.size() - 1), -1, nullptr});
    // Stage outputs other plugins need, and download graph outputs, as soon as produced.
    for (int v : node.outputs) {
      if (v < 0) continue;
      auto it = consumers_elsewhere.find(v);
      bool crosses_plugins = false;
      if (it != consumers_elsewhere.end())
        for (int c : it->second) crosses_plugins |= devices_[c]->plugin != devices_[d]->plugin;
      if (crosses_plugins) {
        events_.push_back(create_event(*devices_[d]));
        staging_[v].resize(static_cast<size_t>(bytes_of(v)));
        staging_event_[v] = events_.back().get();
        actions.push_back({ActionKind::kToStaging, v, d, -1, -1, -1, events_.back().get()});
      }
      for (size_t o = 0; o < graph.outputs.size(); ++o)
        if (graph.outputs[o] == v) actions.push_back({ActionKind::kDownloadOutput, v, d, -1, -1, static_cast<int>(o), nullptr});
    }
  }
  actions_ = std::move(actions);
}

Executor::~Executor() {
  // Let in-flight work finish before buffers and executables go away.
  for (size_t d = 0; d < streams_.size(); ++d) {
    if (!streams_[d]) continue;
    try {
      synchronize_stream(*devices_[d], streams_[d].get(), "stream failed while destroying a session");
    } catch (const Error& e) {
      logger_.warning(e.message());
    }
  }
}

int64_t Executor::bytes_of(int value) const {
  const Value& v = graph_.values[value];
  return element_count(*v.shape) * static_cast<int64_t>(dtype_size(v.dtype));
}

hxrt_buffer* Executor::buffer_for(int value, int device) {
  auto key = std::make_pair(value, device);
  auto it = buffers_.find(key);
  if (it == buffers_.end())
    it = buffers_.emplace(key, allocate_buffer(*devices_[device], static_cast<uint64_t>(bytes_of(value)))).first;
  return it->second.get();
}

void Executor::plan_value_on(int value, int device, std::vector<Action>& actions) {
  int from = home_[value];
  buffer_for(value, device);
  const hxrt_plugin_api& api = devices_[from]->plugin->api();
  if (devices_[from]->plugin == devices_[device]->plugin && api.copy_on_device != nullptr) {
    events_.push_back(create_event(*devices_[from]));
    actions.push_back({ActionKind::kPeerCopy, value, from, device, -1, -1, events_.back().get()});
    return;
  }
  if (!staging_.count(value)) {
    // Same plugin without a device-to-device path: stage it too.
    events_.push_back(create_event(*devices_[from]));
    staging_[value].resize(static_cast<size_t>(bytes_of(value)));
    staging_event_[value] = events_.back().get();
    // Insert the staging download right after the producer's execution.
    for (size_t i = 0; i < actions.size(); ++i) {
      if (actions[i].kind == ActionKind::kExecute) {
        const Node& producer = graph_.nodes[steps_[actions[i].step].node];
        for (int out : producer.outputs)
          if (out == value) {
            actions.insert(actions.begin() + static_cast<long>(i) + 1,
                           {ActionKind::kToStaging, value, from, -1, -1, -1, events_.back().get()});
            i = actions.size();
            break;
          }
      }
    }
  }
  actions.push_back({ActionKind::kFromStaging, value, from, device, -1, -1, staging_event_.at(value)});
}

void Executor::perform(const Action& a, const std::vector<const void*>& inputs, const std::vector<void*>& outputs) {
  uint64_t size = a.value >= 0 ? static_cast<uint64_t>(bytes_of(a.value)) : 0;
  switch (a.kind) {
    case ActionKind::kUpload:
      copy_to_device(*devices_[a.to], streams_[a.to].get(), inputs[a.slot], buffers_.at({a.value, a.to}).get(), size);
      break;
    case ActionKind::kExecute: {
      const Step& step = steps_[a.step];
      const Node& node = graph_.nodes[step.node];
      execute(*devices_[step.device], step.executable.get(), streams_[step.device].get(), step.inputs, step.outputs,
              fmt::format("executing node '{}' ({})", node.name, node.op_type));
      break;
    }
    case ActionKind::kToStaging:
      copy_to_host(*devices_[a.from], streams_[a.from].get(), buffers_.at({a.value, a.from}).get(),
                   staging_.at(a.value).data(), size);
      record_event(*devices_[a.from], a.event, streams_[a.from].get());
      break;
    case ActionKind::kFromStaging: {
      // The one place the host waits mid-run: a value crossing plugins.
      synchronize_event(*devices_[a.from], a.event, "waiting for a staged transfer");
      copy_to_device(*devices_[a.to], streams_[a.to].get(), staging_.at(a.value).data(),
                     buffers_.at({a.value, a.to}).get(), size);
      break;
    }
    case ActionKind::kPeerCopy:
      record_event(*devices_[a.from], a.event, streams_[a.from].get());
      wait_event(*devices_[a.to], streams_[a.to].get(), a.event);
      copy_on_device(*devices_[a.to], streams_[a.to].get(), buffers_.at({a.value, a.from}).get(),
                     buffers_.at({a.value, a.to}).get(), size);
      break;
    case ActionKind::kDownloadOutput:
      if (outputs[a.slot] != nullptr)
        copy_to_host(*devices_[a.from], streams_[a.from].get(), buffers_.at({a.value, a.from}).get(),
                     outputs[a.slot], size);
      break;
  }
}

void Executor::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) {
  std::lock_guard lock(run_mutex_);
  std::optional<Error> first_error;
  try {
    for (const Action& action : actions_) perform(action, inputs, outputs);
  } catch (const Error& e) {
    first_error = e;
  }
  // Always drain every stream, so no work still touches caller memory after we return.
  for (size_t d = 0; d < streams_.size(); ++d) {
    if (!streams_[d]) continue;
    try {
      synchronize_stream(*devices_[d], streams_[d].get(), "run failed");
    } catch (const Error& e) {
      if (!first_error) first_error = e;
    }
  }
  if (first_error) throw *first_error;
  // Outputs that no device produces: constants and pass-through inputs.
  for (size_t o = 0; o < graph_.outputs.size(); ++o) {
    int v = graph_.outputs[o];
    if (outputs[o] == nullptr || home_[v] >= 0) continue;
    const Value& value = graph_.values[v];
    if (value.constant) std::memcpy(outputs[o], value.constant->bytes.data(), value.constant->bytes.size());
    else if (graph_input_slot_[v] >= 0) std::memcpy(outputs[o], inputs[graph_input_slot_[v]], static_cast<size_t>(bytes_of(v)));
  }
}

}  // namespace hxrt::host
