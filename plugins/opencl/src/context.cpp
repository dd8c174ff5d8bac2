// OpenCL plugin entry points: context, devices, properties, and how a device
// answers for a node (JIT planning or its kernel bundle's manifest).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "plugin_objects.hpp"

hxrt_device::~hxrt_device() {
  programs.reset();
  if (dummy != nullptr) clReleaseMemObject(dummy);
  if (internal_queue != nullptr) clReleaseCommandQueue(internal_queue);
  if (cl_ctx != nullptr) clReleaseContext(cl_ctx);
}

namespace hxrt::ocl {
namespace {

using plugin::PluginError;
using plugin::require_non_null;

struct Options {
  std::string cache_dir;
  bool cache_dir_set = false;
  std::string bundle;                    // every device
  std::map<int, std::string> bundle_of;  // bundle.<index>
  bool compiler = true;
};

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/')
    return std::string(xdg) + "/hxrt/opencl";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/')
    return std::string(home) + "/.cache/hxrt/opencl";
  return "";
}

Options parse_options(const hxrt_context_create_args& args, const hxrt_plugin_context& ctx) {
  Options o;
  // Environment fallbacks, for tools that cannot pass plugin options; options win.
  if (const char* env = std::getenv("HXRT_OPENCL_BUNDLE"); env != nullptr && *env != '\0') o.bundle = env;
  if (const char* env = std::getenv("HXRT_OPENCL_CACHE_DIR"); env != nullptr) {
    o.cache_dir = env;
    o.cache_dir_set = true;
  }
  if (args.num_options > 0) {
    require_non_null(args.option_keys, "option_keys");
    require_non_null(args.option_values, "option_values");
  }
  for (size_t i = 0; i < args.num_options; ++i) {
    require_non_null(args.option_keys[i], "option key");
    require_non_null(args.option_values[i], "option value");
    std::string key = args.option_keys[i], value = args.option_values[i];
    if (key == "cache_dir") {
      o.cache_dir = value;  // "" disables the binary cache
      o.cache_dir_set = true;
    } else if (key == "bundle") {
      o.bundle = value;
    } else if (key.rfind("bundle.", 0) == 0) {
      std::string index = key.substr(7);
      if (index.empty() || index.size() > 6 || !std::all_of(index.begin(), index.end(), ::isdigit))
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "option " + key + ": expected bundle.<device index>");
      o.bundle_of[std::stoi(index)] = value;
    } else if (key == "compiler") {
      if (value != "on" && value != "off")
        throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "option compiler=" + value + ": expected on or off");
      o.compiler = value == "on";
    } else {
      ctx.log(HXRT_LOG_WARNING, "opencl: unknown option '" + key + "' ignored");
    }
  }
  if (!o.cache_dir_set) o.cache_dir = default_cache_dir();
  return o;
}

hxrt_device_kind kind_of(cl_device_type type) {
  if (type & CL_DEVICE_TYPE_GPU) return HXRT_DEVICE_KIND_GPU;
  if (type & CL_DEVICE_TYPE_ACCELERATOR) return HXRT_DEVICE_KIND_FPGA;
  if (type & CL_DEVICE_TYPE_CPU) return HXRT_DEVICE_KIND_CPU;
  return HXRT_DEVICE_KIND_OTHER;
}

