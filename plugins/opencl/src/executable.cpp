// OpenCL plugin entry points: op support and executables. A graph compiles to
// a list of steps (kernel launches and buffer copies) over per-value memory.
#include "hxrt/plugin_support/abi_checks.hpp"
#include <cstring>
#include <memory>

#include "plugin_objects.hpp"

using hxrt::plugin::check_graph;
using hxrt::plugin::check_node;
using hxrt::plugin::value_bytes;

namespace hxrt::ocl {

using plugin::NodeReader;
using plugin::PluginError;
using plugin::require_non_null;
using plugin::require_struct_size;

// Where a value lives during one run.
struct MemRef {
  cl_mem mem = nullptr;
  size_t offset = 0;  // bytes; copies honour it, kernels need 0
};

class CompiledGraph {
 public:
  enum class Source { kNone, kInput, kConstant, kProduced };
  struct Value {
    Source source = Source::kNone;
    size_t bytes = 0;
    int64_t input_index = -1;
    int64_t output_slot = -1;  // produced and a graph output
    std::vector<uint8_t> constant_bytes;
    cl_mem constant = nullptr;  // uploaded when a step reads it
  };
  struct CompiledStep {
    std::string label;
    Step step;
    cl_kernel kernel = nullptr;
    std::vector<int64_t> inputs, outputs;  // node slot -> value index (-1 omitted)
    std::vector<cl_mem> aux;
    std::vector<size_t> scratch_bytes;
  };

  hxrt_device* device = nullptr;
  std::vector<Value> values;
  std::vector<CompiledStep> steps;
  std::vector<int64_t> input_values, output_values;
  std::mutex mutex;  // kernel arguments are set and enqueued under it

  ~CompiledGraph() {
    for (auto& s : steps) {
      if (s.kernel) clReleaseKernel(s.kernel);
      for (cl_mem m : s.aux) clReleaseMemObject(m);
    }
    for (auto& v : values)
      if (v.constant) clReleaseMemObject(v.constant);
  }
};

}  // namespace hxrt::ocl

struct hxrt_executable {
  hxrt_device* device = nullptr;
  std::unique_ptr<hxrt::ocl::CompiledGraph> graph;
};

