// hxrt-matmul-bench: float32 MatMul rate through one plugin, through the ABI
// alone (the plugin's own kernels, no host graph code on the timed path), and
// — when built with CUDA — cuBLAS SGEMM on the same GPU in the same run.
//
//   hxrt-matmul-bench --plugin PATH [--device N] [--size 4096] [--iterations 10]
//                     [--options "k=v;k=v"] [--cublas] [--json FILE]
//
// Both sides compute C[M,N] = A[M,K] x B[K,N] with inputs resident on the
// device; time = execute + stream_synchronize, median over iterations.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "abi_views.hpp"
#include "common/strings.hpp"
#include "device_objects.hpp"
#include "environment.hpp"

#ifdef HXRT_BENCH_WITH_CUBLAS
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif

using namespace hxrt::host;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A one-node graph: y = MatMul(a, b).
Graph matmul_graph(int64_t n) {
  Graph g;
  g.name = "matmul";
  g.opset_imports[""] = 17;
  for (const char* name : {"a", "b", "y"}) {
    Value v;
    v.name = name;
    v.dtype = HXRT_DTYPE_FLOAT32;
    v.shape = Shape{n, n};
    g.values.push_back(v);
  }
  Node node;
  node.name = "matmul";
  node.op_type = "MatMul";
  node.opset = 17;
  node.inputs = {0, 1};
  node.outputs = {2};
  g.nodes.push_back(node);
  g.values[2].producer = 0;
  g.inputs = {0, 1};
  g.outputs = {2};
  return g;
}

#ifdef HXRT_BENCH_WITH_CUBLAS
double cublas_ms(int n, int iterations) {
  size_t bytes = static_cast<size_t>(n) * n * sizeof(float);
  float *a, *b, *c;
  if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess ||
      cudaMalloc(&c, bytes) != cudaSuccess)
    throw std::runtime_error("cudaMalloc failed (no GPU?)");
  cudaMemset(a, 0, bytes);
  cudaMemset(b, 0, bytes);
  cublasHandle_t handle;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed");
  cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH);  // plain FP32, no TF32
  const float one = 1.f, zero = 0.f;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  std::vector<double> times;
  for (int i = 0; i < iterations + 2; ++i) {
    cudaEventRecord(start);
    cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, b, n, a, n, &zero, c, n);
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    if (i >= 2) times.push_back(ms);
  }
  cublasDestroy(handle);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  return median(times);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hxrt-matmul-bench: float32 MatMul rate through a plugin (and cuBLAS)"};
  std::string plugin_path, options, json_path;
  int device_index = 0, size = 4096, iterations = 10;
  bool with_cublas = false;
  app.add_option("--plugin", plugin_path, "plugin library")->required();
  app.add_option("--device", device_index, "device index within the plugin");
  app.add_option("--size", size, "M = N = K")->check(CLI::PositiveNumber);
  app.add_option("--iterations", iterations, "timed runs")->check(CLI::PositiveNumber);
  app.add_option("--options", options, "plugin options, key=value;key=value");
  app.add_flag("--cublas", with_cublas, "also time cuBLAS SGEMM on the same GPU");
  app.add_option("--json", json_path, "write results as JSON");
  CLI11_PARSE(app, argc, argv);
  try {
    EnvironmentConfig config;
    config.plugin_paths = {plugin_path};
    config.only_plugin_paths = true;
    config.plugin_options = options;
    Environment env(config);
    if (env.devices().size() <= static_cast<size_t>(device_index)) {
      std::string why;
      for (const auto& e : env.load_errors()) why += " " + e.message;
      throw std::runtime_error("no device " + std::to_string(device_index) + " in " + plugin_path + why);
    }
    const DeviceRecord& device = *env.devices()[device_index];
    Graph graph = matmul_graph(size);
    SubgraphView view(graph, {0}, true);
    NodeView query(graph, graph.nodes[0]);
    SupportAnswer support = query_support(device, query.desc());
    if (!support.supported) throw std::runtime_error(device.id + " does not run this MatMul: " + support.message);
    ExecutablePtr executable = compile(device, view.desc(), "MatMul");
    uint64_t bytes = static_cast<uint64_t>(size) * size * sizeof(float);
    BufferPtr a = allocate_buffer(device, bytes), b = allocate_buffer(device, bytes), c = allocate_buffer(device, bytes);
    StreamPtr stream = create_stream(device);
    std::vector<float> host(static_cast<size_t>(size) * size);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto& x : host) x = u(rng);
    copy_to_device(device, stream.get(), host.data(), {a.get(), 0}, bytes);
    copy_to_device(device, stream.get(), host.data(), {b.get(), 0}, bytes);
    synchronize_stream(device, stream.get(), "upload");
    std::vector<double> times;
    for (int i = 0; i < iterations + 2; ++i) {
      auto t0 = Clock::now();
      execute(device, executable.get(), stream.get(), {{a.get(), 0}, {b.get(), 0}}, {{c.get(), 0}}, "MatMul");
      synchronize_stream(device, stream.get(), "MatMul");
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (i >= 2) times.push_back(ms);  // two warm-up runs (pipeline creation, caches)
    }
    double flops = 2.0 * size * static_cast<double>(size) * size;
    double plugin_ms = median(times);
    nlohmann::json report{{"plugin", device.plugin->name()},
                          {"device", device.name},
                          {"size", size},
                          {"plugin_ms", plugin_ms},
                          {"plugin_gflops", flops / plugin_ms / 1e6}};
    std::cout << device.id << " (" << device.name << ") MatMul " << size << "^3 float32: " << plugin_ms << " ms, "
              << flops / plugin_ms / 1e6 << " GFLOP/s\n";
    if (with_cublas) {
#ifdef HXRT_BENCH_WITH_CUBLAS
      double ms = cublas_ms(size, iterations);
      report["cublas_ms"] = ms;
      report["cublas_gflops"] = flops / ms / 1e6;
      report["ratio_plugin_over_cublas"] = (flops / plugin_ms) / (flops / ms);
      std::cout << "cuBLAS SGEMM (FP32, no TF32): " << ms << " ms, " << flops / ms / 1e6 << " GFLOP/s\n"
                << "plugin rate / cuBLAS rate: " << (flops / plugin_ms) / (flops / ms) << "\n";
#else
      std::cout << "cuBLAS: not compiled in (no CUDA toolkit at build time)\n";
#endif
    }
    if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hxrt-matmul-bench: " << e.what() << "\n";
    return 2;
  }
}
