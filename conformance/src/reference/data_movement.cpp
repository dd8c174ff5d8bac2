// Transpose, Reshape, Concat, Slice, Gather, Tile.
#include <algorithm>
#include <stdexcept>

#include "reference/reference.hpp"

namespace hxrt::conformance::ref {

Tensor transpose(const Tensor& x, const std::vector<int64_t>& perm) {
  Dims out_shape;
  for (int64_t p : perm) out_shape.push_back(x.shape[p]);
  Tensor out(x.dtype, out_shape);
  auto in_strides = strides_of(x.shape);
  for (int64_t o = 0; o < out.numel(); ++o) {
    auto idx = unravel(o, out_shape);
    int64_t src = 0;
    for (size_t d = 0; d < perm.size(); ++d) src += idx[d] * in_strides[perm[d]];
    out.v[o] = x.v[src];
  }
  return out;
}

Tensor reshape(const Tensor& x, const Dims& shape) {
  if (Tensor::numel_of(shape) != x.numel()) throw std::runtime_error("reshape: element count differs");
  return Tensor(x.dtype, shape, x.v);
}

Tensor concat(const std::vector<Tensor>& inputs, int64_t axis) {
  int64_t rank = static_cast<int64_t>(inputs[0].shape.size());
  if (axis < 0) axis += rank;
  Dims out_shape = inputs[0].shape;
  out_shape[axis] = 0;
  for (const auto& t : inputs) out_shape[axis] += t.shape[axis];
  Tensor out(inputs[0].dtype, out_shape);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out_shape[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= out_shape[d];
  size_t w = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (const auto& t : inputs) {
      int64_t chunk = t.shape[axis] * inner;
      for (int64_t j = 0; j < chunk; ++j) out.v[w++] = t.v[o * chunk + j];
    }
  return out;
}

Tensor slice(const Tensor& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
             const std::vector<int64_t>& axes, const std::vector<int64_t>& steps) {
  size_t rank = x.shape.size();
  std::vector<int64_t> start(rank, 0), step(rank, 1);
  Dims out_shape = x.shape;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + static_cast<int64_t>(rank) : axes[i];
    int64_t dim = x.shape[a], s = starts[i], e = ends[i], st = steps[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      out_shape[a] = e > s ? (e - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      out_shape[a] = s > e ? (s - e - st - 1) / -st : 0;
    }
    start[a] = s;
    step[a] = st;
  }
  Tensor out(x.dtype, out_shape);
  auto in_strides = strides_of(x.shape);
  for (int64_t o = 0; o < out.numel(); ++o) {
    auto idx = unravel(o, out_shape);
    int64_t src = 0;
    for (size_t d = 0; d < rank; ++d) src += (start[d] + idx[d] * step[d]) * in_strides[d];
    out.v[o] = x.v[src];
  }
  return out;
}

Tensor gather(const Tensor& x, const Tensor& indices, int64_t axis) {
  int64_t rank = static_cast<int64_t>(x.shape.size());
  if (axis < 0) axis += rank;
  Dims out_shape(x.shape.begin(), x.shape.begin() + axis);
  out_shape.insert(out_shape.end(), indices.shape.begin(), indices.shape.end());
  out_shape.insert(out_shape.end(), x.shape.begin() + axis + 1, x.shape.end());
  Tensor out(x.dtype, out_shape);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape[d];
  size_t w = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < indices.numel(); ++k) {
      int64_t i = static_cast<int64_t>(indices.v[k]);
      if (i < 0) i += x.shape[axis];
      for (int64_t j = 0; j < inner; ++j) out.v[w++] = x.v[(o * x.shape[axis] + i) * inner + j];
    }
  return out;
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& repeats) {
  Dims out_shape = x.shape;
  for (size_t d = 0; d < out_shape.size(); ++d) out_shape[d] *= repeats[d];
  Tensor out(x.dtype, out_shape);
  auto in_strides = strides_of(x.shape);
  for (int64_t o = 0; o < out.numel(); ++o) {
    auto idx = unravel(o, out_shape);
    int64_t src = 0;
    for (size_t d = 0; d < idx.size(); ++d) src += (idx[d] % x.shape[d]) * in_strides[d];
    out.v[o] = x.v[src];
  }
  return out;
}

}  // namespace hxrt::conformance::ref
