#include "plugin.hpp"

#include <dlfcn.h>

#include <cstring>
#include <stdexcept>

namespace hxrt::conformance {

const char* status_code_name(hxrt_status_code code) {
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
  return "UNKNOWN_CODE";
}

const char* reason_name(hxrt_support_reason reason) {
  switch (reason) {
    case HXRT_SUPPORTED: return "SUPPORTED";
    case HXRT_UNSUPPORTED_OP: return "UNSUPPORTED_OP";
    case HXRT_UNSUPPORTED_OPSET: return "UNSUPPORTED_OPSET";
    case HXRT_UNSUPPORTED_DTYPE: return "UNSUPPORTED_DTYPE";
    case HXRT_UNSUPPORTED_SHAPE: return "UNSUPPORTED_SHAPE";
    case HXRT_UNSUPPORTED_ATTRIBUTE: return "UNSUPPORTED_ATTRIBUTE";
    case HXRT_UNSUPPORTED_OTHER: return "UNSUPPORTED_OTHER";
  }
  return "UNKNOWN_REASON";
}

Status& Status::operator=(Status&& other) noexcept {
  if (this != &other) {
    if (status_ != nullptr) api_->status_destroy(status_);
    api_ = other.api_;
    status_ = other.status_;
    other.status_ = nullptr;
  }
  return *this;
}

Status::~Status() {
  if (status_ != nullptr) api_->status_destroy(status_);
}

hxrt_status_code Status::code() const { return status_ == nullptr ? HXRT_STATUS_OK : api_->status_get_code(status_); }

std::string Status::message() const {
  if (status_ == nullptr) return "";
  const char* m = api_->status_get_message(status_);
  return m == nullptr ? "(NULL message)" : m;
}

std::string Status::describe() const {
  if (ok()) return "OK";
  return std::string(status_code_name(code())) + ": " + message();
}

std::unique_ptr<Plugin> Plugin::load(const std::string& path, std::string& error) {
  // RTLD_LOCAL | RTLD_NOW, as the host does (R1.1).
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    error = "cannot load " + path + ": " + (why ? why : "unknown dlopen error");
    return nullptr;
  }
  auto fn = reinterpret_cast<hxrt_plugin_negotiate_fn>(dlsym(handle, HXRT_PLUGIN_ENTRY_SYMBOL));
  if (fn == nullptr) {
    error = path + " does not export " HXRT_PLUGIN_ENTRY_SYMBOL " (R1.1)";
    dlclose(handle);
    return nullptr;
  }
  hxrt_plugin_negotiate_args args{};
  char message[512] = {0};
  args.struct_size = sizeof(args);
  args.host_abi_major = HXRT_ABI_VERSION_MAJOR;
  args.host_abi_minor = HXRT_ABI_VERSION_MINOR;
  args.message = message;
  args.message_capacity = sizeof(message);
  hxrt_status_code code = fn(&args);
  if (code != HXRT_STATUS_OK) {
    error = std::string("negotiation refused with ") + status_code_name(code) + ": " + message;
    return nullptr;
  }
  if (args.api == nullptr) {
    error = "negotiation returned OK without a function table (R1.3)";
    return nullptr;
  }
  if (args.plugin_abi_major != HXRT_ABI_VERSION_MAJOR) {
    error = "negotiation returned OK for ABI " + std::to_string(args.plugin_abi_major) + "." +
            std::to_string(args.plugin_abi_minor) + ", but this suite speaks major " +
            std::to_string(HXRT_ABI_VERSION_MAJOR) + " (R1.3)";
    return nullptr;
  }
  const hxrt_plugin_api* api = args.api;
  // The status slots are needed to report anything else, so a table without
  // them is a load failure rather than a check failure (R2.5).
  if (api->struct_size < HXRT_CONF_SLOT(status_destroy) || api->status_get_code == nullptr ||
      api->status_get_message == nullptr || api->status_destroy == nullptr) {
    error = "function table lacks the mandatory status slots (R2.5)";
    return nullptr;
  }
  auto plugin = std::unique_ptr<Plugin>(new Plugin());
  plugin->handle_ = handle;
  plugin->negotiate_ = fn;
  plugin->api_ = api;
  plugin->major_ = args.plugin_abi_major;
  plugin->minor_ = args.plugin_abi_minor;
  return plugin;
}

