// hxrt-bench-cuda: times an ONNX model on the CUDA plugin.
//
//   hxrt-bench-cuda MODEL [--mode graph|nodes] [--iterations N] [--warmup N]
//                   [--options "allow_tf32=1;cuda_graphs=1"] [--input-raw F] [--output-raw F] [--json F]
//
// The model is imported and shape-inferred by libhxrt's own graph code, with
// constants folded on the CPU plugin, exactly as a session does. Then:
//   graph  compiles every node into ONE executable (what claim_subgraph offers
//          as one group) and replays it: the plugin's fast path;
//   nodes  compiles one executable per node and executes them in order, as the
//          host's executor does today.
// Inputs live on the device (random, or the raw bytes of --input-raw in input
// order); latency is timed around execute + stream_synchronize, and the host
// time of the execute calls alone gives the per-op host overhead.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "abi_views.hpp"
#include "constant_folding.hpp"
#include "device_objects.hpp"
#include "common/strings.hpp"
#include "environment.hpp"
#include "graph/onnx_import.hpp"
#include "graph/shape_inference.hpp"

using namespace hxrt::host;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  double pos = p * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(pos), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

// Nodes whose outputs all became constants need not run (as sessions do).
void drop_folded_nodes(Graph& graph) {
  std::vector<Node> kept;
  for (Node& node : graph.nodes) {
    bool folded = true;
    for (int v : node.outputs)
      if (v >= 0 && !graph.values[v].constant) folded = false;
    if (!folded) kept.push_back(std::move(node));
  }
  graph.nodes = std::move(kept);
}

