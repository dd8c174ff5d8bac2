// Devices, buffers, streams, events, copies and the JIT binary cache of the
// OpenCL plugin, through the ABI.
#include <cstring>
#include <filesystem>
#include <thread>

#include "opencl_test_support.hpp"

namespace hxrt::ocl::test {
namespace {

class OpenclRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = make_temp_dir("rt-cache");
    context_ = std::make_unique<Context>(std::vector<std::pair<std::string, std::string>>{{"cache_dir", cache_}, {"no_such_option", "1"}});
    ASSERT_NE(context_->api(), nullptr);
    auto devices = context_->devices();
    if (devices.empty()) GTEST_SKIP() << "no OpenCL device";
    device_ = devices[0];
    api_ = context_->api();
  }
  void TearDown() override {
    context_.reset();
    std::filesystem::remove_all(cache_);
  }
  hxrt_buffer* allocate(uint64_t bytes, hxrt_memory_kind kind = HXRT_MEMORY_DEVICE) {
    hxrt_buffer_allocate_args a{};
    a.struct_size = sizeof(a);
    a.device = device_;
    a.size_bytes = bytes;
    a.memory_kind = kind;
    EXPECT_EQ(status_text(api_, api_->buffer_allocate(&a)), "");
    return a.buffer;
  }
  hxrt_stream* stream() {
    hxrt_stream_create_args s{};
    s.struct_size = sizeof(s);
    s.device = device_;
    EXPECT_EQ(status_text(api_, api_->stream_create(&s)), "");
    return s.stream;
  }
  hxrt_event* event() {
    hxrt_event_create_args e{};
    e.struct_size = sizeof(e);
    e.device = device_;
    EXPECT_EQ(status_text(api_, api_->event_create(&e)), "");
    return e.event;
  }
  std::string to_device(hxrt_stream* s, const void* src, hxrt_buffer* dst, uint64_t offset, uint64_t size) {
    hxrt_copy_to_device_args c{};
    c.struct_size = sizeof(c);
    c.stream = s;
    c.src = src;
    c.dst = dst;
    c.dst_offset = offset;
    c.size_bytes = size;
    return status_text(api_, api_->copy_to_device(&c));
  }
  std::string to_host(hxrt_stream* s, hxrt_buffer* src, uint64_t offset, void* dst, uint64_t size) {
    hxrt_copy_to_host_args c{};
    c.struct_size = sizeof(c);
    c.stream = s;
    c.src = src;
    c.src_offset = offset;
    c.dst = dst;
    c.size_bytes = size;
    return status_text(api_, api_->copy_to_host(&c));
  }

  std::string cache_;
  std::unique_ptr<Context> context_;
  const hxrt_plugin_api* api_ = nullptr;
  hxrt_device* device_ = nullptr;
};

TEST_F(OpenclRuntime, IdentityPropertiesAndOptions) {
  EXPECT_STREQ(api_->identity->name, "opencl");
  hxrt_device_properties p{};
  p.struct_size = sizeof(p);
  hxrt_device_get_properties_args a{};
  a.struct_size = sizeof(a);
  a.device = device_;
  a.properties = &p;
  HXRT_OCL_OK(api_, api_->device_get_properties(&a));
  EXPECT_GT(std::strlen(p.name), 0u);
  EXPECT_GT(p.memory_bytes, 0u);
  EXPECT_GT(p.compute_units, 0u);
  EXPECT_EQ(p.host_addressable, 0);
  EXPECT_NE(p.kind, HXRT_DEVICE_KIND_OTHER);
  EXPECT_TRUE(context_->log_contains("unknown option 'no_such_option'"));
  // A known option with a bad value is an error naming it.
  hxrt_context_create_args c{};
  c.struct_size = sizeof(c);
  const char* keys[] = {"compiler"};
  const char* values[] = {"maybe"};
  c.num_options = 1;
  c.option_keys = keys;
  c.option_values = values;
  std::string error = status_text(api_, api_->context_create(&c));
  EXPECT_NE(error.find("compiler=maybe"), std::string::npos) << error;
  // NULL and too-small args are INVALID_ARGUMENT, never a crash.
  EXPECT_EQ(status_text(api_, api_->device_get_properties(nullptr)).rfind("1:", 0), 0u);
  hxrt_buffer_allocate_args small{};
  small.struct_size = 4;
  EXPECT_EQ(status_text(api_, api_->buffer_allocate(&small)).rfind("1:", 0), 0u);
}

