#include "executor.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "abi_views.hpp"
#include "executor_state.hpp"

namespace hxrt::host {

Executor::Executor(const Graph& graph, std::vector<DeviceRecord*> devices, const Placement& placement,
                   std::vector<double> estimated_ns, const Logger& logger, ExecutorOptions options)
    : graph_(graph), devices_(std::move(devices)), logger_(logger), options_(options),
      estimated_ns_(std::move(estimated_ns)) {
  home_.assign(graph.values.size(), -1);
  graph_input_slot_.assign(graph.values.size(), -1);
  device_used_.assign(devices_.size(), false);
  for (size_t i = 0; i < graph.inputs.size(); ++i) graph_input_slot_[graph.inputs[i]] = static_cast<int>(i);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    device_used_[placement.device_of_node[n]] = true;
    for (int v : graph.nodes[n].outputs)
      if (v >= 0) home_[v] = placement.device_of_node[n];
  }

  std::set<Key> resident;  // (value, device) pairs some action fills
  std::vector<Action> actions;
  // Inputs go up as soon as a run starts.
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    int d = placement.device_of_node[n];
    for (int v : graph.nodes[n].inputs) {
      if (v < 0 || graph.values[v].constant || graph_input_slot_[v] < 0) continue;
      if (resident.insert({v, d}).second) actions.push_back({ActionKind::kUpload, v, -1, d, -1, graph_input_slot_[v]});
    }
  }
  // Values that cross plugins are staged right after they are produced.
  std::map<int, std::set<int>> consumers_elsewhere;  // value -> devices other than home
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (int v : graph.nodes[n].inputs)
      if (v >= 0 && home_[v] >= 0 && home_[v] != placement.device_of_node[n])
        consumers_elsewhere[v].insert(placement.device_of_node[n]);

  for (const std::vector<int>& group : group_nodes(placement)) {
    int d = placement.device_of_node[group.front()];
    Step step{group, d, nullptr, {}, {}};
    // A lone node compiles every output (unused ones too); a group exposes
    // only what is read outside it, the rest stays inside the executable.
    SubgraphView view(graph, group, /*all_outputs=*/group.size() == 1);
    for (int v : view.input_values()) {
      if (home_[v] >= 0 && home_[v] != d && resident.insert({v, d}).second) plan_transfer(v, d, actions);
      step.inputs.push_back({v, d});
    }
    for (int v : view.output_values()) step.outputs.push_back({v, d});
    step.executable = compile(*devices_[d], view.desc(), step_name(step));
    steps_.push_back(std::move(step));
    actions.push_back({ActionKind::kExecute, -1, -1, d, static_cast<int>(steps_.size() - 1), -1});
    for (int v : view.output_values()) {
      auto it = consumers_elsewhere.find(v);
      bool crosses_plugins = false;
      if (it != consumers_elsewhere.end())
        for (int c : it->second) crosses_plugins |= devices_[c]->plugin != devices_[d]->plugin;
      if (crosses_plugins) {
        staged_values_[v] = d;
        actions.push_back({ActionKind::kToStaging, v, d, -1, -1, -1});
      }
      for (size_t o = 0; o < graph.outputs.size(); ++o)
        if (graph.outputs[o] == v) actions.push_back({ActionKind::kDownloadOutput, v, d, -1, -1, static_cast<int>(o)});
    }
  }
  actions_ = std::move(actions);
  // How each crossing value travels: one hop where either side's arena is host memory.
  for (const auto& [value, from] : staged_values_) {
    Crossing& x = crossings_[value];
    x.from = from;
    x.source_direct = arena_in_host_memory(from);
    for (const Action& a : actions_) {
      if (a.kind != ActionKind::kFromStaging || a.value != value || x.source_direct) continue;
      if (arena_in_host_memory(a.to)) x.direct_to.insert(a.to);
      else x.needs_staging = true;
    }
  }
  step_signals_.assign(steps_.size(), false);
  for (size_t s = 0; s < steps_.size(); ++s)
    for (const Key& k : steps_[s].outputs) producer_step_[k] = static_cast<int>(s);
  for (const Action& a : actions_)
    if (a.kind == ActionKind::kDownloadOutput || a.kind == ActionKind::kToStaging || a.kind == ActionKind::kPeerCopy)
      step_signals_[producer_step_.at({a.value, a.from})] = true;
  plan_lanes();
  plan_memory();
  int contexts = std::max(1, options_.runs_in_flight);
  for (int i = 0; i < contexts; ++i) {
    contexts_.push_back(make_context());
    idle_.push_back(contexts_.back().get());
  }
}

