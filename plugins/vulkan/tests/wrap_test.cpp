// buffer_wrap_host_memory (ABI 1.2, R4.6) on the Vulkan plugin: caller host
// memory imported with VK_EXT_external_memory_host, used by executables and
// copies in place. Skips with the reason where the device cannot import.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "test_util.hpp"

using namespace vktest;

namespace {

// Caller memory aligned for the device, freed by the test (never by the plugin).
class HostMemory {
 public:
  HostMemory(uint64_t alignment, uint64_t bytes)
      : bytes_(bytes),
        data_(std::aligned_alloc(static_cast<size_t>(alignment), static_cast<size_t>(bytes)), &std::free) {
    if (data_ == nullptr) ADD_FAILURE() << "aligned_alloc(" << alignment << ", " << bytes << ") failed";
  }
  void* data() const { return data_.get(); }
  float* floats() const { return static_cast<float*>(data_.get()); }
  uint8_t* bytes() const { return static_cast<uint8_t*>(data_.get()); }
  uint64_t size() const { return bytes_; }

 private:
  uint64_t bytes_;
  std::unique_ptr<void, decltype(&std::free)> data_;
};

hxrt_device_properties properties(hxrt_device* device) {
  hxrt_device_properties p{};
  p.struct_size = sizeof(p);
  hxrt_device_get_properties_args a{};
  a.struct_size = sizeof(a);
  a.device = device;
  a.properties = &p;
  Status s = take(api().device_get_properties(&a));
  EXPECT_EQ(s.code, HXRT_STATUS_OK) << s.message;
  return p;
}

struct Wrap {
  Status status;
  hxrt_buffer* buffer = nullptr;
};

Wrap wrap(hxrt_device* device, void* host, uint64_t size, bool read_only) {
  hxrt_buffer_wrap_host_memory_args a{};
  a.struct_size = sizeof(a);
  a.device = device;
  a.host_pointer = host;
  a.size_bytes = size;
  a.read_only = read_only ? 1 : 0;
  a.buffer = reinterpret_cast<hxrt_buffer*>(&a);  // must be reset on failure
  Wrap w;
  w.status = take(api().buffer_wrap_host_memory(&a));
  w.buffer = a.buffer;
  if (w.status.code != HXRT_STATUS_OK) {
    EXPECT_EQ(a.buffer, nullptr) << "a failed wrap left a buffer (R3.1)";
  }
  return w;
}

hxrt_buffer* must_wrap(hxrt_device* device, void* host, uint64_t size, bool read_only) {
  Wrap w = wrap(device, host, size, read_only);
  EXPECT_EQ(w.status.code, HXRT_STATUS_OK) << w.status.message;
  return w.buffer;
}

Status synchronize(hxrt_stream* s) { return take(api().stream_synchronize(s)); }

Status execute(hxrt_executable* exe, hxrt_stream* s, std::vector<hxrt_buffer*> inputs,
               std::vector<hxrt_buffer*> outputs) {
  hxrt_executable_execute_args e{};
  e.struct_size = sizeof(e);
  e.executable = exe;
  e.stream = s;
  e.num_inputs = inputs.size();
  e.input_buffers = inputs.data();
  e.num_outputs = outputs.size();
  e.output_buffers = outputs.data();
  return take(api().executable_execute(&e));
}

hxrt_executable* compile(hxrt_device* device, const Node& node) {
  NodeDesc desc(node);
  hxrt_executable_compile_args c{};
  c.struct_size = sizeof(c);
  c.device = device;
  c.graph = desc.graph();
  Status s = take(api().executable_compile(&c));
  EXPECT_EQ(s.code, HXRT_STATUS_OK) << node.op << ": " << s.message;
  return c.executable;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 13 + (i >> 9));
  return v;
}

// A size of at least `bytes` that the device can wrap.
uint64_t wrappable(uint64_t bytes, uint64_t alignment) {
  uint64_t a = std::max<uint64_t>(alignment, 64);
  return (bytes + a - 1) / a * a;
}

}  // namespace

