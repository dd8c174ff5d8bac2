#include "op_cases.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <stdexcept>

#include "reference/reference.hpp"

namespace hxrt::conformance {

// ---------------------------------------------------------------------------
// Tolerances: the one table.
// ---------------------------------------------------------------------------

const std::vector<ToleranceRow>& tolerance_table() {
  static const std::vector<ToleranceRow> table = {
      {"Relu Neg Abs Floor Ceil Sign Max Min Clip Where, comparisons, pools (max), data movement", {0, 0},
       "no rounding: the result is one of the inputs"},
      {"Add Sub Mul Div Sum Mean LeakyRelu PRelu ThresholdedRelu HardSigmoid HardSwish Reciprocal Softsign "
       "AveragePool GlobalAveragePool",
       {1e-6, 1e-7},
       "one or a few float32 roundings"},
      {"Exp Log Sqrt Sigmoid Tanh Sin Cos Atan Asin Acos Sinh Cosh Erf Softplus Elu Selu Gelu Pow", {1e-5, 1e-5},
       "float32 transcendental functions: a few ulp, or vectorised approximations with absolute error below "
       "1e-5 (the float32 default of torch.testing)"},
      {"Softmax LogSoftmax ReduceSum ReduceMean ReduceProd ReduceL1 ReduceL2 ReduceSumSquare ReduceLogSum "
       "ReduceLogSumExp",
       {1e-5, 1e-5},
       "float32 accumulation over at most a few hundred elements, plus exp/log as above"},
      {"MatMul Gemm Conv", {1e-4, 1e-5}, "float32 dot products of up to ~600 terms, any summation order"},
      {"BatchNormalization LayerNormalization InstanceNormalization", {1e-4, 1e-5},
       "float32 mean/variance and rsqrt"},
  };
  return table;
}

Tolerance tolerance_for(const std::string& op) {
  for (const auto& row : tolerance_table()) {
    // Match whole words of the row's op list.
    size_t pos = 0;
    while ((pos = row.ops.find(op, pos)) != std::string::npos) {
      bool start = pos == 0 || row.ops[pos - 1] == ' ';
      size_t end = pos + op.size();
      bool stop = end == row.ops.size() || row.ops[end] == ' ' || row.ops[end] == ',';
      if (start && stop) return row.tolerance;
      pos = end;
    }
  }
  return {0, 0};  // exact unless listed
}

// ---------------------------------------------------------------------------
// Attributes and graphs.
// ---------------------------------------------------------------------------

host::Attribute attr_int(const std::string& name, int64_t v) {
  host::Attribute a;
  a.name = name;
  a.type = HXRT_ATTRIBUTE_INT;
  a.i = v;
  return a;
}

host::Attribute attr_float(const std::string& name, float v) {
  host::Attribute a;
  a.name = name;
  a.type = HXRT_ATTRIBUTE_FLOAT;
  a.f = v;
  return a;
}

host::Attribute attr_ints(const std::string& name, std::vector<int64_t> v) {
  host::Attribute a;
  a.name = name;
  a.type = HXRT_ATTRIBUTE_INTS;
  a.ints = std::move(v);
  return a;
}

host::Attribute attr_string(const std::string& name, const std::string& v) {
  host::Attribute a;
  a.name = name;
  a.type = HXRT_ATTRIBUTE_STRING;
  a.s = v;
  return a;
}

std::string OpCase::label() const {
  std::string s = op + " ";
  bool first = true;
  for (const auto& in : inputs) {
    s += first ? "" : "x";
    first = false;
    if (in.omitted) {
      s += "_";
      continue;
    }
    s += dtype_label(in.t.dtype) + dims_label(in.t.shape) + (in.constant ? "c" : "");
  }
  s += " ->";
  for (const auto& out : expected) s += " " + dtype_label(out.dtype) + dims_label(out.shape);
  if (!attributes.empty()) {
    s += " {";
    for (size_t i = 0; i < attributes.size(); ++i) {
      const auto& a = attributes[i];
      s += (i ? ", " : "") + a.name + "=";
      switch (a.type) {
        case HXRT_ATTRIBUTE_INT: s += std::to_string(a.i); break;
        case HXRT_ATTRIBUTE_FLOAT: s += std::to_string(a.f); break;
        case HXRT_ATTRIBUTE_INTS: s += dims_label(a.ints); break;
        case HXRT_ATTRIBUTE_STRING: s += a.s; break;
        default: s += "?"; break;
      }
    }
    s += "}";
  }
  s += " opset " + std::to_string(opset);
  return s;
}

host::Graph build_graph(const OpCase& c) {
  host::Graph g;
  g.name = c.op;
  g.opset_imports[""] = c.opset;
  host::Node node;
  node.name = c.op + "_" + std::to_string(c.index);
  node.op_type = c.op;
  node.opset = c.opset;
  node.attributes = c.attributes;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const CaseInput& in = c.inputs[i];
    if (in.omitted) {
      node.inputs.push_back(-1);
      continue;
    }
    host::Value v;
    v.name = "x" + std::to_string(i);
    v.dtype = in.t.dtype;
    v.shape = in.t.shape;
    if (in.constant) {
      auto t = std::make_shared<host::HostTensor>();
      t->dtype = in.t.dtype;
      t->shape = in.t.shape;
      t->bytes = encode(in.t);
      v.constant = t;
    }
    int id = g.add_value(v);
    if (!in.constant) g.inputs.push_back(id);
    node.inputs.push_back(id);
  }
  for (size_t i = 0; i < c.expected.size(); ++i) {
    host::Value v;
    v.name = "y" + std::to_string(i);
    v.dtype = c.expected[i].dtype;
    v.shape = c.expected[i].shape;
    v.producer = 0;
    int id = g.add_value(v);
    node.outputs.push_back(id);
    g.outputs.push_back(id);
  }
  g.nodes.push_back(node);
  return g;
}

