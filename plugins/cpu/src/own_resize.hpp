// Resize (and Upsample) as separable per-axis taps, following the ONNX
// reference implementation's coordinate mapping and coefficient rules.
#pragma once

#include <optional>

#include "own_common.hpp"

namespace hxrt::cpu::own {

struct ResizeTap {
  int64_t index;  // input coordinate, already clamped into range
  double weight;
};

struct ResizeAxis {
  std::vector<int64_t> begin;       // taps of output coordinate o: [begin[o], begin[o+1])
  std::vector<ResizeTap> taps;
  std::vector<uint8_t> outside;     // tf_crop_and_resize: coordinate maps outside the input
};

struct ResizeTaps {
  std::vector<ResizeAxis> axes;  // one per dimension
  double extrapolation_value = 0.0;
  bool any_outside = false;
};

// Cubic convolution weights for offsets -1, 0, 1, 2 around the left neighbour.
inline std::vector<double> resize_cubic_coeffs(double r, double A) {
  return {((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A, ((A + 2) * r - (A + 3)) * r * r + 1,
          ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1,
          ((A * ((1 - r) + 1) - 5 * A) * ((1 - r) + 1) + 8 * A) * ((1 - r) + 1) - 4 * A};
}

// Returns the coefficients and the first tap's offset from the left neighbour.
inline std::vector<double> resize_coeffs(const std::string& mode, bool antialias, double ratio, double scale, double A,
                                         int64_t& first_offset) {
  if (mode == "linear") {
    if (!antialias) {
      first_offset = 0;
      return {1 - ratio, ratio};
    }
    const double s = std::min(scale, 1.0);
    const int64_t start = static_cast<int64_t>(std::floor(-1 / s) + 1);
    const int64_t footprint = 2 - 2 * start;
    std::vector<double> c;
    double sum = 0;
    for (int64_t i = start; i < start + footprint; ++i) {
      double v = std::clamp(1 - std::fabs((static_cast<double>(i) - ratio) * s), 0.0, 1.0);
      c.push_back(v);
      sum += v;
    }
    for (double& v : c) v /= sum;
    first_offset = start;
    return c;
  }
  // cubic
  if (!antialias) {
    first_offset = -1;
    return resize_cubic_coeffs(ratio, A);
  }
  const double s = std::min(scale, 1.0);
  const int64_t i_start = static_cast<int64_t>(std::floor(-2 / s) + 1);
  const int64_t i_end = 2 - i_start;
  std::vector<double> c;
  double sum = 0;
  for (int64_t i = i_start; i < i_end; ++i) {
    double x = std::fabs(s * (static_cast<double>(i) - ratio));
    double v = 0;
    if (x <= 1)
      v = (A + 2) * x * x * x - (A + 3) * x * x + 1;
    else if (x < 2)
      v = A * x * x * x - 5 * A * x * x + 8 * A * x - 4 * A;
    c.push_back(v);
    sum += v;
  }
  for (double& v : c) v /= sum;
  first_offset = i_start;
  return c;
}

// Everything about a Resize node except the roi values, which may arrive at run time.
struct ResizeSpec {
  Shape in_shape, out_shape;
  std::string mode, ctm, nearest_mode;
  double A = -0.75, extrapolation = 0.0;
  bool exclude_outside = false, antialias = false, legacy = false;
  std::vector<int64_t> axes;
  std::vector<double> scale;
  bool needs_roi = false;               // tf_crop_and_resize
  std::optional<std::vector<double>> roi;  // set when a compile-time constant
  hxrt_dtype roi_dtype = HXRT_DTYPE_UNDEFINED;
  int64_t roi_count = 0;
};

inline ResizeSpec parse_resize(const NodeReader& node, const Shape& in_shape, const Shape& out_shape) {
  const size_t rank = in_shape.size();
  if (out_shape.size() != rank) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "rank mismatch");
  const bool legacy = node.opset() < 11;  // Resize-10 and Upsample
  std::string mode = node.get_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "cubic" && !(legacy && mode == "bilinear"))
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "mode '" + mode + "'");
  if (mode == "bilinear") mode = "linear";
  if (legacy && mode == "cubic") unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "cubic before opset 11");
  const std::string ctm = legacy ? "asymmetric" : node.get_string("coordinate_transformation_mode", "half_pixel");
  if (ctm != "half_pixel" && ctm != "pytorch_half_pixel" && ctm != "align_corners" && ctm != "asymmetric" &&
      ctm != "tf_crop_and_resize" && ctm != "half_pixel_symmetric")
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "coordinate_transformation_mode '" + ctm + "'");
  const std::string nearest_mode = node.get_string("nearest_mode", "round_prefer_floor");
  if (nearest_mode != "round_prefer_floor" && nearest_mode != "round_prefer_ceil" && nearest_mode != "floor" &&
      nearest_mode != "ceil")
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "nearest_mode '" + nearest_mode + "'");
  const double A = node.get_float("cubic_coeff_a", -0.75f);
  const bool exclude_outside = node.get_int("exclude_outside", 0) != 0;
  const bool antialias = node.get_int("antialias", 0) != 0 && mode != "nearest";
  const std::string policy = node.get_string("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "keep_aspect_ratio_policy '" + policy + "'");

  std::vector<int64_t> axes = node.get_ints("axes");
  if (axes.empty())
    for (size_t i = 0; i < rank; ++i) axes.push_back(static_cast<int64_t>(i));
  for (int64_t& a : axes) a = normalize_axis(node, a, static_cast<int64_t>(rank));

  // Inputs: Resize-10/Upsample-9: (X, scales); Resize-11+: (X, roi, scales, sizes).
  const size_t scales_input = legacy ? 1 : 2;
  std::vector<double> scale(rank, 1.0);
  bool have_scales = false;
  if (node.has_input(scales_input) && node.input_info(scales_input).numel() > 0) {
    std::vector<double> s = constant_doubles_input(node, scales_input, "scales");
    if (s.size() != axes.size()) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "scales length mismatch");
    for (size_t i = 0; i < axes.size(); ++i) scale[static_cast<size_t>(axes[i])] = s[i];
    have_scales = true;
  }
  if (!have_scales) {
    if (legacy || !node.has_input(3)) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "neither scales nor sizes given");
    TensorInfo sizes_info = node.input_info(3);
    std::vector<int64_t> sizes;
    if (sizes_info.constant) {
      sizes = sizes_info.constant_ints();
    } else if (policy == "stretch") {
      for (int64_t a : axes) sizes.push_back(out_shape[static_cast<size_t>(a)]);
    } else {
      unsupported(HXRT_UNSUPPORTED_OTHER, node, "sizes must be constant with keep_aspect_ratio_policy");
    }
    if (sizes.size() != axes.size()) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "sizes length mismatch");
    for (size_t i = 0; i < axes.size(); ++i) {
      const size_t a = static_cast<size_t>(axes[i]);
      scale[a] = static_cast<double>(sizes[i]) / static_cast<double>(in_shape[a]);
    }
    if (policy != "stretch") {
      double s = policy == "not_larger" ? std::numeric_limits<double>::infinity() : 0.0;
      for (int64_t a : axes)
        s = policy == "not_larger" ? std::min(s, scale[static_cast<size_t>(a)]) : std::max(s, scale[static_cast<size_t>(a)]);
      for (int64_t a : axes) scale[static_cast<size_t>(a)] = s;
    }
  }

  ResizeSpec spec;
  spec.in_shape = in_shape;
  spec.out_shape = out_shape;
  spec.mode = mode;
  spec.ctm = ctm;
  spec.nearest_mode = nearest_mode;
  spec.A = A;
  spec.extrapolation = node.get_float("extrapolation_value", 0.0f);
  spec.exclude_outside = exclude_outside;
  spec.antialias = antialias;
  spec.legacy = legacy;
  spec.axes = axes;
  spec.scale = scale;
  if (ctm == "tf_crop_and_resize") {
    spec.needs_roi = true;
    if (!node.has_input(1)) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "tf_crop_and_resize needs roi");
    TensorInfo roi = node.input_info(1);
    if (roi.numel() != static_cast<int64_t>(2 * axes.size())) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "roi length mismatch");
    spec.roi_dtype = roi.dtype;
    spec.roi_count = roi.numel();
    if (roi.constant) spec.roi = constant_doubles_input(node, 1, "roi");
  }
  return spec;
}

