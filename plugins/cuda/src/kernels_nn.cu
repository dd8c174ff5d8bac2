// Neural-network kernels: Softmax, LayerNormalization, reductions, per-channel
// affine (BatchNormalization, conv epilogues), pooling and LRN. Accumulation
// is in float for every element type.
#include <cfloat>
#include <cmath>

#include "kernels_common.cuh"

namespace hxrt::cuda::k {
namespace {

constexpr int kWarpsPerBlock = 8;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_min(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_prod(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v *= __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

unsigned row_blocks(int64_t rows) {
  int64_t b = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65536 ? 65536 : b));
}

// One warp per row of a contiguous [rows, d] view.
template <typename T>
__global__ void softmax_rows(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t d, bool log_out) {
  int lane = threadIdx.x & 31;
  for (int64_t row = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32; row < rows;
       row += int64_t(gridDim.x) * kWarpsPerBlock) {
    const T* xr = x + row * d;
    T* yr = y + row * d;
    float m = -INFINITY;
    for (int64_t j = lane; j < d; j += 32) m = fmaxf(m, to_float(xr[j]));
    m = warp_max(m);
    float s = 0.f;
    for (int64_t j = lane; j < d; j += 32) s += expf(to_float(xr[j]) - m);
    s = warp_sum(s);
    float inv = 1.f / s, ls = logf(s);
    for (int64_t j = lane; j < d; j += 32) {
      float v = to_float(xr[j]) - m;
      yr[j] = from_float<T>(log_out ? v - ls : expf(v) * inv);
    }
  }
}

// One thread per (outer, inner) column of [outer, d, inner].
template <typename T>
__global__ void softmax_columns(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t d, int64_t inner,
                                bool log_out) {
  int64_t n = outer * inner;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < n; idx += int64_t(gridDim.x) * blockDim.x) {
    int64_t base = (idx / inner) * d * inner + idx % inner;
    float m = -INFINITY;
    for (int64_t j = 0; j < d; ++j) m = fmaxf(m, to_float(x[base + j * inner]));
    float s = 0.f;
    for (int64_t j = 0; j < d; ++j) s += expf(to_float(x[base + j * inner]) - m);
    float inv = 1.f / s, ls = logf(s);
    for (int64_t j = 0; j < d; ++j) {
      float v = to_float(x[base + j * inner]) - m;
      y[base + j * inner] = from_float<T>(log_out ? v - ls : expf(v) * inv);
    }
  }
}

template <typename T>
__global__ void layer_norm_rows(const T* __restrict__ x, const T* __restrict__ scale, const T* __restrict__ bias,
                                T* __restrict__ y, int64_t rows, int64_t d, float eps, float* mean_out,
                                float* rstd_out) {
  int lane = threadIdx.x & 31;
  for (int64_t row = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32; row < rows;
       row += int64_t(gridDim.x) * kWarpsPerBlock) {
    const T* xr = x + row * d;
    T* yr = y + row * d;
    float s = 0.f;
    for (int64_t j = lane; j < d; j += 32) s += to_float(xr[j]);
    float mean = warp_sum(s) / static_cast<float>(d);
    float v = 0.f;
    for (int64_t j = lane; j < d; j += 32) {
      float t = to_float(xr[j]) - mean;
      v += t * t;
    }
    float rstd = rsqrtf(warp_sum(v) / static_cast<float>(d) + eps);
    for (int64_t j = lane; j < d; j += 32) {
      float t = (to_float(xr[j]) - mean) * rstd;
      if (scale != nullptr) t *= to_float(scale[j]);
      if (bias != nullptr) t += to_float(bias[j]);
      yr[j] = from_float<T>(t);
    }
    if (lane == 0) {
      if (mean_out != nullptr) mean_out[row] = mean;
      if (rstd_out != nullptr) rstd_out[row] = rstd;
    }
  }
}

__device__ __forceinline__ float reduce_init(int op) {
  switch (op) {
    case kRMax: return -INFINITY;
    case kRMin: return INFINITY;
    case kRProd: return 1.f;
    default: return 0.f;
  }
}
__device__ __forceinline__ float reduce_step(int op, float acc, float x) {
  switch (op) {
    case kRMax: return fmaxf(acc, x);
    case kRMin: return fminf(acc, x);
    case kRProd: return acc * x;
    case kRL1: return acc + fabsf(x);
    case kRL2:
    case kRSumSquare: return acc + x * x;
    default: return acc + x;
  }
}
__device__ __forceinline__ float reduce_warp(int op, float v) {
  switch (op) {
    case kRMax: return warp_max(v);
    case kRMin: return warp_min(v);
    case kRProd: return warp_prod(v);
    default: return warp_sum(v);
  }
}
__device__ __forceinline__ float reduce_final(int op, float acc, int64_t r) {
  switch (op) {
    case kRMean: return acc / static_cast<float>(r);
    case kRL2: return sqrtf(acc);
    case kRLogSum: return logf(acc);
    default: return acc;
  }
}

template <typename T>
__global__ void reduce_rows(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t r, int op) {
  int lane = threadIdx.x & 31;
  for (int64_t row = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32; row < rows;
       row += int64_t(gridDim.x) * kWarpsPerBlock) {
    const T* xr = x + row * r;
    float result;
    if (op == kRLogSumExp) {
      float m = -INFINITY;
      for (int64_t j = lane; j < r; j += 32) m = fmaxf(m, to_float(xr[j]));
      m = warp_max(m);
      float s = 0.f;
      if (m != -INFINITY)
        for (int64_t j = lane; j < r; j += 32) s += expf(to_float(xr[j]) - m);
      s = warp_sum(s);
      result = m == -INFINITY ? m : m + logf(s);
    } else {
      float acc = reduce_init(op);
      for (int64_t j = lane; j < r; j += 32) acc = reduce_step(op, acc, to_float(xr[j]));
      result = reduce_final(op, reduce_warp(op, acc), r);
    }
    if (lane == 0) y[row] = from_float<T>(result);
  }
}

template <typename T>
__global__ void reduce_columns(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t r, int64_t inner,
                               int op) {
  int64_t n = outer * inner;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < n; idx += int64_t(gridDim.x) * blockDim.x) {
    int64_t base = (idx / inner) * r * inner + idx % inner;
    float result;
    if (op == kRLogSumExp) {
      float m = -INFINITY;
      for (int64_t j = 0; j < r; ++j) m = fmaxf(m, to_float(x[base + j * inner]));
      float s = 0.f;
      if (m != -INFINITY)
        for (int64_t j = 0; j < r; ++j) s += expf(to_float(x[base + j * inner]) - m);
      result = m == -INFINITY ? m : m + logf(s);
    } else {
      float acc = reduce_init(op);
      for (int64_t j = 0; j < r; ++j) acc = reduce_step(op, acc, to_float(x[base + j * inner]));
      result = reduce_final(op, acc, r);
    }
    y[idx] = from_float<T>(result);
  }
}

