// A loaded device plugin: the shared library (Boost.DLL), the negotiated
// function table, the plugin context and its devices.
#pragma once

#include <boost/dll/shared_library.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "hxrt/plugin_abi.h"
#include "logger.hpp"

namespace hxrt::host {

class Plugin;

// Converts a plugin status into an Error (and destroys the status). Throws
// nothing when `status` is NULL.
void throw_if_error(const hxrt_plugin_api& api, hxrt_plugin_status* status, const std::string& context);

struct DeviceRecord {
  Plugin* plugin = nullptr;
  hxrt_device* handle = nullptr;
  std::string id;  // "<plugin>:<index within plugin>"
  std::string name;
  std::string vendor;
  hxrt_device_kind kind = HXRT_DEVICE_KIND_OTHER;
  uint64_t memory_bytes = 0;
  double peak_flops_f32 = 0;
  double memory_bandwidth_bytes_per_s = 0;
  bool host_addressable = false;
  bool can_wrap_host_memory = false;        // buffer_wrap_host_memory works (ABI 1.2, R4.6)
  uint64_t wrap_host_memory_alignment = 0;  // 0 = any
  bool in_place_elementwise = false;        // element-wise outputs may alias an input (ABI 1.2)
  hxrt_transfer_costs transfer_costs{};
};

class Plugin {
 public:
  // Loads, negotiates, checks mandatory slots, creates the context and reads
  // the devices. Throws Error naming the path and the reason on any failure.
  Plugin(const std::string& path, const Logger& logger, const std::vector<std::pair<std::string, std::string>>& options);
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // The plugin's table copied into a full-size struct: slots past the
  // plugin's struct_size (an older minor) read as NULL, i.e. unsupported (R2.5).
  const hxrt_plugin_api& api() const { return api_; }
  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  uint32_t abi_major() const { return abi_major_; }
  uint32_t abi_minor() const { return abi_minor_; }
  hxrt_plugin_context* context() const { return context_; }
  std::vector<DeviceRecord>& devices() { return devices_; }
  const std::vector<DeviceRecord>& devices() const { return devices_; }

  void check(hxrt_plugin_status* status, const std::string& what) const { throw_if_error(api_, status, what); }

 private:
  void negotiate();
  void check_mandatory_slots();
  void create_context(const Logger& logger, const std::vector<std::pair<std::string, std::string>>& options);
  void read_devices();

  std::string path_;
  boost::dll::shared_library library_;
  hxrt_plugin_api api_{};
  hxrt_plugin_context* context_ = nullptr;
  std::string name_, version_;
  uint32_t abi_major_ = 0, abi_minor_ = 0;
  std::vector<DeviceRecord> devices_;
};

}  // namespace hxrt::host
