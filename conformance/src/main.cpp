// hxrt-conformance: validates a plugin through the C ABI alone (docs/conformance.md).
#include <CLI/CLI.hpp>
#include <iostream>

#include "op_cases.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "suite.hpp"

using namespace hxrt::conformance;

int main(int argc, char** argv) {
  Options options;
  std::string profile = "core", junit, json;
  bool list = false, verbose = false;
  CLI::App app{"hxrt-conformance: checks an hxrt plugin against the plugin ABI (docs/abi.md) through the ABI alone"};
  app.add_option("--plugin", options.plugin_path, "path of the plugin (libhxrt_<name>.so)");
  app.add_option("--device", options.device, "device index to test, or 'all'")->capture_default_str();
  app.add_option("--profile", profile, "core: what every plugin must pass; full: adds the wide op sweep and stress")
      ->check(CLI::IsMember({"core", "full"}))
      ->capture_default_str();
  app.add_option("--filter", options.filter, "run only checks whose id matches this glob, e.g. 'memory.*'")
      ->capture_default_str();
  app.add_option("--onnx-tests", options.onnx_tests,
                 "folder of ONNX backend node tests (onnx/backend/test/data/node); runs those whose op is claimed");
  app.add_option("--junit", junit, "write JUnit XML here");
  app.add_option("--json", json, "write JSON here");
  app.add_option("--seed", options.seed, "seed of the random op cases")->capture_default_str();
  app.add_option("--group-timeout", options.group_timeout_s, "seconds a group may run before it is killed")
      ->capture_default_str();
  app.add_flag("--list", list, "list the groups and op cases, then exit");
  app.add_flag("-v,--verbose", verbose, "list passing checks too");
  CLI11_PARSE(app, argc, argv);
  options.profile = profile == "full" ? Profile::kFull : Profile::kCore;
  if (options.device != "all" &&
      (options.device.empty() || options.device.find_first_not_of("0123456789") != std::string::npos)) {
    std::cerr << "hxrt-conformance: --device must be a device index or 'all', got '" << options.device << "'\n";
    return 2;
  }

  std::vector<GroupInfo> groups = all_groups();
  if (list) {
    std::cout << "Groups (area, name, profile, rules):\n";
    for (const auto& g : groups)
      std::cout << "  " << g.area << "  " << g.name << "  [" << (g.profile == Profile::kFull ? "full" : "core")
                << "]  " << g.rules << "\n      " << g.description << "\n";
    std::cout << "\nOp cases (seed " << options.seed << ", profile " << profile << "):\n";
    for (const auto& line : describe_op_catalog(options)) std::cout << "  " << line << "\n";
    return 0;
  }
  if (options.plugin_path.empty()) {
    std::cerr << "hxrt-conformance: --plugin PATH is required\n";
    return 2;
  }

  std::vector<Result> results;
  bool loaded = true;
  std::string plugin_line = options.plugin_path;
  for (const auto& group : groups) {
    if (group.profile == Profile::kFull && options.profile != Profile::kFull) continue;
    if (!loaded) {
      results.push_back({group.name, group.area, "R1", "skip", "not run: the plugin did not load", "", 0});
      continue;
    }
    std::vector<Result> got = run_group_isolated(group, options);
    for (const auto& r : got) {
      if (r.id == "abi.load.negotiate" && r.status == "pass" && !r.note.empty()) plugin_line = r.note;
      if (r.id == "abi.load.negotiate" && r.status == "fail") loaded = false;
    }
    results.insert(results.end(), got.begin(), got.end());
  }

  std::string header = "hxrt-conformance: " + plugin_line + "\n  profile " + profile + ", seed " +
                       std::to_string(options.seed) + ", device " + options.device +
                       (options.filter != "*" ? ", filter " + options.filter : "");
  print_summary(std::cout, header, results, verbose);
  try {
    if (!junit.empty()) write_junit(junit, "hxrt-conformance", results);
    if (!json.empty()) write_json(json, plugin_line, options, results);
  } catch (const std::exception& e) {
    std::cerr << "hxrt-conformance: " << e.what() << "\n";
    return 2;
  }
  return count(results).failed == 0 ? 0 : 1;
}
