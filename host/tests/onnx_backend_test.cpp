// The ONNX backend node tests and the whole "light" models, run on the CPU
// plugin and compared with the expected outputs shipped with them.
//
// onnx_node_tests.tsv names every node test that is not expected to pass and
// why: "out-of-scope" (an op or dtype outside the foundation's scope) or
// "known-failure" (in scope, not passing yet). The in-scope pass rate must
// stay at or above 95%, and no test outside the list may fail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "graph/onnx_import.hpp"
#include "graph/tensor_proto.hpp"
#include "hxrt/hxrt.hpp"
#include "tensor_check.hpp"

namespace fs = std::filesystem;
using hxrt::host::HostTensor;

namespace {

std::string shared_data() {
  const char* dir = std::getenv("HXRT_SHARED_DATA");
  return dir ? dir : HXRT_TEST_SHARED_DATA;
}

hxrt::Environment& cpu_environment() {
  static std::string path = std::string(std::getenv("HXRT_PLUGIN_DIR") ? std::getenv("HXRT_PLUGIN_DIR") : HXRT_TEST_PLUGIN_DIR) +
                            "/libhxrt_cpu.so";
  static hxrt_environment_options options{sizeof(hxrt_environment_options), path.c_str(), 1, nullptr, nullptr,
                                          HXRT_LOG_ERROR, nullptr};
  static hxrt::Environment env(&options);
  return env;
}

// Runs `model` with `inputs` on the CPU plugin; returns "" or what went wrong.
std::string run_and_compare(const fs::path& model, std::vector<HostTensor> inputs,
                            const std::vector<HostTensor>& expected, double rtol, double atol) {
  try {
    // The test data's inputs follow the model's input order; every value is
    // offered to the session, which keeps as constants those that set shapes.
    hxrt::host::Graph graph = hxrt::host::import_onnx_file(model.string());
    if (graph.inputs.size() != inputs.size())
      return "model has " + std::to_string(graph.inputs.size()) + " inputs, test data " + std::to_string(inputs.size());
    // All names first: a tensor keeps names[i].c_str(), which growing the vector would move.
    std::vector<std::string> names;
    for (size_t i = 0; i < inputs.size(); ++i) names.push_back(graph.values[graph.inputs[i]].name);
    std::vector<hxrt_tensor> values(inputs.size());
    std::vector<const hxrt_tensor*> value_ptrs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      values[i] = {sizeof(hxrt_tensor), names[i].c_str(), inputs[i].dtype, inputs[i].shape.size(), inputs[i].shape.data(),
                   inputs[i].bytes.data(), inputs[i].bytes.size()};
      value_ptrs.push_back(&values[i]);
    }
    hxrt_session_options options{};
    options.struct_size = sizeof(options);
    options.input_values = value_ptrs.data();
    options.num_input_values = value_ptrs.size();
    hxrt::Session session(cpu_environment(), model.string(), &options);
    auto out_info = session.outputs();
    std::vector<hxrt::TensorRef> in, out;
    for (const auto& info : session.inputs())
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == info.name) in.emplace_back(info.name, inputs[i].bytes.data(), inputs[i].bytes.size());
    std::vector<HostTensor> results;
    for (size_t i = 0; i < out_info.size(); ++i) {
      results.push_back(hxrt::tools::make_tensor(out_info[i].dtype, out_info[i].dims));
      out.emplace_back(out_info[i].name, results[i].bytes.data(), results[i].bytes.size());
    }
    session.run(in, out);
    for (size_t i = 0; i < expected.size() && i < results.size(); ++i) {
      auto diff = hxrt::tools::compare_tensors(results[i], expected[i], rtol, atol);
      if (!diff.ok()) return "output " + std::to_string(i) + " (" + out_info[i].name + "): " + diff.problem;
    }
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

struct Listed {
  std::string category;
  std::string reason;
};

std::map<std::string, Listed> read_list() {
  std::map<std::string, Listed> list;
  std::ifstream file(HXRT_NODE_TEST_LIST);
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream fields(line);
    std::string name, category, reason;
    std::getline(fields, name, '\t');
    std::getline(fields, category, '\t');
    std::getline(fields, reason);
    list[name] = {category, reason};
  }
  return list;
}

}  // namespace