Executor::~Executor() {
  // Let in-flight work finish before arenas and executables go away.
  for (auto& c : contexts_)
    for (size_t s = 0; s < c->streams.size(); ++s) {
      if (!c->streams[s]) continue;
      try {
        synchronize_stream(*devices_[s / kRoles], c->streams[s].get(), "stream failed while destroying a session");
      } catch (const Error& e) {
        logger_.warning(e.message());
      }
    }
}

std::vector<std::vector<int>> Executor::group_nodes(const Placement& placement) const {
  std::vector<int64_t> claim(graph_.nodes.size(), -1);
  for (size_t d = 0; d < devices_.size(); ++d) {
    const DeviceRecord& device = *devices_[d];
    if (device.plugin->api().claim_subgraph == nullptr) continue;
    std::vector<int> on_device;
    for (size_t n = 0; n < graph_.nodes.size(); ++n)
      if (placement.device_of_node[n] == static_cast<int>(d)) on_device.push_back(static_cast<int>(n));
    if (on_device.size() < 2) continue;
    SubgraphView view(graph_, on_device, /*all_outputs=*/false);
    std::vector<int64_t> group_of(on_device.size(), -1);
    hxrt_claim_subgraph_args args{};
    args.struct_size = sizeof(args);
    args.device = device.handle;
    args.graph = view.desc();
    args.group_of_node = group_of.data();
    hxrt_plugin_status* status = device.plugin->api().claim_subgraph(&args);
    if (status != nullptr) {  // a failed claim only costs the fusion
      logger_.warning(device.id + ": claim_subgraph failed: " + device.plugin->api().status_get_message(status));
      device.plugin->api().status_destroy(status);
      continue;
    }
    for (size_t i = 0; i < on_device.size(); ++i) claim[on_device[i]] = group_of[i];
  }
  std::vector<std::vector<int>> groups;
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    int node = static_cast<int>(n);
    bool joins = !groups.empty() && claim[n] >= 0 && claim[groups.back().back()] == claim[n] &&
                 placement.device_of_node[groups.back().back()] == placement.device_of_node[n];
    if (joins) groups.back().push_back(node);
    else groups.push_back({node});
  }
  return groups;
}

std::string Executor::step_name(const Step& step) const {
  const Node& first = graph_.nodes[step.nodes.front()];
  std::string name = fmt::format("node '{}' ({})", first.name, first.op_type);
  if (step.nodes.size() > 1) name += fmt::format(" + {} fused", step.nodes.size() - 1);
  return name;
}

int64_t Executor::bytes_of(int value) const {
  const Value& v = graph_.values[value];
  return element_count(*v.shape) * static_cast<int64_t>(dtype_size(v.dtype));
}

void Executor::plan_transfer(int value, int device, std::vector<Action>& actions) {
  int from = home_[value];
  if (devices_[from]->plugin == devices_[device]->plugin && devices_[from]->plugin->api().copy_on_device != nullptr) {
    actions.push_back({ActionKind::kPeerCopy, value, from, device, -1, -1});
    return;
  }
  if (!staged_values_.count(value)) {
    // Same plugin without a device-to-device path: stage right after the producer.
    staged_values_[value] = from;
    for (size_t i = 0; i < actions.size(); ++i) {
      if (actions[i].kind != ActionKind::kExecute) continue;
      const auto& produced = steps_[actions[i].step].outputs;
      if (std::find(produced.begin(), produced.end(), Key{value, from}) == produced.end()) continue;
      actions.insert(actions.begin() + static_cast<long>(i) + 1, {ActionKind::kToStaging, value, from, -1, -1, -1});
      break;
    }
  }
  actions.push_back({ActionKind::kFromStaging, value, from, device, -1, -1});
}

// An arena the host can address: a host-addressable device's own, or host
// memory that a CPU-type device (PoCL, lavapipe) wraps (R4.6). Crossings into
// or out of such an arena take one hop.
bool Executor::arena_in_host_memory(int device) const {
  const DeviceRecord& d = *devices_[device];
  if (!options_.zero_copy) return false;
  if (d.host_addressable) return d.plugin->api().buffer_get_host_pointer != nullptr;
  return wraps_arena(device);
}

bool Executor::wraps_arena(int device) const {
  const DeviceRecord& d = *devices_[device];
  return options_.zero_copy && !d.host_addressable && works_in_host_memory(d) && d.can_wrap_host_memory;
}