TEST_F(OpenclRuntime, CopiesRoundTripWithOffsetsAndBounds) {
  hxrt_stream* s = stream();
  hxrt_buffer* b = allocate(1000);
  std::vector<uint8_t> in(1000), out(1000, 0);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 7 + 3);
  EXPECT_EQ(to_device(s, in.data(), b, 0, 1000), "");
  EXPECT_EQ(to_host(s, b, 13, out.data(), 500), "");
  HXRT_OCL_OK(api_, api_->stream_synchronize(s));
  EXPECT_EQ(std::memcmp(out.data(), in.data() + 13, 500), 0);
  // Out of range: refused at enqueue, nothing queued.
  EXPECT_EQ(to_device(s, in.data(), b, 999, 2).rfind(std::to_string(HXRT_STATUS_OUT_OF_RANGE) + ":", 0), 0u);
  EXPECT_EQ(to_host(s, b, UINT64_MAX, out.data(), 2).rfind(std::to_string(HXRT_STATUS_OUT_OF_RANGE) + ":", 0), 0u);
  // On-device copy.
  hxrt_buffer* c = allocate(1000);
  hxrt_copy_on_device_args d{};
  d.struct_size = sizeof(d);
  d.stream = s;
  d.src = b;
  d.src_offset = 100;
  d.dst = c;
  d.dst_offset = 0;
  d.size_bytes = 300;
  HXRT_OCL_OK(api_, api_->copy_on_device(&d));
  std::fill(out.begin(), out.end(), 0);
  EXPECT_EQ(to_host(s, c, 0, out.data(), 300), "");
  HXRT_OCL_OK(api_, api_->stream_synchronize(s));
  EXPECT_EQ(std::memcmp(out.data(), in.data() + 100, 300), 0);
  // Zero-size buffers and copies are valid.
  hxrt_buffer* empty = allocate(0);
  EXPECT_EQ(to_device(s, nullptr, empty, 0, 0), "");
  HXRT_OCL_OK(api_, api_->stream_synchronize(s));
  api_->buffer_destroy(empty);
  api_->buffer_destroy(c);
  api_->buffer_destroy(b);
  api_->stream_destroy(s);
}

TEST_F(OpenclRuntime, PinnedBuffersAreMappedAndAligned) {
  hxrt_buffer* pinned = allocate(4096, HXRT_MEMORY_HOST_PINNED);
  hxrt_buffer* dev = allocate(4096);
  hxrt_buffer_get_host_pointer_args p{};
  p.struct_size = sizeof(p);
  p.buffer = pinned;
  HXRT_OCL_OK(api_, api_->buffer_get_host_pointer(&p));
  ASSERT_NE(p.host_pointer, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p.host_pointer) % 64, 0u);
  auto* bytes = static_cast<uint8_t*>(p.host_pointer);
  for (int i = 0; i < 4096; ++i) bytes[i] = static_cast<uint8_t>(i ^ 0x5a);
  hxrt_stream* s = stream();
  // Through the device and back into the pinned buffer at an offset.
  EXPECT_EQ(to_device(s, bytes, dev, 0, 2048), "");
  EXPECT_EQ(to_host(s, dev, 0, bytes + 2048, 2048), "");
  HXRT_OCL_OK(api_, api_->stream_synchronize(s));
  EXPECT_EQ(std::memcmp(bytes, bytes + 2048, 2048), 0);
  // DEVICE buffers are not host-addressable.
  p.buffer = dev;
  HXRT_OCL_OK(api_, api_->buffer_get_host_pointer(&p));
  EXPECT_EQ(p.host_pointer, nullptr);
  api_->stream_destroy(s);
  api_->buffer_destroy(dev);
  api_->buffer_destroy(pinned);
}

