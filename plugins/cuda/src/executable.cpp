// CUDA plugin entry points: op support, subgraph claims, compilation and
// execution.
//
// Compile plans one Op per node, fuses chains inside the graph (Conv + BN +
// residual Add + Relu, MatMul/Gemm + bias Add + Relu), lets reshape-likes
// alias their input, places intermediates in one arena with lifetime-based
// reuse, uploads constants and runs each op's prepare (algorithm search).
// Execute launches the ops on the stream; from the second run on it replays a
// CUDA graph captured for the bound buffers, so repeated inference costs one
// graph launch.
#include "hxrt/plugin_support/abi_checks.hpp"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cuda_objects.hpp"

using hxrt::plugin::check_graph;
using hxrt::plugin::check_node;
using hxrt::plugin::value_bytes;

namespace hxrt::cuda {
namespace {

using plugin::require_non_null;
using plugin::require_struct_size;

constexpr size_t kAlign = 256;
constexpr size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

enum class Source { kNone, kInput, kConstant, kProduced };

struct ValueInfo {
  Source source = Source::kNone;
  size_t bytes = 0;
  int64_t input_index = -1;   // kInput
  int64_t output_slot = -1;   // kProduced and a graph output
  int64_t alias_of = -1;      // shares another value's storage (a view)
  int64_t arena_offset = -1;  // kProduced intermediates
  size_t constant_offset = 0; // kConstant, into the constants block
  bool constant_used = false;
};

struct Step {
  std::unique_ptr<Op> op;
  std::vector<int64_t> in, out;
  std::string name;
  size_t position = 0;  // where it runs: its node, or the last node fused into it
  bool alive = true;
};

}  // namespace
}  // namespace hxrt::cuda

struct hxrt_executable {
  hxrt_device* device = nullptr;
  std::vector<hxrt::cuda::ValueInfo> values;
  std::vector<hxrt::cuda::Step> steps;
  std::vector<int64_t> input_values, output_values;
  hxrt::cuda::DeviceMemory constants;
  hxrt::cuda::DeviceMemory arena;  // intermediates, then the ops' workspace
  size_t workspace_offset = 0;
  bool uses_libraries = false;
  bool graphs_enabled = true;

  // Execution state; runs are serialised because the arena is shared.
  std::mutex mutex;
  cudaEvent_t done = nullptr;
  hxrt_stream* last_stream = nullptr;
  uint64_t runs = 0;
  cudaStream_t capture_stream = nullptr;
  cudaGraphExec_t graph = nullptr;
  std::vector<void*> graph_key;  // the pointers the graph was captured with
  bool graph_failed = false;
};

