// Shared helpers of the generic ("own") CPU kernels: dtype dispatch, half
// conversions, broadcasting and strided iteration, axis/shape math.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "hxrt/plugin_support/half_float.hpp"
#include "kernel.hpp"

namespace hxrt::cpu::own {

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

[[noreturn]] inline void unsupported(hxrt_support_reason reason, const NodeReader& node, const std::string& what) {
  throw Unsupported(reason, std::string(node.op_type()) + ": " + what);
}

[[noreturn]] inline void unsupported_dtype(const NodeReader& node, hxrt_dtype dtype) {
  unsupported(HXRT_UNSUPPORTED_DTYPE, node, std::string("dtype ") + plugin::dtype_name(dtype) + " is not supported");
}

// ---------------------------------------------------------------------------
// 16-bit floats (IEEE binary16 and bfloat16), held as their bits.
// ---------------------------------------------------------------------------

struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

using plugin::bfloat16_bits_to_float;
using plugin::double_to_half_bits;
using plugin::float_to_bfloat16_bits;
using plugin::half_bits_to_float;

// ---------------------------------------------------------------------------
// dtype dispatch: visit(dtype, mask, f) calls f(Tag<T>{}) for the C++ type.
// ---------------------------------------------------------------------------

template <typename T>
struct Tag {
  using type = T;
};

enum DtypeSet : unsigned {
  kFloat = 1u,      // float32, float64
  kSigned = 2u,     // int8..int64
  kUnsigned = 4u,   // uint8..uint64
  kBool = 8u,
  kHalf = 16u,      // float16, bfloat16 (as Half/BFloat16 storage types)
  kInts = kSigned | kUnsigned,
  kNumeric = kFloat | kSigned | kUnsigned,
  kAllArith = kNumeric | kBool,
  kAll = kAllArith | kHalf,
};

template <unsigned M>
using Mask = std::integral_constant<unsigned, M>;

template <unsigned mask, typename F>
bool visit_dtype(hxrt_dtype dtype, Mask<mask>, F&& f) {
  switch (dtype) {
    case HXRT_DTYPE_FLOAT32: if constexpr ((mask & kFloat) != 0) { f(Tag<float>{}); return true; } break;
    case HXRT_DTYPE_FLOAT64: if constexpr ((mask & kFloat) != 0) { f(Tag<double>{}); return true; } break;
    case HXRT_DTYPE_INT8: if constexpr ((mask & kSigned) != 0) { f(Tag<int8_t>{}); return true; } break;
    case HXRT_DTYPE_INT16: if constexpr ((mask & kSigned) != 0) { f(Tag<int16_t>{}); return true; } break;
    case HXRT_DTYPE_INT32: if constexpr ((mask & kSigned) != 0) { f(Tag<int32_t>{}); return true; } break;
    case HXRT_DTYPE_INT64: if constexpr ((mask & kSigned) != 0) { f(Tag<int64_t>{}); return true; } break;
    case HXRT_DTYPE_UINT8: if constexpr ((mask & kUnsigned) != 0) { f(Tag<uint8_t>{}); return true; } break;
    case HXRT_DTYPE_UINT16: if constexpr ((mask & kUnsigned) != 0) { f(Tag<uint16_t>{}); return true; } break;
    case HXRT_DTYPE_UINT32: if constexpr ((mask & kUnsigned) != 0) { f(Tag<uint32_t>{}); return true; } break;
    case HXRT_DTYPE_UINT64: if constexpr ((mask & kUnsigned) != 0) { f(Tag<uint64_t>{}); return true; } break;
    case HXRT_DTYPE_BOOL: if constexpr ((mask & kBool) != 0) { f(Tag<bool>{}); return true; } break;
    case HXRT_DTYPE_FLOAT16: if constexpr ((mask & kHalf) != 0) { f(Tag<Half>{}); return true; } break;
    case HXRT_DTYPE_BFLOAT16: if constexpr ((mask & kHalf) != 0) { f(Tag<BFloat16>{}); return true; } break;
    default: break;
  }
  return false;
}

// Like visit_dtype, but throws Unsupported(DTYPE) when `dtype` is outside `mask`.
template <unsigned mask, typename F>
void dispatch(const NodeReader& node, hxrt_dtype dtype, Mask<mask> m, F&& f) {
  if (!visit_dtype(dtype, m, std::forward<F>(f))) unsupported_dtype(node, dtype);
}

// Same-size unsigned storage type for byte-moving kernels.
template <typename F>
void dispatch_size(const NodeReader& node, hxrt_dtype dtype, F&& f) {
  switch (plugin::dtype_size(dtype)) {
    case 1: f(Tag<uint8_t>{}); return;
    case 2: f(Tag<uint16_t>{}); return;
    case 4: f(Tag<uint32_t>{}); return;
    case 8: f(Tag<uint64_t>{}); return;
    default: unsupported_dtype(node, dtype);
  }
}

// Converts between any two storage types (numeric, bool, Half, BFloat16).
template <typename To, typename From>
inline To convert(From v) {
  if constexpr (std::is_same_v<From, Half>) {
    return convert<To>(half_bits_to_float(v.bits));
  } else if constexpr (std::is_same_v<From, BFloat16>) {
    return convert<To>(bfloat16_bits_to_float(v.bits));
  } else if constexpr (std::is_same_v<To, Half>) {
    return Half{double_to_half_bits(static_cast<double>(v))};
  } else if constexpr (std::is_same_v<To, BFloat16>) {
    return BFloat16{float_to_bfloat16_bits(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(v)) return To(0);
    // Saturate instead of invoking UB on out-of-range values.
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (v >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

// Reads element `i` of a tensor of `dtype` as double / int64 (for scalars given as inputs).
inline double load_as_double(const void* data, hxrt_dtype dtype, int64_t i = 0) {
  double out = 0;
  if (!visit_dtype(dtype, Mask<kAll>{}, [&](auto tag) {
        using T = typename decltype(tag)::type;
        out = convert<double>(static_cast<const T*>(data)[i]);
      }))
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string("cannot read a ") + plugin::dtype_name(dtype) + " value");
  return out;
}

inline int64_t load_as_int64(const void* data, hxrt_dtype dtype, int64_t i = 0) {
  int64_t out = 0;
  if (!visit_dtype(dtype, Mask<kAll>{}, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_integral_v<T>)
          out = static_cast<int64_t>(static_cast<const T*>(data)[i]);
        else
          out = static_cast<int64_t>(convert<double>(static_cast<const T*>(data)[i]));
      }))
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, std::string("cannot read a ") + plugin::dtype_name(dtype) + " value");
  return out;
}

// Constant integer input (int32/int64), or Unsupported when not known at compile time.
inline std::vector<int64_t> constant_ints_input(const NodeReader& node, size_t i, const char* what) {
  TensorInfo info = node.input_info(i);
  if (!info.constant) unsupported(HXRT_UNSUPPORTED_OTHER, node, std::string(what) + " must be a compile-time constant");
  if (info.dtype != HXRT_DTYPE_INT64 && info.dtype != HXRT_DTYPE_INT32)
    unsupported(HXRT_UNSUPPORTED_DTYPE, node, std::string(what) + " must be int32/int64");
  return info.constant_ints();
}

// Constant input of any numeric dtype as doubles.
inline std::vector<double> constant_doubles_input(const NodeReader& node, size_t i, const char* what) {
  TensorInfo info = node.input_info(i);
  if (!info.constant) unsupported(HXRT_UNSUPPORTED_OTHER, node, std::string(what) + " must be a compile-time constant");
  std::vector<double> out(static_cast<size_t>(info.numel()));
  for (size_t k = 0; k < out.size(); ++k) out[k] = load_as_double(info.constant->data(), info.dtype, static_cast<int64_t>(k));
  return out;
}

// ---------------------------------------------------------------------------
// Shape math
// ---------------------------------------------------------------------------

inline std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i > 1; --i) s[i - 2] = s[i - 1] * shape[i - 1];
  return s;
}

