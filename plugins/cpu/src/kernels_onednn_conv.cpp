// oneDNN convolution, deconvolution (ConvTranspose) and pooling kernels, with
// small direct fallbacks for the ONNX corner cases oneDNN cannot express
// (negative deconvolution padding, average pooling with dilations or with
// count_include_pad windows that run past the explicit padding).
#include <algorithm>
#include <cmath>
#include <limits>

#include "onednn_common.hpp"

namespace hxrt::cpu::onednn {
namespace {

using plugin::shape_of;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

struct Spatial {
  dims kernel, strides, dilations /* ONNX: 1 = dense */, pad_l, pad_r /* for oneDNN */, pad_e /* explicit end */;
  dims onednn_dilations() const {
    dims d(dilations.size());
    for (size_t i = 0; i < d.size(); ++i) d[i] = dilations[i] - 1;
    return d;
  }
};

std::vector<int64_t> ints_or(const NodeReader& node, const char* name, size_t n, int64_t fill) {
  auto v = node.get_ints(name, std::vector<int64_t>(n, fill));
  if (v.size() != n)
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": attribute " + name + " has " +
                                                      std::to_string(v.size()) + " values, expected " + std::to_string(n));
  return v;
}

// Pads for a forward window op (Conv, pools): pad_l from auto_pad/pads, pad_r
// such that oneDNN's output-size formula yields the node's output size.
Spatial forward_spatial(const NodeReader& node, const Shape& xs, const Shape& ys, const dims& kernel) {
  size_t sd = xs.size() - 2;
  Spatial sp;
  sp.kernel = kernel;
  sp.strides = ints_or(node, "strides", sd, 1);
  sp.dilations = ints_or(node, "dilations", sd, 1);
  auto pads = ints_or(node, "pads", 2 * sd, 0);
  std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  sp.pad_l.resize(sd);
  sp.pad_r.resize(sd);
  sp.pad_e.resize(sd);
  for (size_t i = 0; i < sd; ++i) {
    int64_t in = xs[2 + i], out = ys[2 + i], s = sp.strides[i];
    int64_t ek = (kernel[i] - 1) * sp.dilations[i] + 1;
    if (s < 1 || sp.dilations[i] < 1 || kernel[i] < 1)
      throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": invalid strides/dilations/kernel");
    int64_t pl = 0, pe = 0;
    if (auto_pad == "NOTSET" || auto_pad.empty()) {
      pl = pads[i];
      pe = pads[i + sd];
    } else if (auto_pad == "VALID") {
      pl = pe = 0;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - in);
      pl = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pl;
    } else {
      throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": auto_pad '" + auto_pad + "' is not supported");
    }
    if (pl < 0 || pe < 0) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": negative pads");
    int64_t pr = pe;
    if (in + pl + pr - ek < 0 || (in + pl + pr - ek) / s + 1 != out) pr = (out - 1) * s + ek - in - pl;
    if (pr < 0) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": output size needs negative padding");
    sp.pad_l[i] = pl;
    sp.pad_r[i] = pr;
    sp.pad_e[i] = pe;
  }
  return sp;
}

memory::desc any_md(const Shape& shape) { return memory::desc(dims(shape.begin(), shape.end()), memory::data_type::f32, memory::format_tag::any); }

