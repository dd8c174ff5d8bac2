// The plugin through its ABI: negotiation, devices, memory, streams, events,
// copies, error paths and a validation-layer sweep.
#include <cstring>
#include <numeric>
#include <thread>

#include <dlfcn.h>

#include "test_util.hpp"

using namespace vktest;

namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return v;
}

}  // namespace

TEST(VulkanPlugin, NegotiationAndIdentity) {
  const hxrt_plugin_api& a = api();
  EXPECT_STREQ(a.identity->name, "vulkan");
  EXPECT_EQ(a.abi_major, HXRT_ABI_VERSION_MAJOR);
  void* lib = dlopen(plugin_path().c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr);
  auto negotiate = reinterpret_cast<hxrt_plugin_negotiate_fn>(dlsym(lib, HXRT_PLUGIN_ENTRY_SYMBOL));
  hxrt_plugin_negotiate_args args{};
  args.struct_size = sizeof(args);
  args.host_abi_major = HXRT_ABI_VERSION_MAJOR + 1;
  char message[256] = "x";
  args.message = message;
  args.message_capacity = sizeof(message);
  EXPECT_EQ(negotiate(&args), HXRT_STATUS_VERSION_MISMATCH);
  EXPECT_EQ(args.api, nullptr);
  EXPECT_NE(std::string(message).find("2.0"), std::string::npos) << message;
  EXPECT_EQ(negotiate(nullptr), HXRT_STATUS_INVALID_ARGUMENT);
  dlclose(lib);
}

TEST(VulkanPlugin, DevicesAndProperties) {
  Context ctx;
  VK_REQUIRE_DEVICE(ctx);
  for (hxrt_device* d : ctx.devices()) {
    hxrt_device_properties p{};
    p.struct_size = sizeof(p);
    hxrt_device_get_properties_args a{};
    a.struct_size = sizeof(a);
    a.device = d;
    a.properties = &p;
    ASSERT_EQ(take(api().device_get_properties(&a)).code, HXRT_STATUS_OK);
    EXPECT_GT(std::strlen(p.name), 0u);
    EXPECT_GT(p.memory_bytes, 0u);
    EXPECT_GT(p.peak_flops_f32, 0.0);
    EXPECT_GT(p.memory_bandwidth_bytes_per_s, 0.0);
    EXPECT_TRUE(p.kind == HXRT_DEVICE_KIND_CPU || p.kind == HXRT_DEVICE_KIND_GPU || p.kind == HXRT_DEVICE_KIND_OTHER);
    EXPECT_EQ(p.host_addressable, 0);
    hxrt_transfer_costs c{};
    c.struct_size = sizeof(c);
    hxrt_device_get_transfer_costs_args t{};
    t.struct_size = sizeof(t);
    t.device = d;
    t.costs = &c;
    ASSERT_EQ(take(api().device_get_transfer_costs(&t)).code, HXRT_STATUS_OK);
    EXPECT_GT(c.host_to_device_pinned.bandwidth_bytes_per_s, 0.0);
    EXPECT_GE(c.device_to_host_pageable.latency_ns, 0.0);
  }
  bool logged_device = false;
  for (auto& [level, text] : ctx.logs()) logged_device |= level == HXRT_LOG_INFO && text.find("subgroup") != std::string::npos;
  EXPECT_TRUE(logged_device) << "the INFO line with the device's Vulkan limits is missing";
}

