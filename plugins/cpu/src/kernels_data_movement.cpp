// Generic data-movement kernels: reshapes and views, Transpose, Concat, Split,
// Slice, Gather, Expand, Tile, Pad, Resize, Cast, shape/constant producers.
// Byte-moving kernels work on any element type through same-size storage.
#include "own_common.hpp"
#include "own_resize.hpp"

namespace hxrt::cpu {
namespace {

using namespace own;

size_t element_size(const NodeReader& node, hxrt_dtype dtype) {
  size_t s = plugin::dtype_size(dtype);
  if (s == 0) unsupported_dtype(node, dtype);
  return s;
}

// Output 0 is input 0's bytes (Reshape, Flatten, Squeeze, Unsqueeze, Dropout...).
std::unique_ptr<Kernel> copy_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  size_t bytes = static_cast<size_t>(x.numel()) * element_size(node, x.dtype);
  return make_kernel([bytes](const std::vector<const void*>& in, const std::vector<void*>& out) {
    if (bytes && in[0] != out[0]) std::memcpy(out[0], in[0], bytes);
  });
}

std::unique_ptr<Kernel> dropout_kernel(const NodeReader& node) {
  if (node.has_input(2)) {
    TensorInfo training = node.input_info(2);
    if (!training.constant) unsupported(HXRT_UNSUPPORTED_OTHER, node, "training_mode must be a compile-time constant");
    if (training.constant->size() && (*training.constant)[0] != 0) {
      double ratio = 0.5;
      if (node.has_input(1)) {
        auto r = constant_doubles_input(node, 1, "ratio");
        ratio = r.empty() ? 0.5 : r[0];
      }
      if (ratio != 0.0) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "training mode with a non-zero ratio is not deterministic");
    }
  }
  TensorInfo x = node.input_info(0);
  size_t bytes = static_cast<size_t>(x.numel()) * element_size(node, x.dtype);
  bool has_mask = node.has_output(1);
  size_t mask_bytes = has_mask ? node.output_info(1).bytes() : 0;
  return make_kernel([=](const std::vector<const void*>& in, const std::vector<void*>& out) {
    if (bytes && in[0] != out[0]) std::memcpy(out[0], in[0], bytes);
    if (has_mask && out.size() > 1 && out[1]) std::memset(out[1], 1, mask_bytes);
  });
}

// Copies a strided view of input 0 into output 0 (element size from dtype).
std::unique_ptr<Kernel> view_kernel(const NodeReader& node, const StridedView& view) {
  return sized_kernel(node, node.input_info(0).dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [view](const std::vector<const void*>& in, const std::vector<void*>& out) {
      strided_copy(static_cast<const T*>(in[0]), view, static_cast<T*>(out[0]));
    };
  });
}

std::unique_ptr<Kernel> transpose_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  const size_t rank = x.shape.size();
  std::vector<int64_t> perm = node.get_ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  if (perm.size() != rank) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "perm length does not match rank");
  auto in_strides = strides_of(x.shape);
  StridedView view;
  for (size_t i = 0; i < rank; ++i) {
    int64_t p = normalize_axis(node, perm[i], static_cast<int64_t>(rank));
    view.dims.push_back(x.shape[static_cast<size_t>(p)]);
    view.strides.push_back(in_strides[static_cast<size_t>(p)]);
  }
  return view_kernel(node, view);
}

std::unique_ptr<Kernel> expand_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  Shape out = node.output_info(0).shape;
  auto in_strides = strides_of(x.shape);
  StridedView view;
  view.dims = out;
  view.strides.assign(out.size(), 0);
  const size_t lead = out.size() - std::min(out.size(), x.shape.size());
  for (size_t i = 0; i < x.shape.size() && lead + i < out.size(); ++i)
    if (x.shape[i] != 1) view.strides[lead + i] = in_strides[i];
  return view_kernel(node, view);
}