namespace hxrt::ocl {
namespace {

cl_mem upload(hxrt_device* d, const void* data, size_t bytes, const std::string& what) {
  cl_int err = CL_SUCCESS;
  cl_mem mem = clCreateBuffer(d->cl_ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, const_cast<void*>(data), &err);
  cl_check(err, "uploading " + what);
  return mem;
}

std::unique_ptr<CompiledGraph> compile_graph(hxrt_device* device, const hxrt_graph_desc& g) {
  auto c = std::make_unique<CompiledGraph>();
  c->device = device;
  c->values.resize(g.num_values);
  for (size_t v = 0; v < g.num_values; ++v) c->values[v].bytes = value_bytes(*g.values[v]);
  c->input_values.assign(g.input_values, g.input_values + g.num_inputs);
  c->output_values.assign(g.output_values, g.output_values + g.num_outputs);
  using Source = CompiledGraph::Source;
  for (size_t k = 0; k < g.num_inputs; ++k) {
    auto& value = c->values[static_cast<size_t>(g.input_values[k])];
    if (value.source != Source::kNone)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "graph input " + std::to_string(k) + " is listed twice");
    value.source = Source::kInput;
    value.input_index = static_cast<int64_t>(k);
  }
  for (size_t n = 0; n < g.num_nodes; ++n) {
    const hxrt_graph_node& gn = *g.nodes[n];
    for (size_t i = 0; i < gn.node->num_outputs; ++i) {
      int64_t v = gn.output_values[i];
      if (v < 0) continue;
      auto& value = c->values[static_cast<size_t>(v)];
      if (value.source != Source::kNone)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "value " + std::to_string(v) + " is produced twice or is a graph input");
      value.source = Source::kProduced;
    }
  }
  for (size_t v = 0; v < g.num_values; ++v) {
    auto& value = c->values[v];
    const hxrt_tensor_desc& desc = *g.values[v];
    if (value.source != Source::kNone) continue;
    if (desc.constant_data == nullptr && value.bytes > 0) continue;  // unused or undefined: checked at use
    if (desc.constant_size_bytes < value.bytes)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "constant value " + std::to_string(v) + " has " +
                                                          std::to_string(desc.constant_size_bytes) + " bytes, expected " +
                                                          std::to_string(value.bytes));
    auto bytes = static_cast<const uint8_t*>(desc.constant_data);
    if (bytes != nullptr) value.constant_bytes.assign(bytes, bytes + value.bytes);
    value.source = Source::kConstant;
  }
  for (size_t k = 0; k < g.num_outputs; ++k) {
    auto& value = c->values[static_cast<size_t>(g.output_values[k])];
    if (value.source == Source::kNone)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "graph output " + std::to_string(k) + " is never produced");
    if (value.source == Source::kProduced && value.output_slot < 0) value.output_slot = static_cast<int64_t>(k);
  }

  for (size_t n = 0; n < g.num_nodes; ++n) {
    const hxrt_graph_node& gn = *g.nodes[n];
    NodeReader reader(*gn.node);
    std::string label = std::string(gn.node->op_type) + (gn.node->name && *gn.node->name ? " '" + std::string(gn.node->name) + "'" : "");
    for (size_t i = 0; i < gn.node->num_inputs; ++i) {
      int64_t v = gn.input_values[i];
      if (v >= 0 && c->values[static_cast<size_t>(v)].source == Source::kNone)
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "node " + std::to_string(n) + " (" + label + ") reads value " +
                                                            std::to_string(v) + ", which nothing defines");
    }
    NodePlan plan;
    try {
      plan = plan_for_device(*device, reader).plan;
    } catch (const Unsupported& why) {
      throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "node " + std::to_string(n) + " (" + label + ") is not supported: " + why.what());
    }
    std::vector<cl_mem> aux;
    try {
      for (const auto& table : plan.aux) aux.push_back(upload(device, table.data(), table.size() * sizeof(int32_t), "an index table"));
    } catch (...) {
      for (cl_mem m : aux) clReleaseMemObject(m);
      throw;
    }
    bool first = true;
    for (auto& step : plan.steps) {
      CompiledGraph::CompiledStep cs;
      cs.label = label;
      cs.step = step;
      cs.inputs.assign(gn.input_values, gn.input_values + gn.node->num_inputs);
      cs.outputs.assign(gn.output_values, gn.output_values + gn.node->num_outputs);
      if (first) {
        cs.aux = std::move(aux);  // owned by the node's first step; later steps share
        cs.scratch_bytes = plan.scratch_bytes;
      }
      c->steps.push_back(std::move(cs));
      if (step.launch) c->steps.back().kernel = device->programs->create_kernel(step.launch->program, step.launch->kernel);
      first = false;
    }
    if (first)
      for (cl_mem m : aux) clReleaseMemObject(m);
  }
  // Constants that steps read go to the device once.
  auto need = [&](int64_t v) {
    if (v < 0) return;
    auto& value = c->values[static_cast<size_t>(v)];
    if (value.source == Source::kConstant && value.constant == nullptr && value.bytes > 0)
      value.constant = upload(device, value.constant_bytes.data(), value.bytes, "a constant");
  };
  for (auto& s : c->steps) {
    auto visit = [&](const ArgRef& a) {
      if (a.kind == ArgRef::kInput) need(s.inputs.at(static_cast<size_t>(a.index)));
    };
    if (s.step.launch)
      for (const auto& a : s.step.launch->args) visit(a);
    if (s.step.copy) visit(s.step.copy->src);
  }
  for (int64_t v : c->output_values) need(v);
  return c;
}

}  // namespace

namespace entry {

hxrt_plugin_status* query_op_support(hxrt_query_op_support_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_query_op_support_args, reason_message_capacity), [&] {
    require_non_null(args->device, "device");
    check_node(args->node);
    NodeReader reader(*args->node);
    auto answer = [&](bool supported, hxrt_support_reason reason, double ns, const std::string& message) {
      args->supported = supported ? 1 : 0;
      args->reason = reason;
      args->estimated_ns = ns;
      plugin::copy_to_buffer(message, args->reason_message, args->reason_message_capacity);
    };
    try {
      DevicePlan p = plan_for_device(*args->device, reader);
      answer(true, HXRT_SUPPORTED, p.estimated_ns, "");
    } catch (const Unsupported& why) {
      answer(false, why.reason(), 0, why.what());
    } catch (const PluginError& e) {
      if (e.code() == HXRT_STATUS_INVALID_ARGUMENT) throw;
      answer(false, HXRT_UNSUPPORTED_OTHER, 0, e.what());
    }
  });
}

hxrt_plugin_status* executable_compile(hxrt_executable_compile_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_executable_compile_args, executable), [&] {
    args->executable = nullptr;
    require_non_null(args->device, "device");
    check_graph(args->graph);
    auto exe = std::make_unique<hxrt_executable>();
    exe->device = args->device;
    exe->graph = compile_graph(args->device, *args->graph);
    args->executable = exe.release();
  });
}