// Which device's thread enqueues each action (the device whose stream runs
// it), and what it must see enqueued by another device's thread first: a peer
// copy waits for its producer's step (that step records the event the copy
// waits on); a staged arrival waits for the action that starts the crossing.
void Executor::plan_lanes() {
  lanes_.assign(devices_.size(), {});
  enqueue_after_.assign(actions_.size(), -1);
  execute_action_.assign(steps_.size(), -1);
  std::map<int, int> staging_of;  // value -> its kToStaging action
  bool host_waits = false;
  for (size_t i = 0; i < actions_.size(); ++i) {
    const Action& a = actions_[i];
    lanes_[stream_of(a)].push_back(i);
    auto producer = [&] { return execute_action_[producer_step_.at({a.value, a.from})]; };
    switch (a.kind) {
      case ActionKind::kExecute: execute_action_[a.step] = static_cast<int>(i); break;
      case ActionKind::kToStaging: staging_of[a.value] = static_cast<int>(i); break;
      case ActionKind::kPeerCopy: enqueue_after_[i] = producer(); break;
      case ActionKind::kFromStaging:
        host_waits = true;
        enqueue_after_[i] = crossings_.at(a.value).source_direct ? producer() : staging_of.at(a.value);
        break;
      case ActionKind::kUpload: case ActionKind::kDownloadOutput: break;
    }
  }
  auto busy = std::count_if(lanes_.begin(), lanes_.end(), [](const auto& lane) { return !lane.empty(); });
  dispatch_lanes_ = host_waits && busy > 1;
}

namespace {

// Element-wise ops whose kernels may write their output over one input of the
// same shape (when the device says so, ABI 1.2 in_place_elementwise).
bool elementwise(const Node& node) {
  static const std::set<std::string> ops = {
      "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Abs", "Neg", "Exp", "Log", "Sqrt",
      "Reciprocal", "Floor", "Ceil", "Round", "Erf", "Elu", "Selu", "Softplus", "Softsign", "Clip", "Sign",
      "Sin", "Cos", "Add", "Sub", "Mul", "Div"};
  return (node.domain.empty() || node.domain == "ai.onnx") && ops.count(node.op_type) > 0;
}

}  // namespace