// What Conv and ConvTranspose share once their shapes are worked out: a
// forward-inference oneDNN primitive (convolution_forward or
// deconvolution_forward) of `algorithm` with plain f32 src/dst, weights of
// dims `wd` given in layout `w_user` and reordered for the primitive, and an
// optional [M] bias. `dilations` and the pads are in oneDNN's convention.
template <typename Primitive>
std::unique_ptr<Kernel> conv_primitive(const NodeReader& node, dnnl::algorithm algorithm, const Shape& xs,
                                       const Shape& ys, const dims& wd, const memory::desc& w_user, int64_t M,
                                       bool has_bias, const dims& strides, const dims& dilations, const dims& pad_l,
                                       const dims& pad_r) {
  memory::desc w_any(wd, memory::data_type::f32, memory::format_tag::any);
  memory::desc b_md = plain_md({M});
  auto desc = has_bias ? typename Primitive::desc(dnnl::prop_kind::forward_inference, algorithm, any_md(xs), w_any,
                                                  b_md, any_md(ys), strides, dilations, pad_l, pad_r)
                       : typename Primitive::desc(dnnl::prop_kind::forward_inference, algorithm, any_md(xs), w_any,
                                                  any_md(ys), strides, dilations, pad_l, pad_r);
  typename Primitive::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(Primitive(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, plain_md(xs), pd.src_desc());
  k->bind_weights(DNNL_ARG_WEIGHTS, node, 1, w_user, pd.weights_desc());
  if (has_bias) k->bind_weights(DNNL_ARG_BIAS, node, 2, b_md, pd.bias_desc());
  k->bind_output(DNNL_ARG_DST, 0, plain_md(ys), pd.dst_desc());
  return k;
}

// ---------------------------------------------------------------------------
// Conv
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> make_conv(const NodeReader& node) {
  require_f32(node);
  Shape xs = shape_of(node.input(0)), ws = shape_of(node.input(1)), ys = shape_of(node.output(0));
  require_rank(xs, 3, 5, "Conv input");
  if (ws.size() != xs.size() || ys.size() != xs.size())
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Conv: weight/output rank differs from the input's");
  size_t sd = xs.size() - 2;
  int64_t group = node.get_int("group", 1);
  int64_t C = xs[1], M = ws[0];
  if (group < 1 || C % group != 0 || M % group != 0 || ws[1] != C / group || ys[1] != M)
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Conv: inconsistent group/channel counts");
  dims kernel(ws.begin() + 2, ws.end());
  if (node.has("kernel_shape") && node.get_ints("kernel_shape") != std::vector<int64_t>(kernel.begin(), kernel.end()))
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Conv: kernel_shape differs from the weights' shape");
  Spatial sp = forward_spatial(node, xs, ys, kernel);
  bool has_bias = node.has_input(2);
  if (has_bias && shape_of(node.input(2)) != Shape{M})
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Conv: bias must have shape [M]");

  dims wd;
  if (group > 1) {
    wd = {group, M / group, C / group};
  } else {
    wd = {M, C};
  }
  wd.insert(wd.end(), kernel.begin(), kernel.end());
  memory::desc w_user(wd, memory::data_type::f32, row_major_strides(wd));
  (void)sd;
  return conv_primitive<dnnl::convolution_forward>(node, dnnl::algorithm::convolution_direct, xs, ys, wd, w_user, M,
                                                   has_bias, sp.strides, sp.onednn_dilations(), sp.pad_l, sp.pad_r);
}

// ---------------------------------------------------------------------------
// ConvTranspose
// ---------------------------------------------------------------------------

// Pads one spatial dimension up to three (unit dims in front) for the direct loops.
struct Dims3 {
  int64_t v[3] = {1, 1, 1};
};
Dims3 to3(const std::vector<int64_t>& d, int64_t fill) {
  Dims3 r;
  for (int i = 0; i < 3; ++i) r.v[i] = fill;
  size_t off = 3 - d.size();
  for (size_t i = 0; i < d.size(); ++i) r.v[off + i] = d[i];
  return r;
}

struct DeconvParams {
  int64_t N, C, M, group;
  Dims3 in, out, k, s, d, pl;
  bool has_bias;
};

// Direct ConvTranspose: y[n,m,o] = b[m] + sum x[n,c,i] * w[c,m',k] with o = i*s + k*d - pl.
void deconv_direct(const DeconvParams& p, const float* x, const float* w, const float* b, float* y) {
  int64_t Cg = p.C / p.group, Mg = p.M / p.group;
  int64_t in_sz = p.in.v[0] * p.in.v[1] * p.in.v[2];
  int64_t out_sz = p.out.v[0] * p.out.v[1] * p.out.v[2];
  int64_t k_sz = p.k.v[0] * p.k.v[1] * p.k.v[2];
  std::vector<double> acc(static_cast<size_t>(out_sz));
  for (int64_t n = 0; n < p.N; ++n) {
    for (int64_t m = 0; m < p.M; ++m) {
      int64_t g = m / Mg, mg = m % Mg;
      std::fill(acc.begin(), acc.end(), p.has_bias ? static_cast<double>(b[m]) : 0.0);
      for (int64_t cg = 0; cg < Cg; ++cg) {
        int64_t c = g * Cg + cg;
        const float* xc = x + (n * p.C + c) * in_sz;
        const float* wc = w + (c * Mg + mg) * k_sz;
        for (int64_t i0 = 0; i0 < p.in.v[0]; ++i0)
          for (int64_t i1 = 0; i1 < p.in.v[1]; ++i1)
            for (int64_t i2 = 0; i2 < p.in.v[2]; ++i2) {
              double xv = xc[(i0 * p.in.v[1] + i1) * p.in.v[2] + i2];
              for (int64_t k0 = 0; k0 < p.k.v[0]; ++k0) {
                int64_t o0 = i0 * p.s.v[0] + k0 * p.d.v[0] - p.pl.v[0];
                if (o0 < 0 || o0 >= p.out.v[0]) continue;
                for (int64_t k1 = 0; k1 < p.k.v[1]; ++k1) {
                  int64_t o1 = i1 * p.s.v[1] + k1 * p.d.v[1] - p.pl.v[1];
                  if (o1 < 0 || o1 >= p.out.v[1]) continue;
                  for (int64_t k2 = 0; k2 < p.k.v[2]; ++k2) {
                    int64_t o2 = i2 * p.s.v[2] + k2 * p.d.v[2] - p.pl.v[2];
                    if (o2 < 0 || o2 >= p.out.v[2]) continue;
                    acc[static_cast<size_t>((o0 * p.out.v[1] + o1) * p.out.v[2] + o2)] +=
                        xv * wc[(k0 * p.k.v[1] + k1) * p.k.v[2] + k2];
                  }
                }
              }
            }
      }
      float* yc = y + (n * p.M + m) * out_sz;
      for (int64_t o = 0; o < out_sz; ++o) yc[o] = static_cast<float>(acc[static_cast<size_t>(o)]);
    }
  }
}

std::unique_ptr<Kernel> make_conv_transpose(const NodeReader& node) {
  require_f32(node);
  Shape xs = shape_of(node.input(0)), ws = shape_of(node.input(1)), ys = shape_of(node.output(0));
  require_rank(xs, 3, 5, "ConvTranspose input");
  if (ws.size() != xs.size() || ys.size() != xs.size())
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "ConvTranspose: weight/output rank differs from the input's");
  size_t sd = xs.size() - 2;
  int64_t group = node.get_int("group", 1);
  int64_t C = xs[1];
  if (group < 1 || C % group != 0 || ws[0] != C) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "ConvTranspose: bad group");
  int64_t Mg = ws[1], M = Mg * group;
  if (ys[1] != M) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "ConvTranspose: output channels mismatch");
  dims kernel(ws.begin() + 2, ws.end());
  auto strides = ints_or(node, "strides", sd, 1);
  auto dil = ints_or(node, "dilations", sd, 1);
  auto pads = ints_or(node, "pads", 2 * sd, 0);
  auto out_pad = ints_or(node, "output_padding", sd, 0);
  bool has_output_shape = node.has("output_shape");
  std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  bool has_bias = node.has_input(2);
  if (has_bias && shape_of(node.input(2)) != Shape{M})
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "ConvTranspose: bias must have shape [M]");
  dims pl(sd), pr(sd), dd(sd);
  bool negative = false;
  for (size_t i = 0; i < sd; ++i) {
    int64_t in = xs[2 + i], out = ys[2 + i], s = strides[i];
    int64_t ek = (kernel[i] - 1) * dil[i] + 1;
    if (has_output_shape || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t total = s * (in - 1) + out_pad[i] + ek - out;
      pl[i] = auto_pad == "SAME_UPPER" ? floor_div(total, 2) : total - floor_div(total, 2);
    } else if (auto_pad == "VALID") {
      pl[i] = 0;
    } else if (auto_pad == "NOTSET" || auto_pad.empty()) {
      pl[i] = pads[i];
    } else {
      throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "ConvTranspose: auto_pad '" + auto_pad + "' is not supported");
    }
    pr[i] = s * (in - 1) + ek - pl[i] - out;
    dd[i] = dil[i] - 1;
    if (pl[i] < 0 || pr[i] < 0) negative = true;
  }
  if (negative) {
    // oneDNN rejects negative padding (output larger than the full result):
    // fall back to the direct loops.
    DeconvParams p;
    p.N = xs[0];
    p.C = C;
    p.M = M;
    p.group = group;
    p.in = to3(std::vector<int64_t>(xs.begin() + 2, xs.end()), 1);
    p.out = to3(std::vector<int64_t>(ys.begin() + 2, ys.end()), 1);
    p.k = to3(std::vector<int64_t>(kernel.begin(), kernel.end()), 1);
    p.s = to3(strides, 1);
    p.d = to3(dil, 1);
    p.pl = to3(std::vector<int64_t>(pl.begin(), pl.end()), 0);
    p.has_bias = has_bias;
    return std::make_unique<FunctionKernel>([p](const std::vector<const void*>& in, const std::vector<void*>& out) {
      deconv_direct(p, static_cast<const float*>(in[0]), static_cast<const float*>(in[1]),
                    p.has_bias ? static_cast<const float*>(in[2]) : nullptr, static_cast<float*>(out[0]));
    });
  }
  // ONNX weights are [C, M/g, k...]; oneDNN wants (g, M/g, C/g, k...) or (M, C, k...).
  int64_t ksz = 1;
  for (auto kv : kernel) ksz *= kv;
  dims wd, wstr;
  dims kstr = row_major_strides(kernel);
  if (group > 1) {
    int64_t Cg = C / group;
    wd = {group, Mg, Cg};
    wstr = {Cg * Mg * ksz, ksz, Mg * ksz};
  } else {
    wd = {M, C};
    wstr = {ksz, M * ksz};
  }
  wd.insert(wd.end(), kernel.begin(), kernel.end());
  wstr.insert(wstr.end(), kstr.begin(), kstr.end());
  memory::desc w_user(wd, memory::data_type::f32, wstr);
  return conv_primitive<dnnl::deconvolution_forward>(node, dnnl::algorithm::deconvolution_direct, xs, ys, wd, w_user,
                                                     M, has_bias, dims(strides.begin(), strides.end()), dd, pl, pr);
}

