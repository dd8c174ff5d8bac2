#include "ops.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>

namespace hxrt::ocl {
namespace {

using plugin::NodeReader;
using plugin::Shape;

constexpr int64_t kMaxElements = std::numeric_limits<int32_t>::max();  // kernels index with int
constexpr int64_t kMaxOpset = 25;  // the newest opset checked: 22-25 only added dtypes to these ops
constexpr size_t kGroup = 64;      // 1-D work-group size
constexpr size_t kTile = 16;       // matmul.cl's TS

[[noreturn]] void unsupported(hxrt_support_reason reason, const std::string& message) {
  throw Unsupported(reason, message);
}

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

int64_t numel(const Shape& s) { return plugin::element_count(s); }

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i) p *= s[i];
  return p;
}

// Contiguous strides of `s`.
std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

int64_t normalize_axis(int64_t axis, size_t rank, const std::string& op) {
  int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= std::max<int64_t>(r, 1)) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op + ": axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + r : axis;
}

std::vector<int32_t> to_i32(const std::vector<int64_t>& v) { return std::vector<int32_t>(v.begin(), v.end()); }

struct Builder {
  const NodeReader& node;
  NodePlan plan;
  std::string op;

  explicit Builder(const NodeReader& n) : node(n), op(n.op_type()) {}

  Shape in_shape(size_t i) const { return plugin::shape_of(node.input(i)); }
  Shape out_shape(size_t i) const { return plugin::shape_of(node.output(i)); }

  void require_inputs(size_t min_count, size_t max_count) const {
    size_t present = 0;
    for (size_t i = 0; i < node.num_inputs(); ++i) present += node.has_input(i) ? 1 : 0;
    if (!node.has_input(0) || node.num_inputs() < min_count || node.num_inputs() > max_count)
      unsupported(HXRT_UNSUPPORTED_OTHER, op + ": expected " + std::to_string(min_count) + ".." +
                                              std::to_string(max_count) + " inputs, got " + std::to_string(present));
    for (size_t i = 0; i < min_count; ++i)
      if (!node.has_input(i)) unsupported(HXRT_UNSUPPORTED_OTHER, op + ": input " + std::to_string(i) + " is missing");
    if (!node.has_output(0)) unsupported(HXRT_UNSUPPORTED_OTHER, op + ": output 0 is missing");
  }

  // Every listed input and output 0 must be float32, and every tensor small
  // enough for int indexing.
  void require_f32(std::initializer_list<size_t> inputs) const {
    auto check = [&](const hxrt_tensor_desc& d, const std::string& what) {
      if (d.dtype != HXRT_DTYPE_FLOAT32)
        unsupported(HXRT_UNSUPPORTED_DTYPE, op + ": " + what + " is " + plugin::dtype_name(d.dtype) + "; only float32 is supported");
      if (numel(plugin::shape_of(d)) > kMaxElements)
        unsupported(HXRT_UNSUPPORTED_SHAPE, op + ": " + what + " has more than 2^31-1 elements");
    };
    for (size_t i : inputs)
      if (node.has_input(i)) check(node.input(i), "input " + std::to_string(i));
    for (size_t o = 0; o < node.num_outputs(); ++o)
      if (node.has_output(o)) check(node.output(o), "output " + std::to_string(o));
  }

  void only_output0() const {
    for (size_t o = 1; o < node.num_outputs(); ++o)
      if (node.has_output(o)) unsupported(HXRT_UNSUPPORTED_OTHER, op + ": optional output " + std::to_string(o) + " is not supported");
  }

  // A constant int input (axes, pads); nullopt when absent.
  std::optional<std::vector<int64_t>> const_ints_input(size_t i) const {
    if (!node.has_input(i)) return std::nullopt;
    plugin::TensorInfo t = node.input_info(i);
    if (!t.constant)
      unsupported(HXRT_UNSUPPORTED_OTHER, op + ": input " + std::to_string(i) + " must be a compile-time constant");
    return t.constant_ints();
  }

  int aux(std::vector<int32_t> table) {
    if (table.empty()) table.push_back(0);
    plan.aux.push_back(std::move(table));
    return static_cast<int>(plan.aux.size() - 1);
  }

  // A 1-D launch over n items (nothing for n == 0).
  void launch1d(const std::string& program, const std::string& kernel, int64_t n, std::vector<ArgRef> args) {
    if (n <= 0) return;
    Launch l;
    l.program = program;
    l.kernel = kernel;
    l.args = std::move(args);
    l.dims = 1;
    l.global[0] = round_up(static_cast<size_t>(n), kGroup);
    l.local[0] = kGroup;
    plan.steps.push_back({std::move(l), std::nullopt});
  }

  void copy(ArgRef src, ArgRef dst, size_t bytes) {
    if (bytes == 0) return;
    plan.steps.push_back({std::nullopt, Copy{src, dst, bytes}});
  }

