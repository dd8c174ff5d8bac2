// Test helpers: the vulkan plugin opened through the ABI (dlopen), single-node
// graphs built from owned descriptors, and runs through buffers and streams.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "hxrt/plugin_abi.h"

namespace vktest {

using Shape = std::vector<int64_t>;

// The plugin's table, loaded once per process.
const hxrt_plugin_api& api();
std::string plugin_path();

// Points Mesa's shader cache at a writable test directory (CI runs as root
// in a read-only-ish home; the cache also makes reruns fast).
void prepare_environment();

struct Status {
  hxrt_status_code code = HXRT_STATUS_OK;
  std::string message;
};
// Takes ownership of `s` (destroys it) and returns its code and message.
Status take(hxrt_plugin_status* s);

// A context with a capturing logger.
using Options = std::vector<std::pair<std::string, std::string>>;

class Context {
 public:
  explicit Context(Options options = {});
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();
  hxrt_plugin_context* get() const { return ctx_; }
  const std::vector<hxrt_device*>& devices() const { return devices_; }
  hxrt_device* device() const { return devices_.empty() ? nullptr : devices_[0]; }
  std::vector<std::pair<hxrt_log_level, std::string>> logs() const;
  std::string no_device_reason() const;
  void destroy();  // context_destroy now (logs stay readable)

 private:
  static void log(void* self, hxrt_log_level level, const char* message);
  hxrt_plugin_context* ctx_ = nullptr;
  std::vector<hxrt_device*> devices_;
  mutable std::mutex mutex_;
  std::vector<std::pair<hxrt_log_level, std::string>> logs_;
};

// Skips the test when the context has no device.
#define VK_REQUIRE_DEVICE(ctx)                                                      \
  do {                                                                              \
    if ((ctx).device() == nullptr) GTEST_SKIP() << "no Vulkan device: " << (ctx).no_device_reason(); \
  } while (0)

// A tensor for a test node: dtype, shape, optional constant bytes.
struct Tensor {
  hxrt_dtype dtype = HXRT_DTYPE_FLOAT32;
  Shape shape;
  std::vector<uint8_t> data;  // host data (inputs) or results (outputs)
  bool constant = false;

  static Tensor f32(Shape shape, std::vector<float> values, bool constant = false);
  static Tensor i64(Shape shape, std::vector<int64_t> values, bool constant = true);
  static Tensor empty(hxrt_dtype dtype, Shape shape);  // an output
  int64_t numel() const;
  std::vector<float> floats() const;
};

struct Attr {
  std::string name;
  hxrt_attribute_type type;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  static Attr Int(std::string n, int64_t v) { return {std::move(n), HXRT_ATTRIBUTE_INT, 0, v, {}, {}, {}}; }
  static Attr Float(std::string n, float v) { return {std::move(n), HXRT_ATTRIBUTE_FLOAT, v, 0, {}, {}, {}}; }
  static Attr Str(std::string n, std::string v) { return {std::move(n), HXRT_ATTRIBUTE_STRING, 0, 0, std::move(v), {}, {}}; }
  static Attr Ints(std::string n, std::vector<int64_t> v) { return {std::move(n), HXRT_ATTRIBUTE_INTS, 0, 0, {}, std::move(v), {}}; }
};

struct Node {
  std::string op;
  int64_t opset = 17;
  std::vector<std::optional<Tensor>> inputs;  // nullopt: omitted optional input
  std::vector<std::optional<Tensor>> outputs;  // shapes and dtypes; data is filled by run()
  std::vector<Attr> attrs;
};

// Owns every descriptor of a node (and of the one-node graph around it).
class NodeDesc {
 public:
  explicit NodeDesc(const Node& node);
  const hxrt_node_desc* node() const { return &node_; }
  const hxrt_graph_desc* graph() const { return &graph_; }

 private:
  std::vector<hxrt_tensor_desc> tensors_;
  std::vector<hxrt_attribute> attrs_;
  std::vector<const hxrt_attribute*> attr_ptrs_;
  std::vector<const hxrt_tensor_desc*> in_ptrs_, out_ptrs_, value_ptrs_;
  std::vector<int64_t> in_values_, out_values_, graph_inputs_, graph_outputs_;
  hxrt_node_desc node_{};
  hxrt_graph_node gnode_{};
  const hxrt_graph_node* gnode_ptr_ = nullptr;
  hxrt_graph_desc graph_{};
};

// query_op_support for the node.
struct Support {
  bool supported;
  hxrt_support_reason reason;
  double estimated_ns;
  std::string message;
};
Support query(hxrt_device* device, const Node& node);

// Compiles the node as a one-node graph, runs it once (inputs copied in,
// outputs copied back) and fills node.outputs[*].data. Fails the test on error.
void run(hxrt_device* device, Node& node);

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// |got - want| <= atol + rtol * |want| everywhere (NaN must match NaN).
::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<double>& want, double rtol = 1e-4,
                                     double atol = 1e-5);

// Raw ABI calls for the plugin tests; failures are test failures (EXPECT).
hxrt_buffer* allocate(hxrt_device* device, uint64_t size, hxrt_memory_kind kind = HXRT_MEMORY_DEVICE);
hxrt_stream* make_stream(hxrt_device* device);
hxrt_event* make_event(hxrt_device* device);
Status to_device(hxrt_stream* s, const void* src, hxrt_buffer* dst, uint64_t offset, uint64_t n);
Status to_host(hxrt_stream* s, hxrt_buffer* src, uint64_t offset, void* dst, uint64_t n);
Status on_device(hxrt_stream* s, hxrt_buffer* src, uint64_t src_offset, hxrt_buffer* dst, uint64_t dst_offset,
                 uint64_t n);

// After ctx.destroy() under the validation layer: the messenger reported its
// summary and no validation message was an error.
void expect_no_validation_errors(const Context& ctx);

}  // namespace vktest
