#include "executable.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>

#include "vk_stream.hpp"

namespace hxrt::vk {

namespace {
constexpr uint64_t kValueAlignment = 256;
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

uint64_t value_bytes(const hxrt_tensor_desc& d) {
  return static_cast<uint64_t>(plugin::tensor_info(d).bytes());
}
}  // namespace

void record_dispatch(Device& device, VkCommandBuffer cb, VkPipeline pipeline, const Step& step, const Location t[6],
                     VkDeviceAddress params) {
  const DeviceFunctions& f = device.fn();
  PushConstants pc = step.pc;
  for (int i = 0; i < 6; ++i) pc.t[i] = t[i].address;
  pc.params = params;
  f.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  f.vkCmdPushConstants(cb, device.pipeline_layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(pc), &pc);
  f.vkCmdDispatch(cb, step.groups[0], step.groups[1], step.groups[2]);
}

Executable::Executable(Device& device, const hxrt_graph_desc& g) : device_(device) {
  values_.resize(g.num_values);
  for (size_t v = 0; v < g.num_values; ++v) values_[v].bytes = value_bytes(*g.values[v]);
  inputs_.assign(g.input_values, g.input_values + g.num_inputs);
  outputs_.assign(g.output_values, g.output_values + g.num_outputs);
  for (size_t k = 0; k < g.num_inputs; ++k) {
    Value& value = values_[static_cast<size_t>(inputs_[k])];
    if (value.source != Source::kNone)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "graph input " + std::to_string(k) + " is listed twice");
    value.source = Source::kInput;
    value.slot = static_cast<int64_t>(k);
  }
  for (size_t n = 0; n < g.num_nodes; ++n) {
    const hxrt_graph_node& gn = *g.nodes[n];
    for (size_t i = 0; i < gn.node->num_outputs; ++i) {
      int64_t v = gn.output_values[i];
      if (v < 0) continue;
      Value& value = values_[static_cast<size_t>(v)];
      if (value.source != Source::kNone)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                          "value " + std::to_string(v) + " is produced twice or is also a graph input");
      value.source = Source::kIntermediate;
    }
  }
  for (size_t k = 0; k < g.num_outputs; ++k) {
    Value& value = values_[static_cast<size_t>(outputs_[k])];
    if (value.source != Source::kIntermediate)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "graph output " + std::to_string(k) + " is not produced by a node");
    value.source = Source::kOutput;
    value.slot = static_cast<int64_t>(k);
  }
  for (size_t v = 0; v < g.num_values; ++v) {
    Value& value = values_[v];
    if (value.source != Source::kNone) continue;
    const hxrt_tensor_desc& d = *g.values[v];
    if (d.constant_data == nullptr && value.bytes > 0) continue;  // unused value without data: an error if read
    if (d.constant_data != nullptr && d.constant_size_bytes < value.bytes)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "constant value " + std::to_string(v) + " has " +
                                                          std::to_string(d.constant_size_bytes) + " bytes, expected " +
                                                          std::to_string(value.bytes));
    value.source = Source::kConstant;
  }

  // Plan every node (the same decision query_op_support made, R5.3).
  std::vector<bool> upload(g.num_values, false);
  for (size_t n = 0; n < g.num_nodes; ++n) {
    const hxrt_graph_node& gn = *g.nodes[n];
    plugin::NodeReader reader(*gn.node);
    std::string name = std::string(gn.node->op_type) + (gn.node->name && *gn.node->name ? std::string(" '") + gn.node->name + "'" : "");
    for (size_t i = 0; i < gn.node->num_inputs; ++i) {
      int64_t v = gn.input_values[i];
      if (v >= 0 && values_[static_cast<size_t>(v)].source == Source::kNone)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "node " + std::to_string(n) + " (" + name + ") reads value " +
                                                            std::to_string(v) + ", which nothing defines");
    }
    NodePlan plan;
    try {
      plan = plan_node(reader, device_.caps());
    } catch (const Unsupported& why) {
      throw PluginError(HXRT_STATUS_UNIMPLEMENTED,
                        "node " + std::to_string(n) + " (" + name + ") is not supported: " + why.what());
    }
    for (Step& step : plan.steps) {
      CompiledStep cs;
      cs.node = name;
      for (int k = 0; k < 6; ++k) {
        const Operand& o = step.t[k];
        if (o.kind == Operand::kNone) continue;
        int64_t v = o.kind == Operand::kInput ? gn.input_values[o.index] : gn.output_values[o.index];
        if (v < 0) throw PluginError(HXRT_STATUS_INTERNAL, name + ": a planned operand is omitted in the graph");
        cs.value[k] = v;
        if (values_[static_cast<size_t>(v)].source == Source::kConstant) upload[static_cast<size_t>(v)] = true;
      }
      if (step.kind == Step::Kind::kDispatch) cs.pipeline = device_.pipeline(step.shader, step.spec).pipeline;
      cs.step = std::move(step);
      steps_.push_back(std::move(cs));
    }
  }

  // One device block for constants and parameter blocks, uploaded now.
  uint64_t total = 0;
  for (size_t v = 0; v < g.num_values; ++v) {
    if (!upload[v] || values_[v].bytes == 0) continue;
    if (g.values[v]->constant_data == nullptr)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "value " + std::to_string(v) + " is read but has no data");
    values_[v].offset = total;
    total = align_up(total + values_[v].bytes, kValueAlignment);
  }
  for (CompiledStep& cs : steps_) {
    if (cs.step.params.empty()) continue;
    cs.params_offset = total;
    total = align_up(total + cs.step.params.size() * 4, kValueAlignment);
  }
  if (total > 0) {
    MemoryPool& staging_pool = device_.pool(HXRT_MEMORY_HOST_PINNED);
    Allocation staging = staging_pool.allocate(total);
    ScopedAllocation free_staging{staging_pool, staging};
    auto* bytes = static_cast<uint8_t*>(staging.mapped());
    for (size_t v = 0; v < g.num_values; ++v)
      if (upload[v] && values_[v].bytes > 0) std::memcpy(bytes + values_[v].offset, g.values[v]->constant_data, values_[v].bytes);
    for (CompiledStep& cs : steps_)
      if (!cs.step.params.empty())
        std::memcpy(bytes + cs.params_offset, cs.step.params.data(), cs.step.params.size() * 4);
    constants_ = device_.pool(HXRT_MEMORY_DEVICE).allocate(total);
    try {
      device_.run_now([&](VkCommandBuffer cb) {
        VkBufferCopy region{staging.offset, constants_.offset, total};
        device_.fn().vkCmdCopyBuffer(cb, staging.buffer(), constants_.buffer(), 1, &region);
      });
    } catch (...) {
      device_.pool(HXRT_MEMORY_DEVICE).free(constants_);
      throw;
    }
  }

  // Intermediates: each its own range of the per-run arena.
  for (Value& value : values_) {
    if (value.source != Source::kIntermediate) continue;
    value.offset = arena_bytes_;
    arena_bytes_ = align_up(arena_bytes_ + value.bytes, kValueAlignment);
  }
}