  void traffic(double flops_per_out) {
    double b = 0;
    for (size_t i = 0; i < node.num_inputs(); ++i)
      if (node.has_input(i)) b += static_cast<double>(node.input_info(i).bytes());
    for (size_t o = 0; o < node.num_outputs(); ++o)
      if (node.has_output(o)) b += static_cast<double>(node.output_info(o).bytes());
    plan.bytes = b;
    plan.flops = flops_per_out * static_cast<double>(numel(out_shape(0)));
  }
};

// ---------------------------------------------------------------------------
// Element-wise.
// ---------------------------------------------------------------------------

enum UnaryOp {
  kIdentity = 0, kRelu, kLeakyRelu, kSigmoid, kTanh, kExp, kLog, kAbs, kNeg, kSqrt, kReciprocal, kElu, kSelu,
  kHardSigmoid, kSoftplus, kSoftsign, kFloor, kCeil, kErf, kSin, kCos, kClip, kHardSwish
};

const std::map<std::string, UnaryOp>& unary_ops() {
  static const std::map<std::string, UnaryOp> ops = {
      {"Relu", kRelu}, {"LeakyRelu", kLeakyRelu}, {"Sigmoid", kSigmoid}, {"Tanh", kTanh}, {"Exp", kExp},
      {"Log", kLog}, {"Abs", kAbs}, {"Neg", kNeg}, {"Sqrt", kSqrt}, {"Reciprocal", kReciprocal}, {"Elu", kElu},
      {"Selu", kSelu}, {"HardSigmoid", kHardSigmoid}, {"Softplus", kSoftplus}, {"Softsign", kSoftsign},
      {"Floor", kFloor}, {"Ceil", kCeil}, {"Erf", kErf}, {"Sin", kSin}, {"Cos", kCos}, {"Clip", kClip},
      {"HardSwish", kHardSwish}};
  return ops;
}

void plan_unary(Builder& b, UnaryOp code) {
  b.require_inputs(1, code == kClip ? 3 : 1);
  b.require_f32({0});
  b.only_output0();
  float alpha = 0, beta = 0;
  switch (code) {
    case kLeakyRelu: alpha = b.node.get_float("alpha", 0.01f); break;
    case kElu: alpha = b.node.get_float("alpha", 1.0f); break;
    case kSelu:
      alpha = b.node.get_float("alpha", 1.67326319217681884765625f);
      beta = b.node.get_float("gamma", 1.05070102214813232421875f);
      break;
    case kHardSigmoid:
      alpha = b.node.get_float("alpha", 0.2f);
      beta = b.node.get_float("beta", 0.5f);
      break;
    case kClip:
      if (b.node.opset() < 11) {
        alpha = b.node.get_float("min", -std::numeric_limits<float>::infinity());
        beta = b.node.get_float("max", std::numeric_limits<float>::infinity());
      } else {
        alpha = -std::numeric_limits<float>::infinity();
        beta = std::numeric_limits<float>::infinity();
        for (size_t i = 1; i <= 2; ++i) {
          if (!b.node.has_input(i)) continue;
          plugin::TensorInfo t = b.node.input_info(i);
          if (t.dtype != HXRT_DTYPE_FLOAT32)
            unsupported(HXRT_UNSUPPORTED_DTYPE, "Clip: min/max must be float32");
          if (!t.constant) unsupported(HXRT_UNSUPPORTED_OTHER, "Clip: min/max must be compile-time constants");
          if (t.numel() != 1) unsupported(HXRT_UNSUPPORTED_SHAPE, "Clip: min/max must be scalars");
          (i == 1 ? alpha : beta) = t.constant_floats().at(0);
        }
      }
      break;
    default: break;
  }
  int64_t n = numel(b.out_shape(0));
  if (n != numel(b.in_shape(0))) unsupported(HXRT_UNSUPPORTED_SHAPE, b.op + ": input and output sizes differ");
  b.launch1d("elementwise", "unary_f32", n,
             {ArgRef::input(0), ArgRef::output(0), ArgRef::integer(n), ArgRef::integer(code), ArgRef::real(alpha),
              ArgRef::real(beta)});
  b.traffic(code == kRelu || code == kNeg || code == kAbs ? 1 : 4);
}

enum BinaryOp { kAdd = 0, kSub, kMul, kDiv, kPow, kMax, kMin, kPRelu };

// Broadcast table for y = a (op) b: output dims, then a's and b's strides.
std::vector<int32_t> broadcast_meta(const Shape& out, const Shape& a, const Shape& b, const std::string& op) {
  Shape o = out.empty() ? Shape{1} : out;
  size_t r = o.size();
  std::vector<int32_t> meta(3 * r, 0);
  for (size_t d = 0; d < r; ++d) meta[d] = static_cast<int32_t>(o[d]);
  for (int which = 0; which < 2; ++which) {
    const Shape& s = which == 0 ? a : b;
    if (s.size() > r) unsupported(HXRT_UNSUPPORTED_SHAPE, op + ": an input has a higher rank than the output");
    std::vector<int64_t> st = strides_of(s);
    for (size_t k = 0; k < s.size(); ++k) {
      size_t d = r - s.size() + k;
      if (s[k] != 1 && s[k] != o[d])
        unsupported(HXRT_UNSUPPORTED_SHAPE, op + ": input shape " + plugin::shape_to_string(s) +
                                                " does not broadcast to " + plugin::shape_to_string(out));
      meta[(1 + which) * r + d] = s[k] == 1 ? 0 : static_cast<int32_t>(st[k]);
    }
  }
  return meta;
}

