// ABI-level tests of the CUDA plugin: dlopen the built module and drive it
// only through the C function table, as the host does. Op results are
// compared with double-precision references computed here.
//
// Without a CUDA device (CI) the plugin must still load, create a context and
// report zero devices with the reason; the device tests then skip.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "hxrt/plugin_abi.h"

namespace {

std::string plugin_path() {
  if (const char* dir = std::getenv("HXRT_PLUGIN_DIR"); dir != nullptr && *dir != '\0')
    return std::string(dir) + "/libhxrt_cuda.so";
  return std::string(HXRT_TEST_PLUGIN_DIR) + "/libhxrt_cuda.so";
}

// ---------------------------------------------------------------------------
// float16 on the host (round to nearest even), for fp16 inputs and outputs.
// ---------------------------------------------------------------------------
uint16_t to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (exp <= 0) {
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float from_half(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, x;
  if (exp == 0) {
    if (mant == 0) x = sign;
    else {
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      x = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// ---------------------------------------------------------------------------
// A graph description that owns its storage.
// ---------------------------------------------------------------------------
class Graph {
 public:
  int value(hxrt_dtype dtype, std::vector<int64_t> dims) {
    values_.push_back({dtype, std::move(dims), {}, false, {}});
    return static_cast<int>(values_.size() - 1);
  }
  int input(hxrt_dtype dtype, std::vector<int64_t> dims) {
    int v = value(dtype, std::move(dims));
    inputs_.push_back(v);
    return v;
  }
  int constant(hxrt_dtype dtype, std::vector<int64_t> dims, const void* data, size_t bytes) {
    int v = value(dtype, std::move(dims));
    auto p = static_cast<const uint8_t*>(data);
    values_[static_cast<size_t>(v)].data.assign(p, p + bytes);
    values_[static_cast<size_t>(v)].constant = true;
    return v;
  }
  int constant_f(std::vector<int64_t> dims, const std::vector<float>& data) {
    return constant(HXRT_DTYPE_FLOAT32, std::move(dims), data.data(), data.size() * 4);
  }
  int constant_i(std::vector<int64_t> dims, const std::vector<int64_t>& data) {
    return constant(HXRT_DTYPE_INT64, std::move(dims), data.data(), data.size() * 8);
  }
  void output(int v) { outputs_.push_back(v); }

  struct Node {
    std::string op;
    int64_t opset;
    std::vector<int64_t> in, out;
    struct Attr {
      std::string name, str;
      hxrt_attribute_type type;
      float f = 0;
      int64_t i = 0;
      std::vector<int64_t> ints;
      std::vector<float> floats;
      hxrt_attribute a{};
    };
    std::deque<Attr> attrs;
    Node& attr(const std::string& n, int64_t v) {
      attrs.push_back({n, "", HXRT_ATTRIBUTE_INT, 0, v, {}, {}, {}});
      return *this;
    }
    Node& attr_f(const std::string& n, float v) {
      attrs.push_back({n, "", HXRT_ATTRIBUTE_FLOAT, v, 0, {}, {}, {}});
      return *this;
    }
    Node& attr_s(const std::string& n, const std::string& v) {
      attrs.push_back({n, v, HXRT_ATTRIBUTE_STRING, 0, 0, {}, {}, {}});
      return *this;
    }
    Node& attr(const std::string& n, std::vector<int64_t> v) {
      attrs.push_back({n, "", HXRT_ATTRIBUTE_INTS, 0, 0, std::move(v), {}, {}});
      return *this;
    }
  };
  Node& node(std::string op, int64_t opset, std::vector<int64_t> in, std::vector<int64_t> out) {
    nodes_.push_back({std::move(op), opset, std::move(in), std::move(out), {}});
    return nodes_.back();
  }

  const hxrt_graph_desc* build() {
    tensor_ptrs_.clear();
    for (auto& v : values_) {
      v.desc = {};
      v.desc.struct_size = sizeof(hxrt_tensor_desc);
      v.desc.dtype = v.dtype;
      v.desc.rank = v.dims.size();
      v.desc.dims = v.dims.data();
      if (v.constant) {
        v.desc.constant_data = v.data.data();
        v.desc.constant_size_bytes = v.data.size();
      }
      tensor_ptrs_.push_back(&v.desc);
    }
    node_descs_.clear();
    graph_nodes_.clear();
    lists_.clear();
    attr_lists_.clear();
    for (auto& n : nodes_) {
      attr_lists_.emplace_back();
      for (auto& a : n.attrs) {
        a.a = {};
        a.a.struct_size = sizeof(hxrt_attribute);
        a.a.name = a.name.c_str();
        a.a.type = a.type;
        a.a.f = a.f;
        a.a.i = a.i;
        a.a.s = a.str.data();
        a.a.s_size = a.str.size();
        a.a.count = a.ints.size();
        a.a.ints = a.ints.data();
        attr_lists_.back().push_back(&a.a);
      }
      lists_.emplace_back();
      for (int64_t v : n.in) lists_.back().push_back(v >= 0 ? tensor_ptrs_[static_cast<size_t>(v)] : nullptr);
      auto& ins = lists_.back();
      lists_.emplace_back();
      for (int64_t v : n.out) lists_.back().push_back(v >= 0 ? tensor_ptrs_[static_cast<size_t>(v)] : nullptr);
      auto& outs = lists_.back();
      hxrt_node_desc d{};
      d.struct_size = sizeof(d);
      d.name = "";
      d.domain = "";
      d.op_type = n.op.c_str();
      d.opset_version = n.opset;
      d.num_attributes = attr_lists_.back().size();
      d.attributes = attr_lists_.back().data();
      d.num_inputs = n.in.size();
      d.inputs = ins.data();
      d.num_outputs = n.out.size();
      d.outputs = outs.data();
      node_descs_.push_back(d);
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      hxrt_graph_node gn{};
      gn.struct_size = sizeof(gn);
      gn.node = &node_descs_[i];
      gn.input_values = nodes_[i].in.data();
      gn.output_values = nodes_[i].out.data();
      graph_nodes_.push_back(gn);
    }
    node_ptrs_.clear();
    for (auto& gn : graph_nodes_) node_ptrs_.push_back(&gn);
    in64_.assign(inputs_.begin(), inputs_.end());
    out64_.assign(outputs_.begin(), outputs_.end());
    desc_ = {};
    desc_.struct_size = sizeof(desc_);
    desc_.num_values = values_.size();
    desc_.values = tensor_ptrs_.data();
    desc_.num_nodes = node_ptrs_.size();
    desc_.nodes = node_ptrs_.data();
    desc_.num_inputs = in64_.size();
    desc_.input_values = in64_.data();
    desc_.num_outputs = out64_.size();
    desc_.output_values = out64_.data();
    return &desc_;
  }

  size_t bytes_of(int v) const {
    const auto& val = values_[static_cast<size_t>(v)];
    size_t n = 1;
    for (int64_t d : val.dims) n *= static_cast<size_t>(d);
    size_t es = val.dtype == HXRT_DTYPE_FLOAT16 || val.dtype == HXRT_DTYPE_BFLOAT16 ? 2
                : val.dtype == HXRT_DTYPE_INT64 ? 8
                : val.dtype == HXRT_DTYPE_BOOL  ? 1
                                                : 4;
    return n * es;
  }
  const std::vector<int>& inputs() const { return inputs_; }
  const std::vector<int>& outputs() const { return outputs_; }

 private:
  struct Value {
    hxrt_dtype dtype;
    std::vector<int64_t> dims;
    std::vector<uint8_t> data;
    bool constant;
    hxrt_tensor_desc desc;
  };
  std::deque<Value> values_;
  std::deque<Node> nodes_;
  std::vector<int> inputs_, outputs_;
  std::vector<const hxrt_tensor_desc*> tensor_ptrs_;
  std::deque<hxrt_node_desc> node_descs_;
  std::deque<hxrt_graph_node> graph_nodes_;
  std::deque<std::vector<const hxrt_tensor_desc*>> lists_;
  std::deque<std::vector<const hxrt_attribute*>> attr_lists_;
  std::vector<const hxrt_graph_node*> node_ptrs_;
  std::vector<int64_t> in64_, out64_;
  hxrt_graph_desc desc_{};
};

std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

template <typename T>
std::vector<uint8_t> bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}
std::vector<float> floats(const std::vector<uint8_t>& b) {
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

// ||out - ref|| / ||ref||, NaN never passes.
double relative_error(const std::vector<float>& out, const std::vector<double>& ref) {
  if (out.size() != ref.size()) return 1e30;
  double num = 0, den = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return 1e30;
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

// ---------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------
class CudaPlugin : public ::testing::Test {
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

  void SetUp() override { create({{"bogus_option", "1"}}); }

  void create(const std::vector<std::pair<std::string, std::string>>& options) {
    ASSERT_NE(api_, nullptr);
    if (context_ != nullptr) api_->context_destroy(context_);
    context_ = nullptr;
    device_ = nullptr;
    log_.clear();
    std::vector<const char*> keys, values;
    for (auto& [k, v] : options) {
      keys.push_back(k.c_str());
      values.push_back(v.c_str());
    }
    hxrt_context_create_args c{};
    c.struct_size = sizeof(c);
    c.logger = [](void* user, hxrt_log_level level, const char* message) {
      static_cast<std::vector<std::pair<int, std::string>>*>(user)->emplace_back(level, message);
    };
    c.logger_user_data = &log_;
    c.num_options = keys.size();
    c.option_keys = keys.data();
    c.option_values = values.data();
    expect_ok(api_->context_create(&c));
    context_ = c.context;
    ASSERT_NE(context_, nullptr);
    hxrt_context_get_devices_args d{};
    d.struct_size = sizeof(d);
    d.context = context_;
    expect_ok(api_->context_get_devices(&d));
    if (d.num_devices > 0) device_ = d.devices[0];
  }

  // The reason the plugin logged for having no device.
  std::string no_device_reason() const {
    for (auto& [level, text] : log_)
      if (level == HXRT_LOG_WARNING && text.find("no CUDA device") != std::string::npos) return text;
    return "(no reason logged)";
  }

#define REQUIRE_DEVICE() \
  if (device_ == nullptr) GTEST_SKIP() << "no CUDA device: " << no_device_reason()

  void TearDown() override {
    if (context_) api_->context_destroy(context_);
    context_ = nullptr;
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

  hxrt_buffer* allocate(uint64_t bytes, hxrt_memory_kind kind = HXRT_MEMORY_DEVICE) {
    hxrt_buffer_allocate_args a{};
    a.struct_size = sizeof(a);
    a.device = device_;
    a.size_bytes = bytes;
    a.memory_kind = kind;
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
  hxrt_event* make_event() {
    hxrt_event_create_args a{};
    a.struct_size = sizeof(a);
    a.device = device_;
    expect_ok(api_->event_create(&a));
    return a.event;
  }
  hxrt_status_code upload(hxrt_stream* s, hxrt_buffer* b, const void* src, size_t bytes, uint64_t offset = 0) {
    hxrt_copy_to_device_args a{};
    a.struct_size = sizeof(a);
    a.stream = s;
    a.src = src;
    a.dst = b;
    a.dst_offset = offset;
    a.size_bytes = bytes;
    return code_of(api_->copy_to_device(&a));
  }
  hxrt_status_code download(hxrt_stream* s, hxrt_buffer* b, void* dst, size_t bytes, uint64_t offset = 0) {
    hxrt_copy_to_host_args a{};
    a.struct_size = sizeof(a);
    a.stream = s;
    a.src = b;
    a.src_offset = offset;
    a.dst = dst;
    a.size_bytes = bytes;
    return code_of(api_->copy_to_host(&a));
  }

  hxrt_executable* compile(Graph& g) {
    hxrt_executable_compile_args a{};
    a.struct_size = sizeof(a);
    a.device = device_;
    a.graph = g.build();
    expect_ok(api_->executable_compile(&a));
    return a.executable;
  }

  // Compiles `g`, runs it `runs` times on the given inputs (fresh inputs per
  // run come from `inputs_for_run` when set) and returns the last outputs.
  std::vector<std::vector<uint8_t>> run(Graph& g, const std::vector<std::vector<uint8_t>>& inputs, int runs = 1) {
    hxrt_executable* exe = compile(g);
    if (exe == nullptr) return {};
    hxrt_stream* s = make_stream();
    std::vector<hxrt_buffer*> in, out;
    for (size_t i = 0; i < g.inputs().size(); ++i) {
      in.push_back(allocate(g.bytes_of(g.inputs()[i])));
      EXPECT_EQ(upload(s, in.back(), inputs[i].data(), inputs[i].size()), HXRT_STATUS_OK);
    }
    for (int v : g.outputs()) out.push_back(allocate(g.bytes_of(v)));
    std::vector<std::vector<uint8_t>> results(out.size());
    for (int r = 0; r < runs; ++r) {
      // Poison the outputs so an unwritten element shows.
      for (size_t i = 0; i < out.size(); ++i) {
        std::vector<uint8_t> poison(g.bytes_of(g.outputs()[i]), 0xff);
        EXPECT_EQ(upload(s, out[i], poison.data(), poison.size()), HXRT_STATUS_OK);
      }
      hxrt_executable_execute_args e{};
      e.struct_size = sizeof(e);
      e.executable = exe;
      e.stream = s;
      e.num_inputs = in.size();
      e.input_buffers = in.data();
      e.num_outputs = out.size();
      e.output_buffers = out.data();
      expect_ok(api_->executable_execute(&e));
    }
    for (size_t i = 0; i < out.size(); ++i) {
      results[i].resize(g.bytes_of(g.outputs()[i]));
      EXPECT_EQ(download(s, out[i], results[i].data(), results[i].size()), HXRT_STATUS_OK);
    }
    expect_ok(api_->stream_synchronize(s));
    for (auto* b : in) api_->buffer_destroy(b);
    for (auto* b : out) api_->buffer_destroy(b);
    api_->stream_destroy(s);
    api_->executable_destroy(exe);
    return results;
  }

  static void* handle_;
  static hxrt_plugin_negotiate_fn negotiate_;
  static const hxrt_plugin_api* api_;
  std::vector<std::pair<int, std::string>> log_;
  hxrt_plugin_context* context_ = nullptr;
  hxrt_device* device_ = nullptr;
};

void* CudaPlugin::handle_ = nullptr;
hxrt_plugin_negotiate_fn CudaPlugin::negotiate_ = nullptr;
const hxrt_plugin_api* CudaPlugin::api_ = nullptr;

// ---------------------------------------------------------------------------
// Tests that need no device (these run in CI).
// ---------------------------------------------------------------------------

TEST_F(CudaPlugin, NegotiationAndIdentity) {
  hxrt_plugin_negotiate_args args{};
  args.struct_size = sizeof(args);
  args.host_abi_major = 2;
  char message[160] = {};
  args.message = message;
  args.message_capacity = sizeof(message);
  EXPECT_EQ(negotiate_(&args), HXRT_STATUS_VERSION_MISMATCH);
  EXPECT_EQ(args.api, nullptr);
  EXPECT_NE(std::string(message).find("2.0"), std::string::npos) << message;
  const std::string own = std::to_string(HXRT_ABI_VERSION_MAJOR) + "." + std::to_string(HXRT_ABI_VERSION_MINOR);
  EXPECT_NE(std::string(message).find(own), std::string::npos) << message;
  EXPECT_EQ(negotiate_(nullptr), HXRT_STATUS_INVALID_ARGUMENT);
  hxrt_plugin_negotiate_args ok{};
  ok.struct_size = sizeof(ok);
  ok.host_abi_major = 1;
  ok.host_abi_minor = 9;
  ASSERT_EQ(negotiate_(&ok), HXRT_STATUS_OK);
  EXPECT_STREQ(ok.api->identity->name, "cuda");
  bool has_toolkit = false;
  for (size_t i = 0; i < ok.api->identity->num_build_properties; ++i)
    has_toolkit = has_toolkit || std::string(ok.api->identity->build_property_keys[i]) == "cuda_toolkit";
  EXPECT_TRUE(has_toolkit);
}

TEST_F(CudaPlugin, ZeroDevicesComeWithAReason) {
  if (device_ != nullptr) GTEST_SKIP() << "a CUDA device is present";
  // No driver or GPU: the context exists, has no devices and says why (R4.1).
  EXPECT_NE(no_device_reason(), "(no reason logged)");
  EXPECT_NE(no_device_reason().find("cuda"), std::string::npos);
}

TEST_F(CudaPlugin, OptionsAreChecked) {
  bool warned = false;
  for (auto& [level, text] : log_) warned = warned || (level == HXRT_LOG_WARNING && text.find("bogus_option") != std::string::npos);
  EXPECT_TRUE(warned);
  const char* keys[] = {"allow_tf32"};
  const char* values[] = {"maybe"};
  hxrt_context_create_args c{};
  c.struct_size = sizeof(c);
  c.num_options = 1;
  c.option_keys = keys;
  c.option_values = values;
  EXPECT_EQ(code_of(api_->context_create(&c)), HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(c.context, nullptr);
}

TEST_F(CudaPlugin, InvalidArgumentsNeverCrash) {
  EXPECT_EQ(code_of(api_->context_create(nullptr)), HXRT_STATUS_INVALID_ARGUMENT);
  hxrt_context_get_devices_args d{};
  EXPECT_EQ(code_of(api_->context_get_devices(&d)), HXRT_STATUS_INVALID_ARGUMENT);  // struct_size 0
  EXPECT_EQ(code_of(api_->buffer_allocate(nullptr)), HXRT_STATUS_INVALID_ARGUMENT);
  hxrt_buffer_allocate_args b{};
  b.struct_size = sizeof(b);
  EXPECT_EQ(code_of(api_->buffer_allocate(&b)), HXRT_STATUS_INVALID_ARGUMENT);  // NULL device
  EXPECT_EQ(code_of(api_->stream_synchronize(nullptr)), HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(code_of(api_->event_synchronize(nullptr)), HXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(code_of(api_->executable_execute(nullptr)), HXRT_STATUS_INVALID_ARGUMENT);
  api_->buffer_destroy(nullptr);
  api_->stream_destroy(nullptr);
  api_->event_destroy(nullptr);
  api_->executable_destroy(nullptr);
}

// ---------------------------------------------------------------------------
// Device tests.
// ---------------------------------------------------------------------------

TEST_F(CudaPlugin, DeviceProperties) {
  REQUIRE_DEVICE();
  hxrt_device_properties p{};
  p.struct_size = sizeof(p);
  hxrt_device_get_properties_args a{};
  a.struct_size = sizeof(a);
  a.device = device_;
  a.properties = &p;
  expect_ok(api_->device_get_properties(&a));
  EXPECT_EQ(p.kind, HXRT_DEVICE_KIND_GPU);
  EXPECT_GT(p.memory_bytes, 0u);
  EXPECT_GT(p.compute_units, 0u);
  EXPECT_GT(p.peak_flops_f32, 1e12);
  EXPECT_GT(p.memory_bandwidth_bytes_per_s, 1e11);
  EXPECT_EQ(p.host_addressable, 0);
  EXPECT_EQ(p.max_allocation_bytes, p.memory_bytes);  // since ABI 1.1
  hxrt_transfer_costs c{};
  c.struct_size = sizeof(c);
  hxrt_device_get_transfer_costs_args t{};
  t.struct_size = sizeof(t);
  t.device = device_;
  t.costs = &c;
  expect_ok(api_->device_get_transfer_costs(&t));
  for (auto l : {c.host_to_device_pinned, c.host_to_device_pageable, c.device_to_host_pinned, c.device_to_device}) {
    EXPECT_GT(l.bandwidth_bytes_per_s, 1e9);
    EXPECT_GE(l.latency_ns, 0.0);
  }
}

TEST_F(CudaPlugin, BuffersCopiesAndBounds) {
  REQUIRE_DEVICE();
  std::mt19937 rng(std::random_device{}());
  hxrt_stream* s = make_stream();
  auto data = random_floats(1 << 16, rng);
  size_t bytes = data.size() * 4;
  hxrt_buffer* a = allocate(bytes);
  hxrt_buffer* b = allocate(bytes);
  hxrt_buffer* pinned = allocate(bytes, HXRT_MEMORY_HOST_PINNED);
  hxrt_buffer* empty = allocate(0);
  ASSERT_TRUE(a && b && pinned && empty);
  hxrt_buffer_get_host_pointer_args hp{};
  hp.struct_size = sizeof(hp);
  hp.buffer = pinned;
  expect_ok(api_->buffer_get_host_pointer(&hp));
  ASSERT_NE(hp.host_pointer, nullptr);
  std::memcpy(hp.host_pointer, data.data(), bytes);
  hp.buffer = a;
  expect_ok(api_->buffer_get_host_pointer(&hp));
  EXPECT_EQ(hp.host_pointer, nullptr);  // device memory is not host-addressable

  // pinned -> a (copy_to_device from the pinned pointer), a -> b on device, b -> host.
  hxrt_buffer_get_host_pointer_args pp{};
  pp.struct_size = sizeof(pp);
  pp.buffer = pinned;
  expect_ok(api_->buffer_get_host_pointer(&pp));
  EXPECT_EQ(upload(s, a, pp.host_pointer, bytes), HXRT_STATUS_OK);
  hxrt_copy_on_device_args c{};
  c.struct_size = sizeof(c);
  c.stream = s;
  c.src = a;
  c.dst = b;
  c.size_bytes = bytes;
  expect_ok(api_->copy_on_device(&c));
  std::vector<float> back(data.size(), -7.f);
  EXPECT_EQ(download(s, b, back.data(), bytes), HXRT_STATUS_OK);
  expect_ok(api_->stream_synchronize(s));
  EXPECT_EQ(std::memcmp(back.data(), data.data(), bytes), 0);

  // Partial copies at offsets, zero-byte copies and bounds (R7.6).
  float one = 42.f, got = 0.f;
  EXPECT_EQ(upload(s, a, &one, 4, 12), HXRT_STATUS_OK);
  EXPECT_EQ(download(s, a, &got, 4, 12), HXRT_STATUS_OK);
  expect_ok(api_->stream_synchronize(s));
  EXPECT_EQ(got, 42.f);
  EXPECT_EQ(upload(s, a, &one, 8, bytes - 4), HXRT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(upload(s, a, &one, 4, UINT64_MAX - 1), HXRT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(upload(s, empty, nullptr, 0), HXRT_STATUS_OK);
  EXPECT_EQ(download(s, empty, &got, 1), HXRT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(upload(s, a, nullptr, 4), HXRT_STATUS_INVALID_ARGUMENT);
  expect_ok(api_->stream_synchronize(s));

  // Far more than the device has: RESOURCE_EXHAUSTED, not a crash.
  hxrt_buffer_allocate_args huge{};
  huge.struct_size = sizeof(huge);
  huge.device = device_;
  huge.size_bytes = uint64_t{1} << 50;
  EXPECT_EQ(code_of(api_->buffer_allocate(&huge)), HXRT_STATUS_RESOURCE_EXHAUSTED);
  EXPECT_EQ(huge.buffer, nullptr);

  for (auto* x : {a, b, pinned, empty}) api_->buffer_destroy(x);
  api_->stream_destroy(s);
}

TEST_F(CudaPlugin, EventsOrderStreams) {
  REQUIRE_DEVICE();
  hxrt_stream* s1 = make_stream();
  hxrt_stream* s2 = make_stream();
  hxrt_event* e = make_event();
  // A never-recorded event is complete.
  hxrt_event_query_args q{};
  q.struct_size = sizeof(q);
  q.event = e;
  expect_ok(api_->event_query(&q));
  EXPECT_NE(q.completed, 0);
  expect_ok(api_->event_synchronize(e));

  std::mt19937 rng(std::random_device{}());
  auto data = random_floats(1 << 20, rng);
  size_t bytes = data.size() * 4;
  hxrt_buffer* a = allocate(bytes);
  hxrt_buffer* b = allocate(bytes);
  EXPECT_EQ(upload(s1, a, data.data(), bytes), HXRT_STATUS_OK);
  hxrt_event_record_args r{};
  r.struct_size = sizeof(r);
  r.event = e;
  r.stream = s1;
  expect_ok(api_->event_record(&r));
  hxrt_stream_wait_event_args w{};
  w.struct_size = sizeof(w);
  w.stream = s2;
  w.event = e;
  expect_ok(api_->stream_wait_event(&w));
  hxrt_copy_on_device_args c{};
  c.struct_size = sizeof(c);
  c.stream = s2;
  c.src = a;
  c.dst = b;
  c.size_bytes = bytes;
  expect_ok(api_->copy_on_device(&c));
  std::vector<float> back(data.size());
  EXPECT_EQ(download(s2, b, back.data(), bytes), HXRT_STATUS_OK);
  expect_ok(api_->stream_synchronize(s2));
  EXPECT_EQ(std::memcmp(back.data(), data.data(), bytes), 0);
  expect_ok(api_->event_synchronize(e));
  api_->event_destroy(e);
  api_->buffer_destroy(a);
  api_->buffer_destroy(b);
  api_->stream_destroy(s1);
  api_->stream_destroy(s2);
}

// MatMul shapes: plain, weights shared across a batch, batched, and float16.
TEST_F(CudaPlugin, MatMulMatchesReference) {
  REQUIRE_DEVICE();
  std::mt19937 rng(std::random_device{}());
  struct Case {
    std::vector<int64_t> a, b, y;
    bool half;
  };
  for (const Case& c : {Case{{64, 96}, {96, 80}, {64, 80}, false}, Case{{2, 5, 7, 16}, {16, 24}, {2, 5, 7, 24}, false},
                        Case{{3, 33, 17}, {3, 17, 9}, {3, 33, 9}, false}, Case{{1, 40}, {40, 3}, {1, 3}, false},
                        Case{{128, 256}, {256, 64}, {128, 64}, true}}) {
    hxrt_dtype t = c.half ? HXRT_DTYPE_FLOAT16 : HXRT_DTYPE_FLOAT32;
    Graph g;
    int a = g.input(t, c.a), b = g.input(t, c.b), y = g.value(t, c.y);
    g.node("MatMul", 13, {a, b}, {y});
    g.output(y);
    size_t na = 1, nb = 1;
    for (auto d : c.a) na *= static_cast<size_t>(d);
    for (auto d : c.b) nb *= static_cast<size_t>(d);
    auto av = random_floats(na, rng), bv = random_floats(nb, rng);
    if (c.half) {  // round the inputs so the reference sees what the GPU sees
      for (float& x : av) x = from_half(to_half(x));
      for (float& x : bv) x = from_half(to_half(x));
    }
    auto enc = [&](const std::vector<float>& v) {
      if (!c.half) return bytes(v);
      std::vector<uint16_t> h(v.size());
      for (size_t i = 0; i < v.size(); ++i) h[i] = to_half(v[i]);
      return bytes(h);
    };
    auto out = run(g, {enc(av), enc(bv)});
    ASSERT_EQ(out.size(), 1u);
    int64_t m = c.a[c.a.size() - 2], k = c.a.back(), n = c.b.back();
    size_t batch_a = na / static_cast<size_t>(m * k), batch_b = nb / static_cast<size_t>(k * n);
    size_t batch = std::max(batch_a, batch_b);
    std::vector<double> ref(batch * static_cast<size_t>(m * n));
    for (size_t bi = 0; bi < batch; ++bi)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t q = 0; q < k; ++q)
            s += static_cast<double>(av[(batch_a > 1 ? bi : 0) * static_cast<size_t>(m * k) + static_cast<size_t>(i * k + q)]) *
                 bv[(batch_b > 1 ? bi : 0) * static_cast<size_t>(k * n) + static_cast<size_t>(q * n + j)];
          ref[bi * static_cast<size_t>(m * n) + static_cast<size_t>(i * n + j)] = s;
        }
    std::vector<float> got;
    if (c.half) {
      for (size_t i = 0; i + 1 < out[0].size(); i += 2) got.push_back(from_half(static_cast<uint16_t>(out[0][i] | (out[0][i + 1] << 8))));
    } else {
      got = floats(out[0]);
    }
    EXPECT_LT(relative_error(got, ref), c.half ? 2e-3 : 1e-5) << "shape a " << c.a.size() << "-D, half " << c.half;
  }
}

TEST_F(CudaPlugin, GemmWithBiasTransposesAndRelu) {
  REQUIRE_DEVICE();
  std::mt19937 rng(std::random_device{}());
  const int64_t M = 37, K = 29, N = 41;
  auto av = random_floats(static_cast<size_t>(K * M), rng), bv = random_floats(static_cast<size_t>(N * K), rng);
  auto cv = random_floats(static_cast<size_t>(N), rng);
  auto c2 = random_floats(static_cast<size_t>(M), rng);
  // Gemm(transA, transB, alpha, beta, C = [N] constant) -> Relu: fused into one cuBLASLt call.
  Graph g;
  int a = g.input(HXRT_DTYPE_FLOAT32, {K, M}), b = g.input(HXRT_DTYPE_FLOAT32, {N, K});
  int c = g.constant_f({N}, cv);
  int y = g.value(HXRT_DTYPE_FLOAT32, {M, N}), r = g.value(HXRT_DTYPE_FLOAT32, {M, N});
  g.node("Gemm", 13, {a, b, c}, {y}).attr("transA", 1).attr("transB", 1).attr_f("alpha", 0.5f).attr_f("beta", 2.f);
  g.node("Relu", 14, {y}, {r});
  g.output(r);
  // And a second graph with a runtime C of shape [M, 1].
  Graph g2;
  int a2 = g2.input(HXRT_DTYPE_FLOAT32, {K, M}), b2 = g2.input(HXRT_DTYPE_FLOAT32, {N, K});
  int cc = g2.input(HXRT_DTYPE_FLOAT32, {M, 1});
  int y2 = g2.value(HXRT_DTYPE_FLOAT32, {M, N});
  g2.node("Gemm", 13, {a2, b2, cc}, {y2}).attr("transA", 1).attr("transB", 1).attr_f("beta", -1.f);
  g2.output(y2);
  auto out = run(g, {bytes(av), bytes(bv)}, 3);
  auto out2 = run(g2, {bytes(av), bytes(bv), bytes(c2)});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out2.size(), 1u);
  std::vector<double> ref(static_cast<size_t>(M * N)), ref2(ref.size());
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t q = 0; q < K; ++q) s += static_cast<double>(av[static_cast<size_t>(q * M + i)]) * bv[static_cast<size_t>(j * K + q)];
      ref[static_cast<size_t>(i * N + j)] = std::max(0.0, 0.5 * s + 2.0 * cv[static_cast<size_t>(j)]);
      ref2[static_cast<size_t>(i * N + j)] = s - c2[static_cast<size_t>(i)];
    }
  EXPECT_LT(relative_error(floats(out[0]), ref), 1e-5);
  EXPECT_LT(relative_error(floats(out2[0]), ref2), 1e-5);
}

// Reference NCHW convolution with symmetric padding.
std::vector<double> conv_ref(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& bias,
                             int64_t n, int64_t c, int64_t h, int64_t wd, int64_t m, int64_t kh, int64_t kw, int64_t stride,
                             int64_t pad, int64_t group, int64_t oh, int64_t ow) {
  std::vector<double> y(static_cast<size_t>(n * m * oh * ow));
  int64_t cg = c / group, mg = m / group;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < m; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = bias.empty() ? 0.0 : bias[static_cast<size_t>(o)];
          int64_t g0 = (o / mg) * cg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t p = 0; p < kh; ++p)
              for (int64_t q = 0; q < kw; ++q) {
                int64_t yy = i * stride - pad + p, xx = j * stride - pad + q;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                s += static_cast<double>(x[static_cast<size_t>(((b * c + g0 + ci) * h + yy) * wd + xx)]) *
                     w[static_cast<size_t>(((o * cg + ci) * kh + p) * kw + q)];
              }
          y[static_cast<size_t>(((b * m + o) * oh + i) * ow + j)] = s;
        }
  return y;
}

TEST_F(CudaPlugin, ConvBatchNormResidualReluFused) {
  REQUIRE_DEVICE();
  std::mt19937 rng(std::random_device{}());
  const int64_t N = 2, C = 8, H = 11, W = 13, M = 12, K = 3, G = 2;
  auto xv = random_floats(static_cast<size_t>(N * C * H * W), rng);
  auto wv = random_floats(static_cast<size_t>(M * (C / G) * K * K), rng);
  auto bv = random_floats(static_cast<size_t>(M), rng);
  auto zv = random_floats(static_cast<size_t>(N * M * H * W), rng);
  auto scale = random_floats(static_cast<size_t>(M), rng, 0.5f, 1.5f), shift = random_floats(static_cast<size_t>(M), rng);
  auto mean = random_floats(static_cast<size_t>(M), rng), var = random_floats(static_cast<size_t>(M), rng, 0.5f, 2.f);
  // Conv -> BatchNormalization -> Add(z) -> Relu, all one executable.
  Graph g;
  int x = g.input(HXRT_DTYPE_FLOAT32, {N, C, H, W}), z = g.input(HXRT_DTYPE_FLOAT32, {N, M, H, W});
  int w = g.constant_f({M, C / G, K, K}, wv), b = g.constant_f({M}, bv);
  int y = g.value(HXRT_DTYPE_FLOAT32, {N, M, H, W}), bn = g.value(HXRT_DTYPE_FLOAT32, {N, M, H, W});
  int sum = g.value(HXRT_DTYPE_FLOAT32, {N, M, H, W}), r = g.value(HXRT_DTYPE_FLOAT32, {N, M, H, W});
  g.node("Conv", 11, {x, w, b}, {y}).attr("pads", std::vector<int64_t>{1, 1, 1, 1}).attr("group", G);
  g.node("BatchNormalization", 15,
         {y, g.constant_f({M}, scale), g.constant_f({M}, shift), g.constant_f({M}, mean), g.constant_f({M}, var)}, {bn})
      .attr_f("epsilon", 1e-3f);
  g.node("Add", 14, {bn, z}, {sum});
  g.node("Relu", 14, {sum}, {r});
  g.output(r);
  auto out = run(g, {bytes(xv), bytes(zv)}, 3);
  ASSERT_EQ(out.size(), 1u);
  auto ref = conv_ref(xv, wv, bv, N, C, H, W, M, K, K, 1, 1, G, H, W);
  for (size_t i = 0; i < ref.size(); ++i) {
    size_t ch = (i / static_cast<size_t>(H * W)) % static_cast<size_t>(M);
    double v = (ref[i] - mean[ch]) / std::sqrt(var[ch] + 1e-3) * scale[ch] + shift[ch] + zv[i];
    ref[i] = std::max(0.0, v);
  }
  EXPECT_LT(relative_error(floats(out[0]), ref), 1e-5);
}

TEST_F(CudaPlugin, StridedConvAndPooling) {
  REQUIRE_DEVICE();
  std::mt19937 rng(std::random_device{}());
  const int64_t N = 1, C = 3, H = 15, W = 15, M = 4, K = 5, S = 2, P = 2;
  const int64_t OH = (H + 2 * P - K) / S + 1;
  auto xv = random_floats(static_cast<size_t>(N * C * H * W), rng);
  auto wv = random_floats(static_cast<size_t>(M * C * K * K), rng);
  Graph g;
  int x = g.input(HXRT_DTYPE_FLOAT32, {N, C, H, W});
  int y = g.value(HXRT_DTYPE_FLOAT32, {N, M, OH, OH});
  // MaxPool 3x3 stride 2 pad 1 and AveragePool 2x2 (count_include_pad) on the conv output.
  const int64_t PH = (OH + 2 - 3) / 2 + 1, AH = OH / 2;
  int mp = g.value(HXRT_DTYPE_FLOAT32, {N, M, PH, PH}), ap = g.value(HXRT_DTYPE_FLOAT32, {N, M, AH, AH});
  int gp = g.value(HXRT_DTYPE_FLOAT32, {N, M, 1, 1});
  g.node("Conv", 11, {x, g.constant_f({M, C, K, K}, wv)}, {y}).attr("strides", std::vector<int64_t>{S, S}).attr("pads", std::vector<int64_t>{P, P, P, P});
  g.node("MaxPool", 12, {y}, {mp}).attr("kernel_shape", std::vector<int64_t>{3, 3}).attr("strides", std::vector<int64_t>{2, 2}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.node("AveragePool", 11, {y}, {ap}).attr("kernel_shape", std::vector<int64_t>{2, 2}).attr("strides", std::vector<int64_t>{2, 2});
  g.node("GlobalAveragePool", 1, {y}, {gp});
  g.output(mp);
  g.output(ap);
  g.output(gp);
  auto out = run(g, {bytes(xv)}, 3);  // the third run replays a CUDA graph
  ASSERT_EQ(out.size(), 3u);
  auto yr = conv_ref(xv, wv, {}, N, C, H, W, M, K, K, S, P, 1, OH, OH);
  std::vector<double> mref, aref, gref;
  for (int64_t c = 0; c < M; ++c) {
    const double* plane = yr.data() + c * OH * OH;
    for (int64_t i = 0; i < PH; ++i)
      for (int64_t j = 0; j < PH; ++j) {
        double m = -1e300;
        for (int64_t p = 0; p < 3; ++p)
          for (int64_t q = 0; q < 3; ++q) {
            int64_t yy = i * 2 - 1 + p, xx = j * 2 - 1 + q;
            if (yy >= 0 && yy < OH && xx >= 0 && xx < OH) m = std::max(m, plane[yy * OH + xx]);
          }
        mref.push_back(m);
      }
    for (int64_t i = 0; i < AH; ++i)
      for (int64_t j = 0; j < AH; ++j)
        aref.push_back((plane[2 * i * OH + 2 * j] + plane[2 * i * OH + 2 * j + 1] + plane[(2 * i + 1) * OH + 2 * j] +
                        plane[(2 * i + 1) * OH + 2 * j + 1]) / 4.0);
    double s = 0;
    for (int64_t i = 0; i < OH * OH; ++i) s += plane[i];
    gref.push_back(s / static_cast<double>(OH * OH));
  }
  EXPECT_LT(relative_error(floats(out[0]), mref), 1e-5);
  EXPECT_LT(relative_error(floats(out[1]), aref), 1e-5);
  EXPECT_LT(relative_error(floats(out[2]), gref), 1e-5);
}

TEST_F(CudaPlugin, ElementwiseSoftmaxLayerNormReduce) {
  REQUIRE_DEVICE();
  std::mt19937 rng(std::random_device{}());
  const int64_t A = 4, B = 6, D = 40;
  auto xv = random_floats(static_cast<size_t>(A * B * D), rng, -3.f, 3.f);
  auto bias = random_floats(static_cast<size_t>(B * 1), rng);
  auto gamma = random_floats(static_cast<size_t>(D), rng), beta = random_floats(static_cast<size_t>(D), rng);
  Graph g;
  int x = g.input(HXRT_DTYPE_FLOAT32, {A, B, D});
  int bb = g.input(HXRT_DTYPE_FLOAT32, {B, 1});
  int add = g.value(HXRT_DTYPE_FLOAT32, {A, B, D}), sig = g.value(HXRT_DTYPE_FLOAT32, {A, B, D});
  int sm = g.value(HXRT_DTYPE_FLOAT32, {A, B, D}), sm1 = g.value(HXRT_DTYPE_FLOAT32, {A, B, D});
  int ln = g.value(HXRT_DTYPE_FLOAT32, {A, B, D}), rm = g.value(HXRT_DTYPE_FLOAT32, {A, 1, D});
  g.node("Add", 14, {x, bb}, {add});
  g.node("Sigmoid", 13, {add}, {sig});
  g.node("Softmax", 13, {add}, {sm});                     // last axis
  g.node("Softmax", 13, {add}, {sm1}).attr("axis", 1);    // a middle axis (strided)
  g.node("LayerNormalization", 17, {add, g.constant_f({D}, gamma), g.constant_f({D}, beta)}, {ln}).attr_f("epsilon", 1e-5f);
  g.node("ReduceMean", 13, {add}, {rm}).attr("axes", std::vector<int64_t>{1});
  for (int v : {sig, sm, sm1, ln, rm}) g.output(v);
  auto out = run(g, {bytes(xv), bytes(bias)});
  ASSERT_EQ(out.size(), 5u);
  std::vector<double> a(xv.size());
  for (size_t i = 0; i < a.size(); ++i) a[i] = xv[i] + static_cast<double>(bias[(i / static_cast<size_t>(D)) % static_cast<size_t>(B)]);
  std::vector<double> rsig(a.size()), rsm(a.size()), rsm1(a.size()), rln(a.size()), rrm(static_cast<size_t>(A * D));
  for (size_t i = 0; i < a.size(); ++i) rsig[i] = 1.0 / (1.0 + std::exp(-a[i]));
  for (int64_t r = 0; r < A * B; ++r) {
    const double* row = a.data() + r * D;
    double m = *std::max_element(row, row + D), s = 0, mu = 0, var = 0;
    for (int64_t j = 0; j < D; ++j) s += std::exp(row[j] - m);
    for (int64_t j = 0; j < D; ++j) rsm[static_cast<size_t>(r * D + j)] = std::exp(row[j] - m) / s;
    for (int64_t j = 0; j < D; ++j) mu += row[j] / static_cast<double>(D);
    for (int64_t j = 0; j < D; ++j) var += (row[j] - mu) * (row[j] - mu) / static_cast<double>(D);
    for (int64_t j = 0; j < D; ++j)
      rln[static_cast<size_t>(r * D + j)] = (row[j] - mu) / std::sqrt(var + 1e-5) * gamma[static_cast<size_t>(j)] + beta[static_cast<size_t>(j)];
  }
  for (int64_t i = 0; i < A; ++i)
    for (int64_t j = 0; j < D; ++j) {
      double m = -1e300, s = 0, mean = 0;
      for (int64_t k = 0; k < B; ++k) m = std::max(m, a[static_cast<size_t>((i * B + k) * D + j)]);
      for (int64_t k = 0; k < B; ++k) s += std::exp(a[static_cast<size_t>((i * B + k) * D + j)] - m);
      for (int64_t k = 0; k < B; ++k) {
        rsm1[static_cast<size_t>((i * B + k) * D + j)] = std::exp(a[static_cast<size_t>((i * B + k) * D + j)] - m) / s;
        mean += a[static_cast<size_t>((i * B + k) * D + j)] / static_cast<double>(B);
      }
      rrm[static_cast<size_t>(i * D + j)] = mean;
    }
  EXPECT_LT(relative_error(floats(out[0]), rsig), 1e-6);
  EXPECT_LT(relative_error(floats(out[1]), rsm), 1e-6);
  EXPECT_LT(relative_error(floats(out[2]), rsm1), 1e-6);
  EXPECT_LT(relative_error(floats(out[3]), rln), 1e-5);
  EXPECT_LT(relative_error(floats(out[4]), rrm), 1e-6);
}

TEST_F(CudaPlugin, DataMovement) {
  REQUIRE_DEVICE();
  std::mt19937 rng(std::random_device{}());
  const int64_t A = 3, B = 4, C = 5;
  auto xv = random_floats(static_cast<size_t>(A * B * C), rng);
  std::vector<int64_t> idx = {2, -1, 0, 2};
  Graph g;
  int x = g.input(HXRT_DTYPE_FLOAT32, {A, B, C});
  int tr = g.value(HXRT_DTYPE_FLOAT32, {C, A, B});
  int cat = g.value(HXRT_DTYPE_FLOAT32, {A, 2 * B, C});
  int ga = g.value(HXRT_DTYPE_FLOAT32, {A, 4, C});
  int sl = g.value(HXRT_DTYPE_FLOAT32, {A, 2, C});  // x[:, 3:0:-2, :]
  int rs = g.value(HXRT_DTYPE_FLOAT32, {A * B, C});
  int rs2 = g.value(HXRT_DTYPE_FLOAT32, {1, A * B * C});
  int ci = g.value(HXRT_DTYPE_INT32, {1, A * B * C});
  g.node("Transpose", 13, {x}, {tr}).attr("perm", std::vector<int64_t>{2, 0, 1});
  g.node("Concat", 13, {x, x}, {cat}).attr("axis", 1);
  g.node("Gather", 13, {x, g.constant_i({4}, idx)}, {ga}).attr("axis", 1);
  g.node("Slice", 13, {x, g.constant_i({1}, {3}), g.constant_i({1}, {0}), g.constant_i({1}, {1}), g.constant_i({1}, {-2})}, {sl});
  // A reshape inside the graph (a view) feeding a cast, and one as an output.
  g.node("Reshape", 14, {x, g.constant_i({2}, {A * B, C})}, {rs});
  g.node("Flatten", 13, {rs}, {rs2}).attr("axis", 0);
  g.node("Cast", 13, {rs2}, {ci}).attr("to", HXRT_DTYPE_INT32);
  for (int v : {tr, cat, ga, sl, rs, ci}) g.output(v);
  auto out = run(g, {bytes(xv)});
  ASSERT_EQ(out.size(), 6u);
  auto X = [&](int64_t a, int64_t b, int64_t c) { return static_cast<double>(xv[static_cast<size_t>((a * B + b) * C + c)]); };
  std::vector<double> rtr, rcat, rga, rsl, rrs(xv.begin(), xv.end());
  for (int64_t c = 0; c < C; ++c)
    for (int64_t a = 0; a < A; ++a)
      for (int64_t b = 0; b < B; ++b) rtr.push_back(X(a, b, c));
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b = 0; b < 2 * B; ++b)
      for (int64_t c = 0; c < C; ++c) rcat.push_back(X(a, b % B, c));
  for (int64_t a = 0; a < A; ++a)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t c = 0; c < C; ++c) rga.push_back(X(a, idx[static_cast<size_t>(j)] < 0 ? idx[static_cast<size_t>(j)] + B : idx[static_cast<size_t>(j)], c));
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b : {3, 1})
      for (int64_t c = 0; c < C; ++c) rsl.push_back(X(a, b, c));
  EXPECT_LT(relative_error(floats(out[0]), rtr), 1e-7);
  EXPECT_LT(relative_error(floats(out[1]), rcat), 1e-7);
  EXPECT_LT(relative_error(floats(out[2]), rga), 1e-7);
  EXPECT_LT(relative_error(floats(out[3]), rsl), 1e-7);
  EXPECT_LT(relative_error(floats(out[4]), rrs), 1e-7);
  std::vector<int32_t> casted(static_cast<size_t>(A * B * C));
  std::memcpy(casted.data(), out[5].data(), out[5].size());
  for (size_t i = 0; i < casted.size(); ++i) EXPECT_EQ(casted[i], static_cast<int32_t>(xv[i])) << i;
}

// Convolutions run channels-last inside an executable (the layout pass):
// Conv -> Relu -> MaxPool -> Conv + residual -> Relu -> {output, GlobalAveragePool}.
TEST_F(CudaPlugin, ChannelsLastResidualBlock) {
  REQUIRE_DEVICE();
  std::mt19937 rng(std::random_device{}());
  const int64_t N = 2, C = 8, H = 10, M = 16, P = 5;
  auto xv = random_floats(static_cast<size_t>(N * C * H * H), rng);
  auto w1 = random_floats(static_cast<size_t>(M * C * 9), rng), w2 = random_floats(static_cast<size_t>(M * M * 9), rng);
  auto b1 = random_floats(static_cast<size_t>(M), rng);
  // Reference.
  auto y1 = conv_ref(xv, w1, b1, N, C, H, H, M, 3, 3, 1, 1, 1, H, H);
  for (double& v : y1) v = std::max(0.0, v);
  std::vector<float> a(static_cast<size_t>(N * M * P * P));
  std::vector<double> ad(a.size());
  for (int64_t i = 0; i < N * M; ++i)
    for (int64_t y = 0; y < P; ++y)
      for (int64_t x = 0; x < P; ++x) {
        double m = -1e300;
        for (int64_t p = 0; p < 2; ++p)
          for (int64_t q = 0; q < 2; ++q) m = std::max(m, y1[static_cast<size_t>((i * H + 2 * y + p) * H + 2 * x + q)]);
        ad[static_cast<size_t>((i * P + y) * P + x)] = m;
        a[static_cast<size_t>((i * P + y) * P + x)] = static_cast<float>(m);
      }
  auto y2 = conv_ref(a, w2, {}, N, M, P, P, M, 3, 3, 1, 1, 1, P, P);
  std::vector<double> bref(y2.size()), gref(static_cast<size_t>(N * M), 0.0);
  for (size_t i = 0; i < y2.size(); ++i) {
    bref[i] = std::max(0.0, y2[i] + ad[i]);
    gref[i / static_cast<size_t>(P * P)] += bref[i] / static_cast<double>(P * P);
  }
  for (const char* mode : {"1", "0"}) {
    create({{"channels_last", mode}});
    REQUIRE_DEVICE();
    Graph g;
    int x = g.input(HXRT_DTYPE_FLOAT32, {N, C, H, H});
    int c1 = g.value(HXRT_DTYPE_FLOAT32, {N, M, H, H}), r1 = g.value(HXRT_DTYPE_FLOAT32, {N, M, H, H});
    int mp = g.value(HXRT_DTYPE_FLOAT32, {N, M, P, P}), c2 = g.value(HXRT_DTYPE_FLOAT32, {N, M, P, P});
    int sum = g.value(HXRT_DTYPE_FLOAT32, {N, M, P, P}), b = g.value(HXRT_DTYPE_FLOAT32, {N, M, P, P});
    int gp = g.value(HXRT_DTYPE_FLOAT32, {N, M, 1, 1});
    g.node("Conv", 11, {x, g.constant_f({M, C, 3, 3}, w1), g.constant_f({M}, b1)}, {c1}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
    g.node("Relu", 14, {c1}, {r1});
    g.node("MaxPool", 12, {r1}, {mp}).attr("kernel_shape", std::vector<int64_t>{2, 2}).attr("strides", std::vector<int64_t>{2, 2});
    g.node("Conv", 11, {mp, g.constant_f({M, M, 3, 3}, w2)}, {c2}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
    g.node("Add", 14, {c2, mp}, {sum});
    g.node("Relu", 14, {sum}, {b});
    g.node("GlobalAveragePool", 1, {b}, {gp});
    g.output(b);
    g.output(gp);
    auto out = run(g, {bytes(xv)}, 3);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_LT(relative_error(floats(out[0]), bref), 1e-5) << "channels_last=" << mode;
    EXPECT_LT(relative_error(floats(out[1]), gref), 1e-5) << "channels_last=" << mode;
  }
}

// Replays (CUDA graphs) must see new input data and new buffers.
TEST_F(CudaPlugin, GraphReplaySeesNewData) {
  REQUIRE_DEVICE();
  std::mt19937 rng(std::random_device{}());
  const int64_t M = 16, K = 32, N = 24;
  Graph g;
  int a = g.input(HXRT_DTYPE_FLOAT32, {M, K}), y = g.value(HXRT_DTYPE_FLOAT32, {M, N}), r = g.value(HXRT_DTYPE_FLOAT32, {M, N});
  int t = g.value(HXRT_DTYPE_FLOAT32, {M, N});
  auto wv = random_floats(static_cast<size_t>(K * N), rng);
  g.node("MatMul", 13, {a, g.constant_f({K, N}, wv)}, {y});
  g.node("Tanh", 13, {y}, {t});
  g.node("Sigmoid", 13, {t}, {r});
  g.output(r);
  hxrt_executable* exe = compile(g);
  ASSERT_NE(exe, nullptr);
  hxrt_stream* s = make_stream();
  hxrt_buffer *in = nullptr, *out = nullptr;
  for (int round = 0; round < 6; ++round) {
    // Rounds 0-2 reuse one pair of buffers (capture, then replay); 3-5 use fresh ones (re-capture).
    if (round == 0 || round >= 3) {
      if (in) api_->buffer_destroy(in);
      if (out) api_->buffer_destroy(out);
      in = allocate(static_cast<size_t>(M * K) * 4);
      out = allocate(static_cast<size_t>(M * N) * 4);
    }
    auto av = random_floats(static_cast<size_t>(M * K), rng);
    EXPECT_EQ(upload(s, in, av.data(), av.size() * 4), HXRT_STATUS_OK);
    hxrt_executable_execute_args e{};
    e.struct_size = sizeof(e);
    e.executable = exe;
    e.stream = s;
    e.num_inputs = 1;
    e.input_buffers = &in;
    e.num_outputs = 1;
    e.output_buffers = &out;
    expect_ok(api_->executable_execute(&e));
    std::vector<float> got(static_cast<size_t>(M * N));
    EXPECT_EQ(download(s, out, got.data(), got.size() * 4), HXRT_STATUS_OK);
    expect_ok(api_->stream_synchronize(s));
    std::vector<double> ref(got.size());
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < K; ++q) acc += static_cast<double>(av[static_cast<size_t>(i * K + q)]) * wv[static_cast<size_t>(q * N + j)];
        ref[static_cast<size_t>(i * N + j)] = 1.0 / (1.0 + std::exp(-std::tanh(acc)));
      }
    EXPECT_LT(relative_error(got, ref), 1e-6) << "round " << round;
    if (round == 5) {
      api_->buffer_destroy(in);
      api_->buffer_destroy(out);
      in = out = nullptr;
    }
  }
  // Wrong counts and out-of-range bindings are refused before anything is enqueued.
  hxrt_buffer* small = allocate(16);
  hxrt_executable_execute_args e{};
  e.struct_size = sizeof(e);
  e.executable = exe;
  e.stream = s;
  e.num_inputs = 1;
  e.input_buffers = &small;
  e.num_outputs = 1;
  e.output_buffers = &small;
  EXPECT_EQ(code_of(api_->executable_execute(&e)), HXRT_STATUS_OUT_OF_RANGE);
  e.num_inputs = 0;
  EXPECT_EQ(code_of(api_->executable_execute(&e)), HXRT_STATUS_INVALID_ARGUMENT);
  api_->buffer_destroy(small);
  api_->stream_destroy(s);
  api_->executable_destroy(exe);
}

TEST_F(CudaPlugin, QueriesAndClaims) {
  REQUIRE_DEVICE();
  auto query = [&](Graph& g, size_t node) {
    const hxrt_graph_desc* d = g.build();
    hxrt_query_op_support_args q{};
    q.struct_size = sizeof(q);
    q.device = device_;
    q.node = d->nodes[node]->node;
    char msg[256] = {};
    q.reason_message = msg;
    q.reason_message_capacity = sizeof(msg);
    expect_ok(api_->query_op_support(&q));
    return q;
  };
  // Estimates grow with the problem (monotone) and are positive.
  double prev = 0;
  for (int64_t n : {64, 256, 1024}) {
    Graph g;
    int a = g.input(HXRT_DTYPE_FLOAT32, {n, n}), b = g.input(HXRT_DTYPE_FLOAT32, {n, n}), y = g.value(HXRT_DTYPE_FLOAT32, {n, n});
    g.node("MatMul", 13, {a, b}, {y});
    auto q = query(g, 0);
    EXPECT_NE(q.supported, 0);
    EXPECT_GT(q.estimated_ns, prev);
    prev = q.estimated_ns;
  }
  Graph u;
  int a = u.input(HXRT_DTYPE_FLOAT32, {4}), y = u.value(HXRT_DTYPE_FLOAT32, {4});
  u.node("NoSuchOp", 13, {a}, {y});
  auto q = query(u, 0);
  EXPECT_EQ(q.supported, 0);
  EXPECT_EQ(q.reason, HXRT_UNSUPPORTED_OP);
  EXPECT_GT(std::strlen(q.reason_message), 0u);
  Graph s;
  int si = s.input(HXRT_DTYPE_STRING, {4}), so = s.value(HXRT_DTYPE_STRING, {4});
  s.node("Relu", 14, {si}, {so});
  EXPECT_EQ(query(s, 0).reason, HXRT_UNSUPPORTED_DTYPE);

  // A -> X(unsupported) -> C, and A -> C: C may not join A's group (convexity).
  Graph c;
  int in = c.input(HXRT_DTYPE_FLOAT32, {8}), va = c.value(HXRT_DTYPE_FLOAT32, {8}), vx = c.value(HXRT_DTYPE_FLOAT32, {8});
  int vc = c.value(HXRT_DTYPE_FLOAT32, {8}), vd = c.value(HXRT_DTYPE_FLOAT32, {8});
  c.node("Relu", 14, {in}, {va});
  c.node("NoSuchOp", 1, {va}, {vx});
  c.node("Add", 14, {va, vx}, {vc});
  c.node("Relu", 14, {in}, {vd});
  c.output(vc);
  c.output(vd);
  hxrt_claim_subgraph_args cl{};
  cl.struct_size = sizeof(cl);
  cl.device = device_;
  cl.graph = c.build();
  int64_t groups[4] = {-5, -5, -5, -5};
  double est[4] = {};
  cl.group_of_node = groups;
  cl.group_estimated_ns = est;
  expect_ok(api_->claim_subgraph(&cl));
  EXPECT_GE(groups[0], 0);
  EXPECT_EQ(groups[1], -1);
  EXPECT_GE(groups[2], 0);
  EXPECT_NE(groups[0], groups[2]);
  EXPECT_GT(est[0], 0.0);
}

TEST_F(CudaPlugin, Float16AndTf32Paths) {
  REQUIRE_DEVICE();
  create({{"allow_tf32", "1"}});
  REQUIRE_DEVICE();
  std::mt19937 rng(std::random_device{}());
  // float16 Conv + Relu (tensor cores) against a double reference of the rounded inputs.
  const int64_t N = 2, C = 16, H = 9, W = 9, M = 32, K = 3;
  auto xv = random_floats(static_cast<size_t>(N * C * H * W), rng), wv = random_floats(static_cast<size_t>(M * C * K * K), rng);
  std::vector<uint16_t> xh(xv.size()), wh(wv.size());
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = from_half(xh[i] = to_half(xv[i]));
  for (size_t i = 0; i < wv.size(); ++i) wv[i] = from_half(wh[i] = to_half(wv[i]));
  Graph g;
  int x = g.input(HXRT_DTYPE_FLOAT16, {N, C, H, W});
  int w = g.constant(HXRT_DTYPE_FLOAT16, {M, C, K, K}, wh.data(), wh.size() * 2);
  int y = g.value(HXRT_DTYPE_FLOAT16, {N, M, H, W}), r = g.value(HXRT_DTYPE_FLOAT16, {N, M, H, W});
  g.node("Conv", 11, {x, w}, {y}).attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.node("Relu", 14, {y}, {r});
  g.output(r);
  auto out = run(g, {bytes(xh)}, 2);
  ASSERT_EQ(out.size(), 1u);
  auto ref = conv_ref(xv, wv, {}, N, C, H, W, M, K, K, 1, 1, 1, H, W);
  for (double& v : ref) v = std::max(0.0, v);
  std::vector<float> got;
  for (size_t i = 0; i + 1 < out[0].size(); i += 2) got.push_back(from_half(static_cast<uint16_t>(out[0][i] | (out[0][i + 1] << 8))));
  EXPECT_LT(relative_error(got, ref), 3e-3);

  // float32 MatMul with TF32 allowed: near 3e-4, far from float32's 1e-7.
  const int64_t n = 256;
  auto av = random_floats(static_cast<size_t>(n * n), rng), bv = random_floats(static_cast<size_t>(n * n), rng);
  Graph mg;
  int a = mg.input(HXRT_DTYPE_FLOAT32, {n, n}), b = mg.input(HXRT_DTYPE_FLOAT32, {n, n}), my = mg.value(HXRT_DTYPE_FLOAT32, {n, n});
  mg.node("MatMul", 13, {a, b}, {my});
  mg.output(my);
  auto mo = run(mg, {bytes(av), bytes(bv)});
  ASSERT_EQ(mo.size(), 1u);
  std::vector<double> mref(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t q = 0; q < n; ++q) acc += static_cast<double>(av[static_cast<size_t>(i * n + q)]) * bv[static_cast<size_t>(q * n + j)];
      mref[static_cast<size_t>(i * n + j)] = acc;
    }
  EXPECT_LT(relative_error(floats(mo[0]), mref), 2e-3);
}

}  // namespace
