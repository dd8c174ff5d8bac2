// ABI contract: loading and exports (R1.1), negotiation (R1.2-R1.4), the
// table and identity (R2.5, R9), struct_size handling (R2.3, R2.4), invalid
// arguments (R3.3), status objects (R3.2), destroy functions (R3.1), purity of
// queries (R4.1, R4.2, R5.3), options and contexts (R8.2, R10.3).
#include <elf.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "abi_views.hpp"
#include "groups/common.hpp"
#include "op_runner.hpp"

namespace hxrt::conformance {
namespace {

#define V1_SIZE(type, field) (offsetof(type, field) + sizeof(((type*)nullptr)->field))

// Names of the defined dynamic symbols of an ELF64 shared object.
std::vector<std::string> exported_symbols(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (data.size() < sizeof(Elf64_Ehdr) || std::memcmp(data.data(), ELFMAG, SELFMAG) != 0 ||
      data[EI_CLASS] != ELFCLASS64)
    throw SkipCheck("not an ELF64 file: export check not available");
  auto at = [&](size_t off, size_t len) {
    if (off + len > data.size()) throw std::runtime_error("truncated ELF file");
    return data.data() + off;
  };
  Elf64_Ehdr eh;
  std::memcpy(&eh, at(0, sizeof eh), sizeof eh);
  std::vector<std::string> names;
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, at(eh.e_shoff + i * eh.e_shentsize, sizeof sh), sizeof sh);
    if (sh.sh_type != SHT_DYNSYM) continue;
    Elf64_Shdr str;
    std::memcpy(&str, at(eh.e_shoff + sh.sh_link * eh.e_shentsize, sizeof str), sizeof str);
    for (size_t k = 1; k < sh.sh_size / sizeof(Elf64_Sym); ++k) {
      Elf64_Sym sym;
      std::memcpy(&sym, at(sh.sh_offset + k * sizeof sym, sizeof sym), sizeof sym);
      if (sym.st_shndx == SHN_UNDEF) continue;
      unsigned bind = ELF64_ST_BIND(sym.st_info);
      if (bind == STB_LOCAL) continue;
      if (ELF64_ST_VISIBILITY(sym.st_other) != STV_DEFAULT && ELF64_ST_VISIBILITY(sym.st_other) != STV_PROTECTED)
        continue;
      names.emplace_back(at(str.sh_offset + sym.st_name, 1));
    }
  }
  return names;
}

hxrt_status_code negotiate(const Plugin& p, hxrt_plugin_negotiate_args& a, uint32_t major, uint32_t minor, char* msg,
                           size_t cap) {
  a = {};
  a.struct_size = sizeof(a);
  a.host_abi_major = major;
  a.host_abi_minor = minor;
  a.message = msg;
  a.message_capacity = cap;
  return p.negotiate()(&a);
}

void load_group(GroupContext& g) {
  std::unique_ptr<Plugin> plugin;
  g.check("negotiate", "R1.3", [&](Check& c) {
    std::string error;
    plugin = Plugin::load(g.options.plugin_path, error);
    if (!plugin) {
      c.fail(error);
      return;
    }
    const hxrt_plugin_identity* id = plugin->api()->identity;
    c.note("plugin " + plugin->name() + " " + (id && id->version ? id->version : "?") + " (ABI " +
           std::to_string(plugin->abi_major()) + "." + std::to_string(plugin->abi_minor()) + ") " +
           g.options.plugin_path);
  });
  g.check("exports", "R1.1", [&](Check& c) {
    auto names = exported_symbols(g.options.plugin_path);
    std::vector<std::string> extra;
    bool entry = false;
    for (const auto& n : names) {
      if (n == HXRT_PLUGIN_ENTRY_SYMBOL) entry = true;
      else extra.push_back(n);
    }
    c.expect(entry, "the dynamic symbol table lacks " HXRT_PLUGIN_ENTRY_SYMBOL);
    if (!extra.empty()) {
      std::string list;
      for (size_t i = 0; i < extra.size() && i < 6; ++i) list += (i ? ", " : "") + extra[i];
      c.fail("exports " + std::to_string(extra.size()) + " symbol(s) besides " HXRT_PLUGIN_ENTRY_SYMBOL ": " + list +
             (extra.size() > 6 ? ", ..." : "") +
             " (observed " + std::to_string(names.size()) + " exported symbols, expected 1; hide them, e.g. with a "
             "linker version script)");
    }
  });
}