// The per-axis taps of a Resize given its roi values (ignored unless tf_crop_and_resize).
inline ResizeTaps resize_taps(const ResizeSpec& spec, const std::vector<double>& roi) {
  const Shape& in_shape = spec.in_shape;
  const Shape& out_shape = spec.out_shape;
  const size_t rank = in_shape.size();
  const std::string& mode = spec.mode;
  const std::string& ctm = spec.ctm;
  const std::string& nearest_mode = spec.nearest_mode;
  const double A = spec.A;
  const bool exclude_outside = spec.exclude_outside, antialias = spec.antialias, legacy = spec.legacy;
  const std::vector<double>& scale = spec.scale;
  std::vector<double> roi_start(rank, 0.0), roi_end(rank, 1.0);
  if (spec.needs_roi) {
    if (roi.size() != 2 * spec.axes.size()) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Resize: roi length mismatch");
    for (size_t i = 0; i < spec.axes.size(); ++i) {
      roi_start[static_cast<size_t>(spec.axes[i])] = roi[i];
      roi_end[static_cast<size_t>(spec.axes[i])] = roi[spec.axes.size() + i];
    }
  }

  ResizeTaps taps;
  taps.extrapolation_value = spec.extrapolation;
  for (size_t d = 0; d < rank; ++d) {
    ResizeAxis ax;
    const int64_t in_w = in_shape[d];
    const double in_wf = static_cast<double>(in_w);
    const double s = scale[d];
    const double out_wf = s * in_wf;
    const double out_wi = static_cast<double>(out_shape[d]);
    for (int64_t o = 0; o < out_shape[d]; ++o) {
      ax.begin.push_back(static_cast<int64_t>(ax.taps.size()));
      const double x = static_cast<double>(o);
      double xo = 0;
      bool outside = false;
      if (ctm == "align_corners") {
        xo = out_wf == 1 ? 0.0 : x * (in_wf - 1) / (out_wf - 1);
      } else if (ctm == "asymmetric") {
        xo = x / s;
      } else if (ctm == "tf_crop_and_resize") {
        xo = out_wf == 1 ? (roi_end[d] - roi_start[d]) * (in_wf - 1) / 2
                         : x * (roi_end[d] - roi_start[d]) * (in_wf - 1) / (out_wf - 1);
        xo += roi_start[d] * (in_wf - 1);
        outside = xo < 0 || xo > in_wf - 1;
      } else if (ctm == "pytorch_half_pixel") {
        xo = out_wf == 1 ? -0.5 : (x + 0.5) / s - 0.5;
      } else if (ctm == "half_pixel") {
        xo = (x + 0.5) / s - 0.5;
      } else {  // half_pixel_symmetric
        const double adjustment = out_wi / out_wf;
        const double center = in_wf / 2;
        xo = center * (1 - adjustment) + (x + 0.5) / s - 0.5;
      }
      ax.outside.push_back(outside ? 1 : 0);
      if (outside) taps.any_outside = true;
      if (in_w == 0) continue;
      const double fl = std::floor(xo);
      const bool integral = xo == fl;
      const double ratio = integral ? 1.0 : xo - fl;
      const int64_t left = static_cast<int64_t>(integral ? xo - 1 : fl);  // ratio in (0, 1] from here
      if (mode == "nearest") {
        int64_t idx;
        if (legacy) {
          idx = static_cast<int64_t>(s < 1 ? std::ceil(xo) : std::floor(xo));
        } else if (integral) {
          idx = static_cast<int64_t>(xo);
        } else if (nearest_mode == "round_prefer_floor") {
          idx = ratio <= 0.5 ? left : left + 1;
        } else if (nearest_mode == "round_prefer_ceil") {
          idx = ratio < 0.5 ? left : left + 1;
        } else if (nearest_mode == "floor") {
          idx = left;
        } else {
          idx = left + 1;
        }
        ax.taps.push_back({std::clamp<int64_t>(idx, 0, in_w - 1), 1.0});
        continue;
      }
      int64_t first_offset = 0;
      std::vector<double> c = resize_coeffs(mode, antialias, ratio, s, A, first_offset);
      const int64_t n = static_cast<int64_t>(c.size());
      // The reference pads the input by ceil(n/2) edge values and takes the n
      // nearest padded positions, so the window is clamped into that range.
      const int64_t pad = (n + 1) / 2;
      int64_t first = left + first_offset;
      first = std::clamp<int64_t>(first, -pad, in_w - 1 + pad - (n - 1));
      if (exclude_outside) {
        double sum = 0;
        for (int64_t i = 0; i < n; ++i) {
          const int64_t idx = first + i;
          if (idx < 0 || idx >= in_w) c[static_cast<size_t>(i)] = 0;
          sum += c[static_cast<size_t>(i)];
        }
        if (sum != 0)
          for (double& v : c) v /= sum;
      }
      for (int64_t i = 0; i < n; ++i) {
        if (c[static_cast<size_t>(i)] == 0) continue;
        ax.taps.push_back({std::clamp<int64_t>(first + i, 0, in_w - 1), c[static_cast<size_t>(i)]});
      }
    }
    ax.begin.push_back(static_cast<int64_t>(ax.taps.size()));
    taps.axes.push_back(std::move(ax));
  }
  return taps;
}

