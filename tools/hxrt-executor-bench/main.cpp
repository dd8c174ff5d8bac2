// hxrt-executor-bench: the executor's transfer and pipelining numbers
// (docs/benchmarks/executor.md), each measured side by side in one run.
//
//   hxrt-executor-bench --plugin-dir DIR [--gpu cuda] [--cross-to cpu] [--chunk-mib 4,16,64]
//                       [--mib 256] [--requests 64] [--matmul 0] [--json FILE]
//
//   copy      host<->device copies through the plugin (from/to its pinned
//             memory) vs raw cudaMemcpyAsync from pinned memory (CUDA builds)
//   cross     a value crossing plugins (GPU -> CPU, or GPU -> --cross-to): one
//             blocking copy through staging vs chunked and double-buffered
//             staging (each --chunk-mib size) vs one hop straight into the
//             destination's arena where it is host memory (zero-copy, ABI 1.2)
//   pipeline  N requests of MatMul(n x n) with inputs and outputs in pinned
//             memory, n chosen (--matmul 0) so that a request's transfers take
//             about as long as its compute: 4 in flight vs one at a time, with
//             the share of transfer time hidden under compute measured from
//             the traces of all requests on one timeline
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <atomic>
#include <cmath>
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

// Host memory a GPU copies at full speed: a HOST_PINNED buffer of `device`.
struct PinnedFloats {
  BufferPtr buffer;
  float* data = nullptr;
  PinnedFloats(const DeviceRecord& device, size_t count, float value)
      : buffer(allocate_buffer(device, count * sizeof(float), HXRT_MEMORY_HOST_PINNED)) {
    data = static_cast<float*>(host_pointer(device, buffer.get()));
    if (data == nullptr) throw std::runtime_error(device.id + ": pinned buffer without a host pointer");
    std::fill(data, data + count, value);
  }
};

struct Categories {
  double copy_us = 0, upload_us = 0, download_us = 0, compute_us = 0;
};

Categories category_sums(const RunTrace& trace) {
  Categories c;
  for (const auto& r : trace.measured) {
    double d = r.end_us - r.start_us;
    if (r.category == "compute") c.compute_us += d;
    if (r.category != "copy") continue;
    c.copy_us += d;
    if (r.name.rfind("upload", 0) == 0) c.upload_us += d;
    if (r.name.rfind("download", 0) == 0) c.download_us += d;
  }
  return c;
}

// The measured records of traced runs that were in flight together, on one
// timeline; tracks are per request, so a copy counts as hidden while any
// compute (its own request's on another stream, or another request's) runs.
RunTrace merge(const std::vector<RunTrace>& traces) {
  RunTrace merged;
  double origin = 1e300;
  for (const auto& t : traces) origin = std::min(origin, t.origin_us);
  for (size_t i = 0; i < traces.size(); ++i)
    for (TraceRecord r : traces[i].measured) {
      double shift = traces[i].origin_us - origin;
      r.start_us += shift;
      r.end_us += shift;
      r.track = "request " + std::to_string(i) + ": " + r.track;
      merged.measured.push_back(std::move(r));
    }
  return merged;
}

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

constexpr int64_t kCrossRowLength = 1024;