// Lifetimes are spans of the action list. Work on a device's memory is
// ordered by its compute stream, in action order, so reuse after the last use
// is safe there. Three kinds of access run elsewhere and widen the span:
// - written by another stream (uploads, peer copies and staged arrivals on
//   the copy-in stream, one-hop copies into a host-addressable arena by the
//   producing plugin): live from the start of the run, so nothing earlier in
//   the run holds those bytes;
// - read by another stream (downloads and staging on the copy-out stream,
//   peer copies from the destination's stream, one-hop copies out of a
//   host-addressable arena): live to the end of the run.
// Runs of one context never overlap (a run drains its streams).
void Executor::plan_memory() {
  std::map<Key, std::pair<int, int>> span;  // first, last action index
  auto touch = [&](int value, int device, int index) {
    auto [it, inserted] = span.emplace(Key{value, device}, std::make_pair(index, index));
    if (inserted) return;
    it->second.first = std::min(it->second.first, index);
    it->second.second = std::max(it->second.second, index);
  };
  int end = static_cast<int>(actions_.size());
  for (int i = 0; i < end; ++i) {
    const Action& a = actions_[i];
    bool other_stream = role_of(a) != kCompute;
    switch (a.kind) {
      case ActionKind::kUpload:
        touch(a.value, a.to, i);
        if (other_stream) touch(a.value, a.to, 0);
        break;
      case ActionKind::kFromStaging:
        touch(a.value, a.to, i);
        if (other_stream || crossings_.at(a.value).direct_to.count(a.to)) touch(a.value, a.to, 0);
        break;
      case ActionKind::kToStaging:
        touch(a.value, a.from, i);
        if (other_stream || crossings_.at(a.value).source_direct) touch(a.value, a.from, end);
        break;
      case ActionKind::kDownloadOutput:
        touch(a.value, a.from, i);
        if (other_stream) touch(a.value, a.from, end);
        break;
      case ActionKind::kPeerCopy:
        touch(a.value, a.from, end);
        touch(a.value, a.to, i);
        if (other_stream) touch(a.value, a.to, 0);
        break;
      case ActionKind::kExecute:
        for (const Key& k : steps_[a.step].inputs) touch(k.first, k.second, i);
        for (const Key& k : steps_[a.step].outputs) touch(k.first, k.second, i);
        break;
    }
  }
  // In place: a single element-wise node's output takes the bytes of an input
  // of the same size (and shape) whose last use is that node.
  if (options_.in_place)
    for (int i = 0; i < end; ++i) {
      const Action& a = actions_[i];
      if (a.kind != ActionKind::kExecute) continue;
      const Step& step = steps_[a.step];
      if (step.nodes.size() != 1 || step.outputs.size() != 1 || !devices_[step.device]->in_place_elementwise) continue;
      const Node& node = graph_.nodes[step.nodes.front()];
      const Key out = step.outputs.front();
      if (!elementwise(node) || span.at(out).first != i) continue;
      const Value& out_value = graph_.values[out.first];
      for (const Key& in : step.inputs) {
        const Value& in_value = graph_.values[in.first];
        bool used_elsewhere = false;  // the same input bound twice (x + x) must stay intact
        for (const Key& other : step.inputs) used_elsewhere |= other == in && &other != &in;
        if (used_elsewhere || in_value.dtype != out_value.dtype || !in_value.shape || !out_value.shape ||
            *in_value.shape != *out_value.shape || span.at(in).second != i || span.at(in).first >= i)
          continue;
        in_place_[out] = in;
        break;
      }
    }
  arena_bytes_.assign(devices_.size(), 0);
  for (size_t d = 0; d < devices_.size(); ++d) {
    std::vector<Key> keys;
    std::map<Key, int> index_of;
    std::vector<TensorLifetime> lifetimes;
    for (const auto& [key, first_last] : span) {
      if (key.second != static_cast<int>(d)) continue;
      index_of[key] = static_cast<int>(keys.size());
      keys.push_back(key);
      lifetimes.push_back({static_cast<uint64_t>(bytes_of(key.first)), first_last.first, first_last.second});
    }
    if (keys.empty()) continue;
    for (size_t i = 0; i < keys.size(); ++i)
      if (auto it = in_place_.find(keys[i]); it != in_place_.end()) lifetimes[i].in_place_of = index_of.at(it->second);
    MemoryPlan plan = plan_memory_offsets(lifetimes);
    // Cheap next to compiling: a wrong plan would corrupt results silently.
    if (std::string problem = validate_memory_plan(lifetimes, plan); !problem.empty())
      throw Error(HXRT_STATUS_INTERNAL, devices_[d]->id + ": memory plan is invalid: " + problem);
    arena_bytes_[d] = plan.arena_bytes;
    for (size_t i = 0; i < keys.size(); ++i) planned_[keys[i]] = {static_cast<int>(d), plan.offsets[i]};
    memory_stats_.push_back({devices_[d]->id, plan.arena_bytes, plan.naive_bytes});
  }
}