// ---------------------------------------------------------------------------
// Generators.
// ---------------------------------------------------------------------------

namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  int64_t integer(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen_); }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(gen_); }
  bool chance(double p) { return real(0, 1) < p; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[static_cast<size_t>(integer(0, static_cast<int64_t>(v.size()) - 1))]; }

 private:
  std::mt19937_64 gen_;
};

struct Gen {
  Rng& rng;
  bool wide;

  Dims shape(int64_t min_rank, int64_t max_rank, int64_t max_dim) {
    int64_t rank = rng.integer(min_rank, max_rank);
    Dims d;
    for (int64_t i = 0; i < rank; ++i) d.push_back(rng.integer(1, max_dim));
    // The wide sweep includes empty tensors now and then.
    if (wide && rank > 0 && rng.chance(0.08)) d[static_cast<size_t>(rng.integer(0, rank - 1))] = 0;
    return d;
  }
  Tensor values(hxrt_dtype dtype, const Dims& d, double lo, double hi) {
    Tensor t(dtype, d);
    for (double& v : t.v) v = is_float(dtype) ? rng.real(lo, hi) : static_cast<double>(rng.integer(
                                                                        static_cast<int64_t>(lo), static_cast<int64_t>(hi)));
    round_to_dtype(t);
    return t;
  }
  // A shape that broadcasts to `out`: leading dims dropped, some set to 1.
  Dims broadcastable(const Dims& out) {
    size_t drop = static_cast<size_t>(rng.integer(0, static_cast<int64_t>(out.size())));
    Dims d(out.begin() + static_cast<int64_t>(drop), out.end());
    for (auto& x : d)
      if (rng.chance(0.35)) x = 1;
    return d;
  }
};

using Builder = std::function<OpCase(Gen&)>;

struct Entry {
  std::string op;
  Builder build;
};

OpCase make(const std::string& op, int64_t opset) {
  OpCase c;
  c.op = op;
  c.opset = opset;
  c.tolerance = tolerance_for(op);
  return c;
}

CaseInput runtime(Tensor t) { return {std::move(t), false, false}; }
CaseInput constant(Tensor t) { return {std::move(t), true, false}; }
CaseInput omitted() { return {Tensor(), false, true}; }

