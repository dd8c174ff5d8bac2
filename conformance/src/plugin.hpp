// The suite's only way to a plugin: dlopen + hxrt_plugin_negotiate, then the
// function table. Small RAII wrappers keep checks short and make sure every
// object a check creates is destroyed again (R3.1).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hxrt/plugin_abi.h"

namespace hxrt::conformance {

const char* status_code_name(hxrt_status_code code);
const char* reason_name(hxrt_support_reason reason);

// A status object returned by the plugin; destroyed with the plugin's own
// status_destroy (R3.2). Default: OK.
class Status {
 public:
  Status() = default;
  Status(const hxrt_plugin_api* api, hxrt_plugin_status* status) : api_(api), status_(status) {}
  Status(Status&& other) noexcept : api_(other.api_), status_(other.status_) { other.status_ = nullptr; }
  Status& operator=(Status&& other) noexcept;
  ~Status();
  bool ok() const { return status_ == nullptr; }
  hxrt_status_code code() const;
  std::string message() const;
  // "OK" or "OUT_OF_RANGE: <message>".
  std::string describe() const;

 private:
  const hxrt_plugin_api* api_ = nullptr;
  hxrt_plugin_status* status_ = nullptr;
};

class Plugin {
 public:
  // Loads and negotiates as a host of ABI 1.<HXRT_ABI_VERSION_MINOR>. Returns
  // nullptr with `error` set when the file cannot be loaded, the symbol is
  // missing or the plugin refuses.
  static std::unique_ptr<Plugin> load(const std::string& path, std::string& error);

  const hxrt_plugin_api* api() const { return api_; }
  hxrt_plugin_negotiate_fn negotiate() const { return negotiate_; }
  uint32_t abi_major() const { return major_; }
  uint32_t abi_minor() const { return minor_; }
  std::string name() const;
  void* handle() const { return handle_; }
  // Whether table slot `slot_end` (offsetof + size) lies inside the table.
  bool has_slot(size_t slot_end) const { return api_->struct_size >= slot_end; }

 private:
  void* handle_ = nullptr;
  hxrt_plugin_negotiate_fn negotiate_ = nullptr;
  const hxrt_plugin_api* api_ = nullptr;
  uint32_t major_ = 0, minor_ = 0;
};

#define HXRT_CONF_SLOT(slot) (offsetof(hxrt_plugin_api, slot) + sizeof(((hxrt_plugin_api*)nullptr)->slot))

// Optional slots are usable when inside the table and non-NULL (R2.5).
#define HXRT_CONF_HAS(plugin, slot) ((plugin).has_slot(HXRT_CONF_SLOT(slot)) && (plugin).api()->slot != nullptr)

// Messages the plugin logged (R8.1), kept so a zero-device answer can be
// reported with the plugin's own reason.
struct LogSink {
  std::mutex mutex;
  std::vector<std::pair<hxrt_log_level, std::string>> messages;
  static void callback(void* user_data, hxrt_log_level level, const char* message);
  std::string last_warning();
};

// A context and its devices. Throws std::runtime_error when creation fails.
class Context {
 public:
  explicit Context(const Plugin& plugin);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Plugin& plugin() const { return plugin_; }
  const hxrt_plugin_api* api() const { return plugin_.api(); }
  hxrt_plugin_context* handle() const { return context_; }
  const std::vector<hxrt_device*>& devices() const { return devices_; }
  hxrt_device_properties properties(size_t device) const;
  LogSink& log() { return *log_; }

 private:
  const Plugin& plugin_;
  std::unique_ptr<LogSink> log_;
  hxrt_plugin_context* context_ = nullptr;
  std::vector<hxrt_device*> devices_;
};

// Owners of device objects. Each holds the table to destroy with.
template <typename T, void (*hxrt_plugin_api::*Destroy)(T*)>
class Owned {
 public:
  Owned() = default;
  Owned(const hxrt_plugin_api* api, T* handle) : api_(api), handle_(handle) {}
  Owned(Owned&& o) noexcept : api_(o.api_), handle_(o.handle_) { o.handle_ = nullptr; }
  Owned& operator=(Owned&& o) noexcept {
    if (this != &o) {
      reset();
      api_ = o.api_;
      handle_ = o.handle_;
      o.handle_ = nullptr;
    }
    return *this;
  }
  ~Owned() { reset(); }
  void reset() {
    if (handle_ != nullptr) (api_->*Destroy)(handle_);
    handle_ = nullptr;
  }
  T* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  const hxrt_plugin_api* api_ = nullptr;
  T* handle_ = nullptr;
};

using Buffer = Owned<hxrt_buffer, &hxrt_plugin_api::buffer_destroy>;
using Stream = Owned<hxrt_stream, &hxrt_plugin_api::stream_destroy>;
using Event = Owned<hxrt_event, &hxrt_plugin_api::event_destroy>;
using Executable = Owned<hxrt_executable, &hxrt_plugin_api::executable_destroy>;

// One device of a context with the calls checks make most, each returning the
// plugin's status.
class Device {
 public:
  Device(Context& context, size_t index);
  const hxrt_plugin_api* api() const { return context_.api(); }
  hxrt_device* handle() const { return device_; }
  Context& context() const { return context_; }
  size_t index() const { return index_; }
  const hxrt_device_properties& properties() const { return properties_; }

  Status allocate(uint64_t size, hxrt_memory_kind kind, Buffer& out) const;
  Status create_stream(Stream& out) const;
  Status create_event(Event& out) const;
  Status host_pointer(hxrt_buffer* buffer, void*& out) const;
  Status copy_to_device(hxrt_stream* stream, const void* src, hxrt_buffer* dst, uint64_t offset, uint64_t size) const;
  Status copy_to_host(hxrt_stream* stream, hxrt_buffer* src, uint64_t offset, void* dst, uint64_t size) const;
  Status copy_on_device(hxrt_stream* stream, hxrt_buffer* src, uint64_t src_offset, hxrt_buffer* dst,
                        uint64_t dst_offset, uint64_t size) const;
  Status synchronize(hxrt_stream* stream) const;
  Status record(hxrt_event* event, hxrt_stream* stream) const;
  Status wait(hxrt_stream* stream, hxrt_event* event) const;
  Status compile(const hxrt_graph_desc* graph, Executable& out) const;

  // Helpers that throw std::runtime_error on failure, for setup steps whose
  // failure is itself a finding of an earlier check.
  Buffer must_allocate(uint64_t size, hxrt_memory_kind kind = HXRT_MEMORY_DEVICE) const;
  Stream must_stream() const;
  Event must_event() const;

 private:
  Context& context_;
  size_t index_;
  hxrt_device* device_;
  hxrt_device_properties properties_{};
};

// Throws std::runtime_error("<what>: <status>") when `status` is not OK.
void must(const Status& status, const std::string& what);

}  // namespace hxrt::conformance
