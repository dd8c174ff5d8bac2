// Conv over any number of spatial dims (NC + spatial), with groups, pads,
// strides, dilations and an optional bias.
#include "reference/reference.hpp"

namespace hxrt::conformance::ref {

Tensor conv(const Tensor& x, const Tensor& w, const Tensor* bias, const ConvParams& p) {
  size_t sd = x.shape.size() - 2;
  int64_t n = x.shape[0], c = x.shape[1], m = w.shape[0], cg = w.shape[1];
  int64_t g = p.group;
  Dims out_shape = {n, m};
  for (size_t i = 0; i < sd; ++i) {
    int64_t k = (w.shape[2 + i] - 1) * p.dilations[i] + 1;
    out_shape.push_back((x.shape[2 + i] + p.pads[i] + p.pads[sd + i] - k) / p.strides[i] + 1);
  }
  Tensor out(x.dtype, out_shape);
  Dims spatial_out(out_shape.begin() + 2, out_shape.end());
  Dims kernel(w.shape.begin() + 2, w.shape.end());
  int64_t out_sp = Tensor::numel_of(spatial_out), k_sp = Tensor::numel_of(kernel);
  auto x_strides = strides_of(x.shape);
  (void)c;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < m; ++oc) {
      int64_t grp = oc / (m / g);
      for (int64_t o = 0; o < out_sp; ++o) {
        auto oi = unravel(o, spatial_out);
        double acc = bias ? bias->v[oc] : 0.0;
        for (int64_t ic = 0; ic < cg; ++ic)
          for (int64_t kk = 0; kk < k_sp; ++kk) {
            auto ki = unravel(kk, kernel);
            int64_t off = b * x_strides[0] + (grp * cg + ic) * x_strides[1];
            bool inside = true;
            for (size_t d = 0; d < sd && inside; ++d) {
              int64_t pos = oi[d] * p.strides[d] - p.pads[d] + ki[d] * p.dilations[d];
              if (pos < 0 || pos >= x.shape[2 + d]) inside = false;
              else off += pos * x_strides[2 + d];
            }
            if (inside) acc += x.v[off] * w.v[(oc * cg + ic) * k_sp + kk];
          }
        out.v[(b * m + oc) * out_sp + o] = acc;
      }
    }
  return out;
}

}  // namespace hxrt::conformance::ref