std::unique_ptr<Kernel> concat_kernel(const NodeReader& node) {
  Shape out_shape = node.output_info(0).shape;
  const int64_t rank = static_cast<int64_t>(out_shape.size());
  const int64_t axis = normalize_axis(node, node.get_int("axis", rank == 1 ? 0 : 1), rank);
  hxrt_dtype dtype = node.output_info(0).dtype;
  const size_t esize = element_size(node, dtype);
  const int64_t outer = product(out_shape, 0, static_cast<size_t>(axis));
  const int64_t inner = product(out_shape, static_cast<size_t>(axis) + 1, out_shape.size());
  std::vector<size_t> block_bytes;  // bytes per outer index, per input
  for (size_t k = 0; k < node.num_inputs(); ++k) {
    if (!node.has_input(k)) {
      block_bytes.push_back(0);
      continue;
    }
    TensorInfo info = node.input_info(k);
    int64_t d = info.shape.empty() ? 1 : info.shape[static_cast<size_t>(axis)];
    block_bytes.push_back(static_cast<size_t>(d * inner) * esize);
  }
  size_t row_bytes = static_cast<size_t>(out_shape.empty() ? 1 : out_shape[static_cast<size_t>(axis)] * inner) * esize;
  return make_kernel([=](const std::vector<const void*>& in, const std::vector<void*>& out) {
    uint8_t* o = static_cast<uint8_t*>(out[0]);
    parallel_for(outer, outer * static_cast<int64_t>(row_bytes / esize), [&](int64_t r) {
      uint8_t* dst = o + static_cast<size_t>(r) * row_bytes;
      for (size_t k = 0; k < block_bytes.size(); ++k) {
        if (block_bytes[k] == 0) continue;
        std::memcpy(dst, static_cast<const uint8_t*>(in[k]) + static_cast<size_t>(r) * block_bytes[k], block_bytes[k]);
        dst += block_bytes[k];
      }
    });
  });
}

// Split: each output's extent along the axis is in its (inferred) descriptor.
std::unique_ptr<Kernel> split_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t axis = normalize_axis(node, node.get_int("axis", 0), rank);
  const size_t esize = element_size(node, x.dtype);
  AxisSplit s = split_at_axis(x.shape, axis);
  std::vector<int64_t> begin, extent;
  int64_t offset = 0;
  for (size_t k = 0; k < node.num_outputs(); ++k) {
    int64_t e = node.has_output(k) ? node.output_info(k).shape[static_cast<size_t>(axis)] : 0;
    if (!node.has_output(k)) unsupported(HXRT_UNSUPPORTED_OTHER, node, "omitted outputs");
    begin.push_back(offset);
    extent.push_back(e);
    offset += e;
  }
  if (offset != s.dim) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "output extents do not add up to the input");
  return make_kernel([=](const std::vector<const void*>& in, const std::vector<void*>& out) {
    const uint8_t* src = static_cast<const uint8_t*>(in[0]);
    for (size_t k = 0; k < begin.size(); ++k) {
      const size_t chunk = static_cast<size_t>(extent[k] * s.inner) * esize;
      if (chunk == 0) continue;
      uint8_t* dst = static_cast<uint8_t*>(out[k]);
      parallel_for(s.outer, s.outer * static_cast<int64_t>(chunk / esize), [&](int64_t r) {
        std::memcpy(dst + static_cast<size_t>(r) * chunk,
                    src + (static_cast<size_t>(r * s.dim + begin[k]) * static_cast<size_t>(s.inner)) * esize, chunk);
      });
    }
  });
}

// ---------------------------------------------------------------------------
// Slice
// ---------------------------------------------------------------------------

// The strided view a Slice selects (ONNX clamping rules).
StridedView slice_view(const Shape& in_shape, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                       std::vector<int64_t> axes, std::vector<int64_t> steps) {
  const int64_t rank = static_cast<int64_t>(in_shape.size());
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size())
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Slice: starts/ends/axes/steps lengths differ");
  auto strides = strides_of(in_shape);
  StridedView view;
  view.dims = in_shape;
  view.strides = strides;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (axis < 0 || axis >= rank) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Slice: axis out of range");
    const int64_t dim = in_shape[static_cast<size_t>(axis)];
    int64_t step = steps[i];
    if (step == 0) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Slice: step 0");
    int64_t start = starts[i], end = ends[i];
    if (start < 0) start += dim;
    if (end < 0) end = end <= std::numeric_limits<int64_t>::min() + dim ? -1 - dim : end + dim;
    int64_t count;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      count = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
    }
    view.dims[static_cast<size_t>(axis)] = count;
    view.offset += start * strides[static_cast<size_t>(axis)];
    view.strides[static_cast<size_t>(axis)] = step * strides[static_cast<size_t>(axis)];
  }
  return view;
}

