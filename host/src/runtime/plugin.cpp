#include "plugin.hpp"

#include <dlfcn.h>

#include <cstring>
#include <fmt/format.h>

namespace hxrt::host {

void throw_if_error(const hxrt_plugin_api& api, hxrt_plugin_status* status, const std::string& context) {
  if (status == nullptr) return;
  hxrt_status_code code = api.status_get_code(status);
  const char* message = api.status_get_message(status);
  std::string text = fmt::format("{}: {}", context, message != nullptr ? message : "(no message)");
  api.status_destroy(status);
  if (code == HXRT_STATUS_OK) return;  // a status object that says OK is still OK
  throw Error(code, std::move(text));
}

Plugin::Plugin(const std::string& path, const Logger& logger,
               const std::vector<std::pair<std::string, std::string>>& options)
    : path_(path) {
  boost::system::error_code ec;
  // rtld_local keeps each plugin's symbols (e.g. two copies of oneDNN) apart.
  library_.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    // Boost's error code loses the loader's reason (missing file, bad ELF,
    // unresolved symbol); ask the loader once more for it.
    std::string reason = ec.message();
    if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) dlclose(handle);
    else if (const char* why = dlerror()) reason = why;
    throw Error(HXRT_STATUS_UNAVAILABLE, fmt::format("{}: cannot load library: {}", path, reason));
  }
  if (!library_.has(HXRT_PLUGIN_ENTRY_SYMBOL))
    throw Error(HXRT_STATUS_NOT_FOUND,
                fmt::format("{}: not an hxrt plugin: symbol '{}' is not exported", path, HXRT_PLUGIN_ENTRY_SYMBOL));
  negotiate();
  check_mandatory_slots();
  create_context(logger, options);
  read_devices();
}

Plugin::~Plugin() {
  if (context_ != nullptr) api_.context_destroy(context_);
}

void Plugin::negotiate() {
  auto entry = library_.get<hxrt_status_code(hxrt_plugin_negotiate_args*)>(HXRT_PLUGIN_ENTRY_SYMBOL);
  char message[512] = {0};
  hxrt_plugin_negotiate_args args{};
  args.struct_size = sizeof(args);
  args.host_abi_major = HXRT_ABI_VERSION_MAJOR;
  args.host_abi_minor = HXRT_ABI_VERSION_MINOR;
  args.message = message;
  args.message_capacity = sizeof(message);
  hxrt_status_code code = entry(&args);
  if (code != HXRT_STATUS_OK) {
    throw Error(code == HXRT_STATUS_VERSION_MISMATCH ? HXRT_STATUS_VERSION_MISMATCH : HXRT_STATUS_UNAVAILABLE,
                fmt::format("{}: plugin refused negotiation (host ABI {}.{}): {}", path_, HXRT_ABI_VERSION_MAJOR,
                            HXRT_ABI_VERSION_MINOR, message[0] ? message : "no reason given"));
  }
  // The host checks the answer too: a plugin must not claim another major (R1.3).
  if (args.plugin_abi_major != HXRT_ABI_VERSION_MAJOR)
    throw Error(HXRT_STATUS_VERSION_MISMATCH,
                fmt::format("{}: plugin implements ABI {}.{}, host speaks {}.{}", path_, args.plugin_abi_major,
                            args.plugin_abi_minor, HXRT_ABI_VERSION_MAJOR, HXRT_ABI_VERSION_MINOR));
  if (args.api == nullptr) throw Error(HXRT_STATUS_INTERNAL, path_ + ": negotiation succeeded but returned no table");
  if (args.api->struct_size < offsetof(hxrt_plugin_api, identity) + sizeof(args.api->identity))
    throw Error(HXRT_STATUS_INVALID_ARGUMENT,
                fmt::format("{}: function table struct_size {} is too small", path_, args.api->struct_size));
  std::memcpy(&api_, args.api, std::min(sizeof(api_), args.api->struct_size));
  api_.struct_size = sizeof(api_);
  abi_major_ = args.plugin_abi_major;
  abi_minor_ = args.plugin_abi_minor;
}

