// Normalization kernels: BatchNormalization, LRN, Softmax/LogSoftmax (oneDNN)
// and LayerNormalization (direct loops in double precision, which also give
// the optional Mean/InvStdDev outputs and any Scale/B broadcast).
#include <cmath>

#include "onednn_common.hpp"

namespace hxrt::cpu::onednn {
namespace {

using plugin::shape_of;

std::unique_ptr<Kernel> make_batchnorm(const NodeReader& node) {
  require_f32(node);
  if (node.get_int("training_mode", 0) != 0)
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "BatchNormalization: training_mode=1 is not supported");
  for (size_t i = 1; i < node.num_outputs(); ++i)
    if (node.has_output(i))
      throw Unsupported(HXRT_UNSUPPORTED_OTHER, "BatchNormalization: the training outputs are not supported");
  if (node.opset() < 9 && node.get_int("spatial", 1) == 0)
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "BatchNormalization: spatial=0 is not supported");
  Shape xs = shape_of(node.input(0));
  require_rank(xs, 2, 5, "BatchNormalization input");
  int64_t C = xs[1];
  for (size_t i = 1; i <= 4; ++i)
    if (plugin::element_count(shape_of(node.input(i))) != C)
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "BatchNormalization: scale/B/mean/var must have C elements");
  float eps = node.get_float("epsilon", 1e-5f);
  memory::desc x_md = plain_md(xs), c_md = plain_md({C});
  auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
               dnnl::normalization_flags::use_shift;
  dnnl::batch_normalization_forward::desc desc(dnnl::prop_kind::forward_inference, x_md, eps, flags);
  dnnl::batch_normalization_forward::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::batch_normalization_forward(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, x_md);
  k->bind_weights(DNNL_ARG_SCALE, node, 1, c_md, c_md);
  k->bind_weights(DNNL_ARG_SHIFT, node, 2, c_md, c_md);
  k->bind_weights(DNNL_ARG_MEAN, node, 3, c_md, c_md);
  k->bind_weights(DNNL_ARG_VARIANCE, node, 4, c_md, c_md);
  k->bind_output(DNNL_ARG_DST, 0, x_md);
  return k;
}

std::unique_ptr<Kernel> make_lrn(const NodeReader& node) {
  require_f32(node);
  Shape xs = shape_of(node.input(0));
  require_rank(xs, 3, 5, "LRN input");
  int64_t size = node.get_int("size", 0);
  if (size < 1 || size % 2 == 0)
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "LRN: only odd sizes are supported (oneDNN centers the window)");
  float alpha = node.get_float("alpha", 1e-4f), beta = node.get_float("beta", 0.75f), bias = node.get_float("bias", 1.0f);
  memory::desc x_md = plain_md(xs);
  dnnl::lrn_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::lrn_across_channels, x_md, size,
                               alpha, beta, bias);
  dnnl::lrn_forward::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::lrn_forward(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, x_md);
  k->bind_output(DNNL_ARG_DST, 0, x_md);
  return k;
}

std::unique_ptr<Kernel> make_softmax(const NodeReader& node, bool log) {
  require_f32(node);
  Shape xs = shape_of(node.input(0));
  if (xs.empty()) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": scalar input");
  auto rank = static_cast<int64_t>(xs.size());
  Shape shape;
  int axis;
  if (node.opset() < 13) {
    // Coerced to 2-D at `axis` (default 1).
    int64_t a = node.get_int("axis", 1);
    if (a < 0) a += rank;
    if (a < 0 || a > rank) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": axis out of range");
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < a ? outer : inner) *= xs[static_cast<size_t>(i)];
    shape = {outer, inner};
    axis = 1;
  } else {
    shape = xs;
    axis = static_cast<int>(normalize_axis(node.get_int("axis", -1), rank, node));
  }
  memory::desc md = plain_md(shape);
  dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference,
                                      log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate, md, md,
                                      axis);
  dnnl::softmax_v2_forward::primitive_desc pd(desc, make_attr(), engine());
  auto k = std::make_unique<PrimitiveKernel>(dnnl::softmax_v2_forward(pd), pd.scratchpad_desc());
  k->bind_input(DNNL_ARG_SRC, 0, md);
  k->bind_output(DNNL_ARG_DST, 0, md);
  return k;
}

