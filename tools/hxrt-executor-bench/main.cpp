// hxrt-executor-bench: the executor's transfer and pipelining numbers
// (docs/benchmarks/executor.md), each measured side by side in one run.
//
//   hxrt-executor-bench --plugin-dir DIR [--gpu cuda] [--mib 256] [--requests 64] [--json FILE]
//
//   copy      host<->device copies through the plugin (from/to its pinned
//             memory) vs raw cudaMemcpyAsync from pinned memory (CUDA builds)
//   cross     a value crossing plugins (GPU -> CPU) chunked and double-buffered
//             vs one blocking copy (one chunk)
//   pipeline  N requests of a model whose transfers take about as long as its
//             compute: several in flight (throughput objective) vs one at a time
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "graph/onnx_proto.hpp"
#include "session.hpp"

#ifdef HXRT_BENCH_WITH_CUDA
#include <cuda_runtime.h>
#endif

using namespace hxrt::host;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Places node n on devices[pattern[n % size]].
class FixedPlacer final : public Placer {
 public:
  explicit FixedPlacer(std::vector<int> pattern) : pattern_(std::move(pattern)) {}
  Placement place(const Graph& graph, const std::vector<DeviceRecord*>&, const SupportTable&) override {
    Placement p;
    for (size_t n = 0; n < graph.nodes.size(); ++n) p.device_of_node.push_back(pattern_[n % pattern_.size()]);
    return p;
  }

 private:
  std::vector<int> pattern_;
};

void add_tensor(onnx::ValueInfoProto* v, const std::string& name, std::vector<int64_t> dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

// y = Relu(Relu(x)) over `elements` floats: the first Relu on the GPU, the second on the CPU.
std::string two_relu_model(int64_t elements) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("cross");
  add_tensor(g->add_input(), "x", {elements});
  for (auto [in, out] : {std::pair{"x", "h"}, std::pair{"h", "y"}}) {
    auto* n = g->add_node();
    n->set_op_type("Relu");
    n->set_name(std::string("relu_") + out);
    n->add_input(in);
    n->add_output(out);
  }
  add_tensor(g->add_output(), "y", {elements});
  return m.SerializeAsString();
}

