// oneDNN element-wise kernels: unary eltwise ops, binary ops with numpy
// broadcasting (of the second operand), Sum, Concat, reductions and PRelu.
#include <algorithm>
#include <cstring>
#include <limits>

#include "onednn_common.hpp"

namespace hxrt::cpu::onednn {
namespace {

using plugin::shape_of;

// ---------------------------------------------------------------------------
// Unary eltwise
// ---------------------------------------------------------------------------

struct EltwiseSpec {
  dnnl::algorithm alg;
  float alpha = 0.f;
  float beta = 0.f;
};

std::unique_ptr<Kernel> make_eltwise_kernel(const NodeReader& node, const EltwiseSpec& spec) {
  require_f32(node);
  Shape xs = shape_of(node.input(0));
  if (plugin::element_count(xs) == 0) return make_noop_kernel();
  memory::desc md = plain_md(xs);
  dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, spec.alg, md, spec.alpha, spec.beta);
  dnnl::eltwise_forward::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::eltwise_forward(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, md);
  k->bind_output(DNNL_ARG_DST, 0, md);
  return k;
}

void register_unary(const char* op, int lo, int hi, std::function<EltwiseSpec(const NodeReader&)> spec) {
  register_onednn(op, lo, hi, [spec = std::move(spec)](const NodeReader& node) {
    return make_eltwise_kernel(node, spec(node));
  });
}

EltwiseSpec simple(dnnl::algorithm alg, float alpha = 0.f, float beta = 0.f) {
  EltwiseSpec s;
  s.alg = alg;
  s.alpha = alpha;
  s.beta = beta;
  return s;
}

float constant_scalar(const NodeReader& node, size_t index, float fallback) {
  if (!node.has_input(index)) return fallback;
  const hxrt_tensor_desc& d = node.input(index);
  if (d.constant_data == nullptr)
    throw Unsupported(HXRT_UNSUPPORTED_OTHER, op_name(node) + ": input " + std::to_string(index) +
                                                  " must be a compile-time constant for the oneDNN kernel");
  if (d.dtype != HXRT_DTYPE_FLOAT32 || d.constant_size_bytes < sizeof(float))
    throw Unsupported(HXRT_UNSUPPORTED_DTYPE, op_name(node) + ": bound must be a float32 scalar");
  float v;
  std::memcpy(&v, d.constant_data, sizeof v);
  return v;
}

// ---------------------------------------------------------------------------
// Binary ops with broadcasting
// ---------------------------------------------------------------------------

Shape pad_front(const Shape& s, size_t rank) {
  Shape r(rank - s.size(), 1);
  r.insert(r.end(), s.begin(), s.end());
  return r;
}

std::unique_ptr<Kernel> make_binary(const NodeReader& node, dnnl::algorithm alg, bool commutative) {
  require_f32(node);
  if (node.num_inputs() != 2 || !node.has_input(0) || !node.has_input(1))
    throw Unsupported(HXRT_UNSUPPORTED_OTHER, op_name(node) + ": the oneDNN kernel takes exactly 2 inputs");
  Shape ys = shape_of(node.output(0));
  if (plugin::element_count(ys) == 0) return make_noop_kernel();
  size_t rank = std::max<size_t>(ys.size(), 1);
  if (rank > DNNL_MAX_NDIMS) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": rank too large");
  Shape d = pad_front(ys, rank);
  Shape a = pad_front(shape_of(node.input(0)), rank), b = pad_front(shape_of(node.input(1)), rank);
  size_t ia = 0, ib = 1;
  if (a != d) {
    // oneDNN broadcasts only src1: swap operands when the op allows it.
    if (commutative && b == d) {
      std::swap(a, b);
      std::swap(ia, ib);
    } else {
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": oneDNN cannot broadcast the first operand");
    }
  }
  for (size_t i = 0; i < rank; ++i)
    if (b[i] != d[i] && b[i] != 1) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": shapes do not broadcast");
  memory::desc a_md = plain_md(a), b_md = plain_md(b), d_md = plain_md(d);
  dnnl::binary::desc desc(alg, a_md, b_md, d_md);
  dnnl::binary::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::binary(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC_0, ia, a_md);
  k->bind_weights(DNNL_ARG_SRC_1, node, ib, b_md, b_md);
  k->bind_output(DNNL_ARG_DST, 0, d_md);
  return k;
}