Tensor ints_tensor(const std::vector<int64_t>& v) {
  Tensor t(HXRT_DTYPE_INT64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.v[i] = static_cast<double>(v[i]);
  return t;
}

// Unary ops: value range (inputs) and attributes (alpha, beta) with defaults.
struct UnarySpec {
  std::string op;
  double lo, hi;
  int64_t opset;
  const char* alpha_name;  // nullptr: no attribute
  double alpha_default;
  const char* beta_name;
  double beta_default;
};

const std::vector<UnarySpec>& unary_specs() {
  static const std::vector<UnarySpec> specs = {
      {"Relu", -3, 3, 14, nullptr, 0, nullptr, 0},
      {"Neg", -3, 3, 13, nullptr, 0, nullptr, 0},
      {"Abs", -3, 3, 13, nullptr, 0, nullptr, 0},
      {"Sigmoid", -6, 6, 13, nullptr, 0, nullptr, 0},
      {"Tanh", -4, 4, 13, nullptr, 0, nullptr, 0},
      {"Exp", -5, 5, 13, nullptr, 0, nullptr, 0},
      {"Log", 0.05, 8, 13, nullptr, 0, nullptr, 0},
      {"Sqrt", 0, 9, 13, nullptr, 0, nullptr, 0},
      {"Reciprocal", 0.25, 4, 13, nullptr, 0, nullptr, 0},
      {"Floor", -4, 4, 13, nullptr, 0, nullptr, 0},
      {"Ceil", -4, 4, 13, nullptr, 0, nullptr, 0},
      {"Sin", -4, 4, 7, nullptr, 0, nullptr, 0},
      {"Cos", -4, 4, 7, nullptr, 0, nullptr, 0},
      {"Atan", -4, 4, 7, nullptr, 0, nullptr, 0},
      {"Asin", -0.95, 0.95, 7, nullptr, 0, nullptr, 0},
      {"Acos", -0.95, 0.95, 7, nullptr, 0, nullptr, 0},
      {"Sinh", -3, 3, 9, nullptr, 0, nullptr, 0},
      {"Cosh", -3, 3, 9, nullptr, 0, nullptr, 0},
      {"Erf", -3, 3, 13, nullptr, 0, nullptr, 0},
      {"Softsign", -4, 4, 1, nullptr, 0, nullptr, 0},
      {"Softplus", -4, 4, 1, nullptr, 0, nullptr, 0},
      {"Sign", -3, 3, 13, nullptr, 0, nullptr, 0},
      {"LeakyRelu", -3, 3, 16, "alpha", 0.01, nullptr, 0},
      {"Elu", -3, 3, 6, "alpha", 1.0, nullptr, 0},
      {"Selu", -3, 3, 6, "alpha", 1.67326319217681884765625, "gamma", 1.05070102214813232421875},
      {"HardSigmoid", -5, 5, 6, "alpha", 0.2, "beta", 0.5},
      {"HardSwish", -5, 5, 14, nullptr, 0, nullptr, 0},
      {"ThresholdedRelu", -3, 3, 10, "alpha", 1.0, nullptr, 0},
      {"Gelu", -4, 4, 20, nullptr, 0, nullptr, 0},
  };
  return specs;
}

OpCase unary_case(Gen& g, const UnarySpec& s) {
  OpCase c = make(s.op, s.opset);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(0, g.wide ? 5 : 4, g.wide ? 7 : 5), s.lo, s.hi);
  // Attributes are float32 in the model; half the cases leave them out so the
  // plugin must apply the ONNX default (R5.1).
  double alpha = s.alpha_default, beta = s.beta_default;
  if (s.alpha_name != nullptr && g.rng.chance(0.5)) {
    alpha = static_cast<float>(g.rng.real(0.05, 1.5));
    c.attributes.push_back(attr_float(s.alpha_name, static_cast<float>(alpha)));
  }
  if (s.beta_name != nullptr && g.rng.chance(0.5)) {
    beta = static_cast<float>(g.rng.real(0.1, 1.2));
    c.attributes.push_back(attr_float(s.beta_name, static_cast<float>(beta)));
  }
  alpha = static_cast<float>(alpha);
  beta = static_cast<float>(beta);
  Tensor y = x;
  for (double& v : y.v) v = *ref::unary(s.op, v, alpha, beta);
  c.inputs = {runtime(x)};
  c.expected = {y};
  return c;
}

// Binary ops with broadcasting (the first case of each op uses equal shapes).
OpCase binary_case(Gen& g, const std::string& op, hxrt_dtype dtype, double lo, double hi, int64_t opset) {
  OpCase c = make(op, opset);
  Dims out = g.shape(0, 4, 5);
  Dims sa = out, sb = out;
  // Equal shapes, a scalar operand, or general numpy broadcasting; the
  // reference derives the output shape.
  double r = g.rng.real(0, 1);
  if (r < 0.3) {
  } else if (r < 0.5) {
    (g.rng.chance(0.5) ? sa : sb) = Dims{};
  } else {
    sa = g.broadcastable(out);
    sb = g.broadcastable(out);
  }
  Tensor a = g.values(dtype, sa, lo, hi), b = g.values(dtype, sb, lo, hi);
  if (op == "Div")
    for (double& v : b.v) v = v >= 0 ? v + 0.5 : v - 0.5;  // away from zero
  if (op == "Pow") {
    for (double& v : a.v) v = std::fabs(v) + 0.5;
    for (double& v : b.v) v = std::round(v * 4) / 4;  // exponents on a grid: x^0.25 etc.
  }
  round_to_dtype(a);
  round_to_dtype(b);
  if (op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual") {
    // Draw from few values so equal pairs occur.
    for (double& v : a.v) v = std::round(v);
    for (double& v : b.v) v = std::round(v);
  }
  c.inputs = {runtime(a), runtime(b)};
  c.expected = {ref::binary(op, a, b)};
  return c;
}

OpCase variadic_case(Gen& g, const std::string& op) {
  OpCase c = make(op, 13);
  Dims out = g.shape(0, 4, 5);
  int64_t n = g.rng.integer(1, 3);
  std::vector<Tensor> ins;
  for (int64_t i = 0; i < n; ++i) ins.push_back(g.values(HXRT_DTYPE_FLOAT32, i == 0 ? out : g.broadcastable(out), -3, 3));
  for (auto& t : ins) c.inputs.push_back(runtime(t));
  c.expected = {ref::variadic(op, ins)};
  return c;
}