// Opens one device; throws PluginError when it cannot be used (the caller
// then skips it).
std::unique_ptr<hxrt_device> open_device(hxrt_plugin_context* ctx, const FoundDevice& found, int index,
                                         const Options& options) {
  auto d = std::make_unique<hxrt_device>();
  d->context = ctx;
  d->index = index;
  d->platform = found.platform;
  d->id = found.device;
  d->identity = identify(found.platform, found.device);
  d->kind = kind_of(device_value<cl_device_type>(found.device, CL_DEVICE_TYPE));
  d->memory_bytes = device_value<cl_ulong>(found.device, CL_DEVICE_GLOBAL_MEM_SIZE);
  d->max_alloc_bytes = device_value<cl_ulong>(found.device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  d->compute_units = device_value<cl_uint>(found.device, CL_DEVICE_MAX_COMPUTE_UNITS);
  d->unified_memory = device_value<cl_bool>(found.device, CL_DEVICE_HOST_UNIFIED_MEMORY) != CL_FALSE;
  d->base_align_bytes = std::max<uint64_t>(1, device_value<cl_uint>(found.device, CL_DEVICE_MEM_BASE_ADDR_ALIGN) / 8);
  d->limits.max_work_group_size = device_value<size_t>(found.device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
  d->limits.local_mem_bytes = device_value<cl_ulong>(found.device, CL_DEVICE_LOCAL_MEM_SIZE);
  // Placement hints only: lanes per compute unit are a guess by device type.
  double clock_hz = device_value<cl_uint>(found.device, CL_DEVICE_MAX_CLOCK_FREQUENCY) * 1e6;
  double lanes = d->kind == HXRT_DEVICE_KIND_GPU ? 64 : std::max<cl_uint>(1, device_value<cl_uint>(found.device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT));
  d->peak_flops = std::max(1e9, d->compute_units * clock_hz * 2 * lanes);
  d->bandwidth = d->kind == HXRT_DEVICE_KIND_GPU ? 5e11 : 2e10;
  if (device_value<cl_bool>(found.device, CL_DEVICE_AVAILABLE) == CL_FALSE)
    throw PluginError(HXRT_STATUS_UNAVAILABLE, "the device reports CL_DEVICE_AVAILABLE = false");

  cl_int err = CL_SUCCESS;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(found.platform), 0};
  d->cl_ctx = clCreateContext(props, 1, &found.device, nullptr, nullptr, &err);
  cl_check(err, "clCreateContext", HXRT_STATUS_UNAVAILABLE);
  d->internal_queue = clCreateCommandQueue(d->cl_ctx, found.device, 0, &err);
  cl_check(err, "clCreateCommandQueue", HXRT_STATUS_UNAVAILABLE);
  d->dummy = clCreateBuffer(d->cl_ctx, CL_MEM_READ_WRITE, 64, nullptr, &err);
  cl_check(err, "clCreateBuffer(64 bytes)", HXRT_STATUS_UNAVAILABLE);

  std::string bundle = options.bundle;
  if (auto it = options.bundle_of.find(index); it != options.bundle_of.end()) bundle = it->second;
  bool compiler = options.compiler && bundle.empty() &&
                  device_value<cl_bool>(found.device, CL_DEVICE_COMPILER_AVAILABLE) != CL_FALSE;
  ProgramStats* stats = &ctx->stats;
  d->programs = std::make_unique<ProgramStore>(
      d->cl_ctx, found.device, d->identity, ProgramStore::Options{bundle.empty() ? options.cache_dir : "", compiler},
      [ctx](hxrt_log_level level, const std::string& message) { ctx->log(level, message); }, stats);
  if (!bundle.empty()) {
    Manifest manifest = read_manifest(bundle);
    d->programs->load_bundle(bundle, manifest);
    d->bundle = std::move(manifest);
    d->bundle_dir = bundle;
  } else if (!compiler) {
    if (options.cache_dir.empty())
      throw PluginError(HXRT_STATUS_UNAVAILABLE,
                        "no OpenCL compiler (CL_DEVICE_COMPILER_AVAILABLE or compiler=off) and no kernel bundle: "
                        "give one with bundle=DIR");
    ctx->log(HXRT_LOG_WARNING, "opencl:" + std::to_string(index) +
                                   ": the compiler is off; only programs already in the binary cache can run");
  }
  return d;
}

}  // namespace