TEST_F(OpenclRuntime, OverCapacityIsResourceExhausted) {
  hxrt_buffer_allocate_args a{};
  a.struct_size = sizeof(a);
  a.device = device_;
  a.size_bytes = UINT64_MAX / 2;
  std::string error = status_text(api_, api_->buffer_allocate(&a));
  EXPECT_EQ(error.rfind(std::to_string(HXRT_STATUS_RESOURCE_EXHAUSTED) + ":", 0), 0u) << error;
  EXPECT_EQ(a.buffer, nullptr);
  a.size_bytes = 16;
  a.memory_kind = static_cast<hxrt_memory_kind>(7);
  EXPECT_EQ(status_text(api_, api_->buffer_allocate(&a)).rfind("1:", 0), 0u);
}

TEST_F(OpenclRuntime, EventsOrderTwoStreams) {
  // Stream A computes Relu into a buffer; stream B waits on an event and copies it out.
  NodeSpec relu("Relu", 14);
  relu.input({1024}).output({1024});
  hxrt_executable_compile_args c{};
  c.struct_size = sizeof(c);
  c.device = device_;
  c.graph = relu.graph();
  HXRT_OCL_OK(api_, api_->executable_compile(&c));
  hxrt_stream* a = stream();
  hxrt_stream* b = stream();
  hxrt_event* e = event();
  // A never-recorded event is complete.
  hxrt_event_query_args q{};
  q.struct_size = sizeof(q);
  q.event = e;
  HXRT_OCL_OK(api_, api_->event_query(&q));
  EXPECT_NE(q.completed, 0);
  HXRT_OCL_OK(api_, api_->event_synchronize(e));

  auto x = random_floats(1024, 3);
  std::vector<float> y(1024, 0);
  hxrt_buffer* in = allocate(4096);
  hxrt_buffer* out = allocate(4096);
  EXPECT_EQ(to_device(a, x.data(), in, 0, 4096), "");
  hxrt_executable_execute_args ex{};
  ex.struct_size = sizeof(ex);
  ex.executable = c.executable;
  ex.stream = a;
  ex.num_inputs = 1;
  ex.input_buffers = &in;
  ex.num_outputs = 1;
  ex.output_buffers = &out;
  HXRT_OCL_OK(api_, api_->executable_execute(&ex));
  hxrt_event_record_args r{};
  r.struct_size = sizeof(r);
  r.event = e;
  r.stream = a;
  HXRT_OCL_OK(api_, api_->event_record(&r));
  hxrt_stream_wait_event_args w{};
  w.struct_size = sizeof(w);
  w.stream = b;
  w.event = e;
  HXRT_OCL_OK(api_, api_->stream_wait_event(&w));
  api_->event_destroy(e);  // allowed once the wait is enqueued
  EXPECT_EQ(to_host(b, out, 0, y.data(), 4096), "");
  HXRT_OCL_OK(api_, api_->stream_synchronize(b));
  for (int i = 0; i < 1024; ++i) ASSERT_EQ(y[i], x[i] > 0 ? x[i] : 0.0f) << i;
  HXRT_OCL_OK(api_, api_->stream_synchronize(a));

  // Executing with a buffer range past the end is refused at enqueue.
  hxrt_buffer* small = allocate(100);
  ex.input_buffers = &small;
  EXPECT_EQ(status_text(api_, api_->executable_execute(&ex)).rfind(std::to_string(HXRT_STATUS_OUT_OF_RANGE) + ":", 0), 0u);
  // Unaligned offsets work (staged through a temporary).
  hxrt_buffer* big_in = allocate(4096 + 4);
  hxrt_buffer* big_out = allocate(4096 + 8);
  EXPECT_EQ(to_device(a, x.data(), big_in, 4, 4096), "");
  uint64_t in_off = 4, out_off = 8;
  ex.input_buffers = &big_in;
  ex.input_offsets = &in_off;
  ex.output_buffers = &big_out;
  ex.output_offsets = &out_off;
  HXRT_OCL_OK(api_, api_->executable_execute(&ex));
  std::fill(y.begin(), y.end(), 0);
  EXPECT_EQ(to_host(a, big_out, 8, y.data(), 4096), "");
  HXRT_OCL_OK(api_, api_->stream_synchronize(a));
  for (int i = 0; i < 1024; ++i) ASSERT_EQ(y[i], x[i] > 0 ? x[i] : 0.0f) << i;

  for (auto* buf : {in, out, small, big_in, big_out}) api_->buffer_destroy(buf);
  api_->stream_destroy(a);
  api_->stream_destroy(b);
  api_->executable_destroy(c.executable);
}