// The alignment the device needs, or a skip naming why it cannot wrap.
#define VK_REQUIRE_WRAP(ctx, alignment)                                                                  \
  do {                                                                                                   \
    VK_REQUIRE_DEVICE(ctx);                                                                              \
    hxrt_device_properties p_ = properties((ctx).device());                                              \
    if (!p_.can_wrap_host_memory)                                                                        \
      GTEST_SKIP() << p_.name << " cannot wrap host memory (no usable VK_EXT_external_memory_host)";     \
    (alignment) = std::max<uint64_t>(p_.wrap_host_memory_alignment, 1);                                  \
  } while (0)

// lavapipe offers VK_EXT_external_memory_host: it is a CPU-type device, and
// the executor binds caller buffers on CPU-type devices that can wrap.
TEST(VulkanWrapHostMemory, PropertiesMatchWhatWrappingDoes) {
  Context ctx;
  VK_REQUIRE_DEVICE(ctx);
  for (hxrt_device* d : ctx.devices()) {
    hxrt_device_properties p = properties(d);
    std::string name = p.name;
    EXPECT_EQ(p.host_addressable, 0) << name;
    if (name.find("llvmpipe") != std::string::npos) {
      EXPECT_EQ(p.kind, HXRT_DEVICE_KIND_CPU) << "lavapipe is a CPU-type Vulkan device";
      EXPECT_NE(p.can_wrap_host_memory, 0) << "lavapipe offers VK_EXT_external_memory_host";
    }
    if (!p.can_wrap_host_memory) {
      EXPECT_EQ(p.wrap_host_memory_alignment, 0u) << name;
      uint8_t host[64];
      Wrap w = wrap(d, host, sizeof(host), false);
      EXPECT_EQ(w.status.code, HXRT_STATUS_UNIMPLEMENTED) << name << ": " << w.status.message;
      continue;
    }
    uint64_t alignment = p.wrap_host_memory_alignment;
    EXPECT_GT(alignment, 0u) << name;
    EXPECT_EQ(alignment & (alignment - 1), 0u) << name << ": alignment " << alignment << " is not a power of two";
  }
  bool logged = false;
  for (auto& [level, text] : ctx.logs())
    logged |= level == HXRT_LOG_INFO && text.find("host memory import") != std::string::npos;
  EXPECT_TRUE(logged) << "the device's INFO line does not say whether host memory import is available";
}

