#include "manifest.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hxrt::ocl {
namespace {

using plugin::PluginError;
using json = nlohmann::json;

[[noreturn]] void malformed(const std::string& what) {
  throw PluginError(HXRT_STATUS_DATA_LOSS, "kernel bundle manifest: " + what);
}

const json& field(const json& object, const char* name, const std::string& where) {
  if (!object.is_object() || !object.contains(name)) malformed(where + " has no \"" + name + "\"");
  return object.at(name);
}

std::string string_field(const json& object, const char* name, const std::string& where) {
  const json& v = field(object, name, where);
  if (!v.is_string()) malformed(where + "." + name + " must be a string");
  return v.get<std::string>();
}

std::vector<int64_t> dims_from_json(const json& v, const std::string& where) {
  if (!v.is_array()) malformed(where + " must be an array of dims");
  std::vector<int64_t> dims;
  for (const json& d : v) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) malformed(where + " holds a dim that is not an integer >= 0");
    dims.push_back(d.get<int64_t>());
  }
  return dims;
}

}  // namespace

bool ShapeSpec::matches(const plugin::Shape& shape) const {
  if (shape.size() != min.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < min[i] || shape[i] > max[i]) return false;
  return true;
}

std::string ShapeSpec::to_string() const {
  if (min == max) return plugin::shape_to_string(min);
  return plugin::shape_to_string(min) + ".." + plugin::shape_to_string(max);
}

ShapeSpec shape_spec_from_json(const json& v) {
  ShapeSpec spec;
  if (v.is_array()) {
    spec.min = spec.max = dims_from_json(v, "a shape");
  } else if (v.is_object()) {
    spec.min = dims_from_json(field(v, "min", "a bounded shape"), "min");
    spec.max = dims_from_json(field(v, "max", "a bounded shape"), "max");
    if (spec.min.size() != spec.max.size()) malformed("a bounded shape's min and max differ in rank");
    for (size_t i = 0; i < spec.min.size(); ++i)
      if (spec.min[i] > spec.max[i]) malformed("a bounded shape has min > max on axis " + std::to_string(i));
  } else {
    malformed("a shape must be [dims] or {\"min\": [dims], \"max\": [dims]}");
  }
  return spec;
}

json to_json(const ShapeSpec& spec) {
  if (spec.min == spec.max) return spec.min;
  return json{{"min", spec.min}, {"max", spec.max}};
}

json to_json(const Manifest& m) {
  json j;
  j["format"] = kManifestFormat;
  j["format_version"] = kManifestVersion;
  j["device"] = {{"platform", m.device.platform},
                 {"vendor", m.device.vendor},
                 {"name", m.device.name},
                 {"driver_version", m.device.driver_version},
                 {"device_version", m.device.device_version}};
  j["programs"] = json::array();
  for (const auto& p : m.programs)
    j["programs"].push_back({{"name", p.name},
                             {"binary", p.binary},
                             {"binary_size", p.binary_size},
                             {"binary_fnv1a64", p.binary_fnv1a64},
                             {"source_fnv1a64", p.source_fnv1a64},
                             {"build_options", p.build_options}});
  j["kernels"] = json::array();
  for (const auto& k : m.kernels) {
    json inputs = json::array();
    for (const auto& s : k.inputs) inputs.push_back(to_json(s));
    j["kernels"].push_back({{"name", k.name},
                            {"op", k.op},
                            {"dtype", k.dtype},
                            {"inputs", inputs},
                            {"attributes", k.attributes},
                            {"program", k.program},
                            {"entry_points", k.entry_points},
                            {"throughput_flops", k.throughput_flops},
                            {"latency_ns", k.latency_ns}});
  }
  return j;
}

