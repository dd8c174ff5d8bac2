// Test harness for the OpenCL plugin: loads the built module with dlopen and
// drives it only through the ABI function table, as the host does.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "hxrt/plugin_abi.h"

namespace hxrt::ocl::test {

using Shape = std::vector<int64_t>;

std::string plugin_path();
const hxrt_plugin_api* plugin_api();  // negotiated once per process; nullptr + ADD_FAILURE on failure
// Sets POCL_CACHE_DIR to a writable temp dir when the environment has none.
void ensure_pocl_cache();
std::string make_temp_dir(const std::string& tag);

// A plugin context with captured log lines.
class Context {
 public:
  explicit Context(std::vector<std::pair<std::string, std::string>> options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const hxrt_plugin_api* api() const { return api_; }
  hxrt_plugin_context* get() const { return context_; }
  std::vector<hxrt_device*> devices() const;
  std::vector<std::string> log() const;
  bool log_contains(const std::string& text) const;
  // Destroys the context now (its final log lines stay readable).
  void destroy();

 private:
  static void on_log(void* user, hxrt_log_level level, const char* message);
  const hxrt_plugin_api* api_ = nullptr;
  hxrt_plugin_context* context_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<std::string> log_;
};

// Takes a status: "" for success, else "<code>: message"; frees it.
std::string status_text(const hxrt_plugin_api* api, hxrt_plugin_status* status);
#define HXRT_OCL_OK(api, call) ASSERT_EQ(::hxrt::ocl::test::status_text(api, call), "")

// One node with owned descriptors, plus a single-node graph around it.
class NodeSpec {
 public:
  explicit NodeSpec(std::string op, int64_t opset = 17) : op_(std::move(op)), opset_(opset) {}
  NodeSpec& input(Shape dims, hxrt_dtype dtype = HXRT_DTYPE_FLOAT32);
  NodeSpec& const_input(Shape dims, const std::vector<float>& values);
  NodeSpec& const_ints(Shape dims, const std::vector<int64_t>& values);
  NodeSpec& omitted_input();
  NodeSpec& output(Shape dims, hxrt_dtype dtype = HXRT_DTYPE_FLOAT32);
  NodeSpec& attr(const std::string& name, int64_t v);
  NodeSpec& attr(const std::string& name, float v);
  NodeSpec& attr(const std::string& name, std::vector<int64_t> v);
  NodeSpec& attr(const std::string& name, const std::string& v);

  const hxrt_node_desc* node();
  const hxrt_graph_desc* graph();  // runtime inputs: the non-constant inputs in order; outputs: all
  size_t num_runtime_inputs() const;
  const Shape& input_shape(size_t i) const { return inputs_[i].dims; }
  const Shape& output_shape(size_t i) const { return outputs_[i].dims; }
  size_t num_outputs() const { return outputs_.size(); }

 private:
  struct Tensor {
    bool omitted = false;
    hxrt_dtype dtype = HXRT_DTYPE_FLOAT32;
    Shape dims;
    std::vector<uint8_t> constant;
    bool is_constant = false;
    hxrt_tensor_desc desc{};
  };
  struct Attr {
    std::string name, s;
    std::vector<int64_t> ints;
    hxrt_attribute a{};
  };
  void build();
  std::string op_;
  int64_t opset_;
  std::vector<Tensor> inputs_, outputs_;
  std::vector<Attr> attrs_;
  std::vector<const hxrt_attribute*> attr_ptrs_;
  std::vector<const hxrt_tensor_desc*> in_ptrs_, out_ptrs_, values_;
  std::vector<int64_t> in_values_, out_values_, graph_inputs_, graph_outputs_;
  hxrt_node_desc node_{};
  hxrt_graph_node gnode_{};
  const hxrt_graph_node* gnode_ptr_ = nullptr;
  hxrt_graph_desc graph_{};
};

// What the device answers for a node.
struct Support {
  bool supported = false;
  hxrt_support_reason reason = HXRT_SUPPORTED;
  double estimated_ns = 0;
  std::string message;
};
Support query(const hxrt_plugin_api* api, hxrt_device* device, NodeSpec& node);

// Compiles the node's graph, runs it once with `inputs` (the runtime inputs
// in order, float32), returns every output as floats. Fails the test on error.
std::vector<std::vector<float>> run_node(const hxrt_plugin_api* api, hxrt_device* device, NodeSpec& node,
                                         const std::vector<std::vector<float>>& inputs);

std::vector<float> random_floats(size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f);
int64_t count(const Shape& s);

}  // namespace hxrt::ocl::test