inline int64_t product(const Shape& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < shape.size(); ++i) p *= shape[i];
  return p;
}

// Normalizes a possibly negative axis into [0, rank); throws Unsupported when invalid.
inline int64_t normalize_axis(const NodeReader& node, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

inline constexpr int64_t kParallelThreshold = 1 << 15;  // elements

// Runs body(i) for i in [0, n), with OpenMP when `work` (an element count) is large.
template <typename Body>
void parallel_for(int64_t n, int64_t work, Body&& body) {
  if (work >= kParallelThreshold && n > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) body(i);
  } else {
    for (int64_t i = 0; i < n; ++i) body(i);
  }
}
template <typename Body>
void parallel_for(int64_t n, Body&& body) {
  parallel_for(n, n, std::forward<Body>(body));
}

// ---------------------------------------------------------------------------
// Broadcasting: N inputs against one output shape (numpy rules).
// ---------------------------------------------------------------------------

template <size_t N>
struct BroadcastPlan {
  std::vector<int64_t> dims;                   // coalesced output dims; last is the row length
  std::array<std::vector<int64_t>, N> strides;  // element strides per input, 0 where broadcast
  int64_t total = 0;
};

template <size_t N>
BroadcastPlan<N> make_broadcast(const Shape& out, const std::array<Shape, N>& ins) {
  BroadcastPlan<N> plan;
  plan.total = plugin::element_count(out);
  const size_t rank = out.size();
  // Aligned input dims (size 1 where the input has fewer dims).
  std::array<std::vector<int64_t>, N> aligned;
  for (size_t k = 0; k < N; ++k) {
    aligned[k].assign(rank, 1);
    const Shape& s = ins[k];
    for (size_t j = 0; j < s.size() && j < rank; ++j) aligned[k][rank - s.size() + j] = s[j];
  }
  // Keep dims with extent > 1, then merge neighbours whose broadcast pattern matches.
  std::vector<int64_t> dims;
  std::vector<std::array<bool, N>> bcast;
  for (size_t d = 0; d < rank; ++d) {
    if (out[d] == 1) continue;
    std::array<bool, N> b{};
    for (size_t k = 0; k < N; ++k) b[k] = aligned[k][d] == 1;
    if (!dims.empty() && bcast.back() == b) {
      dims.back() *= out[d];
    } else {
      dims.push_back(out[d]);
      bcast.push_back(b);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    bcast.push_back({});
  }
  plan.dims = dims;
  for (size_t k = 0; k < N; ++k) {
    plan.strides[k].assign(dims.size(), 0);
    int64_t stride = 1;
    for (size_t d = dims.size(); d-- > 0;) {
      if (!bcast[d][k]) {
        plan.strides[k][d] = stride;
        stride *= dims[d];
      }
    }
  }
  return plan;
}

// Calls row(out_offset, in_offsets, count, in_inner_strides) for every row of
// the output (a row spans the innermost coalesced dim), in parallel when large.
template <size_t N, typename Row>
void for_each_broadcast_row(const BroadcastPlan<N>& plan, Row&& row) {
  if (plan.total == 0) return;
  const int64_t inner = plan.dims.back();
  const int64_t rows = plan.total / inner;
  const size_t outer_rank = plan.dims.size() - 1;
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = plan.strides[k].back();
  auto do_row = [&](int64_t r) {
    std::array<int64_t, N> off{};
    int64_t rem = r;
    for (size_t d = outer_rank; d-- > 0;) {
      int64_t idx = rem % plan.dims[d];
      rem /= plan.dims[d];
      for (size_t k = 0; k < N; ++k) off[k] += idx * plan.strides[k][d];
    }
    row(r * inner, off, inner, inner_strides);
  };
  if (plan.total >= kParallelThreshold && rows > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) do_row(r);
  } else {
    for (int64_t r = 0; r < rows; ++r) do_row(r);
  }
}