// Add with two read-only wrapped inputs and a wrapped output: the executable
// writes the caller's output memory directly, with no copy_to_host.
TEST(VulkanWrapHostMemory, ExecutableReadsAndWritesCallerMemory) {
  Context ctx;
  uint64_t alignment = 0;
  VK_REQUIRE_WRAP(ctx, alignment);
  hxrt_device* d = ctx.device();
  const uint64_t bytes = wrappable(64 * 1024, alignment);
  const int64_t n = static_cast<int64_t>(bytes / sizeof(float));
  HostMemory a(alignment, bytes), b(alignment, bytes), y(alignment, bytes);
  std::vector<float> av = random_floats(n, 21), bv = random_floats(n, 22);
  std::memcpy(a.data(), av.data(), bytes);
  std::memcpy(b.data(), bv.data(), bytes);
  std::fill(y.floats(), y.floats() + n, -7.0f);
  hxrt_buffer* wa = must_wrap(d, a.data(), bytes, true);
  hxrt_buffer* wb = must_wrap(d, b.data(), bytes, true);
  hxrt_buffer* wy = must_wrap(d, y.data(), bytes, false);
  ASSERT_TRUE(wa && wb && wy);
  hxrt_buffer_get_host_pointer_args hp{};
  hp.struct_size = sizeof(hp);
  hp.buffer = wy;
  ASSERT_EQ(take(api().buffer_get_host_pointer(&hp)).code, HXRT_STATUS_OK);
  EXPECT_EQ(hp.host_pointer, y.data()) << "buffer_get_host_pointer of a wrapped buffer is the caller's memory (R4.6)";

  Node add{"Add", 14, {Tensor::empty(HXRT_DTYPE_FLOAT32, {n}), Tensor::empty(HXRT_DTYPE_FLOAT32, {n})},
           {Tensor::empty(HXRT_DTYPE_FLOAT32, {n})}};
  hxrt_executable* exe = compile(d, add);
  ASSERT_NE(exe, nullptr);
  hxrt_stream* s = make_stream(d);
  for (int round = 0; round < 2; ++round) {
    // Host writes before the enqueue are what the device reads (R4.5).
    if (round == 1)
      for (int64_t i = 0; i < n; i += 3) a.floats()[i] = av[i] = -av[i];
    Status st = execute(exe, s, {wa, wb}, {wy});
    ASSERT_EQ(st.code, HXRT_STATUS_OK) << st.message;
    st = synchronize(s);
    ASSERT_EQ(st.code, HXRT_STATUS_OK) << st.message;
    std::vector<double> want(n);
    for (int64_t i = 0; i < n; ++i) want[i] = av[i] + bv[i];  // float addition, as on the device
    EXPECT_TRUE(all_close(std::vector<float>(y.floats(), y.floats() + n), want, 0, 0)) << "round " << round;
  }
  // The read-only inputs were not written.
  EXPECT_EQ(std::memcmp(a.data(), av.data(), bytes), 0);
  EXPECT_EQ(std::memcmp(b.data(), bv.data(), bytes), 0);
  for (hxrt_buffer* w : {wa, wb, wy}) api().buffer_destroy(w);
  // Destroying the wrappers leaves the caller's memory as it was.
  EXPECT_EQ(y.floats()[0], av[0] + bv[0]);
  api().executable_destroy(exe);
  api().stream_destroy(s);
}

// A Relu whose input is wrapped read-only and whose output is an ordinary
// device buffer: the read-only wrap is a plain executable input.
TEST(VulkanWrapHostMemory, ReadOnlyWrapIsAnInput) {
  Context ctx;
  uint64_t alignment = 0;
  VK_REQUIRE_WRAP(ctx, alignment);
  hxrt_device* d = ctx.device();
  const uint64_t bytes = wrappable(16 * 1024, alignment);
  const int64_t n = static_cast<int64_t>(bytes / sizeof(float));
  HostMemory x(alignment, bytes);
  std::vector<float> xv = random_floats(n, 31);
  std::memcpy(x.data(), xv.data(), bytes);
  hxrt_buffer* wx = must_wrap(d, x.data(), bytes, true);
  hxrt_buffer* out = allocate(d, bytes);
  ASSERT_TRUE(wx && out);
  Node relu{"Relu", 14, {Tensor::empty(HXRT_DTYPE_FLOAT32, {n})}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {n})}};
  hxrt_executable* exe = compile(d, relu);
  ASSERT_NE(exe, nullptr);
  hxrt_stream* s = make_stream(d);
  std::vector<float> got(n);
  ASSERT_EQ(execute(exe, s, {wx}, {out}).code, HXRT_STATUS_OK);
  ASSERT_EQ(to_host(s, out, 0, got.data(), bytes).code, HXRT_STATUS_OK);
  Status st = synchronize(s);
  ASSERT_EQ(st.code, HXRT_STATUS_OK) << st.message;
  std::vector<double> want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = std::max(0.0f, xv[i]);
  EXPECT_TRUE(all_close(got, want, 0, 0));
  // It is a copy source too.
  std::vector<uint8_t> back(bytes);
  ASSERT_EQ(to_host(s, wx, 0, back.data(), bytes).code, HXRT_STATUS_OK);
  ASSERT_EQ(synchronize(s).code, HXRT_STATUS_OK);
  EXPECT_EQ(std::memcmp(back.data(), xv.data(), bytes), 0);
  // The device never writes it: as an output or a copy destination it is refused.
  st = execute(exe, s, {out}, {wx});
  EXPECT_EQ(st.code, HXRT_STATUS_INVALID_ARGUMENT) << st.message;
  EXPECT_NE(st.message.find("read-only"), std::string::npos) << st.message;
  EXPECT_EQ(to_device(s, got.data(), wx, 0, 64).code, HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(on_device(s, out, 0, wx, 0, 64).code, HXRT_STATUS_INVALID_ARGUMENT);
  ASSERT_EQ(synchronize(s).code, HXRT_STATUS_OK);
  EXPECT_EQ(std::memcmp(x.data(), xv.data(), bytes), 0) << "memory wrapped read-only changed";
  api().buffer_destroy(wx);
  api().buffer_destroy(out);
  api().executable_destroy(exe);
  api().stream_destroy(s);
}