OpCase clip_case(Gen& g) {
  OpCase c = make("Clip", 13);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(0, 4, 5), -4, 4);
  double lo = static_cast<float>(g.rng.real(-2, 0)), hi = static_cast<float>(g.rng.real(0, 2));
  bool has_lo = g.rng.chance(0.7), has_hi = g.rng.chance(0.7);
  c.inputs = {runtime(x), has_lo ? constant(Tensor(HXRT_DTYPE_FLOAT32, {}, {lo})) : omitted()};
  if (has_hi) c.inputs.push_back(constant(Tensor(HXRT_DTYPE_FLOAT32, {}, {hi})));
  c.expected = {ref::clip(x, has_lo ? lo : -INFINITY, has_hi ? hi : INFINITY)};
  return c;
}

OpCase where_case(Gen& g) {
  OpCase c = make("Where", 16);
  Dims out = g.shape(1, 4, 5);
  Tensor cond = g.values(HXRT_DTYPE_BOOL, g.broadcastable(out), 0, 1);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, out, -3, 3), y = g.values(HXRT_DTYPE_FLOAT32, g.broadcastable(out), -3, 3);
  c.inputs = {runtime(cond), runtime(x), runtime(y)};
  c.expected = {ref::where(cond, x, y)};
  return c;
}

OpCase matmul_case(Gen& g) {
  OpCase c = make("MatMul", 13);
  int64_t m = g.rng.integer(1, 8), k = g.rng.integer(1, g.wide ? 48 : 24), n = g.rng.integer(1, 8);
  Dims sa = {m, k}, sb = {k, n};
  double r = g.rng.real(0, 1);
  if (r < 0.25) {
    int64_t b = g.rng.integer(1, 3);
    sa.insert(sa.begin(), b);
    sb.insert(sb.begin(), b);
  } else if (r < 0.45) {
    sa.insert(sa.begin(), g.rng.integer(2, 3));  // batch broadcast against 2-D weights
  } else if (g.wide && r < 0.55) {
    sa = {k};  // vector x matrix
  }
  Tensor a = g.values(HXRT_DTYPE_FLOAT32, sa, -1, 1), b = g.values(HXRT_DTYPE_FLOAT32, sb, -1, 1);
  c.inputs = {runtime(a), g.rng.chance(0.5) ? constant(b) : runtime(b)};
  c.expected = {ref::matmul(a, b)};
  return c;
}

OpCase gemm_case(Gen& g) {
  OpCase c = make("Gemm", 13);
  int64_t m = g.rng.integer(1, 8), k = g.rng.integer(1, 24), n = g.rng.integer(1, 8);
  bool ta = g.rng.chance(0.3), tb = g.rng.chance(0.5);
  double alpha = 1, beta = 1;
  if (g.rng.chance(0.4)) {
    alpha = static_cast<float>(g.rng.real(0.25, 2));
    c.attributes.push_back(attr_float("alpha", static_cast<float>(alpha)));
  }
  if (g.rng.chance(0.4)) {
    beta = static_cast<float>(g.rng.real(0.25, 2));
    c.attributes.push_back(attr_float("beta", static_cast<float>(beta)));
  }
  if (ta) c.attributes.push_back(attr_int("transA", 1));
  if (tb) c.attributes.push_back(attr_int("transB", 1));
  Tensor a = g.values(HXRT_DTYPE_FLOAT32, ta ? Dims{k, m} : Dims{m, k}, -1, 1);
  Tensor b = g.values(HXRT_DTYPE_FLOAT32, tb ? Dims{n, k} : Dims{k, n}, -1, 1);
  double r = g.rng.real(0, 1);
  c.inputs = {runtime(a), constant(b)};
  if (r < 0.2) {
    c.expected = {ref::gemm(a, b, nullptr, alpha, beta, ta, tb)};
  } else {
    Tensor bias = g.values(HXRT_DTYPE_FLOAT32, r < 0.6 ? Dims{n} : Dims{m, n}, -1, 1);
    c.inputs.push_back(constant(bias));
    c.expected = {ref::gemm(a, b, &bias, alpha, beta, ta, tb)};
  }
  return c;
}