// ---------------------------------------------------------------------------
// Strided views: copy an arbitrary strided view of the input into a dense output.
// ---------------------------------------------------------------------------

struct StridedView {
  Shape dims;                    // output dims
  std::vector<int64_t> strides;  // input element stride per output dim (may be 0 or negative)
  int64_t offset = 0;            // input element offset of output index 0
};

inline StridedView coalesce(const StridedView& v) {
  StridedView c;
  c.offset = v.offset;
  for (size_t d = 0; d < v.dims.size(); ++d) {
    if (v.dims[d] == 1) continue;
    if (!c.dims.empty() && c.strides.back() == v.strides[d] * v.dims[d]) {
      c.dims.back() *= v.dims[d];
      c.strides.back() = v.strides[d];
    } else {
      c.dims.push_back(v.dims[d]);
      c.strides.push_back(v.strides[d]);
    }
  }
  if (c.dims.empty()) {
    c.dims.push_back(1);
    c.strides.push_back(1);
  }
  return c;
}

template <typename T>
void strided_copy(const T* src, const StridedView& view, T* dst) {
  StridedView v = coalesce(view);
  const int64_t total = plugin::element_count(v.dims);
  for (int64_t d : view.dims)
    if (d == 0) return;
  if (total == 0) return;
  const int64_t inner = v.dims.back();
  const int64_t inner_stride = v.strides.back();
  const int64_t rows = total / inner;
  const size_t outer_rank = v.dims.size() - 1;
  auto do_row = [&](int64_t r) {
    int64_t off = v.offset;
    int64_t rem = r;
    for (size_t d = outer_rank; d-- > 0;) {
      off += (rem % v.dims[d]) * v.strides[d];
      rem /= v.dims[d];
    }
    T* out = dst + r * inner;
    const T* in = src + off;
    if (inner_stride == 1) {
      std::memcpy(out, in, static_cast<size_t>(inner) * sizeof(T));
    } else {
      for (int64_t i = 0; i < inner; ++i) out[i] = in[i * inner_stride];
    }
  };
  if (total >= kParallelThreshold && rows > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) do_row(r);
  } else {
    for (int64_t r = 0; r < rows; ++r) do_row(r);
  }
}