void plan_binary(Builder& b, BinaryOp code, bool variadic, bool mean) {
  size_t n_in = b.node.num_inputs();
  if (variadic) {
    b.require_inputs(1, 64);
    for (size_t i = 0; i < n_in; ++i)
      if (!b.node.has_input(i)) unsupported(HXRT_UNSUPPORTED_OTHER, b.op + ": omitted inputs are not supported");
  } else {
    b.require_inputs(2, 2);
  }
  std::vector<size_t> all(n_in);
  std::iota(all.begin(), all.end(), 0);
  for (size_t i : all) b.require_f32({i});
  b.only_output0();
  Shape out = b.out_shape(0);
  int64_t n = numel(out);
  int rank = static_cast<int>(std::max<size_t>(out.size(), 1));
  if (n_in == 1) {
    if (b.in_shape(0) != out) unsupported(HXRT_UNSUPPORTED_SHAPE, b.op + ": a single input must have the output's shape");
    b.copy(ArgRef::input(0), ArgRef::output(0), static_cast<size_t>(n) * 4);
  } else {
    for (size_t i = 1; i < n_in; ++i) {
      // Later inputs fold into the output in place: same index read and written.
      ArgRef a = i == 1 ? ArgRef::input(0) : ArgRef::output(0);
      Shape a_shape = i == 1 ? b.in_shape(0) : out;
      int meta = b.aux(broadcast_meta(out, a_shape, b.in_shape(i), b.op));
      b.launch1d("elementwise", "binary_f32", n,
                 {a, ArgRef::input(static_cast<int>(i)), ArgRef::output(0), ArgRef::aux(meta), ArgRef::integer(rank),
                  ArgRef::integer(n), ArgRef::integer(code)});
    }
  }
  if (mean && n_in > 1)
    b.launch1d("elementwise", "scale_f32", n,
               {ArgRef::output(0), ArgRef::integer(n), ArgRef::real(1.0f / static_cast<float>(n_in))});
  b.traffic(static_cast<double>(std::max<size_t>(n_in, 2) - 1));
}

// ---------------------------------------------------------------------------
// MatMul and Gemm.
// ---------------------------------------------------------------------------

void gemm_launch(Builder& b, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, bool ta, bool tb,
                 float alpha, float beta, ArgRef bias, int64_t bias_rs, int64_t bias_cs, bool has_bias,
                 std::vector<int32_t> offsets, const DeviceLimits& limits) {
  if (limits.max_work_group_size < kTile * kTile)
    unsupported(HXRT_UNSUPPORTED_OTHER, b.op + ": the device's work-groups are smaller than 16x16");
  int64_t batches = static_cast<int64_t>(offsets.size() / 3);
  if (M == 0 || N == 0 || batches == 0) return;
  if (K == 0) {
    // An empty sum: the result is the bias term alone; keep it simple.
    unsupported(HXRT_UNSUPPORTED_SHAPE, b.op + ": K = 0 is not supported");
  }
  int meta = b.aux(std::move(offsets));
  Launch l;
  l.program = "matmul";
  l.kernel = "gemm_tiled";
  l.args = {ArgRef::input(0), ArgRef::input(1), ArgRef::output(0), bias, ArgRef::aux(meta),
            ArgRef::integer(M), ArgRef::integer(N), ArgRef::integer(K), ArgRef::integer(lda), ArgRef::integer(ldb),
            ArgRef::integer(ta), ArgRef::integer(tb), ArgRef::real(alpha), ArgRef::real(beta),
            ArgRef::integer(has_bias), ArgRef::integer(bias_rs), ArgRef::integer(bias_cs)};
  l.dims = 3;
  l.global[0] = round_up(static_cast<size_t>(N), kTile);
  l.global[1] = round_up(static_cast<size_t>(M), kTile);
  l.global[2] = static_cast<size_t>(batches);
  l.local[0] = kTile;
  l.local[1] = kTile;
  l.local[2] = 1;
  b.plan.steps.push_back({std::move(l), std::nullopt});
  b.traffic(0);
  b.plan.flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) *
                 static_cast<double>(batches);
}

