// hxrt — header-only C++ wrapper over the C API (hxrt.h), in the style of
// oneDNN's dnnl.hpp: RAII handles, errors as hxrt::Error exceptions.
//
//   hxrt::Environment env;
//   hxrt::Session session(env, "model.onnx");
//   std::vector<float> x(...), y(...);
//   session.run({{"input", x}}, {{"output", y}});
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "hxrt/hxrt.h"

namespace hxrt {

class Error : public std::runtime_error {
 public:
  Error(hxrt_status_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  hxrt_status_code code() const noexcept { return code_; }

 private:
  hxrt_status_code code_;
};

// Throws Error for a non-NULL status (and frees it).
inline void check(hxrt_status* status) {
  if (status == nullptr) return;
  Error error(hxrt_status_get_code(status), hxrt_status_get_message(status));
  hxrt_status_free(status);
  throw error;
}

struct DeviceInfo {
  std::string id, name, vendor, plugin_name;
  hxrt_device_kind kind;
  uint64_t memory_bytes;
  double peak_flops_f32;
  double memory_bandwidth_bytes_per_s;
  bool host_addressable;
  hxrt_transfer_costs transfer_costs;
  bool can_wrap_host_memory;
};

struct PluginInfo {
  std::string path, name, version;
  uint32_t abi_major, abi_minor;
  size_t num_devices;
};

struct LoadError {
  std::string path, message;
};

class Environment {
 public:
  explicit Environment(const hxrt_environment_options* options = nullptr) {
    hxrt_environment* raw = nullptr;
    check(hxrt_environment_create(options, &raw));
    handle_.reset(raw);
  }
  hxrt_environment* get() const { return handle_.get(); }

  std::vector<PluginInfo> plugins() const {
    std::vector<PluginInfo> list;
    for (size_t i = 0; i < hxrt_environment_plugin_count(get()); ++i) {
      hxrt_plugin_info info{};
      info.struct_size = sizeof(info);
      check(hxrt_environment_get_plugin(get(), i, &info));
      list.push_back({info.path, info.name, info.version, info.abi_major, info.abi_minor, info.num_devices});
    }
    return list;
  }

  std::vector<DeviceInfo> devices() const {
    std::vector<DeviceInfo> list;
    for (size_t i = 0; i < hxrt_environment_device_count(get()); ++i) {
      hxrt_device_info info{};
      info.struct_size = sizeof(info);
      check(hxrt_environment_get_device(get(), i, &info));
      list.push_back({info.id, info.name, info.vendor, info.plugin_name, info.kind, info.memory_bytes,
                      info.peak_flops_f32, info.memory_bandwidth_bytes_per_s, info.host_addressable != 0,
                      info.transfer_costs, info.can_wrap_host_memory != 0});
    }
    return list;
  }

  // Page-locked host memory for run inputs and outputs, freed on destruction
  // (hxrt_environment_allocate_host_memory). Must not outlive the Environment.
  class HostMemory {
   public:
    HostMemory() = default;
    HostMemory(hxrt_environment* env, void* data, size_t size) : env_(env), data_(data), size_(size) {}
    HostMemory(HostMemory&& o) noexcept { *this = std::move(o); }
    HostMemory& operator=(HostMemory&& o) noexcept {
      if (this != &o) {
        reset();
        env_ = std::exchange(o.env_, nullptr);
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
      }
      return *this;
    }
    ~HostMemory() { reset(); }
    void* data() const { return data_; }
    size_t size_bytes() const { return size_; }
    template <typename T>
    std::span<T> as() const { return {static_cast<T*>(data_), size_ / sizeof(T)}; }

   private:
    void reset() {
      if (data_ != nullptr) hxrt_status_free(hxrt_environment_free_host_memory(env_, data_));
      data_ = nullptr;
    }
    hxrt_environment* env_ = nullptr;
    void* data_ = nullptr;
    size_t size_ = 0;
  };