// Copies into, out of and between wrapped buffers, at offsets; copies whose
// host pointer lies inside a wrapped buffer take the direct path.
TEST(VulkanWrapHostMemory, CopiesReachTheCallerMemory) {
  Context ctx;
  uint64_t alignment = 0;
  VK_REQUIRE_WRAP(ctx, alignment);
  hxrt_device* d = ctx.device();
  const uint64_t bytes = wrappable(256 * 1024, alignment);
  HostMemory m(alignment, bytes);
  std::vector<uint8_t> expect = pattern(bytes, 1);
  std::memcpy(m.data(), expect.data(), bytes);
  hxrt_buffer* w = must_wrap(d, m.data(), bytes, false);
  hxrt_buffer* dev = allocate(d, bytes);
  ASSERT_TRUE(w && dev);
  hxrt_stream* s = make_stream(d);
  // Out of the wrapped buffer: it holds what the host wrote.
  std::vector<uint8_t> back(bytes, 0);
  ASSERT_EQ(to_host(s, w, 0, back.data(), bytes).code, HXRT_STATUS_OK);
  // Into it from pageable memory, at an odd offset.
  std::vector<uint8_t> piece = pattern(1001, 2);
  ASSERT_EQ(to_device(s, piece.data(), w, 7, piece.size()).code, HXRT_STATUS_OK);
  ASSERT_EQ(synchronize(s).code, HXRT_STATUS_OK);
  EXPECT_EQ(back, expect);
  std::memcpy(expect.data() + 7, piece.data(), piece.size());
  EXPECT_EQ(std::memcmp(m.data(), expect.data(), bytes), 0) << "copy_to_device did not reach the host memory";
  // Device buffer <-> wrapped buffer on the device.
  std::vector<uint8_t> other = pattern(bytes, 3);
  ASSERT_EQ(to_device(s, other.data(), dev, 0, bytes).code, HXRT_STATUS_OK);
  ASSERT_EQ(on_device(s, dev, 100, w, 4096, 5000).code, HXRT_STATUS_OK);
  ASSERT_EQ(synchronize(s).code, HXRT_STATUS_OK);
  std::memcpy(expect.data() + 4096, other.data() + 100, 5000);
  EXPECT_EQ(std::memcmp(m.data(), expect.data(), bytes), 0) << "copy_on_device did not reach the host memory";
  // Host pointers inside the wrapped memory: device -> host and host -> device.
  ASSERT_EQ(to_host(s, dev, 0, m.bytes() + 3, 2000).code, HXRT_STATUS_OK);
  ASSERT_EQ(synchronize(s).code, HXRT_STATUS_OK);
  std::memcpy(expect.data() + 3, other.data(), 2000);
  EXPECT_EQ(std::memcmp(m.data(), expect.data(), bytes), 0) << "copy_to_host into wrapped memory";
  ASSERT_EQ(to_device(s, m.bytes() + 10, dev, 20, 3000).code, HXRT_STATUS_OK);
  std::vector<uint8_t> check(3000);
  ASSERT_EQ(to_host(s, dev, 20, check.data(), check.size()).code, HXRT_STATUS_OK);
  ASSERT_EQ(synchronize(s).code, HXRT_STATUS_OK);
  EXPECT_EQ(std::memcmp(check.data(), expect.data() + 10, check.size()), 0) << "copy_to_device out of wrapped memory";
  // Out of range is still OUT_OF_RANGE.
  EXPECT_EQ(to_host(s, w, bytes - 4, back.data(), 8).code, HXRT_STATUS_OUT_OF_RANGE);
  api().buffer_destroy(w);
  EXPECT_EQ(std::memcmp(m.data(), expect.data(), bytes), 0) << "buffer_destroy changed the wrapped memory";
  // The memory is the caller's again: it can be wrapped anew.
  hxrt_buffer* again = must_wrap(d, m.data(), bytes, true);
  api().buffer_destroy(again);
  api().buffer_destroy(dev);
  api().stream_destroy(s);
}