OpCase conv_case(Gen& g) {
  OpCase c = make("Conv", 11);
  int64_t n = g.rng.integer(1, 2), ch = g.rng.integer(1, 4), h = g.rng.integer(3, 8), w = g.rng.integer(3, 8);
  bool depthwise = g.wide && g.rng.chance(0.3);
  int64_t group = depthwise ? ch : 1;
  int64_t m = depthwise ? ch : g.rng.integer(1, 4);
  int64_t kh = g.rng.integer(1, 3), kw = g.rng.integer(1, 3);
  ref::ConvParams p;
  p.strides = {g.rng.integer(1, 2), g.rng.integer(1, 2)};
  p.dilations = {g.wide ? g.rng.integer(1, 2) : 1, 1};
  int64_t pmax = kh > 1 ? 1 : 0;
  p.pads = {g.rng.integer(0, pmax), g.rng.integer(0, kw > 1 ? 1 : 0), g.rng.integer(0, pmax), g.rng.integer(0, kw > 1 ? 1 : 0)};
  if ((kh - 1) * p.dilations[0] + 1 > h + p.pads[0] + p.pads[2]) p.dilations[0] = 1;
  p.group = group;
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, {n, ch, h, w}, -1, 1);
  Tensor wt = g.values(HXRT_DTYPE_FLOAT32, {m, ch / group, kh, kw}, -1, 1);
  c.attributes = {attr_ints("kernel_shape", {kh, kw}), attr_ints("pads", p.pads), attr_ints("strides", p.strides)};
  if (p.dilations[0] != 1) c.attributes.push_back(attr_ints("dilations", p.dilations));
  if (group != 1) c.attributes.push_back(attr_int("group", group));
  c.inputs = {runtime(x), g.wide && g.rng.chance(0.3) ? runtime(wt) : constant(wt)};
  if (g.rng.chance(0.6)) {
    Tensor bias = g.values(HXRT_DTYPE_FLOAT32, {m}, -1, 1);
    c.inputs.push_back(constant(bias));
    c.expected = {ref::conv(x, wt, &bias, p)};
  } else {
    c.expected = {ref::conv(x, wt, nullptr, p)};
  }
  return c;
}

OpCase pool_case(Gen& g, const std::string& op) {
  OpCase c = make(op, op == "MaxPool" ? 12 : 11);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, {g.rng.integer(1, 2), g.rng.integer(1, 3), g.rng.integer(3, 8), g.rng.integer(3, 8)}, -3, 3);
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
    c.opset = 1;
    c.inputs = {runtime(x)};
    c.expected = {ref::global_pool(x, op == "GlobalMaxPool")};
    return c;
  }
  ref::PoolParams p;
  p.kernel = {g.rng.integer(1, 3), g.rng.integer(1, 3)};
  p.strides = {g.rng.integer(1, 2), g.rng.integer(1, 2)};
  p.pads = {g.rng.integer(0, p.kernel[0] - 1), g.rng.integer(0, p.kernel[1] - 1), g.rng.integer(0, p.kernel[0] - 1),
            g.rng.integer(0, p.kernel[1] - 1)};
  c.attributes = {attr_ints("kernel_shape", p.kernel), attr_ints("strides", p.strides), attr_ints("pads", p.pads)};
  if (op == "AveragePool" && g.rng.chance(0.3)) {
    p.count_include_pad = true;
    c.attributes.push_back(attr_int("count_include_pad", 1));
  }
  c.inputs = {runtime(x)};
  c.expected = {op == "MaxPool" ? ref::max_pool(x, p) : ref::average_pool(x, p)};
  return c;
}

OpCase reduce_case(Gen& g, const std::string& op) {
  // ReduceSum takes axes as an input from opset 13, the others from 18; opset 17 keeps both forms.
  OpCase c = make(op, 17);
  double lo = -3, hi = 3;
  if (op == "ReduceProd") lo = 0.5, hi = 1.5;
  if (op == "ReduceLogSum") lo = 0.1, hi = 3;
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(1, 4, 5), lo, hi);
  // Reducing nothing is -inf/log(0) for some of these: keep inputs non-empty.
  if (x.numel() == 0) x = g.values(HXRT_DTYPE_FLOAT32, {2, 3}, lo, hi);
  int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < rank; ++a)
    if (g.rng.chance(0.5)) axes.push_back(g.rng.chance(0.3) ? a - rank : a);
  bool keepdims = g.rng.chance(0.5);
  if (!keepdims) c.attributes.push_back(attr_int("keepdims", 0));
  c.inputs = {runtime(x)};
  if (!axes.empty()) {
    if (op == "ReduceSum") c.inputs.push_back(constant(ints_tensor(axes)));
    else c.attributes.push_back(attr_ints("axes", axes));
  }
  c.expected = {ref::reduce(op, x, axes, keepdims)};
  return c;
}

OpCase arg_case(Gen& g, const std::string& op) {
  OpCase c = make(op, 13);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(1, 4, 5), -3, 3);
  for (double& v : x.v) v = std::round(v * 2) / 2;  // ties happen: first index wins by default
  int64_t rank = static_cast<int64_t>(x.shape.size());
  if (x.numel() == 0) x = g.values(HXRT_DTYPE_FLOAT32, Dims(static_cast<size_t>(rank), 2), -3, 3);
  int64_t axis = g.rng.integer(-rank, rank - 1);
  bool keepdims = g.rng.chance(0.5);
  c.attributes = {attr_int("axis", axis)};
  if (!keepdims) c.attributes.push_back(attr_int("keepdims", 0));
  c.inputs = {runtime(x)};
  c.expected = {ref::arg_reduce(x, axis, keepdims, op == "ArgMax", false)};
  return c;
}