std::unique_ptr<Executor::Context> Executor::make_context() {
  auto c = std::make_unique<Context>();
  c->streams.resize(devices_.size() * kRoles);
  c->arenas.resize(devices_.size());
  c->arena_host.assign(devices_.size(), nullptr);
  for (size_t d = 0; d < devices_.size(); ++d) {
    if (!device_used_[d]) continue;
    c->streams[d * kRoles + kCompute] = create_stream(*devices_[d]);
    if (arena_bytes_[d] > 0 && wraps_arena(static_cast<int>(d))) {
      // Host memory the device wraps: its executables use it in place, and
      // values crossing plugins are copied straight into or out of it.
      uint64_t align = std::max<uint64_t>(4096, devices_[d]->wrap_host_memory_alignment);
      uint64_t size = (arena_bytes_[d] + align - 1) / align * align;
      void* block = std::aligned_alloc(static_cast<size_t>(align), static_cast<size_t>(size));
      if (block == nullptr)
        throw Error(HXRT_STATUS_RESOURCE_EXHAUSTED, devices_[d]->id + ": cannot allocate a " + std::to_string(size) +
                                                        "-byte host arena");
      c->host_arenas.emplace_back(block, &std::free);
      c->arenas[d] = wrap_host_memory(*devices_[d], block, size, /*read_only=*/false);
      c->arena_host[d] = static_cast<uint8_t*>(block);
    } else if (arena_bytes_[d] > 0) {
      c->arenas[d] = allocate_buffer(*devices_[d], arena_bytes_[d]);
      if (devices_[d]->host_addressable && devices_[d]->plugin->api().buffer_get_host_pointer != nullptr) {
        c->arena_host[d] = static_cast<uint8_t*>(host_pointer(*devices_[d], c->arenas[d].get()));
        if (c->arena_host[d] == nullptr)  // R4.5: a host-addressable device's buffers have a host pointer
          throw Error(HXRT_STATUS_INTERNAL, devices_[d]->id + ": host-addressable, but its arena has no host pointer");
      }
    }
  }
  // Copy streams only where an action runs on them.
  for (const Action& a : actions_) {
    StreamRole role = role_of(a);
    StreamPtr& stream = c->streams[static_cast<size_t>(stream_of(a)) * kRoles + role];
    if (!stream) stream = create_stream(*devices_[stream_of(a)]);
    if (role == kCopyIn && !c->arrived.count({a.value, a.to})) c->arrived[{a.value, a.to}] = create_event(*devices_[a.to]);
  }
  c->produced.resize(steps_.size());
  for (size_t s = 0; s < steps_.size(); ++s)
    if (step_signals_[s]) c->produced[s] = create_event(*devices_[steps_[s].device]);
  auto slice_of = [&](const Key& k) {
    const auto& [device, offset] = planned_.at(k);
    return BufferSlice{c->arenas[device].get(), offset};
  };
  for (const Step& step : steps_) {
    auto& in = c->step_inputs.emplace_back();
    auto& out = c->step_outputs.emplace_back();
    for (const Key& k : step.inputs) in.push_back(slice_of(k));
    for (const Key& k : step.outputs) out.push_back(slice_of(k));
  }
  std::set<std::pair<int, int>> registered;  // (copying device, arena device)
  auto register_arena = [&](int copier, int arena_device) {
    const DeviceRecord& device = *devices_[copier];
    if (!device.can_wrap_host_memory || c->arena_host[arena_device] == nullptr ||
        !registered.insert({copier, arena_device}).second)
      return;
    // One registration per plugin is enough (pinned host memory is visible to all its devices).
    for (const auto& [other, arena] : registered)
      if (arena == arena_device && other != copier && devices_[other]->plugin == device.plugin) return;
    if (BufferPtr b = try_wrap_host_memory(device, c->arena_host[arena_device], arena_bytes_[arena_device], false))
      c->registrations.push_back(std::move(b));
  };
  for (const auto& [value, from] : staged_values_) {
    const Crossing& x = crossings_.at(value);
    if (x.source_direct || !x.direct_to.empty()) c->direct_ready[value] = create_event(*devices_[from]);
    for (int to : x.direct_to) register_arena(from, to);
    if (x.source_direct)
      for (const Action& a : actions_)
        if (a.kind == ActionKind::kFromStaging && a.value == value) register_arena(a.to, from);
    if (!x.needs_staging) continue;
    Staging& s = c->staging[value];
    uint64_t bytes = static_cast<uint64_t>(bytes_of(value));
    // Whole 64 KiB blocks, so receivers that wrap host memory (page-aligned sizes) can register it.
    uint64_t reserved = (bytes + 65535) / 65536 * 65536;
    const DeviceRecord& device = *devices_[from];
    // Pinned staging lets the producing device copy at full speed; fall back
    // to pageable memory when the plugin cannot map a pinned buffer.
    if (device.plugin->api().buffer_get_host_pointer != nullptr && bytes > 0) {
      s.pinned = allocate_buffer(device, reserved, HXRT_MEMORY_HOST_PINNED);
      s.data = static_cast<uint8_t*>(host_pointer(device, s.pinned.get()));
      if (s.data == nullptr) s.pinned.reset();
    }
    if (s.data == nullptr) {
      s.pageable.resize(reserved);
      s.data = s.pageable.data();
    }
    std::set<const Plugin*> wrapped_by = {device.plugin};
    for (const Action& a : actions_) {
      if (a.kind != ActionKind::kFromStaging || a.value != value || x.direct_to.count(a.to)) continue;
      const DeviceRecord& receiver = *devices_[a.to];
      if (!options_.zero_copy || !receiver.can_wrap_host_memory || works_in_host_memory(receiver) ||
          !wrapped_by.insert(receiver.plugin).second)
        continue;
      if (BufferPtr b = try_wrap_host_memory(receiver, s.data, reserved, /*read_only=*/true))
        s.registrations.push_back(std::move(b));
    }
    uint64_t chunks = std::max<uint64_t>(1, (bytes + options_.transfer_chunk_bytes - 1) / options_.transfer_chunk_bytes);
    for (uint64_t k = 0; k < chunks; ++k) s.chunk_ready.push_back(create_event(device));
  }
  return c;
}

Executor::Context& Executor::acquire() {
  std::unique_lock lock(pool_mutex_);
  pool_cv_.wait(lock, [&] { return !idle_.empty(); });
  Context* c = idle_.back();
  idle_.pop_back();
  return *c;
}

