// Where a device's OpenCL programs come from: the embedded sources built at
// first use and cached as binaries (JIT), or a kernel bundle's prebuilt
// binaries (the FPGA flow), which never touches the compiler.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cl_common.hpp"
#include "manifest.hpp"

namespace hxrt::ocl {

using LogFn = std::function<void(hxrt_log_level, const std::string&)>;

// Counters per context; the no-compile guarantee of bundle mode is checked
// against source_builds.
struct ProgramStats {
  std::atomic<int> source_builds{0};
  std::atomic<int> cache_loads{0};
  std::atomic<int> bundle_loads{0};
};

// The embedded source of program `name` ("matmul"), or nullptr.
const char* embedded_source(const std::string& name);
std::vector<std::string> embedded_program_names();

// Builds `source` for `device` with kBuildOptions; the build log is in the
// error message on failure (INTERNAL: our kernels must build).
cl_program build_from_source(cl_context context, cl_device_id device, const std::string& name,
                             const std::string& source);
// Creates and builds a program from a device binary; a binary the driver
// rejects gives DATA_LOSS naming `what`.
cl_program load_binary(cl_context context, cl_device_id device, const std::vector<uint8_t>& binary,
                       const std::string& what);
std::vector<uint8_t> program_binary(cl_program program);
std::vector<std::string> program_kernel_names(cl_program program);

class ProgramStore {
 public:
  struct Options {
    std::string cache_dir;        // "" = no binary cache
    bool compiler_enabled = true;  // false: never build from source
  };
  ProgramStore(cl_context context, cl_device_id device, DeviceIdentity identity, Options options, LogFn log,
               ProgramStats* stats);
  ~ProgramStore();
  ProgramStore(const ProgramStore&) = delete;
  ProgramStore& operator=(const ProgramStore&) = delete;

  // Bundle mode: verifies and loads every program of the manifest and checks
  // each kernel's entry points exist. Throws PluginError on any problem; the
  // caller then skips the device. Afterwards only these programs exist.
  void load_bundle(const std::string& directory, const Manifest& manifest);
  bool bundle_mode() const { return bundle_mode_; }

  // The built program `name`: in JIT mode built (or read from the cache) on
  // first use; in bundle mode only a bundle program.
  cl_program get(const std::string& name);
  // A new kernel object (the caller releases it).
  cl_kernel create_kernel(const std::string& program, const std::string& entry_point);

 private:
  cl_program build_jit(const std::string& name);
  std::string cache_path(const std::string& name, const std::string& source) const;

  cl_context context_;
  cl_device_id device_;
  DeviceIdentity identity_;
  Options options_;
  LogFn log_;
  ProgramStats* stats_;
  bool bundle_mode_ = false;
  std::mutex mutex_;
  std::map<std::string, cl_program> programs_;
};

}  // namespace hxrt::ocl
