#include "programs.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "kernel_sources.hpp"

namespace hxrt::ocl {
namespace {

using plugin::PluginError;
namespace fs = std::filesystem;

// Cache files: magic, FNV-1a of the payload, payload. The driver only ever
// sees payloads whose checksum holds, so a torn or corrupted file is rebuilt.
constexpr char kCacheMagic[8] = {'H', 'X', 'R', 'T', 'O', 'C', 'L', '1'};

std::optional<std::vector<uint8_t>> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return bytes;
}

std::string build_log(cl_program program, cl_device_id device) {
  size_t size = 0;
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
  std::string log(size, '\0');
  if (size > 0) clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  if (log.size() > 2000) log = log.substr(0, 2000) + "...";
  return log;
}

}  // namespace

const char* embedded_source(const std::string& name) {
  for (const auto& p : kEmbeddedPrograms)
    if (name == p.name) return p.source;
  return nullptr;
}

std::vector<std::string> embedded_program_names() {
  std::vector<std::string> names;
  for (const auto& p : kEmbeddedPrograms) names.emplace_back(p.name);
  return names;
}

cl_program build_from_source(cl_context context, cl_device_id device, const std::string& name,
                             const std::string& source) {
  const char* text = source.c_str();
  size_t length = source.size();
  cl_int err = CL_SUCCESS;
  cl_program program = clCreateProgramWithSource(context, 1, &text, &length, &err);
  cl_check(err, "clCreateProgramWithSource(" + name + ")");
  err = clBuildProgram(program, 1, &device, kBuildOptions, nullptr, nullptr);
  if (err != CL_SUCCESS) {
    std::string log = build_log(program, device);
    clReleaseProgram(program);
    throw PluginError(HXRT_STATUS_INTERNAL,
                      "building program '" + name + "' failed: " + cl_error_name(err) + (log.empty() ? "" : ": " + log));
  }
  return program;
}

cl_program load_binary(cl_context context, cl_device_id device, const std::vector<uint8_t>& binary,
                       const std::string& what) {
  if (binary.empty()) throw PluginError(HXRT_STATUS_DATA_LOSS, what + ": the binary is empty");
  const unsigned char* data = binary.data();
  size_t size = binary.size();
  cl_int binary_status = CL_SUCCESS;
  cl_int err = CL_SUCCESS;
  cl_program program = clCreateProgramWithBinary(context, 1, &device, &size, &data, &binary_status, &err);
  if (err != CL_SUCCESS || binary_status != CL_SUCCESS) {
    if (program != nullptr) clReleaseProgram(program);
    throw PluginError(HXRT_STATUS_DATA_LOSS, what + ": the driver rejects the binary (" +
                                                 cl_error_name(err != CL_SUCCESS ? err : binary_status) + ")");
  }
  // Building a binary program links the device code; it compiles no source.
  err = clBuildProgram(program, 1, &device, nullptr, nullptr, nullptr);
  if (err != CL_SUCCESS) {
    std::string log = build_log(program, device);
    clReleaseProgram(program);
    throw PluginError(HXRT_STATUS_DATA_LOSS, what + ": the binary does not build for this device (" +
                                                 cl_error_name(err) + ")" + (log.empty() ? "" : ": " + log));
  }
  return program;
}

std::vector<uint8_t> program_binary(cl_program program) {
  size_t size = 0;
  cl_check(clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof(size), &size, nullptr),
           "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)");
  std::vector<uint8_t> binary(size);
  unsigned char* data = binary.data();
  cl_check(clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof(data), &data, nullptr),
           "clGetProgramInfo(CL_PROGRAM_BINARIES)");
  return binary;
}

std::vector<std::string> program_kernel_names(cl_program program) {
  size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_KERNEL_NAMES, 0, nullptr, &size) != CL_SUCCESS) return {};
  std::string text(size, '\0');
  clGetProgramInfo(program, CL_PROGRAM_KERNEL_NAMES, size, text.data(), nullptr);
  std::vector<std::string> names;
  std::string current;
  for (char c : text) {
    if (c == ';' || c == '\0') {
      if (!current.empty()) names.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) names.push_back(current);
  return names;
}

ProgramStore::ProgramStore(cl_context context, cl_device_id device, DeviceIdentity identity, Options options,
                           LogFn log, ProgramStats* stats)
    : context_(context), device_(device), identity_(std::move(identity)), options_(std::move(options)),
      log_(std::move(log)), stats_(stats) {}

ProgramStore::~ProgramStore() {
  for (auto& [name, program] : programs_) clReleaseProgram(program);
}