TEST(VulkanPlugin, BadArgumentsAreInvalidArgument) {
  const hxrt_plugin_api& a = api();
  EXPECT_EQ(take(a.context_create(nullptr)).code, HXRT_STATUS_INVALID_ARGUMENT);
  hxrt_context_create_args small{};
  EXPECT_EQ(take(a.context_create(&small)).code, HXRT_STATUS_INVALID_ARGUMENT);
  const char* key = "validation";
  const char* bad = "maybe";
  hxrt_context_create_args opt{};
  opt.struct_size = sizeof(opt);
  opt.num_options = 1;
  opt.option_keys = &key;
  opt.option_values = &bad;
  Status s = take(a.context_create(&opt));
  EXPECT_EQ(s.code, HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(s.message.find("validation"), std::string::npos) << s.message;

  Context ctx;
  VK_REQUIRE_DEVICE(ctx);
  hxrt_buffer_allocate_args b{};
  b.struct_size = sizeof(b);
  b.device = ctx.device();
  b.size_bytes = 16;
  b.memory_kind = static_cast<hxrt_memory_kind>(7);
  EXPECT_EQ(take(a.buffer_allocate(&b)).code, HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(b.buffer, nullptr);
  // A handle of the wrong kind is refused, not dereferenced as something else.
  hxrt_stream* stream = make_stream(ctx.device());
  hxrt_stream_create_args sc{};
  sc.struct_size = sizeof(sc);
  sc.device = reinterpret_cast<hxrt_device*>(stream);
  EXPECT_EQ(take(a.stream_create(&sc)).code, HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(take(a.stream_synchronize(nullptr)).code, HXRT_STATUS_INVALID_ARGUMENT);
  hxrt_buffer* buf = allocate(ctx.device(), 16);
  uint8_t host[32] = {};
  EXPECT_EQ(to_device(stream, host, buf, 8, 16).code, HXRT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(to_device(stream, nullptr, buf, 0, 4).code, HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(to_host(stream, buf, UINT64_MAX, host, 2).code, HXRT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(to_device(stream, nullptr, buf, 16, 0).code, HXRT_STATUS_OK);  // empty copy at the end
  // Over capacity: RESOURCE_EXHAUSTED, never a crash.
  b.memory_kind = HXRT_MEMORY_DEVICE;
  b.size_bytes = UINT64_MAX / 2;
  EXPECT_EQ(take(a.buffer_allocate(&b)).code, HXRT_STATUS_RESOURCE_EXHAUSTED);
  // Execute with the wrong number of inputs.
  Node node{"Relu", 14, {Tensor::f32({4}, {1, 2, 3, 4})}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {4})}};
  NodeDesc desc(node);
  hxrt_executable_compile_args c{};
  c.struct_size = sizeof(c);
  c.device = ctx.device();
  c.graph = desc.graph();
  ASSERT_EQ(take(a.executable_compile(&c)).code, HXRT_STATUS_OK);
  hxrt_executable_execute_args e{};
  e.struct_size = sizeof(e);
  e.executable = c.executable;
  e.stream = stream;
  e.num_inputs = 0;
  e.num_outputs = 1;
  e.output_buffers = &buf;
  EXPECT_EQ(take(a.executable_execute(&e)).code, HXRT_STATUS_INVALID_ARGUMENT);
  // A range past the buffer's end.
  hxrt_buffer* ins[1] = {buf};
  uint64_t offsets[1] = {8};
  e.num_inputs = 1;
  e.input_buffers = ins;
  e.input_offsets = offsets;
  EXPECT_EQ(take(a.executable_execute(&e)).code, HXRT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(take(a.stream_synchronize(stream)).code, HXRT_STATUS_OK);
  // Compiling an op the plugin does not run names the node.
  Node unknown{"NonMaxSuppression", 11, {Tensor::f32({4}, {1, 2, 3, 4})}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {4})}};
  NodeDesc udesc(unknown);
  c.graph = udesc.graph();
  s = take(a.executable_compile(&c));
  EXPECT_EQ(s.code, HXRT_STATUS_UNIMPLEMENTED);
  EXPECT_NE(s.message.find("NonMaxSuppression"), std::string::npos) << s.message;
  a.executable_destroy(nullptr);
  a.buffer_destroy(buf);
  a.stream_destroy(stream);
}

TEST(VulkanPlugin, QueryAnswersUnsupportedWithReasons) {
  Context ctx;
  VK_REQUIRE_DEVICE(ctx);
  Support s = query(ctx.device(), {"Relu", 14, {Tensor::empty(HXRT_DTYPE_FLOAT64, {4})}, {Tensor::empty(HXRT_DTYPE_FLOAT64, {4})}});
  EXPECT_FALSE(s.supported);
  EXPECT_EQ(s.reason, HXRT_UNSUPPORTED_DTYPE);
  EXPECT_EQ(s.estimated_ns, 0.0);
  s = query(ctx.device(), {"Conv", 11, {Tensor::empty(HXRT_DTYPE_FLOAT32, {1, 1, 4, 4, 4}), Tensor::empty(HXRT_DTYPE_FLOAT32, {1, 1, 1, 1, 1})},
                           {Tensor::empty(HXRT_DTYPE_FLOAT32, {1, 1, 4, 4, 4})}});
  EXPECT_FALSE(s.supported);
  EXPECT_EQ(s.reason, HXRT_UNSUPPORTED_SHAPE);
  EXPECT_FALSE(s.message.empty());
  s = query(ctx.device(), {"TopK", 11, {Tensor::empty(HXRT_DTYPE_FLOAT32, {4})}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {4})}});
  EXPECT_EQ(s.reason, HXRT_UNSUPPORTED_OP);
  s = query(ctx.device(), {"Relu", 99, {Tensor::empty(HXRT_DTYPE_FLOAT32, {4})}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {4})}});
  EXPECT_EQ(s.reason, HXRT_UNSUPPORTED_OPSET);
  // Monotone estimates: a larger MatMul never costs less.
  double last = 0;
  for (int64_t n : {8, 64, 256, 1024}) {
    Support m = query(ctx.device(), {"MatMul", 13, {Tensor::empty(HXRT_DTYPE_FLOAT32, {n, n}), Tensor::empty(HXRT_DTYPE_FLOAT32, {n, n})},
                                     {Tensor::empty(HXRT_DTYPE_FLOAT32, {n, n})}});
    ASSERT_TRUE(m.supported) << m.message;
    EXPECT_GE(m.estimated_ns, last);
    last = m.estimated_ns;
  }
}