std::unique_ptr<Kernel> make_copy_kernel(size_t bytes) {
  return std::make_unique<FunctionKernel>([bytes](const std::vector<const void*>& in, const std::vector<void*>& out) {
    if (bytes > 0 && in[0] != out[0]) std::memcpy(out[0], in[0], bytes);
  });
}

// Sum / Min / Max: variadic; 1 input is a copy, 2 inputs a binary op, more
// inputs of one shape use the sum primitive (Sum only).
std::unique_ptr<Kernel> make_variadic(const NodeReader& node, dnnl::algorithm alg) {
  require_f32(node);
  size_t n = node.num_inputs();
  for (size_t i = 0; i < n; ++i)
    if (!node.has_input(i)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, op_name(node) + ": omitted input");
  Shape ys = shape_of(node.output(0));
  if (n == 1) {
    if (shape_of(node.input(0)) != ys) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": shape mismatch");
    return make_copy_kernel(static_cast<size_t>(plugin::element_count(ys)) * sizeof(float));
  }
  if (n == 2) return make_binary(node, alg, true);
  if (alg != dnnl::algorithm::binary_add)
    throw Unsupported(HXRT_UNSUPPORTED_OTHER, op_name(node) + ": more than 2 inputs are not supported by oneDNN");
  for (size_t i = 0; i < n; ++i)
    if (shape_of(node.input(i)) != ys)
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Sum: inputs of different shapes (broadcasting) with > 2 inputs");
  if (plugin::element_count(ys) == 0) return make_noop_kernel();
  memory::desc md = plain_md(ys);
  std::vector<memory::desc> srcs(n, md);
  dnnl::sum::primitive_desc pd(md, std::vector<float>(n, 1.0f), srcs, engine(), make_attr());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::sum(pd), pd.scratchpad_desc());
  for (size_t i = 0; i < n; ++i) k->bind_input(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), i, md);
  k->bind_output(DNNL_ARG_DST, 0, md);
  return k;
}

// ---------------------------------------------------------------------------
// Concat (a plain strided copy: exact and as fast as the primitive)
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> make_concat(const NodeReader& node) {
  require_f32(node);
  Shape ys = shape_of(node.output(0));
  auto rank = static_cast<int64_t>(ys.size());
  if (rank == 0) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Concat: scalar output");
  int64_t axis = normalize_axis(node.get_int("axis", node.opset() < 4 ? 1 : 0), rank, node);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= ys[static_cast<size_t>(i)];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= ys[static_cast<size_t>(i)];
  std::vector<int64_t> chunk;  // elements per outer index of each input
  int64_t total = 0;
  for (size_t i = 0; i < node.num_inputs(); ++i) {
    if (!node.has_input(i)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "Concat: omitted input");
    Shape s = shape_of(node.input(i));
    if (static_cast<int64_t>(s.size()) != rank) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Concat: rank mismatch");
    chunk.push_back(s[static_cast<size_t>(axis)] * inner);
    total += s[static_cast<size_t>(axis)];
  }
  if (total != ys[static_cast<size_t>(axis)]) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Concat: output size mismatch");
  int64_t out_chunk = total * inner;
  return std::make_unique<FunctionKernel>(
      [chunk, outer, out_chunk](const std::vector<const void*>& in, const std::vector<void*>& out) {
        float* y = static_cast<float*>(out[0]);
#pragma omp parallel for schedule(static) if (outer > 1 && outer * out_chunk > 65536)
        for (int64_t o = 0; o < outer; ++o) {
          float* dst = y + o * out_chunk;
          for (size_t i = 0; i < chunk.size(); ++i) {
            if (chunk[i] == 0) continue;
            std::memcpy(dst, static_cast<const float*>(in[i]) + o * chunk[i], static_cast<size_t>(chunk[i]) * sizeof(float));
            dst += chunk[i];
          }
        }
      });
}

