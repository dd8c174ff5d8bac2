#include "hxrt/plugin_support/node_reader.hpp"

#include <cstring>

#include "hxrt/plugin_support/status.hpp"

namespace hxrt::plugin {

size_t dtype_size(hxrt_dtype dtype) {
  switch (dtype) {
    case HXRT_DTYPE_FLOAT32: case HXRT_DTYPE_INT32: case HXRT_DTYPE_UINT32: return 4;
    case HXRT_DTYPE_UINT8: case HXRT_DTYPE_INT8: case HXRT_DTYPE_BOOL: return 1;
    case HXRT_DTYPE_UINT16: case HXRT_DTYPE_INT16: case HXRT_DTYPE_FLOAT16: case HXRT_DTYPE_BFLOAT16: return 2;
    case HXRT_DTYPE_INT64: case HXRT_DTYPE_UINT64: case HXRT_DTYPE_FLOAT64: return 8;
    default: return 0;
  }
}

const char* dtype_name(hxrt_dtype dtype) {
  switch (dtype) {
    case HXRT_DTYPE_FLOAT32: return "float32";
    case HXRT_DTYPE_UINT8: return "uint8";
    case HXRT_DTYPE_INT8: return "int8";
    case HXRT_DTYPE_UINT16: return "uint16";
    case HXRT_DTYPE_INT16: return "int16";
    case HXRT_DTYPE_INT32: return "int32";
    case HXRT_DTYPE_INT64: return "int64";
    case HXRT_DTYPE_STRING: return "string";
    case HXRT_DTYPE_BOOL: return "bool";
    case HXRT_DTYPE_FLOAT16: return "float16";
    case HXRT_DTYPE_FLOAT64: return "float64";
    case HXRT_DTYPE_UINT32: return "uint32";
    case HXRT_DTYPE_UINT64: return "uint64";
    case HXRT_DTYPE_BFLOAT16: return "bfloat16";
    default: return "undefined";
  }
}

int64_t element_count(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Shape shape_of(const hxrt_tensor_desc& desc) {
  return desc.rank == 0 ? Shape{} : Shape(desc.dims, desc.dims + desc.rank);
}

std::string shape_to_string(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ",";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

TensorInfo tensor_info(const hxrt_tensor_desc& desc) {
  TensorInfo info;
  info.dtype = desc.dtype;
  info.shape = shape_of(desc);
  if (desc.constant_data != nullptr) {
    auto bytes = static_cast<const uint8_t*>(desc.constant_data);
    info.constant.emplace(bytes, bytes + desc.constant_size_bytes);
  }
  return info;
}

std::vector<int64_t> TensorInfo::constant_ints() const {
  if (!constant) throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "value must be a compile-time constant");
  std::vector<int64_t> values(static_cast<size_t>(numel()));
  if (dtype == HXRT_DTYPE_INT64) {
    std::memcpy(values.data(), constant->data(), values.size() * 8);
  } else if (dtype == HXRT_DTYPE_INT32) {
    for (size_t i = 0; i < values.size(); ++i) {
      int32_t v;
      std::memcpy(&v, constant->data() + 4 * i, 4);
      values[i] = v;
    }
  } else {
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string("expected int32/int64 values, got ") + dtype_name(dtype));
  }
  return values;
}

std::vector<float> TensorInfo::constant_floats() const {
  if (!constant) throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "value must be a compile-time constant");
  if (dtype != HXRT_DTYPE_FLOAT32) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "expected float32 values");
  std::vector<float> values(static_cast<size_t>(numel()));
  std::memcpy(values.data(), constant->data(), values.size() * 4);
  return values;
}

NodeReader::NodeReader(const hxrt_node_desc& node) : node_(&node) {}

const hxrt_tensor_desc& NodeReader::input(size_t i) const {
  if (!has_input(i)) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(node_->op_type) + ": input " + std::to_string(i) + " is missing");
  return *node_->inputs[i];
}

const hxrt_tensor_desc& NodeReader::output(size_t i) const {
  if (!has_output(i)) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string(node_->op_type) + ": output " + std::to_string(i) + " is missing");
  return *node_->outputs[i];
}

const hxrt_attribute* NodeReader::find(std::string_view name) const {
  for (size_t i = 0; i < node_->num_attributes; ++i) {
    const hxrt_attribute* a = node_->attributes[i];
    if (a != nullptr && a->name != nullptr && name == a->name) return a;
  }
  return nullptr;
}

int64_t NodeReader::get_int(std::string_view name, int64_t fallback) const {
  const hxrt_attribute* a = find(name);
  return a && a->type == HXRT_ATTRIBUTE_INT ? a->i : fallback;
}

float NodeReader::get_float(std::string_view name, float fallback) const {
  const hxrt_attribute* a = find(name);
  if (!a) return fallback;
  if (a->type == HXRT_ATTRIBUTE_FLOAT) return a->f;
  if (a->type == HXRT_ATTRIBUTE_INT) return static_cast<float>(a->i);
  return fallback;
}

std::string NodeReader::get_string(std::string_view name, std::string fallback) const {
  const hxrt_attribute* a = find(name);
  return a && a->type == HXRT_ATTRIBUTE_STRING ? std::string(a->s, a->s_size) : fallback;
}

std::vector<int64_t> NodeReader::get_ints(std::string_view name, std::vector<int64_t> fallback) const {
  const hxrt_attribute* a = find(name);
  if (!a || a->type != HXRT_ATTRIBUTE_INTS) return fallback;
  return std::vector<int64_t>(a->ints, a->ints + a->count);
}

std::vector<float> NodeReader::get_floats(std::string_view name, std::vector<float> fallback) const {
  const hxrt_attribute* a = find(name);
  if (!a || a->type != HXRT_ATTRIBUTE_FLOATS) return fallback;
  return std::vector<float>(a->floats, a->floats + a->count);
}

std::optional<TensorInfo> NodeReader::get_tensor(std::string_view name) const {
  const hxrt_attribute* a = find(name);
  if (!a || a->type != HXRT_ATTRIBUTE_TENSOR || a->tensor == nullptr) return std::nullopt;
  return tensor_info(*a->tensor);
}

}  // namespace hxrt::plugin