namespace hxrt::cuda {
namespace {

std::string step_name(const hxrt_node_desc& node, size_t index) {
  std::string name = std::string(node.op_type);
  if (node.name != nullptr && *node.name) name += std::string(" '") + node.name + "'";
  return "node " + std::to_string(index) + " (" + name + ")";
}

// Plans the node or reports why not: the single decision behind both
// query_op_support and compile (R5.3).
std::unique_ptr<Op> plan(const NodeReader& node, const OpConfig& config, Unsupported* why) {
  try {
    return create_op(node, config);
  } catch (const Unsupported& e) {
    if (why != nullptr) *why = e;
  } catch (const PluginError& e) {
    // A malformed node is the caller's error; anything else is a plugin limit.
    if (e.code() == HXRT_STATUS_INVALID_ARGUMENT) throw;
    if (why != nullptr) *why = Unsupported(HXRT_UNSUPPORTED_OTHER, e.what());
  }
  return nullptr;
}

// How many live steps read each value, and (the last) one of them.
std::pair<std::vector<int>, std::vector<int64_t>> count_uses(const std::vector<Step>& steps, size_t num_values) {
  std::vector<int> uses(num_values, 0);
  std::vector<int64_t> consumer(num_values, -1);
  for (size_t s = 0; s < steps.size(); ++s)
    for (int64_t v : steps[s].in)
      if (v >= 0 && steps[s].alive) {
        ++uses[static_cast<size_t>(v)];
        consumer[static_cast<size_t>(v)] = static_cast<int64_t>(s);
      }
  return {std::move(uses), std::move(consumer)};
}

// The exact GELU as exporters write it, x * 0.5 * (1 + erf(x / sqrt 2)) in
// five nodes (Div, Erf, Add, Mul, Mul), becomes one kernel.
void fuse_gelu(const hxrt_graph_desc& g, std::vector<Step>& steps, std::vector<ValueInfo>& values) {
  auto [uses, consumer] = count_uses(steps, values.size());
  auto op_of = [&](size_t s) { return std::string_view(g.nodes[s]->node->op_type); };
  auto scalar = [&](int64_t v, double want) {
    if (v < 0 || values[static_cast<size_t>(v)].source != Source::kConstant) return false;
    TensorInfo t = plugin::tensor_info(*g.values[static_cast<size_t>(v)]);
    if (!is_float_type(t.dtype) || t.numel() != 1 || !t.constant) return false;
    return std::abs(to_floats(t)[0] - want) < 1e-3 * std::abs(want);
  };
  // The single step consuming `v` if it is op `type`, else -1.
  auto next = [&](int64_t v, std::string_view type) -> int64_t {
    if (v < 0 || uses[static_cast<size_t>(v)] != 1 || values[static_cast<size_t>(v)].output_slot >= 0) return -1;
    int64_t c = consumer[static_cast<size_t>(v)];
    return c >= 0 && steps[static_cast<size_t>(c)].alive && op_of(static_cast<size_t>(c)) == type ? c : -1;
  };
  auto other = [](const Step& s, int64_t v) { return s.in.size() == 2 ? (s.in[0] == v ? s.in[1] : s.in[0]) : -2; };
  for (size_t s = 0; s < steps.size(); ++s) {
    if (!steps[s].alive || op_of(s) != "Div" || steps[s].in.size() != 2 || steps[s].out.size() != 1) continue;
    int64_t x = steps[s].in[0], v1 = steps[s].out[0];
    if (x < 0 || !scalar(steps[s].in[1], 1.4142135623730951)) continue;
    hxrt_dtype t = g.values[static_cast<size_t>(x)]->dtype;
    if (!is_float_type(t) || g.values[static_cast<size_t>(v1)]->dtype != t) continue;
    int64_t e = next(v1, "Erf");
    if (e < 0) continue;
    int64_t v2 = steps[static_cast<size_t>(e)].out[0];
    int64_t a = next(v2, "Add");
    if (a < 0 || !scalar(other(steps[static_cast<size_t>(a)], v2), 1.0)) continue;
    int64_t v3 = steps[static_cast<size_t>(a)].out[0];
    int64_t m1 = next(v3, "Mul");
    if (m1 < 0 || other(steps[static_cast<size_t>(m1)], v3) != x) continue;
    int64_t v4 = steps[static_cast<size_t>(m1)].out[0];
    int64_t m2 = next(v4, "Mul");
    if (m2 < 0 || !scalar(other(steps[static_cast<size_t>(m2)], v4), 0.5)) continue;
    int64_t y = steps[static_cast<size_t>(m2)].out[0];
    const hxrt_tensor_desc& xd = *g.values[static_cast<size_t>(x)];
    if (plugin::shape_of(*g.values[static_cast<size_t>(y)]) != plugin::shape_of(xd)) continue;
    Step& head = steps[s];
    head.op = make_unary_op({k::kGelu, 0.f, 0.f}, t, plugin::element_count(plugin::shape_of(xd)));
    head.in = {x};
    head.out = {y};
    head.position = steps[static_cast<size_t>(m2)].position;
    head.name += " + Erf + Add + Mul + Mul (GELU)";
    for (int64_t d : {e, a, m1, m2}) steps[static_cast<size_t>(d)].alive = false;
  }
}

// Fuses chains into their first op (see the absorb_* hooks of Op).
void fuse(const hxrt_graph_desc& g, std::vector<Step>& steps, std::vector<ValueInfo>& values) {
  auto [uses, consumer] = count_uses(steps, values.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    Step& head = steps[s];
    if (!head.alive) continue;
    for (;;) {
      size_t live_outputs = 0;
      int64_t v = -1;
      for (int64_t o : head.out)
        if (o >= 0) {
          ++live_outputs;
          v = o;
        }
      if (live_outputs != 1 || head.out[0] != v) break;
      const ValueInfo& vi = values[static_cast<size_t>(v)];
      if (vi.output_slot >= 0 || uses[static_cast<size_t>(v)] != 1) break;
      size_t c = static_cast<size_t>(consumer[static_cast<size_t>(v)]);
      Step& next = steps[c];
      if (!next.alive || next.out.empty() || next.out[0] < 0) break;
      const hxrt_node_desc& nd = *g.nodes[c]->node;
      NodeReader reader(nd);
      std::string_view op = reader.op_type();
      if (!reader.domain().empty() && reader.domain() != "ai.onnx") break;
      bool merged = false;
      std::vector<int64_t> extra;
      if (op == "BatchNormalization" && next.in.size() >= 1 && next.in[0] == v) {
        merged = head.op->absorb_batchnorm(reader);
      } else if (op == "Relu") {
        merged = head.op->absorb_relu();
      } else if ((op == "Add" || op == "Sum") && next.in.size() == 2 && next.out.size() == 1) {
        int64_t other = next.in[0] == v ? next.in[1] : next.in[0];
        if (other < 0 || other == v) break;
        const hxrt_tensor_desc& od = *g.values[static_cast<size_t>(other)];
        const hxrt_tensor_desc& vd = *g.values[static_cast<size_t>(v)];
        const hxrt_tensor_desc& yd = *g.values[static_cast<size_t>(next.out[0])];
        if (plugin::shape_of(yd) != plugin::shape_of(vd) || yd.dtype != vd.dtype) break;
        if (values[static_cast<size_t>(other)].source == Source::kConstant) {
          merged = head.op->absorb_bias(plugin::tensor_info(od));
        } else if (plugin::shape_of(od) == plugin::shape_of(vd) && od.dtype == vd.dtype) {
          merged = head.op->absorb_residual();
          if (merged) extra.push_back(other);
        }
      }
      if (!merged) break;
      head.out = next.out;
      head.in.insert(head.in.end(), extra.begin(), extra.end());
      head.position = next.position;
      head.name += " + " + std::string(op);
      next.alive = false;
      // The fused step now consumes the absorbed node's other inputs.
      for (int64_t in : next.in)
        if (in >= 0 && in != v && consumer[static_cast<size_t>(in)] == static_cast<int64_t>(c))
          consumer[static_cast<size_t>(in)] = static_cast<int64_t>(s);
    }
  }
  std::stable_sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.position < b.position; });
  steps.erase(std::remove_if(steps.begin(), steps.end(), [](const Step& s) { return !s.alive; }), steps.end());
}