// ---------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> make_reduce(const NodeReader& node, dnnl::algorithm alg, int axes_input_opset) {
  require_f32(node, 1);
  Shape xs = shape_of(node.input(0)), ys = shape_of(node.output(0));
  auto rank = static_cast<int64_t>(xs.size());
  bool keepdims = node.get_int("keepdims", 1) != 0;
  bool noop_empty = node.get_int("noop_with_empty_axes", 0) != 0;
  std::vector<int64_t> axes;
  bool axes_known = true;
  if (node.opset() < axes_input_opset) {
    axes = node.get_ints("axes");
  } else if (node.has_input(1)) {
    const hxrt_tensor_desc& a = node.input(1);
    if (a.constant_data != nullptr) {
      axes = node.input_info(1).constant_ints();
    } else if (plugin::element_count(shape_of(a)) == 0) {
      axes.clear();
    } else {
      axes_known = false;
    }
  }
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  if (!axes_known) {
    // Runtime axes: with keepdims the output shape tells which axes shrink;
    // reducing an axis of size 1 changes nothing, so this is exact.
    if (!keepdims || static_cast<int64_t>(ys.size()) != rank)
      throw Unsupported(HXRT_UNSUPPORTED_OTHER, op_name(node) + ": non-constant axes need keepdims=1");
    for (int64_t i = 0; i < rank; ++i) reduced[static_cast<size_t>(i)] = ys[static_cast<size_t>(i)] != xs[static_cast<size_t>(i)];
  } else if (axes.empty()) {
    if (noop_empty) return make_copy_kernel(static_cast<size_t>(plugin::element_count(xs)) * sizeof(float));
    std::fill(reduced.begin(), reduced.end(), true);
  } else {
    for (int64_t a : axes) reduced[static_cast<size_t>(normalize_axis(a, rank, node))] = true;
  }
  Shape kept(xs);
  for (int64_t i = 0; i < rank; ++i)
    if (reduced[static_cast<size_t>(i)]) kept[static_cast<size_t>(i)] = 1;
  int64_t out_n = plugin::element_count(kept);
  if (out_n != plugin::element_count(ys)) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": output shape mismatch");
  if (out_n == 0) return make_noop_kernel();
  if (plugin::element_count(xs) == 0) {
    // Reducing over an empty set: the identity of the reduction.
    float fill = 0.0f;
    if (alg == dnnl::algorithm::reduction_max) fill = -std::numeric_limits<float>::infinity();
    if (alg == dnnl::algorithm::reduction_min) fill = std::numeric_limits<float>::infinity();
    if (alg == dnnl::algorithm::reduction_mean) fill = std::numeric_limits<float>::quiet_NaN();
    return std::make_unique<FunctionKernel>([out_n, fill](const std::vector<const void*>&, const std::vector<void*>& out) {
      std::fill_n(static_cast<float*>(out[0]), out_n, fill);
    });
  }
  if (rank == 0) return make_copy_kernel(sizeof(float));
  if (kept == xs) return make_copy_kernel(static_cast<size_t>(out_n) * sizeof(float));
  memory::desc x_md = plain_md(xs), y_md = plain_md(kept);
  dnnl::reduction::desc desc(alg, x_md, y_md, 0.f, 0.f);
  dnnl::reduction::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::reduction(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, x_md);
  k->bind_output(DNNL_ARG_DST, 0, y_md);
  return k;
}

// ---------------------------------------------------------------------------
// PRelu
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> make_prelu(const NodeReader& node) {
  require_f32(node);
  Shape xs = shape_of(node.input(0)), ss = shape_of(node.input(1));
  if (xs.empty() || ss.size() > xs.size()) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "PRelu: unsupported shapes");
  if (plugin::element_count(xs) == 0) return make_noop_kernel();
  Shape s = pad_front(ss, xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    if (s[i] != xs[i] && s[i] != 1) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "PRelu: slope does not broadcast");
  memory::desc x_md = plain_md(xs), s_md = plain_md(s);
  dnnl::prelu_forward::desc desc(dnnl::prop_kind::forward_inference, x_md, s_md);
  dnnl::prelu_forward::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::prelu_forward(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, x_md);
  k->bind_weights(DNNL_ARG_WEIGHTS, node, 1, s_md, s_md);
  k->bind_output(DNNL_ARG_DST, 0, x_md);
  return k;
}

}  // namespace

