// Read-only helpers over the ABI's node and tensor descriptors (hxrt_node_desc,
// hxrt_tensor_desc), so kernels look attributes up by name with defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hxrt/plugin_abi.h"

namespace hxrt::plugin {

using Shape = std::vector<int64_t>;

size_t dtype_size(hxrt_dtype dtype);          // 0 for UNDEFINED/STRING
const char* dtype_name(hxrt_dtype dtype);      // "float32", ...
int64_t element_count(const Shape& shape);     // 1 for a scalar
Shape shape_of(const hxrt_tensor_desc& desc);
std::string shape_to_string(const Shape& shape);  // "[1,3,224,224]"

// A copy of a tensor descriptor that owns its dims and constant bytes, so a
// kernel can keep it after the compile call returns (R5.4).
struct TensorInfo {
  hxrt_dtype dtype = HXRT_DTYPE_UNDEFINED;
  Shape shape;
  std::optional<std::vector<uint8_t>> constant;  // set when known at compile time

  int64_t numel() const { return element_count(shape); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  // The constant as int64 values (accepts int32/int64 data); throws if absent.
  std::vector<int64_t> constant_ints() const;
  std::vector<float> constant_floats() const;
};

TensorInfo tensor_info(const hxrt_tensor_desc& desc);

// A node descriptor with name-based attribute access.
class NodeReader {
 public:
  explicit NodeReader(const hxrt_node_desc& node);

  std::string_view op_type() const { return node_->op_type; }
  std::string_view domain() const { return node_->domain ? node_->domain : ""; }
  int64_t opset() const { return node_->opset_version; }
  const hxrt_node_desc& desc() const { return *node_; }

  size_t num_inputs() const { return node_->num_inputs; }
  size_t num_outputs() const { return node_->num_outputs; }
  // True when input `i` exists and is not an omitted optional input.
  bool has_input(size_t i) const { return i < node_->num_inputs && node_->inputs[i] != nullptr; }
  bool has_output(size_t i) const { return i < node_->num_outputs && node_->outputs[i] != nullptr; }
  const hxrt_tensor_desc& input(size_t i) const;   // throws INVALID_ARGUMENT if absent
  const hxrt_tensor_desc& output(size_t i) const;  // likewise
  TensorInfo input_info(size_t i) const { return tensor_info(input(i)); }
  TensorInfo output_info(size_t i) const { return tensor_info(output(i)); }

  const hxrt_attribute* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  int64_t get_int(std::string_view name, int64_t fallback) const;
  float get_float(std::string_view name, float fallback) const;
  std::string get_string(std::string_view name, std::string fallback) const;
  std::vector<int64_t> get_ints(std::string_view name, std::vector<int64_t> fallback = {}) const;
  std::vector<float> get_floats(std::string_view name, std::vector<float> fallback = {}) const;
  // TENSOR attribute (e.g. Constant's value, ConstantOfShape's value).
  std::optional<TensorInfo> get_tensor(std::string_view name) const;

 private:
  const hxrt_node_desc* node_;
};

}  // namespace hxrt::plugin