// A copy out of wrapped memory keeps the import alive: the wrapper may be
// destroyed before the copy ran (the host only knows it used the memory).
TEST(VulkanWrapHostMemory, CopyOutlivesTheWrapperItFoundByAddress) {
  Context ctx;
  uint64_t alignment = 0;
  VK_REQUIRE_WRAP(ctx, alignment);
  hxrt_device* d = ctx.device();
  const uint64_t bytes = wrappable(8u << 20, alignment);
  HostMemory m(alignment, bytes);
  std::vector<uint8_t> expect = pattern(bytes, 5);
  std::memcpy(m.data(), expect.data(), bytes);
  hxrt_buffer* dev = allocate(d, bytes);
  hxrt_stream* s = make_stream(d);
  // Work ahead of the copy, so it is still pending when the wrapper goes.
  std::vector<uint8_t> filler = pattern(bytes, 6);
  ASSERT_EQ(to_device(s, filler.data(), dev, 0, bytes).code, HXRT_STATUS_OK);
  hxrt_buffer* w = must_wrap(d, m.data(), bytes, true);
  ASSERT_EQ(to_device(s, m.data(), dev, 0, bytes).code, HXRT_STATUS_OK);
  api().buffer_destroy(w);
  std::vector<uint8_t> back(bytes);
  ASSERT_EQ(to_host(s, dev, 0, back.data(), bytes).code, HXRT_STATUS_OK);
  Status st = synchronize(s);
  ASSERT_EQ(st.code, HXRT_STATUS_OK) << st.message;
  EXPECT_EQ(back, expect);
  api().buffer_destroy(dev);
  api().stream_destroy(s);
}

