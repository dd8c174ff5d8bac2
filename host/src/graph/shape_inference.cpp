#include "graph/shape_inference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.hpp"
#include "graph/tensor_proto.hpp"

namespace hxrt::host {

namespace {

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

std::string ints_to_string(const std::vector<int64_t>& v) { return shape_to_string(v); }

// Access to one node's inputs and outputs during inference.
class Ctx {
 public:
  Ctx(Graph& graph, const Node& node) : g(graph), n(node) {}

  Graph& g;
  const Node& n;

  int64_t opset() const { return n.opset; }

  [[noreturn]] void fail(hxrt_status_code code, const std::string& msg) const {
    throw Error{code, fmt::format("{} node '{}': {}", n.op_type, n.name, msg)};
  }
  [[noreturn]] void invalid(const std::string& msg) const { fail(HXRT_STATUS_INVALID_ARGUMENT, msg); }

  size_t num_inputs() const { return n.inputs.size(); }
  bool has(size_t i) const { return i < n.inputs.size() && n.inputs[i] >= 0; }
  const Value& in(size_t i) const {
    if (!has(i)) invalid(fmt::format("required input {} is missing", i));
    return g.values[static_cast<size_t>(n.inputs[i])];
  }
  const Shape& shape(size_t i) const {
    const Value& v = in(i);
    if (!v.shape) invalid(fmt::format("input {} ('{}') has no known shape", i, v.name));
    return *v.shape;
  }
  int64_t rank(size_t i) const { return static_cast<int64_t>(shape(i).size()); }
  hxrt_dtype dtype(size_t i) const { return in(i).dtype; }
  const HostTensor* constant(size_t i) const { return has(i) ? in(i).constant.get() : nullptr; }

  [[noreturn]] void not_constant(const std::string& what) const {
    fail(HXRT_STATUS_UNIMPLEMENTED, fmt::format("{} input is not a compile-time constant", what));
  }
  std::vector<int64_t> ints(size_t i, const std::string& what) const {
    const HostTensor* t = constant(i);
    if (!t) not_constant(what);
    try {
      return t->as_ints();
    } catch (const Error& e) {
      invalid(fmt::format("{} input: {}", what, e.message()));
    }
  }
  std::vector<double> floats(size_t i, const std::string& what) const {
    const HostTensor* t = constant(i);
    if (!t) not_constant(what);
    const auto count = static_cast<size_t>(t->numel());
    std::vector<double> out(count);
    switch (t->dtype) {
      case HXRT_DTYPE_FLOAT32:
        for (size_t k = 0; k < count; ++k) out[k] = t->data<float>()[k];
        break;
      case HXRT_DTYPE_FLOAT64:
        for (size_t k = 0; k < count; ++k) out[k] = t->data<double>()[k];
        break;
      case HXRT_DTYPE_FLOAT16:
        for (size_t k = 0; k < count; ++k) out[k] = half_to_float(t->data<uint16_t>()[k]);
        break;
      case HXRT_DTYPE_BFLOAT16:
        for (size_t k = 0; k < count; ++k) {
          const uint32_t bits = static_cast<uint32_t>(t->data<uint16_t>()[k]) << 16;
          float f;
          std::memcpy(&f, &bits, sizeof(f));
          out[k] = f;
        }
        break;
      default: {
        const auto v = ints(i, what);
        for (size_t k = 0; k < count; ++k) out[k] = static_cast<double>(v[k]);
      }
    }
    return out;
  }
  // A constant input with no elements counts as absent (Resize's scales/sizes, ...).
  bool has_nonempty(size_t i) const {
    if (!has(i)) return false;
    const Value& v = in(i);
    if (v.shape && element_count(*v.shape) == 0) return false;
    return true;
  }

  size_t num_outputs() const { return n.outputs.size(); }
  bool has_out(size_t i) const { return i < n.outputs.size() && n.outputs[i] >= 0; }
  void set(size_t i, hxrt_dtype dtype, Shape shape) const {
    if (!has_out(i)) return;
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d < 0) invalid(fmt::format("output {} would have a negative dimension: {}", i, shape_to_string(shape)));
      if (d > 0 && numel > (int64_t{1} << 48) / d) {
        invalid(fmt::format("output {} would have too many elements: {}", i, shape_to_string(shape)));
      }
      numel *= d;
    }
    Value& v = g.values[static_cast<size_t>(n.outputs[i])];
    v.dtype = dtype;
    v.shape = std::move(shape);
  }
  void set_constant(size_t i, std::shared_ptr<const HostTensor> t) const {
    if (!has_out(i)) return;
    g.values[static_cast<size_t>(n.outputs[i])].constant = std::move(t);
  }

  // Normalizes an axis in [-rank, rank) (or [-rank-1, rank] when `inclusive`).
  int64_t axis(int64_t a, int64_t r, const char* what = "axis") const {
    if (a < -r || a >= r) invalid(fmt::format("{} {} is out of range for rank {}", what, a, r));
    return a < 0 ? a + r : a;
  }
  std::vector<int64_t> axes(const std::vector<int64_t>& a, int64_t r, const char* what = "axes") const {
    std::vector<int64_t> out;
    std::set<int64_t> seen;
    for (int64_t x : a) {
      const int64_t k = axis(x, r, what);
      if (!seen.insert(k).second) invalid(fmt::format("{} {} contains axis {} twice", what, ints_to_string(a), k));
      out.push_back(k);
    }
    return out;
  }
};

// ---------------------------------------------------------------- helpers

Shape broadcast2(const Ctx& c, const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t k = 0; k < r; ++k) {
    const int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
    const int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (da == db || db == 1) {
      out[k] = da;
    } else if (da == 1) {
      out[k] = db;
    } else {
      c.invalid(fmt::format("shapes {} and {} are not broadcast-compatible (dim {}: {} vs {})", shape_to_string(a),
                            shape_to_string(b), k, da, db));
    }
  }
  return out;
}

Shape broadcast_inputs(const Ctx& c) {
  std::optional<Shape> out;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    if (!c.has(i)) continue;
    out = out ? broadcast2(c, *out, c.shape(i)) : c.shape(i);
  }
  if (!out) c.invalid("has no inputs");
  return *out;
}

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

void same_as_input(Ctx& c) { c.set(0, c.dtype(0), c.shape(0)); }

// ---------------------------------------------------------------- elementwise

bool is_comparison(const std::string& op) {
  static const std::set<std::string> ops = {"Equal", "Less",  "Greater", "LessOrEqual", "GreaterOrEqual",
                                            "And",   "Or",    "Xor"};
  return ops.count(op) != 0;
}

void binary_op(Ctx& c) {
  const std::string& op = c.n.op_type;
  const bool to_bool = is_comparison(op);
  Shape shape;
  if (c.opset() < 7 && c.n.find_attribute("broadcast") != nullptr) {
    // Legacy unidirectional broadcast (B onto A, aligned at `axis`): result is A's shape.
    shape = c.shape(0);
    if (c.n.get_int("broadcast", 0) == 0 && c.shape(1) != shape) {
      c.invalid(fmt::format("shapes {} and {} differ and broadcast=0", shape_to_string(shape),
                            shape_to_string(c.shape(1))));
    }
  } else if (c.opset() < 7 && op != "Pow") {
    shape = c.shape(0);
    if (c.shape(1) != shape) {
      c.invalid(fmt::format("shapes {} and {} differ (opset {} has no implicit broadcast)", shape_to_string(shape),
                            shape_to_string(c.shape(1)), c.opset()));
    }
  } else {
    shape = broadcast2(c, c.shape(0), c.shape(1));
  }
  c.set(0, to_bool ? HXRT_DTYPE_BOOL : c.dtype(0), shape);
}