TEST(VulkanPlugin, CopiesRoundTripAtUnalignedOffsets) {
  Context ctx;
  VK_REQUIRE_DEVICE(ctx);
  hxrt_device* d = ctx.device();
  hxrt_stream* s = make_stream(d);
  const size_t n = 1000;
  hxrt_buffer* a = allocate(d, 4096);
  hxrt_buffer* b = allocate(d, 4096);
  hxrt_buffer* pinned = allocate(d, 4096, HXRT_MEMORY_HOST_PINNED);
  hxrt_buffer_get_host_pointer_args hp{};
  hp.struct_size = sizeof(hp);
  hp.buffer = pinned;
  ASSERT_EQ(take(api().buffer_get_host_pointer(&hp)).code, HXRT_STATUS_OK);
  ASSERT_NE(hp.host_pointer, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(hp.host_pointer) % 64, 0u);
  hp.buffer = a;
  ASSERT_EQ(take(api().buffer_get_host_pointer(&hp)).code, HXRT_STATUS_OK);
  EXPECT_EQ(hp.host_pointer, nullptr);  // device memory is not host-addressable
  hp.buffer = pinned;
  ASSERT_EQ(take(api().buffer_get_host_pointer(&hp)).code, HXRT_STATUS_OK);
  auto* pinned_bytes = static_cast<uint8_t*>(hp.host_pointer);

  std::vector<uint8_t> src = pattern(n, 3), back(n + 2, 0), via_pinned(n, 0);
  // Pageable src at an odd offset, device-to-device at other odd offsets, back at another.
  ASSERT_EQ(to_device(s, src.data(), a, 3, n).code, HXRT_STATUS_OK);
  ASSERT_EQ(on_device(s, a, 3, b, 1001, n).code, HXRT_STATUS_OK);
  ASSERT_EQ(to_host(s, b, 1001, back.data() + 1, n).code, HXRT_STATUS_OK);
  // The pinned path: device -> pinned buffer (direct), pinned -> device.
  ASSERT_EQ(to_host(s, b, 1001, pinned_bytes + 5, n).code, HXRT_STATUS_OK);
  ASSERT_EQ(to_device(s, pinned_bytes + 5, a, 2000, n).code, HXRT_STATUS_OK);
  ASSERT_EQ(to_host(s, a, 2000, via_pinned.data(), n).code, HXRT_STATUS_OK);
  Status st = take(api().stream_synchronize(s));
  ASSERT_EQ(st.code, HXRT_STATUS_OK) << st.message;
  EXPECT_EQ(back[0], 0);
  EXPECT_EQ(back[n + 1], 0);
  EXPECT_EQ(std::vector<uint8_t>(back.begin() + 1, back.begin() + 1 + n), src);
  EXPECT_EQ(std::vector<uint8_t>(pinned_bytes + 5, pinned_bytes + 5 + n), src);
  EXPECT_EQ(via_pinned, src);
  // Zero-size buffers are usable.
  hxrt_buffer* zero = allocate(d, 0);
  EXPECT_EQ(to_device(s, nullptr, zero, 0, 0).code, HXRT_STATUS_OK);
  EXPECT_EQ(to_device(s, src.data(), zero, 0, 1).code, HXRT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(take(api().stream_synchronize(s)).code, HXRT_STATUS_OK);
  for (hxrt_buffer* x : {a, b, pinned, zero}) api().buffer_destroy(x);
  api().stream_destroy(s);
}

TEST(VulkanPlugin, EventsOrderStreams) {
  Context ctx;
  VK_REQUIRE_DEVICE(ctx);
  hxrt_device* d = ctx.device();
  hxrt_stream* s1 = make_stream(d);
  hxrt_stream* s2 = make_stream(d);
  hxrt_event* e = make_event(d);
  // A never-recorded event is complete and carries no error.
  hxrt_event_query_args q{};
  q.struct_size = sizeof(q);
  q.event = e;
  ASSERT_EQ(take(api().event_query(&q)).code, HXRT_STATUS_OK);
  EXPECT_NE(q.completed, 0);
  EXPECT_EQ(take(api().event_synchronize(e)).code, HXRT_STATUS_OK);
  hxrt_stream_wait_event_args w{};
  w.struct_size = sizeof(w);
  w.stream = s2;
  w.event = e;
  EXPECT_EQ(take(api().stream_wait_event(&w)).code, HXRT_STATUS_OK);

  const size_t n = size_t{4} << 20;  // long enough that s2 would overtake s1 without the wait
  hxrt_buffer* a = allocate(d, n);
  hxrt_buffer* b = allocate(d, n);
  std::vector<uint8_t> src = pattern(n, 11), out(n, 0);
  for (int round = 0; round < 3; ++round) {
    src[0] = static_cast<uint8_t>(round);
    ASSERT_EQ(to_device(s1, src.data(), a, 0, n).code, HXRT_STATUS_OK);
    ASSERT_EQ(on_device(s1, a, 0, b, 0, n).code, HXRT_STATUS_OK);
    hxrt_event_record_args r{};
    r.struct_size = sizeof(r);
    r.event = e;
    r.stream = s1;
    ASSERT_EQ(take(api().event_record(&r)).code, HXRT_STATUS_OK);
    ASSERT_EQ(take(api().stream_wait_event(&w)).code, HXRT_STATUS_OK);
    ASSERT_EQ(to_host(s2, b, 0, out.data(), n).code, HXRT_STATUS_OK);
    hxrt_event* done = make_event(d);
    r.event = done;
    r.stream = s2;
    ASSERT_EQ(take(api().event_record(&r)).code, HXRT_STATUS_OK);
    EXPECT_EQ(take(api().event_synchronize(done)).code, HXRT_STATUS_OK);
    q.event = done;
    ASSERT_EQ(take(api().event_query(&q)).code, HXRT_STATUS_OK);
    EXPECT_NE(q.completed, 0);
    EXPECT_EQ(out, src) << "round " << round;
    api().event_destroy(done);
  }
  // Recording on a stream of another device is refused; several threads may enqueue at once.
  std::vector<std::thread> threads;
  std::vector<std::vector<uint8_t>> results(4, std::vector<uint8_t>(256));
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<uint8_t> mine = pattern(256, static_cast<uint8_t>(t));
      EXPECT_EQ(to_device(s1, mine.data(), a, 4096 * t, 256).code, HXRT_STATUS_OK);
      EXPECT_EQ(to_host(s1, a, 4096 * t, results[t].data(), 256).code, HXRT_STATUS_OK);
      EXPECT_EQ(take(api().stream_synchronize(s1)).code, HXRT_STATUS_OK);
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(results[t], pattern(256, static_cast<uint8_t>(t)));
  api().event_destroy(e);
  for (hxrt_buffer* x : {a, b}) api().buffer_destroy(x);
  api().stream_destroy(s1);
  api().stream_destroy(s2);
}

TEST(VulkanPlugin, ExecutableRunsConcurrentlyOnTwoStreams) {
  Context ctx;
  VK_REQUIRE_DEVICE(ctx);
  hxrt_device* d = ctx.device();
  // Two nodes (an intermediate in the per-run arena) in one graph: y = relu(x) * x.
  int64_t dims[1] = {4096};
  hxrt_tensor_desc t{sizeof(hxrt_tensor_desc), HXRT_DTYPE_FLOAT32, 1, dims, nullptr, 0};
  const hxrt_tensor_desc* values[3] = {&t, &t, &t};
  const hxrt_tensor_desc* one[1] = {&t};
  const hxrt_tensor_desc* two[2] = {&t, &t};
  hxrt_node_desc relu{sizeof(hxrt_node_desc), "r", "", "Relu", 14, 0, nullptr, 1, one, 1, one};
  hxrt_node_desc mul{sizeof(hxrt_node_desc), "m", "", "Mul", 14, 0, nullptr, 2, two, 1, one};
  int64_t relu_in[1] = {0}, relu_out[1] = {1}, mul_in[2] = {1, 0}, mul_out[1] = {2};
  hxrt_graph_node g0{sizeof(hxrt_graph_node), &relu, relu_in, relu_out};
  hxrt_graph_node g1{sizeof(hxrt_graph_node), &mul, mul_in, mul_out};
  const hxrt_graph_node* nodes[2] = {&g0, &g1};
  int64_t inputs[1] = {0}, outputs[1] = {2};
  hxrt_graph_desc graph{sizeof(hxrt_graph_desc), 3, values, 2, nodes, 1, inputs, 1, outputs};
  hxrt_executable_compile_args c{};
  c.struct_size = sizeof(c);
  c.device = d;
  c.graph = &graph;
  Status st = take(api().executable_compile(&c));
  ASSERT_EQ(st.code, HXRT_STATUS_OK) << st.message;
  std::vector<float> x = random_floats(4096, 5);
  std::vector<double> want(4096);
  for (size_t i = 0; i < x.size(); ++i) want[i] = std::max<double>(x[i], 0.0) * x[i];
  hxrt_stream* streams[2] = {make_stream(d), make_stream(d)};
  hxrt_buffer* in = allocate(d, 4096 * 4);
  hxrt_buffer* out = allocate(d, 2 * 4096 * 4);
  ASSERT_EQ(to_device(streams[0], x.data(), in, 0, 4096 * 4).code, HXRT_STATUS_OK);
  ASSERT_EQ(take(api().stream_synchronize(streams[0])).code, HXRT_STATUS_OK);
  std::vector<std::vector<float>> got(2, std::vector<float>(4096));
  for (int k = 0; k < 2; ++k) {
    uint64_t out_offset = k * 4096 * 4;
    hxrt_executable_execute_args e{};
    e.struct_size = sizeof(e);
    e.executable = c.executable;
    e.stream = streams[k];
    e.num_inputs = 1;
    e.input_buffers = &in;
    e.num_outputs = 1;
    e.output_buffers = &out;
    e.output_offsets = &out_offset;
    ASSERT_EQ(take(api().executable_execute(&e)).code, HXRT_STATUS_OK);
    ASSERT_EQ(to_host(streams[k], out, out_offset, got[k].data(), 4096 * 4).code, HXRT_STATUS_OK);
  }
  for (int k = 0; k < 2; ++k) {
    ASSERT_EQ(take(api().stream_synchronize(streams[k])).code, HXRT_STATUS_OK);
    EXPECT_TRUE(all_close(got[k], want));
  }
  api().executable_destroy(c.executable);
  api().buffer_destroy(in);
  api().buffer_destroy(out);
  for (auto* s : streams) api().stream_destroy(s);
}

// Every kernel once under VK_LAYER_KHRONOS_validation: no errors reported.
TEST(VulkanPlugin, ValidationLayerReportsNoErrors) {
  setenv("VK_INSTANCE_LAYERS", "VK_LAYER_KHRONOS_validation", 1);
  Context ctx(Options{{"validation", "1"}});
  unsetenv("VK_INSTANCE_LAYERS");
  VK_REQUIRE_DEVICE(ctx);
  for (auto& [level, text] : ctx.logs())
    if (text.find("VK_LAYER_KHRONOS_validation is not installed") != std::string::npos)
      GTEST_SKIP() << "the validation layer is not installed";
  hxrt_device* d = ctx.device();
  std::vector<float> x = random_floats(2 * 3 * 8 * 8, 1), w = random_floats(4 * 3 * 3 * 3, 2);
  std::vector<Node> sweep = {
      {"MatMul", 13, {Tensor::f32({70, 33}, random_floats(70 * 33, 3)), Tensor::f32({33, 65}, random_floats(33 * 65, 4))},
       {Tensor::empty(HXRT_DTYPE_FLOAT32, {70, 65})}},
      {"Conv", 11, {Tensor::f32({2, 3, 8, 8}, x), Tensor::f32({4, 3, 3, 3}, w, true)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 4, 6, 6})}},
      {"ConvTranspose", 11, {Tensor::f32({2, 3, 8, 8}, x), Tensor::f32({3, 2, 3, 3}, random_floats(54, 5), true)},
       {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 2, 10, 10})}},
      {"Softmax", 13, {Tensor::f32({2, 3, 8, 8}, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 8, 8})}},
      {"ReduceMean", 13, {Tensor::f32({2, 3, 8, 8}, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 1, 1})}, {Attr::Ints("axes", {2, 3})}},
      {"MaxPool", 12, {Tensor::f32({2, 3, 8, 8}, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 4, 4})}, {Attr::Ints("kernel_shape", {2, 2}), Attr::Ints("strides", {2, 2})}},
      {"Add", 14, {Tensor::f32({2, 3, 8, 8}, x), Tensor::f32({8}, random_floats(8, 6))}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 8, 8})}},
      {"Sigmoid", 13, {Tensor::f32({2, 3, 8, 8}, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 8, 8})}},
      {"Transpose", 13, {Tensor::f32({2, 3, 8, 8}, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {8, 8, 3, 2})}},
      {"Gather", 13, {Tensor::f32({2, 3, 8, 8}, x), Tensor::i64({2}, {1, -1}, false)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 8, 8})}, {Attr::Int("axis", 1)}},
      {"LayerNormalization", 17, {Tensor::f32({2, 3, 8, 8}, x), Tensor::f32({8}, random_floats(8, 7), true)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 8, 8})}},
      {"Reshape", 14, {Tensor::f32({2, 3, 8, 8}, x), Tensor::i64({2}, {6, 64})}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {6, 64})}},
  };
  for (Node& node : sweep) run(d, node);
  ctx.destroy();
  expect_no_validation_errors(ctx);
}