// Channels-last layout pass. Convolutions on 16-bit floats (all floats with
// mode 2) run NHWC; NHWC values flow through ops that can take them (pooling,
// batch norm, element-wise ops on equal shapes) and are converted back, once,
// where an NCHW-only op or a graph output needs them. Graph inputs arrive NCHW
// and are converted before the first convolution.
void channels_last(const hxrt_graph_desc& g, std::vector<Step>& steps, std::vector<ValueInfo>& values, int mode) {
  if (mode == 0) return;
  int wanted = 0;
  for (const Step& s : steps) wanted += s.op->prefers_channels_last(mode == 2) ? 1 : 0;
  if (wanted < 2) return;  // one convolution does not pay for the conversions
  std::vector<Shape> shapes;
  std::vector<int> elems;
  for (size_t v = 0; v < values.size(); ++v) {
    shapes.push_back(plugin::shape_of(*g.values[v]));
    elems.push_back(static_cast<int>(plugin::dtype_size(g.values[v]->dtype)));
  }
  std::vector<bool> nhwc(values.size(), false);
  std::map<int64_t, int64_t> as_nhwc, as_nchw;  // conversions already made
  std::vector<Step> out;
  auto is4d = [&](int64_t v) { return v >= 0 && shapes[static_cast<size_t>(v)].size() == 4; };
  auto new_value = [&](int64_t like, bool is_nhwc) {
    ValueInfo vi;
    vi.source = Source::kProduced;
    vi.bytes = values[static_cast<size_t>(like)].bytes;
    values.push_back(vi);
    shapes.push_back(shapes[static_cast<size_t>(like)]);
    elems.push_back(elems[static_cast<size_t>(like)]);
    nhwc.push_back(is_nhwc);
    return static_cast<int64_t>(values.size() - 1);
  };
  auto conversion = [&](int64_t from, int64_t to, bool to_nhwc) {
    Step st;
    st.op = make_layout_copy(shapes[static_cast<size_t>(from)], elems[static_cast<size_t>(from)], to_nhwc);
    st.in = {from};
    st.out = {to};
    st.name = to_nhwc ? "to channels-last" : "to channels-first";
    out.push_back(std::move(st));
  };
  auto convert = [&](int64_t v, bool to_nhwc) {
    auto& cache = to_nhwc ? as_nhwc : as_nchw;
    if (auto it = cache.find(v); it != cache.end()) return it->second;
    int64_t c = new_value(v, to_nhwc);
    conversion(v, c, to_nhwc);
    cache[v] = c;
    return c;
  };
  for (Step& s : steps) {
    Op::Layout kind = s.op->layout();
    bool go = false;
    bool four_d = !s.in.empty() && is4d(s.in[0]) && !s.out.empty() && is4d(s.out[0]);
    if (kind == Op::Layout::kChannelsLast && four_d) {
      go = s.op->prefers_channels_last(mode == 2) || nhwc[static_cast<size_t>(s.in[0])];
      go = go && s.op->set_channels_last();
    } else if (kind == Op::Layout::kAgnostic) {
      for (int64_t v : s.in) go = go || (v >= 0 && nhwc[static_cast<size_t>(v)]);
    }
    for (size_t i = 0; i < s.in.size(); ++i) {
      int64_t v = s.in[i];
      if (!is4d(v)) continue;
      bool want = go && s.op->layout_input(i);
      if (nhwc[static_cast<size_t>(v)] != want) s.in[i] = convert(v, want);
    }
    std::vector<std::pair<int64_t, int64_t>> back;  // (NHWC temporary, graph output)
    if (go)
      for (int64_t& v : s.out) {
        if (!is4d(v) || (kind == Op::Layout::kChannelsLast && s.op->output_layout_free())) continue;
        if (values[static_cast<size_t>(v)].output_slot >= 0) {
          int64_t tmp = new_value(v, true);
          back.emplace_back(tmp, v);
          v = tmp;
        } else {
          nhwc[static_cast<size_t>(v)] = true;
        }
      }
    out.push_back(std::move(s));
    for (auto [tmp, v] : back) conversion(tmp, v, false);
  }
  steps = std::move(out);
}