std::string Plugin::name() const {
  if (api_->struct_size < HXRT_CONF_SLOT(identity) || api_->identity == nullptr || api_->identity->name == nullptr)
    return "(unnamed)";
  return api_->identity->name;
}

void LogSink::callback(void* user_data, hxrt_log_level level, const char* message) {
  auto* sink = static_cast<LogSink*>(user_data);
  std::lock_guard<std::mutex> lock(sink->mutex);
  if (sink->messages.size() < 10000) sink->messages.emplace_back(level, message != nullptr ? message : "(NULL)");
}

std::string LogSink::last_warning() {
  std::lock_guard<std::mutex> lock(mutex);
  for (auto it = messages.rbegin(); it != messages.rend(); ++it)
    if (it->first <= HXRT_LOG_WARNING) return it->second;
  return "";
}

void must(const Status& status, const std::string& what) {
  if (!status.ok()) throw std::runtime_error(what + " failed: " + status.describe());
}

Context::Context(const Plugin& plugin) : plugin_(plugin), log_(std::make_unique<LogSink>()) {
  const hxrt_plugin_api* api = plugin.api();
  hxrt_context_create_args args{};
  args.struct_size = sizeof(args);
  args.logger = &LogSink::callback;
  args.logger_user_data = log_.get();
  must(Status(api, api->context_create(&args)), "context_create");
  if (args.context == nullptr) throw std::runtime_error("context_create returned OK and a NULL context");
  context_ = args.context;
  hxrt_context_get_devices_args dev{};
  dev.struct_size = sizeof(dev);
  dev.context = context_;
  Status s(api, api->context_get_devices(&dev));
  if (!s.ok()) {
    api->context_destroy(context_);
    throw std::runtime_error("context_get_devices failed: " + s.describe());
  }
  if (dev.num_devices > 0 && dev.devices == nullptr) {
    api->context_destroy(context_);
    throw std::runtime_error("context_get_devices returned devices = NULL for " + std::to_string(dev.num_devices) +
                             " devices");
  }
  devices_.assign(dev.devices, dev.devices + dev.num_devices);
}

Context::~Context() {
  if (context_ != nullptr) plugin_.api()->context_destroy(context_);
}

hxrt_device_properties Context::properties(size_t device) const {
  hxrt_device_properties props{};
  props.struct_size = sizeof(props);
  hxrt_device_get_properties_args args{};
  args.struct_size = sizeof(args);
  args.device = devices_.at(device);
  args.properties = &props;
  must(Status(api(), api()->device_get_properties(&args)), "device_get_properties");
  return props;
}

Device::Device(Context& context, size_t index)
    : context_(context), index_(index), device_(context.devices().at(index)), properties_(context.properties(index)) {}

Status Device::allocate(uint64_t size, hxrt_memory_kind kind, Buffer& out) const {
  hxrt_buffer_allocate_args a{};
  a.struct_size = sizeof(a);
  a.device = device_;
  a.size_bytes = size;
  a.memory_kind = kind;
  Status s(api(), api()->buffer_allocate(&a));
  out = s.ok() ? Buffer(api(), a.buffer) : Buffer();
  if (s.ok() && a.buffer == nullptr) throw std::runtime_error("buffer_allocate returned OK and a NULL buffer");
  return s;
}

Status Device::create_stream(Stream& out) const {
  hxrt_stream_create_args a{};
  a.struct_size = sizeof(a);
  a.device = device_;
  Status s(api(), api()->stream_create(&a));
  out = s.ok() ? Stream(api(), a.stream) : Stream();
  if (s.ok() && a.stream == nullptr) throw std::runtime_error("stream_create returned OK and a NULL stream");
  return s;
}