void Executor::release(Context& context) {
  {
    std::lock_guard lock(pool_mutex_);
    idle_.push_back(&context);
  }
  pool_cv_.notify_one();
}

// Executables read and write wrapped caller memory at full speed where the
// device's memory is host memory: host-addressable devices and CPU-type
// devices (PoCL, lavapipe). Elsewhere (CUDA) wrapping only speeds up copies.
bool Executor::zero_copy_on(int device) const {
  const DeviceRecord& d = *devices_[device];
  return options_.zero_copy && d.can_wrap_host_memory && works_in_host_memory(d);
}

// Zero-copy (ABI 1.2): on devices whose memory is host memory and that wrap
// host memory, the run binds the caller's input and output buffers in place
// of the arena, so no upload or download copies the data. Anything the
// device refuses (alignment, no slot) is simply copied as usual.
void Executor::bind_caller_memory(RunState& r, const std::vector<const void*>& inputs,
                                  const std::vector<void*>& outputs) {
  if (!options_.zero_copy) return;
  for (const Action& a : actions_) {
    if (a.kind == ActionKind::kUpload) {
      uint64_t size = static_cast<uint64_t>(bytes_of(a.value));
      if (zero_copy_on(a.to) && inputs[a.slot] != nullptr && size > 0) {
        // Inputs are read-only to executables (R6), so the caller's memory is never written.
        void* data = const_cast<void*>(inputs[a.slot]);
        if (BufferPtr b = try_wrap_host_memory(*devices_[a.to], data, size, /*read_only=*/true)) {
          r.bound[{a.value, a.to}] = {b.get(), 0};
          r.bound_host[{a.value, a.to}] = static_cast<uint8_t*>(data);
          r.wrapped.push_back(std::move(b));
        }
      }
    } else if (a.kind == ActionKind::kDownloadOutput) {
      Key key{a.value, a.from};
      uint64_t size = static_cast<uint64_t>(bytes_of(a.value));
      if (r.bound.count(key) || !zero_copy_on(a.from) || outputs[a.slot] == nullptr || size == 0) continue;
      // The producing step writes the caller's buffer; later readers read it there.
      if (BufferPtr b = try_wrap_host_memory(*devices_[a.from], outputs[a.slot], size, /*read_only=*/false)) {
        r.bound[key] = {b.get(), 0};
        r.bound_host[key] = static_cast<uint8_t*>(outputs[a.slot]);
        r.wrapped.push_back(std::move(b));
      }
    }
  }
}

