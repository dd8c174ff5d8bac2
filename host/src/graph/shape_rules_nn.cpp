// Shape rules of neural-network layers: MatMul/Gemm, convolutions, pooling
// and normalizations.
#include <string>
#include <vector>

#include "graph/shape_rules.hpp"
#include "graph/tensor_proto.hpp"

namespace hxrt::host::shape_rules {

namespace {

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

// The output of a sliding window (Conv, pools) over X (N, C, spatial...):
// N, `channels`, then the windowed spatial dims.
Shape window_output(const Ctx& c, const Shape& x, int64_t channels, const WindowParams& p) {
  const size_t spatial = p.kernel.size();
  Shape out{x[0], channels};
  for (size_t k = 0; k < spatial; ++k) {
    const int64_t in = x[k + 2], s = p.strides[k];
    const int64_t dk = (p.kernel[k] - 1) * p.dilations[k] + 1;
    if (p.auto_pad == "SAME_UPPER" || p.auto_pad == "SAME_LOWER") {
      out.push_back(ceil_div(in, s));
      continue;
    }
    const int64_t pb = p.auto_pad == "VALID" ? 0 : p.pads[k];
    const int64_t pe = p.auto_pad == "VALID" ? 0 : p.pads[k + spatial];
    const int64_t span = in + pb + pe - dk;
    if (span < 0) {
      c.invalid(fmt::format("spatial dim {} of size {} (padded {}) is smaller than the (dilated) kernel {}", k, in,
                            in + pb + pe, dk));
    }
    int64_t o = (p.ceil_mode ? ceil_div(span, s) : span / s) + 1;
    // The last window must start inside the input or the left padding.
    if (p.ceil_mode && (o - 1) * s >= in + pb) --o;
    out.push_back(o);
  }
  return out;
}

void check_rank_at_least(const Ctx& c, size_t i, size_t r, const char* name) {
  if (c.shape(i).size() < r) {
    c.invalid(fmt::format("input {} must have rank >= {} (N, C, spatial...), has shape {}", name, r,
                          shape_to_string(c.shape(i))));
  }
}

// Checks Conv's / ConvTranspose's X (N, C, spatial...) against W of the same
// rank and returns the `group` attribute.
int64_t conv_group(const Ctx& c) {
  check_rank_at_least(c, 0, 3, "X");
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (w.size() != x.size()) {
    c.invalid(fmt::format("input X has rank {} ({}) but W has rank {} ({})", x.size(), shape_to_string(x), w.size(),
                          shape_to_string(w)));
  }
  const int64_t group = c.n.get_int("group", 1);
  if (group <= 0) c.invalid(fmt::format("group {} must be positive", group));
  return group;
}

// kernel_shape, by default W's spatial dims.
std::vector<int64_t> conv_kernel(const Ctx& c) {
  const Shape& w = c.shape(1);
  return c.n.get_ints("kernel_shape", Shape(w.begin() + 2, w.end()));
}

void conv_op(Ctx& c) {
  const int64_t group = conv_group(c);
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (x[1] != w[1] * group) {
    c.invalid(fmt::format("X has {} channels but W {} with group {} expects {}", x[1], shape_to_string(w), group,
                          w[1] * group));
  }
  if (w[0] % group != 0) c.invalid(fmt::format("W's output channels {} are not divisible by group {}", w[0], group));
  const std::vector<int64_t> kernel = conv_kernel(c);
  if (kernel != Shape(w.begin() + 2, w.end())) {
    c.invalid(fmt::format("kernel_shape {} does not match W {}", ints_to_string(kernel), shape_to_string(w)));
  }
  if (c.has(2) && (c.shape(2).size() != 1 || c.shape(2)[0] != w[0])) {
    c.invalid(fmt::format("bias B has shape {}, expected [{}]", shape_to_string(c.shape(2)), w[0]));
  }
  WindowParams p = window_params(c, x.size() - 2, kernel);
  p.ceil_mode = false;
  c.set(0, c.n.op_type == "ConvInteger" ? HXRT_DTYPE_INT32 : c.dtype(0), window_output(c, x, w[0], p));
}

void conv_transpose_op(Ctx& c) {
  const int64_t group = conv_group(c);
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (x[1] != w[0]) c.invalid(fmt::format("X has {} channels but W {} expects {}", x[1], shape_to_string(w), w[0]));
  const size_t spatial = x.size() - 2;
  const std::vector<int64_t> kernel = conv_kernel(c);
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
  const WindowParams p = window_params(c, x.size() - 2, ks->ints);
  const Shape out = window_output(c, x, x[1], p);
  c.set(0, c.dtype(0), out);
  c.set(1, HXRT_DTYPE_INT64, out);  // MaxPool's Indices
}

void global_pool_op(Ctx& c) {
  check_rank_at_least(c, 0, 2, "X");
  Shape out = c.shape(0);
  for (size_t k = 2; k < out.size(); ++k) out[k] = 1;
  c.set(0, c.dtype(0), out);
}

// ---------------------------------------------------------------- normalization

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

}  // namespace

void register_nn_rules(ShapeRuleTable& t) {
  t.insert({{"MatMul", matmul_op}, {"MatMulInteger", matmul_op}, {"Gemm", gemm_op}, {"Conv", conv_op},
            {"ConvInteger", conv_op}, {"ConvTranspose", conv_transpose_op}, {"BatchNormalization", batchnorm_op},
            {"LayerNormalization", layernorm_op}});
  for (const char* op : {"MaxPool", "AveragePool", "LpPool"}) t[op] = pool_op;
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}) t[op] = global_pool_op;
}

}  // namespace hxrt::host::shape_rules
