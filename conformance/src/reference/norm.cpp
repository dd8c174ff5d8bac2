// BatchNormalization (inference), LayerNormalization, InstanceNormalization.
#include <cmath>

#include "reference/reference.hpp"

namespace hxrt::conformance::ref {

Tensor batch_norm(const Tensor& x, const Tensor& scale, const Tensor& bias, const Tensor& mean, const Tensor& var,
                  double epsilon) {
  Tensor out = x;
  int64_t c = x.shape[1], sp = x.numel() / (x.shape[0] * c);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t ch = (i / sp) % c;
    out.v[i] = (x.v[i] - mean.v[ch]) / std::sqrt(var.v[ch] + epsilon) * scale.v[ch] + bias.v[ch];
  }
  return out;
}

Tensor layer_norm(const Tensor& x, const Tensor& scale, const Tensor* bias, int64_t axis, double epsilon) {
  int64_t rank = static_cast<int64_t>(x.shape.size());
  if (axis < 0) axis += rank;
  int64_t inner = 1;
  for (int64_t d = axis; d < rank; ++d) inner *= x.shape[d];
  Tensor out = x;
  for (int64_t o = 0; o < x.numel() / inner; ++o) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < inner; ++j) mean += x.v[o * inner + j];
    mean /= static_cast<double>(inner);
    for (int64_t j = 0; j < inner; ++j) var += (x.v[o * inner + j] - mean) * (x.v[o * inner + j] - mean);
    var /= static_cast<double>(inner);
    for (int64_t j = 0; j < inner; ++j)
      out.v[o * inner + j] =
          (x.v[o * inner + j] - mean) / std::sqrt(var + epsilon) * scale.v[j] + (bias ? bias->v[j] : 0.0);
  }
  return out;
}

Tensor instance_norm(const Tensor& x, const Tensor& scale, const Tensor& bias, double epsilon) {
  int64_t c = x.shape[1], sp = x.numel() / (x.shape[0] * c);
  Tensor out = x;
  for (int64_t nc = 0; nc < x.shape[0] * c; ++nc) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < sp; ++j) mean += x.v[nc * sp + j];
    mean /= static_cast<double>(sp);
    for (int64_t j = 0; j < sp; ++j) var += (x.v[nc * sp + j] - mean) * (x.v[nc * sp + j] - mean);
    var /= static_cast<double>(sp);
    for (int64_t j = 0; j < sp; ++j)
      out.v[nc * sp + j] = (x.v[nc * sp + j] - mean) / std::sqrt(var + epsilon) * scale.v[nc % c] + bias.v[nc % c];
  }
  return out;
}

}  // namespace hxrt::conformance::ref
