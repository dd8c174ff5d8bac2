// hxrt-info: what hxrt sees on this machine — plugins (path, name, version,
// ABI), devices and their properties, transfer costs, load errors, and with
// --model the op support matrix of a model's nodes on every device.
//
//   hxrt-info [--json] [--plugin-path P] [--model MODEL.onnx]
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "abi_views.hpp"
#include "common/strings.hpp"
#include "constant_folding.hpp"
#include "environment.hpp"
#include "graph/onnx_import.hpp"
#include "graph/shape_inference.hpp"
#include "placement.hpp"

using namespace hxrt::host;
using nlohmann::json;

namespace {

const char* kind_name(hxrt_device_kind kind) {
  switch (kind) {
    case HXRT_DEVICE_KIND_CPU: return "CPU";
    case HXRT_DEVICE_KIND_GPU: return "GPU";
    case HXRT_DEVICE_KIND_FPGA: return "FPGA";
    default: return "other";
  }
}

json link_json(const hxrt_link_cost& link) {
  return {{"latency_ns", link.latency_ns}, {"bandwidth_bytes_per_s", link.bandwidth_bytes_per_s}};
}

json environment_json(const Environment& env) {
  json out;
  out["plugins"] = json::array();
  for (const auto& p : env.plugins()) {
    json build = json::object();
    const hxrt_plugin_identity* id = p->api().identity;
    for (size_t i = 0; i < id->num_build_properties; ++i)
      build[id->build_property_keys[i]] = id->build_property_values[i];
    out["plugins"].push_back({{"path", p->path()},
                              {"name", p->name()},
                              {"version", p->version()},
                              {"abi", std::to_string(p->abi_major()) + "." + std::to_string(p->abi_minor())},
                              {"build", build},
                              {"devices", p->devices().size()}});
  }
  out["devices"] = json::array();
  for (const DeviceRecord* d : env.devices()) {
    const auto& c = d->transfer_costs;
    out["devices"].push_back({{"id", d->id},
                              {"name", d->name},
                              {"vendor", d->vendor},
                              {"kind", kind_name(d->kind)},
                              {"memory_bytes", d->memory_bytes},
                              {"peak_flops_f32", d->peak_flops_f32},
                              {"memory_bandwidth_bytes_per_s", d->memory_bandwidth_bytes_per_s},
                              {"host_addressable", d->host_addressable},
                              {"transfer_costs",
                               {{"host_to_device_pageable", link_json(c.host_to_device_pageable)},
                                {"host_to_device_pinned", link_json(c.host_to_device_pinned)},
                                {"device_to_host_pageable", link_json(c.device_to_host_pageable)},
                                {"device_to_host_pinned", link_json(c.device_to_host_pinned)},
                                {"device_to_device", link_json(c.device_to_device)}}}});
  }
  out["load_errors"] = json::array();
  for (const auto& e : env.load_errors()) out["load_errors"].push_back({{"path", e.path}, {"message", e.message}});
  return out;
}

json support_json(const Environment& env, const std::string& model_path) {
  std::ifstream file(model_path, std::ios::binary);
  if (!file) throw Error(HXRT_STATUS_NOT_FOUND, "cannot open model '" + model_path + "'");
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  Graph graph = import_onnx_model(bytes.data(), bytes.size());
  const auto& devices = env.devices();
  infer_shapes(graph, [&](const Graph& g, const Node& n) { return fold_on_devices(devices, g, n); });
  SupportTable table = query_support_table(graph, devices);
  json nodes = json::array();
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    json per_device = json::object();
    for (size_t d = 0; d < devices.size(); ++d) {
      const auto& a = table.support[n][d];
      per_device[devices[d]->id] = a.supported ? json{{"supported", true}, {"estimated_ns", a.estimated_ns}}
                                               : json{{"supported", false}, {"reason", a.message}};
    }
    nodes.push_back({{"node", graph.nodes[n].name}, {"op", graph.nodes[n].op_type}, {"devices", per_device}});
  }
  return nodes;
}

void print_text(const json& info) {
  std::cout << "hxrt plugins (" << info["plugins"].size() << "):\n";
  for (const auto& p : info["plugins"])
    std::cout << "  " << p["name"].get<std::string>() << " " << p["version"].get<std::string>() << "  ABI "
              << p["abi"].get<std::string>() << "  " << p["path"].get<std::string>() << "\n";
  std::cout << "devices (" << info["devices"].size() << "):\n";
  for (const auto& d : info["devices"]) {
    std::cout << "  " << d["id"].get<std::string>() << "  " << d["kind"].get<std::string>() << "  "
              << d["name"].get<std::string>() << " (" << d["vendor"].get<std::string>() << ")\n"
              << "      memory " << d["memory_bytes"].get<uint64_t>() / (1 << 20) << " MiB, peak "
              << d["peak_flops_f32"].get<double>() / 1e9 << " GFLOP/s, bandwidth "
              << d["memory_bandwidth_bytes_per_s"].get<double>() / 1e9 << " GB/s"
              << (d["host_addressable"].get<bool>() ? ", host-addressable" : "") << "\n";
    const auto& c = d["transfer_costs"];
    for (const char* link : {"host_to_device_pinned", "device_to_host_pinned", "device_to_device"})
      std::cout << "      " << link << ": " << c[link]["latency_ns"].get<double>() / 1e3 << " us + "
                << c[link]["bandwidth_bytes_per_s"].get<double>() / 1e9 << " GB/s\n";
  }
  if (!info["load_errors"].empty()) {
    std::cout << "plugins that failed to load (" << info["load_errors"].size() << "):\n";
    for (const auto& e : info["load_errors"]) std::cout << "  " << e["message"].get<std::string>() << "\n";
  }
  if (info.contains("model_support")) {
    std::map<std::string, std::map<std::string, std::pair<int, int>>> by_op;  // op -> device -> (yes, total)
    for (const auto& n : info["model_support"])
      for (const auto& [device, answer] : n["devices"].items()) {
        auto& cell = by_op[n["op"].get<std::string>()][device];
        cell.first += answer["supported"].get<bool>() ? 1 : 0;
        cell.second += 1;
      }
    std::cout << "op support for the model's nodes (supported/total per device):\n";
    for (const auto& [op, devices] : by_op) {
      std::cout << "  " << op << ":";
      for (const auto& [device, cell] : devices) std::cout << "  " << device << " " << cell.first << "/" << cell.second;
      std::cout << "\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hxrt-info: plugins, devices and op support"};
  bool as_json = false, verbose = false;
  std::string plugin_path, model;
  app.add_flag("--json", as_json, "print JSON");
  app.add_option("--plugin-path", plugin_path, "extra plugin files or folders, ':'-separated");
  app.add_option("--model", model, "also report which device supports each node of this ONNX model");
  app.add_flag("-v,--verbose", verbose, "log informational messages");
  CLI11_PARSE(app, argc, argv);
  try {
    EnvironmentConfig config;
    config.plugin_paths = split_list(plugin_path, ':');
    config.log_level = verbose ? HXRT_LOG_INFO : HXRT_LOG_ERROR;
    Environment env(config);
    json info = environment_json(env);
    if (!model.empty()) info["model_support"] = support_json(env, model);
    if (as_json) std::cout << info.dump(2) << "\n";
    else print_text(info);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hxrt-info: " << e.what() << "\n";
    return 2;
  }
}
