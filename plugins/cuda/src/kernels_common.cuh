// Device helpers shared by the kernel files: element conversion and launch shapes.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels.hpp"

namespace hxrt::cuda::k {

template <typename T>
__device__ __forceinline__ float to_float(T v) {
  return static_cast<float>(v);
}
template <>
__device__ __forceinline__ float to_float<__half>(__half v) {
  return __half2float(v);
}
template <>
__device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <typename T>
__device__ __forceinline__ T from_float(float v) {
  return static_cast<T>(v);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// A grid covering n elements with 256-thread blocks, capped so that the
// grid-stride loops keep every SM busy without huge grids.
inline unsigned grid_for(int64_t n, int threads = 256) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > 65536) blocks = 65536;
  return static_cast<unsigned>(blocks);
}

// Element offsets of NOP broadcast operands for output element i.
template <int NOP>
__device__ __forceinline__ void broadcast_offsets(int64_t i, const Broadcast& b, int64_t (&off)[NOP]) {
  bool all = true;
#pragma unroll
  for (int k = 0; k < NOP; ++k) {
    off[k] = b.contiguous[k] ? i : 0;
    all = all && b.contiguous[k];
  }
  if (all) return;
  int64_t rem = i;
  for (int d = b.rank - 1; d >= 0; --d) {
    int64_t dim = b.dims[d];
    int64_t idx = rem % dim;
    rem /= dim;
#pragma unroll
    for (int k = 0; k < NOP; ++k)
      if (!b.contiguous[k]) off[k] += idx * b.strides[k][d];
  }
}

// Dispatches a float-type template body on FType.
#define HXRT_DISPATCH_FTYPE(t, T, ...)                 \
  switch (t) {                                         \
    case FType::kF32: { using T = float; __VA_ARGS__ } break; \
    case FType::kF16: { using T = __half; __VA_ARGS__ } break; \
    case FType::kBF16: { using T = __nv_bfloat16; __VA_ARGS__ } break; \
    default: return cudaErrorInvalidValue;             \
  }

}  // namespace hxrt::cuda::k