void variadic_op(Ctx& c) { c.set(0, c.dtype(0), broadcast_inputs(c)); }

void where_op(Ctx& c) { c.set(0, c.dtype(1), broadcast_inputs(c)); }

void prelu_op(Ctx& c) {
  const Shape out = c.opset() < 7 ? c.shape(0) : broadcast2(c, c.shape(0), c.shape(1));
  if (out != c.shape(0)) {
    c.invalid(fmt::format("slope shape {} does not broadcast to X's shape {}", shape_to_string(c.shape(1)),
                          shape_to_string(c.shape(0))));
  }
  c.set(0, c.dtype(0), out);
}

void to_bool_unary(Ctx& c) { c.set(0, HXRT_DTYPE_BOOL, c.shape(0)); }

void cast_op(Ctx& c) {
  const Attribute* to = c.n.find_attribute("to");
  if (!to) c.invalid("missing attribute 'to'");
  hxrt_dtype d = HXRT_DTYPE_UNDEFINED;
  if (to->type == HXRT_ATTRIBUTE_INT) {
    d = dtype_from_onnx(to->i);
    if (d == HXRT_DTYPE_UNDEFINED) {
      c.fail(HXRT_STATUS_UNIMPLEMENTED, fmt::format("cast to {} is not supported", onnx_dtype_name(to->i)));
    }
  } else if (to->type == HXRT_ATTRIBUTE_STRING) {  // opset 1 used type names
    static const std::map<std::string, hxrt_dtype> names = {
        {"FLOAT", HXRT_DTYPE_FLOAT32}, {"UINT8", HXRT_DTYPE_UINT8},   {"INT8", HXRT_DTYPE_INT8},
        {"UINT16", HXRT_DTYPE_UINT16}, {"INT16", HXRT_DTYPE_INT16},   {"INT32", HXRT_DTYPE_INT32},
        {"INT64", HXRT_DTYPE_INT64},   {"BOOL", HXRT_DTYPE_BOOL},     {"FLOAT16", HXRT_DTYPE_FLOAT16},
        {"DOUBLE", HXRT_DTYPE_FLOAT64}, {"UINT32", HXRT_DTYPE_UINT32}, {"UINT64", HXRT_DTYPE_UINT64}};
    auto it = names.find(to->s);
    if (it == names.end()) c.fail(HXRT_STATUS_UNIMPLEMENTED, fmt::format("cast to '{}' is not supported", to->s));
    d = it->second;
  } else {
    c.invalid("attribute 'to' must be an int");
  }
  c.set(0, d, c.shape(0));
}

void dropout_op(Ctx& c) {
  c.set(0, c.dtype(0), c.shape(0));
  c.set(1, c.opset() >= 10 ? HXRT_DTYPE_BOOL : c.dtype(0), c.shape(0));
}

void batchnorm_op(Ctx& c) {
  const Shape& x = c.shape(0);
  if (x.size() < 2) c.invalid(fmt::format("X must have rank >= 2, has shape {}", shape_to_string(x)));
  const int64_t ch = x[1];
  for (size_t i = 1; i <= 4; ++i) {
    const Shape& p = c.shape(i);
    if (c.opset() >= 7 || c.n.get_int("spatial", 1) == 1) {
      if (p.size() != 1 || p[0] != ch) {
        c.invalid(fmt::format("input {} has shape {}, expected [{}] (channels of X {})", i, shape_to_string(p), ch,
                              shape_to_string(x)));
      }
    }
  }
  c.set(0, c.dtype(0), x);
  const hxrt_dtype stat = c.opset() >= 14 ? c.dtype(3) : c.dtype(0);
  for (size_t o = 1; o < c.num_outputs(); ++o) c.set(o, stat, {ch});
}

void layernorm_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  const int64_t axis = c.axis(c.n.get_int("axis", -1), r);
  c.set(0, c.dtype(0), x);
  Shape reduced = x;
  for (int64_t k = axis; k < r; ++k) reduced[static_cast<size_t>(k)] = 1;
  hxrt_dtype stash = dtype_from_onnx(c.n.get_int("stash_type", 1));
  if (stash == HXRT_DTYPE_UNDEFINED) stash = HXRT_DTYPE_FLOAT32;
  c.set(1, stash, reduced);
  c.set(2, stash, reduced);
}

void softmax_op(Ctx& c) {
  const int64_t r = c.rank(0);
  if (r > 0) c.axis(c.n.get_int("axis", c.opset() >= 13 ? -1 : 1), r);
  same_as_input(c);
}

// ---------------------------------------------------------------- matmul / gemm

void matmul_op(Ctx& c) {
  Shape a = c.shape(0), b = c.shape(1);
  if (a.empty() || b.empty()) c.invalid("inputs must not be scalars");
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), 1);
  if (b1) b.push_back(1);
  const int64_t k_a = a.back(), k_b = b[b.size() - 2];
  if (k_a != k_b) {
    c.invalid(fmt::format("inner dimensions differ: A {} vs B {}", shape_to_string(c.shape(0)),
                          shape_to_string(c.shape(1))));
  }
  const Shape batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
  Shape out = broadcast2(c, batch_a, batch_b);
  if (!a1) out.push_back(a[a.size() - 2]);
  if (!b1) out.push_back(b.back());
  hxrt_dtype d = c.dtype(0);
  if (c.n.op_type == "MatMulInteger") d = HXRT_DTYPE_INT32;
  c.set(0, d, out);
}

void gemm_op(Ctx& c) {
  const Shape& a = c.shape(0);
  const Shape& b = c.shape(1);
  if (a.size() != 2 || b.size() != 2) {
    c.invalid(fmt::format("A and B must be 2-D, got {} and {}", shape_to_string(a), shape_to_string(b)));
  }
  const bool ta = c.n.get_int("transA", 0) != 0, tb = c.n.get_int("transB", 0) != 0;
  const int64_t m = ta ? a[1] : a[0], ka = ta ? a[0] : a[1];
  const int64_t kb = tb ? b[1] : b[0], nn = tb ? b[0] : b[1];
  if (ka != kb) {
    c.invalid(fmt::format("inner dimensions differ: A {}{} vs B {}{}", shape_to_string(a), ta ? " (transposed)" : "",
                          shape_to_string(b), tb ? " (transposed)" : ""));
  }
  const Shape out{m, nn};
  if (c.has(2) && broadcast2(c, out, c.shape(2)) != out) {
    c.invalid(fmt::format("C of shape {} does not broadcast to [{},{}]", shape_to_string(c.shape(2)), m, nn));
  }
  c.set(0, c.dtype(0), out);
}

// ---------------------------------------------------------------- conv / pool

