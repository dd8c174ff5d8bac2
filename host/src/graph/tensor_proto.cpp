#include "graph/tensor_proto.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include "common/error.hpp"
#include "graph/onnx_proto.hpp"

namespace hxrt::host {

hxrt_dtype dtype_from_onnx(int64_t t) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return HXRT_DTYPE_FLOAT32;
    case onnx::TensorProto::UINT8: return HXRT_DTYPE_UINT8;
    case onnx::TensorProto::INT8: return HXRT_DTYPE_INT8;
    case onnx::TensorProto::UINT16: return HXRT_DTYPE_UINT16;
    case onnx::TensorProto::INT16: return HXRT_DTYPE_INT16;
    case onnx::TensorProto::INT32: return HXRT_DTYPE_INT32;
    case onnx::TensorProto::INT64: return HXRT_DTYPE_INT64;
    case onnx::TensorProto::BOOL: return HXRT_DTYPE_BOOL;
    case onnx::TensorProto::FLOAT16: return HXRT_DTYPE_FLOAT16;
    case onnx::TensorProto::DOUBLE: return HXRT_DTYPE_FLOAT64;
    case onnx::TensorProto::UINT32: return HXRT_DTYPE_UINT32;
    case onnx::TensorProto::UINT64: return HXRT_DTYPE_UINT64;
    case onnx::TensorProto::BFLOAT16: return HXRT_DTYPE_BFLOAT16;
    default: return HXRT_DTYPE_UNDEFINED;
  }
}

std::string onnx_dtype_name(int64_t t) {
  // Values past onnx 1.12's enum (float8 and later) are named here by hand.
  switch (t) {
    case 0: return "UNDEFINED";
    case 8: return "STRING";
    case 14: return "COMPLEX64";
    case 15: return "COMPLEX128";
    case 17: return "FLOAT8E4M3FN";
    case 18: return "FLOAT8E4M3FNUZ";
    case 19: return "FLOAT8E5M2";
    case 20: return "FLOAT8E5M2FNUZ";
    case 21: return "UINT4";
    case 22: return "INT4";
    case 23: return "FLOAT4E2M1";
    case 24: return "FLOAT8E8M0";
    case 25: return "UINT2";
    case 26: return "INT2";
    default: break;
  }
  const hxrt_dtype d = dtype_from_onnx(t);
  if (d != HXRT_DTYPE_UNDEFINED) return dtype_name(d);
  return fmt::format("data type {}", t);
}

namespace {

// Decodes `n` values of the typed field `field_name` (checking its count)
// into `t`'s bytes as Dst; `label` names the tensor in errors.
template <typename Dst, typename Field>
void copy_field(const Field& field, const char* field_name, size_t n, const std::string& label, HostTensor& t) {
  if (static_cast<size_t>(field.size()) != n) {
    throw Error{HXRT_STATUS_DATA_LOSS,
                fmt::format("{} of shape {} ({}) has {} values in {}, expected {}", label, shape_to_string(t.shape),
                            dtype_name(t.dtype), field.size(), field_name, n)};
  }
  t.bytes.resize(n * sizeof(Dst));
  for (size_t k = 0; k < n; ++k) {
    const Dst v = static_cast<Dst>(field.Get(static_cast<int>(k)));
    std::memcpy(t.bytes.data() + k * sizeof(Dst), &v, sizeof(Dst));
  }
}

}  // namespace