DevicePlan plan_for_device(const hxrt_device& device, const plugin::NodeReader& node) {
  if (!device.bundle) {
    DevicePlan result{plan_node(node, device.limits), 0};
    const NodePlan& p = result.plan;
    size_t launches = 0;
    for (const auto& s : p.steps) launches += s.launch ? 1 : 0;
    // Launch overhead plus the slower of compute and memory traffic.
    result.estimated_ns = 4000.0 * static_cast<double>(std::max<size_t>(1, p.steps.size())) +
                          1e9 * std::max(p.flops / device.peak_flops, p.bytes / device.bandwidth);
    return result;
  }
  // Bundle mode: the manifest is the only source of truth (no compiler, no
  // generic kernels), so answer from it first and plan only what it holds.
  const Manifest& m = *device.bundle;
  std::string op(node.op_type());
  std::vector<const KernelEntry*> same_op;
  if (node.domain() == "" || node.domain() == "ai.onnx")
    for (const auto& k : m.kernels)
      if (k.op == op) same_op.push_back(&k);
  if (same_op.empty()) throw Unsupported(HXRT_UNSUPPORTED_OP, "op " + op + " is not in the kernel bundle " + device.bundle_dir);
  std::string dtype = node.has_input(0) ? plugin::dtype_name(node.input(0).dtype) : "none";
  std::vector<const KernelEntry*> same_dtype;
  for (const auto* k : same_op)
    if (k->dtype == dtype) same_dtype.push_back(k);
  if (same_dtype.empty())
    throw Unsupported(HXRT_UNSUPPORTED_DTYPE, op + ": dtype " + dtype + " is not in the kernel bundle");
  std::vector<plugin::Shape> shapes;
  std::string given;
  for (size_t i = 0; i < node.num_inputs(); ++i) {
    if (!node.has_input(i)) continue;
    shapes.push_back(plugin::shape_of(node.input(i)));
    given += (given.empty() ? "" : " x ") + plugin::shape_to_string(shapes.back());
  }
  std::vector<const KernelEntry*> same_shape;
  std::string offered;
  for (const auto* k : same_dtype) {
    bool match = k->inputs.size() == shapes.size();
    for (size_t i = 0; match && i < shapes.size(); ++i) match = k->inputs[i].matches(shapes[i]);
    if (match) same_shape.push_back(k);
    std::string spec;
    for (const auto& s : k->inputs) spec += (spec.empty() ? "" : " x ") + s.to_string();
    if (offered.size() < 400) offered += (offered.empty() ? "" : "; ") + spec;
  }
  if (same_shape.empty())
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, op + ": shape not in kernel bundle (" + given + "; the bundle has " + offered + ")");
  const KernelEntry* chosen = nullptr;
  std::string why;
  for (const auto* k : same_shape) {
    std::string mismatch = attribute_mismatch(node, k->attributes);
    if (mismatch.empty()) {
      chosen = k;
      break;
    }
    if (why.empty()) why = mismatch;
  }
  if (chosen == nullptr) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op + ": " + why + " (kernel bundle)");
  DevicePlan result{plan_node(node, device.limits), 0};
  for (const auto& s : result.plan.steps) {
    if (!s.launch) continue;
    bool has = s.launch->program == chosen->program &&
               std::find(chosen->entry_points.begin(), chosen->entry_points.end(), s.launch->kernel) !=
                   chosen->entry_points.end();
    if (!has)
      throw Unsupported(HXRT_UNSUPPORTED_OTHER, op + ": the bundle's kernel '" + chosen->name + "' lacks entry point " +
                                                    s.launch->program + "." + s.launch->kernel);
  }
  result.estimated_ns = std::max(1.0, chosen->latency_ns + 1e9 * result.plan.work() / chosen->throughput_flops);
  return result;
}

namespace entry {

hxrt_plugin_status* context_create(hxrt_context_create_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_context_create_args, context), [&] {
    args->context = nullptr;
    auto ctx = std::make_unique<hxrt_plugin_context>();
    ctx->logger = args->logger;
    ctx->logger_user_data = args->logger_user_data;
    Options options = parse_options(*args, *ctx);
    std::string why_none;
    std::vector<FoundDevice> found = find_devices(&why_none);
    if (found.empty()) ctx->log(HXRT_LOG_WARNING, "opencl: 0 devices: " + why_none);
    for (size_t i = 0; i < found.size(); ++i) {
      int index = static_cast<int>(i);
      std::string label = "opencl device " + std::to_string(index) + " (" +
                          device_string(found[i].device, CL_DEVICE_NAME) + ")";
      try {
        auto device = open_device(ctx.get(), found[i], index, options);
        ctx->log(HXRT_LOG_INFO, label + ": " + device->identity.vendor + ", driver " + device->identity.driver_version +
                                    (device->bundle ? ", kernel bundle " + device->bundle_dir : ", JIT kernels"));
        ctx->devices.push_back(std::move(device));
      } catch (const PluginError& e) {
        // A bad bundle or an unusable device costs that device, not the process.
        ctx->log(HXRT_LOG_ERROR, label + " skipped: " + e.what());
      } catch (const std::exception& e) {
        ctx->log(HXRT_LOG_ERROR, label + " skipped: " + e.what());
      }
    }
    if (!found.empty() && ctx->devices.empty()) ctx->log(HXRT_LOG_WARNING, "opencl: 0 usable devices (see the errors above)");
    for (auto& d : ctx->devices) ctx->device_list.push_back(d.get());
    args->context = ctx.release();
  });
}

