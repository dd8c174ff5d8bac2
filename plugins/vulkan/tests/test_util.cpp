#include "test_util.hpp"

#include <dlfcn.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace vktest {

std::string plugin_path() {
  const char* dir = std::getenv("HXRT_PLUGIN_DIR");
  return std::string(dir && *dir ? dir : HXRT_TEST_PLUGIN_DIR) + "/libhxrt_vulkan.so";
}

void prepare_environment() {
  setenv("MESA_SHADER_CACHE_DIR", HXRT_VK_TEST_CACHE "/mesa", 0);
}

const hxrt_plugin_api& api() {
  static const hxrt_plugin_api* table = [] {
    prepare_environment();
    void* lib = dlopen(plugin_path().c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      ADD_FAILURE() << "dlopen " << plugin_path() << ": " << dlerror();
      std::abort();
    }
    auto negotiate = reinterpret_cast<hxrt_plugin_negotiate_fn>(dlsym(lib, HXRT_PLUGIN_ENTRY_SYMBOL));
    hxrt_plugin_negotiate_args args{};
    args.struct_size = sizeof(args);
    args.host_abi_major = HXRT_ABI_VERSION_MAJOR;
    args.host_abi_minor = HXRT_ABI_VERSION_MINOR;
    if (negotiate == nullptr || negotiate(&args) != HXRT_STATUS_OK || args.api == nullptr) std::abort();
    return args.api;
  }();
  return *table;
}

Status take(hxrt_plugin_status* s) {
  Status out;
  out.code = api().status_get_code(s);
  out.message = api().status_get_message(s);
  api().status_destroy(s);
  return out;
}

Context::Context(Options options) {
  options.insert(options.begin(), {"cache_dir", HXRT_VK_TEST_CACHE "/pipelines"});
  std::vector<const char*> keys, values;
  for (auto& [k, v] : options) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  hxrt_context_create_args args{};
  args.struct_size = sizeof(args);
  args.logger = &Context::log;
  args.logger_user_data = this;
  args.num_options = keys.size();
  args.option_keys = keys.data();
  args.option_values = values.data();
  Status s = take(api().context_create(&args));
  if (s.code != HXRT_STATUS_OK) {
    ADD_FAILURE() << "context_create: " << s.message;
    return;
  }
  ctx_ = args.context;
  hxrt_context_get_devices_args d{};
  d.struct_size = sizeof(d);
  d.context = ctx_;
  EXPECT_EQ(take(api().context_get_devices(&d)).code, HXRT_STATUS_OK);
  devices_.assign(d.devices, d.devices + d.num_devices);
}

Context::~Context() { destroy(); }

void Context::destroy() {
  if (ctx_ != nullptr) api().context_destroy(ctx_);
  ctx_ = nullptr;
  devices_.clear();
}

void Context::log(void* self, hxrt_log_level level, const char* message) {
  auto* c = static_cast<Context*>(self);
  std::lock_guard lock(c->mutex_);
  c->logs_.emplace_back(level, message);
}

std::vector<std::pair<hxrt_log_level, std::string>> Context::logs() const {
  std::lock_guard lock(mutex_);
  return logs_;
}

std::string Context::no_device_reason() const {
  std::string reason;
  for (auto& [level, text] : logs())
    if (level == HXRT_LOG_WARNING) reason += text + "; ";
  return reason.empty() ? "(no reason logged)" : reason;
}

Tensor Tensor::f32(Shape shape, std::vector<float> values, bool constant) {
  Tensor t;
  t.shape = std::move(shape);
  t.data.resize(values.size() * 4);
  std::memcpy(t.data.data(), values.data(), t.data.size());
  t.constant = constant;
  return t;
}

Tensor Tensor::i64(Shape shape, std::vector<int64_t> values, bool constant) {
  Tensor t;
  t.dtype = HXRT_DTYPE_INT64;
  t.shape = std::move(shape);
  t.data.resize(values.size() * 8);
  std::memcpy(t.data.data(), values.data(), t.data.size());
  t.constant = constant;
  return t;
}