void plan_matmul(Builder& b, const DeviceLimits& limits) {
  b.require_inputs(2, 2);
  b.require_f32({0, 1});
  Shape a = b.in_shape(0), w = b.in_shape(1), out = b.out_shape(0);
  if (a.empty() || w.empty()) unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: scalar operands are not allowed");
  bool a_vec = a.size() == 1, w_vec = w.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (w_vec) w.push_back(1);
  int64_t M = a[a.size() - 2], K = a.back(), N = w.back();
  if (w[w.size() - 2] != K)
    unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: inner dimensions differ: " + plugin::shape_to_string(b.in_shape(0)) +
                                            " x " + plugin::shape_to_string(b.in_shape(1)));
  // Batch dims broadcast numpy-style.
  Shape abatch(a.begin(), a.end() - 2), wbatch(w.begin(), w.end() - 2);
  size_t br = std::max(abatch.size(), wbatch.size());
  Shape batch(br, 1);
  for (size_t d = 0; d < br; ++d) {
    int64_t x = d + abatch.size() >= br ? abatch[d + abatch.size() - br] : 1;
    int64_t y = d + wbatch.size() >= br ? wbatch[d + wbatch.size() - br] : 1;
    if (x != y && x != 1 && y != 1) unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: batch dimensions do not broadcast");
    batch[d] = std::max(x, y);
  }
  int64_t nb = numel(batch);
  if (nb * M * N != numel(out)) unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: the output shape disagrees with the inputs");
  std::vector<int64_t> ast = strides_of(abatch), wst = strides_of(wbatch);
  std::vector<int32_t> offsets;
  for (int64_t i = 0; i < nb; ++i) {
    int64_t rest = i, ao = 0, wo = 0;
    for (size_t d = br; d-- > 0;) {
      int64_t c = rest % batch[d];
      rest /= batch[d];
      if (d + abatch.size() >= br) {
        size_t k = d + abatch.size() - br;
        if (abatch[k] != 1) ao += c * ast[k];
      }
      if (d + wbatch.size() >= br) {
        size_t k = d + wbatch.size() - br;
        if (wbatch[k] != 1) wo += c * wst[k];
      }
    }
    offsets.push_back(static_cast<int32_t>(ao * M * K));
    offsets.push_back(static_cast<int32_t>(wo * K * N));
    offsets.push_back(static_cast<int32_t>(i * M * N));
  }
  gemm_launch(b, M, N, K, K, N, false, false, 1.0f, 0.0f, ArgRef::dummy(), 0, 0, false, std::move(offsets), limits);
}

void plan_gemm(Builder& b, const DeviceLimits& limits) {
  if (b.node.opset() < 7) unsupported(HXRT_UNSUPPORTED_OPSET, "Gemm: opset < 7 (broadcast attribute) is not supported");
  b.require_inputs(2, 3);
  b.require_f32({0, 1, 2});
  Shape a = b.in_shape(0), w = b.in_shape(1);
  if (a.size() != 2 || w.size() != 2) unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: A and B must be 2-D");
  bool ta = b.node.get_int("transA", 0) != 0, tb = b.node.get_int("transB", 0) != 0;
  int64_t M = ta ? a[1] : a[0], K = ta ? a[0] : a[1];
  int64_t Kb = tb ? w[1] : w[0], N = tb ? w[0] : w[1];
  if (K != Kb) unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: inner dimensions differ");
  float alpha = b.node.get_float("alpha", 1.0f), beta = b.node.get_float("beta", 1.0f);
  bool has_bias = b.node.has_input(2);
  int64_t rs = 0, cs = 0;
  if (has_bias) {
    Shape c = b.in_shape(2);
    if (c.size() > 2) unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: C has rank > 2");
    int64_t crows = c.size() == 2 ? c[0] : 1, ccols = c.empty() ? 1 : c.back();
    if ((crows != 1 && crows != M) || (ccols != 1 && ccols != N))
      unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: C does not broadcast to [M, N]");
    rs = crows == 1 ? 0 : ccols;
    cs = ccols == 1 ? 0 : 1;
  }
  gemm_launch(b, M, N, K, a[1], w[1], ta, tb, alpha, beta, has_bias ? ArgRef::input(2) : ArgRef::dummy(), rs, cs,
              has_bias, {0, 0, 0}, limits);
}

// ---------------------------------------------------------------------------
// Conv and pooling (1-D and 2-D, NCHW).
// ---------------------------------------------------------------------------

struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0, pb = 0, pr = 0;
};

// Kernel, strides, dilations and begin/end pads of a 1-D or 2-D window op.
Window window_of(Builder& b, const Shape& x, const Shape& y, std::vector<int64_t> kernel) {
  size_t sp = x.size() - 2;
  std::string pad = b.node.get_string("auto_pad", "NOTSET");
  std::vector<int64_t> strides = b.node.get_ints("strides", std::vector<int64_t>(sp, 1));
  std::vector<int64_t> dil = b.node.get_ints("dilations", std::vector<int64_t>(sp, 1));
  std::vector<int64_t> pads = b.node.get_ints("pads", std::vector<int64_t>(2 * sp, 0));
  if (kernel.size() != sp || strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp)
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, b.op + ": kernel_shape/strides/dilations/pads do not match the rank");
  for (size_t i = 0; i < sp; ++i)
    if (kernel[i] < 1 || strides[i] < 1 || dil[i] < 1 || pads[i] < 0 || pads[i + sp] < 0)
      unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, b.op + ": invalid window attributes");
  if (pad == "VALID") {
    std::fill(pads.begin(), pads.end(), 0);
  } else if (pad == "SAME_UPPER" || pad == "SAME_LOWER") {
    for (size_t i = 0; i < sp; ++i) {
      int64_t total = std::max<int64_t>(0, (y[2 + i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - x[2 + i]);
      int64_t small = total / 2, large = total - small;
      pads[i] = pad == "SAME_UPPER" ? small : large;
      pads[i + sp] = total - pads[i];
    }
  } else if (pad != "NOTSET") {
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, b.op + ": auto_pad " + pad + " is not supported");
  }
  Window w;
  if (sp == 2) {
    w = {kernel[0], kernel[1], strides[0], strides[1], dil[0], dil[1], pads[0], pads[1], pads[2], pads[3]};
  } else {
    w.kw = kernel[0];
    w.sw = strides[0];
    w.dw = dil[0];
    w.pl = pads[0];
    w.pr = pads[1];
  }
  return w;
}