void negotiation_group(GroupContext& g) {
  auto plugin = load_plugin(g.options);
  const Plugin& p = *plugin;
  const uint32_t minor = p.abi_minor();
  g.check("null_args", "R1.3", [&](Check& c) {
    hxrt_status_code code = p.negotiate()(nullptr);
    c.expect(code == HXRT_STATUS_INVALID_ARGUMENT, std::string("negotiate(NULL): observed ") + status_code_name(code) +
                                                       ", expected INVALID_ARGUMENT");
  });
  g.check("small_struct", "R1.3", [&](Check& c) {
    for (size_t size : {size_t{0}, V1_SIZE(hxrt_plugin_negotiate_args, message_capacity) - 1}) {
      hxrt_plugin_negotiate_args a{};
      a.struct_size = size;
      a.host_abi_major = HXRT_ABI_VERSION_MAJOR;
      hxrt_status_code code = p.negotiate()(&a);
      c.expect(code == HXRT_STATUS_INVALID_ARGUMENT, "struct_size " + std::to_string(size) + ": observed " +
                                                         status_code_name(code) + ", expected INVALID_ARGUMENT");
      c.expect(a.api == nullptr, "struct_size " + std::to_string(size) + ": api written on refusal");
    }
  });
  g.check("same_version", "R1.3", [&](Check& c) {
    char msg[64];
    std::memset(msg, 'x', sizeof msg);
    hxrt_plugin_negotiate_args a;
    hxrt_status_code code = negotiate(p, a, HXRT_ABI_VERSION_MAJOR, HXRT_ABI_VERSION_MINOR, msg, sizeof msg);
    c.expect(code == HXRT_STATUS_OK, std::string("observed ") + status_code_name(code) + ", expected OK");
    c.expect(a.api != nullptr, "api is NULL on OK");
    c.expect(a.plugin_abi_major == HXRT_ABI_VERSION_MAJOR, "plugin_abi_major " + std::to_string(a.plugin_abi_major));
    c.expect(msg[0] == '\0', "message not set to \"\" on OK (observed first byte '" + std::string(1, msg[0]) + "')");
  });
  g.check("host_newer_minor", "R1.4", [&](Check& c) {
    hxrt_plugin_negotiate_args a;
    char msg[64] = {0};
    hxrt_status_code code = negotiate(p, a, HXRT_ABI_VERSION_MAJOR, minor + 7, msg, sizeof msg);
    c.expect(code == HXRT_STATUS_OK, "host 1." + std::to_string(minor + 7) + ": observed " + status_code_name(code) +
                                         " (" + msg + "), expected OK: a plugin never refuses a newer minor");
    c.expect(a.plugin_abi_major == HXRT_ABI_VERSION_MAJOR && a.plugin_abi_minor == minor,
             "answered " + std::to_string(a.plugin_abi_major) + "." + std::to_string(a.plugin_abi_minor) +
                 ", expected its own version 1." + std::to_string(minor));
    c.expect(a.api == p.api(), "a different table than for the first negotiation");
  });
  g.check("host_older_minor", "R1.4", [&](Check& c) {
    hxrt_plugin_negotiate_args a;
    char msg[64] = {0};
    hxrt_status_code code = negotiate(p, a, HXRT_ABI_VERSION_MAJOR, 0, msg, sizeof msg);
    c.expect(code == HXRT_STATUS_OK, std::string("host 1.0: observed ") + status_code_name(code) + " (" + msg +
                                         "), expected OK");
    c.expect(a.plugin_abi_minor == minor, "answered minor " + std::to_string(a.plugin_abi_minor) +
                                              " to host 1.0, expected its own " + std::to_string(minor));
  });
  g.check("major_mismatch", "R1.3", [&](Check& c) {
    for (uint32_t major : {HXRT_ABI_VERSION_MAJOR + 1, HXRT_ABI_VERSION_MAJOR - 1}) {
      char msg[256];
      std::memset(msg, 'x', sizeof msg);
      hxrt_plugin_negotiate_args a;
      hxrt_status_code code = negotiate(p, a, major, 3, msg, sizeof msg);
      std::string host = std::to_string(major) + ".3";
      if (!c.expect(code == HXRT_STATUS_VERSION_MISMATCH, "host " + host + ": observed " + status_code_name(code) +
                                                              ", expected VERSION_MISMATCH"))
        continue;
      c.expect(a.api == nullptr, "host " + host + ": api not NULL on refusal");
      c.expect(a.plugin_abi_major == HXRT_ABI_VERSION_MAJOR && a.plugin_abi_minor == minor,
               "host " + host + ": plugin_abi_major/minor not written on refusal");
      bool terminated = std::memchr(msg, '\0', sizeof msg) != nullptr;
      if (!c.expect(terminated, "host " + host + ": message not NUL-terminated")) continue;
      std::string m = msg;
      std::string ours = std::to_string(HXRT_ABI_VERSION_MAJOR) + "." + std::to_string(minor);
      c.expect(m.find(host) != std::string::npos && m.find(ours) != std::string::npos,
               "host " + host + ": message '" + m + "' must name both versions (" + host + " and " + ours + ")");
    }
  });
  g.check("message_truncation", "R1.3", [&](Check& c) {
    char msg[16];
    std::memset(msg, 'x', sizeof msg);
    hxrt_plugin_negotiate_args a;
    negotiate(p, a, HXRT_ABI_VERSION_MAJOR + 1, 0, msg, 5);
    c.expect(std::memchr(msg, '\0', 5) != nullptr, "message of capacity 5 not NUL-terminated within 5 bytes");
    for (size_t i = 5; i < sizeof msg; ++i)
      if (msg[i] != 'x') {
        c.fail("wrote past message_capacity (byte " + std::to_string(i) + ")");
        break;
      }
    hxrt_plugin_negotiate_args b;
    hxrt_status_code code = negotiate(p, b, HXRT_ABI_VERSION_MAJOR + 1, 0, nullptr, 0);
    c.expect(code == HXRT_STATUS_VERSION_MISMATCH, "message NULL: observed " + std::string(status_code_name(code)));
  });
  g.check("larger_struct", "R2.3", [&](Check& c) {
    struct {
      hxrt_plugin_negotiate_args a;
      unsigned char extra[64];
    } big{};
    big.a.struct_size = sizeof(big);
    big.a.host_abi_major = HXRT_ABI_VERSION_MAJOR;
    big.a.host_abi_minor = HXRT_ABI_VERSION_MINOR + 1;
    hxrt_status_code code = p.negotiate()(&big.a);
    c.expect(code == HXRT_STATUS_OK, std::string("struct_size larger than 1.0: observed ") + status_code_name(code));
    for (unsigned char b : big.extra)
      if (b != 0) {
        c.fail("wrote into bytes beyond the fields it knows");
        break;
      }
  });
  g.check("repeatable", "R1.2", [&](Check& c) {
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 200; ++i) {
          hxrt_plugin_negotiate_args a;
          char msg[64];
          if (negotiate(p, a, HXRT_ABI_VERSION_MAJOR, HXRT_ABI_VERSION_MINOR, msg, sizeof msg) != HXRT_STATUS_OK ||
              a.api != p.api() || a.plugin_abi_minor != minor)
            ++bad;
        }
      });
    for (auto& t : threads) t.join();
    c.expect(bad == 0, std::to_string(bad.load()) + " of 800 concurrent negotiations gave another answer or table");
  });
  g.check("table", "R2.5", [&](Check& c) {
    const hxrt_plugin_api* api = p.api();
    c.expect(api->struct_size >= V1_SIZE(hxrt_plugin_api, executable_execute),
             "table struct_size " + std::to_string(api->struct_size) + " is below the 1.0 size " +
                 std::to_string(V1_SIZE(hxrt_plugin_api, executable_execute)));
    c.expect(api->abi_major == p.abi_major() && api->abi_minor == p.abi_minor(),
             "api->abi_major/minor " + std::to_string(api->abi_major) + "." + std::to_string(api->abi_minor) +
                 " differ from the negotiated version (R1.3)");
    struct Slot {
      const char* name;
      const void* fn;
    };
    const Slot mandatory[] = {
        {"identity", api->identity},
        {"status_get_code", reinterpret_cast<const void*>(api->status_get_code)},
        {"status_get_message", reinterpret_cast<const void*>(api->status_get_message)},
        {"status_destroy", reinterpret_cast<const void*>(api->status_destroy)},
        {"context_create", reinterpret_cast<const void*>(api->context_create)},
        {"context_destroy", reinterpret_cast<const void*>(api->context_destroy)},
        {"context_get_devices", reinterpret_cast<const void*>(api->context_get_devices)},
        {"device_get_properties", reinterpret_cast<const void*>(api->device_get_properties)},
        {"buffer_allocate", reinterpret_cast<const void*>(api->buffer_allocate)},
        {"buffer_destroy", reinterpret_cast<const void*>(api->buffer_destroy)},
        {"stream_create", reinterpret_cast<const void*>(api->stream_create)},
        {"stream_destroy", reinterpret_cast<const void*>(api->stream_destroy)},
        {"stream_synchronize", reinterpret_cast<const void*>(api->stream_synchronize)},
        {"stream_wait_event", reinterpret_cast<const void*>(api->stream_wait_event)},
        {"event_create", reinterpret_cast<const void*>(api->event_create)},
        {"event_destroy", reinterpret_cast<const void*>(api->event_destroy)},
        {"event_record", reinterpret_cast<const void*>(api->event_record)},
        {"event_synchronize", reinterpret_cast<const void*>(api->event_synchronize)},
        {"copy_to_device", reinterpret_cast<const void*>(api->copy_to_device)},
        {"copy_to_host", reinterpret_cast<const void*>(api->copy_to_host)},
        {"query_op_support", reinterpret_cast<const void*>(api->query_op_support)},
        {"executable_compile", reinterpret_cast<const void*>(api->executable_compile)},
        {"executable_destroy", reinterpret_cast<const void*>(api->executable_destroy)},
        {"executable_execute", reinterpret_cast<const void*>(api->executable_execute)},
    };
    std::string missing;
    for (const auto& s : mandatory)
      if (s.fn == nullptr) missing += std::string(missing.empty() ? "" : ", ") + s.name;
    c.expect(missing.empty(), "mandatory slots are NULL: " + missing);
    std::string optional;
    if (!HXRT_CONF_HAS(p, device_get_transfer_costs)) optional += " device_get_transfer_costs";
    if (!HXRT_CONF_HAS(p, buffer_get_host_pointer)) optional += " buffer_get_host_pointer";
    if (!HXRT_CONF_HAS(p, event_query)) optional += " event_query";
    if (!HXRT_CONF_HAS(p, copy_on_device)) optional += " copy_on_device";
    if (!HXRT_CONF_HAS(p, claim_subgraph)) optional += " claim_subgraph";
    if (!HXRT_CONF_HAS(p, buffer_wrap_host_memory)) optional += " buffer_wrap_host_memory";
    if (!optional.empty()) c.note("optional slots not offered:" + optional);
  });
  g.check("identity", "R9", [&](Check& c) {
    const hxrt_plugin_identity* id = p.api()->identity;
    if (!c.expect(id != nullptr, "identity is NULL")) return;
    c.expect(id->struct_size >= V1_SIZE(hxrt_plugin_identity, build_property_values),
             "identity struct_size " + std::to_string(id->struct_size) + " below the 1.0 size");
    c.expect(id->abi_major == p.abi_major() && id->abi_minor == p.abi_minor(),
             "identity ABI " + std::to_string(id->abi_major) + "." + std::to_string(id->abi_minor) +
                 " differs from the negotiated version");
    std::string name = id->name ? id->name : "";
    c.expect(std::regex_match(name, std::regex("[a-z0-9_-]+")), "name '" + name + "' is not [a-z0-9_-]+");
    std::string file = g.options.plugin_path.substr(g.options.plugin_path.find_last_of('/') + 1);
    c.expect(file == "libhxrt_" + name + ".so", "file " + file + " should be libhxrt_" + name + ".so (R1.1)");
    std::string version = id->version ? id->version : "";
    c.expect(std::regex_match(version, std::regex("[0-9]+\\.[0-9]+\\.[0-9]+.*")),
             "version '" + version + "' is not MAJOR.MINOR.PATCH");
    std::set<std::string> keys;
    for (size_t i = 0; i < id->num_build_properties; ++i) {
      const char* k = id->build_property_keys ? id->build_property_keys[i] : nullptr;
      const char* v = id->build_property_values ? id->build_property_values[i] : nullptr;
      if (!c.expect(k != nullptr && v != nullptr, "build property " + std::to_string(i) + " is NULL")) break;
      c.expect(keys.insert(k).second, std::string("build property key '") + k + "' repeats");
    }
  });
}

