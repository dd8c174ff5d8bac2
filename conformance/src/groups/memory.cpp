// Memory and transfers: allocation sizes and limits (R4.3), host pointers
// (R4.5), bit-exact copies at unaligned offsets and sizes, bounds (R7.6),
// pinned buffers, event-ordered copies, leaks, and the transfer cost model (R6.1).
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "groups/common.hpp"

namespace hxrt::conformance {
namespace {

// Writes `background` over the whole buffer, then `piece` at `offset`, reads
// the whole buffer back and compares with what it must hold now.
std::string overlay_roundtrip(const Device& dev, hxrt_stream* s, hxrt_buffer* buf, size_t buf_size, size_t offset,
                              size_t size, uint32_t seed) {
  std::vector<uint8_t> background = pattern(buf_size, seed), piece = pattern(size, seed + 1000), out(buf_size, 0);
  must(dev.copy_to_device(s, background.data(), buf, 0, buf_size), "copy_to_device (whole buffer)");
  Status st = dev.copy_to_device(s, piece.data(), buf, offset, size);
  if (!st.ok()) return "copy_to_device of " + std::to_string(size) + " bytes at offset " + std::to_string(offset) + ": " + st.describe();
  // And read the piece back at its own offset too, into a separate host buffer.
  std::vector<uint8_t> back(size, 0);
  st = dev.copy_to_host(s, buf, offset, back.data(), size);
  if (!st.ok()) return "copy_to_host of " + std::to_string(size) + " bytes at offset " + std::to_string(offset) + ": " + st.describe();
  must(dev.copy_to_host(s, buf, 0, out.data(), buf_size), "copy_to_host (whole buffer)");
  must(dev.synchronize(s), "stream_synchronize");
  std::memcpy(background.data() + offset, piece.data(), size);
  std::string diff = compare_bytes(out.data(), background.data(), buf_size);
  if (!diff.empty()) return "after writing " + std::to_string(size) + " bytes at offset " + std::to_string(offset) + ", whole buffer " + diff;
  diff = compare_bytes(back.data(), piece.data(), size);
  if (!diff.empty()) return "reading " + std::to_string(size) + " bytes at offset " + std::to_string(offset) + ": " + diff;
  return "";
}

const std::vector<std::pair<size_t, size_t>>& unaligned_cases() {
  // (offset, size): odd offsets and sizes around alignment boundaries.
  static const std::vector<std::pair<size_t, size_t>> cases = {
      {0, 1}, {1, 1}, {3, 5}, {7, 13}, {1, 63}, {63, 65}, {64, 64}, {65, 127}, {5, 1000}, {1, 4095}, {4097, 3}, {0, 4099}};
  return cases;
}

void memory_group(GroupContext& g) {
  for_each_device(g, [&](const Plugin& loaded, Device& dev, int di) {
    const Plugin* plugin = &loaded;
    const hxrt_plugin_api* api = loaded.api();
    (void)api;
    const auto& props = dev.properties();
    const bool has_hp = HXRT_CONF_HAS(*plugin, buffer_get_host_pointer);

    g.check("alloc.sizes", "R4.3", [&](Check& c) {
      uint64_t large = 64ull << 20;
      if (props.memory_bytes > 0) large = std::min<uint64_t>(large, props.memory_bytes / 8);
      for (uint64_t size : {uint64_t{0}, uint64_t{1}, uint64_t{3}, uint64_t{4097}, uint64_t{(1u << 20) + 7}, large}) {
        for (hxrt_memory_kind kind : {HXRT_MEMORY_DEVICE, HXRT_MEMORY_HOST_PINNED}) {
          Buffer b;
          Status s = dev.allocate(size, kind, b);
          std::string what = std::string(kind == HXRT_MEMORY_DEVICE ? "DEVICE" : "HOST_PINNED") + " buffer of " +
                             std::to_string(size) + " bytes";
          if (kind == HXRT_MEMORY_HOST_PINNED && s.code() == HXRT_STATUS_UNIMPLEMENTED && has_hp) continue;  // allowed
          if (!c.expect(s.ok(), what + ": " + s.describe())) continue;
          void* ptr = nullptr;
          Status hs = dev.host_pointer(b.get(), ptr);
          if (!c.expect(hs.ok(), what + ": buffer_get_host_pointer: " + hs.describe())) continue;
          bool expect_ptr = has_hp && (kind == HXRT_MEMORY_HOST_PINNED || props.host_addressable != 0);
          if (size > 0) {
            c.expect((ptr != nullptr) == expect_ptr,
                     what + ": host pointer " + (ptr ? "non-NULL" : "NULL") + ", expected " +
                         (expect_ptr ? "non-NULL" : "NULL") + " (R4.5, host_addressable " +
                         std::to_string(props.host_addressable) + ")");
            c.expect(ptr == nullptr || reinterpret_cast<uintptr_t>(ptr) % 64 == 0,
                     what + ": host pointer not 64-byte aligned");
          }
        }
      }
    }, di);
    g.check("alloc.zero_size_usable", "R4.3", [&](Check& c) {
      Buffer b = dev.must_allocate(0);
      Stream s = dev.must_stream();
      uint8_t host[4] = {0};
      expect_code(c, dev.copy_to_device(s.get(), nullptr, b.get(), 0, 0), HXRT_STATUS_OK, "copy_to_device of 0 bytes, src NULL");
      expect_code(c, dev.copy_to_host(s.get(), b.get(), 0, nullptr, 0), HXRT_STATUS_OK, "copy_to_host of 0 bytes, dst NULL");
      expect_code(c, dev.copy_to_device(s.get(), host, b.get(), 0, 1), HXRT_STATUS_OUT_OF_RANGE, "copy_to_device of 1 byte into a 0-byte buffer");
      expect_code(c, dev.copy_to_device(s.get(), host, b.get(), 1, 0), HXRT_STATUS_OUT_OF_RANGE, "copy_to_device of 0 bytes at offset 1 of a 0-byte buffer");
      expect_code(c, dev.synchronize(s.get()), HXRT_STATUS_OK, "stream_synchronize");
    }, di);
    g.check("alloc.over_capacity", "R4.3", [&](Check& c) {
      std::vector<uint64_t> sizes = {std::numeric_limits<uint64_t>::max(), std::numeric_limits<uint64_t>::max() / 2};
      if (props.memory_bytes > 0) sizes.push_back(props.memory_bytes + 1);
      for (uint64_t size : sizes) {
        Buffer b;
        Status s = dev.allocate(size, HXRT_MEMORY_DEVICE, b);
        expect_code(c, s, HXRT_STATUS_RESOURCE_EXHAUSTED, "buffer_allocate(" + std::to_string(size) + " bytes, memory_bytes " +
                                                             std::to_string(props.memory_bytes) + ")");
      }
    }, di);
    g.check("alloc.unknown_kind", "R2.2", [&](Check& c) {
      Buffer b;
      expect_code(c, dev.allocate(16, static_cast<hxrt_memory_kind>(77), b), HXRT_STATUS_INVALID_ARGUMENT,
                  "buffer_allocate(memory_kind 77)");
    }, di);
    g.check("alloc.no_leak", "R3.1", [&](Check& c) {
      // Destroyed buffers give their memory back: the capacity (when small
      // enough to exhaust safely) and the process's resident memory.
      Stream s = dev.must_stream();
      if (props.memory_bytes > 0 && props.memory_bytes <= (4ull << 30)) {
        uint64_t chunk = props.memory_bytes / 3;
        // A device may cap single buffers below its capacity (R4.2, since 1.1).
        if (props.max_allocation_bytes > 0) chunk = std::min(chunk, props.max_allocation_bytes);
        for (int i = 0; i < 8; ++i) {
          Buffer b;
          Status st = dev.allocate(chunk, HXRT_MEMORY_DEVICE, b);
          if (!c.expect(st.ok(), "allocation " + std::to_string(i + 1) + " of " + std::to_string(chunk) +
                                     " bytes (a third of memory_bytes, at most max_allocation_bytes) after destroying the previous ones: " +
                                     st.describe()))
            break;
        }
      }
      const size_t chunk = 1 << 20;
      std::vector<uint8_t> data = pattern(chunk, 3);
      size_t before = resident_bytes();
      for (int i = 0; i < 256; ++i) {
        Buffer b = dev.must_allocate(chunk);
        must(dev.copy_to_device(s.get(), data.data(), b.get(), 0, chunk), "copy_to_device");
        must(dev.synchronize(s.get()), "stream_synchronize");
      }
      size_t after = resident_bytes();
      double grown = after > before ? static_cast<double>(after - before) / (1 << 20) : 0.0;
      c.expect(grown < 64, "resident memory grew by " + std::to_string(static_cast<int>(grown)) +
                               " MiB over 256 allocate/fill/destroy cycles of 1 MiB (expected < 64 MiB)");
    }, di);
    g.check("copy.unaligned_roundtrip", "R7.6", [&](Check& c) {
      Stream s = dev.must_stream();
      const size_t size = 8192 + 13;
      Buffer b = dev.must_allocate(size);
      uint32_t seed = 1;
      for (auto [off, n] : unaligned_cases()) {
        std::string diff = overlay_roundtrip(dev, s.get(), b.get(), size, off, n, seed++);
        c.expect(diff.empty(), diff);
      }
    }, di);
    g.check("copy.on_device", "R7.6", [&](Check& c) {
      if (!HXRT_CONF_HAS(*plugin, copy_on_device)) c.skip("copy_on_device is not offered (optional slot; the host stages through host memory)");
      Stream s = dev.must_stream();
      const size_t size = 4096 + 7;
      Buffer src = dev.must_allocate(size), dst = dev.must_allocate(size);
      std::vector<uint8_t> a = pattern(size, 11), bg = pattern(size, 12), out(size);
      must(dev.copy_to_device(s.get(), a.data(), src.get(), 0, size), "copy_to_device");
      for (auto [soff, doff, n] : std::vector<std::tuple<size_t, size_t, size_t>>{
               {0, 0, size}, {1, 3, 17}, {63, 64, 1000}, {5, 0, 4000}, {0, 4095, 8}, {4000, 1, 101}}) {
        must(dev.copy_to_device(s.get(), bg.data(), dst.get(), 0, size), "copy_to_device");
        Status st = dev.copy_on_device(s.get(), src.get(), soff, dst.get(), doff, n);
        if (!c.expect(st.ok(), "copy_on_device(" + std::to_string(n) + " bytes, " + std::to_string(soff) + " -> " +
                                   std::to_string(doff) + "): " + st.describe()))
          continue;
        must(dev.copy_to_host(s.get(), dst.get(), 0, out.data(), size), "copy_to_host");
        must(dev.synchronize(s.get()), "stream_synchronize");
        std::vector<uint8_t> expected = bg;
        std::memcpy(expected.data() + doff, a.data() + soff, n);
        std::string diff = compare_bytes(out.data(), expected.data(), size);
        c.expect(diff.empty(), "copy_on_device(" + std::to_string(n) + " bytes, " + std::to_string(soff) + " -> " +
                                   std::to_string(doff) + "): " + diff);
      }
      expect_code(c, dev.copy_on_device(s.get(), src.get(), size - 3, dst.get(), 0, 4), HXRT_STATUS_OUT_OF_RANGE,
                  "copy_on_device past the source end");
      expect_code(c, dev.copy_on_device(s.get(), src.get(), 0, dst.get(), size - 3, 4), HXRT_STATUS_OUT_OF_RANGE,
                  "copy_on_device past the destination end");
      must(dev.synchronize(s.get()), "stream_synchronize");
    }, di);
    g.check("copy.out_of_range", "R7.6", [&](Check& c) {
      Stream s = dev.must_stream();
      const size_t size = 100;
      Buffer b = dev.must_allocate(size);
      std::vector<uint8_t> keep = pattern(size, 21), junk = pattern(256, 22), out(size);
      must(dev.copy_to_device(s.get(), keep.data(), b.get(), 0, size), "copy_to_device");
      const uint64_t max = std::numeric_limits<uint64_t>::max();
      for (auto [off, n] : std::vector<std::pair<uint64_t, uint64_t>>{{0, 101}, {1, 100}, {100, 1}, {101, 0}, {max - 1, 4}, {4, max - 1}}) {
        std::string what = std::to_string(n) + " bytes at offset " + std::to_string(off) + " of a 100-byte buffer";
        expect_code(c, dev.copy_to_device(s.get(), junk.data(), b.get(), off, n), HXRT_STATUS_OUT_OF_RANGE, "copy_to_device of " + what);
        expect_code(c, dev.copy_to_host(s.get(), b.get(), off, junk.data(), n), HXRT_STATUS_OUT_OF_RANGE, "copy_to_host of " + what);
      }
      must(dev.copy_to_host(s.get(), b.get(), 0, out.data(), size), "copy_to_host");
      must(dev.synchronize(s.get()), "stream_synchronize");
      std::string diff = compare_bytes(out.data(), keep.data(), size);
      c.expect(diff.empty(), "a refused copy changed the buffer (R3.3: a failed call has no effect): " + diff);
    }, di);
    g.check("copy.pinned", "R4.3", [&](Check& c) {
      Buffer pinned, pinned_out;
      const size_t size = 65536 + 3;
      Status st = dev.allocate(size, HXRT_MEMORY_HOST_PINNED, pinned);
      if (st.code() == HXRT_STATUS_UNIMPLEMENTED && has_hp) c.skip("HOST_PINNED answered UNIMPLEMENTED (allowed)");
      if (!c.expect(st.ok(), "HOST_PINNED allocate: " + st.describe())) return;
      must(dev.allocate(size, HXRT_MEMORY_HOST_PINNED, pinned_out), "HOST_PINNED allocate");
      void *p_in = nullptr, *p_out = nullptr;
      must(dev.host_pointer(pinned.get(), p_in), "buffer_get_host_pointer");
      must(dev.host_pointer(pinned_out.get(), p_out), "buffer_get_host_pointer");
      if (!c.expect(p_in != nullptr && p_out != nullptr, "HOST_PINNED buffer without a host pointer (R4.5)")) return;
      std::vector<uint8_t> data = pattern(size, 31);
      std::memcpy(p_in, data.data(), size);
      std::memset(p_out, 0, size);
      Stream s = dev.must_stream();
      Buffer b = dev.must_allocate(size);
      must(dev.copy_to_device(s.get(), p_in, b.get(), 0, size), "copy_to_device from pinned memory");
      must(dev.copy_to_host(s.get(), b.get(), 0, p_out, size), "copy_to_host into pinned memory");
      must(dev.synchronize(s.get()), "stream_synchronize");
      std::string diff = compare_bytes(static_cast<uint8_t*>(p_out), data.data(), size);
      c.expect(diff.empty(), "pinned round trip: " + diff);
      // A pinned buffer is a device buffer too: copies address it by offset.
      std::vector<uint8_t> back(100);
      must(dev.copy_to_host(s.get(), pinned.get(), 7, back.data(), 100), "copy_to_host from a pinned buffer");
      must(dev.synchronize(s.get()), "stream_synchronize");
      diff = compare_bytes(back.data(), data.data() + 7, 100);
      c.expect(diff.empty(), "copy_to_host from a pinned buffer at offset 7: " + diff);
    }, di);
    g.check("wrap_host_memory", "R4.6", [&](Check& c) {
      // Since 1.2: caller host memory wrapped as a DEVICE buffer, no copy.
      const bool has_wrap = HXRT_CONF_HAS(*plugin, buffer_wrap_host_memory);
      const bool says_wrap = HXRT_STRUCT_HAS_FIELD(props.struct_size, hxrt_device_properties, can_wrap_host_memory) &&
                             props.can_wrap_host_memory != 0;
      if (!has_wrap) {
        c.expect(!says_wrap, "can_wrap_host_memory is set, but the buffer_wrap_host_memory slot is missing");
        c.skip("buffer_wrap_host_memory is not offered (optional, since 1.2)");
      }
      auto wrap = [&](void* p, uint64_t size, int32_t read_only, Buffer& out) {
        hxrt_buffer_wrap_host_memory_args a{};
        a.struct_size = sizeof(a);
        a.device = dev.handle();
        a.host_pointer = p;
        a.size_bytes = size;
        a.read_only = read_only;
        Status st(api, api->buffer_wrap_host_memory(&a));
        if (st.ok()) out = Buffer(api, a.buffer);
        else c.expect(a.buffer == nullptr, "a failed buffer_wrap_host_memory left a buffer (R3.1)");
        return st;
      };
      {
        hxrt_buffer_wrap_host_memory_args a{};  // struct_size 0
        expect_code(c, Status(api, api->buffer_wrap_host_memory(&a)), HXRT_STATUS_INVALID_ARGUMENT,
                    "buffer_wrap_host_memory with struct_size 0");
      }
      uint64_t alignment = props.wrap_host_memory_alignment;
      if (!says_wrap) {
        std::vector<uint8_t> host(4096);
        Buffer b;
        expect_code(c, wrap(host.data(), host.size(), 0, b), HXRT_STATUS_UNIMPLEMENTED,
                    "buffer_wrap_host_memory on a device whose can_wrap_host_memory is 0");
        return;
      }
      c.expect(alignment == 0 || (alignment & (alignment - 1)) == 0,
               "wrap_host_memory_alignment " + std::to_string(alignment) + " is not a power of two");
      const size_t align = std::max<size_t>(4096, static_cast<size_t>(alignment));
      const size_t size = std::max<size_t>(align, 65536);
      void* raw = std::aligned_alloc(align, size);
      if (!c.expect(raw != nullptr, "aligned_alloc failed")) return;
      std::unique_ptr<void, void (*)(void*)> memory(raw, std::free);
      uint8_t* host = static_cast<uint8_t*>(raw);
      {
        Buffer b;
        expect_code(c, wrap(nullptr, size, 0, b), HXRT_STATUS_INVALID_ARGUMENT, "wrapping NULL with a non-zero size");
        expect_code(c, wrap(nullptr, 0, 0, b), HXRT_STATUS_OK, "wrapping 0 bytes at NULL");
        if (alignment > 1) {
          Buffer m;
          expect_code(c, wrap(host + 1, size - alignment, 0, m), HXRT_STATUS_INVALID_ARGUMENT,
                      "wrapping a pointer misaligned for wrap_host_memory_alignment " + std::to_string(alignment));
        }
      }
      std::vector<uint8_t> data = pattern(size, 61);
      std::memcpy(host, data.data(), size);
      Stream s = dev.must_stream();
      {
        Buffer wrapped;
        Status st = wrap(host, size, 0, wrapped);
        if (!c.expect(st.ok(), "buffer_wrap_host_memory of " + std::to_string(size) + " bytes: " + st.describe())) return;
        if (has_hp) {
          void* p = nullptr;
          must(dev.host_pointer(wrapped.get(), p), "buffer_get_host_pointer of a wrapped buffer");
          c.expect(p == host, "buffer_get_host_pointer of a wrapped buffer is not the wrapped memory (R4.6)");
        }
        // The buffer reads what the host wrote, and the host sees what copies wrote.
        std::vector<uint8_t> back(size, 0), piece = pattern(1000, 62);
        must(dev.copy_to_host(s.get(), wrapped.get(), 0, back.data(), size), "copy_to_host from a wrapped buffer");
        must(dev.copy_to_device(s.get(), piece.data(), wrapped.get(), 5, piece.size()), "copy_to_device into a wrapped buffer");
        must(dev.synchronize(s.get()), "stream_synchronize");
        std::string diff = compare_bytes(back.data(), data.data(), size);
        c.expect(diff.empty(), "reading a wrapped buffer: " + diff);
        std::memcpy(data.data() + 5, piece.data(), piece.size());
        diff = compare_bytes(host, data.data(), size);
        c.expect(diff.empty(), "the host memory after copy_to_device into its wrapped buffer: " + diff);
        if (HXRT_CONF_HAS(*plugin, copy_on_device)) {
          Buffer device_buffer = dev.must_allocate(size);
          std::vector<uint8_t> other = pattern(size, 63);
          must(dev.copy_to_device(s.get(), other.data(), device_buffer.get(), 0, size), "copy_to_device");
          must(dev.copy_on_device(s.get(), device_buffer.get(), 0, wrapped.get(), 0, size),
               "copy_on_device into a wrapped buffer");
          must(dev.synchronize(s.get()), "stream_synchronize");
          diff = compare_bytes(host, other.data(), size);
          c.expect(diff.empty(), "the host memory after copy_on_device into its wrapped buffer: " + diff);
          std::memcpy(data.data(), other.data(), size);
        }
      }
      // Destroying the wrapper leaves the memory to the caller, unchanged and usable.
      std::string diff = compare_bytes(host, data.data(), size);
      c.expect(diff.empty(), "buffer_destroy of a wrapped buffer changed the memory: " + diff);
      host[0] ^= 0xff;
      // Wrapping again after release works (the first wrapping was released).
      Buffer again;
      Status st = wrap(host, size, 1, again);
      c.expect(st.ok(), "wrapping the same memory again (read-only) after buffer_destroy: " + st.describe());
    }, di);
    g.check("copy.ordered_by_event", "R7.5", [&](Check& c) {
      // Stream A fills a large buffer; stream B waits on an event recorded after
      // that and reads it back: B must see A's data.
      const size_t size = 16u << 20;
      Stream a = dev.must_stream(), b = dev.must_stream();
      Event e = dev.must_event();
      Buffer buf = dev.must_allocate(size);
      for (int round = 0; round < 3; ++round) {
        std::vector<uint8_t> data = pattern(size, 40 + round), out(size, 0);
        must(dev.copy_to_device(a.get(), data.data(), buf.get(), 0, size), "copy_to_device on stream A");
        must(dev.record(e.get(), a.get()), "event_record on A");
        must(dev.wait(b.get(), e.get()), "stream_wait_event on B");
        must(dev.copy_to_host(b.get(), buf.get(), 0, out.data(), size), "copy_to_host on stream B");
        must(dev.synchronize(b.get()), "stream_synchronize B");
        std::string diff = compare_bytes(out.data(), data.data(), size);
        c.expect(diff.empty(), "round " + std::to_string(round) + ": stream B read data A had not written yet: " + diff);
        must(dev.synchronize(a.get()), "stream_synchronize A");
      }
    }, di);
    g.check("transfer_costs", "R6.1", [&](Check& c) {
      if (!HXRT_CONF_HAS(*plugin, device_get_transfer_costs)) c.skip("device_get_transfer_costs is not offered (optional)");
      hxrt_transfer_costs costs{};
      costs.struct_size = sizeof(costs);
      hxrt_device_get_transfer_costs_args a{};
      a.struct_size = sizeof(a);
      a.device = dev.handle();
      a.costs = &costs;
      must(Status(api, api->device_get_transfer_costs(&a)), "device_get_transfer_costs");
      const std::pair<const char*, hxrt_link_cost> links[] = {
          {"host_to_device_pageable", costs.host_to_device_pageable}, {"host_to_device_pinned", costs.host_to_device_pinned},
          {"device_to_host_pageable", costs.device_to_host_pageable}, {"device_to_host_pinned", costs.device_to_host_pinned},
          {"device_to_device", costs.device_to_device}};
      for (const auto& [name, l] : links)
        c.expect(std::isfinite(l.latency_ns) && l.latency_ns >= 0 && std::isfinite(l.bandwidth_bytes_per_s) &&
                     l.bandwidth_bytes_per_s > 0,
                 std::string(name) + ": latency " + std::to_string(l.latency_ns) + " ns, bandwidth " +
                     std::to_string(l.bandwidth_bytes_per_s) + " B/s (expected latency >= 0, bandwidth > 0, finite)");
      // Measured against the model for a 16 MiB copy each way (best of 3).
      // Stated factor: within 25x either way; these are placement hints.
      const double kFactor = 25;
      const size_t size = 16u << 20;
      Stream s = dev.must_stream();
      Buffer buf = dev.must_allocate(size);
      std::vector<uint8_t> host = pattern(size, 50);
      auto time_copy = [&](bool to_device) {
        double best = 1e30;
        for (int i = 0; i < 3; ++i) {
          auto t0 = std::chrono::steady_clock::now();
          if (to_device) must(dev.copy_to_device(s.get(), host.data(), buf.get(), 0, size), "copy_to_device");
          else must(dev.copy_to_host(s.get(), buf.get(), 0, host.data(), size), "copy_to_host");
          must(dev.synchronize(s.get()), "stream_synchronize");
          best = std::min(best, std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
        }
        return best;
      };
      for (auto [name, link, to_device] : {std::tuple{"host_to_device_pageable", costs.host_to_device_pageable, true},
                                           std::tuple{"device_to_host_pageable", costs.device_to_host_pageable, false}}) {
        double predicted = link.latency_ns + static_cast<double>(size) / link.bandwidth_bytes_per_s * 1e9;
        double measured = time_copy(to_device);
        double ratio = measured / predicted;
        c.note(std::string(name) + " 16 MiB: model " + std::to_string(predicted / 1e6) + " ms, measured " +
               std::to_string(measured / 1e6) + " ms");
        c.expect(ratio <= kFactor && ratio >= 1 / kFactor,
                 std::string(name) + ": a 16 MiB copy took " + std::to_string(measured / 1e6) + " ms, the model says " +
                     std::to_string(predicted / 1e6) + " ms (ratio " + std::to_string(ratio) + ", allowed 1/25..25)");
      }
    }, di);
  });
}

}  // namespace

void add_memory_groups(std::vector<GroupInfo>& groups) {
  groups.push_back({"memory", "memory", Profile::kCore,
                    "allocation sizes and limits, host pointers, unaligned bit-exact copies, bounds, pinned buffers, "
                    "event-ordered copies, leaks, transfer cost model",
                    "R2.2 R3.1 R4.3 R4.5 R4.6 R6.1 R7.5 R7.6", memory_group});
}

}  // namespace hxrt::conformance