TEST_F(OpenclRuntime, ConcurrentExecutionsOfOneExecutable) {
  NodeSpec add("Add", 14);
  add.input({4096}).input({4096}).output({4096});
  hxrt_executable_compile_args c{};
  c.struct_size = sizeof(c);
  c.device = device_;
  c.graph = add.graph();
  HXRT_OCL_OK(api_, api_->executable_compile(&c));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      hxrt_stream* s = stream();
      hxrt_buffer* in[2] = {allocate(16384), allocate(16384)};
      hxrt_buffer* out = allocate(16384);
      for (int r = 0; r < 5; ++r) {
        auto a = random_floats(4096, 100 * t + r), b = random_floats(4096, 7 * t + r + 1);
        std::vector<float> y(4096);
        to_device(s, a.data(), in[0], 0, 16384);
        to_device(s, b.data(), in[1], 0, 16384);
        hxrt_executable_execute_args ex{};
        ex.struct_size = sizeof(ex);
        ex.executable = c.executable;
        ex.stream = s;
        ex.num_inputs = 2;
        ex.input_buffers = in;
        ex.num_outputs = 1;
        ex.output_buffers = &out;
        if (!status_text(api_, api_->executable_execute(&ex)).empty()) ++failures;
        to_host(s, out, 0, y.data(), 16384);
        if (!status_text(api_, api_->stream_synchronize(s)).empty()) ++failures;
        for (int i = 0; i < 4096; ++i)
          if (y[i] != a[i] + b[i]) ++failures;
      }
      api_->buffer_destroy(in[0]);
      api_->buffer_destroy(in[1]);
      api_->buffer_destroy(out);
      api_->stream_destroy(s);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  api_->executable_destroy(c.executable);
}

// The JIT path builds from source once, caches the binary keyed by device,
// driver and source, and a later context loads it without compiling.
TEST_F(OpenclRuntime, JitBinaryCacheAvoidsRebuilds) {
  auto compile_relu = [&](Context& ctx) {
    NodeSpec relu("Relu", 14);
    relu.input({8}).output({8});
    auto x = random_floats(8, 5);
    auto y = run_node(ctx.api(), ctx.devices().at(0), relu, {x});
    ASSERT_EQ(y.size(), 1u);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(y[0][i], x[i] > 0 ? x[i] : 0.0f);
  };
  {
    Context first({{"cache_dir", cache_}});
    compile_relu(first);
    first.destroy();
    EXPECT_TRUE(first.log_contains("programs built from source: 1, loaded from the binary cache: 0")) << ::testing::PrintToString(first.log());
  }
  bool cached = false;
  for (const auto& f : std::filesystem::directory_iterator(cache_)) cached |= f.path().filename().string().rfind("elementwise-", 0) == 0;
  EXPECT_TRUE(cached);
  {
    // With the compiler off, only the cache can serve: it must.
    Context second({{"cache_dir", cache_}, {"compiler", "off"}});
    compile_relu(second);
    second.destroy();
    EXPECT_TRUE(second.log_contains("programs built from source: 0, loaded from the binary cache: 1")) << ::testing::PrintToString(second.log());
  }
  // A corrupted cache file is detected by its checksum and rebuilt, never handed to the driver.
  for (const auto& f : std::filesystem::directory_iterator(cache_)) {
    std::FILE* file = std::fopen(f.path().c_str(), "r+b");
    std::fseek(file, 100, SEEK_SET);
    std::fputc(0xff, file);
    std::fputc(0x00, file);
    std::fclose(file);
  }
  Context third({{"cache_dir", cache_}});
  compile_relu(third);
  third.destroy();
  EXPECT_TRUE(third.log_contains("programs built from source: 1, loaded from the binary cache: 0")) << ::testing::PrintToString(third.log());
}

}  // namespace
}  // namespace hxrt::ocl::test
