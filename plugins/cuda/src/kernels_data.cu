// Data-movement kernels, typed only by element size: strided box copies
// (Transpose, Slice, Expand, Concat, Split, Pad...), fills and Gather.
#include "kernels_common.cuh"

namespace hxrt::cuda::k {
namespace {

template <typename E>
__global__ void strided_copy_kernel(const E* __restrict__ src, E* __restrict__ dst, int64_t n, StridedCopy c) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rem = i, s = c.src_offset, d = c.dst_offset;
    for (int k = c.rank - 1; k >= 0; --k) {
      int64_t idx = rem % c.dims[k];
      rem /= c.dims[k];
      s += idx * c.src_strides[k];
      d += idx * c.dst_strides[k];
    }
    dst[d] = src[s];
  }
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
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t strided_copy(int elem_size, const void* src, void* dst, const StridedCopy& c, cudaStream_t stream) {
  int64_t n = 1;
  for (int k = 0; k < c.rank; ++k) n *= c.dims[k];
  if (n == 0) return cudaSuccess;
  return by_size(elem_size, [&](auto tag) {
    using E = decltype(tag);
    strided_copy_kernel<E><<<grid_for(n), 256, 0, stream>>>(static_cast<const E*>(src), static_cast<E*>(dst), n, c);
  });
}

cudaError_t fill(int elem_size, void* dst, int64_t n, uint64_t value, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return by_size(elem_size, [&](auto tag) {
    using E = decltype(tag);
    fill_kernel<E><<<grid_for(n), 256, 0, stream>>>(static_cast<E*>(dst), n, static_cast<E>(value));
  });
}

cudaError_t gather(int elem_size, const void* data, const void* indices, bool indices_int64, void* out, int64_t outer,
                   int64_t axis_dim, int64_t num_indices, int64_t inner, cudaStream_t stream) {
  int64_t n = outer * num_indices * inner;
  if (n == 0) return cudaSuccess;
  return by_size(elem_size, [&](auto tag) {
    using E = decltype(tag);
    if (indices_int64)
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
