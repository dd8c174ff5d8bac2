#include "opencl_test_support.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

namespace hxrt::ocl::test {

std::string plugin_path() {
  if (const char* dir = std::getenv("HXRT_PLUGIN_DIR"); dir != nullptr && *dir != '\0')
    return std::string(dir) + "/libhxrt_opencl.so";
  return std::string(HXRT_TEST_PLUGIN_DIR) + "/libhxrt_opencl.so";
}

std::string make_temp_dir(const std::string& tag) {
  std::string pattern = (std::filesystem::temp_directory_path() / ("hxrt-ocl-" + tag + "-XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  char* dir = mkdtemp(buffer.data());
  return dir ? std::string(dir) : std::string();
}

void ensure_pocl_cache() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* dir = std::getenv("POCL_CACHE_DIR");
    if (dir == nullptr || *dir == '\0') setenv("POCL_CACHE_DIR", make_temp_dir("pocl").c_str(), 1);
  });
}

const hxrt_plugin_api* plugin_api() {
  static const hxrt_plugin_api* api = [] () -> const hxrt_plugin_api* {
    ensure_pocl_cache();
    void* handle = dlopen(plugin_path().c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      ADD_FAILURE() << "dlopen " << plugin_path() << ": " << dlerror();
      return nullptr;
    }
    auto negotiate = reinterpret_cast<hxrt_plugin_negotiate_fn>(dlsym(handle, HXRT_PLUGIN_ENTRY_SYMBOL));
    if (negotiate == nullptr) return nullptr;
    hxrt_plugin_negotiate_args args{};
    args.struct_size = sizeof(args);
    args.host_abi_major = HXRT_ABI_VERSION_MAJOR;
    args.host_abi_minor = HXRT_ABI_VERSION_MINOR;
    if (negotiate(&args) != HXRT_STATUS_OK) return nullptr;
    return args.api;
  }();
  return api;
}

std::string status_text(const hxrt_plugin_api* api, hxrt_plugin_status* status) {
  if (status == nullptr) return "";
  std::string text = std::to_string(api->status_get_code(status)) + ": " + api->status_get_message(status);
  api->status_destroy(status);
  return text;
}

Context::Context(std::vector<std::pair<std::string, std::string>> options) : api_(plugin_api()) {
  if (api_ == nullptr) return;
  std::vector<const char*> keys, values;
  for (auto& [k, v] : options) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  hxrt_context_create_args args{};
  args.struct_size = sizeof(args);
  args.logger = &Context::on_log;
  args.logger_user_data = this;
  args.num_options = keys.size();
  args.option_keys = keys.data();
  args.option_values = values.data();
  std::string error = status_text(api_, api_->context_create(&args));
  EXPECT_EQ(error, "");
  context_ = args.context;
}

Context::~Context() { destroy(); }

void Context::destroy() {
  if (context_ != nullptr) api_->context_destroy(context_);
  context_ = nullptr;
}

void Context::on_log(void* user, hxrt_log_level level, const char* message) {
  auto* self = static_cast<Context*>(user);
  std::lock_guard lock(self->mutex_);
  self->log_.push_back(std::to_string(level) + " " + message);
}

std::vector<hxrt_device*> Context::devices() const {
  if (context_ == nullptr) return {};
  hxrt_context_get_devices_args args{};
  args.struct_size = sizeof(args);
  args.context = context_;
  if (!status_text(api_, api_->context_get_devices(&args)).empty()) return {};
  return std::vector<hxrt_device*>(args.devices, args.devices + args.num_devices);
}

std::vector<std::string> Context::log() const {
  std::lock_guard lock(mutex_);
  return log_;
}

bool Context::log_contains(const std::string& text) const {
  for (const auto& line : log())
    if (line.find(text) != std::string::npos) return true;
  return false;
}

int64_t count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

NodeSpec& NodeSpec::input(Shape dims, hxrt_dtype dtype) {
  Tensor t;
  t.dims = std::move(dims);
  t.dtype = dtype;
  inputs_.push_back(std::move(t));
  return *this;
}

NodeSpec& NodeSpec::const_input(Shape dims, const std::vector<float>& values) {
  Tensor t;
  t.dims = std::move(dims);
  t.is_constant = true;
  t.constant.resize(values.size() * 4);
  std::memcpy(t.constant.data(), values.data(), t.constant.size());
  inputs_.push_back(std::move(t));
  return *this;
}

NodeSpec& NodeSpec::const_ints(Shape dims, const std::vector<int64_t>& values) {
  Tensor t;
  t.dims = std::move(dims);
  t.dtype = HXRT_DTYPE_INT64;
  t.is_constant = true;
  t.constant.resize(values.size() * 8);
  std::memcpy(t.constant.data(), values.data(), t.constant.size());
  inputs_.push_back(std::move(t));
  return *this;
}

