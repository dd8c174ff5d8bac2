// Element-wise kernels: unary math, broadcasting binary arithmetic and
// comparisons, Where and Cast. Arithmetic on 16-bit floats runs in float.
#include <cmath>
#include <type_traits>

#include "kernels_common.cuh"

namespace hxrt::cuda::k {
namespace {

__device__ __forceinline__ float apply_unary(float x, const UnaryParams& p) {
  switch (p.op) {
    case kRelu: return x > 0.f ? x : 0.f;
    case kSigmoid: return 1.f / (1.f + expf(-x));
    case kTanh: return tanhf(x);
    case kExp: return expf(x);
    case kLog: return logf(x);
    case kSqrt: return sqrtf(x);
    case kNeg: return -x;
    case kAbs: return fabsf(x);
    case kErf: return erff(x);
    case kReciprocal: return 1.f / x;
    case kFloor: return floorf(x);
    case kCeil: return ceilf(x);
    case kRound: return nearbyintf(x);  // half to even, as ONNX asks
    case kSin: return sinf(x);
    case kCos: return cosf(x);
    case kTan: return tanf(x);
    case kAsin: return asinf(x);
    case kAcos: return acosf(x);
    case kAtan: return atanf(x);
    case kSinh: return sinhf(x);
    case kCosh: return coshf(x);
    case kAsinh: return asinhf(x);
    case kAcosh: return acoshf(x);
    case kAtanh: return atanhf(x);
    case kSoftsign: return x / (1.f + fabsf(x));
    case kSoftplus: return x > 20.f ? x : log1pf(expf(x));
    case kSign: return x > 0.f ? 1.f : (x < 0.f ? -1.f : x);
    case kMish: return x * tanhf(x > 20.f ? x : log1pf(expf(x)));
    case kLeakyRelu: return x >= 0.f ? x : p.a * x;
    case kElu: return x >= 0.f ? x : p.a * (expf(x) - 1.f);
    case kCelu: return fmaxf(0.f, x) + fminf(0.f, p.a * (expf(x / p.a) - 1.f));
    case kSelu: return x > 0.f ? p.b * x : p.b * (p.a * expf(x) - p.a);
    case kHardSigmoid: return fmaxf(0.f, fminf(1.f, p.a * x + p.b));
    case kHardSwish: return x * fmaxf(0.f, fminf(1.f, x / 6.f + 0.5f));
    case kClip: return fminf(fmaxf(x, p.a), p.b);
    case kThresholdedRelu: return x > p.a ? x : 0.f;
    case kGelu: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case kGeluTanh: return 0.5f * x * (1.f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case kShrink: return x < -p.a ? x + p.b : (x > p.a ? x - p.b : 0.f);
    default: return x;
  }
}

template <typename T>
__global__ void unary_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, UnaryParams p) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_float<T>(apply_unary(to_float(x[i]), p));
}

template <typename C>
__device__ __forceinline__ C apply_binary(C a, C b, int op) {
  if constexpr (std::is_floating_point_v<C>) {
    switch (op) {
      case kAdd: return a + b;
      case kSub: return a - b;
      case kMul: return a * b;
      case kDiv: return a / b;
      case kPow: return powf(a, b);
      case kMax: return (a != a || b != b) ? a + b : fmaxf(a, b);  // NaN propagates
      case kMin: return (a != a || b != b) ? a + b : fminf(a, b);
      case kPRelu: return a < 0 ? a * b : a;
      case kMod:
      case kFMod: return fmodf(a, b);
      default: return a;
    }
  } else {
    switch (op) {
      case kAdd: return a + b;
      case kSub: return a - b;
      case kMul: return a * b;
      case kDiv: return b == 0 ? C(0) : a / b;
      case kPow: {
        C r = 1;
        for (C e = 0; e < b; ++e) r *= a;
        return r;
      }
      case kMax: return a > b ? a : b;
      case kMin: return a < b ? a : b;
      case kPRelu: return a < 0 ? a * b : a;
      case kMod: {  // sign follows the divisor (Python), ONNX fmod = 0
        if (b == 0) return C(0);
        C r = a % b;
        return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
      }
      case kFMod: return b == 0 ? C(0) : a % b;
      default: return a;
    }
  }
}

template <typename T>
struct Compute {
  using type = float;
};
template <>
struct Compute<int32_t> {
  using type = int32_t;
};
template <>
struct Compute<int64_t> {
  using type = int64_t;
};
template <>
struct Compute<uint8_t> {
  using type = int32_t;
};

template <typename T>
__device__ __forceinline__ typename Compute<T>::type load(const T* p, int64_t i) {
  if constexpr (std::is_same_v<typename Compute<T>::type, float>) return to_float(p[i]);
  else return static_cast<typename Compute<T>::type>(p[i]);
}
template <typename T, typename C>
__device__ __forceinline__ T store(C v) {
  if constexpr (std::is_same_v<C, float>) return from_float<T>(v);
  else return static_cast<T>(v);
}

template <typename T>
__global__ void binary_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, int64_t n, int op,
                              Broadcast bc) {
  using C = typename Compute<T>::type;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[2];
    broadcast_offsets<2>(i, bc, off);
    y[i] = store<T>(apply_binary<C>(load(a, off[0]), load(b, off[1]), op));
  }
}

