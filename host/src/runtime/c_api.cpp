// The public C API: thin, exception-free wrappers over Environment and Session.
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <fmt/format.h>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/strings.hpp"
#include "device_objects.hpp"
#include "environment.hpp"
#include "graph/ir.hpp"
#include "hxrt/hxrt.h"
#include "session.hpp"

using hxrt::host::Error;

struct hxrt_status {
  hxrt_status_code code;
  std::string message;
};

struct hxrt_environment {
  std::unique_ptr<hxrt::host::Environment> impl;
  // Declared after impl, so released while the plugins are still loaded.
  struct HostAllocation {
    hxrt::host::BufferPtr pinned;  // from a plugin, or...
    void* aligned = nullptr;       // ...ordinary aligned host memory
    ~HostAllocation() { std::free(aligned); }
  };
  std::mutex memory_mutex;
  std::map<void*, std::unique_ptr<HostAllocation>> allocations;
  std::map<void*, std::vector<hxrt::host::BufferPtr>> registrations;
  ~hxrt_environment() {
    registrations.clear();
    allocations.clear();
  }
};

struct hxrt_session {
  std::unique_ptr<hxrt::host::Session> impl;
  std::vector<std::string> input_names, output_names;
};

namespace {

// Returned when even a status cannot be allocated; never freed.
hxrt_status out_of_memory_status{HXRT_STATUS_RESOURCE_EXHAUSTED, "out of host memory"};

hxrt_status* make_status(hxrt_status_code code, std::string message) noexcept {
  try {
    return new hxrt_status{code, std::move(message)};
  } catch (...) {
    return &out_of_memory_status;
  }
}

template <typename Body>
hxrt_status* guarded(Body&& body) noexcept {
  try {
    body();
    return nullptr;
  } catch (const Error& e) {
    return make_status(e.code(), e.message());
  } catch (const std::bad_alloc&) {
    return make_status(HXRT_STATUS_RESOURCE_EXHAUSTED, "out of host memory");
  } catch (const std::exception& e) {
    return make_status(HXRT_STATUS_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return make_status(HXRT_STATUS_INTERNAL, "internal error: unknown exception");
  }
}

void require(bool condition, const char* message) {
  if (!condition) throw Error(HXRT_STATUS_INVALID_ARGUMENT, message);
}

void require_struct(const void* ptr, size_t struct_size, size_t minimum, const char* name) {
  require(ptr != nullptr, (std::string(name) + " must not be NULL").c_str());
  if (struct_size < minimum)
    throw Error(HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{}.struct_size is {}, at least {} is needed", name,
                                                          struct_size, minimum));
}

// Writes `full` into the caller's struct up to the caller's struct_size.
template <typename T>
void write_versioned(T* out, const T& full) {
  size_t size = std::min(out->struct_size, sizeof(T));
  size_t caller_size = out->struct_size;
  std::memcpy(out, &full, size);
  out->struct_size = caller_size;
}

hxrt::host::SessionConfig session_config(const hxrt_session_options* options) {
  hxrt::host::SessionConfig config;
  if (options == nullptr) return config;
  require_struct(options, options->struct_size, offsetof(hxrt_session_options, num_input_shapes) + sizeof(size_t),
                 "hxrt_session_options");
  for (size_t i = 0; i < options->num_allowed_devices; ++i) {
    require(options->allowed_devices != nullptr && options->allowed_devices[i] != nullptr,
            "allowed_devices has a NULL entry");
    config.allowed_devices.emplace_back(options->allowed_devices[i]);
  }
  config.objective = options->objective == HXRT_OBJECTIVE_THROUGHPUT ? hxrt::host::Objective::kThroughput
                                                                     : hxrt::host::Objective::kLatency;
  for (size_t i = 0; i < options->num_input_shapes; ++i) {
    const hxrt_tensor* t = options->input_shapes[i];
    require(t != nullptr && t->name != nullptr, "input_shapes entries need a name");
    require(t->rank == 0 || t->dims != nullptr, "input_shapes entry has rank but no dims");
    config.input_shapes[t->name] = hxrt::host::Shape(t->dims, t->dims + t->rank);
  }
  if (options->struct_size >= offsetof(hxrt_session_options, num_input_values) + sizeof(size_t)) {
    for (size_t i = 0; i < options->num_input_values; ++i) {
      const hxrt_tensor* t = options->input_values[i];
      require(t != nullptr && t->name != nullptr, "input_values entries need a name");
      hxrt::host::HostTensor value;
      value.dtype = t->dtype;
      value.shape = hxrt::host::Shape(t->dims, t->dims + t->rank);
      size_t bytes = static_cast<size_t>(value.numel()) * hxrt::host::dtype_size(t->dtype);
      require(t->size_bytes >= bytes && (bytes == 0 || t->data != nullptr), "input_values entry is too small");
      value.bytes.assign(static_cast<const uint8_t*>(t->data), static_cast<const uint8_t*>(t->data) + bytes);
      config.input_values[t->name] = std::move(value);
    }
  }
  if (options->struct_size >= offsetof(hxrt_session_options, perf_model_path) + sizeof(char*) &&
      options->perf_model_path != nullptr)
    config.perf_model = options->perf_model_path;
  if (options->struct_size >= offsetof(hxrt_session_options, num_memory_limits) + sizeof(size_t) &&
      options->num_memory_limits > 0) {
    require(options->memory_limit_devices != nullptr && options->memory_limit_bytes != nullptr,
            "memory_limit_devices and memory_limit_bytes must not be NULL when num_memory_limits > 0");
    for (size_t i = 0; i < options->num_memory_limits; ++i) {
      require(options->memory_limit_devices[i] != nullptr, "memory_limit_devices entries must not be NULL");
      config.memory_limits[options->memory_limit_devices[i]] = options->memory_limit_bytes[i];
    }
  }
  if (options->struct_size >= offsetof(hxrt_session_options, placement) + sizeof(options->placement) &&
      options->placement == HXRT_PLACEMENT_PRIORITY)
    config.placer = std::make_shared<hxrt::host::PriorityPlacer>(!config.allowed_devices.empty());
  return config;
}

void fill_names(hxrt_session* s) {
  const auto& g = s->impl->graph();
  for (int v : g.inputs) s->input_names.push_back(g.values[v].name);
  for (int v : g.outputs) s->output_names.push_back(g.values[v].name);
}

hxrt_status* create_session(hxrt_environment* env, const void* bytes, size_t size, const hxrt_session_options* options,
                            hxrt_session** session) {
  return guarded([&] {
    require(env != nullptr && env->impl != nullptr, "environment must not be NULL");
    require(session != nullptr, "session must not be NULL");
    *session = nullptr;
    auto s = std::make_unique<hxrt_session>();
    s->impl = std::make_unique<hxrt::host::Session>(*env->impl, bytes, size, session_config(options));
    fill_names(s.get());
    *session = s.release();
  });
}

void fill_value_info(const hxrt::host::Graph& g, int v, hxrt_value_info* info) {
  const auto& value = g.values[v];
  hxrt_value_info full{};
  full.struct_size = sizeof(full);
  full.name = value.name.c_str();
  full.dtype = value.dtype;
  full.rank = value.shape ? value.shape->size() : 0;
  full.dims = value.shape ? value.shape->data() : nullptr;
  write_versioned(info, full);
}

hxrt_status* get_value_info(const hxrt_session* session, size_t index, hxrt_value_info* info, bool inputs) {
  return guarded([&] {
    require(session != nullptr, "session must not be NULL");
    require_struct(info, info ? info->struct_size : 0, sizeof(hxrt_value_info), "hxrt_value_info");
    const auto& g = session->impl->graph();
    const auto& values = inputs ? g.inputs : g.outputs;
    if (index >= values.size())
      throw Error(HXRT_STATUS_OUT_OF_RANGE, std::string(inputs ? "input" : "output") + " index out of range");
    fill_value_info(g, values[index], info);
  });
}

hxrt_status* run_session(hxrt_session* session, const hxrt_tensor* const* inputs, size_t num_inputs,
                         hxrt_tensor* const* outputs, size_t num_outputs, hxrt::host::RunTrace* trace);

void write_file(const char* path, const std::string& content) {
  std::FILE* file = std::fopen(path, "w");
  if (file == nullptr) throw Error(HXRT_STATUS_NOT_FOUND, fmt::format("cannot write '{}'", path));
  bool written = std::fwrite(content.data(), 1, content.size(), file) == content.size();
  written = std::fclose(file) == 0 && written;
  if (!written) throw Error(HXRT_STATUS_INTERNAL, fmt::format("writing '{}' failed", path));
}

}  // namespace

