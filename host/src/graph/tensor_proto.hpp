// Conversion between ONNX TensorProto messages and HostTensor, shared by the
// model importer and the tools (ONNX backend-test input_N.pb / output_N.pb).
#pragma once

#include <cstdint>
#include <string>

#include "graph/ir.hpp"

namespace onnx {
class TensorProto;
}  // namespace onnx

namespace hxrt::host {

// The hxrt dtype for an ONNX TensorProto::DataType value, or
// HXRT_DTYPE_UNDEFINED when hxrt does not support it (STRING, complex,
// float8/4, int4/2, ...).
hxrt_dtype dtype_from_onnx(int64_t onnx_data_type);
// A readable name for an ONNX data type value ("FLOAT8E4M3FN", ...).
std::string onnx_dtype_name(int64_t onnx_data_type);

// Decodes raw_data or the typed fields (float_data, int32_data, int64_data,
// double_data, uint64_data). Throws Error: UNIMPLEMENTED for an unsupported
// dtype or external data, DATA_LOSS when the data does not match the dims,
// INVALID_ARGUMENT for negative dims.
HostTensor tensor_from_proto(const onnx::TensorProto& proto);
// Encodes a tensor as TensorProto with raw_data.
void tensor_to_proto(const HostTensor& tensor, const std::string& name, onnx::TensorProto& proto);

// Reads / writes a serialized TensorProto file. Errors: NOT_FOUND when the
// file cannot be opened, DATA_LOSS when it does not parse.
HostTensor load_tensor_proto_file(const std::string& path);
void save_tensor_proto_file(const std::string& path, const HostTensor& tensor, const std::string& name = "");

}  // namespace hxrt::host