// First-fit placement of intermediates by lifetime; returns the arena size.
size_t plan_arena(std::vector<Step>& steps, std::vector<ValueInfo>& values) {
  auto root = [&](int64_t v) {
    while (values[static_cast<size_t>(v)].alias_of >= 0) v = values[static_cast<size_t>(v)].alias_of;
    return v;
  };
  std::vector<int64_t> last_use(values.size(), -1);
  for (size_t s = 0; s < steps.size(); ++s) {
    for (int64_t v : steps[s].in)
      if (v >= 0) last_use[static_cast<size_t>(root(v))] = static_cast<int64_t>(s);
    for (int64_t v : steps[s].out)
      if (v >= 0) {
        auto r = static_cast<size_t>(root(v));
        last_use[r] = std::max<int64_t>(last_use[r], static_cast<int64_t>(s));
      }
  }
  struct Block {
    size_t offset, size;
  };
  std::vector<Block> free_blocks;
  struct Live {
    size_t offset, size;
    int64_t value;
  };
  std::vector<Live> live;
  size_t top = 0;
  for (size_t s = 0; s < steps.size(); ++s) {
    // Release what no step from here on reads (inputs of step s stay: it reads while writing).
    for (size_t i = 0; i < live.size();) {
      if (last_use[static_cast<size_t>(live[i].value)] < static_cast<int64_t>(s)) {
        free_blocks.push_back({live[i].offset, live[i].size});
        live.erase(live.begin() + static_cast<long>(i));
      } else {
        ++i;
      }
    }
    std::sort(free_blocks.begin(), free_blocks.end(), [](const Block& a, const Block& b) { return a.offset < b.offset; });
    for (size_t i = 0; i + 1 < free_blocks.size();) {
      if (free_blocks[i].offset + free_blocks[i].size == free_blocks[i + 1].offset) {
        free_blocks[i].size += free_blocks[i + 1].size;
        free_blocks.erase(free_blocks.begin() + static_cast<long>(i) + 1);
      } else {
        ++i;
      }
    }
    for (int64_t v : steps[s].out) {
      if (v < 0) continue;
      ValueInfo& vi = values[static_cast<size_t>(v)];
      if (vi.output_slot >= 0 || vi.alias_of >= 0 || vi.arena_offset >= 0) continue;
      size_t size = align_up(std::max<size_t>(vi.bytes, 1));
      size_t offset = top;
      bool placed = false;
      for (auto it = free_blocks.begin(); it != free_blocks.end(); ++it)
        if (it->size >= size) {
          offset = it->offset;
          it->offset += size;
          it->size -= size;
          if (it->size == 0) free_blocks.erase(it);
          placed = true;
          break;
        }
      if (!placed) top += size;
      vi.arena_offset = static_cast<int64_t>(offset);
      live.push_back({offset, size, v});
    }
  }
  return top;
}