extern "C" {

hxrt_status_code hxrt_status_get_code(const hxrt_status* status) { return status ? status->code : HXRT_STATUS_OK; }
const char* hxrt_status_get_message(const hxrt_status* status) { return status ? status->message.c_str() : ""; }
void hxrt_status_free(hxrt_status* status) {
  if (status != &out_of_memory_status) delete status;
}

const char* hxrt_status_code_name(hxrt_status_code code) {
  switch (code) {
    case HXRT_STATUS_OK: return "OK";
    case HXRT_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case HXRT_STATUS_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case HXRT_STATUS_UNAVAILABLE: return "UNAVAILABLE";
    case HXRT_STATUS_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case HXRT_STATUS_INTERNAL: return "INTERNAL";
    case HXRT_STATUS_NOT_FOUND: return "NOT_FOUND";
    case HXRT_STATUS_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case HXRT_STATUS_VERSION_MISMATCH: return "VERSION_MISMATCH";
    case HXRT_STATUS_OUT_OF_RANGE: return "OUT_OF_RANGE";
    case HXRT_STATUS_DATA_LOSS: return "DATA_LOSS";
    case HXRT_STATUS_DEVICE_LOST: return "DEVICE_LOST";
  }
  return "UNKNOWN";
}

const char* hxrt_version(void) { return "0.1.0"; }

hxrt_status* hxrt_environment_create(const hxrt_environment_options* options, hxrt_environment** environment) {
  return guarded([&] {
    require(environment != nullptr, "environment must not be NULL");
    *environment = nullptr;
    hxrt::host::EnvironmentConfig config;
    if (options != nullptr) {
      require_struct(options, options->struct_size, offsetof(hxrt_environment_options, plugin_options) + sizeof(char*),
                     "hxrt_environment_options");
      if (options->plugin_path != nullptr) config.plugin_paths = hxrt::host::split_list(options->plugin_path, ':');
      config.only_plugin_paths = options->only_plugin_path != 0;
      config.logger = options->logger;
      config.logger_user_data = options->logger_user_data;
      config.log_level = options->log_level;
      if (options->plugin_options != nullptr) config.plugin_options = options->plugin_options;
    }
    auto env = std::make_unique<hxrt_environment>();
    env->impl = std::make_unique<hxrt::host::Environment>(config);
    *environment = env.release();
  });
}

void hxrt_environment_destroy(hxrt_environment* environment) { delete environment; }

size_t hxrt_environment_plugin_count(const hxrt_environment* environment) {
  return environment ? environment->impl->plugins().size() : 0;
}

hxrt_status* hxrt_environment_get_plugin(const hxrt_environment* environment, size_t index, hxrt_plugin_info* info) {
  return guarded([&] {
    require(environment != nullptr, "environment must not be NULL");
    require_struct(info, info ? info->struct_size : 0, sizeof(hxrt_plugin_info), "hxrt_plugin_info");
    const auto& plugins = environment->impl->plugins();
    if (index >= plugins.size()) throw Error(HXRT_STATUS_OUT_OF_RANGE, "plugin index out of range");
    const auto& p = *plugins[index];
    hxrt_plugin_info full{sizeof(full), p.path().c_str(), p.name().c_str(), p.version().c_str(),
                          p.abi_major(),  p.abi_minor(),  p.devices().size()};
    write_versioned(info, full);
  });
}

size_t hxrt_environment_load_error_count(const hxrt_environment* environment) {
  return environment ? environment->impl->load_errors().size() : 0;
}

hxrt_status* hxrt_environment_get_load_error(const hxrt_environment* environment, size_t index, const char** path,
                                             const char** message) {
  return guarded([&] {
    require(environment != nullptr && path != nullptr && message != nullptr, "arguments must not be NULL");
    const auto& errors = environment->impl->load_errors();
    if (index >= errors.size()) throw Error(HXRT_STATUS_OUT_OF_RANGE, "load error index out of range");
    *path = errors[index].path.c_str();
    *message = errors[index].message.c_str();
  });
}

size_t hxrt_environment_device_count(const hxrt_environment* environment) {
  return environment ? environment->impl->devices().size() : 0;
}

hxrt_status* hxrt_environment_get_device(const hxrt_environment* environment, size_t index, hxrt_device_info* info) {
  return guarded([&] {
    require(environment != nullptr, "environment must not be NULL");
    require_struct(info, info ? info->struct_size : 0,
                   offsetof(hxrt_device_info, transfer_costs) + sizeof(hxrt_transfer_costs), "hxrt_device_info");
    const auto& devices = environment->impl->devices();
    if (index >= devices.size()) throw Error(HXRT_STATUS_OUT_OF_RANGE, "device index out of range");
    const auto& d = *devices[index];
    hxrt_device_info full{};
    full.struct_size = sizeof(full);
    full.id = d.id.c_str();
    full.name = d.name.c_str();
    full.vendor = d.vendor.c_str();
    full.plugin_name = d.plugin->name().c_str();
    full.kind = d.kind;
    full.memory_bytes = d.memory_bytes;
    full.peak_flops_f32 = d.peak_flops_f32;
    full.memory_bandwidth_bytes_per_s = d.memory_bandwidth_bytes_per_s;
    full.host_addressable = d.host_addressable ? 1 : 0;
    full.transfer_costs = d.transfer_costs;
    full.can_wrap_host_memory = d.can_wrap_host_memory ? 1 : 0;
    write_versioned(info, full);
  });
}

namespace {

hxrt::host::DeviceRecord& find_device(hxrt_environment* environment, const char* device_id) {
  for (hxrt::host::DeviceRecord* d : environment->impl->devices())
    if (d->id == device_id) return *d;
  throw Error(HXRT_STATUS_NOT_FOUND, fmt::format("no device '{}' in this environment", device_id));
}

}  // namespace

hxrt_status* hxrt_environment_allocate_host_memory(hxrt_environment* environment, const char* device_id,
                                                   size_t size_bytes, void** data) {
  return guarded([&] {
    require(environment != nullptr, "environment must not be NULL");
    require(data != nullptr, "data must not be NULL");
    *data = nullptr;
    auto allocation = std::make_unique<hxrt_environment::HostAllocation>();
    void* pointer = nullptr;
    hxrt::host::DeviceRecord* device = nullptr;
    if (device_id != nullptr) device = &find_device(environment, device_id);
    else
      for (hxrt::host::DeviceRecord* d : environment->impl->devices())
        if (!d->host_addressable && d->plugin->api().buffer_get_host_pointer != nullptr) {
          device = d;
          break;
        }
    size_t size = std::max<size_t>(size_bytes, 1);  // distinct non-NULL pointers, also for 0 bytes
    if (device != nullptr) {
      if (device->plugin->api().buffer_get_host_pointer == nullptr)
        throw Error(HXRT_STATUS_UNIMPLEMENTED, device->id + ": the plugin offers no host-mapped memory");
      allocation->pinned = hxrt::host::allocate_buffer(*device, size, HXRT_MEMORY_HOST_PINNED);
      pointer = hxrt::host::host_pointer(*device, allocation->pinned.get());
      if (pointer == nullptr)
        throw Error(HXRT_STATUS_INTERNAL, device->id + ": a HOST_PINNED buffer has no host pointer");
    } else {
      allocation->aligned = std::aligned_alloc(64, (size + 63) / 64 * 64);
      if (allocation->aligned == nullptr)
        throw Error(HXRT_STATUS_RESOURCE_EXHAUSTED, fmt::format("cannot allocate {} bytes of host memory", size));
      pointer = allocation->aligned;
    }
    std::lock_guard lock(environment->memory_mutex);
    environment->allocations[pointer] = std::move(allocation);
    *data = pointer;
  });
}

hxrt_status* hxrt_environment_free_host_memory(hxrt_environment* environment, void* data) {
  return guarded([&] {
    require(environment != nullptr, "environment must not be NULL");
    if (data == nullptr) return;
    std::unique_ptr<hxrt_environment::HostAllocation> allocation;
    {
      std::lock_guard lock(environment->memory_mutex);
      auto it = environment->allocations.find(data);
      if (it == environment->allocations.end())
        throw Error(HXRT_STATUS_INVALID_ARGUMENT,
                    "free_host_memory: the pointer was not returned by hxrt_environment_allocate_host_memory");
      allocation = std::move(it->second);
      environment->allocations.erase(it);
    }
  });
}

hxrt_status* hxrt_environment_register_host_memory(hxrt_environment* environment, const char* device_id, void* data,
                                                   size_t size_bytes) {
  return guarded([&] {
    require(environment != nullptr, "environment must not be NULL");
    require(data != nullptr, "data must not be NULL");
    require(size_bytes > 0, "size_bytes must be greater than 0");
    std::lock_guard lock(environment->memory_mutex);
    require(environment->registrations.count(data) == 0, "register_host_memory: the memory is already registered");
    std::vector<hxrt::host::BufferPtr> wrapped;
    if (device_id != nullptr) {
      wrapped.push_back(hxrt::host::wrap_host_memory(find_device(environment, device_id), data, size_bytes, false));
    } else {
      std::vector<const hxrt::host::Plugin*> done;  // registration is per plugin, not per device
      for (hxrt::host::DeviceRecord* d : environment->impl->devices()) {
        if (hxrt::host::works_in_host_memory(*d) || !d->can_wrap_host_memory ||
            std::find(done.begin(), done.end(), d->plugin) != done.end())
          continue;
        wrapped.push_back(hxrt::host::wrap_host_memory(*d, data, size_bytes, false));
        done.push_back(d->plugin);
      }
    }
    environment->registrations[data] = std::move(wrapped);
  });
}

hxrt_status* hxrt_environment_unregister_host_memory(hxrt_environment* environment, void* data) {
  return guarded([&] {
    require(environment != nullptr, "environment must not be NULL");
    std::lock_guard lock(environment->memory_mutex);
    auto it = environment->registrations.find(data);
    if (it == environment->registrations.end())
      throw Error(HXRT_STATUS_INVALID_ARGUMENT, "unregister_host_memory: the memory is not registered");
    environment->registrations.erase(it);
  });
}

hxrt_status* hxrt_session_create_from_file(hxrt_environment* environment, const char* model_path,
                                           const hxrt_session_options* options, hxrt_session** session) {
  std::string bytes;
  if (hxrt_status* error = guarded([&] {
        require(model_path != nullptr, "model_path must not be NULL");
        std::FILE* file = std::fopen(model_path, "rb");
        if (file == nullptr) throw Error(HXRT_STATUS_NOT_FOUND, fmt::format("cannot open model '{}'", model_path));
        char chunk[1 << 16];
        size_t n;
        while ((n = std::fread(chunk, 1, sizeof(chunk), file)) > 0) bytes.append(chunk, n);
        std::fclose(file);
      }))
    return error;
  hxrt_status* status = create_session(environment, bytes.data(), bytes.size(), options, session);
  if (status != nullptr && status != &out_of_memory_status) status->message = std::string(model_path) + ": " + status->message;
  return status;
}

hxrt_status* hxrt_session_create_from_bytes(hxrt_environment* environment, const void* model_bytes, size_t model_size,
                                            const hxrt_session_options* options, hxrt_session** session) {
  if (model_bytes == nullptr) return make_status(HXRT_STATUS_INVALID_ARGUMENT, "model_bytes must not be NULL");
  return create_session(environment, model_bytes, model_size, options, session);
}

void hxrt_session_destroy(hxrt_session* session) { delete session; }

size_t hxrt_session_input_count(const hxrt_session* session) { return session ? session->input_names.size() : 0; }
size_t hxrt_session_output_count(const hxrt_session* session) { return session ? session->output_names.size() : 0; }

hxrt_status* hxrt_session_get_input(const hxrt_session* session, size_t index, hxrt_value_info* info) {
  return get_value_info(session, index, info, /*inputs=*/true);
}

hxrt_status* hxrt_session_get_output(const hxrt_session* session, size_t index, hxrt_value_info* info) {
  return get_value_info(session, index, info, /*inputs=*/false);
}

hxrt_status* hxrt_session_run(hxrt_session* session, const hxrt_tensor* const* inputs, size_t num_inputs,
                              hxrt_tensor* const* outputs, size_t num_outputs) {
  return run_session(session, inputs, num_inputs, outputs, num_outputs, nullptr);
}

hxrt_status* hxrt_session_calibrate(hxrt_session* session, const hxrt_tensor* const* inputs, size_t num_inputs,
                                    hxrt_tensor* const* outputs, size_t num_outputs, int32_t runs,
                                    const char* perf_model_path) {
  // One plain run validates every tensor against the signature first.
  if (hxrt_status* status = run_session(session, inputs, num_inputs, outputs, num_outputs, nullptr)) return status;
  return guarded([&] {
    require(runs > 0, "runs must be positive");
    const auto& g = session->impl->graph();
    std::vector<const void*> in(g.inputs.size(), nullptr);
    std::vector<void*> out(g.outputs.size(), nullptr);
    for (size_t i = 0; i < num_inputs; ++i)
      for (size_t k = 0; k < g.inputs.size(); ++k)
        if (g.values[g.inputs[k]].name == inputs[i]->name) in[k] = inputs[i]->data;
    for (size_t i = 0; i < num_outputs; ++i)
      for (size_t k = 0; k < g.outputs.size(); ++k)
        if (g.values[g.outputs[k]].name == outputs[i]->name) out[k] = outputs[i]->data;
    session->impl->calibrate(in, out, runs,
                             perf_model_path ? perf_model_path : hxrt::host::Session::default_perf_model_path());
  });
}

hxrt_status* hxrt_session_run_traced(hxrt_session* session, const hxrt_tensor* const* inputs, size_t num_inputs,
                                     hxrt_tensor* const* outputs, size_t num_outputs, const char* trace_path,
                                     char* summary, size_t summary_capacity) {
  if (trace_path == nullptr) return make_status(HXRT_STATUS_INVALID_ARGUMENT, "trace_path must not be NULL");
  hxrt::host::RunTrace trace;
  if (hxrt_status* status = run_session(session, inputs, num_inputs, outputs, num_outputs, &trace)) return status;
  return guarded([&] {
    write_file(trace_path, trace.to_chrome_json());
    if (summary != nullptr && summary_capacity > 0) {
      std::string text = trace.summary();
      std::snprintf(summary, summary_capacity, "%s", text.c_str());
    }
  });
}

}  // extern "C"