Tensor Tensor::empty(hxrt_dtype dtype, Shape shape) {
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<float> Tensor::floats() const {
  std::vector<float> v(data.size() / 4);
  std::memcpy(v.data(), data.data(), v.size() * 4);
  return v;
}

NodeDesc::NodeDesc(const Node& n) {
  size_t count = n.inputs.size() + n.outputs.size();
  tensors_.resize(count);
  auto fill = [&](size_t slot, const Tensor& t) {
    hxrt_tensor_desc& d = tensors_[slot];
    d.struct_size = sizeof(d);
    d.dtype = t.dtype;
    d.rank = t.shape.size();
    d.dims = t.shape.data();
    if (t.constant) {
      d.constant_data = t.data.data();
      d.constant_size_bytes = t.data.size();
    }
  };
  int64_t next = 0;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (!n.inputs[i]) {
      in_ptrs_.push_back(nullptr);
      in_values_.push_back(-1);
      continue;
    }
    fill(i, *n.inputs[i]);
    in_ptrs_.push_back(&tensors_[i]);
    value_ptrs_.push_back(&tensors_[i]);
    in_values_.push_back(next);
    if (!n.inputs[i]->constant) graph_inputs_.push_back(next);
    ++next;
  }
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    size_t slot = n.inputs.size() + i;
    if (!n.outputs[i]) {
      out_ptrs_.push_back(nullptr);
      out_values_.push_back(-1);
      continue;
    }
    fill(slot, *n.outputs[i]);
    out_ptrs_.push_back(&tensors_[slot]);
    value_ptrs_.push_back(&tensors_[slot]);
    out_values_.push_back(next);
    graph_outputs_.push_back(next);
    ++next;
  }
  attrs_.resize(n.attrs.size());
  for (size_t i = 0; i < n.attrs.size(); ++i) {
    const Attr& a = n.attrs[i];
    hxrt_attribute& d = attrs_[i];
    d.struct_size = sizeof(d);
    d.name = a.name.c_str();
    d.type = a.type;
    d.f = a.f;
    d.i = a.i;
    d.s = a.s.data();
    d.s_size = a.s.size();
    if (a.type == HXRT_ATTRIBUTE_INTS) {
      d.count = a.ints.size();
      d.ints = a.ints.data();
    }
    if (a.type == HXRT_ATTRIBUTE_FLOATS) {
      d.count = a.floats.size();
      d.floats = a.floats.data();
    }
  }
  for (auto& a : attrs_) attr_ptrs_.push_back(&a);
  node_.struct_size = sizeof(node_);
  node_.name = "test";
  node_.domain = "";
  node_.op_type = n.op.c_str();
  node_.opset_version = n.opset;
  node_.num_attributes = attr_ptrs_.size();
  node_.attributes = attr_ptrs_.data();
  node_.num_inputs = in_ptrs_.size();
  node_.inputs = in_ptrs_.data();
  node_.num_outputs = out_ptrs_.size();
  node_.outputs = out_ptrs_.data();
  gnode_.struct_size = sizeof(gnode_);
  gnode_.node = &node_;
  gnode_.input_values = in_values_.data();
  gnode_.output_values = out_values_.data();
  gnode_ptr_ = &gnode_;
  graph_.struct_size = sizeof(graph_);
  graph_.num_values = value_ptrs_.size();
  graph_.values = value_ptrs_.data();
  graph_.num_nodes = 1;
  graph_.nodes = &gnode_ptr_;
  graph_.num_inputs = graph_inputs_.size();
  graph_.input_values = graph_inputs_.data();
  graph_.num_outputs = graph_outputs_.size();
  graph_.output_values = graph_outputs_.data();
}

Support query(hxrt_device* device, const Node& node) {
  NodeDesc desc(node);
  char message[512];
  hxrt_query_op_support_args q{};
  q.struct_size = sizeof(q);
  q.device = device;
  q.node = desc.node();
  q.reason_message = message;
  q.reason_message_capacity = sizeof(message);
  Status s = take(api().query_op_support(&q));
  EXPECT_EQ(s.code, HXRT_STATUS_OK) << s.message;
  return {q.supported != 0, q.reason, q.estimated_ns, message};
}