void register_onednn_eltwise_kernels() {
  using A = dnnl::algorithm;
  register_unary("Relu", 6, 22, [](const NodeReader&) { return simple(A::eltwise_relu); });
  register_unary("LeakyRelu", 6, 22,
                 [](const NodeReader& n) { return simple(A::eltwise_relu, n.get_float("alpha", 0.01f)); });
  register_unary("Sigmoid", 6, 22, [](const NodeReader&) { return simple(A::eltwise_logistic); });
  register_unary("Tanh", 6, 22, [](const NodeReader&) { return simple(A::eltwise_tanh); });
  register_unary("Exp", 6, 22, [](const NodeReader&) { return simple(A::eltwise_exp); });
  register_unary("Log", 6, 22, [](const NodeReader&) { return simple(A::eltwise_log); });
  register_unary("Sqrt", 6, 22, [](const NodeReader&) { return simple(A::eltwise_sqrt); });
  register_unary("Abs", 6, 22, [](const NodeReader&) { return simple(A::eltwise_abs); });
  register_unary("Elu", 6, 22, [](const NodeReader& n) { return simple(A::eltwise_elu, n.get_float("alpha", 1.0f)); });
  register_unary("Softplus", 1, 22, [](const NodeReader&) { return simple(A::eltwise_soft_relu); });
  register_unary("HardSwish", 14, 22, [](const NodeReader&) { return simple(A::eltwise_hardswish); });
  // HardSigmoid stays with the generic kernel: oneDNN 2.6's linear+clip
  // post-op gave wrong values for rank-0/1 tensors (found by hxrt-conformance).
  register_unary("Gelu", 20, 22, [](const NodeReader& n) {
    std::string approx = n.get_string("approximate", "none");
    if (approx == "none") return simple(A::eltwise_gelu_erf);
    if (approx == "tanh") return simple(A::eltwise_gelu_tanh);
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Gelu: approximate='" + approx + "' is unknown");
  });
  register_unary("Clip", 6, 22, [](const NodeReader& n) {
    float lo, hi;
    if (n.opset() < 11) {
      lo = n.get_float("min", std::numeric_limits<float>::lowest());
      hi = n.get_float("max", std::numeric_limits<float>::max());
    } else {
      lo = constant_scalar(n, 1, std::numeric_limits<float>::lowest());
      hi = constant_scalar(n, 2, std::numeric_limits<float>::max());
    }
    if (!(lo <= hi)) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Clip: min > max");
    return simple(A::eltwise_clip, lo, hi);
  });

  struct BinaryOp {
    const char* name;
    A alg;
    bool commutative;
  };
  for (BinaryOp op : {BinaryOp{"Add", A::binary_add, true}, BinaryOp{"Sub", A::binary_sub, false},
                      BinaryOp{"Mul", A::binary_mul, true}, BinaryOp{"Div", A::binary_div, false}}) {
    register_onednn(op.name, 7, 22, [op](const NodeReader& n) { return make_binary(n, op.alg, op.commutative); });
  }
  register_onednn("Sum", 8, 22, [](const NodeReader& n) { return make_variadic(n, A::binary_add); });
  register_onednn("Min", 8, 22, [](const NodeReader& n) { return make_variadic(n, A::binary_min); });
  register_onednn("Max", 8, 22, [](const NodeReader& n) { return make_variadic(n, A::binary_max); });
  register_onednn("Concat", 4, 22, make_concat);
  register_onednn("ReduceMean", 1, 22, [](const NodeReader& n) { return make_reduce(n, A::reduction_mean, 18); });
  register_onednn("ReduceSum", 1, 22, [](const NodeReader& n) { return make_reduce(n, A::reduction_sum, 13); });
  register_onednn("ReduceMax", 1, 22, [](const NodeReader& n) { return make_reduce(n, A::reduction_max, 18); });
  register_onednn("ReduceMin", 1, 22, [](const NodeReader& n) { return make_reduce(n, A::reduction_min, 18); });
  register_onednn("PRelu", 9, 22, make_prelu);
}

}  // namespace hxrt::cpu::onednn