// y = MatMul(a, b) on n x n matrices: inputs and output cross PCIe each request.
std::string matmul_model(int64_t n) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("pipeline");
  add_tensor(g->add_input(), "a", {n, n});
  add_tensor(g->add_input(), "b", {n, n});
  auto* node = g->add_node();
  node->set_op_type("MatMul");
  node->set_name("matmul");
  node->add_input("a");
  node->add_input("b");
  node->add_output("y");
  add_tensor(g->add_output(), "y", {n, n});
  return m.SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hxrt-executor-bench: transfers and pipelining through the executor"};
  std::string plugin_dir, gpu = "cuda", json_path;
  int mib = 256, requests = 64, matmul_n = 2048;
  app.add_option("--plugin-dir", plugin_dir, "folder with libhxrt_cpu.so and the GPU plugin")->required();
  app.add_option("--gpu", gpu, "GPU plugin name");
  app.add_option("--mib", mib, "bytes moved by the copy and cross benchmarks, MiB");
  app.add_option("--requests", requests, "requests in the pipeline benchmark");
  app.add_option("--matmul", matmul_n, "matrix size of the pipeline model");
  app.add_option("--json", json_path, "write results as JSON");
  CLI11_PARSE(app, argc, argv);
  nlohmann::json report;
  try {
    EnvironmentConfig config;
    config.plugin_paths = {plugin_dir + "/libhxrt_" + gpu + ".so", plugin_dir + "/libhxrt_cpu.so"};
    config.only_plugin_paths = true;
    Environment env(config);
    if (env.devices().size() < 2) throw std::runtime_error("needs a " + gpu + " device and the CPU plugin");
    DeviceRecord& device = *env.devices()[0];
    const uint64_t bytes = static_cast<uint64_t>(mib) << 20;

    // --- copy: plugin copies from its own pinned memory vs raw cudaMemcpyAsync.
    {
      BufferPtr pinned = allocate_buffer(device, bytes, HXRT_MEMORY_HOST_PINNED);
      hxrt_buffer_get_host_pointer_args hp{};
      hp.struct_size = sizeof(hp);
      hp.buffer = pinned.get();
      device.plugin->check(device.plugin->api().buffer_get_host_pointer(&hp), "host pointer");
      BufferPtr dev = allocate_buffer(device, bytes);
      StreamPtr stream = create_stream(device);
      std::vector<double> up, down;
      for (int i = 0; i < 7; ++i) {
        auto t0 = Clock::now();
        copy_to_device(device, stream.get(), hp.host_pointer, {dev.get(), 0}, bytes);
        synchronize_stream(device, stream.get(), "upload");
        up.push_back(ms_since(t0));
        t0 = Clock::now();
        copy_to_host(device, stream.get(), {dev.get(), 0}, hp.host_pointer, bytes);
        synchronize_stream(device, stream.get(), "download");
        down.push_back(ms_since(t0));
      }
      double gbs_up = bytes / median(up) / 1e6, gbs_down = bytes / median(down) / 1e6;
      report["copy"] = {{"bytes", bytes}, {"hxrt_h2d_gb_s", gbs_up}, {"hxrt_d2h_gb_s", gbs_down}};
      std::cout << "copy " << mib << " MiB through " << device.id << ": H2D " << gbs_up << " GB/s, D2H " << gbs_down
                << " GB/s\n";
#ifdef HXRT_BENCH_WITH_CUDA
      void *host = nullptr, *gpu_mem = nullptr;
      cudaHostAlloc(&host, bytes, cudaHostAllocDefault);
      cudaMalloc(&gpu_mem, bytes);
      cudaStream_t s;
      cudaStreamCreate(&s);
      std::vector<double> raw_up, raw_down;
      for (int i = 0; i < 7; ++i) {
        auto t0 = Clock::now();
        cudaMemcpyAsync(gpu_mem, host, bytes, cudaMemcpyHostToDevice, s);
        cudaStreamSynchronize(s);
        raw_up.push_back(ms_since(t0));
        t0 = Clock::now();
        cudaMemcpyAsync(host, gpu_mem, bytes, cudaMemcpyDeviceToHost, s);
        cudaStreamSynchronize(s);
        raw_down.push_back(ms_since(t0));
      }
      double raw_gbs_up = bytes / median(raw_up) / 1e6, raw_gbs_down = bytes / median(raw_down) / 1e6;
      report["copy"]["raw_h2d_gb_s"] = raw_gbs_up;
      report["copy"]["raw_d2h_gb_s"] = raw_gbs_down;
      report["copy"]["h2d_ratio"] = gbs_up / raw_gbs_up;
      report["copy"]["d2h_ratio"] = gbs_down / raw_gbs_down;
      std::cout << "raw cudaMemcpyAsync pinned: H2D " << raw_gbs_up << " GB/s, D2H " << raw_gbs_down
                << " GB/s -> hxrt/raw " << gbs_up / raw_gbs_up << " / " << gbs_down / raw_gbs_down << "\n";
      cudaStreamDestroy(s);
      cudaFree(gpu_mem);
      cudaFreeHost(host);
#endif
    }

    // --- cross: GPU -> CPU, chunked and double-buffered vs one blocking copy.
    {
      int64_t elements = static_cast<int64_t>(bytes / 4);
      std::string model = two_relu_model(elements);
      std::vector<float> x(static_cast<size_t>(elements), 0.5f), y(static_cast<size_t>(elements));
      auto time_with = [&](uint64_t chunk) {
        SessionConfig sc;
        sc.placer = std::make_shared<FixedPlacer>(std::vector<int>{0, 1});
        sc.executor.transfer_chunk_bytes = chunk;
        Session session(env, model.data(), model.size(), sc);
        std::vector<double> t;
        for (int i = 0; i < 6; ++i) {
          auto t0 = Clock::now();
          session.run(std::vector<const void*>{x.data()}, std::vector<void*>{y.data()});
          if (i > 0) t.push_back(ms_since(t0));
        }
        return median(t);
      };
      double chunked = time_with(4ull << 20), blocking = time_with(bytes);
      report["cross"] = {{"bytes", bytes}, {"chunked_ms", chunked}, {"one_copy_ms", blocking},
                         {"speedup", blocking / chunked}};
      std::cout << "cross-plugin " << device.id << " -> cpu:0, " << mib << " MiB per run: chunked " << chunked
                << " ms, one blocking copy " << blocking << " ms (" << blocking / chunked << "x)\n";
    }

    // --- pipeline: N requests, several in flight vs one at a time.
    {
      std::string model = matmul_model(matmul_n);
      size_t elements = static_cast<size_t>(matmul_n) * matmul_n;
      std::vector<std::vector<float>> a(4, std::vector<float>(elements, 0.01f)), b = a, y = a;
      auto run_requests = [&](int in_flight, RunTrace* trace) {
        SessionConfig sc;
        sc.allowed_devices = {device.id};
        sc.executor.runs_in_flight = in_flight;
        Session session(env, model.data(), model.size(), sc);
        session.run(std::vector<const void*>{a[0].data(), b[0].data()}, std::vector<void*>{y[0].data()});  // warm
        if (trace) session.run(std::vector<const void*>{a[0].data(), b[0].data()}, std::vector<void*>{y[0].data()}, trace);
        auto t0 = Clock::now();
        std::vector<std::thread> workers;
        std::atomic<int> next{0};
        for (int w = 0; w < in_flight; ++w)
          workers.emplace_back([&, w] {
            while (next.fetch_add(1) < requests)
              session.run(std::vector<const void*>{a[w].data(), b[w].data()}, std::vector<void*>{y[w].data()});
          });
        for (auto& t : workers) t.join();
        return ms_since(t0);
      };
      RunTrace trace;
      double sequential = run_requests(1, &trace);
      double pipelined = run_requests(4, nullptr);
      double copy_us = 0, compute_us = 0;
      for (const auto& r : trace.measured) {
        if (r.category == "copy") copy_us += r.end_us - r.start_us;
        if (r.category == "compute") compute_us += r.end_us - r.start_us;
      }
      double per_seq = sequential / requests, per_pipe = pipelined / requests;
      double hidden = copy_us > 0 ? std::clamp((per_seq - per_pipe) * 1e3 / copy_us, 0.0, 1.0) : 0.0;
      report["pipeline"] = {{"requests", requests}, {"matmul_n", matmul_n}, {"sequential_ms", sequential},
                            {"pipelined_ms", pipelined}, {"throughput_ratio", sequential / pipelined},
                            {"copy_us_per_request", copy_us}, {"compute_us_per_request", compute_us},
                            {"transfer_hidden_share", hidden}};
      std::cout << "pipeline of " << requests << " MatMul " << matmul_n << " requests on " << device.id
                << ": one at a time " << sequential << " ms, 4 in flight " << pipelined << " ms -> throughput x"
                << sequential / pipelined << "; per request copies " << copy_us << " us, compute " << compute_us
                << " us; transfer time hidden " << 100 * hidden << "%\n";
    }
    if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hxrt-executor-bench: " << e.what() << "\n";
    return 2;
  }
}
