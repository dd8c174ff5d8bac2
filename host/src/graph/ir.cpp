#include "graph/ir.hpp"

#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"

namespace hxrt::host {

namespace {

template <typename T>
void append_as_int64(const HostTensor& t, std::vector<int64_t>& out) {
  const auto n = static_cast<size_t>(t.numel());
  if (t.bytes.size() < n * sizeof(T)) {
    throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                fmt::format("tensor of shape {} holds {} bytes, expected {}", shape_to_string(t.shape),
                            t.bytes.size(), n * sizeof(T))};
  }
  out.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    T v;
    std::memcpy(&v, t.bytes.data() + k * sizeof(T), sizeof(T));
    out.push_back(static_cast<int64_t>(v));
  }
}

}  // namespace

HostTensor make_host_tensor(hxrt_dtype dtype, Shape shape, const void* data, size_t size) {
  HostTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes.resize(size);
  if (size > 0) std::memcpy(t.bytes.data(), data, size);
  return t;
}

std::vector<int64_t> HostTensor::as_ints() const {
  std::vector<int64_t> out;
  switch (dtype) {
    case HXRT_DTYPE_INT64: append_as_int64<int64_t>(*this, out); break;
    case HXRT_DTYPE_INT32: append_as_int64<int32_t>(*this, out); break;
    case HXRT_DTYPE_INT16: append_as_int64<int16_t>(*this, out); break;
    case HXRT_DTYPE_INT8: append_as_int64<int8_t>(*this, out); break;
    case HXRT_DTYPE_UINT8: append_as_int64<uint8_t>(*this, out); break;
    case HXRT_DTYPE_UINT16: append_as_int64<uint16_t>(*this, out); break;
    case HXRT_DTYPE_UINT32: append_as_int64<uint32_t>(*this, out); break;
    case HXRT_DTYPE_UINT64: append_as_int64<uint64_t>(*this, out); break;
    case HXRT_DTYPE_BOOL: append_as_int64<uint8_t>(*this, out); break;
    default:
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("expected an integer tensor, got {}", dtype_name(dtype))};
  }
  return out;
}

const Attribute* Node::find_attribute(const std::string& attribute_name) const {
  for (const auto& a : attributes) {
    if (a.name == attribute_name) return &a;
  }
  return nullptr;
}

namespace {

[[noreturn]] void attribute_type_error(const Node& node, const Attribute& a, const char* expected) {
  throw Error{HXRT_STATUS_INVALID_ARGUMENT,
              fmt::format("{} node '{}': attribute '{}' has type {}, expected {}", node.op_type, node.name,
                          a.name, static_cast<int>(a.type), expected)};
}

}  // namespace

int64_t Node::get_int(const std::string& attribute_name, int64_t fallback) const {
  const Attribute* a = find_attribute(attribute_name);
  if (!a) return fallback;
  if (a->type != HXRT_ATTRIBUTE_INT) attribute_type_error(*this, *a, "INT");
  return a->i;
}

float Node::get_float(const std::string& attribute_name, float fallback) const {
  const Attribute* a = find_attribute(attribute_name);
  if (!a) return fallback;
  if (a->type == HXRT_ATTRIBUTE_INT) return static_cast<float>(a->i);
  if (a->type != HXRT_ATTRIBUTE_FLOAT) attribute_type_error(*this, *a, "FLOAT");
  return a->f;
}

std::string Node::get_string(const std::string& attribute_name, const std::string& fallback) const {
  const Attribute* a = find_attribute(attribute_name);
  if (!a) return fallback;
  if (a->type != HXRT_ATTRIBUTE_STRING) attribute_type_error(*this, *a, "STRING");
  return a->s;
}

std::vector<int64_t> Node::get_ints(const std::string& attribute_name, std::vector<int64_t> fallback) const {
  const Attribute* a = find_attribute(attribute_name);
  if (!a) return fallback;
  if (a->type == HXRT_ATTRIBUTE_INT) return {a->i};
  if (a->type != HXRT_ATTRIBUTE_INTS) attribute_type_error(*this, *a, "INTS");
  return a->ints;
}

int Graph::find_value(const std::string& value_name) const {
  for (size_t k = 0; k < values.size(); ++k) {
    if (values[k].name == value_name) return static_cast<int>(k);
  }
  return -1;
}

int Graph::add_value(Value value) {
  if (!value.name.empty() && find_value(value.name) >= 0) {
    throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("value '{}' is defined twice", value.name)};
  }
  values.push_back(std::move(value));
  return static_cast<int>(values.size()) - 1;
}

}  // namespace hxrt::host

namespace hxrt::host {

std::string partial_shape_to_string(const PartialShape& shape) {
  std::string s = "[";
  for (size_t k = 0; k < shape.size(); ++k) {
    if (k) s += ",";
    s += shape[k] ? std::to_string(*shape[k]) : std::string("?");
  }
  return s + "]";
}

void Graph::reindex_producers() {
  for (auto& value : values) value.producer = -1;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int v : nodes[n].outputs)
      if (v >= 0) values[v].producer = static_cast<int>(n);
}

}  // namespace hxrt::host
