// hxrt-run: runs an ONNX model through libhxrt.
//
//   hxrt-run MODEL [--test-data DIR|FILE] [--rtol R --atol A] [--devices cpu,vulkan:0]
//            [--seed N] [--iterations N --warmup N] [--placement] [--input-shape name=1,3,224,224]
//
// --test-data takes the ONNX backend-test layout (DIR/input_N.pb, DIR/output_N.pb)
// or an expected-output file (light models: MODEL_output_0.pb), with inputs then
// drawn from --seed. Exits 1 when any output differs beyond tolerance.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <fstream>
#include <random>

#include "common/strings.hpp"
#include "graph/onnx_import.hpp"
#include "graph/tensor_proto.hpp"
#include "hxrt/hxrt.hpp"
#include "tensor_check.hpp"

namespace fs = std::filesystem;
using hxrt::host::HostTensor;
using hxrt::tools::compare_tensors;
using hxrt::tools::TensorDiff;

namespace {

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hxrt-run: run an ONNX model with hxrt"};
  std::string model, test_data, devices, plugin_path, json_path;
  std::vector<std::string> input_shapes;
  double rtol = 1e-3, atol = 1e-5;
  unsigned seed = 1;
  int iterations = 1, warmup = 0;
  bool show_placement = false, verbose = false;
  app.add_option("model", model, "ONNX model file")->required();
  app.add_option("--test-data", test_data, "backend-test folder (input_N.pb/output_N.pb) or expected output .pb");
  app.add_option("--rtol", rtol, "relative tolerance")->capture_default_str();
  app.add_option("--atol", atol, "absolute tolerance")->capture_default_str();
  app.add_option("--devices", devices, "comma-separated device ids or plugin names (default: all)");
  app.add_option("--plugin-path", plugin_path, "extra plugin files or folders, ':'-separated");
  app.add_option("--seed", seed, "seed for random inputs")->capture_default_str();
  app.add_option("--iterations", iterations, "timed runs")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed runs before timing")->capture_default_str();
  app.add_option("--input-shape", input_shapes, "NAME=D0,D1,... for symbolic input dims");
  app.add_flag("--placement", show_placement, "print which device runs each node");
  std::string policy = "cost";
  app.add_option("--policy", policy, "placement: cost (the scheduler) or priority (first of --devices that supports a node)")
      ->check(CLI::IsMember({"cost", "priority"}))
      ->capture_default_str();
  std::string trace_path, gantt_path, schedule_trace_path, perf_model_path;
  bool calibrate = false;
  app.add_flag("--calibrate", calibrate,
               "measure every node on each device (3 traced runs per device) into the performance model, then run");
  std::vector<std::string> memory_limits;
  app.add_option("--memory-limit", memory_limits, "DEVICE=BYTES: the most memory the session may use on a device (repeatable)");
  app.add_option("--perf-model", perf_model_path, "performance model file (default: $HXRT_PERF_MODEL or ~/.cache/hxrt/perf-model.json; none: off)");
  bool explain = false;
  app.add_flag("--explain", explain, "print the placement with every device's answer, the predicted makespan and transfers");
  app.add_option("--gantt", gantt_path, "with --explain: write the predicted schedule as an SVG Gantt chart");
  app.add_option("--schedule-trace", schedule_trace_path, "with --explain: write the predicted schedule as Chrome trace JSON");
  app.add_option("--trace", trace_path, "write one extra run's timeline as Chrome trace JSON (Perfetto)");
  app.add_option("--json", json_path, "write results as JSON to this file");
  app.add_flag("-v,--verbose", verbose, "log informational messages");
  CLI11_PARSE(app, argc, argv);