TEST(OnnxBackend, NodeTests) {
  fs::path root = fs::path(shared_data()) / "onnx-node/onnx/backend/test/data/node";
  if (!fs::is_directory(root)) GTEST_SKIP() << "ONNX node tests not found at " << root << " (set HXRT_SHARED_DATA)";
  auto listed = read_list();
  std::vector<fs::path> tests;
  for (const auto& entry : fs::directory_iterator(root)) tests.push_back(entry.path());
  std::sort(tests.begin(), tests.end());
  int in_scope = 0, in_scope_passed = 0, out_of_scope_passed = 0;
  std::vector<std::string> unexpected_failures, unexpected_passes;
  for (const auto& dir : tests) {
    std::string name = dir.filename().string();
    std::vector<HostTensor> inputs, expected;
    fs::path data = dir / "test_data_set_0";
    std::string failure;
    try {
      for (int i = 0; fs::exists(data / ("input_" + std::to_string(i) + ".pb")); ++i)
        inputs.push_back(hxrt::host::load_tensor_proto_file((data / ("input_" + std::to_string(i) + ".pb")).string()));
      for (int i = 0; fs::exists(data / ("output_" + std::to_string(i) + ".pb")); ++i)
        expected.push_back(hxrt::host::load_tensor_proto_file((data / ("output_" + std::to_string(i) + ".pb")).string()));
    } catch (const std::exception& e) {
      failure = std::string("test data: ") + e.what();
    }
    if (failure.empty()) failure = run_and_compare(dir / "model.onnx", inputs, expected, 1e-3, 1e-5);
    if (std::getenv("HXRT_NODE_TEST_VERBOSE")) std::printf("%s\t%s\n", name.c_str(), failure.empty() ? "PASS" : failure.c_str());
    auto it = listed.find(name);
    bool out_of_scope = it != listed.end() && it->second.category == "out-of-scope";
    if (out_of_scope) {
      out_of_scope_passed += failure.empty();
      continue;
    }
    ++in_scope;
    if (failure.empty()) {
      ++in_scope_passed;
      if (it != listed.end()) unexpected_passes.push_back(name);
    } else if (it == listed.end()) {
      unexpected_failures.push_back(name + ": " + failure);
    }
  }
  double rate = in_scope ? 100.0 * in_scope_passed / in_scope : 0.0;
  std::printf("ONNX node tests: %d of %d in scope pass (%.1f%%); %zu listed out of scope (%d of them pass anyway)\n",
              in_scope_passed, in_scope, rate, tests.size() - static_cast<size_t>(in_scope), out_of_scope_passed);
  for (const auto& p : unexpected_passes) std::printf("  listed as known failure but passes: %s\n", p.c_str());
  for (const auto& f : unexpected_failures) ADD_FAILURE() << "unlisted failure: " << f;
  EXPECT_GE(rate, 95.0);
}

TEST(OnnxBackend, LightModels) {
  fs::path root = fs::path(shared_data()) / "onnx-light/onnx/backend/test/data/light";
  if (!fs::is_directory(root)) GTEST_SKIP() << "light models not found at " << root << " (set HXRT_SHARED_DATA)";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.path().extension() != ".onnx") continue;
    ++count;
    fs::path expected_file = entry.path();
    expected_file.replace_filename(entry.path().stem().string() + "_output_0.pb");
    // Their weights are constants, so any input gives the expected output; use random ones.
    hxrt::Session probe(cpu_environment(), entry.path().string());
    std::vector<HostTensor> inputs;
    std::mt19937 rng(42);
    for (const auto& info : probe.inputs()) inputs.push_back(hxrt::tools::random_tensor(info.dtype, info.dims, rng));
    std::string failure = run_and_compare(entry.path(), inputs,
                                          {hxrt::host::load_tensor_proto_file(expected_file.string())}, 1e-3, 1e-5);
    EXPECT_EQ(failure, "") << entry.path().filename();
  }
  EXPECT_EQ(count, 9);
}
