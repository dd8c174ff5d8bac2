// The environment: plugin discovery and loading, and the device registry.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "logger.hpp"
#include "plugin.hpp"

namespace hxrt::host {

struct EnvironmentConfig {
  std::vector<std::string> plugin_paths;  // files or directories, searched first
  bool only_plugin_paths = false;         // skip HXRT_PLUGIN_PATH and the install dir
  hxrt_log_fn logger = nullptr;
  void* logger_user_data = nullptr;
  hxrt_log_level log_level = HXRT_LOG_WARNING;
  std::string plugin_options;  // "key=value;plugin:key=value"
};

struct LoadError {
  std::string path;
  std::string message;
};

class Environment {
 public:
  explicit Environment(const EnvironmentConfig& config);
  ~Environment();

  const Logger& logger() const { return logger_; }
  const std::vector<std::unique_ptr<Plugin>>& plugins() const { return plugins_; }
  const std::vector<LoadError>& load_errors() const { return load_errors_; }
  // Every device of every plugin, in load order.
  const std::vector<DeviceRecord*>& devices() const { return devices_; }

  // The directory plugins are installed in, next to libhxrt: <libdir>/hxrt/plugins.
  static std::string install_plugin_directory();

 private:
  void load_candidate(const std::string& path);
  std::vector<std::pair<std::string, std::string>> options_for(const std::string& plugin_file) const;

  Logger logger_;
  std::string plugin_options_;
  std::vector<std::unique_ptr<Plugin>> plugins_;
  std::vector<LoadError> load_errors_;
  std::vector<DeviceRecord*> devices_;
};

}  // namespace hxrt::host