void Executor::perform(Context& c, RunState& r, size_t index, const std::vector<const void*>& inputs,
                       const std::vector<void*>& outputs) {
  const Action& a = actions_[index];
  uint64_t size = a.value >= 0 ? static_cast<uint64_t>(bytes_of(a.value)) : 0;
  auto slice = [&](int value, int device) {
    if (auto it = r.bound.find({value, device}); it != r.bound.end()) return it->second;
    const auto& [d, offset] = planned_.at({value, device});
    return BufferSlice{c.arenas[d].get(), offset};
  };
  auto host_address = [&](int value, int device) {
    if (auto it = r.bound_host.find({value, device}); it != r.bound_host.end()) return it->second;
    return c.arena_host[device] + planned_.at({value, device}).second;
  };
  auto stream = [&](int device, StreamRole role) { return c.streams[static_cast<size_t>(device) * kRoles + role].get(); };
  StreamRole role = role_of(a);
  const int here = stream_of(a);
  // An action not on its producer's compute stream first waits, once per run
  // and stream, for the step that produced its value.
  auto after_producer = [&](int value, int device) {
    if (role == kCompute && device == here) return;
    int step = producer_step_.at({value, device});
    if (r.producer_waited[here].insert({role, step}).second)
      wait_event(*devices_[here], stream(here, role), c.produced[step].get());
  };
  // A copy on the copy-in stream signals its arrival; the compute stream waits
  // for it just before the first step that reads it.
  auto arrived = [&](int value, int device) {
    if (role == kCompute) return;
    record_event(*devices_[device], c.arrived.at({value, device}).get(), stream(device, role));
    r.arrivals_pending[device].insert({value, device});
  };
  const uint64_t chunk = options_.transfer_chunk_bytes;
  switch (a.kind) {
    case ActionKind::kUpload:
      if (r.bound.count({a.value, a.to})) break;  // zero-copy: the executable reads the caller's buffer
      copy_to_device(*devices_[a.to], stream(a.to, role), inputs[a.slot], slice(a.value, a.to), size);
      arrived(a.value, a.to);
      break;
    case ActionKind::kExecute: {
      const Step& step = steps_[a.step];
      hxrt_stream* compute = stream(step.device, kCompute);
      for (const Key& k : step.inputs)
        if (r.arrivals_pending[step.device].erase(k) > 0)
          wait_event(*devices_[step.device], compute, c.arrived.at(k).get());
      std::vector<BufferSlice> in = c.step_inputs[a.step], out = c.step_outputs[a.step];
      if (!r.bound.empty()) {
        for (size_t i = 0; i < step.inputs.size(); ++i) in[i] = slice(step.inputs[i].first, step.inputs[i].second);
        for (size_t i = 0; i < step.outputs.size(); ++i)
          out[i] = slice(step.outputs[i].first, step.outputs[i].second);
      }
      execute(*devices_[step.device], step.executable.get(), compute, in, out, "executing " + step_name(step));
      if (step_signals_[a.step]) record_event(*devices_[step.device], c.produced[a.step].get(), compute);
      break;
    }
    case ActionKind::kToStaging: {
      const Crossing& x = crossings_.at(a.value);
      if (x.source_direct) {
        // Consumers copy straight out of this arena once the producer is done (see kFromStaging).
        break;
      }
      after_producer(a.value, a.from);
      BufferSlice src = slice(a.value, a.from);
      hxrt_stream* s = stream(a.from, role);
      if (!x.direct_to.empty()) {
        // One hop: straight into the host-addressable arenas of the consumers.
        for (int to : x.direct_to) copy_to_host(*devices_[a.from], s, src, host_address(a.value, to), size);
        record_event(*devices_[a.from], c.direct_ready.at(a.value).get(), s);
      }
      if (!x.needs_staging) break;
      // Chunk k's second hop can start as soon as its own event fires.
      Staging& st = c.staging.at(a.value);
      for (uint64_t k = 0; k < st.chunk_ready.size(); ++k) {
        uint64_t offset = k * chunk, length = std::min(chunk, size - std::min(size, offset));
        copy_to_host(*devices_[a.from], s, {src.buffer, src.offset + offset}, st.data + offset, length);
        record_event(*devices_[a.from], st.chunk_ready[k].get(), s);
      }
      break;
    }
    case ActionKind::kFromStaging: {
      // The one place the host waits mid-run: a value crossing plugins.
      const Crossing& x = crossings_.at(a.value);
      BufferSlice dst = slice(a.value, a.to);
      if (x.source_direct) {
        // One hop out of the producer's host-addressable arena.
        synchronize_event(*devices_[a.from], c.produced[producer_step_.at({a.value, a.from})].get(),
                          "waiting for a value crossing plugins");
        copy_to_device(*devices_[a.to], stream(a.to, role), host_address(a.value, a.from), dst, size);
        arrived(a.value, a.to);
        break;
      }
      if (x.direct_to.count(a.to)) {
        synchronize_event(*devices_[a.from], c.direct_ready.at(a.value).get(), "waiting for a value crossing plugins");
        break;  // already in this arena
      }
      Staging& st = c.staging.at(a.value);
      for (uint64_t k = 0; k < st.chunk_ready.size(); ++k) {
        uint64_t offset = k * chunk, length = std::min(chunk, size - std::min(size, offset));
        synchronize_event(*devices_[a.from], st.chunk_ready[k].get(), "waiting for a staged transfer");
        copy_to_device(*devices_[a.to], stream(a.to, role), st.data + offset, {dst.buffer, dst.offset + offset}, length);
      }
      arrived(a.value, a.to);
      break;
    }
    case ActionKind::kPeerCopy:
      // The producer's step was enqueued first (enqueue_after_), so its event is this run's.
      after_producer(a.value, a.from);
      copy_on_device(*devices_[a.to], stream(a.to, role), slice(a.value, a.from), slice(a.value, a.to), size);
      arrived(a.value, a.to);
      break;
    case ActionKind::kDownloadOutput: {
      if (outputs[a.slot] == nullptr) break;
      BufferSlice src = slice(a.value, a.from);
      auto bound = r.bound_host.find({a.value, a.from});
      if (bound != r.bound_host.end() && bound->second == outputs[a.slot]) break;  // zero-copy: already there
      after_producer(a.value, a.from);
      copy_to_host(*devices_[a.from], stream(a.from, role), src, outputs[a.slot], size);
      break;
    }
  }
}