// ---------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------

struct PoolParams {
  bool is_max;
  bool count_include_pad;
  int64_t NC;
  Dims3 in, out, k, s, d, pl, pe;
};

// Direct pooling with the ONNX reference semantics: a window is the dilated
// kernel positions; padding never contributes to a max; an average divides by
// the positions inside the input, or (count_include_pad) inside the explicitly
// padded input.
void pool_direct(const PoolParams& p, const float* x, float* y) {
  int64_t in_sz = p.in.v[0] * p.in.v[1] * p.in.v[2];
  int64_t out_sz = p.out.v[0] * p.out.v[1] * p.out.v[2];
  for (int64_t nc = 0; nc < p.NC; ++nc) {
    const float* xc = x + nc * in_sz;
    float* yc = y + nc * out_sz;
    for (int64_t o0 = 0; o0 < p.out.v[0]; ++o0)
      for (int64_t o1 = 0; o1 < p.out.v[1]; ++o1)
        for (int64_t o2 = 0; o2 < p.out.v[2]; ++o2) {
          double acc = p.is_max ? -std::numeric_limits<double>::infinity() : 0.0;
          int64_t count = 0;
          bool any = false;
          int64_t o[3] = {o0, o1, o2};
          int64_t start[3];
          for (int a = 0; a < 3; ++a) start[a] = o[a] * p.s.v[a] - p.pl.v[a];
          for (int64_t k0 = 0; k0 < p.k.v[0]; ++k0) {
            int64_t i0 = start[0] + k0 * p.d.v[0];
            bool in0 = i0 >= 0 && i0 < p.in.v[0];
            bool pad0 = i0 >= -p.pl.v[0] && i0 < p.in.v[0] + p.pe.v[0];
            for (int64_t k1 = 0; k1 < p.k.v[1]; ++k1) {
              int64_t i1 = start[1] + k1 * p.d.v[1];
              bool in1 = i1 >= 0 && i1 < p.in.v[1];
              bool pad1 = i1 >= -p.pl.v[1] && i1 < p.in.v[1] + p.pe.v[1];
              for (int64_t k2 = 0; k2 < p.k.v[2]; ++k2) {
                int64_t i2 = start[2] + k2 * p.d.v[2];
                bool in2 = i2 >= 0 && i2 < p.in.v[2];
                bool pad2 = i2 >= -p.pl.v[2] && i2 < p.in.v[2] + p.pe.v[2];
                bool inside = in0 && in1 && in2;
                if (inside) {
                  double v = xc[(i0 * p.in.v[1] + i1) * p.in.v[2] + i2];
                  if (p.is_max) {
                    if (!any || v > acc || std::isnan(v)) acc = v;
                  } else {
                    acc += v;
                  }
                  any = true;
                }
                if (p.count_include_pad ? (pad0 && pad1 && pad2) : inside) ++count;
              }
            }
          }
          float result;
          if (p.is_max)
            result = any ? static_cast<float>(acc) : -std::numeric_limits<float>::infinity();
          else
            result = count > 0 ? static_cast<float>(acc / static_cast<double>(count))
                               : std::numeric_limits<float>::quiet_NaN();
          yc[(o0 * p.out.v[1] + o1) * p.out.v[2] + o2] = result;
        }
  }
}