struct WindowParams {
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string auto_pad;
  bool ceil_mode = false;
};

WindowParams window_params(const Ctx& c, size_t spatial, std::vector<int64_t> kernel) {
  WindowParams p;
  p.kernel = std::move(kernel);
  if (p.kernel.size() != spatial) {
    c.invalid(fmt::format("kernel_shape {} does not match the input's {} spatial dims", ints_to_string(p.kernel),
                          spatial));
  }
  p.strides = c.n.get_ints("strides", std::vector<int64_t>(spatial, 1));
  p.dilations = c.n.get_ints("dilations", std::vector<int64_t>(spatial, 1));
  p.pads = c.n.get_ints("pads", std::vector<int64_t>(2 * spatial, 0));
  p.auto_pad = c.n.get_string("auto_pad", "NOTSET");
  p.ceil_mode = c.n.get_int("ceil_mode", 0) != 0;
  if (p.strides.size() != spatial) c.invalid(fmt::format("strides {} must have {} values", ints_to_string(p.strides), spatial));
  if (p.dilations.size() != spatial) {
    c.invalid(fmt::format("dilations {} must have {} values", ints_to_string(p.dilations), spatial));
  }
  if (p.pads.size() != 2 * spatial) c.invalid(fmt::format("pads {} must have {} values", ints_to_string(p.pads), 2 * spatial));
  for (size_t k = 0; k < spatial; ++k) {
    if (p.strides[k] <= 0) c.invalid(fmt::format("strides {} must be positive", ints_to_string(p.strides)));
    if (p.dilations[k] <= 0) c.invalid(fmt::format("dilations {} must be positive", ints_to_string(p.dilations)));
    if (p.kernel[k] <= 0) c.invalid(fmt::format("kernel_shape {} must be positive", ints_to_string(p.kernel)));
  }
  if (p.auto_pad != "NOTSET" && p.auto_pad != "SAME_UPPER" && p.auto_pad != "SAME_LOWER" && p.auto_pad != "VALID") {
    c.invalid(fmt::format("unknown auto_pad '{}'", p.auto_pad));
  }
  return p;
}

// Output spatial dims of a sliding window over `in` (Conv, pools).
Shape window_output(const Ctx& c, const Shape& in, const WindowParams& p) {
  const size_t spatial = p.kernel.size();
  Shape out(spatial);
  for (size_t k = 0; k < spatial; ++k) {
    const int64_t x = in[k], s = p.strides[k];
    const int64_t dk = (p.kernel[k] - 1) * p.dilations[k] + 1;
    if (p.auto_pad == "SAME_UPPER" || p.auto_pad == "SAME_LOWER") {
      out[k] = ceil_div(x, s);
      continue;
    }
    const int64_t pb = p.auto_pad == "VALID" ? 0 : p.pads[k];
    const int64_t pe = p.auto_pad == "VALID" ? 0 : p.pads[k + spatial];
    const int64_t span = x + pb + pe - dk;
    if (span < 0) {
      c.invalid(fmt::format("spatial dim {} of size {} (padded {}) is smaller than the (dilated) kernel {}", k, x,
                            x + pb + pe, dk));
    }
    int64_t o = (p.ceil_mode ? ceil_div(span, s) : span / s) + 1;
    // The last window must start inside the input or the left padding.
    if (p.ceil_mode && (o - 1) * s >= x + pb) --o;
    out[k] = o;
  }
  return out;
}

void check_rank_at_least(const Ctx& c, size_t i, size_t r, const char* name) {
  if (c.shape(i).size() < r) {
    c.invalid(fmt::format("input {} must have rank >= {} (N, C, spatial...), has shape {}", name, r,
                          shape_to_string(c.shape(i))));
  }
}

void conv_op(Ctx& c) {
  check_rank_at_least(c, 0, 3, "X");
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (w.size() != x.size()) {
    c.invalid(fmt::format("input X has rank {} ({}) but W has rank {} ({})", x.size(), shape_to_string(x), w.size(),
                          shape_to_string(w)));
  }
  const int64_t group = c.n.get_int("group", 1);
  if (group <= 0) c.invalid(fmt::format("group {} must be positive", group));
  if (x[1] != w[1] * group) {
    c.invalid(fmt::format("X has {} channels but W {} with group {} expects {}", x[1], shape_to_string(w), group,
                          w[1] * group));
  }
  if (w[0] % group != 0) c.invalid(fmt::format("W's output channels {} are not divisible by group {}", w[0], group));
  const size_t spatial = x.size() - 2;
  const std::vector<int64_t> kernel = c.n.get_ints("kernel_shape", Shape(w.begin() + 2, w.end()));
  if (kernel != Shape(w.begin() + 2, w.end())) {
    c.invalid(fmt::format("kernel_shape {} does not match W {}", ints_to_string(kernel), shape_to_string(w)));
  }
  if (c.has(2) && (c.shape(2).size() != 1 || c.shape(2)[0] != w[0])) {
    c.invalid(fmt::format("bias B has shape {}, expected [{}]", shape_to_string(c.shape(2)), w[0]));
  }
  WindowParams p = window_params(c, spatial, kernel);
  p.ceil_mode = false;
  Shape out{x[0], w[0]};
  const Shape sp = window_output(c, Shape(x.begin() + 2, x.end()), p);
  out.insert(out.end(), sp.begin(), sp.end());
  c.set(0, c.n.op_type == "ConvInteger" ? HXRT_DTYPE_INT32 : c.dtype(0), out);
}

void conv_transpose_op(Ctx& c) {
  check_rank_at_least(c, 0, 3, "X");
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (w.size() != x.size()) {
    c.invalid(fmt::format("input X has rank {} ({}) but W has rank {} ({})", x.size(), shape_to_string(x), w.size(),
                          shape_to_string(w)));
  }
  const int64_t group = c.n.get_int("group", 1);
  if (group <= 0) c.invalid(fmt::format("group {} must be positive", group));
  if (x[1] != w[0]) c.invalid(fmt::format("X has {} channels but W {} expects {}", x[1], shape_to_string(w), w[0]));
  const size_t spatial = x.size() - 2;
  const std::vector<int64_t> kernel = c.n.get_ints("kernel_shape", Shape(w.begin() + 2, w.end()));
  WindowParams p = window_params(c, spatial, kernel);
  const std::vector<int64_t> out_pad = c.n.get_ints("output_padding", std::vector<int64_t>(spatial, 0));
  if (out_pad.size() != spatial) c.invalid(fmt::format("output_padding {} must have {} values", ints_to_string(out_pad), spatial));
  Shape out{x[0], w[1] * group};
  if (const Attribute* os = c.n.find_attribute("output_shape")) {
    std::vector<int64_t> s = os->ints;
    if (s.size() == spatial + 2) s.erase(s.begin(), s.begin() + 2);
    if (s.size() != spatial) c.invalid(fmt::format("output_shape {} must have {} values", ints_to_string(os->ints), spatial));
    out.insert(out.end(), s.begin(), s.end());
  } else {
    for (size_t k = 0; k < spatial; ++k) {
      const int64_t in = x[k + 2], s = p.strides[k];
      const int64_t dk = (kernel[k] - 1) * p.dilations[k] + 1;
      if (p.auto_pad == "SAME_UPPER" || p.auto_pad == "SAME_LOWER") {
        out.push_back(in * s);
      } else {
        const int64_t pads = p.auto_pad == "VALID" ? 0 : p.pads[k] + p.pads[k + spatial];
        out.push_back(s * (in - 1) + out_pad[k] + dk - pads);
      }
    }
  }
  c.set(0, c.dtype(0), out);
}