NodeSpec& NodeSpec::omitted_input() {
  Tensor t;
  t.omitted = true;
  inputs_.push_back(std::move(t));
  return *this;
}

NodeSpec& NodeSpec::output(Shape dims, hxrt_dtype dtype) {
  Tensor t;
  t.dims = std::move(dims);
  t.dtype = dtype;
  outputs_.push_back(std::move(t));
  return *this;
}

NodeSpec& NodeSpec::attr(const std::string& name, int64_t v) {
  Attr a;
  a.name = name;
  a.a.type = HXRT_ATTRIBUTE_INT;
  a.a.i = v;
  attrs_.push_back(std::move(a));
  return *this;
}

NodeSpec& NodeSpec::attr(const std::string& name, float v) {
  Attr a;
  a.name = name;
  a.a.type = HXRT_ATTRIBUTE_FLOAT;
  a.a.f = v;
  attrs_.push_back(std::move(a));
  return *this;
}

NodeSpec& NodeSpec::attr(const std::string& name, std::vector<int64_t> v) {
  Attr a;
  a.name = name;
  a.a.type = HXRT_ATTRIBUTE_INTS;
  a.ints = std::move(v);
  attrs_.push_back(std::move(a));
  return *this;
}

NodeSpec& NodeSpec::attr(const std::string& name, const std::string& v) {
  Attr a;
  a.name = name;
  a.a.type = HXRT_ATTRIBUTE_STRING;
  a.s = v;
  attrs_.push_back(std::move(a));
  return *this;
}

void NodeSpec::build() {
  auto fill = [](Tensor& t) {
    t.desc = {};
    t.desc.struct_size = sizeof(hxrt_tensor_desc);
    t.desc.dtype = t.dtype;
    t.desc.rank = t.dims.size();
    t.desc.dims = t.dims.data();
    if (t.is_constant) {
      t.desc.constant_data = t.constant.data();
      t.desc.constant_size_bytes = t.constant.size();
    }
  };
  in_ptrs_.clear();
  out_ptrs_.clear();
  values_.clear();
  in_values_.clear();
  out_values_.clear();
  graph_inputs_.clear();
  graph_outputs_.clear();
  for (auto& t : inputs_) {
    fill(t);
    in_ptrs_.push_back(t.omitted ? nullptr : &t.desc);
    if (t.omitted) {
      in_values_.push_back(-1);
      continue;
    }
    in_values_.push_back(static_cast<int64_t>(values_.size()));
    if (!t.is_constant) graph_inputs_.push_back(static_cast<int64_t>(values_.size()));
    values_.push_back(&t.desc);
  }
  for (auto& t : outputs_) {
    fill(t);
    out_ptrs_.push_back(&t.desc);
    out_values_.push_back(static_cast<int64_t>(values_.size()));
    graph_outputs_.push_back(static_cast<int64_t>(values_.size()));
    values_.push_back(&t.desc);
  }
  attr_ptrs_.clear();
  for (auto& a : attrs_) {
    a.a.struct_size = sizeof(hxrt_attribute);
    a.a.name = a.name.c_str();
    if (a.a.type == HXRT_ATTRIBUTE_INTS) {
      a.a.count = a.ints.size();
      a.a.ints = a.ints.data();
    }
    if (a.a.type == HXRT_ATTRIBUTE_STRING) {
      a.a.s = a.s.data();
      a.a.s_size = a.s.size();
    }
    attr_ptrs_.push_back(&a.a);
  }
  node_ = {};
  node_.struct_size = sizeof(node_);
  node_.name = "node";
  node_.domain = "";
  node_.op_type = op_.c_str();
  node_.opset_version = opset_;
  node_.num_attributes = attr_ptrs_.size();
  node_.attributes = attr_ptrs_.data();
  node_.num_inputs = in_ptrs_.size();
  node_.inputs = in_ptrs_.data();
  node_.num_outputs = out_ptrs_.size();
  node_.outputs = out_ptrs_.data();
  gnode_ = {};
  gnode_.struct_size = sizeof(gnode_);
  gnode_.node = &node_;
  gnode_.input_values = in_values_.data();
  gnode_.output_values = out_values_.data();
  gnode_ptr_ = &gnode_;
  graph_ = {};
  graph_.struct_size = sizeof(graph_);
  graph_.num_values = values_.size();
  graph_.values = values_.data();
  graph_.num_nodes = 1;
  graph_.nodes = &gnode_ptr_;
  graph_.num_inputs = graph_inputs_.size();
  graph_.input_values = graph_inputs_.data();
  graph_.num_outputs = graph_outputs_.size();
  graph_.output_values = graph_outputs_.data();
}

