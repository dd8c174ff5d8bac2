// hxrt-opencl-bundle: builds a kernel bundle (manifest.json + program
// binaries) for one OpenCL device from the plugin's kernels and a shape list.
// On PoCL it stands in for an FPGA vendor's offline compiler, so the bundle
// flow runs for real in CI; docs/plugins/opencl-fpga.md describes the format.
//
//   hxrt-opencl-bundle --device 0 --kernels all --shapes shapes.json --out DIR
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "cl_common.hpp"
#include "manifest.hpp"
#include "ops.hpp"
#include "programs.hpp"

namespace {

using namespace hxrt::ocl;
using nlohmann::json;
namespace fs = std::filesystem;

struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  for (char c : text + ",") {
    if (c == ',') {
      if (!item.empty()) items.push_back(item);
      item.clear();
    } else if (c != ' ') {
      item += c;
    }
  }
  return items;
}

// Median wall time of a tiny launch: the fixed cost of one kernel on this device.
double measure_launch_ns(cl_context ctx, cl_device_id device, cl_program elementwise) {
  cl_int err = CL_SUCCESS;
  cl_command_queue q = clCreateCommandQueue(ctx, device, 0, &err);
  cl_check(err, "clCreateCommandQueue");
  cl_mem x = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 256, nullptr, &err);
  cl_kernel k = clCreateKernel(elementwise, "unary_f32", &err);
  cl_int n = 64, op = 1;
  cl_float zero = 0;
  clSetKernelArg(k, 0, sizeof(cl_mem), &x);
  clSetKernelArg(k, 1, sizeof(cl_mem), &x);
  clSetKernelArg(k, 2, sizeof(n), &n);
  clSetKernelArg(k, 3, sizeof(op), &op);
  clSetKernelArg(k, 4, sizeof(zero), &zero);
  clSetKernelArg(k, 5, sizeof(zero), &zero);
  size_t global = 64, local = 64;
  std::vector<double> times;
  for (int i = 0; i < 12; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    clEnqueueNDRangeKernel(q, k, 1, nullptr, &global, &local, 0, nullptr, nullptr);
    clFinish(q);
    times.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
  }
  clReleaseKernel(k);
  clReleaseMemObject(x);
  clReleaseCommandQueue(q);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int run(int argc, char** argv) {
  CLI::App app{"Builds an hxrt OpenCL kernel bundle for one device"};
  int device_index = 0;
  std::string kernels = "all", shapes_path, out_dir;
  bool list = false;
  app.add_option("--device", device_index, "device index, in the order the plugin lists OpenCL devices")->capture_default_str();
  app.add_option("--kernels", kernels, "programs to build: 'all' or a comma list of kernels/*.cl names")->capture_default_str();
  app.add_option("--shapes", shapes_path, "JSON shape list: what each kernel entry accepts");
  app.add_option("--out", out_dir, "bundle directory to write");
  app.add_flag("--list", list, "list devices and programs, then exit");
  CLI11_PARSE(app, argc, argv);

  std::string why;
  std::vector<FoundDevice> devices = find_devices(&why);
  if (list) {
    for (size_t i = 0; i < devices.size(); ++i) {
      DeviceIdentity id = identify(devices[i].platform, devices[i].device);
      std::cout << i << ": " << id.name << " (" << id.vendor << ", " << id.platform << ", driver " << id.driver_version << ")\n";
    }
    if (devices.empty()) std::cout << "no devices: " << why << "\n";
    std::cout << "programs:";
    for (const auto& name : embedded_program_names()) std::cout << " " << name;
    std::cout << "\n";
    return 0;
  }
  if (shapes_path.empty() || out_dir.empty()) throw Fail("--shapes and --out are required");
  if (device_index < 0 || static_cast<size_t>(device_index) >= devices.size())
    throw Fail("no OpenCL device " + std::to_string(device_index) + " (" + std::to_string(devices.size()) +
               " found" + (why.empty() ? "" : ": " + why) + ")");
  const FoundDevice& found = devices[static_cast<size_t>(device_index)];

  std::set<std::string> selected;
  for (const auto& name : kernels == "all" ? embedded_program_names() : split(kernels)) {
    if (embedded_source(name) == nullptr) throw Fail("--kernels: no program named '" + name + "'");
    selected.insert(name);
  }

  std::ifstream shapes_in(shapes_path);
  if (!shapes_in) throw Fail("cannot read " + shapes_path);
  json shapes = json::parse(shapes_in);
  if (shapes.is_object() && shapes.contains("kernels")) shapes = shapes["kernels"];
  if (!shapes.is_array()) throw Fail(shapes_path + ": expected an array of kernel entries");

  Manifest manifest;
  manifest.device = identify(found.platform, found.device);
  cl_uint cus = device_value<cl_uint>(found.device, CL_DEVICE_MAX_COMPUTE_UNITS);
  double clock = device_value<cl_uint>(found.device, CL_DEVICE_MAX_CLOCK_FREQUENCY) * 1e6;
  double peak = std::max(1e9, cus * clock * 2 * std::max<cl_uint>(1, device_value<cl_uint>(found.device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT)));
  std::set<std::string> needed;
  std::map<std::string, int> names;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const json& s = shapes[i];
    std::string where = shapes_path + " entry " + std::to_string(i);
    if (!s.is_object() || !s.contains("op") || !s["op"].is_string() || !s.contains("inputs") || !s["inputs"].is_array())
      throw Fail(where + ": needs \"op\" and \"inputs\"");
    KernelEntry k;
    k.op = s["op"];
    if (!is_known_op(k.op)) throw Fail(where + ": op " + k.op + " has no kernel in the OpenCL plugin");
    k.program = program_for_op(k.op);
    k.entry_points = entry_points_for_op(k.op);
    if (!k.program.empty() && !selected.count(k.program))
      throw Fail(where + ": op " + k.op + " needs program '" + k.program + "', which --kernels does not select");
    if (!k.program.empty()) needed.insert(k.program);
    for (const json& shape : s["inputs"]) k.inputs.push_back(shape_spec_from_json(shape));
    if (s.contains("attributes")) k.attributes = s["attributes"];
    if (s.contains("dtype")) k.dtype = s["dtype"];
    std::string base = s.contains("name") ? s["name"].get<std::string>() : k.op;
    k.name = names[base]++ == 0 && s.contains("name") ? base : base + "_" + std::to_string(names[base] - 1);
    // Compute kernels get a quarter of the device's peak, the rest a tenth;
    // a vendor replaces these with figures measured on the board.
    double efficiency = k.program == "matmul" || k.program == "conv" ? 0.25 : 0.1;
    k.throughput_flops = s.value("throughput_flops", peak * efficiency);
    k.latency_ns = s.value("latency_ns", -1.0);
    manifest.kernels.push_back(std::move(k));
  }

  cl_int err = CL_SUCCESS;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(found.platform), 0};
  cl_context ctx = clCreateContext(props, 1, &found.device, nullptr, nullptr, &err);
  cl_check(err, "clCreateContext");
  fs::create_directories(out_dir);
  double launch_ns = 10000;
  for (const std::string& name : selected) {
    std::string source = embedded_source(name);
    cl_program program = build_from_source(ctx, found.device, name, source);
    std::vector<uint8_t> binary = program_binary(program);
    clReleaseProgram(program);
    // Round trip: the binary must load back on this device.
    cl_program reloaded = load_binary(ctx, found.device, binary, "program '" + name + "'");
    if (name == "elementwise") launch_ns = measure_launch_ns(ctx, found.device, reloaded);
    for (const auto& k : manifest.kernels) {
      if (k.program != name) continue;
      for (const auto& entry : k.entry_points) {
        cl_kernel kernel = clCreateKernel(reloaded, entry.c_str(), &err);
        if (err != CL_SUCCESS) throw Fail("program '" + name + "' lacks kernel " + entry);
        clReleaseKernel(kernel);
      }
    }
    clReleaseProgram(reloaded);
    ProgramEntry p;
    p.name = name;
    p.binary = name + ".bin";
    p.binary_size = binary.size();
    p.binary_fnv1a64 = hex64(fnv1a64(binary.data(), binary.size()));
    p.source_fnv1a64 = hex64(fnv1a64(source));
    p.build_options = kBuildOptions;
    std::ofstream out(fs::path(out_dir) / p.binary, std::ios::binary);
    out.write(reinterpret_cast<const char*>(binary.data()), static_cast<std::streamsize>(binary.size()));
    if (!out) throw Fail("cannot write " + (fs::path(out_dir) / p.binary).string());
    manifest.programs.push_back(std::move(p));
    std::cout << "built " << name << " (" << binary.size() << " bytes)\n";
  }
  clReleaseContext(ctx);
  for (auto& k : manifest.kernels)
    if (k.latency_ns < 0) k.latency_ns = launch_ns;
  std::ofstream out(fs::path(out_dir) / kManifestFile);
  out << to_json(manifest).dump(2) << "\n";
  if (!out) throw Fail("cannot write the manifest");
  std::cout << "wrote " << (fs::path(out_dir) / kManifestFile).string() << ": " << manifest.kernels.size()
            << " kernel entries, " << manifest.programs.size() << " programs for " << manifest.device.name << "\n";
  (void)needed;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "hxrt-opencl-bundle: " << e.what() << "\n";
    return 1;
  }
}
