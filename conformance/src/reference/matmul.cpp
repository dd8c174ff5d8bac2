// MatMul (numpy semantics, batched with broadcasting) and Gemm.
#include <stdexcept>

#include "reference/reference.hpp"

namespace hxrt::conformance::ref {

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  // Promote 1-D operands as numpy does, and drop the added dims at the end.
  Tensor a = a_in, b = b_in;
  bool a_vec = a.shape.size() == 1, b_vec = b.shape.size() == 1;
  if (a_vec) a.shape.insert(a.shape.begin(), 1);
  if (b_vec) b.shape.push_back(1);
  int64_t m = a.shape[a.shape.size() - 2], k = a.shape.back();
  int64_t k2 = b.shape[b.shape.size() - 2], n = b.shape.back();
  if (k != k2) throw std::runtime_error("matmul: inner dims differ");
  Dims a_batch(a.shape.begin(), a.shape.end() - 2), b_batch(b.shape.begin(), b.shape.end() - 2);
  Dims batch = broadcast_shape(a_batch, b_batch);
  Dims out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out(a.dtype, out_shape);
  int64_t batches = Tensor::numel_of(batch);
  auto a_strides = strides_of(a_batch), b_strides = strides_of(b_batch);
  for (int64_t bi = 0; bi < batches; ++bi) {
    auto idx = unravel(bi, batch);
    int64_t ao = 0, bo = 0;
    for (size_t i = 0; i < a_batch.size(); ++i)
      ao += (a_batch[i] == 1 ? 0 : idx[i + batch.size() - a_batch.size()]) * a_strides[i];
    for (size_t i = 0; i < b_batch.size(); ++i)
      bo += (b_batch[i] == 1 ? 0 : idx[i + batch.size() - b_batch.size()]) * b_strides[i];
    ao *= m * k;
    bo *= k * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += a.v[ao + i * k + p] * b.v[bo + p * n + j];
        out.v[bi * m * n + i * n + j] = acc;
      }
  }
  if (a_vec) out.shape.erase(out.shape.end() - 2);
  if (b_vec) out.shape.pop_back();
  return out;
}

Tensor gemm(const Tensor& a, const Tensor& b, const Tensor* c, double alpha, double beta, bool trans_a, bool trans_b) {
  int64_t m = trans_a ? a.shape[1] : a.shape[0], k = trans_a ? a.shape[0] : a.shape[1];
  int64_t n = trans_b ? b.shape[0] : b.shape[1];
  Tensor out(a.dtype, {m, n});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        double x = trans_a ? a.v[p * m + i] : a.v[i * k + p];
        double y = trans_b ? b.v[j * k + p] : b.v[p * n + j];
        acc += x * y;
      }
      out.v[i * n + j] = alpha * acc;
    }
  if (c != nullptr) {
    Tensor scaled = *c;  // C broadcasts to [M, N] (unidirectional)
    for (double& v : scaled.v) v *= beta;
    out = binary("Add", out, scaled);
  }
  return out;
}

}  // namespace hxrt::conformance::ref
