// MaxPool, AveragePool (explicit pads, floor mode) and the global pools.
#include <cmath>
#include <limits>

#include "reference/reference.hpp"

namespace hxrt::conformance::ref {
namespace {

Tensor pool(const Tensor& x, const PoolParams& p, bool max) {
  size_t sd = x.shape.size() - 2;
  Dims out_shape = {x.shape[0], x.shape[1]};
  for (size_t i = 0; i < sd; ++i)
    out_shape.push_back((x.shape[2 + i] + p.pads[i] + p.pads[sd + i] - p.kernel[i]) / p.strides[i] + 1);
  Tensor out(x.dtype, out_shape);
  Dims spatial_out(out_shape.begin() + 2, out_shape.end());
  Dims spatial_in(x.shape.begin() + 2, x.shape.end());
  int64_t out_sp = Tensor::numel_of(spatial_out), in_sp = Tensor::numel_of(spatial_in);
  int64_t k_sp = Tensor::numel_of(p.kernel);
  auto in_strides = strides_of(spatial_in);
  for (int64_t nc = 0; nc < x.shape[0] * x.shape[1]; ++nc)
    for (int64_t o = 0; o < out_sp; ++o) {
      auto oi = unravel(o, spatial_out);
      double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
      int64_t count = 0, padded_count = 0;
      for (int64_t kk = 0; kk < k_sp; ++kk) {
        auto ki = unravel(kk, p.kernel);
        bool inside = true, in_padded = true;
        int64_t off = 0;
        for (size_t d = 0; d < sd; ++d) {
          int64_t pos = oi[d] * p.strides[d] - p.pads[d] + ki[d];
          if (pos < 0 || pos >= spatial_in[d]) inside = false;
          if (pos < -p.pads[d] || pos >= spatial_in[d] + p.pads[sd + d]) in_padded = false;
          off += pos * in_strides[d];
        }
        if (in_padded) ++padded_count;
        if (!inside) continue;
        double v = x.v[nc * in_sp + off];
        acc = max ? std::max(acc, v) : acc + v;
        ++count;
      }
      if (!max) acc /= static_cast<double>(p.count_include_pad ? padded_count : count);
      out.v[nc * out_sp + o] = acc;
    }
  return out;
}

}  // namespace

Tensor max_pool(const Tensor& x, const PoolParams& p) { return pool(x, p, true); }
Tensor average_pool(const Tensor& x, const PoolParams& p) { return pool(x, p, false); }

Tensor global_pool(const Tensor& x, bool max) {
  Dims out_shape = {x.shape[0], x.shape[1]};
  for (size_t i = 2; i < x.shape.size(); ++i) out_shape.push_back(1);
  Tensor out(x.dtype, out_shape);
  int64_t sp = x.numel() / (x.shape[0] * x.shape[1]);
  for (int64_t nc = 0; nc < x.shape[0] * x.shape[1]; ++nc) {
    double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
    for (int64_t i = 0; i < sp; ++i) acc = max ? std::max(acc, x.v[nc * sp + i]) : acc + x.v[nc * sp + i];
    out.v[nc] = max ? acc : acc / static_cast<double>(sp);
  }
  return out;
}

}  // namespace hxrt::conformance::ref
