// Softmax and LogSoftmax along one axis (opset 13 semantics).
#include <cmath>
#include <limits>

#include "reference/reference.hpp"

namespace hxrt::conformance::ref {

Tensor softmax(const Tensor& x, int64_t axis, bool log) {
  int64_t rank = static_cast<int64_t>(x.shape.size());
  if (axis < 0) axis += rank;
  Tensor out = x;
  auto strides = strides_of(x.shape);
  int64_t len = x.shape[axis], step = strides[axis];
  Dims outer = x.shape;
  outer[axis] = 1;
  for (int64_t o = 0; o < Tensor::numel_of(outer); ++o) {
    auto idx = unravel(o, outer);
    int64_t base = 0;
    for (size_t d = 0; d < idx.size(); ++d) base += idx[d] * strides[d];
    double mx = -std::numeric_limits<double>::infinity(), sum = 0;
    for (int64_t j = 0; j < len; ++j) mx = std::max(mx, x.v[base + j * step]);
    for (int64_t j = 0; j < len; ++j) sum += std::exp(x.v[base + j * step] - mx);
    for (int64_t j = 0; j < len; ++j) {
      double z = x.v[base + j * step] - mx;
      out.v[base + j * step] = log ? z - std::log(sum) : std::exp(z) / sum;
    }
  }
  return out;
}

}  // namespace hxrt::conformance::ref