void require_spatial(Builder& b, const Shape& x) {
  if (x.size() != 3 && x.size() != 4)
    unsupported(HXRT_UNSUPPORTED_SHAPE, b.op + ": only 1-D and 2-D inputs (rank 3 or 4) are supported, got rank " +
                                            std::to_string(x.size()));
}

void plan_conv(Builder& b) {
  b.require_inputs(2, 3);
  b.require_f32({0, 1, 2});
  Shape x = b.in_shape(0), w = b.in_shape(1), y = b.out_shape(0);
  require_spatial(b, x);
  if (w.size() != x.size() || y.size() != x.size()) unsupported(HXRT_UNSUPPORTED_SHAPE, "Conv: W and Y must match X's rank");
  int64_t group = b.node.get_int("group", 1);
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (b.node.has("kernel_shape") && b.node.get_ints("kernel_shape") != kernel)
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Conv: kernel_shape disagrees with W");
  int64_t C = x[1], M = w[0];
  if (group < 1 || C % group != 0 || M % group != 0 || w[1] != C / group)
    unsupported(HXRT_UNSUPPORTED_SHAPE, "Conv: channels do not match group " + std::to_string(group));
  if (b.node.has_input(2) && numel(b.in_shape(2)) != M) unsupported(HXRT_UNSUPPORTED_SHAPE, "Conv: B must hold M values");
  Window win = window_of(b, x, y, kernel);
  bool two_d = x.size() == 4;
  int64_t H = two_d ? x[2] : 1, W = x.back(), OH = two_d ? y[2] : 1, OW = y.back();
  int meta = b.aux(to_i32({x[0], C, H, W, M, win.kh, win.kw, OH, OW, group, win.sh, win.sw, win.pt, win.pl, win.dh, win.dw}));
  int64_t total = numel(y);
  b.launch1d("conv", "conv2d_f32", total,
             {ArgRef::input(0), ArgRef::input(1), b.node.has_input(2) ? ArgRef::input(2) : ArgRef::dummy(),
              ArgRef::output(0), ArgRef::aux(meta), ArgRef::integer(b.node.has_input(2)), ArgRef::integer(total)});
  b.traffic(0);
  b.plan.flops = 2.0 * static_cast<double>(total) * static_cast<double>(C / group * win.kh * win.kw);
}

void plan_pool(Builder& b, bool max) {
  b.require_inputs(1, 1);
  b.require_f32({0});
  if (max && b.node.has_output(1)) unsupported(HXRT_UNSUPPORTED_OTHER, "MaxPool: the Indices output is not supported");
  b.only_output0();
  Shape x = b.in_shape(0), y = b.out_shape(0);
  require_spatial(b, x);
  if (!b.node.has("kernel_shape")) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, b.op + ": kernel_shape is required");
  Window win = window_of(b, x, y, b.node.get_ints("kernel_shape"));
  int mode = max ? 0 : (b.node.get_int("count_include_pad", 0) != 0 ? 2 : 1);
  bool two_d = x.size() == 4;
  int64_t H = two_d ? x[2] : 1, W = x.back(), OH = two_d ? y[2] : 1, OW = y.back();
  if (y.size() != x.size() || y[0] != x[0] || y[1] != x[1]) unsupported(HXRT_UNSUPPORTED_SHAPE, b.op + ": bad output shape");
  int meta = b.aux(to_i32({x[0], x[1], H, W, OH, OW, win.kh, win.kw, win.sh, win.sw, win.pt, win.pl, win.dh, win.dw,
                           win.pb, win.pr}));
  int64_t total = numel(y);
  b.launch1d("pool", "pool2d_f32", total,
             {ArgRef::input(0), ArgRef::output(0), ArgRef::aux(meta), ArgRef::integer(mode), ArgRef::integer(total)});
  b.traffic(static_cast<double>(win.kh * win.kw));
}

void plan_global_pool(Builder& b, bool max) {
  b.require_inputs(1, 1);
  b.require_f32({0});
  Shape x = b.in_shape(0);
  if (x.size() < 3) unsupported(HXRT_UNSUPPORTED_SHAPE, b.op + ": the input needs rank >= 3");
  int64_t rows = x[0] * x[1], inner = product(x, 2, x.size());
  if (inner == 0) unsupported(HXRT_UNSUPPORTED_SHAPE, b.op + ": empty spatial dimensions");
  b.launch1d("pool", "global_pool_f32", rows,
             {ArgRef::input(0), ArgRef::output(0), ArgRef::integer(rows), ArgRef::integer(inner),
              ArgRef::integer(max ? 0 : 1)});
  b.traffic(static_cast<double>(inner));
}