void Executor::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs, RunTrace* trace) {
  Context& c = acquire();
  RunState r(devices_.size());
  std::optional<Error> first_error;
  try {
    bind_caller_memory(r, inputs, outputs);
    if (trace != nullptr) run_traced(c, r, inputs, outputs, *trace);
    else dispatch([&](size_t i) { perform(c, r, i, inputs, outputs); });
  } catch (const Error& e) {
    first_error = e;
  }
  // Always drain every stream, so no work still touches caller memory after we return.
  for (size_t s = 0; s < c.streams.size(); ++s) {
    if (!c.streams[s]) continue;
    try {
      synchronize_stream(*devices_[s / kRoles], c.streams[s].get(), "run failed");
    } catch (const Error& e) {
      if (!first_error) first_error = e;
    }
  }
  r.wrapped.clear();  // nothing is pending on the caller's memory any more
  release(c);
  if (first_error) throw *first_error;
  // Outputs that no device produces: constants and pass-through inputs.
  for (size_t o = 0; o < graph_.outputs.size(); ++o) {
    int v = graph_.outputs[o];
    if (outputs[o] == nullptr || home_[v] >= 0) continue;
    const Value& value = graph_.values[v];
    if (value.constant) std::memcpy(outputs[o], value.constant->bytes.data(), value.constant->bytes.size());
    else if (graph_input_slot_[v] >= 0)
      std::memcpy(outputs[o], inputs[graph_input_slot_[v]], static_cast<size_t>(bytes_of(v)));
  }
}

void Executor::dispatch(const std::function<void(size_t)>& act) const {
  if (!dispatch_lanes_) {
    for (size_t i = 0; i < actions_.size(); ++i) act(i);
    return;
  }
  // One thread per device with actions (this one takes the first). A thread
  // waits on the host only for an action of another device that must be
  // enqueued first, which always has a smaller index: the lowest pending
  // action can always proceed, so the threads cannot deadlock.
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<char> enqueued(actions_.size(), 0);
  std::optional<Error> first_error;
  auto fail = [&](Error e) {
    {
      std::lock_guard lock(mutex);
      if (!first_error) first_error = std::move(e);
    }
    cv.notify_all();
  };
  auto run_lane = [&](const std::vector<size_t>& lane) {
    try {
      for (size_t i : lane) {
        {
          std::unique_lock lock(mutex);
          int before = enqueue_after_[i];
          cv.wait(lock, [&] { return first_error || before < 0 || enqueued[before]; });
          if (first_error) return;  // another device failed: the run is over
        }
        act(i);
        {
          std::lock_guard lock(mutex);
          enqueued[i] = 1;
        }
        cv.notify_all();
      }
    } catch (const Error& e) {
      fail(e);
    } catch (const std::bad_alloc&) {
      fail(Error(HXRT_STATUS_RESOURCE_EXHAUSTED, "out of host memory while enqueueing a run"));
    } catch (const std::exception& e) {
      fail(Error(HXRT_STATUS_INTERNAL, e.what()));
    }
  };
  std::vector<const std::vector<size_t>*> lanes;
  for (const auto& lane : lanes_)
    if (!lane.empty()) lanes.push_back(&lane);
  std::vector<std::thread> threads;
  try {
    for (size_t l = 1; l < lanes.size(); ++l) threads.emplace_back(run_lane, std::cref(*lanes[l]));
  } catch (const std::system_error& e) {
    fail(Error(HXRT_STATUS_RESOURCE_EXHAUSTED, std::string("cannot start a thread: ") + e.what()));
  }
  run_lane(*lanes.front());
  for (std::thread& t : threads) t.join();
  if (first_error) throw *first_error;
}

int Executor::stream_of(const Action& a) const {
  switch (a.kind) {
    case ActionKind::kUpload: case ActionKind::kFromStaging: case ActionKind::kPeerCopy: return a.to;
    case ActionKind::kExecute: return steps_[a.step].device;
    case ActionKind::kToStaging: case ActionKind::kDownloadOutput: return a.from;
  }
  return -1;
}

Executor::StreamRole Executor::role_of(const Action& a) const {
  if (!options_.copy_streams) return kCompute;
  switch (a.kind) {
    case ActionKind::kUpload: case ActionKind::kPeerCopy: case ActionKind::kFromStaging: return kCopyIn;
    case ActionKind::kToStaging: case ActionKind::kDownloadOutput: return kCopyOut;
    case ActionKind::kExecute: return kCompute;
  }
  return kCompute;
}

}  // namespace hxrt::host