std::unique_ptr<Kernel> slice_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  Shape out_shape = node.output_info(0).shape;
  if (node.opset() < 10) {
    StridedView v = slice_view(x.shape, node.get_ints("starts"), node.get_ints("ends"), node.get_ints("axes"), {});
    if (v.dims != out_shape) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "inferred output shape disagrees");
    return view_kernel(node, v);
  }
  // Inputs: data, starts, ends, axes?, steps?; each constant or read at run time.
  std::array<std::optional<std::vector<int64_t>>, 5> constants;
  bool all_constant = true;
  for (size_t i = 1; i < 5; ++i) {
    if (!node.has_input(i)) {
      constants[i] = std::vector<int64_t>{};
      continue;
    }
    TensorInfo info = node.input_info(i);
    if (info.dtype != HXRT_DTYPE_INT32 && info.dtype != HXRT_DTYPE_INT64) unsupported_dtype(node, info.dtype);
    if (info.constant)
      constants[i] = info.constant_ints();
    else
      all_constant = false;
  }
  if (all_constant) {
    StridedView v = slice_view(x.shape, *constants[1], *constants[2], *constants[3], *constants[4]);
    if (v.dims != out_shape) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "inferred output shape disagrees");
    return view_kernel(node, v);
  }
  std::array<hxrt_dtype, 5> dtypes{};
  std::array<int64_t, 5> counts{};
  for (size_t i = 1; i < 5; ++i)
    if (node.has_input(i)) {
      dtypes[i] = node.input_info(i).dtype;
      counts[i] = node.input_info(i).numel();
    }
  Shape in_shape = x.shape;
  return sized_kernel(node, x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      std::array<std::vector<int64_t>, 5> v;
      for (size_t i = 1; i < 5; ++i) {
        if (constants[i]) {
          v[i] = *constants[i];
        } else if (i < in.size() && in[i]) {
          for (int64_t k = 0; k < counts[i]; ++k) v[i].push_back(load_as_int64(in[i], dtypes[i], k));
        }
      }
      StridedView view = slice_view(in_shape, v[1], v[2], v[3], v[4]);
      if (view.dims != out_shape) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Slice: output shape disagrees with the inputs");
      strided_copy(static_cast<const T*>(in[0]), view, static_cast<T*>(out[0]));
    };
  });
}

// ---------------------------------------------------------------------------
// Gather
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> gather_kernel(const NodeReader& node) {
  TensorInfo data = node.input_info(0), indices = node.input_info(1);
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  const int64_t axis = normalize_axis(node, node.get_int("axis", 0), rank);
  if (indices.dtype != HXRT_DTYPE_INT32 && indices.dtype != HXRT_DTYPE_INT64) unsupported_dtype(node, indices.dtype);
  const size_t esize = element_size(node, data.dtype);
  AxisSplit s = split_at_axis(data.shape, axis);
  const int64_t n_idx = indices.numel();
  const hxrt_dtype idx_type = indices.dtype;
  return make_kernel([=](const std::vector<const void*>& in, const std::vector<void*>& out) {
    const uint8_t* src = static_cast<const uint8_t*>(in[0]);
    uint8_t* dst = static_cast<uint8_t*>(out[0]);
    const size_t block = static_cast<size_t>(s.inner) * esize;
    std::vector<int64_t> idx(static_cast<size_t>(n_idx));
    for (int64_t i = 0; i < n_idx; ++i) {
      int64_t v = load_as_int64(in[1], idx_type, i);
      if (v < 0) v += s.dim;
      if (v < 0 || v >= s.dim) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Gather: index out of range");
      idx[static_cast<size_t>(i)] = v;
    }
    parallel_for(s.outer * n_idx, s.outer * n_idx * s.inner, [&](int64_t j) {
      int64_t o = j / n_idx, i = j % n_idx;
      std::memcpy(dst + static_cast<size_t>(j) * block,
                  src + (static_cast<size_t>(o * s.dim + idx[static_cast<size_t>(i)])) * block, block);
    });
  });
}