std::unique_ptr<hxrt_executable> compile_graph(hxrt_device* device, const hxrt_graph_desc& g) {
  const OpConfig& config = device->context->config;
  auto exe = std::make_unique<hxrt_executable>();
  exe->device = device;
  exe->values.resize(g.num_values);
  auto& values = exe->values;
  for (size_t v = 0; v < g.num_values; ++v) values[v].bytes = value_bytes(*g.values[v]);
  exe->input_values.assign(g.input_values, g.input_values + g.num_inputs);
  exe->output_values.assign(g.output_values, g.output_values + g.num_outputs);
  for (size_t k = 0; k < g.num_inputs; ++k) {
    ValueInfo& vi = values[static_cast<size_t>(g.input_values[k])];
    if (vi.source != Source::kNone)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "graph input " + std::to_string(k) + " is listed twice");
    vi.source = Source::kInput;
    vi.input_index = static_cast<int64_t>(k);
  }
  for (size_t n = 0; n < g.num_nodes; ++n) {
    const hxrt_graph_node& gn = *g.nodes[n];
    for (size_t i = 0; i < gn.node->num_outputs; ++i) {
      int64_t v = gn.output_values[i];
      if (v < 0) continue;
      ValueInfo& vi = values[static_cast<size_t>(v)];
      if (vi.source != Source::kNone)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                          "value " + std::to_string(v) + " is produced twice or is also a graph input");
      vi.source = Source::kProduced;
    }
  }
  for (size_t v = 0; v < g.num_values; ++v) {
    ValueInfo& vi = values[v];
    const hxrt_tensor_desc& d = *g.values[v];
    if (vi.source == Source::kNone && (d.constant_data != nullptr || vi.bytes == 0)) {
      if (vi.bytes > 0 && d.constant_size_bytes < vi.bytes)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "constant value " + std::to_string(v) + " has " +
                                                            std::to_string(d.constant_size_bytes) + " bytes, expected " +
                                                            std::to_string(vi.bytes));
      vi.source = Source::kConstant;
    }
  }
  for (size_t k = 0; k < g.num_outputs; ++k) {
    ValueInfo& vi = values[static_cast<size_t>(g.output_values[k])];
    if (vi.source != Source::kProduced)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "graph output " + std::to_string(k) + " is not produced by a node");
    if (vi.output_slot < 0) vi.output_slot = static_cast<int64_t>(k);
  }

  // Plan every node.
  for (size_t n = 0; n < g.num_nodes; ++n) {
    const hxrt_graph_node& gn = *g.nodes[n];
    for (size_t i = 0; i < gn.node->num_inputs; ++i) {
      int64_t v = gn.input_values[i];
      if (v >= 0 && values[static_cast<size_t>(v)].source == Source::kNone)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT,
                          step_name(*gn.node, n) + " reads value " + std::to_string(v) + ", which nothing defines");
    }
    NodeReader reader(*gn.node);
    Unsupported why(HXRT_UNSUPPORTED_OTHER, "");
    Step step;
    step.name = step_name(*gn.node, n);
    step.op = plan(reader, config, &why);
    if (!step.op) throw PluginError(HXRT_STATUS_UNIMPLEMENTED, step.name + " is not supported: " + why.what());
    step.in.assign(gn.input_values, gn.input_values + gn.node->num_inputs);
    step.out.assign(gn.output_values, gn.output_values + gn.node->num_outputs);
    step.position = n;
    exe->steps.push_back(std::move(step));
  }
  fuse_gelu(g, exe->steps, values);
  fuse(g, exe->steps, values);
  channels_last(g, exe->steps, values, device->context->channels_last);

  // Views alias their input unless their output must land in an output buffer.
  for (Step& s : exe->steps) {
    if (!s.op->is_view() || s.in.empty() || s.in[0] < 0 || s.out.empty() || s.out[0] < 0) continue;
    ValueInfo& out = values[static_cast<size_t>(s.out[0])];
    if (out.output_slot >= 0) continue;
    out.alias_of = s.in[0];
    s.alive = false;  // nothing to run
  }
  exe->steps.erase(std::remove_if(exe->steps.begin(), exe->steps.end(), [](const Step& s) { return !s.alive; }),
                   exe->steps.end());
  size_t arena_bytes = plan_arena(exe->steps, values);

  // Upload the constants the remaining steps read (or that alias chains reach).
  for (const Step& s : exe->steps)
    for (int64_t v : s.in) {
      while (v >= 0 && values[static_cast<size_t>(v)].alias_of >= 0) v = values[static_cast<size_t>(v)].alias_of;
      if (v >= 0 && values[static_cast<size_t>(v)].source == Source::kConstant) values[static_cast<size_t>(v)].constant_used = true;
    }
  size_t const_bytes = 0;
  for (ValueInfo& vi : values)
    if (vi.constant_used) {
      vi.constant_offset = const_bytes;
      const_bytes += align_up(std::max<size_t>(vi.bytes, 1));
    }
  use_device(device->ordinal);
  if (const_bytes > 0) {
    std::vector<uint8_t> staging(const_bytes, 0);
    for (size_t v = 0; v < values.size(); ++v)
      if (values[v].constant_used && values[v].bytes > 0)
        std::memcpy(staging.data() + values[v].constant_offset, g.values[v]->constant_data, values[v].bytes);
    exe->constants = DeviceMemory(staging.data(), staging.size());
  }

  // Device-side preparation (algorithm searches), then the arena.
  size_t workspace = 0;
  {
    std::lock_guard lock(device->libs.mutex);
    DeviceContext ctx{device->ordinal, &device->libs, nullptr, nullptr, config};
    for (Step& s : exe->steps) {
      try {
        s.op->prepare(ctx);
      } catch (const PluginError& e) {
        throw PluginError(e.code(), s.name + ": " + e.what());
      }
      workspace = std::max(workspace, s.op->workspace_bytes());
      exe->uses_libraries = exe->uses_libraries || s.op->uses_libraries();
    }
  }
  exe->workspace_offset = align_up(arena_bytes);
  size_t total = exe->workspace_offset + workspace;
  if (total > 0) {
    try {
      exe->arena = DeviceMemory(total);
    } catch (const PluginError& e) {
      cudaGetLastError();
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED,
                        "cannot allocate " + std::to_string(total) + " bytes for intermediates: " + e.what());
    }
  }
  check_cuda(cudaEventCreateWithFlags(&exe->done, cudaEventDisableTiming), "cudaEventCreate");
  check_cuda(cudaStreamCreateWithFlags(&exe->capture_stream, cudaStreamNonBlocking), "cudaStreamCreate");
  exe->graphs_enabled = device->context->cuda_graphs &&
                        exe->steps.size() >= static_cast<size_t>(std::max(device->context->graph_min_ops, 1));
  return exe;
}