template <typename T>
__global__ void channel_affine_kernel(const T* __restrict__ x, const float* __restrict__ scale,
                                      const float* __restrict__ shift, const T* __restrict__ z, T* __restrict__ y,
                                      int64_t total, int64_t c, int64_t inner, int act) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t ch = (i / inner) % c;
    float v = to_float(x[i]);
    if (scale != nullptr) v *= scale[ch];
    if (shift != nullptr) v += shift[ch];
    if (z != nullptr) v += to_float(z[i]);
    if (act == 1) v = fmaxf(v, 0.f);
    y[i] = from_float<T>(v);
  }
}

// 16-byte vectors of V elements sharing one load/store; index math in 32 bits.
template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

template <typename T, int V>
__global__ void channel_affine_vec_kernel(const T* __restrict__ x, const float* __restrict__ scale,
                                          const float* __restrict__ shift, const T* __restrict__ z, T* __restrict__ y,
                                          uint32_t packs, uint32_t c, uint32_t inner, int act) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < packs; i += gridDim.x * blockDim.x) {
    Pack<T, V> xv = reinterpret_cast<const Pack<T, V>*>(x)[i], zv;
    if (z != nullptr) zv = reinterpret_cast<const Pack<T, V>*>(z)[i];
    uint32_t e = i * V;
    // inner % V == 0: one channel for the whole pack; inner == 1: V consecutive channels.
    uint32_t ch = inner == 1 ? e % c : (e / inner) % c;
    Pack<T, V> out;
#pragma unroll
    for (int k = 0; k < V; ++k) {
      uint32_t chk = inner == 1 ? ch + k : ch;
      float v = to_float(xv.v[k]);
      if (scale != nullptr) v *= scale[chk];
      if (shift != nullptr) v += shift[chk];
      if (z != nullptr) v += to_float(zv.v[k]);
      if (act == 1) v = fmaxf(v, 0.f);
      out.v[k] = from_float<T>(v);
    }
    reinterpret_cast<Pack<T, V>*>(y)[i] = out;
  }
}