std::unique_ptr<Kernel> gather_elements_kernel(const NodeReader& node) {
  TensorInfo data = node.input_info(0), indices = node.input_info(1);
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  const int64_t axis = normalize_axis(node, node.get_int("axis", 0), rank);
  if (indices.dtype != HXRT_DTYPE_INT32 && indices.dtype != HXRT_DTYPE_INT64) unsupported_dtype(node, indices.dtype);
  Shape idx_shape = indices.shape;
  auto data_strides = strides_of(data.shape);
  const int64_t dim = data.shape[static_cast<size_t>(axis)];
  const hxrt_dtype idx_type = indices.dtype;
  return sized_kernel(node, data.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* src = static_cast<const T*>(in[0]);
      T* dst = static_cast<T*>(out[0]);
      const int64_t n = plugin::element_count(idx_shape);
      for (int64_t e = 0; e < n; ++e) {
        int64_t rem = e, off = 0;
        for (size_t d = idx_shape.size(); d-- > 0;) {
          int64_t c = rem % idx_shape[d];
          rem /= idx_shape[d];
          if (static_cast<int64_t>(d) == axis) {
            c = load_as_int64(in[1], idx_type, e);
            if (c < 0) c += dim;
            if (c < 0 || c >= dim) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "GatherElements: index out of range");
          }
          off += c * data_strides[d];
        }
        dst[e] = src[off];
      }
    };
  });
}

// ---------------------------------------------------------------------------
// Tile
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> tile_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  Shape out_shape = node.output_info(0).shape;
  Shape in_shape = x.shape;
  if (in_shape.size() != out_shape.size()) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "rank mismatch");
  if (in_shape.empty()) return copy_kernel(node);
  auto in_strides = strides_of(in_shape);
  return sized_kernel(node, x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* src = static_cast<const T*>(in[0]);
      T* dst = static_cast<T*>(out[0]);
      const int64_t total = plugin::element_count(out_shape);
      if (total == 0) return;
      const int64_t inner = out_shape.back(), in_inner = in_shape.back();
      const int64_t rows = total / inner;
      parallel_for(rows, total, [&](int64_t r) {
        int64_t rem = r, off = 0;
        for (size_t d = out_shape.size() - 1; d-- > 0;) {
          off += (rem % out_shape[d]) % in_shape[d] * in_strides[d];
          rem /= out_shape[d];
        }
        T* o = dst + r * inner;
        for (int64_t j = 0; j < inner; ++j) o[j] = src[off + j % in_inner];
      });
    };
  });
}

// ---------------------------------------------------------------------------
// Pad
// ---------------------------------------------------------------------------

// Per-dimension source index of every output coordinate (-1: the constant value).
using PadMaps = std::vector<std::vector<int64_t>>;

PadMaps pad_maps(const Shape& in_shape, const Shape& out_shape, const std::string& mode, const std::vector<int64_t>& pads,
                 std::vector<int64_t> axes) {
  const int64_t rank = static_cast<int64_t>(in_shape.size());
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  if (pads.size() != 2 * axes.size()) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Pad: pads length mismatch");
  std::vector<int64_t> begin(static_cast<size_t>(rank), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Pad: axis out of range");
    begin[static_cast<size_t>(a)] = pads[i];
  }
  PadMaps map(static_cast<size_t>(rank));
  for (size_t d = 0; d < static_cast<size_t>(rank); ++d) {
    const int64_t n = in_shape[d];
    for (int64_t o = 0; o < out_shape[d]; ++o) {
      int64_t i = o - begin[d];
      if (i < 0 || i >= n) {
        if (mode == "constant" || n == 0) {
          i = -1;
        } else if (mode == "edge") {
          i = std::clamp<int64_t>(i, 0, n - 1);
        } else if (mode == "wrap") {
          i = ((i % n) + n) % n;
        } else if (n == 1) {
          i = 0;
        } else {  // reflect, without repeating the edge
          const int64_t period = 2 * (n - 1);
          i = ((i % period) + period) % period;
          if (i >= n) i = period - i;
        }
      }
      map[d].push_back(i);
    }
  }
  return map;
}