// Splits a shape at `axis` into outer * axis_dim * inner.
// Iterates an N-D index space given by `dims`; returns false after the last index.
inline bool next_index(std::vector<int64_t>& idx, const Shape& dims) {
  for (size_t d = dims.size(); d-- > 0;) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

struct AxisSplit {
  int64_t outer = 1, dim = 1, inner = 1;
};
inline AxisSplit split_at_axis(const Shape& shape, int64_t axis) {
  AxisSplit s;
  s.outer = product(shape, 0, static_cast<size_t>(axis));
  s.dim = shape.empty() ? 1 : shape[static_cast<size_t>(axis)];
  s.inner = product(shape, static_cast<size_t>(axis) + 1, shape.size());
  return s;
}

template <typename Body>
std::unique_ptr<Kernel> make_kernel(Body&& body) {
  return std::make_unique<FunctionKernel>(std::forward<Body>(body));
}

// The common shape of a generic kernel factory: dispatches on `dtype` (throws
// Unsupported outside `mask`) and makes a kernel of the body that
// `make_body(Tag<T>{})` returns for the element type T.
template <unsigned mask, typename MakeBody>
std::unique_ptr<Kernel> typed_kernel(const NodeReader& node, hxrt_dtype dtype, Mask<mask> m, MakeBody&& make_body) {
  std::unique_ptr<Kernel> kernel;
  dispatch(node, dtype, m, [&](auto tag) { kernel = make_kernel(make_body(tag)); });
  return kernel;
}

// The same for byte-moving kernels: T is the same-size unsigned storage type (dispatch_size).
template <typename MakeBody>
std::unique_ptr<Kernel> sized_kernel(const NodeReader& node, hxrt_dtype dtype, MakeBody&& make_body) {
  std::unique_ptr<Kernel> kernel;
  dispatch_size(node, dtype, [&](auto tag) { kernel = make_kernel(make_body(tag)); });
  return kernel;
}

// Registers `factory` for every op name in `ops` with the opset range given.
inline void register_ops(std::initializer_list<const char*> ops, int min_opset, int max_opset, const KernelFactory& factory) {
  for (const char* op : ops) register_op(OpRegistration{op, min_opset, max_opset, factory});
}

}  // namespace hxrt::cpu::own
