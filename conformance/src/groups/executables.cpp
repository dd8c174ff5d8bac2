// Executables: a fused group (MatMul -> Add -> Relu -> Softmax) claimed,
// compiled, run and compared; run many times, from two threads, after its
// descriptors are gone; execute-argument errors (R5.4, R5.6, R6, R7.3).
#include <atomic>
#include <cmath>
#include <cstring>
#include <set>
#include <thread>

#include "abi_views.hpp"
#include "groups/common.hpp"
#include "op_runner.hpp"
#include "reference/reference.hpp"

namespace hxrt::conformance {
namespace {

struct Chain {
  host::Graph graph;
  Tensor w, bias;
  Tensor expected(const Tensor& x) const {
    Tensor y = ref::matmul(x, w);
    y = ref::binary("Add", y, bias);
    for (double& v : y.v) v = std::max(v, 0.0);
    return ref::softmax(y, -1, false);
  }
};

Tensor random_tensor(Dims shape, uint32_t seed) {
  Tensor t(HXRT_DTYPE_FLOAT32, shape);
  uint32_t s = seed * 747796405u + 2891336453u;
  for (double& v : t.v) {
    s = s * 1103515245u + 12345u;
    v = static_cast<float>(static_cast<double>((s >> 8) & 0xffff) / 65536.0 * 2.0 - 1.0);
  }
  return t;
}

Chain make_chain() {
  Chain c;
  const int64_t m = 4, k = 8, n = 6;
  c.w = random_tensor({k, n}, 1);
  c.bias = random_tensor({m, n}, 2);  // full shape: plugins without broadcasting can claim it
  host::Graph& g = c.graph;
  g.opset_imports[""] = 13;
  auto value = [&](const std::string& name, Dims shape, const Tensor* constant) {
    host::Value v;
    v.name = name;
    v.dtype = HXRT_DTYPE_FLOAT32;
    v.shape = shape;
    if (constant) {
      auto t = std::make_shared<host::HostTensor>();
      t->dtype = HXRT_DTYPE_FLOAT32;
      t->shape = constant->shape;
      t->bytes = encode(*constant);
      v.constant = t;
    }
    return g.add_value(v);
  };
  int x = value("x", {m, k}, nullptr), w = value("w", {k, n}, &c.w), b = value("b", {m, n}, &c.bias);
  int t1 = value("t1", {m, n}, nullptr), t2 = value("t2", {m, n}, nullptr), t3 = value("t3", {m, n}, nullptr);
  int y = value("y", {m, n}, nullptr);
  g.inputs = {x};
  g.outputs = {y};
  auto node = [&](const std::string& op, std::vector<int> in, int out) {
    host::Node nd;
    nd.name = op;
    nd.op_type = op;
    nd.opset = 13;
    nd.inputs = std::move(in);
    nd.outputs = {out};
    g.values[out].producer = static_cast<int>(g.nodes.size());
    g.nodes.push_back(nd);
  };
  node("MatMul", {x, w}, t1);
  node("Add", {t1, b}, t2);
  node("Relu", {t2}, t3);
  node("Softmax", {t3}, y);
  return c;
}

void executables_group(GroupContext& g, bool stress) {
  for_each_device(g, [&](const Plugin& loaded, Device& dev, int di) {
    const Plugin* plugin = &loaded;
    const hxrt_plugin_api* api = loaded.api();
    Chain chain = make_chain();
    const host::Graph& graph = chain.graph;
    // Which nodes the device claims decides what can be compiled at all.
    std::vector<bool> claimed;
    for (const auto& node : graph.nodes) {
      host::NodeView view(graph, node);
      QueryAnswer q;
      must(query(dev, view.desc(), q), "query_op_support(" + node.op_type + ")");
      claimed.push_back(q.supported);
    }
    bool all = std::all_of(claimed.begin(), claimed.end(), [](bool b) { return b; });
    std::string why_not;
    for (size_t i = 0; i < claimed.size(); ++i)
      if (!claimed[i]) why_not += " " + graph.nodes[i].op_type;
    auto require_all = [&](Check& c) {
      if (!all) c.skip("the fused chain needs MatMul, Add, Relu and Softmax; not claimed:" + why_not);
    };
    host::SubgraphView whole(graph, {0, 1, 2, 3}, false);

    if (!stress) {
      g.check("claim_subgraph", "R5.6", [&](Check& c) {
        if (!HXRT_CONF_HAS(*plugin, claim_subgraph)) c.skip("claim_subgraph is not offered (optional)");
        std::vector<int64_t> group(4, -7);
        std::vector<double> est(4, -1.0);
        hxrt_claim_subgraph_args a{};
        a.struct_size = sizeof(a);
        a.device = dev.handle();
        a.graph = whole.desc();
        a.group_of_node = group.data();
        a.group_estimated_ns = est.data();
        Status s(api, api->claim_subgraph(&a));
        if (!c.expect(s.ok(), "claim_subgraph: " + s.describe())) return;
        std::set<int64_t> seen;
        for (size_t i = 0; i < 4; ++i) {
          c.expect(group[i] >= -1, "group_of_node[" + std::to_string(i) + "] = " + std::to_string(group[i]) + " not written");
          if (group[i] >= 0) {
            c.expect(claimed[i], graph.nodes[i].op_type + " is claimed by claim_subgraph but not by query_op_support");
            if (seen.insert(group[i]).second)
              c.expect(std::isfinite(est[i]) && est[i] > 0,
                       "group " + std::to_string(group[i]) + ": estimate " + std::to_string(est[i]) + " at its first node");
          }
        }
        // Convexity on a chain: a group's members are contiguous.
        for (int64_t id : seen) {
          size_t first = 4, last = 0;
          for (size_t i = 0; i < 4; ++i)
            if (group[i] == id) first = std::min(first, i), last = std::max(last, i);
          for (size_t i = first; i <= last; ++i)
            c.expect(group[i] == id, "group " + std::to_string(id) + " is not convex: node " + std::to_string(i) + " lies between its members");
        }
        // Each claimed group must compile (R5.6) and give the right result.
        for (int64_t id : seen) {
          std::vector<int> members;
          for (size_t i = 0; i < 4; ++i)
            if (group[i] == id) members.push_back(static_cast<int>(i));
          host::SubgraphView sub(graph, members, false);
          Executable exe;
          Status cs = dev.compile(sub.desc(), exe);
          c.expect(cs.ok(), "compiling claimed group " + std::to_string(id) + ": " + cs.describe());
        }
      }, di);
    }
    g.check(stress ? "repeat_many" : "fused.run", "R6", [&](Check& c) {
      require_all(c);
      Executable exe;
      Status cs = dev.compile(whole.desc(), exe);
      if (!c.expect(cs.ok(), "compiling MatMul->Add->Relu->Softmax: " + cs.describe())) return;
      Stream s = dev.must_stream();
      int runs = stress ? 500 : 50;
      for (int r = 0; r < runs; ++r) {
        Tensor x = random_tensor({4, 8}, static_cast<uint32_t>(100 + r));
        auto got = execute(dev, s.get(), exe.get(), {x}, output_specs(graph, whole.output_values()));
        std::string diff = compare(got[0], chain.expected(x), Tolerance{1e-4, 1e-5});
        if (!c.expect(diff.empty(), "run " + std::to_string(r) + ": " + diff)) break;
      }
    }, di);
    g.check(stress ? "threads_heavy" : "fused.two_threads", "R6 R10.2", [&](Check& c) {
      require_all(c);
      Executable exe;
      must(dev.compile(whole.desc(), exe), "executable_compile");
      int n_threads = stress ? 6 : 2, runs = stress ? 200 : 40;
      std::atomic<int> bad{0};
      std::vector<std::string> first(n_threads);
      std::vector<std::thread> pool;
      for (int t = 0; t < n_threads; ++t)
        pool.emplace_back([&, t] {
          try {
            Stream s = dev.must_stream();
            for (int r = 0; r < runs; ++r) {
              Tensor x = random_tensor({4, 8}, static_cast<uint32_t>(1000 * (t + 1) + r));
              auto got = execute(dev, s.get(), exe.get(), {x}, output_specs(graph, whole.output_values()));
              std::string diff = compare(got[0], chain.expected(x), Tolerance{1e-4, 1e-5});
              if (!diff.empty() && bad++ == 0) first[t] = "thread " + std::to_string(t) + " run " + std::to_string(r) + ": " + diff;
            }
          } catch (const std::exception& e) {
            if (bad++ == 0) first[t] = e.what();
          }
        });
      for (auto& th : pool) th.join();
      for (const auto& f : first)
        if (!f.empty()) c.fail(f);
      c.expect(bad == 0, std::to_string(bad.load()) + " concurrent executions of one executable gave wrong results");
    }, di);
    if (stress) return;
    g.check("fused.outlives_descriptors", "R5.4", [&](Check& c) {
      require_all(c);
      Executable exe;
      {
        // The descriptors and constants live only during compile; scribble over them afterwards.
        Chain copy = make_chain();
        auto sub = std::make_unique<host::SubgraphView>(copy.graph, std::vector<int>{0, 1, 2, 3}, false);
        must(dev.compile(sub->desc(), exe), "executable_compile");
        for (auto& v : copy.graph.values)
          if (v.constant) std::memset(const_cast<uint8_t*>(v.constant->bytes.data()), 0x7f, v.constant->bytes.size());
        sub.reset();
      }
      Stream s = dev.must_stream();
      Tensor x = random_tensor({4, 8}, 7);
      auto got = execute(dev, s.get(), exe.get(), {x}, output_specs(graph, whole.output_values()));
      std::string diff = compare(got[0], chain.expected(x), Tolerance{1e-4, 1e-5});
      c.expect(diff.empty(), "after the compile-time descriptors were overwritten: " + diff);
    }, di);
    g.check("execute.bad_args", "R6 R7.3", [&](Check& c) {
      require_all(c);
      Executable exe;
      must(dev.compile(whole.desc(), exe), "executable_compile");
      Stream s = dev.must_stream();
      Buffer in = dev.must_allocate(4 * 8 * 4 + 64), out = dev.must_allocate(4 * 6 * 4), tiny = dev.must_allocate(8);
      hxrt_buffer* ins[] = {in.get()};
      hxrt_buffer* outs[] = {out.get()};
      hxrt_buffer* tinys[] = {tiny.get()};
      auto run = [&](size_t ni, hxrt_buffer* const* ib, const uint64_t* ioff, size_t no, hxrt_buffer* const* ob,
                     hxrt_stream* stream) {
        hxrt_executable_execute_args a{};
        a.struct_size = sizeof(a);
        a.executable = exe.get();
        a.stream = stream;
        a.num_inputs = ni;
        a.input_buffers = ib;
        a.input_offsets = ioff;
        a.num_outputs = no;
        a.output_buffers = ob;
        return Status(api, api->executable_execute(&a));
      };
      expect_code(c, run(2, ins, nullptr, 1, outs, s.get()), HXRT_STATUS_INVALID_ARGUMENT, "execute with 2 inputs for 1");
      expect_code(c, run(1, ins, nullptr, 0, outs, s.get()), HXRT_STATUS_INVALID_ARGUMENT, "execute with 0 outputs for 1");
      expect_code(c, run(1, ins, nullptr, 1, outs, nullptr), HXRT_STATUS_INVALID_ARGUMENT, "execute with stream NULL");
      hxrt_buffer* null_buf[] = {nullptr};
      expect_code(c, run(1, null_buf, nullptr, 1, outs, s.get()), HXRT_STATUS_INVALID_ARGUMENT, "execute with a NULL input buffer");
      expect_code(c, run(1, ins, nullptr, 1, tinys, s.get()), HXRT_STATUS_OUT_OF_RANGE,
                  "execute with an 8-byte output buffer for 96 bytes");
      uint64_t far[] = {128};
      expect_code(c, run(1, ins, far, 1, outs, s.get()), HXRT_STATUS_OUT_OF_RANGE,
                  "execute with the input at offset 128 of a 192-byte buffer (128 bytes needed)");
      // An in-range offset works and reads from there.
      Tensor x = random_tensor({4, 8}, 9);
      std::vector<uint8_t> xb = encode(x), yb(96);
      must(dev.copy_to_device(s.get(), xb.data(), in.get(), 64, xb.size()), "copy_to_device");
      uint64_t at64[] = {64};
      Status ok = run(1, ins, at64, 1, outs, s.get());
      if (c.expect(ok.ok(), "execute with the input at offset 64: " + ok.describe())) {
        must(dev.copy_to_host(s.get(), out.get(), 0, yb.data(), yb.size()), "copy_to_host");
        must(dev.synchronize(s.get()), "stream_synchronize");
        std::string diff = compare(decode(HXRT_DTYPE_FLOAT32, {4, 6}, yb.data(), yb.size()), chain.expected(x), Tolerance{1e-4, 1e-5});
        c.expect(diff.empty(), "input at offset 64: " + diff);
      }
      expect_code(c, dev.synchronize(s.get()), HXRT_STATUS_OK, "stream_synchronize (refused calls enqueue nothing, R7.3)");
    }, di);
    g.check("compile.errors", "R6", [&](Check& c) {
      // A node the device cannot run gives UNIMPLEMENTED; a malformed graph INVALID_ARGUMENT.
      OpCase oc = simple_case("Relu");
      oc.op = "HxrtConformanceNoSuchOp";
      host::Graph unknown = build_graph(oc);
      host::SubgraphView su(unknown, {0}, true);
      Executable e1;
      expect_code(c, dev.compile(su.desc(), e1), HXRT_STATUS_UNIMPLEMENTED, "compiling an unknown op");
      host::Graph relu = build_graph(simple_case("Relu"));
      host::SubgraphView sr(relu, {0}, true);
      hxrt_graph_desc bad = *sr.desc();
      int64_t outside[] = {99};
      bad.output_values = outside;
      Executable e2;
      expect_code(c, dev.compile(&bad, e2), HXRT_STATUS_INVALID_ARGUMENT, "compiling a graph whose output is value 99 of 2");
      hxrt_graph_desc small = *sr.desc();
      small.struct_size = 8;
      Executable e3;
      expect_code(c, dev.compile(&small, e3), HXRT_STATUS_INVALID_ARGUMENT, "compiling a graph with struct_size 8");
    }, di);
  });
}

}  // namespace

void add_executable_groups(std::vector<GroupInfo>& groups) {
  groups.push_back({"executables", "executables", Profile::kCore,
                    "claim_subgraph, a fused chain compiled, run 50 times, from two threads, after its descriptors "
                    "died; execute and compile errors",
                    "R5.4 R5.6 R6 R7.3 R10.2", [](GroupContext& g) { executables_group(g, false); }});
  groups.push_back({"stress", "stress.executables", Profile::kFull,
                    "the fused chain 500 times and from 6 threads", "R6 R10.2",
                    [](GroupContext& g) { executables_group(g, true); }});
}

}  // namespace hxrt::conformance