namespace {

hxrt_status* run_session(hxrt_session* session, const hxrt_tensor* const* inputs, size_t num_inputs,
                         hxrt_tensor* const* outputs, size_t num_outputs, hxrt::host::RunTrace* trace) {
  return guarded([&] {
    require(session != nullptr, "session must not be NULL");
    require(num_inputs == 0 || inputs != nullptr, "inputs must not be NULL");
    require(num_outputs == 0 || outputs != nullptr, "outputs must not be NULL");
    const auto& g = session->impl->graph();
    // Every tensor must match the static signature exactly: a wrong size would
    // make a device read or write past the caller's memory.
    auto check = [&](const hxrt_tensor* t, const std::vector<int>& values, const char* kind) -> int {
      require_struct(t, t ? t->struct_size : 0, sizeof(hxrt_tensor), "hxrt_tensor");
      require(t->name != nullptr, "tensor name must not be NULL");
      for (int v : values) {
        const auto& value = g.values[v];
        if (value.name != t->name) continue;
        size_t expected = static_cast<size_t>(hxrt::host::element_count(*value.shape)) * hxrt::host::dtype_size(value.dtype);
        if (t->dtype != value.dtype)
          throw Error(HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{} '{}' has dtype {}, the model expects {}", kind,
                                                                t->name, hxrt::host::dtype_name(t->dtype),
                                                                hxrt::host::dtype_name(value.dtype)));
        hxrt::host::Shape shape(t->dims, t->dims + t->rank);
        if (t->rank > 0 && t->dims == nullptr) throw Error(HXRT_STATUS_INVALID_ARGUMENT, "tensor dims must not be NULL");
        if (shape != *value.shape)
          throw Error(HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{} '{}' has shape {}, the model expects {}", kind,
                                                                t->name, hxrt::host::shape_to_string(shape),
                                                                hxrt::host::shape_to_string(*value.shape)));
        if (t->size_bytes < expected || (expected > 0 && t->data == nullptr))
          throw Error(HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{} '{}' provides {} bytes, {} are needed", kind,
                                                                t->name, t->size_bytes, expected));
        return v;
      }
      throw Error(HXRT_STATUS_INVALID_ARGUMENT, fmt::format("the model has no {} named '{}'", kind, t->name));
    };
    std::map<std::string, const void*> in;
    std::map<std::string, void*> out;
    for (size_t i = 0; i < num_inputs; ++i) {
      check(inputs[i], g.inputs, "input");
      in[inputs[i]->name] = inputs[i]->data;
    }
    for (size_t i = 0; i < num_outputs; ++i) {
      check(outputs[i], g.outputs, "output");
      out[outputs[i]->name] = outputs[i]->data;
    }
    session->impl->run(in, out, trace);
  });
}

}  // namespace

