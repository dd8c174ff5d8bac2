// ABI-level tests of the CPU plugin: dlopen the built module, negotiate, and
// drive it only through the C function table, as the host does.
#include <dlfcn.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hxrt/plugin_abi.h"
#include "node_builder.hpp"

namespace {

// HXRT_PLUGIN_DIR from the environment, else the build's plugin folder
// (compiled in when the build defines it), else next to the test binary.
std::string plugin_path() {
  if (const char* dir = std::getenv("HXRT_PLUGIN_DIR"); dir != nullptr && *dir != '\0')
    return std::string(dir) + "/libhxrt_cpu.so";
#ifdef HXRT_TEST_PLUGIN_DIR
  return std::string(HXRT_TEST_PLUGIN_DIR) + "/libhxrt_cpu.so";
#else
  char exe[4096] = {};
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  std::string dir = n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string("./x");
  dir = dir.substr(0, dir.rfind('/'));  // build/bin
  return dir + "/../lib/hxrt/plugins/libhxrt_cpu.so";
#endif
}

class CpuPlugin : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    handle_ = dlopen(plugin_path().c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    negotiate_ = reinterpret_cast<hxrt_plugin_negotiate_fn>(dlsym(handle_, HXRT_PLUGIN_ENTRY_SYMBOL));
    ASSERT_NE(negotiate_, nullptr);
    hxrt_plugin_negotiate_args args{};
    args.struct_size = sizeof(args);
    args.host_abi_major = HXRT_ABI_VERSION_MAJOR;
    args.host_abi_minor = HXRT_ABI_VERSION_MINOR;
    ASSERT_EQ(negotiate_(&args), HXRT_STATUS_OK);
    api_ = args.api;
  }

  void SetUp() override {
    ASSERT_NE(api_, nullptr);
    hxrt_context_create_args c{};
    c.struct_size = sizeof(c);
    const char* keys[] = {"num_threads", "bogus_option"};
    const char* values[] = {"2", "1"};
    c.logger = [](void* user, hxrt_log_level level, const char* message) {
      auto* log = static_cast<std::vector<std::pair<int, std::string>>*>(user);
      log->emplace_back(level, message);
    };
    c.logger_user_data = &log_;
    c.num_options = 2;
    c.option_keys = keys;
    c.option_values = values;
    expect_ok(api_->context_create(&c));
    context_ = c.context;
    hxrt_context_get_devices_args d{};
    d.struct_size = sizeof(d);
    d.context = context_;
    expect_ok(api_->context_get_devices(&d));
    ASSERT_EQ(d.num_devices, 1u);
    device_ = d.devices[0];
  }

  void TearDown() override {
    if (context_) api_->context_destroy(context_);
  }

  void expect_ok(hxrt_plugin_status* s) {
    if (s != nullptr) {
      ADD_FAILURE() << "status " << api_->status_get_code(s) << ": " << api_->status_get_message(s);
      api_->status_destroy(s);
    }
  }
  hxrt_status_code code_of(hxrt_plugin_status* s) {
    hxrt_status_code c = api_->status_get_code(s);
    if (s) api_->status_destroy(s);
    return c;
  }

  hxrt_buffer* allocate(uint64_t bytes) {
    hxrt_buffer_allocate_args a{};
    a.struct_size = sizeof(a);
    a.device = device_;
    a.size_bytes = bytes;
    a.memory_kind = HXRT_MEMORY_DEVICE;
    expect_ok(api_->buffer_allocate(&a));
    return a.buffer;
  }
  hxrt_stream* make_stream() {
    hxrt_stream_create_args a{};
    a.struct_size = sizeof(a);
    a.device = device_;
    expect_ok(api_->stream_create(&a));
    return a.stream;
  }
  // Enqueues a host<->device copy through `entry` (copy_to_device or copy_to_host).
  template <typename Args, typename Src, typename Dst>
  void copy(hxrt_plugin_status* (*entry)(Args*), hxrt_stream* s, Src src, Dst dst, size_t bytes) {
    Args a{};
    a.struct_size = sizeof(a);
    a.stream = s;
    a.src = src;
    a.dst = dst;
    a.size_bytes = bytes;
    expect_ok(entry(&a));
  }
  void upload(hxrt_stream* s, hxrt_buffer* b, const void* src, size_t bytes) {
    copy(api_->copy_to_device, s, src, b, bytes);
  }
  void download(hxrt_stream* s, hxrt_buffer* b, void* dst, size_t bytes) { copy(api_->copy_to_host, s, b, dst, bytes); }