Manifest manifest_from_json(const json& j) {
  if (!j.is_object()) malformed("the top level must be an object");
  if (string_field(j, "format", "manifest") != kManifestFormat)
    malformed(std::string("\"format\" must be \"") + kManifestFormat + "\"");
  const json& version = field(j, "format_version", "manifest");
  if (!version.is_number_integer() || version.get<int>() != kManifestVersion)
    malformed("format_version " + version.dump() + " is not supported (this plugin reads version " +
              std::to_string(kManifestVersion) + ")");
  Manifest m;
  const json& d = field(j, "device", "manifest");
  m.device = {string_field(d, "platform", "device"), string_field(d, "vendor", "device"),
              string_field(d, "name", "device"), string_field(d, "driver_version", "device"),
              d.contains("device_version") && d["device_version"].is_string() ? d["device_version"].get<std::string>()
                                                                              : ""};
  const json& programs = field(j, "programs", "manifest");
  if (!programs.is_array()) malformed("\"programs\" must be an array");
  for (size_t i = 0; i < programs.size(); ++i) {
    const json& p = programs[i];
    std::string where = "programs[" + std::to_string(i) + "]";
    ProgramEntry e;
    e.name = string_field(p, "name", where);
    e.binary = string_field(p, "binary", where);
    if (e.binary.empty() || e.binary.find('/') != std::string::npos || e.binary == "." || e.binary == "..")
      malformed(where + ".binary must be a plain file name inside the bundle");
    const json& size = field(p, "binary_size", where);
    if (!size.is_number_unsigned()) malformed(where + ".binary_size must be an integer >= 0");
    e.binary_size = size.get<uint64_t>();
    e.binary_fnv1a64 = string_field(p, "binary_fnv1a64", where);
    if (p.contains("source_fnv1a64") && p["source_fnv1a64"].is_string()) e.source_fnv1a64 = p["source_fnv1a64"];
    if (p.contains("build_options") && p["build_options"].is_string()) e.build_options = p["build_options"];
    for (const auto& other : m.programs)
      if (other.name == e.name) malformed("program \"" + e.name + "\" is listed twice");
    m.programs.push_back(std::move(e));
  }
  const json& kernels = field(j, "kernels", "manifest");
  if (!kernels.is_array()) malformed("\"kernels\" must be an array");
  for (size_t i = 0; i < kernels.size(); ++i) {
    const json& k = kernels[i];
    std::string where = "kernels[" + std::to_string(i) + "]";
    KernelEntry e;
    e.name = string_field(k, "name", where);
    e.op = string_field(k, "op", where);
    e.dtype = string_field(k, "dtype", where);
    const json& inputs = field(k, "inputs", where);
    if (!inputs.is_array()) malformed(where + ".inputs must be an array");
    for (const json& s : inputs) e.inputs.push_back(shape_spec_from_json(s));
    if (k.contains("attributes")) {
      if (!k["attributes"].is_object()) malformed(where + ".attributes must be an object");
      e.attributes = k["attributes"];
    }
    e.program = string_field(k, "program", where);
    const json& points = field(k, "entry_points", where);
    if (!points.is_array()) malformed(where + ".entry_points must be an array of kernel names");
    for (const json& p : points) {
      if (!p.is_string()) malformed(where + ".entry_points must hold strings");
      e.entry_points.push_back(p.get<std::string>());
    }
    const json& tp = field(k, "throughput_flops", where);
    const json& lat = field(k, "latency_ns", where);
    if (!tp.is_number() || !(tp.get<double>() > 0) || !std::isfinite(tp.get<double>()))
      malformed(where + ".throughput_flops must be a number > 0");
    if (!lat.is_number() || !(lat.get<double>() >= 0) || !std::isfinite(lat.get<double>()))
      malformed(where + ".latency_ns must be a number >= 0");
    e.throughput_flops = tp.get<double>();
    e.latency_ns = lat.get<double>();
    bool known = e.entry_points.empty();
    for (const auto& p : m.programs) known = known || p.name == e.program;
    if (!known) malformed(where + " (" + e.name + ") names program \"" + e.program + "\", which is not in \"programs\"");
    m.kernels.push_back(std::move(e));
  }
  return m;
}

Manifest read_manifest(const std::string& directory) {
  std::filesystem::path path = std::filesystem::path(directory) / kManifestFile;
  std::ifstream in(path);
  if (!in) throw PluginError(HXRT_STATUS_NOT_FOUND, "kernel bundle: cannot read " + path.string());
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    malformed(path.string() + " is not valid JSON: " + e.what());
  }
  try {
    return manifest_from_json(j);
  } catch (const json::exception& e) {
    malformed(path.string() + ": " + e.what());
  }
}

std::string attribute_mismatch(const plugin::NodeReader& node, const json& fixed) {
  for (auto it = fixed.begin(); it != fixed.end(); ++it) {
    const hxrt_attribute* a = node.find(it.key());
    const json& want = it.value();
    std::string got;
    bool same = false;
    if (a == nullptr) {
      got = "absent";
    } else if (a->type == HXRT_ATTRIBUTE_INT && want.is_number_integer()) {
      same = a->i == want.get<int64_t>();
      got = std::to_string(a->i);
    } else if (a->type == HXRT_ATTRIBUTE_FLOAT && want.is_number()) {
      same = a->f == want.get<float>();
      got = std::to_string(a->f);
    } else if (a->type == HXRT_ATTRIBUTE_STRING && want.is_string()) {
      got = std::string(a->s, a->s_size);
      same = got == want.get<std::string>();
    } else if (a->type == HXRT_ATTRIBUTE_INTS && want.is_array()) {
      std::vector<int64_t> v(a->ints, a->ints + a->count);
      same = want.is_array() && want.size() == v.size();
      for (size_t i = 0; same && i < v.size(); ++i) same = want[i].is_number_integer() && want[i].get<int64_t>() == v[i];
      got = plugin::shape_to_string(v);
    } else {
      got = "of another type";
    }
    if (!same) return "attribute " + it.key() + " is " + got + ", the bundle's kernel fixes " + want.dump();
  }
  return "";
}

std::string identity_mismatch(const DeviceIdentity& m, const DeviceIdentity& a) {
  std::string diff;
  auto cmp = [&](const char* field_name, const std::string& want, const std::string& got) {
    if (want != got) diff += (diff.empty() ? "" : ", ") + std::string(field_name) + " '" + want + "' vs '" + got + "'";
  };
  cmp("platform", m.platform, a.platform);
  cmp("vendor", m.vendor, a.vendor);
  cmp("name", m.name, a.name);
  cmp("driver_version", m.driver_version, a.driver_version);
  return diff;
}

}  // namespace hxrt::ocl
