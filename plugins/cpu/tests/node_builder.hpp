// Shared by the CPU plugin's tests: hand-made ABI node descriptors.
//
// Depends on the ABI header only, so that the ABI-level test (which drives
// the plugin through dlopen) can use it as well as the kernel-level tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "hxrt/plugin_abi.h"

namespace hxrt::cpu::test {

// A dense tensor descriptor over `dims` (which must outlive it); a
// compile-time constant when `data` is non-NULL.
hxrt_tensor_desc tensor_desc(hxrt_dtype dtype, const std::vector<int64_t>& dims, const void* data = nullptr,
                             size_t bytes = 0);

// A node descriptor over the given arrays (which must outlive it).
hxrt_node_desc node_desc(const char* name, const char* op_type, int64_t opset,
                         const std::vector<const hxrt_attribute*>& attributes,
                         const std::vector<const hxrt_tensor_desc*>& inputs,
                         const std::vector<const hxrt_tensor_desc*>& outputs);

// A node descriptor that owns all its storage. Inputs given data are
// compile-time constants; desc() stays valid until the builder changes.
class NodeBuilder {
 public:
  NodeBuilder(std::string op, int64_t opset) : op_(std::move(op)), opset_(opset) {}

  NodeBuilder& name(std::string name) {
    name_ = std::move(name);
    return *this;
  }
  NodeBuilder& input(hxrt_dtype dtype, std::vector<int64_t> dims, const void* data = nullptr, size_t bytes = 0) {
    inputs_.push_back(&add_tensor(dtype, std::move(dims), data, bytes));
    return *this;
  }
  template <typename T>
  NodeBuilder& const_input(hxrt_dtype dtype, std::vector<int64_t> dims, const std::vector<T>& values) {
    return input(dtype, std::move(dims), values.data(), values.size() * sizeof(T));
  }
  NodeBuilder& no_input() {
    inputs_.push_back(nullptr);
    return *this;
  }
  NodeBuilder& output(hxrt_dtype dtype, std::vector<int64_t> dims) {
    outputs_.push_back(&add_tensor(dtype, std::move(dims), nullptr, 0));
    return *this;
  }
  NodeBuilder& attr_int(const std::string& name, int64_t v);
  NodeBuilder& attr_float(const std::string& name, float v);
  NodeBuilder& attr_string(const std::string& name, const std::string& v);
  NodeBuilder& attr_ints(const std::string& name, std::vector<int64_t> v);
  NodeBuilder& attr_floats(const std::string& name, std::vector<float> v);
  NodeBuilder& attr_strings(const std::string& name, std::vector<std::string> v);
  NodeBuilder& attr_tensor(const std::string& name, hxrt_dtype dtype, std::vector<int64_t> dims, const void* data,
                           size_t bytes);

  const std::string& op_type() const { return op_; }

  // (Re)builds the descriptor over the builder's storage.
  const hxrt_node_desc& desc();

 private:
  struct Tensor {
    hxrt_dtype dtype;
    std::vector<int64_t> dims;
    std::vector<uint8_t> data;
    bool has_data = false;
    hxrt_tensor_desc desc{};
  };
  struct Attr {
    std::string name, str;
    std::vector<int64_t> ints;
    std::vector<float> floats;
    std::vector<std::string> strings;
    std::vector<const char*> string_ptrs;
    Tensor* tensor = nullptr;
    hxrt_attribute attr{};
  };
  Tensor& add_tensor(hxrt_dtype dtype, std::vector<int64_t> dims, const void* data, size_t bytes);
  Attr& add_attr(const std::string& name, hxrt_attribute_type type);

  std::string op_;
  int64_t opset_;
  std::string name_;
  std::deque<Tensor> tensors_;
  std::deque<Attr> attrs_;
  std::vector<Tensor*> inputs_, outputs_;
  std::vector<const hxrt_attribute*> attr_ptrs_;
  std::vector<const hxrt_tensor_desc*> in_ptrs_, out_ptrs_;
  hxrt_node_desc node_{};
};

}  // namespace hxrt::cpu::test