extern "C" {

size_t hxrt_session_node_count(const hxrt_session* session) {
  return session ? session->impl->placements().size() : 0;
}

hxrt_status* hxrt_session_get_node_placement(const hxrt_session* session, size_t index, hxrt_node_placement* placement) {
  return guarded([&] {
    require(session != nullptr, "session must not be NULL");
    require_struct(placement, placement ? placement->struct_size : 0, sizeof(hxrt_node_placement),
                   "hxrt_node_placement");
    const auto& list = session->impl->placements();
    if (index >= list.size()) throw Error(HXRT_STATUS_OUT_OF_RANGE, "node index out of range");
    const auto& p = list[index];
    hxrt_node_placement full{sizeof(full), p.node_name.c_str(), p.op_type.c_str(), p.device_id.c_str(), p.estimated_ns};
    write_versioned(placement, full);
  });
}

hxrt_status* hxrt_session_explain(const hxrt_session* session, char* text, size_t text_capacity, size_t* text_size,
                                  const char* svg_path, const char* trace_path) {
  return guarded([&] {
    require(session != nullptr, "session must not be NULL");
    std::vector<hxrt::host::TraceRecord> predicted;
    std::string explanation = session->impl->explain(&predicted);
    if (text_size != nullptr) *text_size = explanation.size();
    if (text != nullptr && text_capacity > 0) std::snprintf(text, text_capacity, "%s", explanation.c_str());
    if (svg_path != nullptr) write_file(svg_path, hxrt::host::RunTrace::to_svg(predicted, "predicted schedule"));
    if (trace_path != nullptr) {
      hxrt::host::RunTrace trace;
      trace.predicted = std::move(predicted);
      write_file(trace_path, trace.to_chrome_json());
    }
  });
}

size_t hxrt_session_memory_stats_count(const hxrt_session* session) {
  return session ? session->impl->memory_stats().size() : 0;
}

hxrt_status* hxrt_session_get_memory_stats(const hxrt_session* session, size_t index, hxrt_memory_stats* stats) {
  return guarded([&] {
    require(session != nullptr, "session must not be NULL");
    require_struct(stats, stats ? stats->struct_size : 0, sizeof(hxrt_memory_stats), "hxrt_memory_stats");
    const auto& list = session->impl->memory_stats();
    if (index >= list.size()) throw Error(HXRT_STATUS_OUT_OF_RANGE, "memory stats index out of range");
    hxrt_memory_stats full{sizeof(full), list[index].device_id.c_str(), list[index].planned_bytes,
                           list[index].naive_bytes};
    write_versioned(stats, full);
  });
}

}  // extern "C"