  static void* handle_;
  static hxrt_plugin_negotiate_fn negotiate_;
  static const hxrt_plugin_api* api_;
  std::vector<std::pair<int, std::string>> log_;
  hxrt_plugin_context* context_ = nullptr;
  hxrt_device* device_ = nullptr;
};

void* CpuPlugin::handle_ = nullptr;
hxrt_plugin_negotiate_fn CpuPlugin::negotiate_ = nullptr;
const hxrt_plugin_api* CpuPlugin::api_ = nullptr;

TEST_F(CpuPlugin, NegotiationAndIdentity) {
  hxrt_plugin_negotiate_args args{};
  args.struct_size = sizeof(args);
  args.host_abi_major = 2;
  args.host_abi_minor = 0;
  char message[128] = {};
  args.message = message;
  args.message_capacity = sizeof(message);
  EXPECT_EQ(negotiate_(&args), HXRT_STATUS_VERSION_MISMATCH);
  EXPECT_EQ(args.api, nullptr);
  EXPECT_NE(std::string(message).find("2.0"), std::string::npos) << message;
  const std::string own = std::to_string(HXRT_ABI_VERSION_MAJOR) + "." + std::to_string(HXRT_ABI_VERSION_MINOR);
  EXPECT_NE(std::string(message).find(own), std::string::npos) << message;  // names the plugin's own version too
  // A tiny capacity truncates but terminates.
  char tiny[4] = {'x', 'x', 'x', 'x'};
  args.message = tiny;
  args.message_capacity = sizeof(tiny);
  EXPECT_EQ(negotiate_(&args), HXRT_STATUS_VERSION_MISMATCH);
  EXPECT_EQ(tiny[3], '\0');

  EXPECT_EQ(negotiate_(nullptr), HXRT_STATUS_INVALID_ARGUMENT);
  args.struct_size = offsetof(hxrt_plugin_negotiate_args, message);
  EXPECT_EQ(negotiate_(&args), HXRT_STATUS_INVALID_ARGUMENT);

  // A newer minor is fine.
  hxrt_plugin_negotiate_args ok{};
  ok.struct_size = sizeof(ok);
  ok.host_abi_major = 1;
  ok.host_abi_minor = 7;
  EXPECT_EQ(negotiate_(&ok), HXRT_STATUS_OK);
  ASSERT_NE(ok.api, nullptr);
  EXPECT_EQ(ok.plugin_abi_major, 1u);
  EXPECT_EQ(ok.api->struct_size, sizeof(hxrt_plugin_api));
  EXPECT_STREQ(ok.api->identity->name, "cpu");
  EXPECT_STREQ(ok.api->identity->version, "0.1.0");
  bool has_onednn = false;
  for (size_t i = 0; i < ok.api->identity->num_build_properties; ++i)
    has_onednn = has_onednn || std::string(ok.api->identity->build_property_keys[i]) == "onednn_version";
  EXPECT_TRUE(has_onednn);
}

TEST_F(CpuPlugin, UnknownOptionIsLogged) {
  bool warned = false;
  for (auto& [level, text] : log_)
    if (level == HXRT_LOG_WARNING && text.find("bogus_option") != std::string::npos) warned = true;
  EXPECT_TRUE(warned);
}