OpCase softmax_case(Gen& g, const std::string& op) {
  OpCase c = make(op, 13);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(1, 4, 6), -4, 4);
  int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = -1;
  if (g.rng.chance(0.5)) {
    axis = g.rng.integer(-rank, rank - 1);
    c.attributes.push_back(attr_int("axis", axis));
  }
  c.inputs = {runtime(x)};
  c.expected = {ref::softmax(x, axis, op == "LogSoftmax")};
  return c;
}

OpCase norm_case(Gen& g, const std::string& op) {
  OpCase c = make(op, op == "LayerNormalization" ? 17 : op == "BatchNormalization" ? 15 : 6);
  double eps = 1e-5;
  if (g.rng.chance(0.4)) {
    eps = static_cast<float>(g.rng.real(1e-4, 1e-2));
    c.attributes.push_back(attr_float("epsilon", static_cast<float>(eps)));
  }
  eps = static_cast<float>(eps);
  if (op == "LayerNormalization") {
    Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(2, 4, 6), -3, 3);
    if (x.numel() == 0) x = g.values(HXRT_DTYPE_FLOAT32, {2, 3}, -3, 3);
    int64_t rank = static_cast<int64_t>(x.shape.size());
    int64_t axis = -1;
    if (g.rng.chance(0.5)) {
      axis = g.rng.integer(1, rank - 1);
      c.attributes.push_back(attr_int("axis", axis));
    }
    Dims norm_shape(x.shape.begin() + (axis < 0 ? axis + rank : axis), x.shape.end());
    Tensor scale = g.values(HXRT_DTYPE_FLOAT32, norm_shape, 0.5, 1.5);
    c.inputs = {runtime(x), constant(scale)};
    if (g.rng.chance(0.6)) {
      Tensor bias = g.values(HXRT_DTYPE_FLOAT32, norm_shape, -1, 1);
      c.inputs.push_back(constant(bias));
      c.expected = {ref::layer_norm(x, scale, &bias, axis, eps)};
    } else {
      c.expected = {ref::layer_norm(x, scale, nullptr, axis, eps)};
    }
    return c;
  }
  int64_t ch = g.rng.integer(1, 4);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, {g.rng.integer(1, 2), ch, g.rng.integer(2, 5), g.rng.integer(2, 5)}, -3, 3);
  Tensor scale = g.values(HXRT_DTYPE_FLOAT32, {ch}, 0.5, 1.5), bias = g.values(HXRT_DTYPE_FLOAT32, {ch}, -1, 1);
  if (op == "InstanceNormalization") {
    c.inputs = {runtime(x), constant(scale), constant(bias)};
    c.expected = {ref::instance_norm(x, scale, bias, eps)};
    return c;
  }
  Tensor mean = g.values(HXRT_DTYPE_FLOAT32, {ch}, -1, 1), var = g.values(HXRT_DTYPE_FLOAT32, {ch}, 0.2, 2);
  c.inputs = {runtime(x), constant(scale), constant(bias), constant(mean), constant(var)};
  c.expected = {ref::batch_norm(x, scale, bias, mean, var, eps)};
  return c;
}

OpCase transpose_case(Gen& g) {
  OpCase c = make("Transpose", 13);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(1, 5, 4), -3, 3);
  size_t rank = x.shape.size();
  std::vector<int64_t> perm(rank);
  for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);  // the default: reversed
  if (g.rng.chance(0.7)) {
    for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(i);
    for (size_t i = rank; i-- > 1;) std::swap(perm[i], perm[static_cast<size_t>(g.rng.integer(0, static_cast<int64_t>(i)))]);
    c.attributes.push_back(attr_ints("perm", perm));
  }
  c.inputs = {runtime(x)};
  c.expected = {ref::transpose(x, perm)};
  return c;
}

