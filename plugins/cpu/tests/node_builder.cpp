#include "node_builder.hpp"

#include <utility>

namespace hxrt::cpu::test {

hxrt_tensor_desc tensor_desc(hxrt_dtype dtype, const std::vector<int64_t>& dims, const void* data, size_t bytes) {
  hxrt_tensor_desc desc{};
  desc.struct_size = sizeof(hxrt_tensor_desc);
  desc.dtype = dtype;
  desc.rank = dims.size();
  desc.dims = dims.data();
  if (data != nullptr) {
    desc.constant_data = data;
    desc.constant_size_bytes = bytes;
  }
  return desc;
}

hxrt_node_desc node_desc(const char* name, const char* op_type, int64_t opset,
                         const std::vector<const hxrt_attribute*>& attributes,
                         const std::vector<const hxrt_tensor_desc*>& inputs,
                         const std::vector<const hxrt_tensor_desc*>& outputs) {
  hxrt_node_desc node{};
  node.struct_size = sizeof(hxrt_node_desc);
  node.name = name;
  node.domain = "";
  node.op_type = op_type;
  node.opset_version = opset;
  node.num_attributes = attributes.size();
  node.attributes = attributes.data();
  node.num_inputs = inputs.size();
  node.inputs = inputs.data();
  node.num_outputs = outputs.size();
  node.outputs = outputs.data();
  return node;
}

NodeBuilder& NodeBuilder::attr_int(const std::string& name, int64_t v) {
  add_attr(name, HXRT_ATTRIBUTE_INT).attr.i = v;
  return *this;
}

NodeBuilder& NodeBuilder::attr_float(const std::string& name, float v) {
  add_attr(name, HXRT_ATTRIBUTE_FLOAT).attr.f = v;
  return *this;
}

NodeBuilder& NodeBuilder::attr_string(const std::string& name, const std::string& v) {
  add_attr(name, HXRT_ATTRIBUTE_STRING).str = v;
  return *this;
}

NodeBuilder& NodeBuilder::attr_ints(const std::string& name, std::vector<int64_t> v) {
  add_attr(name, HXRT_ATTRIBUTE_INTS).ints = std::move(v);
  return *this;
}

NodeBuilder& NodeBuilder::attr_floats(const std::string& name, std::vector<float> v) {
  add_attr(name, HXRT_ATTRIBUTE_FLOATS).floats = std::move(v);
  return *this;
}

NodeBuilder& NodeBuilder::attr_strings(const std::string& name, std::vector<std::string> v) {
  add_attr(name, HXRT_ATTRIBUTE_STRINGS).strings = std::move(v);
  return *this;
}

NodeBuilder& NodeBuilder::attr_tensor(const std::string& name, hxrt_dtype dtype, std::vector<int64_t> dims,
                                      const void* data, size_t bytes) {
  add_attr(name, HXRT_ATTRIBUTE_TENSOR).tensor = &add_tensor(dtype, std::move(dims), data, bytes);
  return *this;
}

const hxrt_node_desc& NodeBuilder::desc() {
  for (auto& t : tensors_) t.desc = tensor_desc(t.dtype, t.dims, t.has_data ? t.data.data() : nullptr, t.data.size());
  attr_ptrs_.clear();
  for (auto& a : attrs_) {
    a.attr.struct_size = sizeof(hxrt_attribute);
    a.attr.name = a.name.c_str();
    a.attr.s = a.str.data();
    a.attr.s_size = a.str.size();
    a.string_ptrs.clear();
    for (auto& s : a.strings) a.string_ptrs.push_back(s.c_str());
    a.attr.count = a.attr.type == HXRT_ATTRIBUTE_INTS     ? a.ints.size()
                   : a.attr.type == HXRT_ATTRIBUTE_FLOATS ? a.floats.size()
                                                          : a.strings.size();
    a.attr.ints = a.ints.data();
    a.attr.floats = a.floats.data();
    a.attr.strings = a.string_ptrs.data();
    a.attr.tensor = a.tensor ? &a.tensor->desc : nullptr;
    attr_ptrs_.push_back(&a.attr);
  }
  in_ptrs_.clear();
  for (auto* t : inputs_) in_ptrs_.push_back(t ? &t->desc : nullptr);
  out_ptrs_.clear();
  for (auto* t : outputs_) out_ptrs_.push_back(t ? &t->desc : nullptr);
  node_ = node_desc(name_.c_str(), op_.c_str(), opset_, attr_ptrs_, in_ptrs_, out_ptrs_);
  return node_;
}

NodeBuilder::Tensor& NodeBuilder::add_tensor(hxrt_dtype dtype, std::vector<int64_t> dims, const void* data,
                                             size_t bytes) {
  Tensor& t = tensors_.emplace_back();
  t.dtype = dtype;
  t.dims = std::move(dims);
  if (data) {
    t.has_data = true;
    t.data.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + bytes);
  }
  return t;
}

NodeBuilder::Attr& NodeBuilder::add_attr(const std::string& name, hxrt_attribute_type type) {
  Attr& a = attrs_.emplace_back();
  a.name = name;
  a.attr.type = type;
  return a;
}

}  // namespace hxrt::cpu::test