std::unique_ptr<Kernel> pad_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  Shape out_shape = node.output_info(0).shape;
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::string mode = node.get_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "mode '" + mode + "'");
  double attr_value = 0.0;
  std::optional<PadMaps> fixed_map;
  // pads (input 1) and axes (input 3) when they are only known at run time.
  std::array<hxrt_dtype, 4> param_dtype{};
  std::array<int64_t, 4> param_count{};
  if (node.opset() < 11) {
    attr_value = node.get_float("value", 0.0f);
    try {
      fixed_map = pad_maps(x.shape, out_shape, mode, node.get_ints(node.opset() < 2 ? "paddings" : "pads"), {});
    } catch (const PluginError& e) {
      unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, e.what());
    }
  } else {
    bool constant = node.input_info(1).constant.has_value() && (!node.has_input(3) || node.input_info(3).constant);
    for (size_t i : {size_t{1}, size_t{3}})
      if (node.has_input(i)) {
        TensorInfo info = node.input_info(i);
        if (info.dtype != HXRT_DTYPE_INT64 && info.dtype != HXRT_DTYPE_INT32) unsupported_dtype(node, info.dtype);
        param_dtype[i] = info.dtype;
        param_count[i] = info.numel();
      }
    if (constant) {
      try {
        fixed_map = pad_maps(x.shape, out_shape, mode, node.input_info(1).constant_ints(),
                             node.has_input(3) ? node.input_info(3).constant_ints() : std::vector<int64_t>{});
      } catch (const PluginError& e) {
        unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, e.what());
      }
    }
  }
  const bool value_input = node.opset() >= 11 && node.has_input(2);
  const hxrt_dtype value_dtype = value_input ? node.input_info(2).dtype : HXRT_DTYPE_UNDEFINED;
  auto in_strides = strides_of(x.shape);
  return typed_kernel(node, x.dtype, Mask<kAll>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      T value = convert<T>(attr_value);
      if (value_input && in.size() > 2 && in[2]) {
        if (value_dtype == x.dtype)
          value = *static_cast<const T*>(in[2]);
        else
          value = convert<T>(load_as_double(in[2], value_dtype));
      }
      const T* src = static_cast<const T*>(in[0]);
      T* dst = static_cast<T*>(out[0]);
      const int64_t total = plugin::element_count(out_shape);
      if (total == 0) return;
      if (rank == 0) {
        dst[0] = src[0];
        return;
      }
      const int64_t inner = out_shape.back();
      const int64_t rows = total / inner;
      PadMaps runtime_map;
      if (!fixed_map) {
        std::array<std::vector<int64_t>, 4> v;
        for (size_t i : {size_t{1}, size_t{3}})
          for (int64_t k = 0; k < param_count[i] && i < in.size() && in[i]; ++k) v[i].push_back(load_as_int64(in[i], param_dtype[i], k));
        runtime_map = pad_maps(x.shape, out_shape, mode, v[1], v[3]);
      }
      const PadMaps& map = fixed_map ? *fixed_map : runtime_map;
      const auto& last = map.back();
      parallel_for(rows, total, [&](int64_t r) {
        int64_t rem = r, off = 0;
        bool fill = false;
        for (size_t d = static_cast<size_t>(rank) - 1; d-- > 0;) {
          int64_t m = map[d][static_cast<size_t>(rem % out_shape[d])];
          rem /= out_shape[d];
          if (m < 0) fill = true;
          off += m * in_strides[d];
        }
        T* o = dst + r * inner;
        if (fill) {
          for (int64_t j = 0; j < inner; ++j) o[j] = value;
          return;
        }
        for (int64_t j = 0; j < inner; ++j) {
          int64_t m = last[static_cast<size_t>(j)];
          o[j] = m < 0 ? value : src[off + m];
        }
      });
    };
  });
}

// ---------------------------------------------------------------------------
// Resize
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> resize_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  Shape out_shape = node.output_info(0).shape;
  ResizeSpec spec = parse_resize(node, x.shape, out_shape);
  std::optional<ResizeTaps> taps;
  if (!spec.needs_roi || spec.roi) taps = resize_taps(spec, spec.roi ? *spec.roi : std::vector<double>{});
  return typed_kernel(node, x.dtype, Mask<kNumeric>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [taps, spec](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* src = static_cast<const T*>(in[0]);
      T* dst = static_cast<T*>(out[0]);
      if (taps) {
        resize_apply(*taps, spec.in_shape, spec.out_shape, src, dst);
        return;
      }
      // roi known only now (tf_crop_and_resize with a runtime roi).
      std::vector<double> roi;
      for (int64_t i = 0; i < spec.roi_count; ++i) roi.push_back(load_as_double(in[1], spec.roi_dtype, i));
      resize_apply(resize_taps(spec, roi), spec.in_shape, spec.out_shape, src, dst);
    };
  });
}