  try {
    hxrt_environment_options env_options{};
    env_options.struct_size = sizeof(env_options);
    env_options.plugin_path = plugin_path.empty() ? nullptr : plugin_path.c_str();
    env_options.log_level = verbose ? HXRT_LOG_INFO : HXRT_LOG_WARNING;
    hxrt::Environment env(&env_options);

    std::vector<std::string> device_list = hxrt::host::split_list(devices, ',');
    std::vector<const char*> device_ptrs;
    for (auto& d : device_list) device_ptrs.push_back(d.c_str());
    std::vector<std::string> shape_names;
    std::vector<std::vector<int64_t>> shape_dims;
    for (const auto& spec : input_shapes) {
      auto eq = spec.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("--input-shape expects NAME=D0,D1,...: " + spec);
      shape_names.push_back(spec.substr(0, eq));
      shape_dims.emplace_back();
      for (const auto& d : hxrt::host::split_list(spec.substr(eq + 1), ',')) shape_dims.back().push_back(std::stoll(d));
    }
    std::vector<hxrt_tensor> shape_tensors(shape_names.size());
    std::vector<const hxrt_tensor*> shape_ptrs;
    for (size_t i = 0; i < shape_names.size(); ++i) {
      shape_tensors[i] = {sizeof(hxrt_tensor), shape_names[i].c_str(), HXRT_DTYPE_UNDEFINED, shape_dims[i].size(),
                          shape_dims[i].data(), nullptr, 0};
      shape_ptrs.push_back(&shape_tensors[i]);
    }
    hxrt_session_options options{};
    options.struct_size = sizeof(options);
    options.allowed_devices = device_ptrs.data();
    options.num_allowed_devices = device_ptrs.size();
    options.placement = policy == "priority" ? HXRT_PLACEMENT_PRIORITY : HXRT_PLACEMENT_COST;
    options.perf_model_path = perf_model_path.empty() ? nullptr : perf_model_path.c_str();
    options.input_shapes = shape_ptrs.data();
    options.num_input_shapes = shape_ptrs.size();
    std::vector<std::string> limit_devices;
    std::vector<const char*> limit_device_ptrs;
    std::vector<uint64_t> limit_bytes;
    for (const auto& spec : memory_limits) {
      auto eq = spec.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("--memory-limit expects DEVICE=BYTES: " + spec);
      limit_devices.push_back(spec.substr(0, eq));
      limit_bytes.push_back(std::stoull(spec.substr(eq + 1)));
    }
    for (const auto& d : limit_devices) limit_device_ptrs.push_back(d.c_str());
    options.memory_limit_devices = limit_device_ptrs.data();
    options.memory_limit_bytes = limit_bytes.data();
    options.num_memory_limits = limit_bytes.size();

    // Backend-test inputs are offered as values too: those that set shapes
    // (a Reshape's shape fed as an input, say) become constants.
    std::vector<HostTensor> given_inputs;
    std::vector<std::string> given_names;
    bool backend_layout = !test_data.empty() && fs::is_directory(test_data);
    if (backend_layout) {
      hxrt::host::Graph graph = hxrt::host::import_onnx_file(model);
      for (size_t i = 0; i < graph.inputs.size(); ++i) {
        fs::path file = fs::path(test_data) / ("input_" + std::to_string(i) + ".pb");
        if (!fs::exists(file)) break;
        given_inputs.push_back(hxrt::host::load_tensor_proto_file(file.string()));
        given_names.push_back(graph.values[graph.inputs[i]].name);
      }
    }
    std::vector<hxrt_tensor> value_tensors(given_inputs.size());
    std::vector<const hxrt_tensor*> value_ptrs;
    for (size_t i = 0; i < given_inputs.size(); ++i) {
      value_tensors[i] = {sizeof(hxrt_tensor), given_names[i].c_str(), given_inputs[i].dtype, given_inputs[i].shape.size(),
                          given_inputs[i].shape.data(), given_inputs[i].bytes.data(), given_inputs[i].bytes.size()};
      value_ptrs.push_back(&value_tensors[i]);
    }
    options.input_values = value_ptrs.data();
    options.num_input_values = value_ptrs.size();

    auto load_start = std::chrono::steady_clock::now();
    auto session = std::make_unique<hxrt::Session>(env, model, &options);
    double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
    auto inputs = session->inputs();
    auto outputs = session->outputs();

    if (explain) std::cout << session->explain(gantt_path, schedule_trace_path);
    if (show_placement) {
      std::cout << "placement:\n";
      for (const auto& p : session->placement())
        std::cout << "  " << p.node_name << " (" << p.op_type << ") -> " << p.device_id << "  est " << p.estimated_ns / 1e3
                  << " us\n";
    }

    // Inputs: from test data where given, else random from the seed.
    std::vector<HostTensor> input_data;
    std::vector<HostTensor> expected;
    std::mt19937 rng(seed);
    for (const auto& info : inputs) {
      auto given = std::find(given_names.begin(), given_names.end(), info.name);
      if (given != given_names.end()) input_data.push_back(given_inputs[static_cast<size_t>(given - given_names.begin())]);
      else input_data.push_back(hxrt::tools::random_tensor(info.dtype, info.dims, rng));
    }
    if (backend_layout) {
      for (size_t i = 0;; ++i) {
        fs::path file = fs::path(test_data) / ("output_" + std::to_string(i) + ".pb");
        if (!fs::exists(file)) break;
        expected.push_back(hxrt::host::load_tensor_proto_file(file.string()));
      }
    } else if (!test_data.empty()) {
      expected.push_back(hxrt::host::load_tensor_proto_file(test_data));
    }

    std::vector<hxrt::TensorRef> in_refs, out_refs;
    for (size_t i = 0; i < inputs.size(); ++i)
      in_refs.emplace_back(inputs[i].name, input_data[i].bytes.data(), input_data[i].bytes.size());
    std::vector<HostTensor> results;
    for (size_t i = 0; i < outputs.size(); ++i) {
      results.push_back(hxrt::tools::make_tensor(outputs[i].dtype, outputs[i].dims));
      out_refs.emplace_back(outputs[i].name, results[i].bytes.data(), results[i].bytes.size());
    }

    if (calibrate) {
      // Each device first in turn (priority policy), measured without any
      // earlier measurements; then the session is made again from them.
      std::vector<std::string> ids;
      for (const auto& d : env.devices())
        if (device_list.empty() || std::find(device_list.begin(), device_list.end(), d.id) != device_list.end() ||
            std::find(device_list.begin(), device_list.end(), d.plugin_name) != device_list.end())
          ids.push_back(d.id);
      std::string path = perf_model_path.empty() ? "" : perf_model_path;
      for (const auto& first : ids) {
        std::vector<const char*> order{first.c_str()};
        for (const auto& other : ids)
          if (other != first) order.push_back(other.c_str());
        hxrt_session_options calibration = options;
        calibration.allowed_devices = order.data();
        calibration.num_allowed_devices = order.size();
        calibration.placement = HXRT_PLACEMENT_PRIORITY;
        calibration.perf_model_path = "none";
        hxrt::Session probe(env, model, &calibration);
        probe.calibrate(in_refs, out_refs, 3, path);
        std::cout << "calibrated with " << first << " first\n";
      }
      session = std::make_unique<hxrt::Session>(env, model, &options);
      if (explain) std::cout << "after calibration:\n" << session->explain(gantt_path, schedule_trace_path);
    }
    for (int i = 0; i < warmup; ++i) session->run(in_refs, out_refs);
    std::vector<double> latencies;
    for (int i = 0; i < iterations; ++i) {
      auto start = std::chrono::steady_clock::now();
      session->run(in_refs, out_refs);
      latencies.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::vector<double> sorted = latencies;
    std::sort(sorted.begin(), sorted.end());
    auto percentile = [&](double p) {
      double pos = p * static_cast<double>(sorted.size() - 1);
      size_t lo = static_cast<size_t>(pos);
      size_t hi = std::min(lo + 1, sorted.size() - 1);
      return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
    };
    double mean = 0;
    for (double l : latencies) mean += l / static_cast<double>(latencies.size());
    nlohmann::json report;
    std::cout << "model: " << model << "\nsession creation: " << load_ms << " ms\n";
    for (const auto& m : session->memory_stats()) {
      std::cout << "device memory " << m.device_id << ": " << m.planned_bytes / 1048576.0 << " MiB planned ("
                << m.naive_bytes / 1048576.0 << " MiB with one buffer per tensor)\n";
      report["memory"].push_back({{"device", m.device_id}, {"planned_bytes", m.planned_bytes},
                                  {"naive_bytes", m.naive_bytes}});
    }
    std::cout << "latency over " << iterations << " run(s): min " << sorted.front() << " ms, median " << percentile(0.5)
              << " ms, mean " << mean << " ms, p90 " << percentile(0.9) << " ms\n";

    report.update(nlohmann::json{{"model", model},
                          {"session_creation_ms", load_ms},
                          {"iterations", iterations},
                          {"min_ms", sorted.front()},
                          {"median_ms", percentile(0.5)},
                          {"mean_ms", mean},
                          {"p90_ms", percentile(0.9)}});
    int exit_code = 0;
    if (!test_data.empty()) {
      if (expected.size() > outputs.size()) {
        std::cout << "FAIL: test data has " << expected.size() << " outputs, the model " << outputs.size() << "\n";
        exit_code = 1;
      }
      for (size_t i = 0; i < std::min(expected.size(), outputs.size()); ++i) {
        TensorDiff c = compare_tensors(results[i], expected[i], rtol, atol);
        bool ok = c.ok();
        std::cout << (ok ? "PASS " : "FAIL ") << "output " << i << " '" << outputs[i].name << "': ";
        if (c.mismatches == 0 && !c.problem.empty()) std::cout << c.problem << "\n";
        else
          std::cout << "max abs err " << c.max_abs_error << ", max rel err " << c.max_rel_error << ", " << c.mismatches
                    << " element(s) beyond rtol " << rtol << " atol " << atol << "\n";
        report["outputs"].push_back({{"name", outputs[i].name}, {"max_abs_error", c.max_abs_error},
                                     {"max_rel_error", c.max_rel_error}, {"mismatches", c.mismatches}, {"pass", ok}});
        if (!ok) exit_code = 1;
      }
    }
    if (!trace_path.empty()) {
      std::string summary = session->run_traced(in_refs, out_refs, trace_path);
      std::cout << "trace written to " << trace_path << "\n" << summary << "\n";
      report["trace_summary"] = summary;
    }
    if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
    return exit_code;
  } catch (const std::exception& e) {
    std::cerr << "hxrt-run: " << e.what() << "\n";
    return 2;
  }
}