// Zero-filled args struct of type T with struct_size = `size`, followed by
// zero padding so a larger size is readable.
template <typename T>
struct Padded {
  T args{};
  unsigned char extra[64] = {};
  explicit Padded(size_t size) { args.struct_size = size; }
};

void contract_group(GroupContext& g) {
  auto plugin = load_plugin(g.options);
  const Plugin& p = *plugin;
  const hxrt_plugin_api* api = p.api();

  g.check("status.null_safe", "R3.2", [&](Check& c) {
    c.expect(api->status_get_code(nullptr) == HXRT_STATUS_OK, "status_get_code(NULL) is not OK");
    const char* m = api->status_get_message(nullptr);
    c.expect(m != nullptr && m[0] == '\0', "status_get_message(NULL) is not \"\"");
    api->status_destroy(nullptr);
  });
  g.check("destroy_null", "R3.1", [&](Check&) {
    api->context_destroy(nullptr);
    api->buffer_destroy(nullptr);
    api->stream_destroy(nullptr);
    api->event_destroy(nullptr);
    api->executable_destroy(nullptr);
  });
  g.check("context.null_args", "R3.3", [&](Check& c) {
    expect_code(c, Status(api, api->context_create(nullptr)), HXRT_STATUS_INVALID_ARGUMENT, "context_create(NULL)");
    expect_code(c, Status(api, api->context_get_devices(nullptr)), HXRT_STATUS_INVALID_ARGUMENT,
                "context_get_devices(NULL)");
    Padded<hxrt_context_create_args> zero(0);
    expect_code(c, Status(api, api->context_create(&zero.args)), HXRT_STATUS_INVALID_ARGUMENT,
                "context_create(struct_size 0)");
    if (zero.args.context != nullptr) api->context_destroy(zero.args.context);
    Padded<hxrt_context_get_devices_args> dev(sizeof(hxrt_context_get_devices_args));
    expect_code(c, Status(api, api->context_get_devices(&dev.args)), HXRT_STATUS_INVALID_ARGUMENT,
                "context_get_devices(context NULL)");
  });
  g.check("context.options", "R8.2", [&](Check& c) {
    const char* keys[] = {"hxrt_conformance_unknown_option"};
    const char* values[] = {"1"};
    LogSink sink;
    hxrt_context_create_args a{};
    a.struct_size = sizeof(a);
    a.logger = &LogSink::callback;
    a.logger_user_data = &sink;
    a.num_options = 1;
    a.option_keys = keys;
    a.option_values = values;
    Status s(api, api->context_create(&a));
    if (!c.expect(s.ok(), "an unknown option key must be ignored, not an error: observed " + s.describe())) return;
    bool warned = false;
    {
      std::lock_guard<std::mutex> lock(sink.mutex);
      for (const auto& [level, text] : sink.messages)
        if (level == HXRT_LOG_WARNING && text.find(keys[0]) != std::string::npos) warned = true;
    }
    api->context_destroy(a.context);
    c.expect(warned, "no WARNING log naming the unknown option key");
  });
  g.check("context.null_logger_and_two_contexts", "R10.3", [&](Check& c) {
    hxrt_context_create_args a{}, b{};
    a.struct_size = b.struct_size = sizeof(a);
    Status sa(api, api->context_create(&a));
    Status sb(api, api->context_create(&b));
    c.expect(sa.ok() && sb.ok(), "two contexts with NULL loggers: " + sa.describe() + " / " + sb.describe());
    if (sa.ok() && sb.ok()) c.expect(a.context != b.context, "both contexts have the same handle");
    if (sa.ok()) api->context_destroy(a.context);
    if (sb.ok()) api->context_destroy(b.context);
  });

  Context context(p);
  auto devices = selected_devices(g, context);
  if (context.devices().empty()) return;  // device checks need a device
  for (size_t d : devices) {
    Device dev(context, d);
    hxrt_device* h = dev.handle();
    int di = static_cast<int>(d);

    g.check("devices.stable", "R4.1", [&](Check& c) {
      for (int i = 0; i < 3; ++i) {
        hxrt_context_get_devices_args a{};
        a.struct_size = sizeof(a);
        a.context = context.handle();
        must(Status(api, api->context_get_devices(&a)), "context_get_devices");
        std::vector<hxrt_device*> again(a.devices, a.devices + a.num_devices);
        c.expect(again == context.devices(), "context_get_devices gave another list on call " + std::to_string(i + 2));
      }
    }, di);
    g.check("properties", "R4.2", [&](Check& c) {
      hxrt_device_properties a = context.properties(d), b = context.properties(d);
      c.expect(a.name && a.vendor && a.driver_version, "name, vendor or driver_version is NULL");
      if (a.name && b.name) c.expect(std::string(a.name) == b.name, "name differs between calls");
      c.expect(a.memory_bytes == b.memory_bytes && a.kind == b.kind && a.host_addressable == b.host_addressable &&
                   a.compute_units == b.compute_units,
               "properties differ between calls");
      c.expect(a.struct_size == sizeof(a), "struct_size overwritten: " + std::to_string(a.struct_size));
      c.expect(std::isfinite(a.peak_flops_f32) && a.peak_flops_f32 >= 0 &&
                   std::isfinite(a.memory_bandwidth_bytes_per_s) && a.memory_bandwidth_bytes_per_s >= 0,
               "peak_flops_f32 / memory_bandwidth hints must be finite and >= 0");
      c.note(std::string(a.name ? a.name : "?") + ", " + std::to_string(a.memory_bytes >> 20) + " MiB, host_addressable " +
             std::to_string(a.host_addressable));
    }, di);
    g.check("properties.small_struct", "R2.4", [&](Check& c) {
      // A caller that knows only up to driver_version: compute_units must stay untouched.
      hxrt_device_properties props;
      std::memset(&props, 0, sizeof props);
      props.struct_size = V1_SIZE(hxrt_device_properties, driver_version);
      props.compute_units = 0xC0FFEEu;
      hxrt_device_get_properties_args a{};
      a.struct_size = sizeof(a);
      a.device = h;
      a.properties = &props;
      Status s(api, api->device_get_properties(&a));
      if (!c.expect(s.ok(), "a smaller properties struct must be filled as far as it goes: " + s.describe())) return;
      c.expect(props.compute_units == 0xC0FFEEu, "wrote compute_units beyond the caller's struct_size");
      c.expect(props.struct_size == V1_SIZE(hxrt_device_properties, driver_version), "struct_size overwritten");
      c.expect(props.name != nullptr, "name not written into the smaller struct");
      if (HXRT_CONF_HAS(p, device_get_transfer_costs)) {
        hxrt_transfer_costs costs;
        std::memset(&costs, 0, sizeof costs);
        costs.struct_size = V1_SIZE(hxrt_transfer_costs, device_to_host_pinned);
        costs.device_to_device.latency_ns = 12345.0;
        hxrt_device_get_transfer_costs_args t{};
        t.struct_size = sizeof(t);
        t.device = h;
        t.costs = &costs;
        Status st(api, api->device_get_transfer_costs(&t));
        if (c.expect(st.ok(), "smaller transfer costs struct: " + st.describe()))
          c.expect(costs.device_to_device.latency_ns == 12345.0, "wrote device_to_device beyond struct_size");
      }
    }, di);
    g.check("null_args", "R3.3", [&](Check& c) {
      // Every fallible slot that takes an args struct, with NULL; optional slots when offered.
#define CONF_NULL_ARG(slot)                                                                                   \
  if (HXRT_CONF_HAS(p, slot))                                                                                 \
    expect_code(c, Status(api, api->slot(nullptr)), HXRT_STATUS_INVALID_ARGUMENT, #slot "(NULL)");
      CONF_NULL_ARG(device_get_properties) CONF_NULL_ARG(buffer_allocate) CONF_NULL_ARG(stream_create)
      CONF_NULL_ARG(stream_synchronize) CONF_NULL_ARG(stream_wait_event) CONF_NULL_ARG(event_create)
      CONF_NULL_ARG(event_record) CONF_NULL_ARG(event_synchronize) CONF_NULL_ARG(copy_to_device)
      CONF_NULL_ARG(copy_to_host) CONF_NULL_ARG(query_op_support) CONF_NULL_ARG(executable_compile)
      CONF_NULL_ARG(executable_execute) CONF_NULL_ARG(device_get_transfer_costs) CONF_NULL_ARG(buffer_get_host_pointer)
      CONF_NULL_ARG(event_query) CONF_NULL_ARG(copy_on_device) CONF_NULL_ARG(claim_subgraph)
      CONF_NULL_ARG(buffer_wrap_host_memory)
#undef CONF_NULL_ARG
    }, di);
    g.check("null_handles", "R3.3", [&](Check& c) {
      Stream stream = dev.must_stream();
      Buffer buf = dev.must_allocate(64);
      uint8_t host[8] = {0};
      expect_code(c, Status(api, [&] {
                    hxrt_buffer_allocate_args a{};
                    a.struct_size = sizeof(a);
                    a.size_bytes = 16;
                    return api->buffer_allocate(&a);
                  }()),
                  HXRT_STATUS_INVALID_ARGUMENT, "buffer_allocate(device NULL)");
      expect_code(c, Status(api, [&] {
                    hxrt_stream_create_args a{};
                    a.struct_size = sizeof(a);
                    return api->stream_create(&a);
                  }()),
                  HXRT_STATUS_INVALID_ARGUMENT, "stream_create(device NULL)");
      expect_code(c, Status(api, [&] {
                    hxrt_event_create_args a{};
                    a.struct_size = sizeof(a);
                    return api->event_create(&a);
                  }()),
                  HXRT_STATUS_INVALID_ARGUMENT, "event_create(device NULL)");
      expect_code(c, dev.copy_to_device(nullptr, host, buf.get(), 0, 8), HXRT_STATUS_INVALID_ARGUMENT, "copy_to_device(stream NULL)");
      expect_code(c, dev.copy_to_device(stream.get(), host, nullptr, 0, 8), HXRT_STATUS_INVALID_ARGUMENT, "copy_to_device(dst NULL)");
      expect_code(c, dev.copy_to_device(stream.get(), nullptr, buf.get(), 0, 8), HXRT_STATUS_INVALID_ARGUMENT, "copy_to_device(src NULL, 8 bytes)");
      expect_code(c, dev.copy_to_host(stream.get(), nullptr, 0, host, 8), HXRT_STATUS_INVALID_ARGUMENT, "copy_to_host(src NULL)");
      expect_code(c, dev.copy_to_host(stream.get(), buf.get(), 0, nullptr, 8), HXRT_STATUS_INVALID_ARGUMENT, "copy_to_host(dst NULL, 8 bytes)");
      expect_code(c, dev.record(nullptr, stream.get()), HXRT_STATUS_INVALID_ARGUMENT, "event_record(event NULL)");
      Event ev = dev.must_event();
      expect_code(c, dev.record(ev.get(), nullptr), HXRT_STATUS_INVALID_ARGUMENT, "event_record(stream NULL)");
      expect_code(c, dev.wait(nullptr, ev.get()), HXRT_STATUS_INVALID_ARGUMENT, "stream_wait_event(stream NULL)");
      expect_code(c, dev.wait(stream.get(), nullptr), HXRT_STATUS_INVALID_ARGUMENT, "stream_wait_event(event NULL)");
      {
        hxrt_query_op_support_args a{};
        a.struct_size = sizeof(a);
        a.device = h;
        expect_code(c, Status(api, api->query_op_support(&a)), HXRT_STATUS_INVALID_ARGUMENT, "query_op_support(node NULL)");
        host::Graph graph = build_graph(simple_case("Relu"));
        host::NodeView view(graph, graph.nodes[0]);
        a.node = view.desc();
        a.device = nullptr;
        expect_code(c, Status(api, api->query_op_support(&a)), HXRT_STATUS_INVALID_ARGUMENT, "query_op_support(device NULL)");
      }
      Executable none;
      expect_code(c, dev.compile(nullptr, none), HXRT_STATUS_INVALID_ARGUMENT, "executable_compile(graph NULL)");
      must(dev.synchronize(stream.get()), "stream_synchronize");
    }, di);
    g.check("struct_size.too_small", "R2.3", [&](Check& c) {
      Stream stream = dev.must_stream();
      Buffer buf = dev.must_allocate(64);
      uint8_t host[8] = {0};
      host::Graph graph = build_graph(simple_case("Relu"));
      host::NodeView view(graph, graph.nodes[0]);
      host::SubgraphView sub(graph, {0}, true);
      // Each call with struct_size 0 and with its 1.0 size minus one; all other fields valid.
      for (int variant = 0; variant < 2; ++variant) {
        auto size = [&](size_t v1) { return variant == 0 ? size_t{0} : v1 - 1; };
        std::string tag = variant == 0 ? " (struct_size 0)" : " (1.0 size - 1)";
        {
          Padded<hxrt_buffer_allocate_args> a(size(V1_SIZE(hxrt_buffer_allocate_args, buffer)));
          a.args.device = h;
          a.args.size_bytes = 16;
          Status s(api, api->buffer_allocate(&a.args));
          expect_code(c, s, HXRT_STATUS_INVALID_ARGUMENT, "buffer_allocate" + tag);
          if (s.ok() && a.args.buffer) api->buffer_destroy(a.args.buffer);
        }
        {
          Padded<hxrt_stream_create_args> a(size(V1_SIZE(hxrt_stream_create_args, stream)));
          a.args.device = h;
          Status s(api, api->stream_create(&a.args));
          expect_code(c, s, HXRT_STATUS_INVALID_ARGUMENT, "stream_create" + tag);
          if (s.ok() && a.args.stream) api->stream_destroy(a.args.stream);
        }
        {
          Padded<hxrt_event_create_args> a(size(V1_SIZE(hxrt_event_create_args, event)));
          a.args.device = h;
          Status s(api, api->event_create(&a.args));
          expect_code(c, s, HXRT_STATUS_INVALID_ARGUMENT, "event_create" + tag);
          if (s.ok() && a.args.event) api->event_destroy(a.args.event);
        }
        {
          Padded<hxrt_copy_to_device_args> a(size(V1_SIZE(hxrt_copy_to_device_args, size_bytes)));
          a.args.stream = stream.get();
          a.args.src = host;
          a.args.dst = buf.get();
          a.args.size_bytes = 8;
          expect_code(c, Status(api, api->copy_to_device(&a.args)), HXRT_STATUS_INVALID_ARGUMENT, "copy_to_device" + tag);
        }
        {
          Padded<hxrt_copy_to_host_args> a(size(V1_SIZE(hxrt_copy_to_host_args, size_bytes)));
          a.args.stream = stream.get();
          a.args.src = buf.get();
          a.args.dst = host;
          a.args.size_bytes = 8;
          expect_code(c, Status(api, api->copy_to_host(&a.args)), HXRT_STATUS_INVALID_ARGUMENT, "copy_to_host" + tag);
        }
        {
          Padded<hxrt_device_get_properties_args> a(size(V1_SIZE(hxrt_device_get_properties_args, properties)));
          hxrt_device_properties props{};
          props.struct_size = sizeof(props);
          a.args.device = h;
          a.args.properties = &props;
          expect_code(c, Status(api, api->device_get_properties(&a.args)), HXRT_STATUS_INVALID_ARGUMENT,
                      "device_get_properties" + tag);
        }
        {
          Padded<hxrt_query_op_support_args> a(size(V1_SIZE(hxrt_query_op_support_args, reason_message_capacity)));
          a.args.device = h;
          a.args.node = view.desc();
          expect_code(c, Status(api, api->query_op_support(&a.args)), HXRT_STATUS_INVALID_ARGUMENT,
                      "query_op_support" + tag);
        }
        {
          Padded<hxrt_executable_compile_args> a(size(V1_SIZE(hxrt_executable_compile_args, executable)));
          a.args.device = h;
          a.args.graph = sub.desc();
          Status s(api, api->executable_compile(&a.args));
          expect_code(c, s, HXRT_STATUS_INVALID_ARGUMENT, "executable_compile" + tag);
          if (s.ok() && a.args.executable) api->executable_destroy(a.args.executable);
        }
        {
          // The descriptors too: a node whose struct_size is too small.
          hxrt_node_desc node = *view.desc();
          node.struct_size = size(V1_SIZE(hxrt_node_desc, outputs));
          hxrt_query_op_support_args a{};
          a.struct_size = sizeof(a);
          a.device = h;
          a.node = &node;
          expect_code(c, Status(api, api->query_op_support(&a)), HXRT_STATUS_INVALID_ARGUMENT,
                      "query_op_support(hxrt_node_desc" + tag + ")");
        }
      }
      must(dev.synchronize(stream.get()), "stream_synchronize");
    }, di);
    g.check("struct_size.larger", "R2.3", [&](Check& c) {
      // A newer host's structs are larger; the extra bytes are zero and ignored (R1.4).
      Padded<hxrt_buffer_allocate_args> a(sizeof(Padded<hxrt_buffer_allocate_args>));
      a.args.device = h;
      a.args.size_bytes = 32;
      Status s(api, api->buffer_allocate(&a.args));
      if (!c.expect(s.ok(), "buffer_allocate with a larger struct: " + s.describe())) return;
      Buffer buf(api, a.args.buffer);
      Padded<hxrt_stream_create_args> sc(sizeof(Padded<hxrt_stream_create_args>));
      sc.args.device = h;
      Status ss(api, api->stream_create(&sc.args));
      if (!c.expect(ss.ok(), "stream_create with a larger struct: " + ss.describe())) return;
      Stream stream(api, sc.args.stream);
      std::vector<uint8_t> in = pattern(32, 7), out(32, 0);
      Padded<hxrt_copy_to_device_args> cd(sizeof(Padded<hxrt_copy_to_device_args>));
      cd.args.stream = stream.get();
      cd.args.src = in.data();
      cd.args.dst = buf.get();
      cd.args.size_bytes = 32;
      Status s1(api, api->copy_to_device(&cd.args));
      c.expect(s1.ok(), "copy_to_device with a larger struct: " + s1.describe());
      Padded<hxrt_copy_to_host_args> ch(sizeof(Padded<hxrt_copy_to_host_args>));
      ch.args.stream = stream.get();
      ch.args.src = buf.get();
      ch.args.dst = out.data();
      ch.args.size_bytes = 32;
      Status s2(api, api->copy_to_host(&ch.args));
      c.expect(s2.ok(), "copy_to_host with a larger struct: " + s2.describe());
      must(dev.synchronize(stream.get()), "stream_synchronize");
      if (s1.ok() && s2.ok()) {
        std::string diff = compare_bytes(out.data(), in.data(), 32);
        c.expect(diff.empty(), "round trip with larger structs: " + diff);
      }
      host::Graph graph = build_graph(simple_case("Relu"));
      host::NodeView view(graph, graph.nodes[0]);
      Padded<hxrt_query_op_support_args> q(sizeof(Padded<hxrt_query_op_support_args>));
      q.args.device = h;
      q.args.node = view.desc();
      Status s3(api, api->query_op_support(&q.args));
      c.expect(s3.ok(), "query_op_support with a larger struct: " + s3.describe());
    }, di);
    g.check("status.objects", "R3.2", [&](Check& c) {
      // Provoke failures and inspect their status objects, then destroy one on
      // another thread after its context is gone.
      std::vector<Status> statuses;
      statuses.emplace_back(api, api->buffer_allocate(nullptr));
      statuses.push_back(dev.copy_to_host(nullptr, nullptr, 0, nullptr, 1));
      Buffer small = dev.must_allocate(4);
      Stream stream = dev.must_stream();
      uint8_t host[16];
      statuses.push_back(dev.copy_to_host(stream.get(), small.get(), 0, host, 16));
      for (size_t i = 0; i < statuses.size(); ++i) {
        const Status& s = statuses[i];
        std::string tag = "failure " + std::to_string(i + 1) + ": ";
        if (!c.expect(!s.ok(), tag + "reported as success (NULL status)")) continue;
        c.expect(s.code() != HXRT_STATUS_OK, tag + "status object carries code OK");
        std::string m = s.message();
        c.expect(!m.empty(), tag + "empty message");
        c.expect(m.empty() || (m.back() != '\n' && m.back() != '\r'), tag + "message ends with a newline");
      }
      must(dev.synchronize(stream.get()), "stream_synchronize");
      Context other(p);
      hxrt_buffer_allocate_args bad{};
      bad.struct_size = sizeof(bad);
      hxrt_plugin_status* orphan = api->buffer_allocate(&bad);  // device NULL
      (void)other;
      std::thread([&] { api->status_destroy(orphan); }).join();
    }, di);
    g.check("query.pure", "R5.3", [&](Check& c) {
      for (const char* op : {"Relu", "Add", "Mul"}) {
        host::Graph graph = build_graph(simple_case(op));
        host::NodeView view(graph, graph.nodes[0]);
        QueryAnswer a, b;
        Status s1 = query(dev, view.desc(), a), s2 = query(dev, view.desc(), b);
        if (!c.expect(s1.ok() && s2.ok(), std::string(op) + ": query_op_support failed: " + s1.describe())) continue;
        c.expect(a.supported == b.supported && a.reason == b.reason && a.estimated_ns == b.estimated_ns &&
                     a.message == b.message,
                 std::string(op) + ": two queries of the same node differ: " + a.describe() + " est " +
                     std::to_string(a.estimated_ns) + " vs " + b.describe() + " est " + std::to_string(b.estimated_ns));
      }
    }, di);
    g.check("objects.destroyable", "R3.1", [&](Check& c) {
      // One of each object, destroyed children first, many times over.
      for (int i = 0; i < 20; ++i) {
        Buffer b = dev.must_allocate(128);
        Stream s = dev.must_stream();
        Event e = dev.must_event();
        must(dev.record(e.get(), s.get()), "event_record");
        must(dev.synchronize(s.get()), "stream_synchronize");
        host::Graph graph = build_graph(simple_case("Relu"));
        QueryAnswer q;
        host::NodeView view(graph, graph.nodes[0]);
        if (query(dev, view.desc(), q).ok() && q.supported) {
          host::SubgraphView sub(graph, {0}, true);
          Executable x;
          Status st = dev.compile(sub.desc(), x);
          if (!c.expect(st.ok(), "compiling a claimed Relu: " + st.describe())) return;
        }
      }
      Context extra(p);  // created and destroyed with nothing left in it
    }, di);
  }
}

}  // namespace

void add_abi_groups(std::vector<GroupInfo>& groups) {
  groups.push_back({"abi", "abi.load", Profile::kCore, "dlopen, negotiation as host 1.x, exported symbols",
                    "R1.1 R1.3", load_group});
  groups.push_back({"abi", "abi.negotiation", Profile::kCore,
                    "negotiation both ways, major mismatch, struct sizes, table, identity",
                    "R1.2 R1.3 R1.4 R2.3 R2.5 R9", negotiation_group});
  groups.push_back({"abi", "abi.contract", Profile::kCore,
                    "NULL/invalid arguments, struct_size smaller and larger, status objects, destroy, purity, options",
                    "R2.3 R2.4 R3.1 R3.2 R3.3 R4.1 R4.2 R5.3 R8.2 R10.3", contract_group});
}

}  // namespace hxrt::conformance