void ProgramStore::load_bundle(const std::string& directory, const Manifest& manifest) {
  std::string mismatch = identity_mismatch(manifest.device, identity_);
  if (!mismatch.empty())
    throw PluginError(HXRT_STATUS_FAILED_PRECONDITION,
                      "kernel bundle " + directory + " was built for another device: " + mismatch);
  std::map<std::string, cl_program> loaded;
  auto release_all = [&] {
    for (auto& [name, program] : loaded) clReleaseProgram(program);
  };
  try {
    for (const ProgramEntry& p : manifest.programs) {
      fs::path path = fs::path(directory) / p.binary;
      std::string what = "kernel bundle program '" + p.name + "' (" + path.string() + ")";
      auto bytes = read_file(path);
      if (!bytes) throw PluginError(HXRT_STATUS_NOT_FOUND, what + ": cannot read the binary");
      if (bytes->size() != p.binary_size || hex64(fnv1a64(bytes->data(), bytes->size())) != p.binary_fnv1a64)
        throw PluginError(HXRT_STATUS_DATA_LOSS, what + ": the binary is corrupt (" + std::to_string(bytes->size()) +
                                                     " bytes, checksum " + hex64(fnv1a64(bytes->data(), bytes->size())) +
                                                     "; the manifest says " + std::to_string(p.binary_size) +
                                                     " bytes, checksum " + p.binary_fnv1a64 + ")");
      loaded[p.name] = load_binary(context_, device_, *bytes, what);
      ++stats_->bundle_loads;
    }
    for (const KernelEntry& k : manifest.kernels) {
      for (const std::string& entry : k.entry_points) {
        cl_int err = CL_SUCCESS;
        cl_kernel kernel = clCreateKernel(loaded.at(k.program), entry.c_str(), &err);
        if (err != CL_SUCCESS)
          throw PluginError(HXRT_STATUS_NOT_FOUND, "kernel bundle " + directory + ": kernel '" + k.name +
                                                       "' names entry point '" + entry + "', which program '" +
                                                       k.program + "' does not contain (" + cl_error_name(err) + ")");
        clReleaseKernel(kernel);
      }
    }
  } catch (...) {
    release_all();
    throw;
  }
  std::lock_guard lock(mutex_);
  for (auto& [name, program] : programs_) clReleaseProgram(program);
  programs_ = std::move(loaded);
  bundle_mode_ = true;
}

std::string ProgramStore::cache_path(const std::string& name, const std::string& source) const {
  uint64_t key = fnv1a64(identity_.platform);
  for (const std::string* part : {&identity_.name, &identity_.vendor, &identity_.driver_version,
                                  &identity_.device_version})
    key = fnv1a64(*part, key ^ 0x9e3779b97f4a7c15ull);
  key = fnv1a64(std::string_view(kBuildOptions), key);
  key = fnv1a64(std::string_view(source), key);
  return (fs::path(options_.cache_dir) / (name + "-" + hex64(key) + ".bin")).string();
}

cl_program ProgramStore::build_jit(const std::string& name) {
  const char* source = embedded_source(name);
  if (source == nullptr) throw PluginError(HXRT_STATUS_INTERNAL, "no embedded program named '" + name + "'");
  std::string path = options_.cache_dir.empty() ? "" : cache_path(name, source);
  if (!path.empty()) {
    if (auto file = read_file(path); file && file->size() > 16 && std::memcmp(file->data(), kCacheMagic, 8) == 0) {
      uint64_t sum = 0;
      std::memcpy(&sum, file->data() + 8, 8);
      std::vector<uint8_t> payload(file->begin() + 16, file->end());
      if (sum == fnv1a64(payload.data(), payload.size())) {
        try {
          cl_program program = load_binary(context_, device_, payload, "cached program '" + name + "'");
          ++stats_->cache_loads;
          log_(HXRT_LOG_DEBUG, "opencl: program '" + name + "' loaded from the binary cache " + path);
          return program;
        } catch (const PluginError& e) {
          log_(HXRT_LOG_WARNING, std::string("opencl: ignoring the cached binary: ") + e.what());
        }
      }
    }
  }
  if (!options_.compiler_enabled)
    throw PluginError(HXRT_STATUS_FAILED_PRECONDITION,
                      "program '" + name + "' is not cached and the OpenCL compiler is disabled (compiler=off)");
  log_(HXRT_LOG_DEBUG, "opencl: building program '" + name + "' from source for " + identity_.name);
  ++stats_->source_builds;
  cl_program program = build_from_source(context_, device_, name, source);
  if (!path.empty()) {
    try {
      std::vector<uint8_t> binary = program_binary(program);
      uint64_t sum = fnv1a64(binary.data(), binary.size());
      fs::create_directories(options_.cache_dir);
      // Write then rename, so concurrent processes never read half a file.
      std::string tmp = path + ".tmp" + std::to_string(std::random_device{}());
      {
        std::ofstream out(tmp, std::ios::binary);
        out.write(kCacheMagic, 8);
        out.write(reinterpret_cast<const char*>(&sum), 8);
        out.write(reinterpret_cast<const char*>(binary.data()), static_cast<std::streamsize>(binary.size()));
        if (!out) throw std::runtime_error("write failed");
      }
      fs::rename(tmp, path);
    } catch (const std::exception& e) {
      log_(HXRT_LOG_WARNING, "opencl: cannot write the binary cache " + path + ": " + e.what());
    }
  }
  return program;
}

cl_program ProgramStore::get(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (auto it = programs_.find(name); it != programs_.end()) return it->second;
  if (bundle_mode_)
    throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "program '" + name + "' is not in the kernel bundle");
  cl_program program = build_jit(name);
  programs_[name] = program;
  return program;
}

cl_kernel ProgramStore::create_kernel(const std::string& program, const std::string& entry_point) {
  cl_int err = CL_SUCCESS;
  cl_kernel kernel = clCreateKernel(get(program), entry_point.c_str(), &err);
  cl_check(err, "clCreateKernel(" + entry_point + ")");
  return kernel;
}

}  // namespace hxrt::ocl