void Plugin::check_mandatory_slots() {
  std::vector<std::string> missing;
  auto need = [&](const void* slot, const char* name) {
    if (slot == nullptr) missing.emplace_back(name);
  };
#define HXRT_NEED(slot) need(reinterpret_cast<const void*>(api_.slot), #slot)
  HXRT_NEED(identity);
  HXRT_NEED(status_get_code);
  HXRT_NEED(status_get_message);
  HXRT_NEED(status_destroy);
  HXRT_NEED(context_create);
  HXRT_NEED(context_destroy);
  HXRT_NEED(context_get_devices);
  HXRT_NEED(device_get_properties);
  HXRT_NEED(buffer_allocate);
  HXRT_NEED(buffer_destroy);
  HXRT_NEED(stream_create);
  HXRT_NEED(stream_destroy);
  HXRT_NEED(stream_synchronize);
  HXRT_NEED(stream_wait_event);
  HXRT_NEED(event_create);
  HXRT_NEED(event_destroy);
  HXRT_NEED(event_record);
  HXRT_NEED(event_synchronize);
  HXRT_NEED(copy_to_device);
  HXRT_NEED(copy_to_host);
  HXRT_NEED(query_op_support);
  HXRT_NEED(executable_compile);
  HXRT_NEED(executable_destroy);
  HXRT_NEED(executable_execute);
#undef HXRT_NEED
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw Error(HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{}: mandatory function slots are NULL: {}", path_, list));
  }
  const hxrt_plugin_identity* id = api_.identity;
  name_ = id->name != nullptr ? id->name : "";
  version_ = id->version != nullptr ? id->version : "";
  if (name_.empty()) throw Error(HXRT_STATUS_INVALID_ARGUMENT, path_ + ": plugin identity has no name");
}

void Plugin::create_context(const Logger& logger, const std::vector<std::pair<std::string, std::string>>& options) {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : options) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  hxrt_context_create_args args{};
  args.struct_size = sizeof(args);
  args.logger = &Logger::plugin_log;
  args.logger_user_data = const_cast<Logger*>(&logger);
  args.num_options = keys.size();
  args.option_keys = keys.data();
  args.option_values = values.data();
  check(api_.context_create(&args), path_ + ": context_create");
  if (args.context == nullptr) throw Error(HXRT_STATUS_INTERNAL, path_ + ": context_create returned no context");
  context_ = args.context;
}

void Plugin::read_devices() {
  hxrt_context_get_devices_args args{};
  args.struct_size = sizeof(args);
  args.context = context_;
  check(api_.context_get_devices(&args), path_ + ": context_get_devices");
  for (size_t i = 0; i < args.num_devices; ++i) {
    DeviceRecord record;
    record.plugin = this;
    record.handle = args.devices[i];
    record.id = fmt::format("{}:{}", name_, i);
    hxrt_device_properties props{};
    props.struct_size = sizeof(props);
    hxrt_device_get_properties_args pargs{};
    pargs.struct_size = sizeof(pargs);
    pargs.device = record.handle;
    pargs.properties = &props;
    check(api_.device_get_properties(&pargs), record.id + ": device_get_properties");
    record.name = props.name != nullptr ? props.name : record.id;
    record.vendor = props.vendor != nullptr ? props.vendor : "";
    record.kind = props.kind;
    record.memory_bytes = props.memory_bytes;
    record.peak_flops_f32 = props.peak_flops_f32;
    record.memory_bandwidth_bytes_per_s = props.memory_bandwidth_bytes_per_s;
    record.host_addressable = props.host_addressable != 0;
    // Since 1.2 (R4.6); a 1.1 plugin leaves both zero, and so does one without the slot.
    record.can_wrap_host_memory = props.can_wrap_host_memory != 0 && api_.buffer_wrap_host_memory != nullptr;
    record.wrap_host_memory_alignment = props.wrap_host_memory_alignment;
    record.in_place_elementwise = props.in_place_elementwise != 0;
    // Without a cost report, assume a PCIe-class link; the scheduler may re-measure (R6.1).
    hxrt_link_cost fallback{10000.0, 8e9};
    record.transfer_costs = {sizeof(hxrt_transfer_costs), fallback, fallback, fallback, fallback, fallback};
    if (api_.device_get_transfer_costs != nullptr) {
      hxrt_device_get_transfer_costs_args cargs{};
      cargs.struct_size = sizeof(cargs);
      cargs.device = record.handle;
      cargs.costs = &record.transfer_costs;
      check(api_.device_get_transfer_costs(&cargs), record.id + ": device_get_transfer_costs");
    }
    devices_.push_back(std::move(record));
  }
}

}  // namespace hxrt::host