Executable::~Executable() { device_.pool(HXRT_MEMORY_DEVICE).free(constants_); }

void Executable::record(VkCommandBuffer cb, const std::vector<Location>& inputs, const std::vector<Location>& outputs,
                        const Allocation& arena) const {
  auto locate = [&](int64_t v) -> Location {
    if (v < 0) return {};
    const Value& value = values_[static_cast<size_t>(v)];
    if (value.bytes == 0) return {};
    switch (value.source) {
      case Source::kInput: return inputs[static_cast<size_t>(value.slot)];
      case Source::kOutput: return outputs[static_cast<size_t>(value.slot)];
      case Source::kConstant:
        return {constants_.buffer(), constants_.offset + value.offset, constants_.address() + value.offset};
      case Source::kIntermediate:
        return {arena.buffer(), arena.offset + value.offset, arena.address() + value.offset};
      default: return {};
    }
  };
  const DeviceFunctions& f = device_.fn();
  bool first = true;
  for (const CompiledStep& cs : steps_) {
    if (!first) full_barrier(f, cb);  // the next node reads what this one wrote
    first = false;
    Location t[6];
    for (int k = 0; k < 6; ++k) t[k] = locate(cs.value[k]);
    if (cs.step.kind == Step::Kind::kCopy) {
      if (cs.step.bytes == 0 || t[0].buffer == VK_NULL_HANDLE || t[1].buffer == VK_NULL_HANDLE) continue;
      VkBufferCopy region{t[0].offset + cs.step.src_offset, t[1].offset + cs.step.dst_offset, cs.step.bytes};
      f.vkCmdCopyBuffer(cb, t[0].buffer, t[1].buffer, 1, &region);
    } else {
      VkDeviceAddress params = cs.step.params.empty() ? 0 : constants_.address() + cs.params_offset;
      record_dispatch(device_, cb, cs.pipeline, cs.step, t, params);
    }
  }
}

// ---------------------------------------------------------------------------
// Rates for the cost model, measured once per device with the plugin's own
// copy path and GEMM kernel (a few milliseconds on a GPU, well under a second
// on lavapipe).
// ---------------------------------------------------------------------------