void pool_op(Ctx& c) {
  check_rank_at_least(c, 0, 3, "X");
  const Shape& x = c.shape(0);
  const Attribute* ks = c.n.find_attribute("kernel_shape");
  if (!ks) c.invalid("missing attribute 'kernel_shape'");
  const size_t spatial = x.size() - 2;
  const WindowParams p = window_params(c, spatial, ks->ints);
  Shape out{x[0], x[1]};
  const Shape sp = window_output(c, Shape(x.begin() + 2, x.end()), p);
  out.insert(out.end(), sp.begin(), sp.end());
  c.set(0, c.dtype(0), out);
  c.set(1, HXRT_DTYPE_INT64, out);  // MaxPool's Indices
}

void global_pool_op(Ctx& c) {
  check_rank_at_least(c, 0, 2, "X");
  Shape out = c.shape(0);
  for (size_t k = 2; k < out.size(); ++k) out[k] = 1;
  c.set(0, c.dtype(0), out);
}

// ---------------------------------------------------------------- reductions

void reduce_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  const bool axes_as_input = c.n.op_type == "ReduceSum" ? c.opset() >= 13 : c.opset() >= 18;
  std::vector<int64_t> axes;
  bool have_axes = false;
  if (axes_as_input) {
    if (c.has(1)) {
      axes = c.ints(1, "axes");
      have_axes = true;
    }
  } else if (const Attribute* a = c.n.find_attribute("axes")) {
    axes = a->ints;
    have_axes = true;
  }
  const bool keepdims = c.n.get_int("keepdims", 1) != 0;
  const bool noop = c.n.get_int("noop_with_empty_axes", 0) != 0;
  if (axes.empty()) {
    if (noop && axes_as_input) {
      c.set(0, c.dtype(0), x);
      return;
    }
    (void)have_axes;
    axes.resize(static_cast<size_t>(r));
    std::iota(axes.begin(), axes.end(), 0);
  }
  const std::vector<int64_t> norm = c.axes(axes, r);
  std::set<int64_t> reduced(norm.begin(), norm.end());
  Shape out;
  for (int64_t k = 0; k < r; ++k) {
    if (reduced.count(k)) {
      if (keepdims) out.push_back(1);
    } else {
      out.push_back(x[static_cast<size_t>(k)]);
    }
  }
  c.set(0, c.dtype(0), out);
}

void arg_reduce_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  const int64_t axis = c.axis(c.n.get_int("axis", 0), r);
  Shape out = x;
  if (c.n.get_int("keepdims", 1) != 0) {
    out[static_cast<size_t>(axis)] = 1;
  } else {
    out.erase(out.begin() + axis);
  }
  c.set(0, HXRT_DTYPE_INT64, out);
}

// ---------------------------------------------------------------- shape manipulation

void reshape_op(Ctx& c) {
  const Shape& x = c.shape(0);
  std::vector<int64_t> target;
  if (c.opset() < 5) {
    target = c.n.get_ints("shape");
  } else {
    target = c.ints(1, "shape");
  }
  const bool allowzero = c.opset() >= 14 && c.n.get_int("allowzero", 0) != 0;
  Shape out(target.size());
  int64_t infer = -1, known = 1;
  for (size_t k = 0; k < target.size(); ++k) {
    int64_t d = target[k];
    if (d == 0 && !allowzero) {
      if (k >= x.size()) {
        c.invalid(fmt::format("shape {} copies dim {} (0) but the input {} has rank {}", ints_to_string(target), k,
                              shape_to_string(x), x.size()));
      }
      d = x[k];
    }
    if (d == -1) {
      if (infer >= 0) c.invalid(fmt::format("shape {} has more than one -1", ints_to_string(target)));
      infer = static_cast<int64_t>(k);
      out[k] = -1;
      continue;
    }
    if (d < 0) c.invalid(fmt::format("shape {} has invalid dim {}", ints_to_string(target), d));
    out[k] = d;
    known *= d;
  }
  const int64_t total = element_count(x);
  if (infer >= 0) {
    if (known == 0 || total % known != 0) {
      c.invalid(fmt::format("cannot reshape {} ({} elements) to {}", shape_to_string(x), total, ints_to_string(target)));
    }
    out[static_cast<size_t>(infer)] = total / known;
  } else if (known != total) {
    c.invalid(fmt::format("cannot reshape {} ({} elements) to {} ({} elements)", shape_to_string(x), total,
                          ints_to_string(target), known));
  }
  c.set(0, c.dtype(0), out);
}

void flatten_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  int64_t axis = c.n.get_int("axis", 1);
  if (axis < -r || axis > r) c.invalid(fmt::format("axis {} is out of range for rank {}", axis, r));
  if (axis < 0) axis += r;
  int64_t a = 1, b = 1;
  for (int64_t k = 0; k < r; ++k) (k < axis ? a : b) *= x[static_cast<size_t>(k)];
  c.set(0, c.dtype(0), {a, b});
}

void squeeze_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> axes;
  bool given = false;
  if (c.opset() >= 13) {
    if (c.has(1)) {
      axes = c.ints(1, "axes");
      given = true;
    }
  } else if (const Attribute* a = c.n.find_attribute("axes")) {
    axes = a->ints;
    given = true;
  }
  Shape out;
  if (!given) {
    for (int64_t d : x) {
      if (d != 1) out.push_back(d);
    }
  } else {
    const auto norm = c.axes(axes, r);
    std::set<int64_t> drop(norm.begin(), norm.end());
    for (int64_t k = 0; k < r; ++k) {
      if (drop.count(k)) {
        if (x[static_cast<size_t>(k)] != 1) {
          c.invalid(fmt::format("cannot squeeze axis {} of shape {}: its size is not 1", k, shape_to_string(x)));
        }
      } else {
        out.push_back(x[static_cast<size_t>(k)]);
      }
    }
  }
  c.set(0, c.dtype(0), out);
}

void unsqueeze_op(Ctx& c) {
  const Shape& x = c.shape(0);
  std::vector<int64_t> axes;
  if (c.opset() >= 13) {
    axes = c.ints(1, "axes");
  } else {
    const Attribute* a = c.n.find_attribute("axes");
    if (!a) c.invalid("missing attribute 'axes'");
    axes = a->ints;
  }
  const int64_t out_rank = static_cast<int64_t>(x.size() + axes.size());
  const auto norm = c.axes(axes, out_rank);
  std::set<int64_t> ins(norm.begin(), norm.end());
  Shape out;
  size_t src = 0;
  for (int64_t k = 0; k < out_rank; ++k) {
    if (ins.count(k)) {
      out.push_back(1);
    } else {
      out.push_back(x[src++]);
    }
  }
  c.set(0, c.dtype(0), out);
}