void executable_destroy(hxrt_executable* executable) { delete executable; }

namespace {

// Memory created for one run; released once enqueued (OpenCL keeps it alive
// until the commands using it finish).
struct RunMemory {
  std::vector<cl_mem> owned;
  ~RunMemory() {
    for (cl_mem m : owned) clReleaseMemObject(m);
  }
  cl_mem create(cl_context ctx, size_t bytes) {
    cl_int err = CL_SUCCESS;
    cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, bytes, nullptr, &err);
    if (err != CL_SUCCESS)
      throw PluginError(HXRT_STATUS_RESOURCE_EXHAUSTED, "cannot allocate " + std::to_string(bytes) + " bytes for a run: " + cl_error_name(err));
    owned.push_back(m);
    return m;
  }
};

}  // namespace

hxrt_plugin_status* executable_execute(hxrt_executable_execute_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_executable_execute_args, output_offsets), [&] {
    require_non_null(args->executable, "executable");
    require_non_null(args->stream, "stream");
    CompiledGraph& g = *args->executable->graph;
    hxrt_device* d = args->executable->device;
    hxrt_stream* s = args->stream;
    if (s->device != d) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "the stream belongs to another device than the executable");
    if (args->num_inputs != g.input_values.size())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable takes " + std::to_string(g.input_values.size()) +
                                                          " inputs, got " + std::to_string(args->num_inputs));
    if (args->num_outputs != g.output_values.size())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "executable produces " + std::to_string(g.output_values.size()) +
                                                          " outputs, got " + std::to_string(args->num_outputs));
    if (args->num_inputs > 0) require_non_null(args->input_buffers, "input_buffers");
    if (args->num_outputs > 0) require_non_null(args->output_buffers, "output_buffers");
    auto check_binding = [&](hxrt_buffer* b, uint64_t offset, size_t bytes, const std::string& what) {
      if (b == nullptr) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, what + " buffer is NULL");
      if (b->device != d) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, what + " buffer belongs to another device");
      if (offset > b->size || bytes > b->size - offset)
        throw PluginError(HXRT_STATUS_OUT_OF_RANGE, what + " needs " + std::to_string(bytes) + " bytes at offset " +
                                                        std::to_string(offset) + ", but its buffer has " + std::to_string(b->size));
    };
    for (size_t k = 0; k < args->num_inputs; ++k)
      check_binding(args->input_buffers[k], args->input_offsets ? args->input_offsets[k] : 0,
                    g.values[static_cast<size_t>(g.input_values[k])].bytes, "input " + std::to_string(k));
    for (size_t k = 0; k < args->num_outputs; ++k)
      check_binding(args->output_buffers[k], args->output_offsets ? args->output_offsets[k] : 0,
                    g.values[static_cast<size_t>(g.output_values[k])].bytes, "output " + std::to_string(k));

    std::lock_guard exe_lock(g.mutex);
    // Everything a run needs is allocated before anything is enqueued, so a
    // failure here leaves the stream untouched (R7.3).
    RunMemory run;
    std::vector<MemRef> at(g.values.size());
    struct WriteBack {
      cl_mem temp;
      MemRef target;
      size_t bytes;
    };
    std::vector<WriteBack> write_back;
    std::vector<WriteBack> read_in;  // unaligned inputs: copied into a temp first
    auto bind = [&](hxrt_buffer* b, uint64_t offset, size_t bytes, bool is_output) -> MemRef {
      MemRef target{b->mem, static_cast<size_t>(b->base + offset)};
      if (bytes == 0) return {d->dummy, 0};
      if (target.offset == 0) return target;
      if (target.offset % d->base_align_bytes == 0) {
        cl_buffer_region region{target.offset, bytes};
        cl_int err = CL_SUCCESS;
        cl_mem sub = clCreateSubBuffer(b->mem, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
        if (err == CL_SUCCESS) {
          run.owned.push_back(sub);
          return {sub, 0};
        }
      }
      cl_mem temp = run.create(d->cl_ctx, bytes);
      if (is_output)
        write_back.push_back({temp, target, bytes});
      else
        read_in.push_back({temp, target, bytes});
      return {temp, 0};
    };
    using Source = CompiledGraph::Source;
    for (size_t v = 0; v < g.values.size(); ++v) {
      const auto& value = g.values[v];
      if (value.source == Source::kInput) {
        size_t k = static_cast<size_t>(value.input_index);
        at[v] = bind(args->input_buffers[k], args->input_offsets ? args->input_offsets[k] : 0, value.bytes, false);
      } else if (value.source == Source::kConstant) {
        at[v] = {value.constant ? value.constant : d->dummy, 0};
      } else if (value.source == Source::kProduced) {
        if (value.output_slot >= 0) {
          size_t k = static_cast<size_t>(value.output_slot);
          at[v] = bind(args->output_buffers[k], args->output_offsets ? args->output_offsets[k] : 0, value.bytes, true);
        } else {
          at[v] = value.bytes == 0 ? MemRef{d->dummy, 0} : MemRef{run.create(d->cl_ctx, value.bytes), 0};
        }
      }
    }
    std::vector<std::vector<cl_mem>> scratch(g.steps.size());
    for (size_t i = 0; i < g.steps.size(); ++i)
      for (size_t bytes : g.steps[i].scratch_bytes) scratch[i].push_back(run.create(d->cl_ctx, std::max<size_t>(bytes, 4)));

    s->submit([&] {
      auto copy = [&](MemRef src, MemRef dst, size_t bytes, const std::string& label) {
        cl_event done = nullptr;
        cl_check(clEnqueueCopyBuffer(s->queue, src.mem, dst.mem, src.offset, dst.offset, bytes, 0, nullptr, &done),
                 label + ": clEnqueueCopyBuffer");
        s->track(done, label, false);
      };
      for (const auto& r : read_in) copy(r.target, {r.temp, 0}, r.bytes, "unaligned input");
      const std::vector<cl_mem>* aux = nullptr;
      for (size_t i = 0; i < g.steps.size(); ++i) {
        const auto& cs = g.steps[i];
        if (!cs.aux.empty()) aux = &cs.aux;  // a node's later steps use its first step's tables
        auto resolve = [&](const ArgRef& a) -> MemRef {
          switch (a.kind) {
            case ArgRef::kInput: {
              int64_t v = cs.inputs.at(static_cast<size_t>(a.index));
              return v < 0 ? MemRef{d->dummy, 0} : at[static_cast<size_t>(v)];
            }
            case ArgRef::kOutput: {
              int64_t v = cs.outputs.at(static_cast<size_t>(a.index));
              return v < 0 ? MemRef{d->dummy, 0} : at[static_cast<size_t>(v)];
            }
            case ArgRef::kScratch: return {scratch[i].at(static_cast<size_t>(a.index)), 0};
            case ArgRef::kAux: return {aux->at(static_cast<size_t>(a.index)), 0};
            default: return {d->dummy, 0};
          }
        };
        if (cs.step.copy) {
          copy(resolve(cs.step.copy->src), resolve(cs.step.copy->dst), cs.step.copy->bytes, cs.label);
          continue;
        }
        const Launch& l = *cs.step.launch;
        for (size_t a = 0; a < l.args.size(); ++a) {
          const ArgRef& arg = l.args[a];
          cl_int err = CL_SUCCESS;
          if (arg.kind == ArgRef::kInt) {
            err = clSetKernelArg(cs.kernel, static_cast<cl_uint>(a), sizeof(cl_int), &arg.i);
          } else if (arg.kind == ArgRef::kFloat) {
            err = clSetKernelArg(cs.kernel, static_cast<cl_uint>(a), sizeof(cl_float), &arg.f);
          } else {
            MemRef m = resolve(arg);
            err = clSetKernelArg(cs.kernel, static_cast<cl_uint>(a), sizeof(cl_mem), &m.mem);
          }
          cl_check(err, cs.label + ": clSetKernelArg " + std::to_string(a) + " of " + l.kernel);
        }
        cl_event done = nullptr;
        cl_check(clEnqueueNDRangeKernel(s->queue, cs.kernel, l.dims, nullptr, l.global, l.local, 0, nullptr, &done),
                 cs.label + ": clEnqueueNDRangeKernel(" + l.kernel + ")");
        s->track(done, cs.label + " (" + l.kernel + ")", true);
      }
      // Outputs not written in place: graph inputs or constants passed through, repeated outputs.
      for (size_t k = 0; k < g.output_values.size(); ++k) {
        size_t v = static_cast<size_t>(g.output_values[k]);
        const auto& value = g.values[v];
        if (value.bytes == 0 || (value.source == Source::kProduced && value.output_slot == static_cast<int64_t>(k))) continue;
        hxrt_buffer* b = args->output_buffers[k];
        MemRef dst{b->mem, static_cast<size_t>(b->base + (args->output_offsets ? args->output_offsets[k] : 0))};
        copy(at[v], dst, value.bytes, "output " + std::to_string(k));
      }
      for (const auto& w : write_back) copy({w.temp, 0}, w.target, w.bytes, "output write-back");
      clFlush(s->queue);
    });
  });
}

}  // namespace entry
}  // namespace hxrt::ocl
