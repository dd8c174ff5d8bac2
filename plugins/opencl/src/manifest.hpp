// The kernel bundle manifest (docs/plugins/opencl-fpga.md has the schema): the
// prebuilt programs of a device and, per kernel, the op, dtype, shapes,
// fixed attributes and cost figures it was built for.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cl_common.hpp"
#include "hxrt/plugin_support/node_reader.hpp"

namespace hxrt::ocl {

inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kManifestFormat = "hxrt-opencl-bundle";
inline constexpr int kManifestVersion = 1;

// One input's accepted shapes: exact dims, or a rank with per-axis bounds.
struct ShapeSpec {
  std::vector<int64_t> min;  // == max for an exact shape
  std::vector<int64_t> max;
  bool matches(const plugin::Shape& shape) const;
  std::string to_string() const;
};

struct ProgramEntry {
  std::string name;           // "matmul": the kernels/<name>.cl source it was built from
  std::string binary;         // file name inside the bundle directory
  uint64_t binary_size = 0;
  std::string binary_fnv1a64;  // hex64 of the binary's bytes
  std::string source_fnv1a64;  // hex64 of the source it came from (informational)
  std::string build_options;
};

struct KernelEntry {
  std::string name;                   // unique label, for messages
  std::string op;                     // ONNX op type
  std::string dtype = "float32";
  std::vector<ShapeSpec> inputs;      // one per present input, in order
  nlohmann::json attributes = nlohmann::json::object();  // attribute values the kernel fixes
  std::string program;                // ProgramEntry::name
  std::vector<std::string> entry_points;  // OpenCL kernel functions it uses
  double throughput_flops = 0;        // sustained FLOP/s (or element ops/s for data movement)
  double latency_ns = 0;              // fixed cost of one launch
};

struct Manifest {
  DeviceIdentity device;
  std::vector<ProgramEntry> programs;
  std::vector<KernelEntry> kernels;
};

nlohmann::json to_json(const Manifest& manifest);
// Throws PluginError(DATA_LOSS) naming the field for malformed manifests.
Manifest manifest_from_json(const nlohmann::json& json);
Manifest read_manifest(const std::string& directory);

// Parses one shape spec: [d0, d1, ...] or {"min": [...], "max": [...]}.
ShapeSpec shape_spec_from_json(const nlohmann::json& json);
nlohmann::json to_json(const ShapeSpec& spec);

// Empty when the node's attribute equals the manifest's fixed value; else why not.
std::string attribute_mismatch(const plugin::NodeReader& node, const nlohmann::json& fixed);

// Describes the fields that differ between a manifest's device and a real one ("" if none).
std::string identity_mismatch(const DeviceIdentity& manifest, const DeviceIdentity& actual);

}  // namespace hxrt::ocl