void context_destroy(hxrt_plugin_context* context) {
  if (context == nullptr) return;
  for (auto& d : context->devices)
    if (d->measured_kernels > 0)
      context->log(HXRT_LOG_DEBUG, "opencl:" + std::to_string(d->index) + ": " + std::to_string(d->measured_kernels.load()) +
                                       " kernels took " + std::to_string(d->measured_kernel_ns.load()) +
                                       " ns of device time (profiled)");
  // Tests check the no-compile guarantee of bundle mode against this line.
  context->log(HXRT_LOG_INFO, "opencl: programs built from source: " + std::to_string(context->stats.source_builds.load()) +
                                  ", loaded from the binary cache: " + std::to_string(context->stats.cache_loads.load()) +
                                  ", loaded from kernel bundles: " + std::to_string(context->stats.bundle_loads.load()));
  delete context;
}

hxrt_plugin_status* context_get_devices(hxrt_context_get_devices_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_context_get_devices_args, devices), [&] {
    require_non_null(args->context, "context");
    args->num_devices = args->context->device_list.size();
    args->devices = args->context->device_list.data();
  });
}

hxrt_plugin_status* device_get_properties(hxrt_device_get_properties_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_device_get_properties_args, properties), [&] {
    require_non_null(args->device, "device");
    require_non_null(args->properties, "properties");
    hxrt_device_properties* p = args->properties;
    const hxrt_device& d = *args->device;
    size_t limit = std::min(p->struct_size, sizeof(hxrt_device_properties));
#define HXRT_OCL_SET(field, value) \
  if (HXRT_STRUCT_HAS_FIELD(limit, hxrt_device_properties, field)) p->field = (value)
    HXRT_OCL_SET(name, d.identity.name.c_str());
    HXRT_OCL_SET(vendor, d.identity.vendor.c_str());
    HXRT_OCL_SET(kind, d.kind);
    HXRT_OCL_SET(memory_bytes, d.memory_bytes);
    HXRT_OCL_SET(peak_flops_f32, d.peak_flops);
    HXRT_OCL_SET(memory_bandwidth_bytes_per_s, d.bandwidth);
    HXRT_OCL_SET(host_addressable, 0);  // DEVICE buffers are cl_mem, reached through copies
    HXRT_OCL_SET(driver_version, d.identity.driver_version.c_str());
    HXRT_OCL_SET(compute_units, d.compute_units);
    HXRT_OCL_SET(max_allocation_bytes, d.max_alloc_bytes);
    // Since 1.2 (R4.6): caller memory as a CL_MEM_USE_HOST_PTR buffer where the
    // device shares the host's memory (PoCL, integrated GPUs), at the alignment
    // sub-buffers need, so the implementation uses the memory in place.
    HXRT_OCL_SET(can_wrap_host_memory, d.unified_memory ? 1 : 0);
    HXRT_OCL_SET(wrap_host_memory_alignment, d.unified_memory ? d.base_align_bytes : 0);
#undef HXRT_OCL_SET
  });
}

hxrt_plugin_status* device_get_transfer_costs(hxrt_device_get_transfer_costs_args* args) {
  return check_args(args, HXRT_V1_ARGS(hxrt_device_get_transfer_costs_args, costs), [&] {
    require_non_null(args->device, "device");
    require_non_null(args->costs, "costs");
    const hxrt_device& d = *args->device;
    // Hints (R6.1): a shared-memory device copies at memcpy speed plus the
    // queue's latency; a discrete one crosses PCIe, faster from pinned memory.
    hxrt_link_cost pageable = d.unified_memory ? hxrt_link_cost{8000, 8e9} : hxrt_link_cost{15000, 6e9};
    hxrt_link_cost pinned = d.unified_memory ? hxrt_link_cost{8000, 10e9} : hxrt_link_cost{10000, 20e9};
    hxrt_link_cost local = {5000, d.unified_memory ? 10e9 : d.bandwidth / 2};
    hxrt_transfer_costs* c = args->costs;
    size_t limit = std::min(c->struct_size, sizeof(hxrt_transfer_costs));
    if (HXRT_STRUCT_HAS_FIELD(limit, hxrt_transfer_costs, host_to_device_pageable)) c->host_to_device_pageable = pageable;
    if (HXRT_STRUCT_HAS_FIELD(limit, hxrt_transfer_costs, host_to_device_pinned)) c->host_to_device_pinned = pinned;
    if (HXRT_STRUCT_HAS_FIELD(limit, hxrt_transfer_costs, device_to_host_pageable)) c->device_to_host_pageable = pageable;
    if (HXRT_STRUCT_HAS_FIELD(limit, hxrt_transfer_costs, device_to_host_pinned)) c->device_to_host_pinned = pinned;
    if (HXRT_STRUCT_HAS_FIELD(limit, hxrt_transfer_costs, device_to_device)) c->device_to_device = local;
  });
}

}  // namespace entry
}  // namespace hxrt::ocl
