// The Reduce* family and ArgMax/ArgMin.
#include <cmath>
#include <limits>
#include <stdexcept>

#include "reference/reference.hpp"

namespace hxrt::conformance::ref {

Tensor reduce(const std::string& op, const Tensor& x, std::vector<int64_t> axes, bool keepdims) {
  int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<bool> reduced(x.shape.size(), axes.empty());
  for (int64_t a : axes) reduced.at(static_cast<size_t>(a < 0 ? a + rank : a)) = true;
  Dims kept;  // output shape with keepdims
  for (size_t i = 0; i < x.shape.size(); ++i) kept.push_back(reduced[i] ? 1 : x.shape[i]);
  std::vector<double> acc(static_cast<size_t>(Tensor::numel_of(kept)));
  std::vector<int64_t> count(acc.size(), 0);
  bool is_max = op == "ReduceMax", is_min = op == "ReduceMin", is_prod = op == "ReduceProd";
  double init = is_max ? -std::numeric_limits<double>::infinity() : is_min ? std::numeric_limits<double>::infinity()
                : is_prod ? 1.0 : 0.0;
  std::fill(acc.begin(), acc.end(), init);
  auto kept_strides = strides_of(kept);
  std::vector<double> lse_max(acc.size(), -std::numeric_limits<double>::infinity());
  if (op == "ReduceLogSumExp")
    for (int64_t i = 0; i < x.numel(); ++i) {
      auto idx = unravel(i, x.shape);
      int64_t o = 0;
      for (size_t d = 0; d < idx.size(); ++d) o += (reduced[d] ? 0 : idx[d]) * kept_strides[d];
      lse_max[o] = std::max(lse_max[o], x.v[i]);
    }
  for (int64_t i = 0; i < x.numel(); ++i) {
    auto idx = unravel(i, x.shape);
    int64_t o = 0;
    for (size_t d = 0; d < idx.size(); ++d) o += (reduced[d] ? 0 : idx[d]) * kept_strides[d];
    double v = x.v[i];
    if (op == "ReduceSum" || op == "ReduceMean" || op == "ReduceLogSum") acc[o] += v;
    else if (is_max) acc[o] = std::max(acc[o], v);
    else if (is_min) acc[o] = std::min(acc[o], v);
    else if (is_prod) acc[o] *= v;
    else if (op == "ReduceL1") acc[o] += std::fabs(v);
    else if (op == "ReduceL2" || op == "ReduceSumSquare") acc[o] += v * v;
    else if (op == "ReduceLogSumExp") acc[o] += std::exp(v - lse_max[o]);
    else throw std::runtime_error("reference: unknown reduction " + op);
    ++count[o];
  }
  for (size_t o = 0; o < acc.size(); ++o) {
    if (op == "ReduceMean") acc[o] /= static_cast<double>(count[o]);
    else if (op == "ReduceL2") acc[o] = std::sqrt(acc[o]);
    else if (op == "ReduceLogSum") acc[o] = std::log(acc[o]);
    else if (op == "ReduceLogSumExp") acc[o] = lse_max[o] + std::log(acc[o]);
  }
  Dims out_shape;
  for (size_t i = 0; i < x.shape.size(); ++i)
    if (!reduced[i]) out_shape.push_back(x.shape[i]);
    else if (keepdims) out_shape.push_back(1);
  return Tensor(x.dtype, out_shape, acc);
}

Tensor arg_reduce(const Tensor& x, int64_t axis, bool keepdims, bool max, bool select_last_index) {
  int64_t rank = static_cast<int64_t>(x.shape.size());
  if (axis < 0) axis += rank;
  Dims kept = x.shape;
  kept[axis] = 1;
  Tensor out(HXRT_DTYPE_INT64, kept);
  auto in_strides = strides_of(x.shape);
  for (int64_t o = 0; o < out.numel(); ++o) {
    auto idx = unravel(o, kept);
    int64_t base = 0;
    for (size_t d = 0; d < idx.size(); ++d) base += idx[d] * in_strides[d];
    int64_t best = 0;
    double best_v = x.v[base];
    for (int64_t j = 1; j < x.shape[axis]; ++j) {
      double v = x.v[base + j * in_strides[axis]];
      bool better = max ? (v > best_v || (select_last_index && v == best_v))
                        : (v < best_v || (select_last_index && v == best_v));
      if (better) {
        best = j;
        best_v = v;
      }
    }
    out.v[o] = static_cast<double>(best);
  }
  if (!keepdims) out.shape.erase(out.shape.begin() + axis);
  return out;
}

}  // namespace hxrt::conformance::ref