void Device::measure_rates() {
  try {
    MemoryPool& pool = *device_pool_;
    const uint64_t copy_bytes = caps_.gpu ? (uint64_t{64} << 20) : (uint64_t{8} << 20);
    Allocation a = pool.allocate(copy_bytes), b = pool.allocate(copy_bytes);
    ScopedAllocation fa{pool, a}, fb{pool, b};
    double best = 1e30;
    for (int i = 0; i < 3; ++i) {
      best = std::min(best, time_ns([&](VkCommandBuffer cb) {
        VkBufferCopy region{a.offset, b.offset, copy_bytes};
        f_.vkCmdCopyBuffer(cb, a.buffer(), b.buffer(), 1, &region);
      }));
    }
    if (best > 0) caps_.bytes_per_s = 2.0 * static_cast<double>(copy_bytes) / (best * 1e-9);

    // The host paths as the copies take them, host clock included: pinned
    // (one GPU copy) and pageable (a staging memcpy as well), and the
    // latency of an empty submit-and-wait.
    auto host_ns = [](const std::function<void()>& f) {
      double t = 1e30;
      for (int i = 0; i < 2; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        f();
        t = std::min(t, std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
      }
      return t;
    };
    const uint64_t host_bytes = copy_bytes / 2;
    Allocation staging = host_pool_->allocate(host_bytes);
    ScopedAllocation fs{*host_pool_, staging};
    std::vector<char> pageable(host_bytes, 1);
    auto gpu_copy = [&](bool to_device) {
      run_now([&](VkCommandBuffer cb) {
        VkBufferCopy region{to_device ? staging.offset : a.offset, to_device ? a.offset : staging.offset, host_bytes};
        f_.vkCmdCopyBuffer(cb, to_device ? staging.buffer() : a.buffer(), to_device ? a.buffer() : staging.buffer(), 1,
                           &region);
      });
    };
    double latency = host_ns([&] { run_now([](VkCommandBuffer) {}); });
    double pinned = host_ns([&] { gpu_copy(true); });
    // Pageable copies allocate their staging range per copy: so does this.
    double h2d = host_ns([&] {
      Allocation extra = host_pool_->allocate(host_bytes);
      std::memcpy(extra.mapped(), pageable.data(), host_bytes);
      gpu_copy(true);
      host_pool_->free(extra);
    });
    double d2h = host_ns([&] {
      Allocation extra = host_pool_->allocate(host_bytes);
      gpu_copy(false);
      std::memcpy(pageable.data(), extra.mapped(), host_bytes);
      host_pool_->free(extra);
    });
    auto rate = [&](double ns) { return static_cast<double>(host_bytes) / (std::max(ns - latency, 1.0) * 1e-9); };
    link_.latency_ns = latency;
    link_.pinned_bytes_per_s = rate(pinned);
    link_.h2d_pageable_bytes_per_s = rate(h2d);
    link_.d2h_pageable_bytes_per_s = rate(d2h);

    // A square MatMul through the planner, on the two buffers.
    const int64_t n = caps_.gpu ? 1024 : 256;
    int64_t dims[2] = {n, n};
    hxrt_tensor_desc t{sizeof(hxrt_tensor_desc), HXRT_DTYPE_FLOAT32, 2, dims, nullptr, 0};
    const hxrt_tensor_desc* ins[2] = {&t, &t};
    const hxrt_tensor_desc* outs[1] = {&t};
    hxrt_node_desc node{};
    node.struct_size = sizeof(node);
    node.name = "";
    node.domain = "";
    node.op_type = "MatMul";
    node.opset_version = 13;
    node.num_inputs = 2;
    node.inputs = ins;
    node.num_outputs = 1;
    node.outputs = outs;
    NodePlan plan = plan_node(plugin::NodeReader(node), caps_);
    const Step& step = plan.steps.at(0);
    Allocation params = host_pool_->allocate(step.params.size() * 4);
    ScopedAllocation fp{*host_pool_, params};
    std::memcpy(params.mapped(), step.params.data(), step.params.size() * 4);
    VkPipeline pipe = pipeline(step.shader, step.spec).pipeline;
    Location loc[6];
    loc[0] = {a.buffer(), a.offset, a.address()};
    loc[1] = {a.buffer(), a.offset, a.address()};
    loc[3] = {b.buffer(), b.offset, b.address()};
    // Zeros: no NaN or denormal slow paths.
    run_now([&](VkCommandBuffer cb) { f_.vkCmdFillBuffer(cb, a.buffer(), a.offset, copy_bytes, 0); });
    best = 1e30;
    for (int i = 0; i < 2; ++i)
      best = std::min(best, time_ns([&](VkCommandBuffer cb) { record_dispatch(*this, cb, pipe, step, loc, params.address()); }));
    if (best > 0) caps_.flops_per_s = plan.flops / (best * 1e-9);
  } catch (const std::exception& e) {
    log_(HXRT_LOG_WARNING, std::string("vulkan: measuring ") + name_ + " failed, using defaults: " + e.what());
  }
}

}  // namespace hxrt::vk
