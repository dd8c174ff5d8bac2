// Ops: every claimed op of the catalog on randomized cases, compared with the
// reference (R5.3 "supported is a promise", R6); query answers for unknown
// ops, domains, opsets and dtypes (R2.2, R5.2, R5.3); the cost model (R5.3).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "abi_views.hpp"
#include "groups/common.hpp"
#include "op_runner.hpp"

namespace hxrt::conformance {
namespace {

// Runs one case: query, compile, execute, compare. Skips unclaimed cases with
// the plugin's reason.
void run_case(Check& c, const Device& dev, hxrt_stream* stream, const OpCase& oc) {
  host::Graph graph = build_graph(oc);
  host::NodeView view(graph, graph.nodes[0]);
  QueryAnswer q;
  Status qs = query(dev, view.desc(), q);
  if (!c.expect(qs.ok(), oc.label() + ": query_op_support of a well-formed node returned " + qs.describe())) return;
  if (!q.supported) {
    c.expect(q.reason != HXRT_SUPPORTED, oc.label() + ": supported = 0 with reason SUPPORTED (R5.3)");
    c.skip(std::string("not claimed: ") + q.describe());
  }
  c.expect(q.reason == HXRT_SUPPORTED, oc.label() + ": supported with reason " + reason_name(q.reason));
  c.expect(std::isfinite(q.estimated_ns) && q.estimated_ns > 0,
           oc.label() + ": estimated_ns " + std::to_string(q.estimated_ns) + " (R5.3: > 0 and finite when supported)");
  host::SubgraphView sub(graph, {0}, true);
  Executable exe;
  Status cs = dev.compile(sub.desc(), exe);
  if (!c.expect(cs.ok(), oc.label() + ": claimed but executable_compile failed (R5.3: supported is a promise): " +
                             cs.describe()))
    return;
  std::vector<Tensor> inputs;
  for (int v : sub.input_values()) {
    const std::string& name = graph.values[v].name;  // "x<k>"
    inputs.push_back(oc.inputs.at(std::stoul(name.substr(1))).t);
  }
  std::vector<Tensor> got;
  try {
    got = execute(dev, stream, exe.get(), inputs, output_specs(graph, sub.output_values()));
  } catch (const std::exception& e) {
    c.fail(oc.label() + ": " + e.what());
    return;
  }
  for (size_t k = 0; k < got.size(); ++k) {
    const std::string& name = graph.values[sub.output_values()[k]].name;  // "y<k>"
    const Tensor& expected = oc.expected.at(std::stoul(name.substr(1)));
    std::string diff = compare(got[k], expected, is_float(expected.dtype) ? oc.tolerance : Tolerance{});
    c.expect(diff.empty(), oc.label() + ": output " + std::to_string(k) + " " + diff + " (rtol " +
                               std::to_string(oc.tolerance.rtol) + ", atol " + std::to_string(oc.tolerance.atol) + ")");
  }
}

void sweep_group(GroupContext& g, bool wide) {
  std::vector<OpCase> cases = op_cases(g.options.seed, wide);
  for_each_device(g, [&](const Plugin&, Device& dev, int d) {
    Stream stream = dev.must_stream();
    for (const OpCase& oc : cases)
      g.check(oc.op + "." + std::to_string(oc.index), "R5.3 R6",
              [&](Check& c) { run_case(c, dev, stream.get(), oc); }, d);
  });
}

QueryAnswer must_query(Check& c, const Device& dev, const hxrt_node_desc* node, const std::string& what) {
  QueryAnswer q;
  Status s = query(dev, node, q);
  c.expect(s.ok(), what + ": unsupported is an answer, not an error (R5.3): query_op_support returned " + s.describe());
  return q;
}

void queries_group(GroupContext& g) {
  for_each_device(g, [&](const Plugin&, Device& dev, int di) {
    g.check("unknown_op", "R5.3", [&](Check& c) {
      OpCase oc = simple_case("Relu");
      oc.op = "HxrtConformanceNoSuchOp";
      host::Graph graph = build_graph(oc);
      host::NodeView view(graph, graph.nodes[0]);
      QueryAnswer q = must_query(c, dev, view.desc(), "an unknown op");
      c.expect(!q.supported && q.reason == HXRT_UNSUPPORTED_OP,
               "unknown op: observed " + q.describe() + ", expected UNSUPPORTED_OP");
      c.expect(q.estimated_ns == 0, "unknown op: estimated_ns " + std::to_string(q.estimated_ns) + ", expected 0");
      c.expect(!q.message.empty(), "unknown op: reason_message is empty (R5.3: a concrete reason)");
    }, di);
    g.check("unknown_domain", "R5.2", [&](Check& c) {
      host::Graph graph = build_graph(simple_case("Relu"));
      graph.nodes[0].domain = "com.hxrt.conformance";
      host::NodeView view(graph, graph.nodes[0]);
      QueryAnswer q = must_query(c, dev, view.desc(), "a foreign domain");
      c.expect(!q.supported && q.reason == HXRT_UNSUPPORTED_OP,
               "Relu in domain com.hxrt.conformance: observed " + q.describe() + ", expected UNSUPPORTED_OP");
    }, di);
    g.check("default_domain_alias", "R5.2", [&](Check& c) {
      for (const char* op : {"Relu", "Add", "Mul"}) {
        host::Graph a = build_graph(simple_case(op)), b = a;
        b.nodes[0].domain = "ai.onnx";
        host::NodeView va(a, a.nodes[0]), vb(b, b.nodes[0]);
        QueryAnswer qa = must_query(c, dev, va.desc(), op), qb = must_query(c, dev, vb.desc(), op);
        c.expect(qa.supported == qb.supported && qa.reason == qb.reason,
                 std::string(op) + ": domain \"\" gives " + qa.describe() + " but \"ai.onnx\" gives " + qb.describe());
      }
    }, di);
    g.check("future_opset", "R5.2", [&](Check& c) {
      host::Graph graph = build_graph(simple_case("Relu"));
      graph.nodes[0].opset = 10000;
      host::NodeView view(graph, graph.nodes[0]);
      QueryAnswer q = must_query(c, dev, view.desc(), "opset 10000");
      c.expect(!q.supported && q.reason == HXRT_UNSUPPORTED_OPSET,
               "Relu opset 10000: observed " + q.describe() + ", expected UNSUPPORTED_OPSET");
    }, di);
    g.check("unknown_dtype", "R2.2", [&](Check& c) {
      host::Graph graph = build_graph(simple_case("Relu"));
      for (auto& v : graph.values) v.dtype = static_cast<hxrt_dtype>(200);
      host::NodeView view(graph, graph.nodes[0]);
      QueryAnswer q = must_query(c, dev, view.desc(), "dtype 200");
      c.expect(!q.supported && q.reason == HXRT_UNSUPPORTED_DTYPE,
               "Relu on dtype 200: observed " + q.describe() + ", expected UNSUPPORTED_DTYPE");
    }, di);
  });
}

// Problem sizes for the cost model: each at least as large as the previous in every dimension.
std::vector<OpCase> scaled_cases(const std::string& op) {
  std::vector<OpCase> out;
  for (int64_t s : {8, 32, 128, 256}) {
    OpCase c;
    if (op == "MatMul") {
      c = simple_case("Relu");
      c.op = "MatMul";
      Tensor a(HXRT_DTYPE_FLOAT32, {s, s}), b(HXRT_DTYPE_FLOAT32, {s, s});
      for (size_t i = 0; i < a.v.size(); ++i) a.v[i] = b.v[i] = static_cast<float>((i % 5) * 0.1);
      c.inputs = {{a, false, false}, {b, false, false}};
      c.expected = {Tensor(HXRT_DTYPE_FLOAT32, {s, s})};
    } else {
      c = simple_case(op, {s, s * 4});
    }
    out.push_back(c);
  }
  return out;
}

void cost_group(GroupContext& g) {
  for_each_device(g, [&](const Plugin&, Device& dev, int d) {
    Stream stream = dev.must_stream();
    for (const char* op : {"Relu", "Add", "Mul", "MatMul"}) {
      g.check(std::string("model.") + op, "R5.3", [&](Check& c) {
        std::vector<double> est;
        std::string table;
        for (const OpCase& oc : scaled_cases(op)) {
          host::Graph graph = build_graph(oc);
          host::NodeView view(graph, graph.nodes[0]);
          QueryAnswer q = must_query(c, dev, view.desc(), oc.label());
          if (!q.supported) c.skip(std::string("not claimed: ") + q.describe());
          c.expect(std::isfinite(q.estimated_ns) && q.estimated_ns > 0,
                   oc.label() + ": estimated_ns " + std::to_string(q.estimated_ns) + " must be > 0 and finite");
          if (!est.empty())
            c.expect(q.estimated_ns >= est.back(), oc.label() + ": estimate " + std::to_string(q.estimated_ns) +
                                                       " ns is below the smaller problem's " +
                                                       std::to_string(est.back()) + " ns (monotone)");
          est.push_back(q.estimated_ns);
          // Measured: median of 5 executions, copies excluded.
          host::SubgraphView sub(graph, {0}, true);
          Executable exe;
          Status cs = dev.compile(sub.desc(), exe);
          if (!c.expect(cs.ok(), oc.label() + ": compile: " + cs.describe())) return;
          std::vector<Buffer> bufs;
          std::vector<hxrt_buffer*> ins, outs;
          for (int v : sub.input_values()) {
            const Tensor& t = oc.inputs.at(std::stoul(graph.values[v].name.substr(1))).t;
            std::vector<uint8_t> bytes = encode(t);
            bufs.push_back(dev.must_allocate(bytes.size()));
            must(dev.copy_to_device(stream.get(), bytes.data(), bufs.back().get(), 0, bytes.size()), "copy_to_device");
            must(dev.synchronize(stream.get()), "stream_synchronize");
            ins.push_back(bufs.back().get());
          }
          for (int v : sub.output_values()) {
            bufs.push_back(dev.must_allocate(static_cast<uint64_t>(Tensor::numel_of(*graph.values[v].shape)) * 4));
            outs.push_back(bufs.back().get());
          }
          std::vector<double> times;
          for (int r = 0; r < 5; ++r) {
            hxrt_executable_execute_args a{};
            a.struct_size = sizeof(a);
            a.executable = exe.get();
            a.stream = stream.get();
            a.num_inputs = ins.size();
            a.input_buffers = ins.data();
            a.num_outputs = outs.size();
            a.output_buffers = outs.data();
            auto t0 = std::chrono::steady_clock::now();
            must(Status(dev.api(), dev.api()->executable_execute(&a)), "executable_execute");
            must(dev.synchronize(stream.get()), "stream_synchronize");
            times.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
          }
          std::sort(times.begin(), times.end());
          table += (table.empty() ? "" : ", ") + dims_label(oc.inputs[0].t.shape) + " est " +
                   std::to_string(static_cast<int64_t>(q.estimated_ns)) + " ns / measured " +
                   std::to_string(static_cast<int64_t>(times[2])) + " ns";
        }
        c.note(table);
      }, d);
    }
  });
}

}  // namespace

void add_op_groups(std::vector<GroupInfo>& groups) {
  groups.push_back({"ops", "ops.queries", Profile::kCore,
                    "answers for unknown ops, foreign domains, the ai.onnx alias, future opsets, unknown dtypes",
                    "R2.2 R5.2 R5.3", queries_group});
  groups.push_back({"ops", "ops.core", Profile::kCore,
                    "every catalog op the plugin claims, 3 random cases each, vs the double-precision reference",
                    "R5.3 R6", [](GroupContext& g) { sweep_group(g, false); }});
  groups.push_back({"ops", "ops.wide", Profile::kFull,
                    "the wide sweep: 10 more cases per op, larger, empty and integer-typed tensors", "R5.3 R6",
                    [](GroupContext& g) { sweep_group(g, true); }});
  groups.push_back({"cost", "cost", Profile::kCore,
                    "estimates > 0, finite, monotone in problem size; estimate and measured time side by side",
                    "R5.3", cost_group});
}

}  // namespace hxrt::conformance