  // device_id nullptr: the first GPU-like device that offers pinned memory.
  HostMemory allocate_host_memory(size_t size_bytes, const char* device_id = nullptr) const {
    void* data = nullptr;
    check(hxrt_environment_allocate_host_memory(get(), device_id, size_bytes, &data));
    return HostMemory(get(), data, size_bytes);
  }
  // Caller memory made pinned-speed for copies (hxrt_environment_register_host_memory).
  void register_host_memory(void* data, size_t size_bytes, const char* device_id = nullptr) const {
    check(hxrt_environment_register_host_memory(get(), device_id, data, size_bytes));
  }
  void unregister_host_memory(void* data) const { check(hxrt_environment_unregister_host_memory(get(), data)); }

  std::vector<LoadError> load_errors() const {
    std::vector<LoadError> list;
    for (size_t i = 0; i < hxrt_environment_load_error_count(get()); ++i) {
      const char* path = nullptr;
      const char* message = nullptr;
      check(hxrt_environment_get_load_error(get(), i, &path, &message));
      list.push_back({path, message});
    }
    return list;
  }

 private:
  struct Deleter {
    void operator()(hxrt_environment* e) const { hxrt_environment_destroy(e); }
  };
  std::unique_ptr<hxrt_environment, Deleter> handle_;
};

struct ValueInfo {
  std::string name;
  hxrt_dtype dtype;
  std::vector<int64_t> dims;
};

struct MemoryStats {
  std::string device_id;
  uint64_t planned_bytes, naive_bytes;
};

struct NodePlacement {
  std::string node_name, op_type, device_id;
  double estimated_ns;
};

// A named view of caller memory for run().
struct TensorRef {
  std::string name;
  void* data;
  size_t size_bytes;
  template <typename T>
  TensorRef(std::string tensor_name, std::span<T> values)
      : name(std::move(tensor_name)), data(const_cast<std::remove_const_t<T>*>(values.data())),
        size_bytes(values.size_bytes()) {}
  template <typename T>
  TensorRef(std::string tensor_name, std::vector<T>& values) : TensorRef(std::move(tensor_name), std::span<T>(values)) {}
  template <typename T>
  TensorRef(std::string tensor_name, const std::vector<T>& values)
      : TensorRef(std::move(tensor_name), std::span<const T>(values)) {}
  TensorRef(std::string tensor_name, void* bytes, size_t size) : name(std::move(tensor_name)), data(bytes), size_bytes(size) {}
};

class Session {
 public:
  Session(const Environment& environment, const std::string& model_path,
          const hxrt_session_options* options = nullptr) {
    hxrt_session* raw = nullptr;
    check(hxrt_session_create_from_file(environment.get(), model_path.c_str(), options, &raw));
    handle_.reset(raw);
  }
  Session(const Environment& environment, const void* model_bytes, size_t model_size,
          const hxrt_session_options* options = nullptr) {
    hxrt_session* raw = nullptr;
    check(hxrt_session_create_from_bytes(environment.get(), model_bytes, model_size, options, &raw));
    handle_.reset(raw);
  }
  hxrt_session* get() const { return handle_.get(); }

  std::vector<ValueInfo> inputs() const { return values(true); }
  std::vector<ValueInfo> outputs() const { return values(false); }

  std::vector<NodePlacement> placement() const {
    std::vector<NodePlacement> list;
    for (size_t i = 0; i < hxrt_session_node_count(get()); ++i) {
      hxrt_node_placement p{};
      p.struct_size = sizeof(p);
      check(hxrt_session_get_node_placement(get(), i, &p));
      list.push_back({p.node_name, p.op_type, p.device_id, p.estimated_ns});
    }
    return list;
  }

  // The plan as text; optionally also the predicted schedule as SVG / Chrome trace files.
  std::string explain(const std::string& svg_path = "", const std::string& trace_path = "") const {
    size_t size = 0;
    check(hxrt_session_explain(get(), nullptr, 0, &size, nullptr, nullptr));
    std::string text(size + 1, '\0');
    check(hxrt_session_explain(get(), text.data(), text.size(), &size, svg_path.empty() ? nullptr : svg_path.c_str(),
                               trace_path.empty() ? nullptr : trace_path.c_str()));
    text.resize(size);
    return text;
  }