namespace detail {
template <typename T>
double resize_accumulate(const ResizeTaps& t, const std::vector<int64_t>& strides, const int64_t* coord, size_t d,
                         int64_t offset, const T* src) {
  if (d == t.axes.size()) return convert<double>(src[offset]);
  const ResizeAxis& ax = t.axes[d];
  const int64_t o = coord[d];
  double acc = 0;
  for (int64_t k = ax.begin[static_cast<size_t>(o)]; k < ax.begin[static_cast<size_t>(o) + 1]; ++k) {
    const ResizeTap& tap = ax.taps[static_cast<size_t>(k)];
    acc += tap.weight * resize_accumulate(t, strides, coord, d + 1, offset + tap.index * strides[d], src);
  }
  return acc;
}
}  // namespace detail

template <typename T>
void resize_apply(const ResizeTaps& t, const Shape& in_shape, const Shape& out_shape, const T* src, T* dst) {
  const int64_t total = plugin::element_count(out_shape);
  if (total == 0) return;
  if (out_shape.empty()) {
    dst[0] = src[0];
    return;
  }
  const auto strides = strides_of(in_shape);
  const size_t rank = out_shape.size();
  const int64_t inner = out_shape.back();
  const int64_t rows = total / inner;
  parallel_for(rows, total * 4, [&](int64_t r) {
    std::vector<int64_t> coord(rank, 0);
    int64_t rem = r;
    bool row_outside = false;
    for (size_t d = rank - 1; d-- > 0;) {
      coord[d] = rem % out_shape[d];
      rem /= out_shape[d];
      if (t.axes[d].outside[static_cast<size_t>(coord[d])]) row_outside = true;
    }
    T* o = dst + r * inner;
    for (int64_t j = 0; j < inner; ++j) {
      coord[rank - 1] = j;
      if (row_outside || t.axes[rank - 1].outside[static_cast<size_t>(j)]) {
        o[j] = convert<T>(t.extrapolation_value);
        continue;
      }
      double v = detail::resize_accumulate(t, strides, coord.data(), 0, 0, src);
      if constexpr (std::is_integral_v<T>)
        o[j] = convert<T>(std::nearbyint(v));
      else
        o[j] = static_cast<T>(v);
    }
  });
}

}  // namespace hxrt::cpu::own