std::unique_ptr<Kernel> make_pool(const NodeReader& node, bool is_max) {
  require_f32(node);
  if (is_max && node.has_output(1))
    throw Unsupported(HXRT_UNSUPPORTED_OTHER, "MaxPool: the Indices output is not supported by the oneDNN kernel");
  Shape xs = shape_of(node.input(0)), ys = shape_of(node.output(0));
  require_rank(xs, 3, 5, std::string(node.op_type() == "MaxPool" ? "MaxPool" : "AveragePool").append(" input").c_str());
  if (ys.size() != xs.size()) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": output rank differs");
  size_t sd = xs.size() - 2;
  if (!node.has("kernel_shape")) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": kernel_shape missing");
  auto ks = node.get_ints("kernel_shape");
  if (ks.size() != sd) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": kernel_shape rank mismatch");
  if (is_max && node.get_int("storage_order", 0) != 0 && node.has_output(1))
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "MaxPool: storage_order=1 is not supported");
  dims kernel(ks.begin(), ks.end());
  Spatial sp = forward_spatial(node, xs, ys, kernel);
  bool include_pad = !is_max && node.get_int("count_include_pad", 0) != 0;
  bool dilated = std::any_of(sp.dilations.begin(), sp.dilations.end(), [](int64_t d) { return d != 1; });
  bool overhang = false;
  for (size_t i = 0; i < sd; ++i) overhang = overhang || sp.pad_r[i] > sp.pad_e[i];
  if (!is_max && (dilated || (include_pad && overhang))) {
    PoolParams p;
    p.is_max = false;
    p.count_include_pad = include_pad;
    p.NC = xs[0] * xs[1];
    p.in = to3(std::vector<int64_t>(xs.begin() + 2, xs.end()), 1);
    p.out = to3(std::vector<int64_t>(ys.begin() + 2, ys.end()), 1);
    p.k = to3(std::vector<int64_t>(kernel.begin(), kernel.end()), 1);
    p.s = to3(std::vector<int64_t>(sp.strides.begin(), sp.strides.end()), 1);
    p.d = to3(std::vector<int64_t>(sp.dilations.begin(), sp.dilations.end()), 1);
    p.pl = to3(std::vector<int64_t>(sp.pad_l.begin(), sp.pad_l.end()), 0);
    p.pe = to3(std::vector<int64_t>(sp.pad_e.begin(), sp.pad_e.end()), 0);
    return std::make_unique<FunctionKernel>([p](const std::vector<const void*>& in, const std::vector<void*>& out) {
      pool_direct(p, static_cast<const float*>(in[0]), static_cast<float*>(out[0]));
    });
  }
  auto alg = is_max ? dnnl::algorithm::pooling_max
                    : (include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                   : dnnl::algorithm::pooling_avg_exclude_padding);
  // Pooling needs a defined source layout; plain in, plain out.
  dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, alg, plain_md(xs), plain_md(ys), sp.strides,
                                      kernel, sp.onednn_dilations(), sp.pad_l, sp.pad_r);
  dnnl::pooling_v2_forward::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::pooling_v2_forward(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, plain_md(xs), pd.src_desc());
  k->bind_output(DNNL_ARG_DST, 0, plain_md(ys), pd.dst_desc());
  return k;
}