OpCase reshape_case(Gen& g, const std::string& op) {
  OpCase c = make(op, 13);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(1, 4, 4), -3, 3);
  int64_t rank = static_cast<int64_t>(x.shape.size());
  Dims out;
  if (op == "Reshape") {
    // Regroup the dims, then encode one as -1 and maybe one as 0 (copy).
    Dims target = x.shape;
    if (rank >= 2 && g.rng.chance(0.6)) {
      int64_t i = g.rng.integer(0, rank - 2);
      target[static_cast<size_t>(i)] *= target[static_cast<size_t>(i + 1)];
      target.erase(target.begin() + i + 1);
    }
    if (g.rng.chance(0.3)) target.push_back(1);
    std::vector<int64_t> spec = target;
    if (x.numel() > 0 && !spec.empty()) spec[static_cast<size_t>(g.rng.integer(0, static_cast<int64_t>(spec.size()) - 1))] = -1;
    if (!spec.empty() && spec[0] != -1 && !target.empty() && target[0] == x.shape[0] && g.rng.chance(0.5)) spec[0] = 0;
    c.inputs = {runtime(x), constant(ints_tensor(spec))};
    out = target;
  } else if (op == "Flatten") {
    int64_t axis = g.rng.integer(0, rank);
    if (axis != 1 || g.rng.chance(0.5)) c.attributes.push_back(attr_int("axis", axis));
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x.shape[static_cast<size_t>(i)];
    out = {outer, outer == 0 ? Tensor::numel_of(Dims(x.shape.begin() + axis, x.shape.end())) : x.numel() / outer};
    c.inputs = {runtime(x)};
  } else if (op == "Unsqueeze") {
    // n distinct output positions, ascending; 1s inserted there.
    int64_t n = g.rng.integer(1, 2);
    std::vector<int64_t> axes;
    while (static_cast<int64_t>(axes.size()) < n) {
      int64_t a = g.rng.integer(0, rank + n - 1);
      if (std::find(axes.begin(), axes.end(), a) == axes.end()) axes.push_back(a);
    }
    std::sort(axes.begin(), axes.end());
    out = x.shape;
    for (int64_t a : axes) out.insert(out.begin() + a, 1);
    c.inputs = {runtime(x), constant(ints_tensor(axes))};
  } else {  // Squeeze
    Dims s = x.shape;
    s.insert(s.begin() + g.rng.integer(0, rank), 1);
    x = g.values(HXRT_DTYPE_FLOAT32, s, -3, 3);
    std::vector<int64_t> axes;
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] == 1 && (axes.empty() || g.rng.chance(0.5))) axes.push_back(static_cast<int64_t>(i));
    for (size_t i = 0; i < s.size(); ++i)
      if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) == axes.end()) out.push_back(s[i]);
    c.inputs = {runtime(x), constant(ints_tensor(axes))};
  }
  c.expected = {ref::reshape(x, out)};
  return c;
}

OpCase concat_case(Gen& g) {
  OpCase c = make("Concat", 13);
  Dims base = g.shape(1, 4, 4);
  int64_t rank = static_cast<int64_t>(base.size());
  int64_t axis = g.rng.integer(-rank, rank - 1);
  size_t a = static_cast<size_t>(axis < 0 ? axis + rank : axis);
  std::vector<Tensor> ins;
  int64_t n = g.rng.integer(2, 3);
  for (int64_t i = 0; i < n; ++i) {
    Dims s = base;
    s[a] = g.rng.integer(1, 4);
    ins.push_back(g.values(HXRT_DTYPE_FLOAT32, s, -3, 3));
    c.inputs.push_back(runtime(ins.back()));
  }
  c.attributes = {attr_int("axis", axis)};
  c.expected = {ref::concat(ins, axis)};
  return c;
}

OpCase slice_case(Gen& g) {
  OpCase c = make("Slice", 13);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(1, 4, 6), -3, 3);
  int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> starts, ends, axes, steps;
  for (int64_t a = 0; a < rank; ++a) {
    if (!g.rng.chance(0.6)) continue;
    int64_t dim = x.shape[static_cast<size_t>(a)];
    int64_t step = g.rng.chance(0.7) || dim == 0 ? 1 : g.rng.pick(std::vector<int64_t>{2, -1, -2});
    int64_t s = g.rng.integer(-dim, dim), e = g.rng.integer(-dim - 1, dim + 1);
    if (g.rng.chance(0.15)) e = step > 0 ? INT64_MAX : INT64_MIN;  // "to the end"
    starts.push_back(s);
    ends.push_back(e);
    axes.push_back(g.rng.chance(0.3) ? a - rank : a);
    steps.push_back(step);
  }
  if (axes.empty()) {
    starts = {0};
    ends = {x.shape[0]};
    axes = {0};
    steps = {1};
  }
  c.inputs = {runtime(x), constant(ints_tensor(starts)), constant(ints_tensor(ends)), constant(ints_tensor(axes)),
              constant(ints_tensor(steps))};
  c.expected = {ref::slice(x, starts, ends, axes, steps)};
  return c;
}

OpCase gather_case(Gen& g) {
  OpCase c = make("Gather", 13);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(1, 3, 5), -3, 3);
  if (x.numel() == 0) x = g.values(HXRT_DTYPE_FLOAT32, {3, 2}, -3, 3);
  int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = g.rng.integer(-rank, rank - 1);
  int64_t dim = x.shape[static_cast<size_t>(axis < 0 ? axis + rank : axis)];
  Tensor idx(HXRT_DTYPE_INT64, g.shape(0, 2, 4));
  for (double& v : idx.v) v = static_cast<double>(g.rng.integer(-dim, dim - 1));  // negative indices count from the end
  if (axis != 0 || g.rng.chance(0.5)) c.attributes.push_back(attr_int("axis", axis));
  c.inputs = {runtime(x), runtime(idx)};
  c.expected = {ref::gather(x, idx, axis)};
  return c;
}

OpCase tile_case(Gen& g) {
  OpCase c = make("Tile", 13);
  Tensor x = g.values(HXRT_DTYPE_FLOAT32, g.shape(1, 4, 4), -3, 3);
  std::vector<int64_t> repeats;
  for (size_t i = 0; i < x.shape.size(); ++i) repeats.push_back(g.rng.integer(1, 3));
  c.inputs = {runtime(x), constant(ints_tensor(repeats))};
  c.expected = {ref::tile(x, repeats)};
  return c;
}

