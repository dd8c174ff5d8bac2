// Runs hxrt-conformance (core profile) on every faulty-plugin variant: each
// defect must be caught by the check named for it (and the run must fail),
// and the clean variant must pass. Prints the detection rate.
#include <gtest/gtest.h>
#include <fnmatch.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

struct Variant {
  std::string name;
  std::vector<std::string> detected_by;  // globs over failing check ids; any one suffices
};

const std::vector<Variant>& variants() {
  static const std::vector<Variant> list = {
      {"wrong_result", {"ops.core.Mul.*"}},
      {"copy_offset", {"memory.copy.unaligned_roundtrip*"}},
      {"ignores_struct_size", {"abi.contract.struct_size.too_small*"}},
      {"null_crash", {"abi.contract.null_args*"}},
      {"wrong_status", {"memory.copy.out_of_range*"}},
      {"early_event", {"streams.events.host_wait*", "memory.copy.ordered_by_event*"}},
      {"leak", {"memory.alloc.no_leak*"}},
      {"wrong_version", {"abi.negotiation.major_mismatch"}},
      {"claims_unrunnable", {"ops.core.Sigmoid.*"}},
      {"negative_cost", {"ops.core.*", "cost.model.*"}},
      {"unaligned_copy", {"memory.copy.unaligned_roundtrip*"}},
      {"not_thread_safe", {"streams.threads.*", "executables.fused.two_threads*"}},
      {"empty_message", {"abi.contract.status.objects*"}},
  };
  return list;
}

struct SuiteRun {
  int exit_code = -1;
  nlohmann::json report;
};

SuiteRun run_suite(const std::string& variant) {
  std::string plugin = std::string(HXRT_FAULTY_DIR) + "/libhxrt_faulty_" + variant + ".so";
  std::string json = testing::TempDir() + "conformance-faulty-" + variant + ".json";
  std::string cmd = std::string(HXRT_CONFORMANCE_CLI) + " --plugin " + plugin + " --profile core --json " + json +
                    " > " + testing::TempDir() + "conformance-faulty-" + variant + ".txt 2>&1";
  SuiteRun run;
  int status = std::system(cmd.c_str());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(json);
  if (f) run.report = nlohmann::json::parse(f, nullptr, false);
  return run;
}

TEST(FaultyPlugin, CleanVariantPasses) {
  SuiteRun run = run_suite("clean");
  ASSERT_TRUE(run.report.is_object()) << "no JSON report";
  std::string failures;
  for (const auto& r : run.report["results"])
    if (r["status"] == "fail") failures += r["id"].get<std::string>() + ": " + r["message"].get<std::string>() + "\n";
  EXPECT_EQ(run.exit_code, 0) << failures;
  EXPECT_EQ(run.report["summary"]["failed"], 0) << failures;
  EXPECT_GT(run.report["summary"]["passed"].get<int>(), 50);
}

TEST(FaultyPlugin, EveryDefectIsDetected) {
  int detected = 0;
  std::string table;
  for (const Variant& v : variants()) {
    SCOPED_TRACE(v.name);
    SuiteRun run = run_suite(v.name);
    ASSERT_TRUE(run.report.is_object()) << "no JSON report for " << v.name;
    std::vector<std::string> failed;
    for (const auto& r : run.report["results"])
      if (r["status"] == "fail") failed.push_back(r["id"].get<std::string>());
    std::string by;
    for (const auto& id : failed)
      for (const auto& glob : v.detected_by)
        if (by.empty() && fnmatch(glob.c_str(), id.c_str(), 0) == 0) by = id;
    bool ok = run.exit_code == 1 && !by.empty();
    detected += ok ? 1 : 0;
    EXPECT_EQ(run.exit_code, 1) << v.name << ": the run must fail";
    EXPECT_FALSE(by.empty()) << v.name << ": none of the expected checks failed (" << failed.size()
                             << " other checks failed)";
    table += "  " + v.name + ": " + (ok ? "detected by " + by + " (" + std::to_string(failed.size()) + " failing checks)"
                                        : std::string("NOT DETECTED")) + "\n";
  }
  std::printf("Faulty-plugin detection: %d of %zu defects detected (%.0f%%)\n%s", detected, variants().size(),
              100.0 * detected / static_cast<double>(variants().size()), table.c_str());
  EXPECT_EQ(detected, static_cast<int>(variants().size()));
}

}  // namespace
