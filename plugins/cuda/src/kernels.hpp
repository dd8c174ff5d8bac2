// Launchers of the plugin's own CUDA kernels (defined in kernels_*.cu). Plain
// C++ types only, so op planning compiles with the host compiler. Every
// launcher enqueues on `stream` and returns the launch error (cudaSuccess
// when the launch was accepted).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace hxrt::cuda::k {

constexpr int kMaxRank = 8;

// Floating-point element types of the compute kernels.
enum class FType : int { kF32 = 0, kF16 = 1, kBF16 = 2 };
// Types of the typed arithmetic kernels (floats plus the common integers).
enum class NType : int { kF32 = 0, kF16 = 1, kBF16 = 2, kI32 = 3, kI64 = 4, kU8 = 5 };

// Up to three operands broadcast against one output. Strides are in elements,
// 0 along broadcast dimensions; dims are the output's (already collapsed).
struct Broadcast {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[3][kMaxRank] = {};
  bool contiguous[3] = {false, false, false};  // operand laid out exactly like the output
};

enum UnaryOp : int {
  kRelu, kSigmoid, kTanh, kExp, kLog, kSqrt, kNeg, kAbs, kErf, kReciprocal, kFloor, kCeil, kRound,
  kSin, kCos, kTan, kAsin, kAcos, kAtan, kSinh, kCosh, kAsinh, kAcosh, kAtanh,
  kSoftsign, kSoftplus, kSign, kMish,
  kLeakyRelu,      // a = alpha
  kElu,            // a = alpha
  kCelu,           // a = alpha
  kSelu,           // a = alpha, b = gamma
  kHardSigmoid,    // a = alpha, b = beta
  kHardSwish,
  kClip,           // a = min, b = max
  kThresholdedRelu,  // a = alpha
  kGelu,           // exact (erf)
  kGeluTanh,
  kShrink,         // a = lambd, b = bias
  kIdentity
};
struct UnaryParams {
  int op = kIdentity;
  float a = 0, b = 0;
};
cudaError_t unary(FType t, const void* x, void* y, int64_t n, UnaryParams p, cudaStream_t stream);

enum BinaryOp : int { kAdd, kSub, kMul, kDiv, kPow, kMax, kMin, kPRelu, kMod, kFMod };
// y = a op b with broadcasting (operands 0 and 1 of `b`).
cudaError_t binary(NType t, int op, const void* a, const void* b, void* y, int64_t n, const Broadcast& bc,
                   cudaStream_t stream);

enum CompareOp : int { kEqual, kLess, kLessOrEqual, kGreater, kGreaterOrEqual, kAnd, kOr, kXor };
// Output is bool (one byte per element).
cudaError_t compare(NType t, int op, const void* a, const void* b, uint8_t* y, int64_t n, const Broadcast& bc,
                    cudaStream_t stream);

// y = cond ? x : z with broadcasting (operands: 0 cond, 1 x, 2 z); elements of `elem_size` bytes.
cudaError_t where(int elem_size, const uint8_t* cond, const void* x, const void* z, void* y, int64_t n,
                  const Broadcast& bc, cudaStream_t stream);

// Element conversion between hxrt dtypes (ONNX codes): float32/16, bfloat16, int8/16/32/64, uint8, bool.
cudaError_t cast(int src_dtype, int dst_dtype, const void* x, void* y, int64_t n, cudaStream_t stream);

// Copies a box of `dims` elements: dst[dst_offset + sum i_d*dst_strides[d]] =
// src[src_offset + sum i_d*src_strides[d]] (strides in elements, may be 0 or negative for src).
struct StridedCopy {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t src_strides[kMaxRank] = {};
  int64_t dst_strides[kMaxRank] = {};
  int64_t src_offset = 0;
  int64_t dst_offset = 0;
};
cudaError_t strided_copy(int elem_size, const void* src, void* dst, const StridedCopy& c, cudaStream_t stream);

// Fills n elements of `elem_size` bytes with the pattern `value` (its low elem_size bytes).
cudaError_t fill(int elem_size, void* dst, int64_t n, uint64_t value, cudaStream_t stream);

// out[o, j, i] = data[o, idx[j], i]; negative indices count from the end.
cudaError_t gather(int elem_size, const void* data, const void* indices, bool indices_int64, void* out, int64_t outer,
                   int64_t axis_dim, int64_t num_indices, int64_t inner, cudaStream_t stream);

// Softmax / LogSoftmax over the middle dimension of [outer, d, inner].
cudaError_t softmax(FType t, const void* x, void* y, int64_t outer, int64_t d, int64_t inner, bool log,
                    cudaStream_t stream);

// Normalises rows of length d: y = (x - mean) * rstd * scale + bias. scale/bias
// have d elements (may be null); mean/rstd (float, may be null) receive per-row stats.
cudaError_t layer_norm(FType t, const void* x, const void* scale, const void* bias, void* y, int64_t rows, int64_t d,
                       float epsilon, float* mean, float* rstd, cudaStream_t stream);

enum ReduceOp : int { kRSum, kRMean, kRMax, kRMin, kRProd, kRL1, kRL2, kRSumSquare, kRLogSum, kRLogSumExp };
// Reduces the middle dimension of [outer, r, inner].
cudaError_t reduce(FType t, int op, const void* x, void* y, int64_t outer, int64_t r, int64_t inner,
                   cudaStream_t stream);

// y[n, c, :] = act(x[n, c, :] * scale[c] + shift[c] (+ z[n, c, :])); scale may be null (1).
// scale/shift are float. act: 0 none, 1 relu.
cudaError_t channel_affine(FType t, const void* x, const float* scale, const float* shift, const void* z, void* y,
                           int64_t n, int64_t c, int64_t inner, int act, cudaStream_t stream);

// 2-D pooling over NCHW (1-D pools pass h = 1, kernel/stride/pad of 1 along h).
struct Pool2d {
  int64_t n = 0, c = 0, h = 0, w = 0, oh = 0, ow = 0;
  int kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int ph_end = 0, pw_end = 0;  // for count_include_pad: the padded extent ends here
  bool max = true;
  bool count_include_pad = false;
  bool nhwc = false;  // channels-last tensors
};
cudaError_t pool2d(FType t, const void* x, void* y, const Pool2d& p, cudaStream_t stream);

// Local response normalisation across channels of NC(spatial).
cudaError_t lrn(FType t, const void* x, void* y, int64_t n, int64_t c, int64_t inner, int size, float alpha,
                float beta, float bias, cudaStream_t stream);

// Keeps the stream busy for about `ns` nanoseconds (profiling: lets the host
// enqueue a whole run before the GPU starts it, so per-step events measure GPU time).
cudaError_t spin(int64_t ns, cudaStream_t stream);

}  // namespace hxrt::cuda::k