// Device pointers of every value for one run.
std::vector<void*> bind(hxrt_executable& exe, const std::vector<void*>& inputs, const std::vector<void*>& outputs) {
  std::vector<void*> ptr(exe.values.size(), nullptr);
  char* arena = static_cast<char*>(exe.arena.get());
  char* constants = static_cast<char*>(exe.constants.get());
  for (size_t v = 0; v < exe.values.size(); ++v) {
    const ValueInfo& vi = exe.values[v];
    if (vi.source == Source::kInput) ptr[v] = inputs[static_cast<size_t>(vi.input_index)];
    else if (vi.source == Source::kConstant && vi.constant_used) ptr[v] = constants + vi.constant_offset;
    else if (vi.output_slot >= 0) ptr[v] = outputs[static_cast<size_t>(vi.output_slot)];
    else if (vi.arena_offset >= 0) ptr[v] = arena + vi.arena_offset;
  }
  for (size_t v = 0; v < exe.values.size(); ++v) {
    int64_t r = static_cast<int64_t>(v);
    while (exe.values[static_cast<size_t>(r)].alias_of >= 0) r = exe.values[static_cast<size_t>(r)].alias_of;
    if (r != static_cast<int64_t>(v)) ptr[v] = ptr[static_cast<size_t>(r)];
  }
  return ptr;
}

// `events` (profiling): one per step plus one, recorded before the first and after every step.
void launch_all(hxrt_executable& exe, const std::vector<void*>& ptr, cudaStream_t stream,
                const std::vector<cudaEvent_t>* events = nullptr) {
  hxrt_device* d = exe.device;
  DeviceContext ctx{d->ordinal, &d->libs, stream, static_cast<char*>(exe.arena.get()) + exe.workspace_offset,
                    d->context->config};
  std::vector<const void*> in;
  std::vector<void*> out;
  if (events != nullptr) check_cuda(cudaEventRecord((*events)[0], stream), "cudaEventRecord");
  size_t index = 0;
  for (Step& s : exe.steps) {
    in.assign(s.in.size(), nullptr);
    out.assign(s.out.size(), nullptr);
    for (size_t i = 0; i < s.in.size(); ++i)
      if (s.in[i] >= 0) in[i] = ptr[static_cast<size_t>(s.in[i])];
    for (size_t i = 0; i < s.out.size(); ++i)
      if (s.out[i] >= 0) out[i] = ptr[static_cast<size_t>(s.out[i])];
    try {
      s.op->launch(ctx, in, out);
    } catch (const PluginError& e) {
      throw PluginError(e.code(), s.name + ": " + e.what());
    }
    ++index;
    if (events != nullptr) check_cuda(cudaEventRecord((*events)[index], stream), "cudaEventRecord");
  }
}

// HXRT_CUDA_PROFILE=1: the third run of every executable also runs once with
// an event between steps, after a spin kernel that holds the GPU until the
// host has enqueued everything, and prints each step's GPU time to stderr.
bool profile_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("HXRT_CUDA_PROFILE");
    return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
  }();
  return on;
}

void profile_run(hxrt_executable& exe, const std::vector<void*>& ptr, cudaStream_t stream) {
  std::vector<cudaEvent_t> events(exe.steps.size() + 1, nullptr);
  for (cudaEvent_t& e : events) check_cuda(cudaEventCreate(&e), "cudaEventCreate");
  check_launch(k::spin(int64_t{200} * 1000 * 1000, stream), "spin kernel");
  launch_all(exe, ptr, stream, &events);
  check_cuda(cudaStreamSynchronize(stream), "profile run");
  float total = 0;
  for (size_t i = 0; i < exe.steps.size(); ++i) {
    float ms = 0;
    cudaEventElapsedTime(&ms, events[i], events[i + 1]);
    total += ms;
    std::fprintf(stderr, "[hxrt cuda profile] %8.4f ms  step %zu  %s\n", static_cast<double>(ms), i,
                 exe.steps[i].name.c_str());
  }
  std::fprintf(stderr, "[hxrt cuda profile] %8.4f ms  total of %zu steps\n", static_cast<double>(total), exe.steps.size());
  for (cudaEvent_t e : events) cudaEventDestroy(e);
}