void add_tensor(onnx::ValueInfoProto* v, const std::string& name, std::vector<int64_t> dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

// y = ReduceMax(Relu(x), axis 1) with x of [rows, 1024] floats: the Relu on
// the GPU, the reduction on the destination device. Its output is 1024 times
// smaller than the value crossing, so the run's time is the crossing's.
std::string cross_model(int64_t rows) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("cross");
  add_tensor(g->add_input(), "x", {rows, kCrossRowLength});
  auto* relu = g->add_node();
  relu->set_op_type("Relu");
  relu->set_name("relu_h");
  relu->add_input("x");
  relu->add_output("h");
  auto* reduce = g->add_node();
  reduce->set_op_type("ReduceMax");
  reduce->set_name("reduce_y");
  reduce->add_input("h");
  reduce->add_output("y");
  auto* axes = reduce->add_attribute();
  axes->set_name("axes");
  axes->set_type(onnx::AttributeProto::INTS);
  axes->add_ints(1);
  auto* keepdims = reduce->add_attribute();
  keepdims->set_name("keepdims");
  keepdims->set_type(onnx::AttributeProto::INT);
  keepdims->set_i(0);
  add_tensor(g->add_output(), "y", {rows});
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
  std::string plugin_dir, gpu = "cuda", cross_to = "cpu", json_path, sections = "copy,cross,pipeline";
  std::vector<int> chunk_mib = {4};
  int mib = 256, requests = 64, matmul_n = 0, probe_n = 2048;
  app.add_option("--plugin-dir", plugin_dir, "folder with libhxrt_cpu.so and the GPU plugin")->required();
  app.add_option("--gpu", gpu, "GPU plugin name");
  app.add_option("--cross-to", cross_to, "plugin the cross benchmark's value goes to (cpu, vulkan, opencl)");
  app.add_option("--chunk-mib", chunk_mib, "chunk sizes of the chunked cross variant, MiB")->delimiter(',');
  app.add_option("--mib", mib, "bytes moved by the copy and cross benchmarks, MiB");
  app.add_option("--requests", requests, "requests in the pipeline benchmark");
  app.add_option("--matmul", matmul_n, "matrix size of the pipeline model; 0: chosen so transfers take about as long as compute");
  app.add_option("--probe", probe_n, "matrix size of the traced probe that picks --matmul 0");
  app.add_option("--json", json_path, "write results as JSON");
  app.add_option("--sections", sections, "comma-separated parts to run: copy, cross, pipeline");
  CLI11_PARSE(app, argc, argv);
  nlohmann::json report;
  try {
    EnvironmentConfig config;
    config.plugin_paths = {plugin_dir + "/libhxrt_" + gpu + ".so", plugin_dir + "/libhxrt_" + cross_to + ".so"};
    config.only_plugin_paths = true;
    Environment env(config);
    auto section = [&](const std::string& part) { return ("," + sections + ",").find("," + part + ",") != std::string::npos; };
    if (env.devices().size() < (section("cross") ? 2u : 1u))
      throw std::runtime_error("needs a " + gpu + " device and a " + cross_to + " device");
    DeviceRecord& device = *env.devices()[0];
    const uint64_t bytes = static_cast<uint64_t>(mib) << 20;

    // --- copy: plugin copies from its own pinned memory vs raw cudaMemcpyAsync.
    if (section("copy")) {
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
                << " GB/s" << std::endl;
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
                << " GB/s -> hxrt/raw " << gbs_up / raw_gbs_up << " / " << gbs_down / raw_gbs_down << std::endl;
      cudaStreamDestroy(s);
      cudaFree(gpu_mem);
      cudaFreeHost(host);
#endif
    }

    // --- cross: GPU -> CPU: one blocking copy, chunked double-buffered staging, one hop.
    if (section("cross")) {
      int64_t elements = static_cast<int64_t>(bytes / 4);
      std::string model = cross_model(elements / kCrossRowLength);
      // Pinned input, so the upload is the same fast copy for every variant.
      PinnedFloats x(device, static_cast<size_t>(elements), 0.5f);
      std::vector<float> y(static_cast<size_t>(elements / kCrossRowLength));
      auto time_with = [&](uint64_t chunk, bool zero_copy, RunTrace* trace) {
        SessionConfig sc;
        sc.placer = std::make_shared<FixedPlacer>(std::vector<int>{0, 1});
        sc.executor.transfer_chunk_bytes = chunk;
        sc.executor.zero_copy = zero_copy;
        Session session(env, model.data(), model.size(), sc);
        std::vector<double> t;
        for (int i = 0; i < 6; ++i) {
          auto t0 = Clock::now();
          session.run(std::vector<const void*>{x.data}, std::vector<void*>{y.data()});
          if (i > 0) t.push_back(ms_since(t0));
        }
        if (trace) session.run(std::vector<const void*>{x.data}, std::vector<void*>{y.data()}, trace);
        if (y[0] != 0.5f || y.back() != 0.5f) throw std::runtime_error("cross: wrong result");
        return median(t);
      };
      // Each chunk size against one copy of the same variant; the first size is traced.
      auto sweep_chunks = [&](bool zero_copy, double one_copy_ms, RunTrace* first_trace, double& first_ms) {
        nlohmann::json sweep = nlohmann::json::array();
        for (size_t i = 0; i < chunk_mib.size(); ++i) {
          double ms = time_with(static_cast<uint64_t>(chunk_mib[i]) << 20, zero_copy, i == 0 ? first_trace : nullptr);
          if (i == 0) first_ms = ms;
          sweep.push_back({{"chunk_mib", chunk_mib[i]}, {"ms", ms}, {"speedup", one_copy_ms / ms}});
          std::cout << "  " << (zero_copy ? "zero-copy on, " : "") << "chunked " << chunk_mib[i] << " MiB: " << ms
                    << " ms (" << one_copy_ms / ms << "x one copy" << (zero_copy ? " with zero-copy on)" : ")")
                    << std::endl;
        }
        return sweep;
      };
      RunTrace blocking_trace, chunked_trace, hop_trace;
      double blocking = time_with(bytes, false, &blocking_trace);
      double chunked = 0, one_hop = 0;
      nlohmann::json sweep = sweep_chunks(false, blocking, &chunked_trace, chunked);
      // With zero-copy on: one hop into a host-memory arena where the destination has one; otherwise still
      // staged, but the staging is registered with the destination (R4.6), once whole and once chunked.
      double one_copy_registered = time_with(bytes, true, nullptr);
      nlohmann::json sweep_on = sweep_chunks(true, one_copy_registered, &hop_trace, one_hop);
      const DeviceRecord& destination = *env.devices()[1];
      auto crossing_ms = [](const RunTrace& t) {  // staging hops and host waits, union not needed: for the record
        double us = 0;
        for (const auto& r : t.measured)
          if (r.name.find("staging") != std::string::npos || r.category == "wait") us += r.end_us - r.start_us;
        return us / 1e3;
      };
      report["cross"] = {{"bytes", bytes},
                         {"from", device.id},
                         {"to", destination.id},
                         {"chunk_sweep", sweep},
                         {"chunk_sweep_zero_copy_on", sweep_on},
                         {"one_copy_ms", blocking},
                         {"chunked_ms", chunked},
                         {"one_hop_ms", one_hop},
                         {"one_copy_zero_copy_on_ms", one_copy_registered},
                         {"chunked_speedup", blocking / chunked},
                         {"one_hop_speedup", blocking / one_hop},
                         {"trace_crossing_ms", {{"one_copy", crossing_ms(blocking_trace)},
                                                {"chunked", crossing_ms(chunked_trace)},
                                                {"one_hop", crossing_ms(hop_trace)}}},
                         {"trace_makespan_ms", {{"one_copy", blocking_trace.measured_makespan_us() / 1e3},
                                                {"chunked", chunked_trace.measured_makespan_us() / 1e3},
                                                {"one_hop", hop_trace.measured_makespan_us() / 1e3}}}};
      std::cout << "cross-plugin " << device.id << " -> " << destination.id << ", " << mib
                << " MiB per run: one blocking copy " << blocking << " ms, chunked (" << chunk_mib.front()
                << " MiB, double-buffered) " << chunked << " ms (" << blocking / chunked << "x), zero-copy on "
                << one_hop << " ms (" << blocking / one_hop << "x); zero-copy on, one copy " << one_copy_registered
                << " ms" << std::endl;
      std::cout << "  traced crossing time (staging hops + host waits): one copy " << crossing_ms(blocking_trace)
                << " ms, chunked " << crossing_ms(chunked_trace) << " ms, one hop " << crossing_ms(hop_trace) << " ms" << std::endl;
    }

    // --- pipeline: N requests of MatMul(n x n) from pinned memory, 4 in flight vs one at a time.
    if (section("pipeline")) {
      const int in_flight = 4;
      auto measure = [&](int n, int count, int flight, bool traced, std::vector<RunTrace>* traces) {
        std::string model = matmul_model(n);
        size_t elements = static_cast<size_t>(n) * n;
        std::vector<PinnedFloats> a, b, y;
        for (int w = 0; w < flight; ++w) {
          a.emplace_back(device, elements, 0.01f);
          b.emplace_back(device, elements, 0.01f);
          y.emplace_back(device, elements, 0.0f);
        }
        SessionConfig sc;
        sc.allowed_devices = {device.id};
        sc.executor.runs_in_flight = flight;
        Session session(env, model.data(), model.size(), sc);
        for (int w = 0; w < flight; ++w)  // warm every run context
          session.run(std::vector<const void*>{a[w].data, b[w].data}, std::vector<void*>{y[w].data});
        if (traces) traces->assign(static_cast<size_t>(count), RunTrace{});
        auto t0 = Clock::now();
        std::vector<std::thread> workers;
        std::atomic<int> next{0};
        for (int w = 0; w < flight; ++w)
          workers.emplace_back([&, w] {
            for (int i; (i = next.fetch_add(1)) < count;)
              session.run(std::vector<const void*>{a[w].data, b[w].data}, std::vector<void*>{y[w].data},
                          traced ? &(*traces)[static_cast<size_t>(i)] : nullptr);
          });
        for (auto& t : workers) t.join();
        double ms = ms_since(t0);
        float expect = 0.01f * 0.01f * static_cast<float>(n);
        if (std::fabs(y[0].data[0] - expect) > 1e-3f * expect) throw std::runtime_error("pipeline: wrong result");
        return ms;
      };
      // n: transfers (3 n^2 floats) grow as n^2, compute as n^3, so one traced
      // probe at n0 gives the n where they match: n = n0 * copy / compute.
      int n = matmul_n;
      Categories probe_sums;
      if (n <= 0) {
        std::vector<RunTrace> probe;
        measure(probe_n, 3, 1, true, &probe);
        probe_sums = category_sums(probe.back());
        double wanted = probe_n * probe_sums.copy_us / std::max(1.0, probe_sums.compute_us);
        n = static_cast<int>(std::clamp(std::round(wanted / 256) * 256, 512.0, 8192.0));
        std::cout << "pipeline probe: MatMul " << probe_n << " copies " << probe_sums.copy_us << " us, compute "
                  << probe_sums.compute_us << " us -> n = " << n << std::endl;
      }
      std::vector<RunTrace> sequential_traces, pipelined_traces;
      double sequential = measure(n, requests, 1, false, nullptr);
      double pipelined = measure(n, requests, in_flight, false, nullptr);
      // The same again with every request traced, for the category sums and the hidden share.
      double sequential_traced = measure(n, requests, 1, true, &sequential_traces);
      double pipelined_traced = measure(n, requests, in_flight, true, &pipelined_traces);
      Categories per_request;
      for (const auto& t : sequential_traces) {
        Categories c = category_sums(t);
        per_request.copy_us += c.copy_us / requests;
        per_request.upload_us += c.upload_us / requests;
        per_request.download_us += c.download_us / requests;
        per_request.compute_us += c.compute_us / requests;
      }
      double hidden_pipelined = merge(pipelined_traces).hidden_transfer_share();
      double hidden_sequential = merge(sequential_traces).hidden_transfer_share();
      double per_seq = sequential / requests, per_pipe = pipelined / requests;
      double saved = per_request.copy_us > 0 ? std::clamp((per_seq - per_pipe) * 1e3 / per_request.copy_us, 0.0, 1.0) : 0.0;
      report["pipeline"] = {{"requests", requests},
                            {"matmul_n", n},
                            {"in_flight", in_flight},
                            {"probe", matmul_n > 0 ? nlohmann::json(nullptr)
                                                   : nlohmann::json{{"n", probe_n}, {"copy_us", probe_sums.copy_us},
                                                                    {"compute_us", probe_sums.compute_us}}},
                            {"sequential_ms", sequential},
                            {"pipelined_ms", pipelined},
                            {"throughput_ratio", sequential / pipelined},
                            {"sequential_traced_ms", sequential_traced},
                            {"pipelined_traced_ms", pipelined_traced},
                            {"per_request_us", {{"copy", per_request.copy_us}, {"upload", per_request.upload_us},
                                                {"download", per_request.download_us},
                                                {"compute", per_request.compute_us}}},
                            {"trace_hidden_share_pipelined", hidden_pipelined},
                            {"trace_hidden_share_sequential", hidden_sequential},
                            {"copy_time_saved_share", saved}};
      std::cout << "pipeline of " << requests << " MatMul " << n << "x" << n << " requests on " << device.id
                << " (pinned inputs/outputs): one at a time " << sequential << " ms, " << in_flight << " in flight "
                << pipelined << " ms -> throughput x" << sequential / pipelined << "\n"
                << "  per request (traced, one at a time): copies " << per_request.copy_us << " us (upload "
                << per_request.upload_us << ", download " << per_request.download_us << "), compute "
                << per_request.compute_us << " us\n"
                << "  transfer time hidden under compute (all " << requests << " traces on one timeline): pipelined "
                << 100 * hidden_pipelined << "%, one at a time " << 100 * hidden_sequential
                << "%; copy time taken off the per-request time: " << 100 * saved << "%\n"
                << "  traced passes: one at a time " << sequential_traced << " ms, pipelined " << pipelined_traced
                << " ms" << std::endl;
    }
    if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hxrt-executor-bench: " << e.what() << "\n";
    return 2;
  }
}