// Channels-last max pooling, V channels (16 bytes) per thread.
template <typename T, int V>
__global__ void maxpool_nhwc_vec_kernel(const T* __restrict__ x, T* __restrict__ y, Pool2d p, uint32_t packs) {
  uint32_t pc = static_cast<uint32_t>(p.c) / V, ow = static_cast<uint32_t>(p.ow), oh = static_cast<uint32_t>(p.oh);
  int h = static_cast<int>(p.h), w = static_cast<int>(p.w);
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < packs; i += gridDim.x * blockDim.x) {
    uint32_t cp = i % pc, rest = i / pc;
    int ox = static_cast<int>(rest % ow), oy = static_cast<int>((rest / ow) % oh);
    uint32_t n = rest / (ow * oh);
    const Pack<T, V>* plane = reinterpret_cast<const Pack<T, V>*>(x) + static_cast<size_t>(n) * h * w * pc + cp;
    float acc[V];
#pragma unroll
    for (int k = 0; k < V; ++k) acc[k] = -INFINITY;
    int y0 = oy * p.sh - p.ph, x0 = ox * p.sw - p.pw;
    for (int ky = 0; ky < p.kh; ++ky) {
      int yy = y0 + ky * p.dh;
      if (yy < 0 || yy >= h) continue;
      for (int kx = 0; kx < p.kw; ++kx) {
        int xx = x0 + kx * p.dw;
        if (xx < 0 || xx >= w) continue;
        Pack<T, V> v = plane[(static_cast<size_t>(yy) * w + xx) * pc];
#pragma unroll
        for (int k = 0; k < V; ++k) acc[k] = fmaxf(acc[k], to_float(v.v[k]));
      }
    }
    Pack<T, V> out;
#pragma unroll
    for (int k = 0; k < V; ++k) out.v[k] = from_float<T>(acc[k]);
    reinterpret_cast<Pack<T, V>*>(y)[i] = out;
  }
}

template <typename T>
__global__ void pool2d_kernel(const T* __restrict__ x, T* __restrict__ y, Pool2d p) {
  int64_t total = p.n * p.c * p.oh * p.ow;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t ox, oy, cstride = 1;
    const T* plane;
    if (p.nhwc) {  // i = ((n * oh + oy) * ow + ox) * c + ch
      int64_t ch = i % p.c;
      ox = (i / p.c) % p.ow;
      oy = (i / (p.c * p.ow)) % p.oh;
      int64_t n = i / (p.c * p.ow * p.oh);
      plane = x + n * p.h * p.w * p.c + ch;
      cstride = p.c;
    } else {
      ox = i % p.ow;
      oy = (i / p.ow) % p.oh;
      plane = x + (i / (p.ow * p.oh)) * p.h * p.w;
    }
    int64_t y0 = oy * p.sh - p.ph, x0 = ox * p.sw - p.pw;
    float acc = p.max ? -INFINITY : 0.f;
    int count = 0;
    for (int ky = 0; ky < p.kh; ++ky) {
      int64_t yy = y0 + int64_t(ky) * p.dh;
      if (yy < 0 || yy >= p.h) continue;
      for (int kx = 0; kx < p.kw; ++kx) {
        int64_t xx = x0 + int64_t(kx) * p.dw;
        if (xx < 0 || xx >= p.w) continue;
        float v = to_float(plane[(yy * p.w + xx) * cstride]);
        acc = p.max ? fmaxf(acc, v) : acc + v;
        ++count;
      }
    }
    if (!p.max) {
      int64_t divisor = count;
      if (p.count_include_pad) {
        // The window clipped to the padded extent [-pad_begin, size + pad_end).
        int64_t ys = y0, ye = y0 + int64_t(p.kh - 1) * p.dh + 1, xs = x0, xe = x0 + int64_t(p.kw - 1) * p.dw + 1;
        ye = ye < p.h + p.ph_end ? ye : p.h + p.ph_end;
        xe = xe < p.w + p.pw_end ? xe : p.w + p.pw_end;
        int64_t ny = (ye - ys + p.dh - 1) / p.dh, nx = (xe - xs + p.dw - 1) / p.dw;
        divisor = ny * nx;
      }
      acc = divisor > 0 ? acc / static_cast<float>(divisor) : 0.f;
    }
    y[i] = from_float<T>(acc);
  }
}

template <typename T>
__global__ void lrn_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t total, int64_t c, int64_t inner,
                           int size, float alpha, float beta, float bias) {
  int lo = (size - 1) / 2, hi = size - 1 - lo;  // window [c - floor((size-1)/2), c + ceil((size-1)/2)]
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t sp = i % inner;
    int64_t ch = (i / inner) % c;
    int64_t base = i - ch * inner - sp;  // start of this image
    float s = 0.f;
    for (int64_t k = ch - lo; k <= ch + hi; ++k) {
      if (k < 0 || k >= c) continue;
      float v = to_float(x[base + k * inner + sp]);
      s += v * v;
    }
    y[i] = from_float<T>(to_float(x[i]) / powf(bias + alpha / static_cast<float>(size) * s, beta));
  }
}

}  // namespace