Status Device::create_event(Event& out) const {
  hxrt_event_create_args a{};
  a.struct_size = sizeof(a);
  a.device = device_;
  Status s(api(), api()->event_create(&a));
  out = s.ok() ? Event(api(), a.event) : Event();
  if (s.ok() && a.event == nullptr) throw std::runtime_error("event_create returned OK and a NULL event");
  return s;
}

Status Device::host_pointer(hxrt_buffer* buffer, void*& out) const {
  out = nullptr;
  if (!HXRT_CONF_HAS(context_.plugin(), buffer_get_host_pointer)) return Status();
  hxrt_buffer_get_host_pointer_args a{};
  a.struct_size = sizeof(a);
  a.buffer = buffer;
  Status s(api(), api()->buffer_get_host_pointer(&a));
  if (s.ok()) out = a.host_pointer;
  return s;
}

Status Device::copy_to_device(hxrt_stream* stream, const void* src, hxrt_buffer* dst, uint64_t offset,
                              uint64_t size) const {
  hxrt_copy_to_device_args a{};
  a.struct_size = sizeof(a);
  a.stream = stream;
  a.src = src;
  a.dst = dst;
  a.dst_offset = offset;
  a.size_bytes = size;
  return Status(api(), api()->copy_to_device(&a));
}

Status Device::copy_to_host(hxrt_stream* stream, hxrt_buffer* src, uint64_t offset, void* dst, uint64_t size) const {
  hxrt_copy_to_host_args a{};
  a.struct_size = sizeof(a);
  a.stream = stream;
  a.src = src;
  a.src_offset = offset;
  a.dst = dst;
  a.size_bytes = size;
  return Status(api(), api()->copy_to_host(&a));
}

Status Device::copy_on_device(hxrt_stream* stream, hxrt_buffer* src, uint64_t src_offset, hxrt_buffer* dst,
                              uint64_t dst_offset, uint64_t size) const {
  hxrt_copy_on_device_args a{};
  a.struct_size = sizeof(a);
  a.stream = stream;
  a.src = src;
  a.src_offset = src_offset;
  a.dst = dst;
  a.dst_offset = dst_offset;
  a.size_bytes = size;
  return Status(api(), api()->copy_on_device(&a));
}

Status Device::synchronize(hxrt_stream* stream) const { return Status(api(), api()->stream_synchronize(stream)); }

Status Device::record(hxrt_event* event, hxrt_stream* stream) const {
  hxrt_event_record_args a{};
  a.struct_size = sizeof(a);
  a.event = event;
  a.stream = stream;
  return Status(api(), api()->event_record(&a));
}

Status Device::wait(hxrt_stream* stream, hxrt_event* event) const {
  hxrt_stream_wait_event_args a{};
  a.struct_size = sizeof(a);
  a.stream = stream;
  a.event = event;
  return Status(api(), api()->stream_wait_event(&a));
}

Status Device::compile(const hxrt_graph_desc* graph, Executable& out) const {
  hxrt_executable_compile_args a{};
  a.struct_size = sizeof(a);
  a.device = device_;
  a.graph = graph;
  Status s(api(), api()->executable_compile(&a));
  out = s.ok() ? Executable(api(), a.executable) : Executable();
  if (s.ok() && a.executable == nullptr) throw std::runtime_error("executable_compile returned OK and NULL");
  return s;
}

Buffer Device::must_allocate(uint64_t size, hxrt_memory_kind kind) const {
  Buffer b;
  must(allocate(size, kind, b), "buffer_allocate(" + std::to_string(size) + ")");
  return b;
}

Stream Device::must_stream() const {
  Stream s;
  must(create_stream(s), "stream_create");
  return s;
}

Event Device::must_event() const {
  Event e;
  must(create_event(e), "event_create");
  return e;
}

}  // namespace hxrt::conformance
