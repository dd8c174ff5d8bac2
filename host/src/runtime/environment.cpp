#include "environment.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "common/strings.hpp"

namespace hxrt::host {
namespace fs = std::filesystem;
namespace {

bool looks_like_library(const fs::path& path) {
  std::string name = path.filename().string();
  return name.size() > 3 && (name.ends_with(".so") || name.find(".so.") != std::string::npos);
}

// Expands a search entry: a file is itself; a directory yields its shared
// libraries in name order so discovery is deterministic.
std::vector<std::string> expand(const std::string& entry) {
  std::error_code ec;
  if (fs::is_directory(entry, ec)) {
    std::vector<std::string> files;
    for (const auto& item : fs::directory_iterator(entry, ec))
      if (item.is_regular_file(ec) && looks_like_library(item.path())) files.push_back(item.path().string());
    std::sort(files.begin(), files.end());
    return files;
  }
  return {entry};
}

}  // namespace

std::string Environment::install_plugin_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&Environment::install_plugin_directory), &info) == 0 || info.dli_fname == nullptr)
    return {};
  // libhxrt lives in <libdir>; a tool that links the runtime statically lives in <prefix>/bin.
  fs::path here = fs::path(info.dli_fname).parent_path();
  for (const fs::path& candidate : {here / "hxrt" / "plugins", here / ".." / "lib" / "hxrt" / "plugins"}) {
    std::error_code ec;
    if (fs::is_directory(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
  }
  return {};
}

Environment::Environment(const EnvironmentConfig& config)
    : logger_(config.logger, config.logger_user_data, config.log_level), plugin_options_(config.plugin_options) {
  std::vector<std::string> search = config.plugin_paths;
  if (!config.only_plugin_paths) {
    if (const char* env = std::getenv("HXRT_PLUGIN_PATH"))
      for (auto& entry : split_list(env, ':')) search.push_back(entry);
    std::string installed = install_plugin_directory();
    if (!installed.empty() && fs::is_directory(installed)) search.push_back(installed);
  }
  std::set<std::string> seen;
  for (const auto& entry : search) {
    for (const auto& file : expand(entry)) {
      std::error_code ec;
      std::string canonical = fs::weakly_canonical(file, ec).string();
      if (!seen.insert(ec ? file : canonical).second) continue;
      load_candidate(file);
    }
  }
  for (auto& plugin : plugins_)
    for (auto& device : plugin->devices()) devices_.push_back(&device);
  logger_.info(fmt::format("{} plugin(s), {} device(s), {} load error(s)", plugins_.size(), devices_.size(),
                           load_errors_.size()));
}

Environment::~Environment() = default;

void Environment::load_candidate(const std::string& path) {
  try {
    auto plugin = std::make_unique<Plugin>(path, logger_, options_for(path));
    for (const auto& loaded : plugins_) {
      if (loaded->name() == plugin->name()) {
        // The same plugin found twice (build tree and install dir): the first wins.
        logger_.info(fmt::format("{}: plugin '{}' already loaded from {}; skipped", path, plugin->name(),
                                 loaded->path()));
        return;
      }
    }
    if (plugin->devices().empty())
      logger_.info(fmt::format("{}: plugin '{}' reports no devices", path, plugin->name()));
    plugins_.push_back(std::move(plugin));
  } catch (const Error& e) {
    load_errors_.push_back({path, e.message()});
    logger_.warning(e.message());
  } catch (const std::exception& e) {
    load_errors_.push_back({path, fmt::format("{}: {}", path, e.what())});
    logger_.warning(load_errors_.back().message);
  }
}

std::vector<std::pair<std::string, std::string>> Environment::options_for(const std::string& plugin_file) const {
  // Options apply to every plugin unless prefixed "name:"; the name is matched
  // against the file name (libhxrt_<name>.so) because identity is unknown yet.
  std::string file = fs::path(plugin_file).filename().string();
  std::vector<std::pair<std::string, std::string>> options;
  for (const auto& item : split_list(plugin_options_, ';')) {
    std::string text = item;
    auto colon = text.find(':');
    auto equals = text.find('=');
    if (colon != std::string::npos && (equals == std::string::npos || colon < equals)) {
      std::string target = text.substr(0, colon);
      if (file != "libhxrt_" + target + ".so" && file != target) continue;
      text = text.substr(colon + 1);
    }
    equals = text.find('=');
    if (equals == std::string::npos) options.emplace_back(text, "");
    else options.emplace_back(text.substr(0, equals), text.substr(equals + 1));
  }
  return options;
}

}  // namespace hxrt::host
