// oneDNN matmul kernels: MatMul (numpy batched semantics) and Gemm.
#include <algorithm>

#include "onednn_common.hpp"

namespace hxrt::cpu::onednn {
namespace {

using plugin::shape_of;

std::unique_ptr<Kernel> make_matmul(const NodeReader& node) {
  require_f32(node);
  Shape as = shape_of(node.input(0)), bs = shape_of(node.input(1)), ys = shape_of(node.output(0));
  if (as.empty() || bs.empty()) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: scalar operands are not allowed");
  Shape a = as, b = bs;
  if (a.size() == 1) a.insert(a.begin(), 1);  // [K] -> [1, K]
  if (b.size() == 1) b.push_back(1);          // [K] -> [K, 1]
  size_t rank = std::max(a.size(), b.size());
  if (rank > DNNL_MAX_NDIMS) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: rank too large for oneDNN");
  a.insert(a.begin(), rank - a.size(), 1);
  b.insert(b.begin(), rank - b.size(), 1);
  int64_t M = a[rank - 2], K = a[rank - 1], N = b[rank - 1];
  if (b[rank - 2] != K) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: inner dimensions differ");
  Shape d(rank);
  for (size_t i = 0; i + 2 < rank; ++i) {
    if (a[i] != b[i] && a[i] != 1 && b[i] != 1)
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: batch dimensions do not broadcast");
    d[i] = a[i] == 1 ? b[i] : a[i];
  }
  d[rank - 2] = M;
  d[rank - 1] = N;
  if (plugin::element_count(d) != plugin::element_count(ys))
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: output shape " + plugin::shape_to_string(ys) +
                                                  " does not match the operands");
  if (K == 0 || plugin::element_count(d) == 0) {
    // Empty reduction: the result is all zeros.
    size_t n = static_cast<size_t>(plugin::element_count(d));
    return std::make_unique<FunctionKernel>([n](const std::vector<const void*>&, const std::vector<void*>& out) {
      std::fill_n(static_cast<float*>(out[0]), n, 0.0f);
    });
  }
  memory::desc a_md = plain_md(a), b_md = plain_md(b), d_md = plain_md(d);
  dnnl::matmul::desc desc(a_md, b_md, d_md);
  dnnl::matmul::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::matmul(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, a_md);
  k->bind_input(DNNL_ARG_WEIGHTS, 1, b_md);
  k->bind_output(DNNL_ARG_DST, 0, d_md);
  return k;
}

std::unique_ptr<Kernel> make_gemm(const NodeReader& node) {
  require_f32(node);
  Shape as = shape_of(node.input(0)), bs = shape_of(node.input(1)), ys = shape_of(node.output(0));
  if (as.size() != 2 || bs.size() != 2 || ys.size() != 2)
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: A, B and Y must be 2-D");
  bool ta = node.get_int("transA", 0) != 0, tb = node.get_int("transB", 0) != 0;
  float alpha = node.get_float("alpha", 1.0f), beta = node.get_float("beta", 1.0f);
  int64_t M = ta ? as[1] : as[0], K = ta ? as[0] : as[1];
  int64_t Kb = tb ? bs[1] : bs[0], N = tb ? bs[0] : bs[1];
  if (K != Kb || ys[0] != M || ys[1] != N) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: inconsistent shapes");
  bool has_c = node.has_input(2) && beta != 0.0f;
  int64_t cm = 1, cn = 1;
  if (has_c) {
    Shape cs = shape_of(node.input(2));
    if (cs.size() > 2) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: C has rank > 2");
    while (cs.size() < 2) cs.insert(cs.begin(), 1);
    cm = cs[0];
    cn = cs[1];
    if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: C does not broadcast to [M, N]");
  }
  // Y = alpha * A' B' computed by oneDNN (transposes are strided views);
  // beta * C is added with broadcasting afterwards.
  auto epilogue = [has_c, beta, M, N, cm, cn](const std::vector<const void*>& in, const std::vector<void*>& out) {
    if (!has_c) return;
    const float* c = static_cast<const float*>(in[2]);
    float* y = static_cast<float*>(out[0]);
    for (int64_t m = 0; m < M; ++m) {
      const float* crow = c + (cm == 1 ? 0 : m * cn);
      float* yrow = y + m * N;
      if (cn == 1) {
        float v = beta * crow[0];
        for (int64_t n = 0; n < N; ++n) yrow[n] += v;
      } else {
        for (int64_t n = 0; n < N; ++n) yrow[n] += beta * crow[n];
      }
    }
  };
  if (K == 0 || M == 0 || N == 0) {
    return std::make_unique<FunctionKernel>(
        [M, N, epilogue](const std::vector<const void*>& in, const std::vector<void*>& out) {
          std::fill_n(static_cast<float*>(out[0]), M * N, 0.0f);
          epilogue(in, out);
        });
  }
  memory::desc a_md({M, K}, memory::data_type::f32, ta ? dims{1, M} : dims{K, 1});
  memory::desc b_user({K, N}, memory::data_type::f32, tb ? dims{1, K} : dims{N, 1});
  memory::desc d_md = plain_md({M, N});
  bool b_const = node.input(1).constant_data != nullptr;
  memory::desc b_prim = b_const ? memory::desc({K, N}, memory::data_type::f32, memory::format_tag::any) : b_user;
  auto attr = make_attr();
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  dnnl::matmul::desc desc(a_md, b_prim, d_md);
  dnnl::matmul::primitive_desc pd(desc, attr, engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::matmul(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, a_md);
  k->bind_weights(DNNL_ARG_WEIGHTS, node, 1, b_user, pd.weights_desc());
  k->bind_output(DNNL_ARG_DST, 0, d_md);
  k->set_epilogue(epilogue);
  return k;
}

}  // namespace

void register_onednn_matmul_kernels() {
  register_onednn("MatMul", 1, 22, make_matmul);
  register_onednn("Gemm", 1, 22, make_gemm);
}

}  // namespace hxrt::cpu::onednn