void transpose_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> perm(static_cast<size_t>(r));
  for (int64_t k = 0; k < r; ++k) perm[static_cast<size_t>(k)] = r - 1 - k;
  perm = c.n.get_ints("perm", perm);
  if (static_cast<int64_t>(perm.size()) != r) {
    c.invalid(fmt::format("perm {} does not match the input rank {}", ints_to_string(perm), r));
  }
  const auto norm = c.axes(perm, r, "perm");
  Shape out;
  for (int64_t p : norm) out.push_back(x[static_cast<size_t>(p)]);
  c.set(0, c.dtype(0), out);
}

void concat_op(Ctx& c) {
  const Shape& first = c.shape(0);
  const int64_t r = static_cast<int64_t>(first.size());
  const Attribute* a = c.n.find_attribute("axis");
  if (!a && c.opset() >= 4) c.invalid("missing attribute 'axis'");
  if (r == 0) c.invalid("inputs must not be scalars");
  const int64_t axis = c.axis(a ? a->i : 1, r);
  Shape out = first;
  out[static_cast<size_t>(axis)] = 0;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    if (!c.has(i)) continue;
    const Shape& s = c.shape(i);
    if (static_cast<int64_t>(s.size()) != r) {
      c.invalid(fmt::format("input {} has shape {} whose rank differs from input 0 {}", i, shape_to_string(s),
                            shape_to_string(first)));
    }
    for (int64_t k = 0; k < r; ++k) {
      if (k != axis && s[static_cast<size_t>(k)] != first[static_cast<size_t>(k)]) {
        c.invalid(fmt::format("input {} has shape {} which does not match input 0 {} outside axis {}", i,
                              shape_to_string(s), shape_to_string(first), axis));
      }
    }
    out[static_cast<size_t>(axis)] += s[static_cast<size_t>(axis)];
  }
  c.set(0, c.dtype(0), out);
}

void split_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  const int64_t axis = c.axis(c.n.get_int("axis", 0), r);
  const int64_t dim = x[static_cast<size_t>(axis)];
  const int64_t n = static_cast<int64_t>(c.num_outputs());
  std::vector<int64_t> split;
  bool given = false;
  if (c.has(1)) {  // opset 1 and 13+: split sizes as an input
    split = c.ints(1, "split");
    given = true;
  } else if (c.opset() < 13 && c.n.find_attribute("split")) {
    split = c.n.get_ints("split");
    given = true;
  }
  if (given) {
    if (static_cast<int64_t>(split.size()) != n) {
      c.invalid(fmt::format("split {} has {} sizes but the node has {} outputs", ints_to_string(split), split.size(), n));
    }
    int64_t sum = 0;
    for (int64_t s : split) {
      if (s < 0) c.invalid(fmt::format("split {} has a negative size", ints_to_string(split)));
      sum += s;
    }
    if (sum != dim) {
      c.invalid(fmt::format("split {} sums to {}, but axis {} of {} has size {}", ints_to_string(split), sum, axis,
                            shape_to_string(x), dim));
    }
  } else {
    int64_t parts = n;
    if (c.opset() >= 18) {
      const Attribute* no = c.n.find_attribute("num_outputs");
      if (!no) c.invalid("needs either the 'split' input or the 'num_outputs' attribute");
      parts = no->i;
      if (parts != n) c.invalid(fmt::format("num_outputs {} differs from the node's {} outputs", parts, n));
    }
    if (parts <= 0) c.invalid("has no outputs");
    if (c.opset() >= 18) {
      const int64_t chunk = ceil_div(dim, parts);
      for (int64_t k = 0; k < parts; ++k) split.push_back(std::max<int64_t>(0, std::min(chunk, dim - chunk * k)));
    } else {
      if (dim % parts != 0) {
        c.invalid(fmt::format("axis {} of {} (size {}) cannot be split evenly into {} outputs", axis,
                              shape_to_string(x), dim, parts));
      }
      split.assign(static_cast<size_t>(parts), dim / parts);
    }
  }
  for (size_t k = 0; k < split.size(); ++k) {
    Shape s = x;
    s[static_cast<size_t>(axis)] = split[k];
    c.set(k, c.dtype(0), s);
  }
}

void slice_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset() < 10) {
    starts = c.n.get_ints("starts");
    ends = c.n.get_ints("ends");
    axes = c.n.get_ints("axes");
  } else {
    starts = c.ints(1, "starts");
    ends = c.ints(2, "ends");
    if (c.has(3)) axes = c.ints(3, "axes");
    if (c.has(4)) steps = c.ints(4, "steps");
  }
  if (starts.size() != ends.size()) {
    c.invalid(fmt::format("starts {} and ends {} differ in length", ints_to_string(starts), ints_to_string(ends)));
  }
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size()) {
    c.invalid(fmt::format("starts {}, ends {}, axes {} and steps {} differ in length", ints_to_string(starts),
                          ints_to_string(ends), ints_to_string(axes), ints_to_string(steps)));
  }
  const auto norm = c.axes(axes, r);
  Shape out = x;
  for (size_t k = 0; k < norm.size(); ++k) {
    const int64_t dim = x[static_cast<size_t>(norm[k])];
    const int64_t step = steps[k];
    if (step == 0) c.invalid("steps must not be 0");
    int64_t s = starts[k], e = ends[k];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
    }
    const int64_t len = step > 0 ? ceil_div(e - s, step) : ceil_div(s - e, -step);
    out[static_cast<size_t>(norm[k])] = std::max<int64_t>(0, len);
  }
  c.set(0, c.dtype(0), out);
}

void gather_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const Shape& idx = c.shape(1);
  const int64_t r = static_cast<int64_t>(x.size());
  if (r == 0) c.invalid("data must not be a scalar");
  const int64_t axis = c.axis(c.n.get_int("axis", 0), r);
  Shape out(x.begin(), x.begin() + axis);
  out.insert(out.end(), idx.begin(), idx.end());
  out.insert(out.end(), x.begin() + axis + 1, x.end());
  c.set(0, c.dtype(0), out);
}

void gather_elements_op(Ctx& c) {
  if (c.rank(0) != c.rank(1)) {
    c.invalid(fmt::format("data {} and indices {} differ in rank", shape_to_string(c.shape(0)),
                          shape_to_string(c.shape(1))));
  }
  c.axis(c.n.get_int("axis", 0), c.rank(0));
  c.set(0, c.dtype(0), c.shape(1));
}

void expand_op(Ctx& c) {
  const std::vector<int64_t> target = c.ints(1, "shape");
  c.set(0, c.dtype(0), broadcast2(c, c.shape(0), target));
}

void tile_op(Ctx& c) {
  const Shape& x = c.shape(0);
  std::vector<int64_t> reps;
  if (c.opset() < 6) {  // Tile-1: tiles and axis inputs
    const auto tiles = c.ints(1, "tiles");
    const auto axis = c.ints(2, "axis");
    if (tiles.size() != 1 || axis.size() != 1) c.invalid("tiles and axis must be scalars");
    reps.assign(x.size(), 1);
    reps[static_cast<size_t>(c.axis(axis[0], static_cast<int64_t>(x.size())))] = tiles[0];
  } else {
    reps = c.ints(1, "repeats");
  }
  if (reps.size() != x.size()) {
    c.invalid(fmt::format("repeats {} must have one value per input dim ({})", ints_to_string(reps), shape_to_string(x)));
  }
  Shape out = x;
  for (size_t k = 0; k < x.size(); ++k) {
    if (reps[k] < 0) c.invalid(fmt::format("repeats {} must not be negative", ints_to_string(reps)));
    out[k] *= reps[k];
  }
  c.set(0, c.dtype(0), out);
}