cudaError_t softmax(FType t, const void* x, void* y, int64_t outer, int64_t d, int64_t inner, bool log,
                    cudaStream_t stream) {
  if (outer * d * inner == 0) return cudaSuccess;
  HXRT_DISPATCH_FTYPE(t, T, {
    if (inner == 1)
      softmax_rows<T><<<row_blocks(outer), 32 * kWarpsPerBlock, 0, stream>>>(static_cast<const T*>(x),
                                                                             static_cast<T*>(y), outer, d, log);
    else
      softmax_columns<T><<<grid_for(outer * inner), 256, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y),
                                                                       outer, d, inner, log);
  })
  return cudaGetLastError();
}

cudaError_t layer_norm(FType t, const void* x, const void* scale, const void* bias, void* y, int64_t rows, int64_t d,
                       float epsilon, float* mean, float* rstd, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  HXRT_DISPATCH_FTYPE(t, T, {
    layer_norm_rows<T><<<row_blocks(rows), 32 * kWarpsPerBlock, 0, stream>>>(
        static_cast<const T*>(x), static_cast<const T*>(scale), static_cast<const T*>(bias), static_cast<T*>(y), rows,
        d, epsilon, mean, rstd);
  })
  return cudaGetLastError();
}

cudaError_t reduce(FType t, int op, const void* x, void* y, int64_t outer, int64_t r, int64_t inner,
                   cudaStream_t stream) {
  if (outer * inner == 0) return cudaSuccess;
  HXRT_DISPATCH_FTYPE(t, T, {
    if (inner == 1)
      reduce_rows<T><<<row_blocks(outer), 32 * kWarpsPerBlock, 0, stream>>>(static_cast<const T*>(x),
                                                                            static_cast<T*>(y), outer, r, op);
    else
      reduce_columns<T><<<grid_for(outer * inner), 256, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y),
                                                                      outer, r, inner, op);
  })
  return cudaGetLastError();
}

__global__ void spin_kernel(long long ns) {
  long long start, now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    __nanosleep(1000);
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

cudaError_t spin(int64_t ns, cudaStream_t stream) {
  spin_kernel<<<1, 1, 0, stream>>>(static_cast<long long>(ns));
  return cudaGetLastError();
}

cudaError_t channel_affine(FType t, const void* x, const float* scale, const float* shift, const void* z, void* y,
                           int64_t n, int64_t c, int64_t inner, int act, cudaStream_t stream) {
  int64_t total = n * c * inner;
  if (total == 0) return cudaSuccess;
  auto aligned16 = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  bool vec_ok = total < (int64_t{1} << 31) && aligned16(x) && aligned16(y) && (z == nullptr || aligned16(z));
  HXRT_DISPATCH_FTYPE(t, T, {
    constexpr int V = 16 / sizeof(T);
    // Packs stay within one channel (inner % V == 0) or cover V channels of one pixel (channels-last, c % V == 0).
    if (vec_ok && total % V == 0 && (inner % V == 0 || (inner == 1 && c % V == 0))) {
      uint32_t packs = static_cast<uint32_t>(total / V);
      channel_affine_vec_kernel<T, V><<<grid_for(packs), 256, 0, stream>>>(
          static_cast<const T*>(x), scale, shift, static_cast<const T*>(z), static_cast<T*>(y), packs,
          static_cast<uint32_t>(c), static_cast<uint32_t>(inner), act);
      return cudaGetLastError();
    }
    channel_affine_kernel<T><<<grid_for(total), 256, 0, stream>>>(static_cast<const T*>(x), scale, shift,
                                                                   static_cast<const T*>(z), static_cast<T*>(y), total,
                                                                   c, inner, act);
  })
  return cudaGetLastError();
}

cudaError_t pool2d(FType t, const void* x, void* y, const Pool2d& p, cudaStream_t stream) {
  int64_t total = p.n * p.c * p.oh * p.ow;
  if (total == 0) return cudaSuccess;
  bool vec_ok = p.nhwc && p.max && p.n * p.c * p.h * p.w < (int64_t{1} << 31) && total < (int64_t{1} << 31) &&
                reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  HXRT_DISPATCH_FTYPE(t, T, {
    constexpr int V = 16 / sizeof(T);
    if (vec_ok && p.c % V == 0) {
      uint32_t packs = static_cast<uint32_t>(total / V);
      maxpool_nhwc_vec_kernel<T, V><<<grid_for(packs), 256, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y),
                                                                         p, packs);
      return cudaGetLastError();
    }
    pool2d_kernel<T><<<grid_for(total), 256, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y), p);
  })
  return cudaGetLastError();
}

cudaError_t lrn(FType t, const void* x, void* y, int64_t n, int64_t c, int64_t inner, int size, float alpha,
                float beta, float bias, cudaStream_t stream) {
  int64_t total = n * c * inner;
  if (total == 0) return cudaSuccess;
  HXRT_DISPATCH_FTYPE(t, T, {
    lrn_kernel<T><<<grid_for(total), 256, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y), total, c, inner,
                                                        size, alpha, beta, bias);
  })
  return cudaGetLastError();
}

}  // namespace hxrt::cuda::k