std::vector<uint8_t> random_bytes(const Value& v, std::mt19937& rng) {
  size_t n = static_cast<size_t>(element_count(*v.shape));
  std::vector<uint8_t> out(n * dtype_size(v.dtype));
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (size_t i = 0; i < n; ++i) {
    float f = dist(rng);
    if (v.dtype == HXRT_DTYPE_FLOAT32) std::memcpy(out.data() + 4 * i, &f, 4);
    else if (v.dtype == HXRT_DTYPE_FLOAT16 || v.dtype == HXRT_DTYPE_BFLOAT16) {
      // Truncated bfloat16 or a crude half: only the bench input, not a check.
      uint32_t x;
      std::memcpy(&x, &f, 4);
      uint16_t h;
      if (v.dtype == HXRT_DTYPE_BFLOAT16) h = static_cast<uint16_t>(x >> 16);
      else {
        int32_t e = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
        h = e <= 0 ? static_cast<uint16_t>((x >> 16) & 0x8000u)
                   : static_cast<uint16_t>(((x >> 16) & 0x8000u) | (static_cast<uint32_t>(e) << 10) | ((x >> 13) & 0x3ffu));
      }
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hxrt-bench-cuda: time an ONNX model on the CUDA plugin"};
  std::string model, mode = "graph", options, input_raw, output_raw, json_path, plugin_path;
  int iterations = 100, warmup = 10, rounds = 1;
  bool back_to_back = false;
  app.add_option("model", model)->required();
  app.add_option("--mode", mode, "graph (one executable) or nodes (one per node)")->check(CLI::IsMember({"graph", "nodes"}));
  app.add_option("--iterations", iterations)->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup);
  app.add_option("--rounds", rounds, "timed rounds of --iterations runs each (median per round reported)")
      ->check(CLI::PositiveNumber);
  app.add_option("--options", options, "plugin options, e.g. allow_tf32=1");
  app.add_option("--plugin-path", plugin_path, "plugin folder (default: the build's)");
  app.add_option("--input-raw", input_raw, "raw input bytes, inputs concatenated in order");
  app.add_option("--output-raw", output_raw, "write the raw bytes of output 0 here");
  app.add_option("--json", json_path);
  app.add_flag("--back-to-back", back_to_back, "enqueue all timed runs, then synchronize once (throughput)");
  CLI11_PARSE(app, argc, argv);
  try {
    EnvironmentConfig config;
    if (!plugin_path.empty()) config.plugin_paths = {plugin_path};
    for (const auto& item : split_list(options, ';'))  // every option goes to the CUDA plugin only
      if (!item.empty()) config.plugin_options += (config.plugin_options.empty() ? "cuda:" : ";cuda:") + item;
    config.log_level = HXRT_LOG_WARNING;
    Environment env(config);
    DeviceRecord *cuda = nullptr, *cpu = nullptr;
    for (DeviceRecord* d : env.devices()) {
      if (!cuda && d->plugin->name() == "cuda") cuda = d;
      if (!cpu && d->plugin->name() == "cpu") cpu = d;
    }
    if (cuda == nullptr) throw std::runtime_error("no CUDA device is available");
    std::vector<DeviceRecord*> folders;
    folders.push_back(cpu ? cpu : cuda);  // constant folding prefers the CPU plugin, as sessions do

    auto t0 = Clock::now();
    Graph graph = import_onnx_file(model);
    infer_shapes(graph, [&](const Graph& g, const Node& n) { return fold_on_devices(folders, g, n); });
    drop_folded_nodes(graph);
    const hxrt_plugin_api& api = cuda->plugin->api();

    // Executables: the whole graph, or one per node.
    struct Exe {
      ExecutablePtr exe;
      std::vector<int> in, out;
    };
    std::vector<Exe> exes;
    std::vector<int> all(graph.nodes.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
    if (mode == "graph") {
      SubgraphView view(graph, all, /*all_outputs=*/false);
      exes.push_back({compile(*cuda, view.desc(), "the whole model"), view.input_values(), view.output_values()});
    } else {
      for (int n : all) {
        SubgraphView view(graph, {n}, /*all_outputs=*/true);
        exes.push_back({compile(*cuda, view.desc(), graph.nodes[static_cast<size_t>(n)].op_type), view.input_values(),
                        view.output_values()});
      }
    }
    double compile_ms = ms_since(t0);

    // Device buffers for every value an executable touches; inputs filled once.
    std::map<int, BufferPtr> buffers;
    auto buffer = [&](int v) -> hxrt_buffer* {
      auto it = buffers.find(v);
      if (it == buffers.end()) {
        uint64_t bytes = static_cast<uint64_t>(element_count(*graph.values[v].shape)) * dtype_size(graph.values[v].dtype);
        it = buffers.emplace(v, allocate_buffer(*cuda, bytes)).first;
      }
      return it->second.get();
    };
    StreamPtr stream = create_stream(*cuda);
    std::mt19937 rng(7);
    std::ifstream raw;
    if (!input_raw.empty()) raw.open(input_raw, std::ios::binary);
    for (int v : graph.inputs) {
      std::vector<uint8_t> data = random_bytes(graph.values[v], rng);
      if (raw.is_open() && !raw.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size())))
        throw std::runtime_error("--input-raw holds fewer bytes than the model's inputs");
      copy_to_device(*cuda, stream.get(), data.data(), {buffer(v), 0}, data.size());
    }
    synchronize_stream(*cuda, stream.get(), "uploading inputs");
    std::vector<std::vector<BufferSlice>> ins(exes.size()), outs(exes.size());
    for (size_t e = 0; e < exes.size(); ++e) {
      for (int v : exes[e].in) ins[e].push_back({buffer(v), 0});
      for (int v : exes[e].out) outs[e].push_back({buffer(v), 0});
    }

    double enqueue_ms = 0;
    auto run_once = [&]() {
      auto s = Clock::now();
      for (size_t e = 0; e < exes.size(); ++e) execute(*cuda, exes[e].exe.get(), stream.get(), ins[e], outs[e], "run");
      enqueue_ms += ms_since(s);
      synchronize_stream(*cuda, stream.get(), "run");
    };
    for (int i = 0; i < warmup; ++i) run_once();
    enqueue_ms = 0;
    std::vector<double> lat, round_medians;
    for (int round = 0; round < rounds; ++round) {
      size_t first = lat.size();
      if (back_to_back) {
        auto s = Clock::now();
        for (int i = 0; i < iterations; ++i)
          for (size_t e = 0; e < exes.size(); ++e) execute(*cuda, exes[e].exe.get(), stream.get(), ins[e], outs[e], "run");
        synchronize_stream(*cuda, stream.get(), "run");
        lat.push_back(ms_since(s) / iterations);
      } else {
        for (int i = 0; i < iterations; ++i) {
          auto s = Clock::now();
          run_once();
          lat.push_back(ms_since(s));
        }
      }
      round_medians.push_back(percentile(std::vector<double>(lat.begin() + static_cast<long>(first), lat.end()), 0.5));
    }
    double host_us_per_op = enqueue_ms * 1e3 / (static_cast<double>(iterations) * rounds) /
                            static_cast<double>(std::max<size_t>(graph.nodes.size(), 1));

    if (!output_raw.empty() && !graph.outputs.empty()) {
      int v = graph.outputs[0];
      std::vector<uint8_t> out(static_cast<size_t>(element_count(*graph.values[v].shape)) * dtype_size(graph.values[v].dtype));
      copy_to_host(*cuda, stream.get(), {buffer(v), 0}, out.data(), out.size());
      synchronize_stream(*cuda, stream.get(), "download");
      std::ofstream(output_raw, std::ios::binary).write(reinterpret_cast<const char*>(out.data()),
                                                        static_cast<std::streamsize>(out.size()));
    }
    double median = percentile(lat, 0.5);
    std::cout << "model " << model << " mode " << mode << " nodes " << graph.nodes.size() << " executables " << exes.size()
              << "\n  compile " << compile_ms << " ms, latency median " << median << " ms, p10 " << percentile(lat, 0.1)
              << " ms, p90 " << percentile(lat, 0.9) << " ms, host enqueue " << host_us_per_op << " us/op\n";
    if (rounds > 1) {
      std::cout << "  round medians ms:";
      for (double m : round_medians) std::cout << " " << m;
      std::cout << "\n";
    }
    (void)api;
    if (!json_path.empty()) {
      nlohmann::json j{{"model", model},         {"mode", mode},
                       {"nodes", graph.nodes.size()}, {"executables", exes.size()},
                       {"compile_ms", compile_ms}, {"median_ms", median},
                       {"p10_ms", percentile(lat, 0.1)}, {"p90_ms", percentile(lat, 0.9)},
                       {"host_us_per_op", host_us_per_op}, {"device", cuda->name},
                       {"round_medians_ms", round_medians},
                       {"options", options}};
      std::ofstream(json_path) << j.dump(2) << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hxrt-bench-cuda: " << e.what() << "\n";
    return 2;
  }
}