const hxrt_node_desc* NodeSpec::node() {
  build();
  return &node_;
}

const hxrt_graph_desc* NodeSpec::graph() {
  build();
  return &graph_;
}

size_t NodeSpec::num_runtime_inputs() const {
  size_t n = 0;
  for (const auto& t : inputs_) n += (!t.omitted && !t.is_constant) ? 1 : 0;
  return n;
}

Support query(const hxrt_plugin_api* api, hxrt_device* device, NodeSpec& node) {
  char message[512] = {};
  hxrt_query_op_support_args args{};
  args.struct_size = sizeof(args);
  args.device = device;
  args.node = node.node();
  args.reason_message = message;
  args.reason_message_capacity = sizeof(message);
  std::string error = status_text(api, api->query_op_support(&args));
  EXPECT_EQ(error, "");
  return {args.supported != 0, args.reason, args.estimated_ns, message};
}

std::vector<std::vector<float>> run_node(const hxrt_plugin_api* api, hxrt_device* device, NodeSpec& node,
                                         const std::vector<std::vector<float>>& inputs) {
  std::vector<std::vector<float>> results;
  hxrt_executable_compile_args compile{};
  compile.struct_size = sizeof(compile);
  compile.device = device;
  compile.graph = node.graph();
  std::string error = status_text(api, api->executable_compile(&compile));
  EXPECT_EQ(error, "") << "compile";
  if (!error.empty()) return results;
  const hxrt_graph_desc* g = node.graph();
  EXPECT_EQ(inputs.size(), g->num_inputs);
  hxrt_stream_create_args sc{};
  sc.struct_size = sizeof(sc);
  sc.device = device;
  EXPECT_EQ(status_text(api, api->stream_create(&sc)), "");
  std::vector<hxrt_buffer*> in_buffers, out_buffers;
  auto allocate = [&](size_t bytes) {
    hxrt_buffer_allocate_args a{};
    a.struct_size = sizeof(a);
    a.device = device;
    a.size_bytes = bytes;
    a.memory_kind = HXRT_MEMORY_DEVICE;
    EXPECT_EQ(status_text(api, api->buffer_allocate(&a)), "");
    return a.buffer;
  };
  for (size_t i = 0; i < inputs.size() && i < g->num_inputs; ++i) {
    const hxrt_tensor_desc* d = g->values[g->input_values[i]];
    size_t n = static_cast<size_t>(count(Shape(d->dims, d->dims + d->rank)));
    EXPECT_EQ(inputs[i].size(), n) << "input " << i;
    in_buffers.push_back(allocate(n * 4));
    hxrt_copy_to_device_args c{};
    c.struct_size = sizeof(c);
    c.stream = sc.stream;
    c.src = inputs[i].data();
    c.dst = in_buffers.back();
    c.size_bytes = n * 4;
    EXPECT_EQ(status_text(api, api->copy_to_device(&c)), "");
  }
  for (size_t k = 0; k < g->num_outputs; ++k) {
    const hxrt_tensor_desc* d = g->values[g->output_values[k]];
    size_t n = static_cast<size_t>(count(Shape(d->dims, d->dims + d->rank)));
    out_buffers.push_back(allocate(n * 4));
    results.emplace_back(n, -12345.0f);
  }
  hxrt_executable_execute_args e{};
  e.struct_size = sizeof(e);
  e.executable = compile.executable;
  e.stream = sc.stream;
  e.num_inputs = in_buffers.size();
  e.input_buffers = in_buffers.data();
  e.num_outputs = out_buffers.size();
  e.output_buffers = out_buffers.data();
  EXPECT_EQ(status_text(api, api->executable_execute(&e)), "") << "execute";
  for (size_t k = 0; k < out_buffers.size(); ++k) {
    hxrt_copy_to_host_args c{};
    c.struct_size = sizeof(c);
    c.stream = sc.stream;
    c.src = out_buffers[k];
    c.dst = results[k].data();
    c.size_bytes = results[k].size() * 4;
    EXPECT_EQ(status_text(api, api->copy_to_host(&c)), "");
  }
  EXPECT_EQ(status_text(api, api->stream_synchronize(sc.stream)), "") << "synchronize";
  for (auto* b : in_buffers) api->buffer_destroy(b);
  for (auto* b : out_buffers) api->buffer_destroy(b);
  api->stream_destroy(sc.stream);
  api->executable_destroy(compile.executable);
  return results;
}

std::vector<float> random_floats(size_t n, unsigned seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

}  // namespace hxrt::ocl::test