// ---------------------------------------------------------------------------
// Softmax, reductions, LayerNormalization.
// ---------------------------------------------------------------------------

void plan_softmax(Builder& b, bool log_mode) {
  b.require_inputs(1, 1);
  b.require_f32({0});
  Shape x = b.in_shape(0);
  size_t rank = std::max<size_t>(x.size(), 1);
  if (x.empty()) x = {1};
  bool legacy = b.node.opset() < 13;  // coerce to 2-D at axis
  int64_t axis = normalize_axis(b.node.get_int("axis", legacy ? 1 : -1), rank, b.op);
  int64_t outer = product(x, 0, static_cast<size_t>(axis));
  int64_t len = legacy ? product(x, static_cast<size_t>(axis), rank) : x[static_cast<size_t>(axis)];
  int64_t inner = legacy ? 1 : product(x, static_cast<size_t>(axis) + 1, rank);
  if (len == 0) return;
  b.launch1d("reduce", "softmax_f32", outer * inner,
             {ArgRef::input(0), ArgRef::output(0), ArgRef::integer(outer), ArgRef::integer(len), ArgRef::integer(inner),
              ArgRef::integer(log_mode)});
  b.traffic(6);
}

enum ReduceOp { kRSum = 0, kRMean, kRMax, kRMin, kRProd, kRSumSquare, kRL1, kRL2, kRLogSumExp };

void plan_reduce(Builder& b, ReduceOp code) {
  b.require_inputs(1, 2);
  b.require_f32({0});
  Shape x = b.in_shape(0);
  // Axes moved from an attribute to an input: ReduceSum at 13, the rest at 18.
  bool axes_input = b.op == "ReduceSum" ? b.node.opset() >= 13 : b.node.opset() >= 18;
  std::vector<int64_t> axes;
  bool noop_empty = false;
  if (axes_input) {
    if (auto a = b.const_ints_input(1)) axes = *a;
    noop_empty = b.node.get_int("noop_with_empty_axes", 0) != 0;
  } else {
    if (b.node.num_inputs() > 1) unsupported(HXRT_UNSUPPORTED_OTHER, b.op + ": unexpected second input");
    axes = b.node.get_ints("axes");
  }
  size_t rank = x.size();
  std::vector<bool> reduce(rank, axes.empty() && !noop_empty);
  for (int64_t a : axes) reduce[static_cast<size_t>(normalize_axis(a, rank, b.op))] = true;
  Shape out = b.out_shape(0);
  if (axes.empty() && noop_empty) {
    b.copy(ArgRef::input(0), ArgRef::output(0), static_cast<size_t>(numel(x)) * 4);
    b.traffic(0);
    return;
  }
  std::vector<int64_t> st = strides_of(x);
  size_t r = std::max<size_t>(rank, 1);
  std::vector<int32_t> meta(4 * r, 0);
  int64_t reduced = 1;
  for (size_t d = 0; d < r; ++d) {
    bool red = d < rank && reduce[d];
    int64_t dim = d < rank ? x[d] : 1;
    meta[d] = static_cast<int32_t>(red ? 1 : dim);
    meta[r + d] = static_cast<int32_t>(red || d >= rank ? 0 : st[d]);
    meta[2 * r + d] = static_cast<int32_t>(red ? dim : 1);
    meta[3 * r + d] = static_cast<int32_t>(red ? st[d] : 0);
    if (red) reduced *= dim;
  }
  int64_t total = numel(out);
  int table = b.aux(std::move(meta));
  b.launch1d("reduce", "reduce_f32", total,
             {ArgRef::input(0), ArgRef::output(0), ArgRef::aux(table), ArgRef::integer(static_cast<int64_t>(r)),
              ArgRef::integer(total), ArgRef::integer(reduced), ArgRef::integer(code)});
  b.traffic(0);
  b.plan.flops = static_cast<double>(numel(x));
}