TEST_F(CpuPlugin, DeviceProperties) {
  hxrt_device_properties p{};
  p.struct_size = sizeof(p);
  hxrt_device_get_properties_args a{};
  a.struct_size = sizeof(a);
  a.device = device_;
  a.properties = &p;
  expect_ok(api_->device_get_properties(&a));
  EXPECT_EQ(p.kind, HXRT_DEVICE_KIND_CPU);
  EXPECT_GT(p.memory_bytes, 0u);
  EXPECT_GT(p.peak_flops_f32, 0.0);
  EXPECT_EQ(p.host_addressable, 1);
  EXPECT_GT(p.compute_units, 0u);
  ASSERT_NE(p.name, nullptr);
  EXPECT_GT(std::strlen(p.name), 0u);

  // An older, smaller struct: nothing past its size is written.
  struct {
    hxrt_device_properties p;
    char guard[64];
  } small;
  std::memset(&small, 0xAB, sizeof(small));
  small.p.struct_size = offsetof(hxrt_device_properties, kind);
  a.properties = &small.p;
  expect_ok(api_->device_get_properties(&a));
  EXPECT_EQ(small.p.struct_size, offsetof(hxrt_device_properties, kind));
  EXPECT_NE(small.p.name, nullptr);
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(&small.p);
  for (size_t i = offsetof(hxrt_device_properties, kind); i < sizeof(small.p); ++i) ASSERT_EQ(bytes[i], 0xAB) << i;

  hxrt_transfer_costs c{};
  c.struct_size = sizeof(c);
  hxrt_device_get_transfer_costs_args t{};
  t.struct_size = sizeof(t);
  t.device = device_;
  t.costs = &c;
  expect_ok(api_->device_get_transfer_costs(&t));
  EXPECT_GT(c.host_to_device_pageable.bandwidth_bytes_per_s, 1e8);
  EXPECT_GT(c.device_to_host_pinned.latency_ns, 0.0);

  EXPECT_EQ(code_of(api_->device_get_properties(nullptr)), HXRT_STATUS_INVALID_ARGUMENT);
  a.struct_size = 4;
  EXPECT_EQ(code_of(api_->device_get_properties(&a)), HXRT_STATUS_INVALID_ARGUMENT);
}

TEST_F(CpuPlugin, BuffersCopiesStreamsEvents) {
  hxrt_stream* s = make_stream();
  std::vector<float> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i) * 0.5f;
  hxrt_buffer* a = allocate(data.size() * 4);
  hxrt_buffer* b = allocate(data.size() * 4);
  hxrt_buffer* empty = allocate(0);
  ASSERT_NE(empty, nullptr);
  upload(s, a, data.data(), data.size() * 4);
  hxrt_copy_on_device_args on{};
  on.struct_size = sizeof(on);
  on.stream = s;
  on.src = a;
  on.dst = b;
  on.src_offset = 400;
  on.size_bytes = 3600;
  expect_ok(api_->copy_on_device(&on));
  hxrt_event_create_args ec{};
  ec.struct_size = sizeof(ec);
  ec.device = device_;
  expect_ok(api_->event_create(&ec));
  hxrt_event_record_args er{};
  er.struct_size = sizeof(er);
  er.event = ec.event;
  er.stream = s;
  expect_ok(api_->event_record(&er));
  expect_ok(api_->event_synchronize(ec.event));
  hxrt_event_query_args q{};
  q.struct_size = sizeof(q);
  q.event = ec.event;
  expect_ok(api_->event_query(&q));
  EXPECT_NE(q.completed, 0);

  // A second stream waits for the event, then reads b.
  hxrt_stream* s2 = make_stream();
  hxrt_stream_wait_event_args w{};
  w.struct_size = sizeof(w);
  w.stream = s2;
  w.event = ec.event;
  expect_ok(api_->stream_wait_event(&w));
  std::vector<float> back(900, -1.0f);
  download(s2, b, back.data(), back.size() * 4);
  expect_ok(api_->stream_synchronize(s2));
  for (size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], data[i + 100]) << i;

  // Host pointer.
  hxrt_buffer_get_host_pointer_args hp{};
  hp.struct_size = sizeof(hp);
  hp.buffer = a;
  expect_ok(api_->buffer_get_host_pointer(&hp));
  ASSERT_NE(hp.host_pointer, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(hp.host_pointer) % 64, 0u);
  EXPECT_EQ(static_cast<float*>(hp.host_pointer)[10], data[10]);

  // Out of range copies are refused at enqueue.
  hxrt_copy_to_host_args bad{};
  bad.struct_size = sizeof(bad);
  bad.stream = s;
  bad.src = a;
  bad.src_offset = 3990;
  bad.dst = back.data();
  bad.size_bytes = 20;
  EXPECT_EQ(code_of(api_->copy_to_host(&bad)), HXRT_STATUS_OUT_OF_RANGE);
  bad.src_offset = UINT64_MAX;
  EXPECT_EQ(code_of(api_->copy_to_host(&bad)), HXRT_STATUS_OUT_OF_RANGE);

  // Huge allocations fail cleanly.
  hxrt_buffer_allocate_args huge{};
  huge.struct_size = sizeof(huge);
  huge.device = device_;
  huge.size_bytes = uint64_t{1} << 62;
  EXPECT_EQ(code_of(api_->buffer_allocate(&huge)), HXRT_STATUS_RESOURCE_EXHAUSTED);

  EXPECT_EQ(code_of(api_->stream_synchronize(nullptr)), HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(code_of(api_->event_synchronize(nullptr)), HXRT_STATUS_INVALID_ARGUMENT);

  api_->event_destroy(ec.event);
  api_->stream_destroy(s2);
  api_->stream_destroy(s);
  api_->buffer_destroy(empty);
  api_->buffer_destroy(b);
  api_->buffer_destroy(a);
}

