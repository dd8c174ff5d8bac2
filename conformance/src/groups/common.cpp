#include "groups/common.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "reference/reference.hpp"

namespace hxrt::conformance {

std::unique_ptr<Plugin> load_plugin(const Options& options) {
  std::string error;
  auto plugin = Plugin::load(options.plugin_path, error);
  if (!plugin) throw std::runtime_error(error);
  return plugin;
}

std::vector<size_t> selected_devices(GroupContext& g, Context& context) {
  size_t n = context.devices().size();
  if (n == 0) {
    std::string why = context.log().last_warning();
    g.recorder.record({g.prefix + ".devices", g.area, "R4.1", "skip",
                       "the plugin reports 0 devices" + (why.empty() ? std::string(" and logged no reason (R4.1 asks for a WARNING)")
                                                                    : ": " + why),
                       "", 0});
    return {};
  }
  if (g.options.device == "all") {
    std::vector<size_t> all(n);
    for (size_t i = 0; i < n; ++i) all[i] = i;
    return all;
  }
  size_t want = std::stoul(g.options.device);
  if (want >= n) {
    g.recorder.record({g.prefix + ".devices", g.area, "R4.1", "fail",
                       "--device " + g.options.device + " does not exist: the plugin has " + std::to_string(n) +
                           " device(s)",
                       "", 0});
    return {};
  }
  return {want};
}

void for_each_device(GroupContext& g, const std::function<void(const Plugin&, Device&, int)>& body) {
  auto plugin = load_plugin(g.options);
  Context context(*plugin);
  for (size_t d : selected_devices(g, context)) {
    Device dev(context, d);
    body(*plugin, dev, static_cast<int>(d));
  }
}

bool expect_code(Check& c, const Status& status, hxrt_status_code expected, const std::string& call) {
  if (status.code() == expected) return true;
  c.fail(call + ": observed " + status.describe() + ", expected " + status_code_name(expected));
  return false;
}

OpCase simple_case(const std::string& op, Dims shape) {
  OpCase c;
  c.op = op;
  c.opset = 13;
  c.tolerance = tolerance_for(op);
  Tensor x(HXRT_DTYPE_FLOAT32, shape);
  for (size_t i = 0; i < x.v.size(); ++i) x.v[i] = static_cast<float>(static_cast<double>(i % 7) * 0.5 - 1.5);
  if (op == "Relu") {
    c.inputs = {{x, false, false}};
    Tensor y = x;
    for (double& v : y.v) v = std::max(v, 0.0);
    c.expected = {y};
  } else {
    Tensor b = x;
    for (double& v : b.v) v = static_cast<float>(v * 0.25 + 1.0);
    c.inputs = {{x, false, false}, {b, false, false}};
    c.expected = {ref::binary(op, x, b)};
  }
  return c;
}

std::vector<uint8_t> pattern(size_t size, uint32_t seed) {
  std::vector<uint8_t> p(size);
  uint32_t s = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < size; ++i) {
    s = s * 1103515245u + 12345u;
    p[i] = static_cast<uint8_t>((s >> 16) ^ i);
  }
  return p;
}

size_t resident_bytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

int thread_count() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

std::string hex_byte(uint8_t b) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%02x", b);
  return text;
}

std::string compare_bytes(const uint8_t* got, const uint8_t* expected, size_t size) {
  size_t first = size, bad = 0;
  for (size_t i = 0; i < size; ++i)
    if (got[i] != expected[i]) {
      if (first == size) first = i;
      ++bad;
    }
  if (bad == 0) return "";
  return "byte " + std::to_string(first) + ": observed " + hex_byte(got[first]) + ", expected " +
         hex_byte(expected[first]) + " (" + std::to_string(bad) + " of " + std::to_string(size) + " bytes differ)";
}

}  // namespace hxrt::conformance