void plan_layernorm(Builder& b) {
  b.require_inputs(2, 3);
  b.require_f32({0, 1, 2});
  if (b.node.get_int("stash_type", 1) != 1) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "LayerNormalization: stash_type must be 1");
  Shape x = b.in_shape(0);
  if (x.empty()) unsupported(HXRT_UNSUPPORTED_SHAPE, "LayerNormalization: scalar input");
  int64_t axis = normalize_axis(b.node.get_int("axis", -1), x.size(), b.op);
  int64_t rows = product(x, 0, static_cast<size_t>(axis)), cols = product(x, static_cast<size_t>(axis), x.size());
  if (numel(b.in_shape(1)) != cols || (b.node.has_input(2) && numel(b.in_shape(2)) != cols))
    unsupported(HXRT_UNSUPPORTED_SHAPE, "LayerNormalization: Scale and B must hold exactly the normalised elements");
  bool stats = b.node.has_output(1) || b.node.has_output(2);
  if (stats && !(b.node.has_output(1) && b.node.has_output(2)))
    unsupported(HXRT_UNSUPPORTED_OTHER, "LayerNormalization: Mean and InvStdDev must be requested together");
  if (cols == 0) unsupported(HXRT_UNSUPPORTED_SHAPE, "LayerNormalization: nothing to normalise");
  b.launch1d("reduce", "layernorm_f32", rows,
             {ArgRef::input(0), ArgRef::input(1), b.node.has_input(2) ? ArgRef::input(2) : ArgRef::dummy(),
              ArgRef::output(0), stats ? ArgRef::output(1) : ArgRef::dummy(), stats ? ArgRef::output(2) : ArgRef::dummy(),
              ArgRef::integer(rows), ArgRef::integer(cols), ArgRef::real(b.node.get_float("epsilon", 1e-5f)),
              ArgRef::integer(b.node.has_input(2)), ArgRef::integer(stats)});
  b.traffic(8);
}

// ---------------------------------------------------------------------------
// Data movement.
// ---------------------------------------------------------------------------

void plan_transpose(Builder& b) {
  b.require_inputs(1, 1);
  b.require_f32({0});
  Shape x = b.in_shape(0);
  size_t rank = x.size();
  std::vector<int64_t> perm = b.node.get_ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  if (perm.size() != rank) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Transpose: perm does not match the rank");
  std::vector<int64_t> st = strides_of(x);
  size_t r = std::max<size_t>(rank, 1);
  std::vector<int32_t> meta(2 * r, 0);
  if (rank == 0) meta = {1, 0};
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < rank; ++i) {
    int64_t p = perm[i];
    if (p < 0 || static_cast<size_t>(p) >= rank || seen[static_cast<size_t>(p)])
      unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Transpose: perm is not a permutation");
    seen[static_cast<size_t>(p)] = true;
    meta[i] = static_cast<int32_t>(x[static_cast<size_t>(p)]);
    meta[r + i] = static_cast<int32_t>(st[static_cast<size_t>(p)]);
  }
  int64_t n = numel(x);
  int table = b.aux(std::move(meta));
  b.launch1d("data", "transpose_f32", n,
             {ArgRef::input(0), ArgRef::output(0), ArgRef::aux(table), ArgRef::integer(static_cast<int64_t>(r)),
              ArgRef::integer(n)});
  b.traffic(0);
}

void plan_concat(Builder& b) {
  b.require_inputs(1, 1024);
  size_t n_in = b.node.num_inputs();
  for (size_t i = 0; i < n_in; ++i) {
    if (!b.node.has_input(i)) unsupported(HXRT_UNSUPPORTED_OTHER, "Concat: omitted inputs");
    b.require_f32({i});
  }
  Shape out = b.out_shape(0);
  if (out.empty()) unsupported(HXRT_UNSUPPORTED_SHAPE, "Concat: scalar output");
  if (!b.node.has("axis")) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Concat: axis is required");
  size_t axis = static_cast<size_t>(normalize_axis(b.node.get_int("axis", 0), out.size(), b.op));
  int64_t outer = product(out, 0, axis), inner = product(out, axis + 1, out.size());
  int64_t offset = 0;
  for (size_t i = 0; i < n_in; ++i) {
    Shape s = b.in_shape(i);
    if (s.size() != out.size()) unsupported(HXRT_UNSUPPORTED_SHAPE, "Concat: inputs differ in rank");
    int64_t block = s[axis] * inner;
    b.launch1d("data", "concat_f32", outer * block,
               {ArgRef::input(static_cast<int>(i)), ArgRef::output(0), ArgRef::integer(outer), ArgRef::integer(block),
                ArgRef::integer(out[axis] * inner), ArgRef::integer(offset)});
    offset += block;
  }
  if (offset != out[axis] * inner) unsupported(HXRT_UNSUPPORTED_SHAPE, "Concat: input sizes do not add up to the output");
  b.traffic(0);
}

// Reshape, Flatten, Squeeze, Unsqueeze, Identity: the bytes do not change.
void plan_reshape_like(Builder& b) {
  b.require_inputs(1, 2);
  b.only_output0();
  const hxrt_tensor_desc& in = b.node.input(0);
  const hxrt_tensor_desc& out = b.node.output(0);
  size_t elem = plugin::dtype_size(in.dtype);
  if (elem == 0 || in.dtype != out.dtype)
    unsupported(HXRT_UNSUPPORTED_DTYPE, b.op + ": " + plugin::dtype_name(in.dtype) + " is not supported");
  int64_t n = numel(plugin::shape_of(in));
  if (n != numel(plugin::shape_of(out))) unsupported(HXRT_UNSUPPORTED_SHAPE, b.op + ": input and output sizes differ");
  b.copy(ArgRef::input(0), ArgRef::output(0), static_cast<size_t>(n) * elem);
  b.traffic(0);
}

using Planner = std::function<void(Builder&, const DeviceLimits&)>;