// --- Graph building helpers ------------------------------------------------

struct Tensor {
  hxrt_tensor_desc desc{};
  std::vector<int64_t> dims;
  std::vector<float> constant;
  Tensor(std::vector<int64_t> d, std::vector<float> c = {}) : dims(std::move(d)), constant(std::move(c)) {}
  void finalize() {
    desc = hxrt::cpu::test::tensor_desc(HXRT_DTYPE_FLOAT32, dims, constant.empty() ? nullptr : constant.data(),
                                        constant.size() * sizeof(float));
  }
};

struct Attr {
  hxrt_attribute a{};
  std::vector<int64_t> ints;
  static Attr make_ints(const char* name, std::vector<int64_t> v) {
    Attr r;
    r.ints = std::move(v);
    r.a.struct_size = sizeof(r.a);
    r.a.name = name;
    r.a.type = HXRT_ATTRIBUTE_INTS;
    return r;
  }
  static Attr make_int(const char* name, int64_t v) {
    Attr r;
    r.a.struct_size = sizeof(r.a);
    r.a.name = name;
    r.a.type = HXRT_ATTRIBUTE_INT;
    r.a.i = v;
    return r;
  }
};

struct Node {
  hxrt_node_desc desc{};
  hxrt_graph_node gnode{};
  std::string op;
  std::vector<Attr> attrs;
  std::vector<const hxrt_attribute*> attr_ptrs;
  std::vector<int64_t> in, out;
  std::vector<const hxrt_tensor_desc*> in_ptrs, out_ptrs;
};

struct Graph {
  std::vector<Tensor> values;
  std::vector<Node> nodes;
  std::vector<const hxrt_tensor_desc*> value_ptrs;
  std::vector<const hxrt_graph_node*> node_ptrs;
  std::vector<int64_t> inputs, outputs;
  hxrt_graph_desc desc{};

