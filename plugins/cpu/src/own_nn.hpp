// Window geometry shared by the naive pooling and convolution kernels.
#pragma once

#include "own_common.hpp"

namespace hxrt::cpu::own {

// Spatial parameters of a Conv/ConvTranspose/Pool node, one entry per spatial dim.
struct WindowGeometry {
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end;
  Shape in, out;  // spatial extents
};

inline std::vector<int64_t> ints_or(const NodeReader& node, const char* name, size_t n, int64_t fallback) {
  std::vector<int64_t> v = node.get_ints(name);
  if (v.empty()) v.assign(n, fallback);
  if (v.size() != n) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, std::string(name) + " has the wrong length");
  return v;
}

// Reads strides/dilations/pads/auto_pad for a forward window op (Conv, pools);
// `in`/`out` are full NC... shapes, `kernel` the spatial kernel extents.
inline WindowGeometry forward_geometry(const NodeReader& node, const Shape& in, const Shape& out,
                                       std::vector<int64_t> kernel) {
  WindowGeometry g;
  const size_t n = in.size() - 2;
  if (kernel.size() != n) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "kernel_shape has the wrong length");
  g.kernel = std::move(kernel);
  g.in.assign(in.begin() + 2, in.end());
  g.out.assign(out.begin() + 2, out.end());
  g.strides = ints_or(node, "strides", n, 1);
  g.dilations = ints_or(node, "dilations", n, 1);
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  g.pad_begin.assign(n, 0);
  g.pad_end.assign(n, 0);
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t i = 0; i < n; ++i) {
      int64_t total = std::max<int64_t>(
          0, (g.out[i] - 1) * g.strides[i] + (g.kernel[i] - 1) * g.dilations[i] + 1 - g.in[i]);
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
  return g;
}

// Iterates an N-D index space given by `dims`; returns false after the last index.
inline bool next_index(std::vector<int64_t>& idx, const Shape& dims) {
  for (size_t d = dims.size(); d-- > 0;) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

}  // namespace hxrt::cpu::own