std::vector<Entry> catalog() {
  std::vector<Entry> e;
  for (const auto& s : unary_specs()) e.push_back({s.op, [s](Gen& g) { return unary_case(g, s); }});
  for (const char* op : {"Add", "Sub", "Mul", "Div"})
    e.push_back({op, [op = std::string(op)](Gen& g) {
                   // The wide sweep adds integer dtypes for + - *.
                   hxrt_dtype t = g.wide && op != "Div" && g.rng.chance(0.4)
                                      ? (g.rng.chance(0.5) ? HXRT_DTYPE_INT32 : HXRT_DTYPE_INT64)
                                      : HXRT_DTYPE_FLOAT32;
                   return binary_case(g, op, t, is_float(t) ? -3 : -50, is_float(t) ? 3 : 50, 14);
                 }});
  e.push_back({"Pow", [](Gen& g) { return binary_case(g, "Pow", HXRT_DTYPE_FLOAT32, -2, 2, 15); }});
  for (const char* op : {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
    e.push_back({op, [op = std::string(op)](Gen& g) { return binary_case(g, op, HXRT_DTYPE_FLOAT32, -2, 2, 16); }});
  for (const char* op : {"And", "Or", "Xor"})
    e.push_back({op, [op = std::string(op)](Gen& g) { return binary_case(g, op, HXRT_DTYPE_BOOL, 0, 1, 7); }});
  for (const char* op : {"Sum", "Mean", "Max", "Min"})
    e.push_back({op, [op = std::string(op)](Gen& g) { return variadic_case(g, op); }});
  e.push_back({"Clip", clip_case});
  e.push_back({"Where", where_case});
  e.push_back({"MatMul", matmul_case});
  e.push_back({"Gemm", gemm_case});
  e.push_back({"Conv", conv_case});
  for (const char* op : {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"})
    e.push_back({op, [op = std::string(op)](Gen& g) { return pool_case(g, op); }});
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                         "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"})
    e.push_back({op, [op = std::string(op)](Gen& g) { return reduce_case(g, op); }});
  for (const char* op : {"ArgMax", "ArgMin"})
    e.push_back({op, [op = std::string(op)](Gen& g) { return arg_case(g, op); }});
  for (const char* op : {"Softmax", "LogSoftmax"})
    e.push_back({op, [op = std::string(op)](Gen& g) { return softmax_case(g, op); }});
  for (const char* op : {"BatchNormalization", "LayerNormalization", "InstanceNormalization"})
    e.push_back({op, [op = std::string(op)](Gen& g) { return norm_case(g, op); }});
  e.push_back({"Transpose", transpose_case});
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze"})
    e.push_back({op, [op = std::string(op)](Gen& g) { return reshape_case(g, op); }});
  e.push_back({"Concat", concat_case});
  e.push_back({"Slice", slice_case});
  e.push_back({"Gather", gather_case});
  e.push_back({"Tile", tile_case});
  return e;
}

uint64_t mix(uint64_t seed, const std::string& op, bool wide) {
  // Each op has its own stream, so adding an op never changes another op's cases.
  uint64_t h = 1469598103934665603ull ^ seed;
  for (char ch : op) h = (h ^ static_cast<uint8_t>(ch)) * 1099511628211ull;
  return h ^ (wide ? 0x9e3779b97f4a7c15ull : 0);
}

constexpr int kCoreCasesPerOp = 3;
constexpr int kWideCasesPerOp = 10;

}  // namespace

std::vector<OpCase> op_cases(uint64_t seed, bool wide) {
  std::vector<OpCase> cases;
  for (const Entry& entry : catalog()) {
    Rng rng(mix(seed, entry.op, wide));
    Gen g{rng, wide};
    int count = wide ? kWideCasesPerOp : kCoreCasesPerOp;
    for (int i = 0; i < count; ++i) {
      OpCase c = entry.build(g);
      c.index = i;
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

std::vector<std::string> describe_op_catalog(const Options& options) {
  std::vector<std::string> lines;
  for (const auto& c : op_cases(options.seed, false)) lines.push_back("ops.core." + c.op + "." + std::to_string(c.index) + ": " + c.label());
  if (options.profile == Profile::kFull)
    for (const auto& c : op_cases(options.seed, true))
      lines.push_back("ops.wide." + c.op + "." + std::to_string(c.index) + ": " + c.label());
  lines.push_back("");
  lines.push_back("Tolerances (|observed - expected| <= atol + rtol*|expected|; integer/bool outputs exact):");
  for (const auto& row : tolerance_table())
    lines.push_back("  rtol " + std::to_string(row.tolerance.rtol) + " atol " + std::to_string(row.tolerance.atol) +
                    ": " + row.ops);
  return lines;
}

}  // namespace hxrt::conformance