// ---------------------------------------------------------------------------
// Cast / CastLike
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> cast_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  hxrt_dtype to = node.output_info(0).dtype;
  // `saturate` only matters for float8 targets, which are outside the ABI's dtype set.
  std::unique_ptr<Kernel> kernel;
  const int64_t n = x.numel();
  dispatch(node, x.dtype, Mask<kAll>{}, [&](auto from_tag) {
    using From = typename decltype(from_tag)::type;
    dispatch(node, to, Mask<kAll>{}, [&](auto to_tag) {
      using To = typename decltype(to_tag)::type;
      kernel = make_kernel([n](const std::vector<const void*>& in, const std::vector<void*>& out) {
        const From* src = static_cast<const From*>(in[0]);
        To* dst = static_cast<To*>(out[0]);
        if constexpr (std::is_same_v<From, To>) {
          if (n && static_cast<const void*>(src) != static_cast<void*>(dst))
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(To));
        } else {
          parallel_for(n, [&](int64_t i) { dst[i] = convert<To>(src[i]); });
        }
      });
    });
  });
  return kernel;
}

// ---------------------------------------------------------------------------
// Shape, Size, Constant, ConstantOfShape, Range
// ---------------------------------------------------------------------------

// Writes fixed bytes to output 0.
std::unique_ptr<Kernel> bytes_kernel(std::vector<uint8_t> bytes) {
  return make_kernel([bytes = std::move(bytes)](const std::vector<const void*>&, const std::vector<void*>& out) {
    if (!bytes.empty()) std::memcpy(out[0], bytes.data(), bytes.size());
  });
}

template <typename T>
std::vector<uint8_t> to_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::unique_ptr<Kernel> shape_kernel(const NodeReader& node) {
  Shape s = node.input_info(0).shape;
  const int64_t rank = static_cast<int64_t>(s.size());
  int64_t start = node.get_int("start", 0), end = node.get_int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(s[static_cast<size_t>(i)]);
  if (node.output_info(0).dtype != HXRT_DTYPE_INT64) unsupported_dtype(node, node.output_info(0).dtype);
  if (static_cast<int64_t>(dims.size()) != node.output_info(0).numel())
    unsupported(HXRT_UNSUPPORTED_SHAPE, node, "output length disagrees");
  return bytes_kernel(to_bytes(dims));
}

std::unique_ptr<Kernel> size_kernel(const NodeReader& node) {
  if (node.output_info(0).dtype != HXRT_DTYPE_INT64) unsupported_dtype(node, node.output_info(0).dtype);
  return bytes_kernel(to_bytes(std::vector<int64_t>{node.input_info(0).numel()}));
}

std::unique_ptr<Kernel> constant_kernel(const NodeReader& node) {
  TensorInfo out = node.output_info(0);
  std::vector<uint8_t> bytes;
  if (auto t = node.get_tensor("value")) {
    if (!t->constant) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "value tensor without data");
    bytes = *t->constant;
  } else if (node.has("value_float")) {
    bytes = to_bytes(std::vector<float>{node.get_float("value_float", 0)});
  } else if (node.has("value_floats")) {
    bytes = to_bytes(node.get_floats("value_floats"));
  } else if (node.has("value_int")) {
    bytes = to_bytes(std::vector<int64_t>{node.get_int("value_int", 0)});
  } else if (node.has("value_ints")) {
    bytes = to_bytes(node.get_ints("value_ints"));
  } else {
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "only value/value_float(s)/value_int(s) are supported");
  }
  if (bytes.size() != out.bytes()) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "value size disagrees with the output");
  return bytes_kernel(std::move(bytes));
}

std::unique_ptr<Kernel> constant_of_shape_kernel(const NodeReader& node) {
  TensorInfo out = node.output_info(0);
  std::vector<uint8_t> value;
  if (auto t = node.get_tensor("value")) {
    if (!t->constant || t->numel() != 1) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "value must hold one element");
    value = *t->constant;
    if (t->dtype != out.dtype) unsupported(HXRT_UNSUPPORTED_DTYPE, node, "value dtype disagrees with the output");
  } else {
    if (out.dtype != HXRT_DTYPE_FLOAT32) unsupported_dtype(node, out.dtype);
    value.assign(4, 0);
  }
  const int64_t n = out.numel();
  return make_kernel([value, n](const std::vector<const void*>&, const std::vector<void*>& out_ptrs) {
    uint8_t* dst = static_cast<uint8_t*>(out_ptrs[0]);
    const size_t es = value.size();
    bool zero = std::all_of(value.begin(), value.end(), [](uint8_t b) { return b == 0; });
    if (zero) {
      std::memset(dst, 0, static_cast<size_t>(n) * es);
      return;
    }
    for (int64_t i = 0; i < n; ++i) std::memcpy(dst + static_cast<size_t>(i) * es, value.data(), es);
  });
}

