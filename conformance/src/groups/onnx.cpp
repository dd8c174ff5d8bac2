// ONNX backend node tests (--onnx-tests DIR): every single-op test whose node
// the plugin claims is compiled, run on test_data_set_0 and compared with the
// shipped outputs. Shape-determining inputs are bound as constants, as the
// host does (session.hpp: shape_determining_inputs).
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "abi_views.hpp"
#include "graph/onnx_import.hpp"
#include "graph/shape_inference.hpp"
#include "graph/tensor_proto.hpp"
#include "groups/common.hpp"
#include "op_runner.hpp"
#include "session.hpp"

namespace fs = std::filesystem;

namespace hxrt::conformance {
namespace {

// The node tests' expected outputs come from float32 numpy code, not from a
// double reference, so they get one looser tolerance (docs/conformance.md).
constexpr Tolerance kNodeTestTolerance{1e-3, 1e-5};

Tensor to_tensor(const host::HostTensor& h) {
  if (dtype_bytes(h.dtype) == 0 || h.dtype == HXRT_DTYPE_FLOAT16 || h.dtype == HXRT_DTYPE_BFLOAT16)
    throw SkipCheck(std::string("dtype ") + host::dtype_name(h.dtype) + " is outside the suite's tensor support");
  Tensor t = decode(h.dtype, h.shape, h.bytes.data(), h.bytes.size());
  // Values are held as double: integers beyond 2^53 would not survive the trip.
  if (!is_float(h.dtype))
    for (double v : t.v)
      if (std::fabs(v) > 9007199254740992.0) throw SkipCheck("integer values beyond 2^53 are outside the suite's exact range");
  return t;
}

std::vector<host::HostTensor> load_all(const fs::path& dir, const std::string& prefix) {
  std::vector<host::HostTensor> list;
  for (int i = 0;; ++i) {
    fs::path file = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(file)) break;
    list.push_back(host::load_tensor_proto_file(file.string()));
  }
  return list;
}

void run_node_test(Check& c, const Device& dev, hxrt_stream* stream, const fs::path& dir) {
  host::Graph graph;
  try {
    graph = host::import_onnx_file((dir / "model.onnx").string());
  } catch (const std::exception& e) {
    // Without the test's own path, equal reasons fold into one summary line.
    std::string why = e.what();
    for (size_t at; (at = why.find(dir.string() + "/")) != std::string::npos;) why.erase(at, dir.string().size() + 1);
    c.skip("the model cannot be imported: " + why);
  }
  if (graph.nodes.size() != 1) c.skip("not a single-op test (" + std::to_string(graph.nodes.size()) + " nodes)");
  fs::path data = dir / "test_data_set_0";
  std::vector<host::HostTensor> inputs, outputs;
  try {
    inputs = load_all(data, "input_");
    outputs = load_all(data, "output_");
  } catch (const std::exception& e) {
    c.skip(std::string("test data cannot be read: ") + e.what());
  }
  if (inputs.size() != graph.inputs.size() || outputs.size() != graph.outputs.size())
    c.skip("test data has " + std::to_string(inputs.size()) + " inputs / " + std::to_string(outputs.size()) +
           " outputs, the model " + std::to_string(graph.inputs.size()) + " / " + std::to_string(graph.outputs.size()));
  std::map<std::string, host::HostTensor> by_name;
  for (size_t i = 0; i < inputs.size(); ++i) by_name[graph.values[graph.inputs[i]].name] = inputs[i];
  std::vector<std::string> out_names;
  for (int v : graph.outputs) out_names.push_back(graph.values[v].name);
  try {
    std::map<std::string, host::HostTensor> bound;
    for (const auto& name : host::shape_determining_inputs(graph)) bound.emplace(name, by_name.at(name));
    if (!bound.empty()) host::bind_input_constants(graph, bound);
    std::map<std::string, host::Shape> shapes;
    for (int v : graph.inputs) shapes[graph.values[v].name] = by_name.at(graph.values[v].name).shape;
    host::set_input_shapes(graph, shapes);
    host::infer_shapes(graph, {});
  } catch (const std::exception& e) {
    c.skip(std::string("the host cannot infer static shapes: ") + e.what());
  }
  bool all_constant = true;
  for (int v : graph.nodes[0].outputs)
    if (v >= 0 && !graph.values[v].constant) all_constant = false;
  if (all_constant) c.skip("the node folds to a constant on the host");
  host::NodeView view(graph, graph.nodes[0]);
  QueryAnswer q;
  Status qs = query(dev, view.desc(), q);
  if (!c.expect(qs.ok(), graph.nodes[0].op_type + ": query_op_support returned " + qs.describe())) return;
  if (!q.supported) c.skip("not claimed: " + q.describe());
  // The suite must be able to encode everything before it runs anything.
  host::SubgraphView sub(graph, {0}, false);
  std::vector<Tensor> in_tensors;
  for (int v : sub.input_values()) in_tensors.push_back(to_tensor(by_name.at(graph.values[v].name)));
  std::vector<Tensor> expected;
  for (int v : sub.output_values()) {
    auto it = std::find(out_names.begin(), out_names.end(), graph.values[v].name);
    if (it == out_names.end()) c.skip("output " + graph.values[v].name + " has no expected data");
    expected.push_back(to_tensor(outputs[static_cast<size_t>(it - out_names.begin())]));
  }
  Executable exe;
  Status cs = dev.compile(sub.desc(), exe);
  if (!c.expect(cs.ok(), graph.nodes[0].op_type + ": claimed but executable_compile failed (R5.3): " + cs.describe()))
    return;
  std::vector<Tensor> got;
  try {
    got = execute(dev, stream, exe.get(), in_tensors, output_specs(graph, sub.output_values()));
  } catch (const std::exception& e) {
    c.fail(graph.nodes[0].op_type + ": " + e.what());
    return;
  }
  for (size_t k = 0; k < got.size(); ++k) {
    std::string diff = compare(got[k], expected[k], is_float(expected[k].dtype) ? kNodeTestTolerance : Tolerance{});
    c.expect(diff.empty(), graph.nodes[0].op_type + " output " + graph.values[sub.output_values()[k]].name + " " +
                               dtype_label(expected[k].dtype) + dims_label(expected[k].shape) + ": " + diff);
  }
}

void onnx_group(GroupContext& g) {
  if (g.options.onnx_tests.empty()) return;
  fs::path root = g.options.onnx_tests;
  if (!fs::is_directory(root)) {
    g.recorder.record({"onnx.tests", "onnx", "-", "skip", "ONNX node tests not found at " + root.string(), "", 0});
    return;
  }
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx")) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  for_each_device(g, [&](const Plugin&, Device& dev, int d) {
    Stream stream = dev.must_stream();
    for (const auto& dir : dirs)
      g.check(dir.filename().string(), "R5.3 R6", [&](Check& c) { run_node_test(c, dev, stream.get(), dir); }, d);
  });
}

}  // namespace

void add_onnx_groups(std::vector<GroupInfo>& groups) {
  groups.push_back({"onnx", "onnx", Profile::kCore,
                    "with --onnx-tests: ONNX backend single-op node tests whose node the plugin claims", "R5.3 R6",
                    onnx_group});
}

}  // namespace hxrt::conformance