void pad_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> pads;
  if (c.opset() < 11) {
    pads = c.n.get_ints(c.opset() < 2 ? "paddings" : "pads");
  } else {
    pads = c.ints(1, "pads");
  }
  std::vector<int64_t> axes;
  if (c.opset() >= 18 && c.has(3)) {
    axes = c.axes(c.ints(3, "axes"), r);
  } else {
    axes.resize(static_cast<size_t>(r));
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (pads.size() != 2 * axes.size()) {
    c.invalid(fmt::format("pads {} must have {} values (2 per padded axis)", ints_to_string(pads), 2 * axes.size()));
  }
  Shape out = x;
  for (size_t k = 0; k < axes.size(); ++k) {
    auto& d = out[static_cast<size_t>(axes[k])];
    d += pads[k] + pads[k + axes.size()];
    if (d < 0) c.invalid(fmt::format("pads {} make axis {} of {} negative", ints_to_string(pads), axes[k], shape_to_string(x)));
  }
  c.set(0, c.dtype(0), out);
}

void resize_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> axes;
  if (c.opset() >= 18 && c.n.find_attribute("axes")) {
    axes = c.axes(c.n.get_ints("axes"), r);
  } else {
    axes.resize(static_cast<size_t>(r));
    std::iota(axes.begin(), axes.end(), 0);
  }
  const bool upsample = c.n.op_type == "Upsample";
  size_t scales_in = 2, sizes_in = 3;
  if (upsample || c.opset() < 11) scales_in = 1, sizes_in = 99;
  Shape out = x;
  if (upsample && c.opset() < 9) {
    const Attribute* a = c.n.find_attribute("scales");
    if (!a) c.invalid("missing attribute 'scales'");
    if (a->floats.size() != x.size()) c.invalid("scales must have one value per input dim");
    for (size_t k = 0; k < x.size(); ++k) out[k] = static_cast<int64_t>(std::floor(x[k] * static_cast<double>(a->floats[k])));
  } else if (c.has_nonempty(sizes_in)) {
    const auto sizes = c.ints(sizes_in, "sizes");
    if (sizes.size() != axes.size()) {
      c.invalid(fmt::format("sizes {} must have {} values", ints_to_string(sizes), axes.size()));
    }
    const std::string policy = c.n.get_string("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t k = 0; k < axes.size(); ++k) out[static_cast<size_t>(axes[k])] = sizes[k];
    } else if (policy == "not_larger" || policy == "not_smaller") {
      double scale = policy == "not_larger" ? std::numeric_limits<double>::infinity() : 0.0;
      for (size_t k = 0; k < axes.size(); ++k) {
        const double s = static_cast<double>(sizes[k]) / static_cast<double>(x[static_cast<size_t>(axes[k])]);
        scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
      }
      for (size_t k = 0; k < axes.size(); ++k) {
        auto& d = out[static_cast<size_t>(axes[k])];
        d = static_cast<int64_t>(std::floor(static_cast<double>(d) * scale + 0.5));
      }
    } else {
      c.invalid(fmt::format("unknown keep_aspect_ratio_policy '{}'", policy));
    }
  } else if (c.has_nonempty(scales_in)) {
    const auto scales = c.floats(scales_in, "scales");
    if (scales.size() != axes.size()) {
      c.invalid(fmt::format("scales must have {} values, has {}", axes.size(), scales.size()));
    }
    for (size_t k = 0; k < axes.size(); ++k) {
      if (!(scales[k] > 0)) c.invalid(fmt::format("scale {} must be positive", scales[k]));
      auto& d = out[static_cast<size_t>(axes[k])];
      d = static_cast<int64_t>(std::floor(static_cast<double>(d) * scales[k]));
    }
  } else {
    c.invalid("needs either scales or sizes");
  }
  c.set(0, c.dtype(0), out);
}

std::shared_ptr<HostTensor> int64_tensor(Shape shape, const std::vector<int64_t>& values) {
  auto t = std::make_shared<HostTensor>();
  t->dtype = HXRT_DTYPE_INT64;
  t->shape = std::move(shape);
  t->bytes.resize(values.size() * sizeof(int64_t));
  if (!values.empty()) std::memcpy(t->bytes.data(), values.data(), t->bytes.size());
  return t;
}

void shape_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  int64_t start = c.n.get_int("start", 0);
  int64_t end = c.n.get_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  std::vector<int64_t> dims;
  for (int64_t k = start; k < end; ++k) dims.push_back(x[static_cast<size_t>(k)]);
  c.set(0, HXRT_DTYPE_INT64, {static_cast<int64_t>(dims.size())});
  c.set_constant(0, int64_tensor({static_cast<int64_t>(dims.size())}, dims));
}

void size_op(Ctx& c) {
  c.set(0, HXRT_DTYPE_INT64, {});
  c.set_constant(0, int64_tensor({}, {element_count(c.shape(0))}));
}

void constant_of_shape_op(Ctx& c) {
  const std::vector<int64_t> dims = c.ints(0, "shape");
  hxrt_dtype d = HXRT_DTYPE_FLOAT32;
  if (const Attribute* v = c.n.find_attribute("value")) {
    if (!v->tensor || v->tensor->numel() != 1) c.invalid("attribute 'value' must be a one-element tensor");
    d = v->tensor->dtype;
  }
  for (int64_t x : dims) {
    if (x < 0) c.invalid(fmt::format("shape {} has a negative dim", ints_to_string(dims)));
  }
  c.set(0, d, dims);
}

void range_op(Ctx& c) {
  const auto start = c.floats(0, "start"), limit = c.floats(1, "limit"), delta = c.floats(2, "delta");
  if (start.size() != 1 || limit.size() != 1 || delta.size() != 1) c.invalid("start, limit and delta must be scalars");
  if (delta[0] == 0) c.invalid("delta must not be 0");
  const double n = std::ceil((limit[0] - start[0]) / delta[0]);
  if (!(n < 1e15)) c.invalid("the range has too many elements");
  c.set(0, c.dtype(0), {std::max<int64_t>(0, static_cast<int64_t>(n))});
}

void constant_op(Ctx& c) {
  if (c.n.attributes.size() != 1) c.invalid("must have exactly one attribute");
  const Attribute& a = c.n.attributes[0];
  std::shared_ptr<const HostTensor> t;
  if (a.name == "value" && a.tensor) {
    t = a.tensor;
  } else if (a.name == "value_int") {
    t = int64_tensor({}, {a.i});
  } else if (a.name == "value_ints") {
    t = int64_tensor({static_cast<int64_t>(a.ints.size())}, a.ints);
  } else if (a.name == "value_float" || a.name == "value_floats") {
    auto f = std::make_shared<HostTensor>();
    f->dtype = HXRT_DTYPE_FLOAT32;
    const std::vector<float> v = a.name == "value_float" ? std::vector<float>{a.f} : a.floats;
    if (a.name == "value_floats") f->shape = {static_cast<int64_t>(v.size())};
    f->bytes.resize(v.size() * sizeof(float));
    if (!v.empty()) std::memcpy(f->bytes.data(), v.data(), f->bytes.size());
    t = f;
  } else {
    c.fail(HXRT_STATUS_UNIMPLEMENTED, fmt::format("attribute '{}' is not supported", a.name));
  }
  c.set(0, t->dtype, t->shape);
  c.set_constant(0, t);
}