void run(hxrt_device* device, Node& node) {
  const hxrt_plugin_api& a = api();
  Support support = query(device, node);
  ASSERT_TRUE(support.supported) << node.op << ": " << support.message;
  EXPECT_GT(support.estimated_ns, 0.0);
  NodeDesc desc(node);
  hxrt_executable_compile_args c{};
  c.struct_size = sizeof(c);
  c.device = device;
  c.graph = desc.graph();
  Status s = take(a.executable_compile(&c));
  ASSERT_EQ(s.code, HXRT_STATUS_OK) << node.op << ": " << s.message;
  hxrt_stream_create_args sc{};
  sc.struct_size = sizeof(sc);
  sc.device = device;
  ASSERT_EQ(take(a.stream_create(&sc)).code, HXRT_STATUS_OK);
  std::vector<hxrt_buffer*> in_buffers, out_buffers;
  auto allocate = [&](size_t bytes) {
    hxrt_buffer_allocate_args b{};
    b.struct_size = sizeof(b);
    b.device = device;
    b.size_bytes = bytes;
    b.memory_kind = HXRT_MEMORY_DEVICE;
    EXPECT_EQ(take(a.buffer_allocate(&b)).code, HXRT_STATUS_OK);
    return b.buffer;
  };
  for (auto& t : node.inputs) {
    if (!t || t->constant) continue;
    hxrt_buffer* b = allocate(t->data.size());
    hxrt_copy_to_device_args cp{};
    cp.struct_size = sizeof(cp);
    cp.stream = sc.stream;
    cp.src = t->data.data();
    cp.dst = b;
    cp.size_bytes = t->data.size();
    EXPECT_EQ(take(a.copy_to_device(&cp)).code, HXRT_STATUS_OK);
    in_buffers.push_back(b);
  }
  for (auto& t : node.outputs) {
    if (!t) continue;
    t->data.assign(static_cast<size_t>(t->numel()) * (t->dtype == HXRT_DTYPE_INT64 ? 8 : 4), 0xCD);
    out_buffers.push_back(allocate(t->data.size()));
  }
  hxrt_executable_execute_args e{};
  e.struct_size = sizeof(e);
  e.executable = c.executable;
  e.stream = sc.stream;
  e.num_inputs = in_buffers.size();
  e.input_buffers = in_buffers.data();
  e.num_outputs = out_buffers.size();
  e.output_buffers = out_buffers.data();
  s = take(a.executable_execute(&e));
  EXPECT_EQ(s.code, HXRT_STATUS_OK) << s.message;
  size_t k = 0;
  for (auto& t : node.outputs) {
    if (!t) continue;
    hxrt_copy_to_host_args cp{};
    cp.struct_size = sizeof(cp);
    cp.stream = sc.stream;
    cp.src = out_buffers[k++];
    cp.dst = t->data.data();
    cp.size_bytes = t->data.size();
    EXPECT_EQ(take(a.copy_to_host(&cp)).code, HXRT_STATUS_OK);
  }
  s = take(a.stream_synchronize(sc.stream));
  EXPECT_EQ(s.code, HXRT_STATUS_OK) << s.message;
  for (hxrt_buffer* b : in_buffers) a.buffer_destroy(b);
  for (hxrt_buffer* b : out_buffers) a.buffer_destroy(b);
  a.stream_destroy(sc.stream);
  a.executable_destroy(c.executable);
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<double>& want, double rtol,
                                     double atol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    bool ok = std::isnan(want[i]) ? std::isnan(got[i])
                                  : (std::isinf(want[i]) ? got[i] == want[i]
                                                         : std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]));
    if (!ok && bad++ == 0) first = i;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.size() << " elements differ; first at " << first
                                       << ": got " << got[first] << ", want " << want[first];
}

// ---- Raw ABI calls shared by the plugin tests

hxrt_buffer* allocate(hxrt_device* device, uint64_t size, hxrt_memory_kind kind) {
  hxrt_buffer_allocate_args b{};
  b.struct_size = sizeof(b);
  b.device = device;
  b.size_bytes = size;
  b.memory_kind = kind;
  Status s = take(api().buffer_allocate(&b));
  EXPECT_EQ(s.code, HXRT_STATUS_OK) << s.message;
  return b.buffer;
}

hxrt_stream* make_stream(hxrt_device* device) {
  hxrt_stream_create_args a{};
  a.struct_size = sizeof(a);
  a.device = device;
  EXPECT_EQ(take(api().stream_create(&a)).code, HXRT_STATUS_OK);
  return a.stream;
}

hxrt_event* make_event(hxrt_device* device) {
  hxrt_event_create_args a{};
  a.struct_size = sizeof(a);
  a.device = device;
  EXPECT_EQ(take(api().event_create(&a)).code, HXRT_STATUS_OK);
  return a.event;
}

Status to_device(hxrt_stream* s, const void* src, hxrt_buffer* dst, uint64_t offset, uint64_t n) {
  hxrt_copy_to_device_args a{};
  a.struct_size = sizeof(a);
  a.stream = s;
  a.src = src;
  a.dst = dst;
  a.dst_offset = offset;
  a.size_bytes = n;
  return take(api().copy_to_device(&a));
}

Status to_host(hxrt_stream* s, hxrt_buffer* src, uint64_t offset, void* dst, uint64_t n) {
  hxrt_copy_to_host_args a{};
  a.struct_size = sizeof(a);
  a.stream = s;
  a.src = src;
  a.src_offset = offset;
  a.dst = dst;
  a.size_bytes = n;
  return take(api().copy_to_host(&a));
}

Status on_device(hxrt_stream* s, hxrt_buffer* src, uint64_t so, hxrt_buffer* dst, uint64_t doff, uint64_t n) {
  hxrt_copy_on_device_args a{};
  a.struct_size = sizeof(a);
  a.stream = s;
  a.src = src;
  a.src_offset = so;
  a.dst = dst;
  a.dst_offset = doff;
  a.size_bytes = n;
  return take(api().copy_on_device(&a));
}

void expect_no_validation_errors(const Context& ctx) {
  size_t errors = 0;
  bool summary = false;
  for (auto& [level, text] : ctx.logs()) {
    if (text.rfind("vulkan validation:", 0) != 0) continue;
    if (level == HXRT_LOG_ERROR) {
      ++errors;
      ADD_FAILURE() << text;
    }
    summary |= text.find("error(s) in this context") != std::string::npos;
  }
  EXPECT_TRUE(summary) << "the debug-utils messenger was not installed";
  EXPECT_EQ(errors, 0u);
}

}  // namespace vktest