// Index of `i` (an index into a tensor of shape `full`, last `inner_rank`
// dims) into a tensor of shape `small` broadcast to those dims.
std::vector<int64_t> broadcast_index_map(const Shape& full_tail, const Shape& small) {
  // Returns, for each flat index of full_tail, the flat index into small.
  size_t r = full_tail.size();
  Shape s(r, 1);
  for (size_t i = 0; i < small.size() && i < r; ++i) s[r - small.size() + i] = small[i];
  int64_t n = plugin::element_count(full_tail);
  std::vector<int64_t> map(static_cast<size_t>(n));
  std::vector<int64_t> idx(r, 0);
  for (int64_t f = 0; f < n; ++f) {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) off = off * s[d] + (s[d] == 1 ? 0 : idx[d]);
    map[static_cast<size_t>(f)] = off;
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < full_tail[d]) break;
      idx[d] = 0;
    }
  }
  return map;
}

std::unique_ptr<Kernel> make_layernorm(const NodeReader& node) {
  require_f32(node);
  Shape xs = shape_of(node.input(0));
  if (xs.empty()) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "LayerNormalization: scalar input");
  auto rank = static_cast<int64_t>(xs.size());
  int64_t axis = normalize_axis(node.get_int("axis", -1), rank, node);
  if (node.get_int("stash_type", 1) != 1)
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "LayerNormalization: only stash_type=1 (float) is supported");
  float eps = node.get_float("epsilon", 1e-5f);
  Shape tail(xs.begin() + axis, xs.end());
  int64_t outer = 1, inner = plugin::element_count(tail);
  for (int64_t i = 0; i < axis; ++i) outer *= xs[static_cast<size_t>(i)];
  Shape scale_shape = shape_of(node.input(1));
  bool has_b = node.has_input(2);
  Shape b_shape = has_b ? shape_of(node.input(2)) : Shape{};
  for (const Shape* s : {&scale_shape, &b_shape}) {
    if (s->size() > tail.size())
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "LayerNormalization: Scale/B rank exceeds the normalized rank");
    for (size_t i = 0; i < s->size(); ++i) {
      int64_t want = tail[tail.size() - s->size() + i];
      if ((*s)[i] != want && (*s)[i] != 1)
        throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "LayerNormalization: Scale/B do not broadcast to the normalized shape");
    }
  }
  auto scale_map = broadcast_index_map(tail, scale_shape);
  auto b_map = has_b ? broadcast_index_map(tail, b_shape) : std::vector<int64_t>{};
  bool want_mean = node.has_output(1), want_inv = node.has_output(2);
  return std::make_unique<FunctionKernel>([=](const std::vector<const void*>& in, const std::vector<void*>& out) {
    const float* x = static_cast<const float*>(in[0]);
    const float* scale = static_cast<const float*>(in[1]);
    const float* b = has_b ? static_cast<const float*>(in[2]) : nullptr;
    float* y = static_cast<float*>(out[0]);
    float* mean_out = want_mean ? static_cast<float*>(out[1]) : nullptr;
    float* inv_out = want_inv ? static_cast<float*>(out[2]) : nullptr;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
      const float* xr = x + o * inner;
      float* yr = y + o * inner;
      double sum = 0;
      for (int64_t i = 0; i < inner; ++i) sum += xr[i];
      double mean = inner > 0 ? sum / static_cast<double>(inner) : 0.0;
      double var = 0;
      for (int64_t i = 0; i < inner; ++i) var += (xr[i] - mean) * (xr[i] - mean);
      var = inner > 0 ? var / static_cast<double>(inner) : 0.0;
      double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
      for (int64_t i = 0; i < inner; ++i) {
        double v = (xr[i] - mean) * inv * scale[scale_map[static_cast<size_t>(i)]];
        if (b != nullptr) v += b[b_map[static_cast<size_t>(i)]];
        yr[i] = static_cast<float>(v);
      }
      if (mean_out) mean_out[o] = static_cast<float>(mean);
      if (inv_out) inv_out[o] = static_cast<float>(inv);
    }
  });
}

}  // namespace

void register_onednn_norm_kernels() {
  register_onednn("BatchNormalization", 7, 22, make_batchnorm);
  register_onednn("LRN", 1, 22, make_lrn);
  register_onednn("Softmax", 1, 22, [](const NodeReader& n) { return make_softmax(n, false); });
  register_onednn("LogSoftmax", 1, 22, [](const NodeReader& n) { return make_softmax(n, true); });
  register_onednn("LayerNormalization", 17, 22, make_layernorm);
}

}  // namespace hxrt::cpu::onednn