  int64_t value(std::vector<int64_t> dims, std::vector<float> constant = {}) {
    values.emplace_back(std::move(dims), std::move(constant));
    return static_cast<int64_t>(values.size() - 1);
  }
  void node(std::string op, std::vector<int64_t> in, std::vector<int64_t> out, std::vector<Attr> attrs = {}) {
    Node n;
    n.op = std::move(op);
    n.in = std::move(in);
    n.out = std::move(out);
    n.attrs = std::move(attrs);
    nodes.push_back(std::move(n));
  }
  const hxrt_graph_desc* finalize() {
    for (auto& v : values) v.finalize();
    value_ptrs.clear();
    for (auto& v : values) value_ptrs.push_back(&v.desc);
    node_ptrs.clear();
    for (auto& n : nodes) {
      n.attr_ptrs.clear();
      for (auto& a : n.attrs) {
        if (a.a.type == HXRT_ATTRIBUTE_INTS) {
          a.a.ints = a.ints.data();
          a.a.count = a.ints.size();
        }
        n.attr_ptrs.push_back(&a.a);
      }
      n.in_ptrs.clear();
      for (int64_t v : n.in) n.in_ptrs.push_back(v < 0 ? nullptr : &values[static_cast<size_t>(v)].desc);
      n.out_ptrs.clear();
      for (int64_t v : n.out) n.out_ptrs.push_back(&values[static_cast<size_t>(v)].desc);
      n.desc = hxrt::cpu::test::node_desc("", n.op.c_str(), 17, n.attr_ptrs, n.in_ptrs, n.out_ptrs);
      n.gnode.struct_size = sizeof(n.gnode);
      n.gnode.node = &n.desc;
      n.gnode.input_values = n.in.data();
      n.gnode.output_values = n.out.data();
      node_ptrs.push_back(&n.gnode);
    }
    desc.struct_size = sizeof(desc);
    desc.num_values = value_ptrs.size();
    desc.values = value_ptrs.data();
    desc.num_nodes = node_ptrs.size();
    desc.nodes = node_ptrs.data();
    desc.num_inputs = inputs.size();
    desc.input_values = inputs.data();
    desc.num_outputs = outputs.size();
    desc.output_values = outputs.data();
    return &desc;
  }
};

std::vector<float> random_vector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Reference Conv (NCHW, stride 1, pad 1, 3x3) + bias + Relu, in double.
std::vector<double> ref_conv_relu(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                                  int N, int C, int H, int W, int M) {
  std::vector<double> y(static_cast<size_t>(N * M * H * W));
  for (int n = 0; n < N; ++n)
    for (int m = 0; m < M; ++m)
      for (int oh = 0; oh < H; ++oh)
        for (int ow = 0; ow < W; ++ow) {
          double acc = b[static_cast<size_t>(m)];
          for (int c = 0; c < C; ++c)
            for (int kh = 0; kh < 3; ++kh)
              for (int kw = 0; kw < 3; ++kw) {
                int ih = oh + kh - 1, iw = ow + kw - 1;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += static_cast<double>(x[static_cast<size_t>(((n * C + c) * H + ih) * W + iw)]) *
                       w[static_cast<size_t>(((m * C + c) * 3 + kh) * 3 + kw)];
              }
          y[static_cast<size_t>(((n * M + m) * H + oh) * W + ow)] = std::max(acc, 0.0);
        }
  return y;
}