  std::vector<MemoryStats> memory_stats() const {
    std::vector<MemoryStats> list;
    for (size_t i = 0; i < hxrt_session_memory_stats_count(get()); ++i) {
      hxrt_memory_stats m{};
      m.struct_size = sizeof(m);
      check(hxrt_session_get_memory_stats(get(), i, &m));
      list.push_back({m.device_id, m.planned_bytes, m.naive_bytes});
    }
    return list;
  }

  // Inputs and outputs by name; shapes and dtypes are the model's own.
  void run(const std::vector<TensorRef>& inputs, const std::vector<TensorRef>& outputs) {
    run_with(inputs, outputs, [&](auto in, size_t n_in, auto out, size_t n_out) {
      return hxrt_session_run(get(), in, n_in, out, n_out);
    });
  }

  // Measures each node on its device `runs` times into the performance model
  // at `perf_model_path` ("" = the default path).
  void calibrate(const std::vector<TensorRef>& inputs, const std::vector<TensorRef>& outputs, int runs,
                 const std::string& perf_model_path = "") {
    run_with(inputs, outputs, [&](auto in, size_t n_in, auto out, size_t n_out) {
      return hxrt_session_calibrate(get(), in, n_in, out, n_out, runs,
                                    perf_model_path.empty() ? nullptr : perf_model_path.c_str());
    });
  }

  // Runs once and writes the timeline as Chrome trace JSON; returns the summary line.
  std::string run_traced(const std::vector<TensorRef>& inputs, const std::vector<TensorRef>& outputs,
                         const std::string& trace_path) {
    char summary[512] = {0};
    run_with(inputs, outputs, [&](auto in, size_t n_in, auto out, size_t n_out) {
      return hxrt_session_run_traced(get(), in, n_in, out, n_out, trace_path.c_str(), summary, sizeof(summary));
    });
    return summary;
  }

 private:
  template <typename Call>
  void run_with(const std::vector<TensorRef>& inputs, const std::vector<TensorRef>& outputs, Call call) {
    const std::vector<ValueInfo> input_signature = this->inputs();
    const std::vector<ValueInfo> output_signature = this->outputs();
    std::vector<hxrt_tensor> in = describe(inputs, input_signature);
    std::vector<hxrt_tensor> out = describe(outputs, output_signature);
    std::vector<const hxrt_tensor*> in_ptrs;
    std::vector<hxrt_tensor*> out_ptrs;
    for (auto& t : in) in_ptrs.push_back(&t);
    for (auto& t : out) out_ptrs.push_back(&t);
    check(call(in_ptrs.data(), in_ptrs.size(), out_ptrs.data(), out_ptrs.size()));
  }

  std::vector<ValueInfo> values(bool want_inputs) const {
    std::vector<ValueInfo> list;
    size_t count = want_inputs ? hxrt_session_input_count(get()) : hxrt_session_output_count(get());
    for (size_t i = 0; i < count; ++i) {
      hxrt_value_info info{};
      info.struct_size = sizeof(info);
      check(want_inputs ? hxrt_session_get_input(get(), i, &info) : hxrt_session_get_output(get(), i, &info));
      list.push_back({info.name, info.dtype, std::vector<int64_t>(info.dims, info.dims + info.rank)});
    }
    return list;
  }

  // Fills dtype and shape from the signature, so callers name buffers only.
  // The result points into `signature`, which must outlive it.
  static std::vector<hxrt_tensor> describe(const std::vector<TensorRef>& refs, const std::vector<ValueInfo>& signature) {
    std::vector<hxrt_tensor> tensors;
    for (const auto& ref : refs) {
      hxrt_tensor t{};
      t.struct_size = sizeof(t);
      t.name = ref.name.c_str();
      t.data = ref.data;
      t.size_bytes = ref.size_bytes;
      for (const auto& v : signature) {
        if (v.name != ref.name) continue;
        t.dtype = v.dtype;
        t.rank = v.dims.size();
        t.dims = v.dims.data();
      }
      tensors.push_back(t);
    }
    return tensors;
  }

  struct Deleter {
    void operator()(hxrt_session* s) const { hxrt_session_destroy(s); }
  };
  std::unique_ptr<hxrt_session, Deleter> handle_;
};

}  // namespace hxrt