HostTensor tensor_from_proto(const onnx::TensorProto& proto) {
  const std::string label = proto.name().empty() ? std::string("tensor") : fmt::format("tensor '{}'", proto.name());
  HostTensor t;
  t.dtype = dtype_from_onnx(proto.data_type());
  if (t.dtype == HXRT_DTYPE_UNDEFINED) {
    throw Error{HXRT_STATUS_UNIMPLEMENTED,
                fmt::format("{} has unsupported data type {}", label, onnx_dtype_name(proto.data_type()))};
  }
  if (proto.has_segment()) {
    throw Error{HXRT_STATUS_UNIMPLEMENTED, fmt::format("{} is segmented, which is not supported", label)};
  }
  if (proto.data_location() == onnx::TensorProto::EXTERNAL || proto.external_data_size() > 0) {
    std::string location;
    for (const auto& kv : proto.external_data()) {
      if (kv.key() == "location") location = kv.value();
    }
    throw Error{HXRT_STATUS_UNIMPLEMENTED,
                fmt::format("{} uses external data (location '{}'), which is not supported; "
                            "save the model with its tensors inline",
                            label, location)};
  }
  t.shape.reserve(static_cast<size_t>(proto.dims_size()));
  int64_t numel = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{} has a negative dimension {}", label, d)};
    }
    if (d > 0 && numel > std::numeric_limits<int64_t>::max() / d) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("{} has too many elements", label)};
    }
    numel *= d;
    t.shape.push_back(d);
  }
  const size_t esize = dtype_size(t.dtype);
  const auto n = static_cast<size_t>(numel);
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != n * esize) {
      throw Error{HXRT_STATUS_DATA_LOSS,
                  fmt::format("{} of shape {} ({}) has {} bytes of raw_data, expected {}", label,
                              shape_to_string(t.shape), dtype_name(t.dtype), proto.raw_data().size(), n * esize)};
    }
    t.bytes.assign(proto.raw_data().begin(), proto.raw_data().end());
    return t;
  }
  switch (t.dtype) {
    case HXRT_DTYPE_FLOAT32: copy_field<float>(proto.float_data(), "float_data", n, label, t); break;
    case HXRT_DTYPE_INT32: copy_field<int32_t>(proto.int32_data(), "int32_data", n, label, t); break;
    case HXRT_DTYPE_INT16: copy_field<int16_t>(proto.int32_data(), "int32_data", n, label, t); break;
    case HXRT_DTYPE_INT8: copy_field<int8_t>(proto.int32_data(), "int32_data", n, label, t); break;
    case HXRT_DTYPE_UINT16:
    case HXRT_DTYPE_FLOAT16:
    case HXRT_DTYPE_BFLOAT16:  // int32_data holds the 16-bit patterns
      copy_field<uint16_t>(proto.int32_data(), "int32_data", n, label, t);
      break;
    case HXRT_DTYPE_UINT8:
    case HXRT_DTYPE_BOOL: copy_field<uint8_t>(proto.int32_data(), "int32_data", n, label, t); break;
    case HXRT_DTYPE_INT64: copy_field<int64_t>(proto.int64_data(), "int64_data", n, label, t); break;
    case HXRT_DTYPE_FLOAT64: copy_field<double>(proto.double_data(), "double_data", n, label, t); break;
    case HXRT_DTYPE_UINT32: copy_field<uint32_t>(proto.uint64_data(), "uint64_data", n, label, t); break;
    case HXRT_DTYPE_UINT64: copy_field<uint64_t>(proto.uint64_data(), "uint64_data", n, label, t); break;
    default:
      throw Error{HXRT_STATUS_UNIMPLEMENTED,
                  fmt::format("{} has unsupported data type {}", label, dtype_name(t.dtype))};
  }
  return t;
}

void tensor_to_proto(const HostTensor& tensor, const std::string& name, onnx::TensorProto& proto) {
  proto.Clear();
  if (!name.empty()) proto.set_name(name);
  proto.set_data_type(static_cast<int32_t>(tensor.dtype));
  for (int64_t d : tensor.shape) proto.add_dims(d);
  const size_t expected = static_cast<size_t>(tensor.numel()) * dtype_size(tensor.dtype);
  if (tensor.bytes.size() != expected) {
    throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                fmt::format("tensor '{}' of shape {} ({}) holds {} bytes, expected {}", name,
                            shape_to_string(tensor.shape), dtype_name(tensor.dtype), tensor.bytes.size(), expected)};
  }
  proto.set_raw_data(tensor.bytes.data(), tensor.bytes.size());
}

HostTensor load_tensor_proto_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error{HXRT_STATUS_NOT_FOUND, fmt::format("cannot open tensor file '{}'", path)};
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) {
    throw Error{HXRT_STATUS_DATA_LOSS, fmt::format("'{}' is not a valid serialized ONNX TensorProto", path)};
  }
  try {
    return tensor_from_proto(proto);
  } catch (const Error& e) {
    throw Error{e.code(), fmt::format("'{}': {}", path, e.message())};
  }
}

void save_tensor_proto_file(const std::string& path, const HostTensor& tensor, const std::string& name) {
  onnx::TensorProto proto;
  tensor_to_proto(tensor, name, proto);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error{HXRT_STATUS_NOT_FOUND, fmt::format("cannot create tensor file '{}'", path)};
  if (!proto.SerializeToOstream(&out)) {
    throw Error{HXRT_STATUS_INTERNAL, fmt::format("failed to write tensor file '{}'", path)};
  }
}

}  // namespace hxrt::host