// Captures the run into a CUDA graph (or updates the one captured before).
// Returns false when capture is not possible; the caller then runs eagerly.
bool capture(hxrt_executable& exe, const std::vector<void*>& ptr, hxrt_plugin_context* ctx) {
  cudaGraph_t graph = nullptr;
  if (cudaStreamBeginCapture(exe.capture_stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  std::string failure;
  try {
    launch_all(exe, ptr, exe.capture_stream);
  } catch (const PluginError& e) {
    failure = e.what();
  }
  cudaError_t e = cudaStreamEndCapture(exe.capture_stream, &graph);
  if (!failure.empty() || e != cudaSuccess || graph == nullptr) {
    cudaGetLastError();
    if (graph != nullptr) cudaGraphDestroy(graph);
    ctx->log(HXRT_LOG_DEBUG, "cuda plugin: CUDA graph capture failed (" + (failure.empty() ? cudaGetErrorName(e) : failure) +
                                 "), running eagerly");
    return false;
  }
  bool ok = false;
  if (exe.graph != nullptr) {
    cudaGraphExecUpdateResultInfo info{};
    ok = cudaGraphExecUpdate(exe.graph, graph, &info) == cudaSuccess;
    if (!ok) {
      cudaGetLastError();
      cudaGraphExecDestroy(exe.graph);
      exe.graph = nullptr;
    }
  }
  if (!ok) {
    ok = cudaGraphInstantiate(&exe.graph, graph, 0) == cudaSuccess;
    if (!ok) {
      cudaGetLastError();
      exe.graph = nullptr;
    }
  }
  cudaGraphDestroy(graph);
  return ok;
}

void run(hxrt_executable& exe, hxrt_stream* stream, const std::vector<void*>& inputs, const std::vector<void*>& outputs) {
  hxrt_device* d = exe.device;
  use_device(d->ordinal);
  // Runs share the arena: a run on another stream waits for the previous one.
  if (exe.runs > 0 && exe.last_stream != stream)
    check_cuda(cudaStreamWaitEvent(stream->stream, exe.done, 0), "cudaStreamWaitEvent");
  std::vector<void*> ptr = bind(exe, inputs, outputs);
  if (exe.runs == 2 && profile_enabled()) {
    std::unique_lock<std::mutex> lock(d->libs.mutex, std::defer_lock);
    if (exe.uses_libraries) lock.lock();
    profile_run(exe, ptr, stream->stream);
  }
  bool launched = false;
  if (exe.graphs_enabled && !exe.graph_failed && exe.runs > 0) {
    std::vector<void*> key(inputs);
    key.insert(key.end(), outputs.begin(), outputs.end());
    if (exe.graph == nullptr || key != exe.graph_key) {
      std::unique_lock<std::mutex> lock(d->libs.mutex, std::defer_lock);
      if (exe.uses_libraries) lock.lock();
      if (capture(exe, ptr, d->context)) {
        exe.graph_key = key;
      } else {
        exe.graph_failed = true;
      }
    }
    if (!exe.graph_failed && exe.graph != nullptr) {
      check_cuda(cudaGraphLaunch(exe.graph, stream->stream), "cudaGraphLaunch");
      launched = true;
    }
  }
  if (!launched) {
    std::unique_lock<std::mutex> lock(d->libs.mutex, std::defer_lock);
    if (exe.uses_libraries) lock.lock();
    launch_all(exe, ptr, stream->stream);
  }
  check_cuda(cudaEventRecord(exe.done, stream->stream), "cudaEventRecord");
  exe.last_stream = stream;
  ++exe.runs;
}

// Splits the supported nodes into convex groups (R5.6): a new group starts
// whenever a node depends on the current group through an unclaimed node.
void claim_groups(const hxrt_graph_desc& g, const std::vector<bool>& supported, int64_t* group_of_node) {
  std::vector<int64_t> producer(g.num_values, -1);
  for (size_t n = 0; n < g.num_nodes; ++n)
    for (size_t i = 0; i < g.nodes[n]->node->num_outputs; ++i)
      if (g.nodes[n]->output_values[i] >= 0) producer[static_cast<size_t>(g.nodes[n]->output_values[i])] = static_cast<int64_t>(n);
  std::vector<bool> reaches(g.num_nodes, false);  // an unclaimed node downstream of the current group
  int64_t group = 0;
  bool group_used = false;
  for (size_t n = 0; n < g.num_nodes; ++n) {
    const hxrt_graph_node& gn = *g.nodes[n];
    bool from_group = false, from_reach = false;
    for (size_t i = 0; i < gn.node->num_inputs; ++i) {
      int64_t v = gn.input_values[i];
      if (v < 0 || producer[static_cast<size_t>(v)] < 0) continue;
      auto p = static_cast<size_t>(producer[static_cast<size_t>(v)]);
      from_group = from_group || (group_of_node[p] == group && supported[p]);
      from_reach = from_reach || reaches[p];
    }
    if (!supported[n]) {
      group_of_node[n] = -1;
      reaches[n] = from_group || from_reach;
      continue;
    }
    if (from_reach && group_used) {
      ++group;  // joining would make the group non-convex
      std::fill(reaches.begin(), reaches.end(), false);
    }
    group_of_node[n] = group;
    group_used = true;
  }
}

}  // namespace

namespace entry {

hxrt_plugin_status* query_op_support(hxrt_query_op_support_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_query_op_support_args, reason_message_capacity), [&] {
    check_device(args->device);
    check_node(args->node);
    NodeReader reader(*args->node);
    const OpConfig& config = args->device->context->config;
    Unsupported why(HXRT_UNSUPPORTED_OTHER, "");
    std::unique_ptr<Op> op = plan(reader, config, &why);
    args->supported = op ? 1 : 0;
    args->reason = op ? HXRT_SUPPORTED : why.reason();
    args->estimated_ns = op ? estimate_ns(reader, args->device->rates, config) : 0.0;
    plugin::copy_to_buffer(op ? "" : why.what(), args->reason_message, args->reason_message_capacity);
  });
}