template <typename T>
__global__ void compare_kernel(const T* __restrict__ a, const T* __restrict__ b, uint8_t* __restrict__ y, int64_t n,
                               int op, Broadcast bc) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[2];
    broadcast_offsets<2>(i, bc, off);
    auto x = load(a, off[0]);
    auto z = load(b, off[1]);
    bool r = false;
    switch (op) {
      case kEqual: r = x == z; break;
      case kLess: r = x < z; break;
      case kLessOrEqual: r = x <= z; break;
      case kGreater: r = x > z; break;
      case kGreaterOrEqual: r = x >= z; break;
      case kAnd: r = (x != 0) && (z != 0); break;
      case kOr: r = (x != 0) || (z != 0); break;
      case kXor: r = (x != 0) != (z != 0); break;
    }
    y[i] = r ? 1 : 0;
  }
}

template <typename E>
__global__ void where_kernel(const uint8_t* __restrict__ c, const E* __restrict__ x, const E* __restrict__ z,
                             E* __restrict__ y, int64_t n, Broadcast bc) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[3];
    broadcast_offsets<3>(i, bc, off);
    y[i] = c[off[0]] ? x[off[1]] : z[off[2]];
  }
}

// ONNX dtype codes used by Cast.
enum : int { kDF32 = 1, kDU8 = 2, kDI8 = 3, kDU16 = 4, kDI16 = 5, kDI32 = 6, kDI64 = 7, kDBool = 9, kDF16 = 10,
             kDF64 = 11, kDU32 = 12, kDU64 = 13, kDBF16 = 16 };

__device__ __forceinline__ bool is_integer(int t) { return t != kDF32 && t != kDF16 && t != kDBF16 && t != kDF64; }

__device__ __forceinline__ double load_double(const void* p, int t, int64_t i) {
  switch (t) {
    case kDF32: return static_cast<const float*>(p)[i];
    case kDF16: return __half2float(static_cast<const __half*>(p)[i]);
    case kDBF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case kDF64: return static_cast<const double*>(p)[i];
    default: return 0.0;
  }
}
__device__ __forceinline__ int64_t load_int(const void* p, int t, int64_t i) {
  switch (t) {
    case kDU8: case kDBool: return static_cast<const uint8_t*>(p)[i];
    case kDI8: return static_cast<const int8_t*>(p)[i];
    case kDU16: return static_cast<const uint16_t*>(p)[i];
    case kDI16: return static_cast<const int16_t*>(p)[i];
    case kDI32: return static_cast<const int32_t*>(p)[i];
    case kDU32: return static_cast<const uint32_t*>(p)[i];
    case kDI64: case kDU64: return static_cast<const int64_t*>(p)[i];
    default: return 0;
  }
}
__device__ __forceinline__ void store_double(void* p, int t, int64_t i, double v) {
  switch (t) {
    case kDF32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case kDF16: static_cast<__half*>(p)[i] = __double2half(v); break;
    case kDBF16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(static_cast<float>(v)); break;
    case kDF64: static_cast<double*>(p)[i] = v; break;
    case kDBool: static_cast<uint8_t*>(p)[i] = v != 0.0 ? 1 : 0; break;
    // Float to integer truncates toward zero, like a C cast.
    case kDU8: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(static_cast<int64_t>(v)); break;
    case kDI8: static_cast<int8_t*>(p)[i] = static_cast<int8_t>(static_cast<int64_t>(v)); break;
    case kDU16: static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(static_cast<int64_t>(v)); break;
    case kDI16: static_cast<int16_t*>(p)[i] = static_cast<int16_t>(static_cast<int64_t>(v)); break;
    case kDI32: static_cast<int32_t*>(p)[i] = static_cast<int32_t>(static_cast<int64_t>(v)); break;
    case kDU32: static_cast<uint32_t*>(p)[i] = static_cast<uint32_t>(static_cast<int64_t>(v)); break;
    case kDI64: case kDU64: static_cast<int64_t*>(p)[i] = static_cast<int64_t>(v); break;
  }
}
__device__ __forceinline__ void store_int(void* p, int t, int64_t i, int64_t v) {
  switch (t) {
    case kDBool: static_cast<uint8_t*>(p)[i] = v != 0 ? 1 : 0; break;
    case kDU8: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v); break;
    case kDI8: static_cast<int8_t*>(p)[i] = static_cast<int8_t>(v); break;
    case kDU16: static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(v); break;
    case kDI16: static_cast<int16_t*>(p)[i] = static_cast<int16_t>(v); break;
    case kDI32: static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v); break;
    case kDU32: static_cast<uint32_t*>(p)[i] = static_cast<uint32_t>(v); break;
    case kDI64: case kDU64: static_cast<int64_t*>(p)[i] = v; break;
    default: store_double(p, t, i, static_cast<double>(v)); break;
  }
}

