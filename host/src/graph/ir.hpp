// The host's graph IR: an ONNX graph after import, with every value's dtype
// and (after shape inference) static shape, and constants held as bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hxrt/plugin_abi.h"
#include "hxrt/plugin_support/node_reader.hpp"

namespace hxrt::host {

// dtype and shape helpers are shared with the plugins' support library.
using plugin::dtype_name;
using plugin::dtype_size;
using plugin::element_count;
using plugin::Shape;
using plugin::shape_to_string;

// Dense, row-major tensor data owned by the host.
struct HostTensor {
  hxrt_dtype dtype = HXRT_DTYPE_UNDEFINED;
  Shape shape;
  std::vector<uint8_t> bytes;

  int64_t numel() const { return element_count(shape); }
  template <typename T> const T* data() const { return reinterpret_cast<const T*>(bytes.data()); }
  template <typename T> T* data() { return reinterpret_cast<T*>(bytes.data()); }
  // Values of an int32/int64 tensor as int64 (shape inputs, axes, ...).
  std::vector<int64_t> as_ints() const;
};

// A tensor of `dtype` and `shape` holding a copy of `size` bytes at `data`.
HostTensor make_host_tensor(hxrt_dtype dtype, Shape shape, const void* data, size_t size);
template <typename T>
HostTensor make_host_tensor(hxrt_dtype dtype, Shape shape, const std::vector<T>& values) {
  return make_host_tensor(dtype, std::move(shape), values.data(), values.size() * sizeof(T));
}

struct Value {
  std::string name;
  hxrt_dtype dtype = HXRT_DTYPE_UNDEFINED;
  std::optional<Shape> shape;  // nullopt until known
  // Compile-time value: initializer, Constant output or folded result.
  std::shared_ptr<const HostTensor> constant;
  int producer = -1;          // node index, -1 for graph inputs and initializers
};

struct Attribute {
  std::string name;
  hxrt_attribute_type type = HXRT_ATTRIBUTE_UNDEFINED;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::shared_ptr<const HostTensor> tensor;
};

struct Node {
  std::string name;
  std::string domain;      // "" for the default ONNX domain
  std::string op_type;
  int64_t opset = 0;       // the model's opset import for `domain`
  std::vector<Attribute> attributes;
  std::vector<int> inputs;   // value indices; -1 for an omitted optional input
  std::vector<int> outputs;  // value indices; -1 for an omitted optional output

  const Attribute* find_attribute(const std::string& attribute_name) const;
  int64_t get_int(const std::string& attribute_name, int64_t fallback) const;
  float get_float(const std::string& attribute_name, float fallback) const;
  std::string get_string(const std::string& attribute_name, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& attribute_name, std::vector<int64_t> fallback = {}) const;
};

// A shape the model declares, whose dims may be unknown (dim_param or
// missing: nullopt).
using PartialShape = std::vector<std::optional<int64_t>>;
std::string partial_shape_to_string(const PartialShape& shape);  // "[?,3,224,224]"

struct Graph {
  std::string name;
  std::vector<Value> values;
  std::vector<Node> nodes;    // topologically sorted after import
  std::vector<int> inputs;    // runtime inputs (initializers excluded)
  std::vector<int> outputs;
  std::map<std::string, int64_t> opset_imports;  // domain -> version
  int64_t ir_version = 0;
  // Shapes the model declares for values (graph inputs, value_info, graph
  // outputs), possibly with unknown dims; set by import. set_input_shapes
  // checks overrides against them; shape inference uses fully static ones
  // for ops it has no shape function for.
  std::map<int, PartialShape> declared_shapes;

  int find_value(const std::string& value_name) const;  // -1 if absent
  int add_value(Value value);
  // Sets every value's producer from the node list (after nodes were added,
  // removed or reordered).
  void reindex_producers();
};

}  // namespace hxrt::host
