// A plugin that cannot be used is reported with its path and reason, and the
// host keeps working with the rest (issue: foundation, "Done when" 3).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "hxrt/hxrt.hpp"

namespace fs = std::filesystem;

namespace {

std::string cpu_plugin() {
  const char* dir = std::getenv("HXRT_PLUGIN_DIR");
  return std::string(dir ? dir : HXRT_TEST_PLUGIN_DIR) + "/libhxrt_cpu.so";
}

std::string bad(const std::string& name) { return std::string(HXRT_BAD_PLUGIN_DIR) + "/libhxrt_bad_" + name + ".so"; }

hxrt::Environment environment_with(const std::string& paths) {
  hxrt_environment_options options{};
  options.struct_size = sizeof(options);
  options.plugin_path = paths.c_str();
  options.only_plugin_path = 1;
  options.log_level = HXRT_LOG_ERROR;
  return hxrt::Environment(&options);
}

// Returns the load error for `path`, failing the test when there is none.
std::string error_for(const hxrt::Environment& env, const std::string& path) {
  for (const auto& e : env.load_errors())
    if (e.path == path) return e.message;
  ADD_FAILURE() << "no load error recorded for " << path;
  return {};
}

void expect_cpu_still_works(const hxrt::Environment& env) {
  auto plugins = env.plugins();
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(plugins[0].name, "cpu");
  ASSERT_FALSE(env.devices().empty());
}

}  // namespace

TEST(PluginLoading, MajorVersionMismatchIsRefusedWithBothVersions) {
  auto env = environment_with(bad("wrong_version") + ":" + cpu_plugin());
  std::string message = error_for(env, bad("wrong_version"));
  EXPECT_NE(message.find("2.0"), std::string::npos) << message;
  const std::string host_version = std::to_string(HXRT_ABI_VERSION_MAJOR) + "." + std::to_string(HXRT_ABI_VERSION_MINOR);
  EXPECT_NE(message.find(host_version), std::string::npos) << message;
  expect_cpu_still_works(env);
}

TEST(PluginLoading, HostRefusesAPluginThatAnswersAnotherMajor) {
  auto env = environment_with(bad("lying_version") + ":" + cpu_plugin());
  std::string message = error_for(env, bad("lying_version"));
  EXPECT_NE(message.find("7.0"), std::string::npos) << message;
  expect_cpu_still_works(env);
}

TEST(PluginLoading, LibraryWithoutEntrySymbolIsReported) {
  auto env = environment_with(bad("no_entry") + ":" + cpu_plugin());
  std::string message = error_for(env, bad("no_entry"));
  EXPECT_NE(message.find("hxrt_plugin_negotiate"), std::string::npos) << message;
  expect_cpu_still_works(env);
}

TEST(PluginLoading, NonLibraryFileIsReported) {
  fs::path file = fs::temp_directory_path() / "libhxrt_not_a_library.so";
  std::ofstream(file) << "this is a text file, not an ELF shared library\n";
  auto env = environment_with(file.string() + ":" + cpu_plugin());
  std::string message = error_for(env, file.string());
  EXPECT_NE(message.find("cannot load"), std::string::npos) << message;
  expect_cpu_still_works(env);
  fs::remove(file);
}

TEST(PluginLoading, PluginWhoseLoadFailsIsReported) {
  auto env = environment_with(bad("undefined_symbol") + ":" + cpu_plugin());
  std::string message = error_for(env, bad("undefined_symbol"));
  EXPECT_NE(message.find("hxrt_test_symbol_that_does_not_exist"), std::string::npos) << message;
  expect_cpu_still_works(env);
}

TEST(PluginLoading, MissingMandatorySlotsAreNamed) {
  auto env = environment_with(bad("missing_slots") + ":" + cpu_plugin());
  std::string message = error_for(env, bad("missing_slots"));
  EXPECT_NE(message.find("context_create"), std::string::npos) << message;
  expect_cpu_still_works(env);
}

TEST(PluginLoading, MissingFileIsReported) {
  auto env = environment_with("/nonexistent/libhxrt_nothing.so:" + cpu_plugin());
  EXPECT_FALSE(error_for(env, "/nonexistent/libhxrt_nothing.so").empty());
  expect_cpu_still_works(env);
}

TEST(PluginLoading, NoPluginsMeansSessionsFailClearly) {
  auto env = environment_with(bad("no_entry"));
  EXPECT_TRUE(env.devices().empty());
  const char model[] = "not a model";
  try {
    hxrt::Session session(env, model, sizeof(model));
    FAIL() << "a session without devices must not be created";
  } catch (const hxrt::Error& e) {
    EXPECT_EQ(e.code(), HXRT_STATUS_UNAVAILABLE) << e.what();
    EXPECT_NE(std::string(e.what()).find("no devices"), std::string::npos) << e.what();
  }
}