std::unique_ptr<Kernel> make_global_pool(const NodeReader& node, bool is_max) {
  require_f32(node);
  Shape xs = shape_of(node.input(0)), ys = shape_of(node.output(0));
  require_rank(xs, 3, 5, is_max ? "GlobalMaxPool input" : "GlobalAveragePool input");
  dims kernel(xs.begin() + 2, xs.end());
  Shape ys_full(xs.begin(), xs.begin() + 2);
  ys_full.resize(xs.size(), 1);
  if (plugin::element_count(ys) != plugin::element_count(ys_full))
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": unexpected output shape");
  size_t sd = kernel.size();
  auto alg = is_max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
  dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, alg, plain_md(xs), plain_md(ys_full),
                                      dims(sd, 1), kernel, dims(sd, 0), dims(sd, 0), dims(sd, 0));
  dnnl::pooling_v2_forward::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::pooling_v2_forward(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, plain_md(xs), pd.src_desc());
  k->bind_output(DNNL_ARG_DST, 0, plain_md(ys_full), pd.dst_desc());
  return k;
}

}  // namespace

void register_onednn_conv_kernels() {
  register_onednn("Conv", 1, 22, make_conv);
  register_onednn("ConvTranspose", 1, 22, make_conv_transpose);
}

void register_onednn_pool_kernels() {
  register_onednn("MaxPool", 1, 22, [](const NodeReader& n) { return make_pool(n, true); });
  register_onednn("AveragePool", 1, 22, [](const NodeReader& n) { return make_pool(n, false); });
  register_onednn("GlobalAveragePool", 1, 22, [](const NodeReader& n) { return make_global_pool(n, false); });
  register_onednn("GlobalMaxPool", 1, 22, [](const NodeReader& n) { return make_global_pool(n, true); });
}

}  // namespace hxrt::cpu::onednn