TEST_F(CpuPlugin, CompileAndExecuteConvReluMatMul) {
  std::mt19937 rng(1234);
  const int N = 2, C = 3, H = 7, W = 6, M = 8, O = 5;
  auto w = random_vector(static_cast<size_t>(M * C * 9), rng);
  auto b = random_vector(static_cast<size_t>(M), rng);
  auto wm = random_vector(static_cast<size_t>(W * O), rng);
  Graph g;
  int64_t x = g.value({N, C, H, W});
  int64_t wv = g.value({M, C, 3, 3}, w);
  int64_t bv = g.value({M}, b);
  int64_t conv = g.value({N, M, H, W});
  int64_t relu = g.value({N, M, H, W});
  int64_t mm_w = g.value({W, O});  // runtime input
  int64_t y = g.value({N, M, H, O});
  g.node("Conv", {x, wv, bv}, {conv},
         {Attr::make_ints("pads", {1, 1, 1, 1}), Attr::make_ints("kernel_shape", {3, 3})});
  g.node("Relu", {conv}, {relu});
  g.node("MatMul", {relu, mm_w}, {y});
  g.inputs = {x, mm_w};
  g.outputs = {y, relu};
  const hxrt_graph_desc* desc = g.finalize();

  // Support queries and claim.
  hxrt_query_op_support_args q{};
  q.struct_size = sizeof(q);
  q.device = device_;
  q.node = &g.nodes[0].desc;
  char reason[256];
  q.reason_message = reason;
  q.reason_message_capacity = sizeof(reason);
  expect_ok(api_->query_op_support(&q));
  EXPECT_EQ(q.supported, 1) << reason;
  EXPECT_GT(q.estimated_ns, 0.0);
  EXPECT_TRUE(std::isfinite(q.estimated_ns));
  std::vector<int64_t> groups(3, -7);
  std::vector<double> est(3, -1);
  hxrt_claim_subgraph_args cl{};
  cl.struct_size = sizeof(cl);
  cl.device = device_;
  cl.graph = desc;
  cl.group_of_node = groups.data();
  cl.group_estimated_ns = est.data();
  expect_ok(api_->claim_subgraph(&cl));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(groups[static_cast<size_t>(i)], i);
    EXPECT_GT(est[static_cast<size_t>(i)], 0.0);
  }

  hxrt_executable_compile_args comp{};
  comp.struct_size = sizeof(comp);
  comp.device = device_;
  comp.graph = desc;
  expect_ok(api_->executable_compile(&comp));
  ASSERT_NE(comp.executable, nullptr);
  // The descriptors' storage may go away after compile (R5.4).
  for (auto& t : g.values) std::fill(t.constant.begin(), t.constant.end(), 0.0f);

  auto x_data = random_vector(static_cast<size_t>(N * C * H * W), rng);
  auto wm_data = wm;
  // Reference with the original weights: regenerate from the same seed.
  std::mt19937 rng2(1234);
  auto w_ref = random_vector(static_cast<size_t>(M * C * 9), rng2);
  auto b_ref = random_vector(static_cast<size_t>(M), rng2);
  auto relu_ref = ref_conv_relu(x_data, w_ref, b_ref, N, C, H, W, M);
  std::vector<double> y_ref(static_cast<size_t>(N * M * H * O));
  for (int r = 0; r < N * M * H; ++r)
    for (int o = 0; o < O; ++o) {
      double acc = 0;
      for (int k = 0; k < W; ++k) acc += relu_ref[static_cast<size_t>(r * W + k)] * wm_data[static_cast<size_t>(k * O + o)];
      y_ref[static_cast<size_t>(r * O + o)] = acc;
    }

  // Run it from two streams (two threads) at once.
  hxrt_stream* streams[2] = {make_stream(), make_stream()};
  hxrt_buffer* in_x = allocate(x_data.size() * 4);
  hxrt_buffer* in_w = allocate(wm_data.size() * 4 + 128);
  hxrt_buffer* out_y[2] = {allocate(y_ref.size() * 4), allocate(y_ref.size() * 4)};
  hxrt_buffer* out_r[2] = {allocate(relu_ref.size() * 4), allocate(relu_ref.size() * 4)};
  upload(streams[0], in_x, x_data.data(), x_data.size() * 4);
  hxrt_copy_to_device_args cw{};
  cw.struct_size = sizeof(cw);
  cw.stream = streams[0];
  cw.src = wm_data.data();
  cw.dst = in_w;
  cw.dst_offset = 128;
  cw.size_bytes = wm_data.size() * 4;
  expect_ok(api_->copy_to_device(&cw));
  expect_ok(api_->stream_synchronize(streams[0]));
  for (int rep = 0; rep < 5; ++rep) {
    for (int si = 0; si < 2; ++si) {
      hxrt_buffer* ins[2] = {in_x, in_w};
      uint64_t in_off[2] = {0, 128};
      hxrt_buffer* outs[2] = {out_y[si], out_r[si]};
      hxrt_executable_execute_args ex{};
      ex.struct_size = sizeof(ex);
      ex.executable = comp.executable;
      ex.stream = streams[si];
      ex.num_inputs = 2;
      ex.input_buffers = ins;
      ex.input_offsets = in_off;
      ex.num_outputs = 2;
      ex.output_buffers = outs;
      expect_ok(api_->executable_execute(&ex));
    }
  }
  for (int si = 0; si < 2; ++si) {
    std::vector<float> got_y(y_ref.size()), got_r(relu_ref.size());
    download(streams[si], out_y[si], got_y.data(), got_y.size() * 4);
    download(streams[si], out_r[si], got_r.data(), got_r.size() * 4);
    expect_ok(api_->stream_synchronize(streams[si]));
    for (size_t i = 0; i < y_ref.size(); ++i) ASSERT_NEAR(got_y[i], y_ref[i], 1e-4 + 1e-4 * std::abs(y_ref[i])) << i;
    for (size_t i = 0; i < relu_ref.size(); ++i) ASSERT_NEAR(got_r[i], relu_ref[i], 1e-4) << i;
  }

  // Wrong argument counts and too-small buffers are rejected.
  hxrt_buffer* small = allocate(16);
  hxrt_buffer* ins[2] = {in_x, small};
  hxrt_buffer* outs[2] = {out_y[0], out_r[0]};
  hxrt_executable_execute_args ex{};
  ex.struct_size = sizeof(ex);
  ex.executable = comp.executable;
  ex.stream = streams[0];
  ex.num_inputs = 2;
  ex.input_buffers = ins;
  ex.num_outputs = 2;
  ex.output_buffers = outs;
  EXPECT_EQ(code_of(api_->executable_execute(&ex)), HXRT_STATUS_OUT_OF_RANGE);  // R6: binding past a buffer end
  ex.num_inputs = 1;
  EXPECT_EQ(code_of(api_->executable_execute(&ex)), HXRT_STATUS_INVALID_ARGUMENT);

  api_->buffer_destroy(small);
  for (int si = 0; si < 2; ++si) {
    api_->buffer_destroy(out_y[si]);
    api_->buffer_destroy(out_r[si]);
    api_->stream_destroy(streams[si]);
  }
  api_->buffer_destroy(in_x);
  api_->buffer_destroy(in_w);
  api_->executable_destroy(comp.executable);
}

