// Data-movement kernels, typed only by element size: strided box copies
// (Transpose, Slice, Expand, Concat, Split, Pad...), fills and Gather.
#include "kernels_common.cuh"

namespace hxrt::cuda::k {
namespace {

// I: index type; 32-bit when every offset fits, since 64-bit division is slow.
template <typename E, typename I>
__global__ void strided_copy_kernel(const E* __restrict__ src, E* __restrict__ dst, I n, StridedCopy c) {
  for (I i = blockIdx.x * I(blockDim.x) + threadIdx.x; i < n; i += I(gridDim.x) * I(blockDim.x)) {
    I rem = i, s = static_cast<I>(c.src_offset), d = static_cast<I>(c.dst_offset);
    for (int k = c.rank - 1; k >= 0; --k) {
      I dim = static_cast<I>(c.dims[k]);
      I idx = rem % dim;
      rem /= dim;
      s += idx * static_cast<I>(c.src_strides[k]);
      d += idx * static_cast<I>(c.dst_strides[k]);
    }
    dst[d] = src[s];
  }
}

// Drops unit dims, merges dims both sides walk contiguously, and widens the
// element while the innermost run allows (16-byte moves for copies such as
// attention-head transposes), so the kernel does few index divisions per byte.
StridedCopy simplify(StridedCopy c, int& elem, const void* src, const void* dst) {
  StridedCopy o;
  o.src_offset = c.src_offset;
  o.dst_offset = c.dst_offset;
  for (int k = 0; k < c.rank; ++k) {
    if (c.dims[k] == 1) continue;
    if (o.rank > 0 && o.src_strides[o.rank - 1] == c.src_strides[k] * c.dims[k] &&
        o.dst_strides[o.rank - 1] == c.dst_strides[k] * c.dims[k]) {
      o.dims[o.rank - 1] *= c.dims[k];
      o.src_strides[o.rank - 1] = c.src_strides[k];
      o.dst_strides[o.rank - 1] = c.dst_strides[k];
      continue;
    }
    o.dims[o.rank] = c.dims[k];
    o.src_strides[o.rank] = c.src_strides[k];
    o.dst_strides[o.rank] = c.dst_strides[k];
    ++o.rank;
  }
  while (elem < 16 && o.rank > 0) {
    int last = o.rank - 1;
    bool ok = o.src_strides[last] == 1 && o.dst_strides[last] == 1 && o.dims[last] % 2 == 0 && o.src_offset % 2 == 0 &&
              o.dst_offset % 2 == 0 && reinterpret_cast<uintptr_t>(src) % (2 * elem) == 0 &&
              reinterpret_cast<uintptr_t>(dst) % (2 * elem) == 0;
    for (int k = 0; k < last && ok; ++k) ok = o.src_strides[k] % 2 == 0 && o.dst_strides[k] % 2 == 0;
    if (!ok) break;
    elem *= 2;
    o.dims[last] /= 2;
    for (int k = 0; k < last; ++k) {
      o.src_strides[k] /= 2;
      o.dst_strides[k] /= 2;
    }
    o.src_offset /= 2;
    o.dst_offset /= 2;
  }
  return o;
}

bool fits_int32(const StridedCopy& c, int64_t n) {
  int64_t lo_s = c.src_offset, hi_s = c.src_offset, lo_d = c.dst_offset, hi_d = c.dst_offset;
  for (int k = 0; k < c.rank; ++k) {
    int64_t ext_s = (c.dims[k] - 1) * c.src_strides[k], ext_d = (c.dims[k] - 1) * c.dst_strides[k];
    (ext_s < 0 ? lo_s : hi_s) += ext_s;
    (ext_d < 0 ? lo_d : hi_d) += ext_d;
  }
  const int64_t limit = int64_t{1} << 30;
  return n < limit && lo_s > -limit && hi_s < limit && lo_d > -limit && hi_d < limit;
}

template <typename E>
__global__ void fill_kernel(E* __restrict__ dst, int64_t n, E value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = value;
}

template <typename E, typename I>
__global__ void gather_kernel(const E* __restrict__ data, const I* __restrict__ indices, E* __restrict__ out,
                              int64_t n, int64_t axis_dim, int64_t num_indices, int64_t inner) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t in_idx = i % inner;
    int64_t j = (i / inner) % num_indices;
    int64_t o = i / (inner * num_indices);
    int64_t k = static_cast<int64_t>(indices[j]);
    if (k < 0) k += axis_dim;
    // Out-of-range indices are invalid input; clamp instead of faulting the context.
    k = k < 0 ? 0 : (k >= axis_dim ? axis_dim - 1 : k);
    out[i] = data[(o * axis_dim + k) * inner + in_idx];
  }
}

template <typename Body>
cudaError_t by_size(int elem_size, Body&& body) {
  switch (elem_size) {
    case 1: body(uint8_t{}); break;
    case 2: body(uint16_t{}); break;
    case 4: body(uint32_t{}); break;
    case 8: body(uint64_t{}); break;
    case 16: body(uint4{}); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t strided_copy(int elem_size, const void* src, void* dst, const StridedCopy& copy, cudaStream_t stream) {
  int64_t n = 1;
  for (int k = 0; k < copy.rank; ++k) n *= copy.dims[k];
  if (n == 0) return cudaSuccess;
  StridedCopy c = simplify(copy, elem_size, src, dst);
  n = 1;
  for (int k = 0; k < c.rank; ++k) n *= c.dims[k];
  bool small = fits_int32(c, n);
  return by_size(elem_size, [&](auto tag) {
    using E = decltype(tag);
    if (small)
      strided_copy_kernel<E, int32_t><<<grid_for(n), 256, 0, stream>>>(static_cast<const E*>(src), static_cast<E*>(dst),
                                                                       static_cast<int32_t>(n), c);
    else
      strided_copy_kernel<E, int64_t><<<grid_for(n), 256, 0, stream>>>(static_cast<const E*>(src), static_cast<E*>(dst), n, c);
  });
}

cudaError_t fill(int elem_size, void* dst, int64_t n, uint64_t value, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return by_size(elem_size, [&](auto tag) {
    using E = decltype(tag);
    if constexpr (sizeof(E) <= 8)  // elements of 16 bytes come only from widened copies
      fill_kernel<E><<<grid_for(n), 256, 0, stream>>>(static_cast<E*>(dst), n, static_cast<E>(value));
  });
}

cudaError_t gather(int elem_size, const void* data, const void* indices, bool indices_int64, void* out, int64_t outer,
                   int64_t axis_dim, int64_t num_indices, int64_t inner, cudaStream_t stream) {
  int64_t n = outer * num_indices * inner;
  if (n == 0) return cudaSuccess;
  return by_size(elem_size, [&](auto tag) {
    using E = decltype(tag);
    if constexpr (sizeof(E) > 8) return;
    else if (indices_int64)
      gather_kernel<E, int64_t><<<grid_for(n), 256, 0, stream>>>(static_cast<const E*>(data),
                                                                 static_cast<const int64_t*>(indices),
                                                                 static_cast<E*>(out), n, axis_dim, num_indices, inner);
    else
      gather_kernel<E, int32_t><<<grid_for(n), 256, 0, stream>>>(static_cast<const E*>(data),
                                                                 static_cast<const int32_t*>(indices),
                                                                 static_cast<E*>(out), n, axis_dim, num_indices, inner);
  });
}

}  // namespace hxrt::cuda::k