std::unique_ptr<Kernel> range_kernel(const NodeReader& node) {
  TensorInfo out = node.output_info(0);
  const int64_t n = out.numel();
  return typed_kernel(node, out.dtype, Mask<kFloat | kSigned>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [n](const std::vector<const void*>& in, const std::vector<void*>& outs) {
      const T start = *static_cast<const T*>(in[0]);
      const T delta = *static_cast<const T*>(in[2]);
      T* dst = static_cast<T*>(outs[0]);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    };
  });
}

// DepthToSpace / SpaceToDepth as views (4-D).
std::unique_ptr<Kernel> depth_space_kernel(const NodeReader& node, bool to_space) {
  TensorInfo x = node.input_info(0);
  if (x.shape.size() != 4) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "only 4-D input");
  const int64_t b = node.get_int("blocksize", 0);
  if (b <= 0) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "blocksize");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  StridedView v;
  if (to_space) {
    const bool crd = node.get_string("mode", "DCR") == "CRD";
    const int64_t c = C / (b * b);
    // Output [N, c, H, b, W, b] as a view on the input.
    Shape in6 = crd ? Shape{N, c, b, b, H, W} : Shape{N, b, b, c, H, W};
    auto s6 = strides_of(in6);
    if (crd) {
      v.dims = {N, c, H, b, W, b};
      v.strides = {s6[0], s6[1], s6[4], s6[2], s6[5], s6[3]};
    } else {
      v.dims = {N, c, H, b, W, b};
      v.strides = {s6[0], s6[3], s6[4], s6[1], s6[5], s6[2]};
    }
  } else {
    // Input viewed as [N, C, H/b, b, W/b, b]; output [N, b, b, C, H/b, W/b].
    Shape in6{N, C, H / b, b, W / b, b};
    auto s6 = strides_of(in6);
    v.dims = {N, b, b, C, H / b, W / b};
    v.strides = {s6[0], s6[3], s6[5], s6[1], s6[2], s6[4]};
  }
  return view_kernel(node, v);
}

}  // namespace

void register_data_movement_kernels() {
  register_ops({"Reshape", "Flatten", "Squeeze", "Unsqueeze"}, 1, 25, copy_kernel);
  register_op(OpRegistration{"Dropout", 1, 25, dropout_kernel});
  register_op(OpRegistration{"Transpose", 1, 25, transpose_kernel});
  register_op(OpRegistration{"Expand", 8, 25, expand_kernel});
  register_op(OpRegistration{"Concat", 1, 25, concat_kernel});
  register_op(OpRegistration{"Split", 1, 25, split_kernel});
  register_op(OpRegistration{"Slice", 1, 25, slice_kernel});
  register_op(OpRegistration{"Gather", 1, 25, gather_kernel});
  register_op(OpRegistration{"GatherElements", 11, 25, gather_elements_kernel});
  register_op(OpRegistration{"Tile", 6, 25, tile_kernel});
  register_op(OpRegistration{"Pad", 2, 25, pad_kernel});
  register_op(OpRegistration{"Resize", 10, 25, resize_kernel});
  register_op(OpRegistration{"Upsample", 9, 9, resize_kernel});
  register_ops({"Cast", "CastLike"}, 1, 25, cast_kernel);
  register_op(OpRegistration{"Shape", 1, 25, shape_kernel});
  register_op(OpRegistration{"Size", 1, 25, size_kernel});
  register_op(OpRegistration{"Constant", 1, 25, constant_kernel});
  register_op(OpRegistration{"ConstantOfShape", 9, 25, constant_of_shape_kernel});
  register_op(OpRegistration{"Range", 11, 25, range_kernel});
  register_op(OpRegistration{"DepthToSpace", 1, 25, [](const NodeReader& n) { return depth_space_kernel(n, true); }});
  register_op(OpRegistration{"SpaceToDepth", 1, 25, [](const NodeReader& n) { return depth_space_kernel(n, false); }});
}

}  // namespace hxrt::cpu