TEST_F(CpuPlugin, UnsupportedNodeIsReported) {
  Graph g;
  int64_t x = g.value({2, 3});
  int64_t y = g.value({2, 3});
  g.node("NoSuchOp", {x}, {y});
  g.inputs = {x};
  g.outputs = {y};
  const hxrt_graph_desc* desc = g.finalize();
  hxrt_query_op_support_args q{};
  q.struct_size = sizeof(q);
  q.device = device_;
  q.node = &g.nodes[0].desc;
  char reason[256] = {};
  q.reason_message = reason;
  q.reason_message_capacity = sizeof(reason);
  expect_ok(api_->query_op_support(&q));
  EXPECT_EQ(q.supported, 0);
  EXPECT_EQ(q.reason, HXRT_UNSUPPORTED_OP);
  EXPECT_NE(std::string(reason).find("NoSuchOp"), std::string::npos);
  int64_t group = 5;
  hxrt_claim_subgraph_args cl{};
  cl.struct_size = sizeof(cl);
  cl.device = device_;
  cl.graph = desc;
  cl.group_of_node = &group;
  expect_ok(api_->claim_subgraph(&cl));
  EXPECT_EQ(group, -1);
  hxrt_executable_compile_args comp{};
  comp.struct_size = sizeof(comp);
  comp.device = device_;
  comp.graph = desc;
  EXPECT_EQ(code_of(api_->executable_compile(&comp)), HXRT_STATUS_UNIMPLEMENTED);
}

TEST_F(CpuPlugin, EstimatesGrowWithSize) {
  double prev = 0;
  for (int64_t n : {8, 64, 512}) {
    Graph g;
    int64_t a = g.value({n, n});
    int64_t b = g.value({n, n});
    int64_t y = g.value({n, n});
    g.node("MatMul", {a, b}, {y});
    g.finalize();
    hxrt_query_op_support_args q{};
    q.struct_size = sizeof(q);
    q.device = device_;
    q.node = &g.nodes[0].desc;
    expect_ok(api_->query_op_support(&q));
    ASSERT_EQ(q.supported, 1);
    EXPECT_GT(q.estimated_ns, prev);
    prev = q.estimated_ns;
  }
}

}  // namespace