void topk_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t axis = c.axis(c.n.get_int("axis", -1), static_cast<int64_t>(x.size()));
  int64_t k = 0;
  if (c.opset() < 10) {
    k = c.n.get_int("k", 0);
  } else {
    const auto kv = c.ints(1, "K");
    if (kv.size() != 1) c.invalid("K must have one value");
    k = kv[0];
  }
  if (k < 0 || k > x[static_cast<size_t>(axis)]) {
    c.invalid(fmt::format("K {} is out of range for axis {} of {}", k, axis, shape_to_string(x)));
  }
  Shape out = x;
  out[static_cast<size_t>(axis)] = k;
  c.set(0, c.dtype(0), out);
  c.set(1, HXRT_DTYPE_INT64, out);
}

void depth_to_space_op(Ctx& c) {
  const Shape& x = c.shape(0);
  if (x.size() != 4) c.invalid(fmt::format("input must be 4-D, has shape {}", shape_to_string(x)));
  const int64_t b = c.n.get_int("blocksize", 0);
  if (b <= 0) c.invalid("blocksize must be positive");
  if (c.n.op_type == "DepthToSpace") {
    if (x[1] % (b * b) != 0) c.invalid(fmt::format("channels {} not divisible by blocksize^2 {}", x[1], b * b));
    c.set(0, c.dtype(0), {x[0], x[1] / (b * b), x[2] * b, x[3] * b});
  } else {
    if (x[2] % b != 0 || x[3] % b != 0) c.invalid(fmt::format("spatial dims of {} not divisible by blocksize {}", shape_to_string(x), b));
    c.set(0, c.dtype(0), {x[0], x[1] * b * b, x[2] / b, x[3] / b});
  }
}

void cast_like_op(Ctx& c) { c.set(0, c.dtype(1), c.shape(0)); }

using ShapeFn = void (*)(Ctx&);

const std::unordered_map<std::string, ShapeFn>& shape_functions() {
  static const std::unordered_map<std::string, ShapeFn> table = [] {
    std::unordered_map<std::string, ShapeFn> t;
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "LessOrEqual",
                           "GreaterOrEqual", "And", "Or", "Xor", "Mod", "BitShift", "BitwiseAnd", "BitwiseOr",
                           "BitwiseXor"}) {
      t[op] = binary_op;
    }
    for (const char* op : {"Sum", "Mean", "Min", "Max"}) t[op] = variadic_op;
    t["Where"] = where_op;
    t["PRelu"] = prelu_op;
    for (const char* op :
         {"Sqrt", "Exp", "Log", "Erf", "Abs", "Neg", "Reciprocal", "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid",
          "HardSwish", "Tanh", "Gelu", "Clip", "Identity", "Softplus", "Softsign", "Elu", "Selu", "Celu",
          "ThresholdedRelu", "Mish", "LRN", "InstanceNormalization", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos",
          "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "BitwiseNot", "Trilu", "CumSum",
          "Shrink", "MeanVarianceNormalization", "LpNormalization"}) {
      t[op] = same_as_input;
    }
    for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) t[op] = softmax_op;
    t["Not"] = to_bool_unary;
    t["IsNaN"] = to_bool_unary;
    t["IsInf"] = to_bool_unary;
    t["Dropout"] = dropout_op;
    t["BatchNormalization"] = batchnorm_op;
    t["LayerNormalization"] = layernorm_op;
    t["Cast"] = cast_op;
    t["CastLike"] = cast_like_op;
    t["MatMul"] = matmul_op;
    t["MatMulInteger"] = matmul_op;
    t["Gemm"] = gemm_op;
    t["Conv"] = conv_op;
    t["ConvInteger"] = conv_op;
    t["ConvTranspose"] = conv_transpose_op;
    for (const char* op : {"MaxPool", "AveragePool", "LpPool"}) t[op] = pool_op;
    for (const char* op : {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}) t[op] = global_pool_op;
    for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                           "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}) {
      t[op] = reduce_op;
    }
    t["ArgMax"] = arg_reduce_op;
    t["ArgMin"] = arg_reduce_op;
    t["Reshape"] = reshape_op;
    t["Flatten"] = flatten_op;
    t["Squeeze"] = squeeze_op;
    t["Unsqueeze"] = unsqueeze_op;
    t["Transpose"] = transpose_op;
    t["Concat"] = concat_op;
    t["Split"] = split_op;
    t["Slice"] = slice_op;
    t["Gather"] = gather_op;
    t["GatherElements"] = gather_elements_op;
    t["Expand"] = expand_op;
    t["Tile"] = tile_op;
    t["Pad"] = pad_op;
    t["Resize"] = resize_op;
    t["Upsample"] = resize_op;
    t["Shape"] = shape_op;
    t["Size"] = size_op;
    t["ConstantOfShape"] = constant_of_shape_op;
    t["Range"] = range_op;
    t["Constant"] = constant_op;
    t["TopK"] = topk_op;
    t["DepthToSpace"] = depth_to_space_op;
    t["SpaceToDepth"] = depth_to_space_op;
    return t;
  }();
  return table;
}

// Ops that only reinterpret their first input's bytes: a constant input gives
// a constant output without running anything.
bool is_data_preserving(const std::string& op) {
  return op == "Identity" || op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze";
}

}  // namespace

bool is_deterministic(const Graph& graph, const Node& node) {
  static const std::set<std::string> random_ops = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                                   "RandomUniformLike", "Multinomial", "Bernoulli"};
  if (!node.domain.empty()) return false;  // unknown semantics: never fold
  if (random_ops.count(node.op_type)) return false;
  if (node.op_type == "Dropout") {
    if (node.opset >= 12) {
      if (node.inputs.size() > 2 && node.inputs[2] >= 0) {
        const Value& v = graph.values[static_cast<size_t>(node.inputs[2])];
        if (!v.constant) return false;
        return v.constant->numel() == 1 && v.constant->bytes.at(0) == 0;
      }
      return true;
    }
    return node.opset >= 7 || node.get_int("is_test", 0) != 0;
  }
  return true;
}

void set_input_shapes(Graph& graph, const std::map<std::string, Shape>& shapes) {
  for (const auto& [name, shape] : shapes) {
    int id = -1;
    for (int in : graph.inputs) {
      if (graph.values[static_cast<size_t>(in)].name == name) id = in;
    }
    if (id < 0) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("'{}' is not a runtime input of the graph (cannot set its shape)", name)};
    }
    for (int64_t d : shape) {
      if (d < 0) {
        throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                    fmt::format("shape {} given for input '{}' has a negative dim", shape_to_string(shape), name)};
      }
    }
    auto declared = graph.declared_shapes.find(id);
    if (declared != graph.declared_shapes.end()) {
      const PartialShape& p = declared->second;
      bool ok = p.size() == shape.size();
      for (size_t k = 0; ok && k < p.size(); ++k) ok = !p[k] || *p[k] == shape[k];
      if (!ok) {
        throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                    fmt::format("shape {} given for input '{}' does not match its declared shape {}",
                                shape_to_string(shape), name, partial_shape_to_string(p))};
      }
    }
    graph.values[static_cast<size_t>(id)].shape = shape;
  }
}