hxrt_plugin_status* claim_subgraph(hxrt_claim_subgraph_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_claim_subgraph_args, group_estimated_ns), [&] {
    check_device(args->device);
    check_graph(args->graph);
    const hxrt_graph_desc& g = *args->graph;
    if (g.num_nodes > 0) require_non_null(args->group_of_node, "group_of_node");
    const OpConfig& config = args->device->context->config;
    std::vector<bool> supported(g.num_nodes, false);
    std::vector<double> estimate(g.num_nodes, 0.0);
    for (size_t n = 0; n < g.num_nodes; ++n) {
      NodeReader reader(*g.nodes[n]->node);
      supported[n] = plan(reader, config, nullptr) != nullptr;
      if (supported[n]) estimate[n] = estimate_ns(reader, args->device->rates, config);
    }
    claim_groups(g, supported, args->group_of_node);
    if (args->group_estimated_ns != nullptr) {
      std::map<int64_t, size_t> first;
      for (size_t n = 0; n < g.num_nodes; ++n) {
        args->group_estimated_ns[n] = 0.0;
        int64_t grp = args->group_of_node[n];
        if (grp < 0) continue;
        auto [it, inserted] = first.emplace(grp, n);
        // One launch for the whole group once it is replayed as a CUDA graph.
        double own = estimate[n] - (inserted ? 0.0 : args->device->rates.launch_ns * 0.9);
        args->group_estimated_ns[it->second] += std::max(own, 1.0);
      }
    }
  });
}

hxrt_plugin_status* executable_compile(hxrt_executable_compile_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_executable_compile_args, executable), [&] {
    args->executable = nullptr;
    check_device(args->device);
    check_graph(args->graph);
    auto exe = compile_graph(args->device, *args->graph);
    args->executable = exe.release();
  });
}

void executable_destroy(hxrt_executable* executable) {
  if (executable == nullptr) return;
  if (cudaSetDevice(executable->device->ordinal) == cudaSuccess) {
    if (executable->graph != nullptr) cudaGraphExecDestroy(executable->graph);
    if (executable->done != nullptr) cudaEventDestroy(executable->done);
    if (executable->capture_stream != nullptr) cudaStreamDestroy(executable->capture_stream);
  }
  delete executable;
}

hxrt_plugin_status* executable_execute(hxrt_executable_execute_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_executable_execute_args, output_offsets), [&] {
    require_non_null(args->executable, "executable");
    require_non_null(args->stream, "stream");
    hxrt_executable& exe = *args->executable;
    if (args->stream->device != exe.device)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable_execute: the stream belongs to another device");
    if (args->num_inputs != exe.input_values.size())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable takes " + std::to_string(exe.input_values.size()) +
                                                          " inputs, got " + std::to_string(args->num_inputs));
    if (args->num_outputs != exe.output_values.size())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable produces " + std::to_string(exe.output_values.size()) +
                                                          " outputs, got " + std::to_string(args->num_outputs));
    if (args->num_inputs > 0) require_non_null(args->input_buffers, "input_buffers");
    if (args->num_outputs > 0) require_non_null(args->output_buffers, "output_buffers");
    auto resolve = [&](hxrt_buffer* b, uint64_t offset, size_t bytes, const std::string& what) -> void* {
      if (b == nullptr) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, what + " buffer is NULL");
      if (b->device != exe.device)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, what + " buffer belongs to another device");
      if (offset > b->size || bytes > b->size - offset)
        throw PluginError(HXRT_STATUS_OUT_OF_RANGE, what + " needs " + std::to_string(bytes) + " bytes at offset " +
                                                        std::to_string(offset) + ", but its buffer has " +
                                                        std::to_string(b->size));
      return static_cast<char*>(b->data) + offset;
    };
    std::vector<void*> inputs(args->num_inputs), outputs(args->num_outputs);
    for (size_t k = 0; k < inputs.size(); ++k)
      inputs[k] = resolve(args->input_buffers[k], args->input_offsets ? args->input_offsets[k] : 0,
                          exe.values[static_cast<size_t>(exe.input_values[k])].bytes, "input " + std::to_string(k));
    for (size_t k = 0; k < outputs.size(); ++k)
      outputs[k] = resolve(args->output_buffers[k], args->output_offsets ? args->output_offsets[k] : 0,
                           exe.values[static_cast<size_t>(exe.output_values[k])].bytes, "output " + std::to_string(k));
    std::lock_guard lock(exe.mutex);
    enqueue(args->stream, [&] { run(exe, args->stream, inputs, outputs); });
  });
}

}  // namespace entry
}  // namespace hxrt::cuda
