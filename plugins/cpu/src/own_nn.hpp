// Window geometry shared by the naive pooling and convolution kernels.
#pragma once

#include <utility>

#include "own_common.hpp"

namespace hxrt::cpu::own {

// Spatial parameters of a Conv/ConvTranspose/Pool node, one entry per spatial dim.
struct WindowGeometry {
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end;
  Shape in, out;  // spatial extents

  // Coordinate along dim `d` that kernel position `k` of the window at grid
  // point `p` samples: an input coordinate for a forward window placed on an
  // output point, an output coordinate for a transposed window on an input point.
  int64_t point(size_t d, int64_t p, int64_t k) const { return p * strides[d] - pad_begin[d] + k * dilations[d]; }
};

inline std::vector<int64_t> ints_or(const NodeReader& node, const char* name, size_t n, int64_t fallback) {
  std::vector<int64_t> v = node.get_ints(name);
  if (v.empty()) v.assign(n, fallback);
  if (v.size() != n) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, std::string(name) + " has the wrong length");
  return v;
}

// The parts common to forward_geometry and transpose_geometry: kernel,
// spatial extents of `in`/`out` (full NC... shapes), strides and dilations.
inline WindowGeometry window_basics(const NodeReader& node, const Shape& in, const Shape& out,
                                    std::vector<int64_t> kernel) {
  WindowGeometry g;
  const size_t n = in.size() - 2;
  if (kernel.size() != n) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "kernel_shape has the wrong length");
  g.kernel = std::move(kernel);
  g.in.assign(in.begin() + 2, in.end());
  g.out.assign(out.begin() + 2, out.end());
  g.strides = ints_or(node, "strides", n, 1);
  g.dilations = ints_or(node, "dilations", n, 1);
  g.pad_begin.assign(n, 0);
  g.pad_end.assign(n, 0);
  return g;
}

// Sets the pads of `g` from auto_pad: SAME_UPPER/SAME_LOWER split
// same_total(d) over the two ends of dim d (the extra one at the end for
// SAME_UPPER), NOTSET reads `pads` (begins then ends; 0 when absent).
template <typename SameTotal>
void read_padding(const NodeReader& node, WindowGeometry& g, SameTotal&& same_total) {
  const size_t n = g.kernel.size();
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t i = 0; i < n; ++i) {
      const int64_t total = same_total(i);
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
    }
  } else if (auto_pad == "NOTSET") {
    std::vector<int64_t> pads = ints_or(node, "pads", 2 * n, 0);
    for (size_t i = 0; i < n; ++i) {
      g.pad_begin[i] = pads[i];
      g.pad_end[i] = pads[n + i];
    }
  } else if (auto_pad != "VALID") {
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "auto_pad '" + auto_pad + "'");
  }
}

// Reads strides/dilations/pads/auto_pad for a forward window op (Conv, pools);
// `in`/`out` are full NC... shapes, `kernel` the spatial kernel extents.
inline WindowGeometry forward_geometry(const NodeReader& node, const Shape& in, const Shape& out,
                                       std::vector<int64_t> kernel) {
  WindowGeometry g = window_basics(node, in, out, std::move(kernel));
  read_padding(node, g, [&](size_t i) {
    return std::max<int64_t>(0, (g.out[i] - 1) * g.strides[i] + (g.kernel[i] - 1) * g.dilations[i] + 1 - g.in[i]);
  });
  return g;
}

// The same for ConvTranspose, whose windows sit on input points and sample the
// output (output_padding counts into SAME padding); `in`/`out` are the node's
// full NC... input and output shapes.
inline WindowGeometry transpose_geometry(const NodeReader& node, const Shape& in, const Shape& out,
                                         std::vector<int64_t> kernel) {
  WindowGeometry g = window_basics(node, in, out, std::move(kernel));
  const std::vector<int64_t> out_pad = ints_or(node, "output_padding", g.kernel.size(), 0);
  read_padding(node, g, [&](size_t i) {
    return g.strides[i] * (g.in[i] - 1) + out_pad[i] + (g.kernel[i] - 1) * g.dilations[i] + 1 - g.out[i];
  });
  return g;
}

// A global pool's window: the whole spatial extent of `in` (a full NC... shape).
inline WindowGeometry global_geometry(const Shape& in) {
  WindowGeometry g;
  const size_t n = in.size() - 2;
  g.in.assign(in.begin() + 2, in.end());
  g.out.assign(n, 1);
  g.kernel = g.in;
  g.strides.assign(n, 1);
  g.dilations.assign(n, 1);
  g.pad_begin.assign(n, 0);
  g.pad_end.assign(n, 0);
  return g;
}

// A Conv/ConvTranspose kernel's spatial extents: kernel_shape, else W's spatial dims.
inline std::vector<int64_t> kernel_shape_of(const NodeReader& node, const Shape& w_shape) {
  std::vector<int64_t> k = node.get_ints("kernel_shape");
  if (k.empty()) k.assign(w_shape.begin() + 2, w_shape.end());
  return k;
}

// Checks the spatial kernel extents against W ([*, *, k...], of the input's rank).
inline void require_kernel_matches_weights(const NodeReader& node, const std::vector<int64_t>& kernel,
                                           const Shape& w_shape) {
  if (kernel.size() + 2 != w_shape.size())
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "kernel_shape has the wrong length");
  for (size_t d = 0; d < kernel.size(); ++d)
    if (w_shape[d + 2] != kernel[d]) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "kernel_shape disagrees with W");
}

// One kernel position of a window that falls inside the sampled extent.
struct Tap {
  int64_t target;  // offset of the sampled point in the (row-major) sampled extent
  int64_t kernel;  // offset of the kernel position in the (row-major) kernel
};

// Windows of a geometry placed on every point of `grid`, sampling `target`
// through WindowGeometry::point. Conv: grid = out, target = in; ConvTranspose:
// grid = in, target = out.
class WindowTaps {
 public:
  WindowTaps(WindowGeometry g, Shape grid, Shape target)
      : g_(std::move(g)),
        grid_(std::move(grid)),
        target_(std::move(target)),
        target_strides_(strides_of(target_)),
        kernel_strides_(strides_of(g_.kernel)),
        points_(product(grid_, 0, grid_.size())) {}

  // Calls body(e, taps) for every grid point e (row-major) with the taps of its window.
  template <typename Body>
  void for_each(Body&& body) const {
    std::vector<int64_t> p(grid_.size(), 0), k(g_.kernel.size(), 0);
    std::vector<Tap> taps;
    for (int64_t e = 0; e < points_; ++e, next_index(p, grid_)) {
      taps.clear();
      std::fill(k.begin(), k.end(), 0);
      do {
        int64_t toff = 0, koff = 0;
        bool ok = true;
        for (size_t d = 0; d < k.size() && ok; ++d) {
          const int64_t t = g_.point(d, p[d], k[d]);
          ok = t >= 0 && t < target_[d];
          toff += t * target_strides_[d];
          koff += k[d] * kernel_strides_[d];
        }
        if (ok) taps.push_back(Tap{toff, koff});
      } while (next_index(k, g_.kernel));
      body(e, std::as_const(taps));
    }
  }

 private:
  WindowGeometry g_;
  Shape grid_, target_;
  std::vector<int64_t> target_strides_, kernel_strides_;
  int64_t points_;
};

}  // namespace hxrt::cpu::own