struct OpInfo {
  std::string program;
  Planner plan;
  std::vector<std::string> entry_points;
};

const std::map<std::string, OpInfo>& op_table() {
  static const std::map<std::string, OpInfo> table = [] {
    std::map<std::string, OpInfo> t;
    for (const auto& [name, code] : unary_ops()) {
      UnaryOp c = code;
      t[name] = {"elementwise", [c](Builder& b, const DeviceLimits&) { plan_unary(b, c); }, {"unary_f32"}};
    }
    auto binary = [&](const char* name, BinaryOp code, bool variadic = false, bool mean = false) {
      std::vector<std::string> entry = {"binary_f32"};
      if (mean) entry.push_back("scale_f32");
      t[name] = {"elementwise", [=](Builder& b, const DeviceLimits&) { plan_binary(b, code, variadic, mean); }, entry};
    };
    binary("Add", kAdd);
    binary("Sub", kSub);
    binary("Mul", kMul);
    binary("Div", kDiv);
    binary("Pow", kPow);
    binary("PRelu", kPRelu);
    binary("Max", kMax, true);
    binary("Min", kMin, true);
    binary("Sum", kAdd, true);
    binary("Mean", kAdd, true, true);
    t["MatMul"] = {"matmul", plan_matmul, {"gemm_tiled"}};
    t["Gemm"] = {"matmul", plan_gemm, {"gemm_tiled"}};
    t["Conv"] = {"conv", [](Builder& b, const DeviceLimits&) { plan_conv(b); }, {"conv2d_f32"}};
    t["MaxPool"] = {"pool", [](Builder& b, const DeviceLimits&) { plan_pool(b, true); }, {"pool2d_f32"}};
    t["AveragePool"] = {"pool", [](Builder& b, const DeviceLimits&) { plan_pool(b, false); }, {"pool2d_f32"}};
    t["GlobalMaxPool"] = {"pool", [](Builder& b, const DeviceLimits&) { plan_global_pool(b, true); }, {"global_pool_f32"}};
    t["GlobalAveragePool"] = {"pool", [](Builder& b, const DeviceLimits&) { plan_global_pool(b, false); },
                              {"global_pool_f32"}};
    t["Softmax"] = {"reduce", [](Builder& b, const DeviceLimits&) { plan_softmax(b, false); }, {"softmax_f32"}};
    t["LogSoftmax"] = {"reduce", [](Builder& b, const DeviceLimits&) { plan_softmax(b, true); }, {"softmax_f32"}};
    auto reduce = [&](const char* name, ReduceOp code) {
      t[name] = {"reduce", [=](Builder& b, const DeviceLimits&) { plan_reduce(b, code); }, {"reduce_f32"}};
    };
    reduce("ReduceSum", kRSum);
    reduce("ReduceMean", kRMean);
    reduce("ReduceMax", kRMax);
    reduce("ReduceMin", kRMin);
    reduce("ReduceProd", kRProd);
    reduce("ReduceSumSquare", kRSumSquare);
    reduce("ReduceL1", kRL1);
    reduce("ReduceL2", kRL2);
    reduce("ReduceLogSumExp", kRLogSumExp);
    t["LayerNormalization"] = {"reduce", [](Builder& b, const DeviceLimits&) { plan_layernorm(b); }, {"layernorm_f32"}};
    t["Transpose"] = {"data", [](Builder& b, const DeviceLimits&) { plan_transpose(b); }, {"transpose_f32"}};
    t["Concat"] = {"data", [](Builder& b, const DeviceLimits&) { plan_concat(b); }, {"concat_f32"}};
    for (const char* name : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"})
      t[name] = {"", [](Builder& b, const DeviceLimits&) { plan_reshape_like(b); }, {}};
    return t;
  }();
  return table;
}

}  // namespace

std::string program_for_op(const std::string& op) {
  auto it = op_table().find(op);
  return it == op_table().end() ? "" : it->second.program;
}

std::vector<std::string> entry_points_for_op(const std::string& op) {
  auto it = op_table().find(op);
  return it == op_table().end() ? std::vector<std::string>{} : it->second.entry_points;
}

bool is_known_op(const std::string& op) { return op_table().count(op) > 0; }

NodePlan plan_node(const NodeReader& node, const DeviceLimits& limits) {
  if (node.domain() != "" && node.domain() != "ai.onnx")
    unsupported(HXRT_UNSUPPORTED_OP, "domain '" + std::string(node.domain()) + "' is not supported");
  auto it = op_table().find(std::string(node.op_type()));
  if (it == op_table().end())
    unsupported(HXRT_UNSUPPORTED_OP, "op " + std::string(node.op_type()) + " is not implemented by the OpenCL plugin");
  if (node.opset() < 1 || node.opset() > kMaxOpset)
    unsupported(HXRT_UNSUPPORTED_OPSET, std::string(node.op_type()) + ": opset " + std::to_string(node.opset()) +
                                            " is outside 1.." + std::to_string(kMaxOpset));
  Builder b(node);
  it->second.plan(b, limits);
  return std::move(b.plan);
}

}  // namespace hxrt::ocl
