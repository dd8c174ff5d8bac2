// The suite's own reference implementation of ONNX ops, in double precision.
// Written from the ONNX operator specification, independent of every plugin
// (the CPU plugin is itself under test). Inputs hold exact values of their
// dtype; outputs carry the dtype the op produces.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tensor.hpp"

namespace hxrt::conformance::ref {

// ---- elementwise.cpp ----
// Unary ops by ONNX name with their float attributes (alpha, beta, ...).
// Returns nullopt for an unknown op.
std::optional<double> unary(const std::string& op, double x, double alpha, double beta);
Dims broadcast_shape(const Dims& a, const Dims& b);  // throws on mismatch
// Binary ops with numpy broadcasting: arithmetic keeps a's dtype, comparisons give BOOL.
Tensor binary(const std::string& op, const Tensor& a, const Tensor& b);
// Sum, Mean, Max, Min over any number of inputs (broadcast).
Tensor variadic(const std::string& op, const std::vector<Tensor>& inputs);
Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y);
Tensor clip(const Tensor& x, double lo, double hi);

// ---- matmul.cpp ----
Tensor matmul(const Tensor& a, const Tensor& b);  // numpy matmul semantics, rank >= 1
Tensor gemm(const Tensor& a, const Tensor& b, const Tensor* c, double alpha, double beta, bool trans_a, bool trans_b);

// ---- conv.cpp ----
struct ConvParams {
  std::vector<int64_t> pads;       // begin..., end...
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  int64_t group = 1;
};
Tensor conv(const Tensor& x, const Tensor& w, const Tensor* bias, const ConvParams& p);  // N C spatial...

// ---- pool.cpp ----
struct PoolParams {
  std::vector<int64_t> kernel;
  std::vector<int64_t> pads;  // begin..., end...
  std::vector<int64_t> strides;
  bool count_include_pad = false;
};
Tensor max_pool(const Tensor& x, const PoolParams& p);
Tensor average_pool(const Tensor& x, const PoolParams& p);
Tensor global_pool(const Tensor& x, bool max);

// ---- reduce.cpp ----
// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
// ReduceSumSquare, ReduceLogSum, ReduceLogSumExp. Empty `axes` = all axes.
Tensor reduce(const std::string& op, const Tensor& x, std::vector<int64_t> axes, bool keepdims);
Tensor arg_reduce(const Tensor& x, int64_t axis, bool keepdims, bool max, bool select_last_index);

// ---- softmax.cpp ----
Tensor softmax(const Tensor& x, int64_t axis, bool log);  // opset >= 13: one axis

// ---- norm.cpp ----
Tensor batch_norm(const Tensor& x, const Tensor& scale, const Tensor& bias, const Tensor& mean, const Tensor& var,
                  double epsilon);
Tensor layer_norm(const Tensor& x, const Tensor& scale, const Tensor* bias, int64_t axis, double epsilon);
Tensor instance_norm(const Tensor& x, const Tensor& scale, const Tensor& bias, double epsilon);

// ---- data_movement.cpp ----
Tensor transpose(const Tensor& x, const std::vector<int64_t>& perm);
Tensor reshape(const Tensor& x, const Dims& shape);  // shape already resolved (no 0/-1)
Tensor concat(const std::vector<Tensor>& inputs, int64_t axis);
Tensor slice(const Tensor& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
             const std::vector<int64_t>& axes, const std::vector<int64_t>& steps);
Tensor gather(const Tensor& x, const Tensor& indices, int64_t axis);
Tensor tile(const Tensor& x, const std::vector<int64_t>& repeats);

}  // namespace hxrt::conformance::ref
