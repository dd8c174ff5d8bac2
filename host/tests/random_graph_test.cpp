// Random graphs placed at random over every device the build has (CPU, the
// template plugin, and Vulkan/OpenCL when their plugins and devices exist),
// compared with the same graph on the CPU plugin alone. Exercises ordering
// across streams, cross-plugin staging, memory reuse and concurrent sessions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "graph/onnx_proto.hpp"
#include "session.hpp"

namespace {

std::string plugin_dir() {
  const char* dir = std::getenv("HXRT_PLUGIN_DIR");
  return dir ? dir : HXRT_TEST_PLUGIN_DIR;
}

// Places each node on a device drawn at random among those that support it.
class RandomPlacer final : public hxrt::host::Placer {
 public:
  explicit RandomPlacer(unsigned seed) : rng_(seed) {}
  hxrt::host::Placement place(const hxrt::host::Graph& graph, const std::vector<hxrt::host::DeviceRecord*>& devices,
                              const hxrt::host::SupportTable& table) override {
    hxrt::host::Placement p;
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      std::vector<int> able;
      for (size_t d = 0; d < devices.size(); ++d)
        if (table.support[n][d].supported) able.push_back(static_cast<int>(d));
      if (able.empty()) throw hxrt::host::unsupported_node_error(graph, static_cast<int>(n), devices, table);
      p.device_of_node.push_back(able[rng_() % able.size()]);
    }
    return p;
  }

 private:
  std::mt19937 rng_;
};

// A random DAG over [4,8] float tensors: unary, binary and MatMul (with a
// constant [8,8] weight) nodes; every dangling value becomes an output.
std::string random_model(unsigned seed, int nodes) {
  std::mt19937 rng(seed);
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("random");
  auto tensor_type = [](onnx::ValueInfoProto* v, std::vector<int64_t> dims) {
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  std::vector<std::string> values = {"x0", "x1"};
  for (auto& name : values) {
    auto* in = g->add_input();
    in->set_name(name);
    tensor_type(in, {4, 8});
  }
  std::vector<int> uses(2, 0);
  const char* unary[] = {"Relu", "Sigmoid", "Tanh", "Neg", "Abs"};
  const char* binary[] = {"Add", "Mul", "Sub", "Max"};
  std::uniform_real_distribution<float> weight(-0.5f, 0.5f);
  for (int i = 0; i < nodes; ++i) {
    auto pick = [&] {
      // Prefer recent values so graphs are deep as well as wide.
      size_t span = std::min<size_t>(values.size(), 4);
      size_t index = values.size() - 1 - rng() % span;
      if (rng() % 4 == 0) index = rng() % values.size();
      ++uses[index];
      return values[index];
    };
    std::string out = "v" + std::to_string(i);
    auto* n = g->add_node();
    n->set_name("n" + std::to_string(i));
    n->add_output(out);
    int kind = static_cast<int>(rng() % 10);
    if (kind < 4) {
      n->set_op_type(unary[rng() % 5]);
      n->add_input(pick());
    } else if (kind < 8) {
      n->set_op_type(binary[rng() % 4]);
      n->add_input(pick());
      n->add_input(pick());
    } else if (kind < 9) {
      n->set_op_type("MatMul");
      n->add_input(pick());
      std::string w = "w" + std::to_string(i);
      auto* init = g->add_initializer();
      init->set_name(w);
      init->set_data_type(onnx::TensorProto::FLOAT);
      init->add_dims(8);
      init->add_dims(8);
      for (int k = 0; k < 64; ++k) init->add_float_data(weight(rng));
      n->add_input(w);
    } else {
      n->set_op_type("Softmax");
      n->add_input(pick());
      auto* axis = n->add_attribute();
      axis->set_name("axis");
      axis->set_type(onnx::AttributeProto::INT);
      axis->set_i(-1);
    }
    values.push_back(out);
    uses.push_back(0);
  }
  for (size_t i = 2; i < values.size(); ++i) {
    if (uses[i] > 0 && i + 1 != values.size()) continue;
    auto* out = g->add_output();
    out->set_name(values[i]);
    tensor_type(out, {4, 8});
  }
  return m.SerializeAsString();
}

hxrt::host::EnvironmentConfig every_plugin() {
  hxrt::host::EnvironmentConfig config;
  config.plugin_paths = {plugin_dir(), std::string(HXRT_TEST_SAMPLE_PLUGIN_DIR) + "/libhxrt_template.so"};
  config.only_plugin_paths = true;
  config.log_level = HXRT_LOG_ERROR;
  return config;
}

std::vector<std::vector<float>> run_model(hxrt::host::Session& session, const std::vector<std::vector<float>>& inputs) {
  const auto& g = session.graph();
  std::vector<std::vector<float>> outputs(g.outputs.size(), std::vector<float>(32));
  std::vector<const void*> in;
  std::vector<void*> out;
  for (const auto& i : inputs) in.push_back(i.data());
  for (auto& o : outputs) out.push_back(o.data());
  session.run(in, out);
  return outputs;
}

}  // namespace

