// ONNX model import: ModelProto -> Graph (topologically sorted nodes,
// initializers and Constant nodes turned into Value::constant).
#pragma once

#include <cstddef>
#include <string>

#include "graph/ir.hpp"

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace hxrt::host {

// Errors (hxrt::host::Error):
//   DATA_LOSS        the bytes are not a ModelProto, tensor data does not match its dims
//   INVALID_ARGUMENT empty graph, no opset import, unsupported ir_version (> 10),
//                    a node input nothing produces, a value produced twice, a cycle
//   UNIMPLEMENTED    unsupported dtypes, external data, sparse tensors, control
//                    flow (subgraph attributes), non-tensor graph inputs/outputs
Graph import_onnx_model(const void* bytes, size_t size);
Graph import_onnx_file(const std::string& path);  // NOT_FOUND when unreadable
Graph import_onnx_proto(const onnx::ModelProto& model);

// The highest ModelProto.ir_version accepted.
inline constexpr int64_t kMaxOnnxIrVersion = 13;

}  // namespace hxrt::host