void bind_input_constants(Graph& graph, const std::map<std::string, HostTensor>& values) {
  for (const auto& [name, tensor] : values) {
    auto it = std::find_if(graph.inputs.begin(), graph.inputs.end(),
                           [&](int id) { return graph.values[static_cast<size_t>(id)].name == name; });
    if (it == graph.inputs.end()) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("'{}' is not a runtime input of the graph", name)};
    }
    Value& v = graph.values[static_cast<size_t>(*it)];
    if (v.dtype != tensor.dtype) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("value given for input '{}' is {}, the input is {}", name,
                                                            dtype_name(tensor.dtype), dtype_name(v.dtype))};
    }
    if (tensor.bytes.size() != static_cast<size_t>(tensor.numel()) * dtype_size(tensor.dtype)) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("value given for input '{}' has {} bytes for shape {}", name, tensor.bytes.size(),
                              shape_to_string(tensor.shape))};
    }
    set_input_shapes(graph, {{name, tensor.shape}});
    v.constant = std::make_shared<const HostTensor>(tensor);
    graph.inputs.erase(it);
  }
}

void infer_node_shapes(Graph& graph, size_t node_index) {
  const Node& node = graph.nodes.at(node_index);
  Ctx c(graph, node);
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i] < 0) continue;
    const Value& v = graph.values[static_cast<size_t>(node.inputs[i])];
    if (v.producer >= static_cast<int>(node_index)) {
      throw Error{HXRT_STATUS_INTERNAL, fmt::format("{} node '{}': input '{}' is produced by a later node",
                                                    node.op_type, node.name, v.name)};
    }
    if (!v.shape) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("{} node '{}': input '{}' has no known shape", node.op_type, node.name, v.name)};
    }
  }
  const auto& table = shape_functions();
  auto fn = node.domain.empty() ? table.find(node.op_type) : table.end();
  if (fn != table.end()) {
    fn->second(c);
  } else {
    // No shape function: accept the model's own fully static declarations.
    bool declared = !node.outputs.empty();
    for (int out : node.outputs) {
      if (out < 0) continue;
      auto d = graph.declared_shapes.find(out);
      if (d == graph.declared_shapes.end() || graph.values[static_cast<size_t>(out)].dtype == HXRT_DTYPE_UNDEFINED) {
        declared = false;
        break;
      }
      for (const auto& dim : d->second) declared = declared && dim.has_value();
    }
    if (!declared) {
      c.fail(HXRT_STATUS_UNIMPLEMENTED,
             fmt::format("no shape inference for op {}{}{} (opset {}) and the model does not declare static output "
                         "shapes",
                         node.domain, node.domain.empty() ? "" : ":", node.op_type, node.opset));
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o] < 0) continue;
      Value& v = graph.values[static_cast<size_t>(node.outputs[o])];
      Shape s;
      for (const auto& dim : graph.declared_shapes[node.outputs[o]]) s.push_back(*dim);
      v.shape = s;
    }
  }
  for (size_t o = 0; o < node.outputs.size(); ++o) {
    if (node.outputs[o] < 0) continue;
    const Value& v = graph.values[static_cast<size_t>(node.outputs[o])];
    if (!v.shape || v.dtype == HXRT_DTYPE_UNDEFINED) {
      c.fail(HXRT_STATUS_UNIMPLEMENTED, fmt::format("could not infer the dtype and shape of output {} ('{}')", o, v.name));
    }
  }
}

void infer_shapes(Graph& graph, const ConstantFolder& fold) {
  for (int in : graph.inputs) {
    const Value& v = graph.values[static_cast<size_t>(in)];
    if (v.dtype == HXRT_DTYPE_UNDEFINED) {
      throw Error{HXRT_STATUS_INVALID_ARGUMENT, fmt::format("graph input '{}' has no element type", v.name)};
    }
    if (!v.shape) {
      auto d = graph.declared_shapes.find(in);
      throw Error{HXRT_STATUS_INVALID_ARGUMENT,
                  fmt::format("graph input '{}' has a dynamic or unknown shape {}; give it a static shape "
                              "(set_input_shapes)",
                              v.name, d == graph.declared_shapes.end() ? "(none declared)"
                                                                       : partial_shape_to_string(d->second))};
    }
  }
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    infer_node_shapes(graph, k);
    const Node& node = graph.nodes[k];
    bool outputs_constant = true;
    for (int out : node.outputs) {
      if (out >= 0 && !graph.values[static_cast<size_t>(out)].constant) outputs_constant = false;
    }
    if (outputs_constant) continue;  // Shape, Size
    bool all_constant = false;
    for (int in : node.inputs) {
      if (in < 0) continue;
      all_constant = true;
      if (!graph.values[static_cast<size_t>(in)].constant) {
        all_constant = false;
        break;
      }
    }
    if (!all_constant || !is_deterministic(graph, node)) continue;
    if (is_data_preserving(node.op_type) && node.outputs.size() == 1 && node.outputs[0] >= 0) {
      Value& out = graph.values[static_cast<size_t>(node.outputs[0])];
      auto t = std::make_shared<HostTensor>(*graph.values[static_cast<size_t>(node.inputs[0])].constant);
      t->shape = *out.shape;
      out.constant = std::move(t);
      continue;
    }
    if (!fold) continue;
    auto results = fold(graph, node);
    if (results.empty()) continue;
    if (results.size() != node.outputs.size()) {
      throw Error{HXRT_STATUS_INTERNAL,
                  fmt::format("{} node '{}': constant folding returned {} tensors for {} outputs", node.op_type,
                              node.name, results.size(), node.outputs.size())};
    }
    for (size_t o = 0; o < results.size(); ++o) {
      if (node.outputs[o] < 0 || !results[o]) continue;
      Value& out = graph.values[static_cast<size_t>(node.outputs[o])];
      if (results[o]->dtype != out.dtype || results[o]->shape != *out.shape ||
          results[o]->bytes.size() != static_cast<size_t>(results[o]->numel()) * dtype_size(results[o]->dtype)) {
        throw Error{HXRT_STATUS_INTERNAL,
                    fmt::format("{} node '{}': folded output {} is {} {} but inference says {} {}", node.op_type,
                                node.name, o, dtype_name(results[o]->dtype), shape_to_string(results[o]->shape),
                                dtype_name(out.dtype), shape_to_string(*out.shape))};
      }
      out.constant = results[o];
    }
  }
  for (int out : graph.outputs) {
    const Value& v = graph.values[static_cast<size_t>(out)];
    if (!v.shape) throw Error{HXRT_STATUS_INTERNAL, fmt::format("graph output '{}' has no shape", v.name)};
  }
}

}  // namespace hxrt::host