TEST(RandomGraphs, AnyPlacementMatchesCpuOnly) {
  hxrt::host::Environment env(every_plugin());
  ASSERT_GE(env.devices().size(), 2u) << "needs the CPU and template plugins at least";
  std::printf("devices in use:");
  for (auto* d : env.devices()) std::printf(" %s", d->id.c_str());
  std::printf("\n");
  std::mt19937 rng(2024);
  std::uniform_real_distribution<float> u(-1, 1);
  std::set<std::string> devices_seen;
  for (unsigned graph = 0; graph < 25; ++graph) {
    std::string model = random_model(graph, 6 + static_cast<int>(graph % 20));
    hxrt::host::SessionConfig cpu_only;
    cpu_only.allowed_devices = {"cpu"};
    hxrt::host::Session reference(env, model.data(), model.size(), cpu_only);
    hxrt::host::SessionConfig mixed;
    mixed.placer = std::make_shared<RandomPlacer>(graph);
    mixed.executor.runs_in_flight = 2;
    mixed.executor.transfer_chunk_bytes = 48;
    hxrt::host::Session session(env, model.data(), model.size(), mixed);
    for (const auto& p : session.placements()) devices_seen.insert(p.device_id);
    for (int r = 0; r < 2; ++r) {
      std::vector<std::vector<float>> inputs(2, std::vector<float>(32));
      for (auto& i : inputs)
        for (auto& x : i) x = u(rng);
      auto expected = run_model(reference, inputs);
      auto actual = run_model(session, inputs);
      ASSERT_EQ(actual.size(), expected.size());
      for (size_t o = 0; o < actual.size(); ++o)
        for (size_t k = 0; k < 32; ++k)
          ASSERT_NEAR(actual[o][k], expected[o][k], 1e-4 + 1e-4 * std::fabs(expected[o][k]))
              << "graph " << graph << " run " << r << " output " << o << " element " << k;
    }
  }
  EXPECT_GE(devices_seen.size(), 2u) << "random placement should have used more than one device";
}

TEST(RandomGraphs, SessionsOnSeveralThreads) {
  hxrt::host::Environment env(every_plugin());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      std::string model = random_model(100 + t, 12);
      hxrt::host::SessionConfig cpu_only;
      cpu_only.allowed_devices = {"cpu"};
      hxrt::host::Session reference(env, model.data(), model.size(), cpu_only);
      hxrt::host::SessionConfig mixed;
      mixed.placer = std::make_shared<RandomPlacer>(t);
      hxrt::host::Session session(env, model.data(), model.size(), mixed);
      std::mt19937 rng(t);
      std::uniform_real_distribution<float> u(-1, 1);
      for (int r = 0; r < 10; ++r) {
        std::vector<std::vector<float>> inputs(2, std::vector<float>(32));
        for (auto& i : inputs)
          for (auto& x : i) x = u(rng);
        auto expected = run_model(reference, inputs);
        auto actual = run_model(session, inputs);
        for (size_t o = 0; o < actual.size(); ++o)
          for (size_t k = 0; k < 32; ++k)
            if (std::fabs(actual[o][k] - expected[o][k]) > 1e-4 + 1e-4 * std::fabs(expected[o][k])) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}