__global__ void cast_kernel(int src_t, int dst_t, const void* __restrict__ x, void* __restrict__ y, int64_t n) {
  bool int_path = is_integer(src_t);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (int_path) store_int(y, dst_t, i, load_int(x, src_t, i));
    else store_double(y, dst_t, i, load_double(x, src_t, i));
  }
}

template <typename Body>
cudaError_t dispatch_ntype(NType t, Body&& body) {
  switch (t) {
    case NType::kF32: body(float{}); break;
    case NType::kF16: body(__half{}); break;
    case NType::kBF16: body(__nv_bfloat16{}); break;
    case NType::kI32: body(int32_t{}); break;
    case NType::kI64: body(int64_t{}); break;
    case NType::kU8: body(uint8_t{}); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t unary(FType t, const void* x, void* y, int64_t n, UnaryParams p, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  HXRT_DISPATCH_FTYPE(t, T, unary_kernel<T><<<grid_for(n), 256, 0, stream>>>(static_cast<const T*>(x),
                                                                               static_cast<T*>(y), n, p);)
  return cudaGetLastError();
}

cudaError_t binary(NType t, int op, const void* a, const void* b, void* y, int64_t n, const Broadcast& bc,
                   cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return dispatch_ntype(t, [&](auto tag) {
    using T = decltype(tag);
    binary_kernel<T><<<grid_for(n), 256, 0, stream>>>(static_cast<const T*>(a), static_cast<const T*>(b),
                                                      static_cast<T*>(y), n, op, bc);
  });
}

cudaError_t compare(NType t, int op, const void* a, const void* b, uint8_t* y, int64_t n, const Broadcast& bc,
                    cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return dispatch_ntype(t, [&](auto tag) {
    using T = decltype(tag);
    compare_kernel<T><<<grid_for(n), 256, 0, stream>>>(static_cast<const T*>(a), static_cast<const T*>(b), y, n, op,
                                                       bc);
  });
}

cudaError_t where(int elem_size, const uint8_t* cond, const void* x, const void* z, void* y, int64_t n,
                  const Broadcast& bc, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (elem_size) {
    case 1: where_kernel<<<grid_for(n), 256, 0, stream>>>(cond, static_cast<const uint8_t*>(x), static_cast<const uint8_t*>(z), static_cast<uint8_t*>(y), n, bc); break;
    case 2: where_kernel<<<grid_for(n), 256, 0, stream>>>(cond, static_cast<const uint16_t*>(x), static_cast<const uint16_t*>(z), static_cast<uint16_t*>(y), n, bc); break;
    case 4: where_kernel<<<grid_for(n), 256, 0, stream>>>(cond, static_cast<const uint32_t*>(x), static_cast<const uint32_t*>(z), static_cast<uint32_t*>(y), n, bc); break;
    case 8: where_kernel<<<grid_for(n), 256, 0, stream>>>(cond, static_cast<const uint64_t*>(x), static_cast<const uint64_t*>(z), static_cast<uint64_t*>(y), n, bc); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t cast(int src_dtype, int dst_dtype, const void* x, void* y, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  cast_kernel<<<grid_for(n), 256, 0, stream>>>(src_dtype, dst_dtype, x, y, n);
  return cudaGetLastError();
}

}  // namespace hxrt::cuda::k