TEST(VulkanWrapHostMemory, BadArgumentsAreRefused) {
  Context ctx;
  uint64_t alignment = 0;
  VK_REQUIRE_WRAP(ctx, alignment);
  hxrt_device* d = ctx.device();
  const uint64_t bytes = wrappable(4 * alignment, alignment);
  HostMemory m(alignment, bytes + alignment);
  hxrt_buffer_wrap_host_memory_args small{};
  EXPECT_EQ(take(api().buffer_wrap_host_memory(&small)).code, HXRT_STATUS_INVALID_ARGUMENT) << "struct_size 0";
  EXPECT_EQ(take(api().buffer_wrap_host_memory(nullptr)).code, HXRT_STATUS_INVALID_ARGUMENT);
  if (alignment > 1) {
    Wrap w = wrap(d, m.bytes() + alignment / 2, bytes, false);
    EXPECT_EQ(w.status.code, HXRT_STATUS_INVALID_ARGUMENT) << "a misaligned pointer: " << w.status.message;
    EXPECT_NE(w.status.message.find(std::to_string(alignment)), std::string::npos)
        << "the message names the alignment: " << w.status.message;
    w = wrap(d, m.data(), bytes - alignment / 2, false);
    EXPECT_EQ(w.status.code, HXRT_STATUS_INVALID_ARGUMENT) << "a misaligned size: " << w.status.message;
  }
  EXPECT_EQ(wrap(d, nullptr, bytes, false).status.code, HXRT_STATUS_INVALID_ARGUMENT) << "NULL with a size";
  // NULL with size 0 is an empty, usable buffer.
  Wrap empty = wrap(d, nullptr, 0, false);
  ASSERT_EQ(empty.status.code, HXRT_STATUS_OK) << empty.status.message;
  hxrt_stream* s = make_stream(d);
  EXPECT_EQ(to_device(s, nullptr, empty.buffer, 0, 0).code, HXRT_STATUS_OK);
  EXPECT_EQ(to_device(s, m.data(), empty.buffer, 0, 1).code, HXRT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(synchronize(s).code, HXRT_STATUS_OK);
  api().buffer_destroy(empty.buffer);
  // A handle of another kind is not a device.
  hxrt_buffer_wrap_host_memory_args a{};
  a.struct_size = sizeof(a);
  a.device = reinterpret_cast<hxrt_device*>(s);
  a.host_pointer = m.data();
  a.size_bytes = bytes;
  EXPECT_EQ(take(api().buffer_wrap_host_memory(&a)).code, HXRT_STATUS_INVALID_ARGUMENT);
  api().stream_destroy(s);
}

// The import, copies and an executable on wrapped memory under
// VK_LAYER_KHRONOS_validation: no validation error.
TEST(VulkanWrapHostMemory, ValidationLayerReportsNoErrors) {
  setenv("VK_INSTANCE_LAYERS", "VK_LAYER_KHRONOS_validation", 1);
  Context ctx(Options{{"validation", "1"}, {"measure", "0"}});
  unsetenv("VK_INSTANCE_LAYERS");
  uint64_t alignment = 0;
  VK_REQUIRE_WRAP(ctx, alignment);
  for (auto& [level, text] : ctx.logs())
    if (text.find("VK_LAYER_KHRONOS_validation is not installed") != std::string::npos)
      GTEST_SKIP() << "the validation layer is not installed";
  hxrt_device* d = ctx.device();
  const uint64_t bytes = wrappable(32 * 1024, alignment);
  const int64_t n = static_cast<int64_t>(bytes / sizeof(float));
  HostMemory x(alignment, bytes), y(alignment, bytes);
  std::vector<float> xv = random_floats(n, 41);
  std::memcpy(x.data(), xv.data(), bytes);
  hxrt_buffer* wx = must_wrap(d, x.data(), bytes, true);
  hxrt_buffer* wy = must_wrap(d, y.data(), bytes, false);
  hxrt_buffer* dev = allocate(d, bytes);
  ASSERT_TRUE(wx && wy && dev);
  Node sigmoid{"Sigmoid", 13, {Tensor::empty(HXRT_DTYPE_FLOAT32, {n})}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {n})}};
  hxrt_executable* exe = compile(d, sigmoid);
  ASSERT_NE(exe, nullptr);
  hxrt_stream* s = make_stream(d);
  ASSERT_EQ(execute(exe, s, {wx}, {wy}).code, HXRT_STATUS_OK);
  ASSERT_EQ(on_device(s, wy, 0, dev, 0, bytes).code, HXRT_STATUS_OK);
  ASSERT_EQ(on_device(s, dev, 0, wy, 0, bytes).code, HXRT_STATUS_OK);
  ASSERT_EQ(to_device(s, x.data(), dev, 0, bytes).code, HXRT_STATUS_OK);
  ASSERT_EQ(synchronize(s).code, HXRT_STATUS_OK);
  std::vector<double> want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = 1 / (1 + std::exp(-double(xv[i])));
  EXPECT_TRUE(all_close(std::vector<float>(y.floats(), y.floats() + n), want, 1e-5, 1e-6));
  for (hxrt_buffer* b : {wx, wy, dev}) api().buffer_destroy(b);
  api().executable_destroy(exe);
  api().stream_destroy(s);
  ctx.destroy();
  expect_no_validation_errors(ctx);
}
