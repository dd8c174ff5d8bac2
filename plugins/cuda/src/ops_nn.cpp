// Softmax family, LayerNormalization, reductions, pooling and LRN.
#include <algorithm>
#include <numeric>

#include "ops.hpp"

namespace hxrt::cuda {
namespace {

constexpr int kMaxOpset = 25;

int64_t product(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < s.size(); ++i) p *= s[i];
  return p;
}

void require_same_float_io(const NodeReader& node) {
  if (!node.has_input(0) || !node.has_output(0)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "missing input or output");
  require_float(node, node.input(0).dtype);
  if (node.output(0).dtype != node.input(0).dtype)
    throw Unsupported(HXRT_UNSUPPORTED_DTYPE, std::string(node.op_type()) + ": output dtype differs from input");
}

class SoftmaxOp final : public Op {
 public:
  SoftmaxOp(const NodeReader& node, bool log) : log_(log) {
    require_same_float_io(node);
    type_ = ftype_of(node.input(0).dtype);
    Shape s = node.input_info(0).shape;
    int64_t rank = static_cast<int64_t>(s.size());
    if (rank == 0) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Softmax of a scalar");
    bool legacy = node.opset() < 13;
    auto axis = static_cast<size_t>(normalize_axis(node.get_int("axis", legacy ? 1 : -1), rank, node));
    outer_ = product(s, 0, axis);
    if (legacy) {
      d_ = product(s, axis, s.size());
      inner_ = 1;
    } else {
      d_ = s[axis];
      inner_ = product(s, axis + 1, s.size());
    }
  }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    check_launch(k::softmax(type_, in[0], out[0], outer_, d_, inner_, log_, ctx.stream), "softmax kernel");
  }

 private:
  bool log_;
  k::FType type_ = k::FType::kF32;
  int64_t outer_ = 1, d_ = 1, inner_ = 1;
};

class LayerNormOp final : public Op {
 public:
  explicit LayerNormOp(const NodeReader& node) {
    require_same_float_io(node);
    type_ = ftype_of(node.input(0).dtype);
    Shape s = node.input_info(0).shape;
    auto axis = static_cast<size_t>(normalize_axis(node.get_int("axis", -1), static_cast<int64_t>(s.size()), node));
    rows_ = product(s, 0, axis);
    d_ = product(s, axis, s.size());
    eps_ = node.get_float("epsilon", 1e-5f);
    for (size_t i = 1; i <= 2; ++i) {
      if (!node.has_input(i)) continue;
      if (node.input(i).dtype != node.input(0).dtype)
        throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "LayerNormalization: scale/bias dtype differs from X");
      if (node.input_info(i).numel() != d_)
        throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "LayerNormalization: scale/bias must cover the normalized shape");
    }
    if (!node.has_input(1)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "LayerNormalization: missing scale");
    for (size_t i = 1; i <= 2; ++i)
      if (node.has_output(i) && node.output(i).dtype != HXRT_DTYPE_FLOAT32)
        throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "LayerNormalization: Mean/InvStdDev must be float32");
  }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    const void* bias = in.size() > 2 ? in[2] : nullptr;
    float* mean = out.size() > 1 ? static_cast<float*>(out[1]) : nullptr;
    float* rstd = out.size() > 2 ? static_cast<float*>(out[2]) : nullptr;
    check_launch(k::layer_norm(type_, in[0], in[1], bias, out[0], rows_, d_, eps_, mean, rstd, ctx.stream),
                 "layer norm kernel");
  }

 private:
  k::FType type_ = k::FType::kF32;
  int64_t rows_ = 1, d_ = 1;
  float eps_ = 1e-5f;
};

class ReduceOp final : public Op {
 public:
  ReduceOp(const NodeReader& node, int op, int axes_input_opset) : op_(op) {
    require_same_float_io(node);
    type_ = ftype_of(node.input(0).dtype);
    Shape s = node.input_info(0).shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    std::vector<int64_t> axes;
    if (node.opset() >= axes_input_opset) {
      if (node.has_input(1)) {
        TensorInfo a = node.input_info(1);
        if (!a.constant) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "reduction axes must be a compile-time constant");
        axes = a.constant_ints();
      }
    } else {
      axes = node.get_ints("axes");
    }
    if (axes.empty()) {
      if (node.opset() >= axes_input_opset && node.get_int("noop_with_empty_axes", 0) != 0) {
        copy_ = true;
        bytes_ = node.input_info(0).bytes();
        return;
      }
      axes.resize(s.size());
      std::iota(axes.begin(), axes.end(), 0);
    }
    std::vector<bool> reduced(s.size(), false);
    for (int64_t a : axes) reduced[static_cast<size_t>(normalize_axis(a, rank, node))] = true;
    // Dims of size > 1 must read kept* reduced* kept*: one contiguous reduced block.
    int phase = 0;
    outer_ = r_ = inner_ = 1;
    for (size_t d = 0; d < s.size(); ++d) {
      if (s[d] == 1) continue;
      if (reduced[d]) {
        if (phase == 2) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "reduction over non-adjacent axes is not supported on CUDA");
        phase = 1;
        r_ *= s[d];
      } else if (phase == 0) {
        outer_ *= s[d];
      } else {
        phase = 2;
        inner_ *= s[d];
      }
    }
    for (size_t d = 0; d < s.size(); ++d)
      if (reduced[d] && s[d] == 0) r_ = 0;
  }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    if (copy_) {
      if (bytes_ > 0) check_cuda(cudaMemcpyAsync(out[0], in[0], bytes_, cudaMemcpyDeviceToDevice, ctx.stream), "Reduce copy");
      return;
    }
    check_launch(k::reduce(type_, op_, in[0], out[0], outer_, r_, inner_, ctx.stream), "reduce kernel");
  }

 private:
  int op_;
  k::FType type_ = k::FType::kF32;
  bool copy_ = false;
  size_t bytes_ = 0;
  int64_t outer_ = 1, r_ = 1, inner_ = 1;
};

class PoolOp final : public Op {
 public:
  PoolOp(const NodeReader& node, bool max, bool global) {
    require_same_float_io(node);
    if (node.num_outputs() > 1 && node.has_output(1))
      throw Unsupported(HXRT_UNSUPPORTED_OTHER, "MaxPool: the Indices output is not supported on CUDA");
    type_ = ftype_of(node.input(0).dtype);
    Shape x = node.input_info(0).shape, y = node.output_info(0).shape;
    if (x.size() < 3 || x.size() > 4)
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, std::string(node.op_type()) + ": only 1-D and 2-D pooling on CUDA");
    global_ = global;
    max_ = max;
    four_d_ = x.size() == 4;
    batch_ = x[0];
    if (global) {
      rows_ = x[0] * x[1];
      r_ = product(x, 2, x.size());
      return;
    }
    const size_t sp = x.size() - 2;
    auto kernel = node.get_ints("kernel_shape");
    if (kernel.size() != sp) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "pool: kernel_shape rank");
    auto strides = node.get_ints("strides", std::vector<int64_t>(sp, 1));
    auto dil = node.get_ints("dilations", std::vector<int64_t>(sp, 1));
    auto pads = node.get_ints("pads", std::vector<int64_t>(2 * sp, 0));
    if (strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp)
      throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "pool: strides/dilations/pads rank");
    std::string auto_pad = node.get_string("auto_pad", "NOTSET");
    if (auto_pad == "VALID") {
      std::fill(pads.begin(), pads.end(), 0);
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      for (size_t i = 0; i < sp; ++i) {
        int64_t in = x[2 + i], out = y[2 + i];
        int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - in);
        pads[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        pads[i + sp] = total - pads[i];
      }
    } else if (auto_pad != "NOTSET") {
      throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "pool: auto_pad " + auto_pad);
    }
    p_.n = x[0];
    p_.c = x[1];
    p_.max = max;
    p_.count_include_pad = node.get_int("count_include_pad", 0) != 0;
    // 1-D pools run as 2-D with a unit H dimension.
    size_t o = sp == 1 ? 1 : 0;
    auto at = [&](const std::vector<int64_t>& v, size_t i, int64_t unit) { return i < o ? unit : v[i - o]; };
    p_.h = sp == 1 ? 1 : x[2];
    p_.w = x.back();
    p_.oh = sp == 1 ? 1 : y[2];
    p_.ow = y.back();
    p_.kh = static_cast<int>(at(kernel, 0, 1));
    p_.kw = static_cast<int>(kernel.back());
    p_.sh = static_cast<int>(at(strides, 0, 1));
    p_.sw = static_cast<int>(strides.back());
    p_.dh = static_cast<int>(at(dil, 0, 1));
    p_.dw = static_cast<int>(dil.back());
    p_.ph = sp == 1 ? 0 : static_cast<int>(pads[0]);
    p_.pw = static_cast<int>(pads[sp - 1]);
    p_.ph_end = sp == 1 ? 0 : static_cast<int>(pads[sp]);
    p_.pw_end = static_cast<int>(pads[2 * sp - 1]);
  }
  Layout layout() const override { return four_d_ ? Layout::kChannelsLast : Layout::kNchwOnly; }
  bool set_channels_last() override {
    if (!four_d_) return false;
    nhwc_ = true;
    p_.nhwc = true;
    return true;
  }
  bool output_layout_free() const override { return global_; }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    if (global_ && nhwc_)  // [N, HW, C]: reduce the middle dimension
      check_launch(k::reduce(type_, max_ ? k::kRMax : k::kRMean, in[0], out[0], batch_, r_, rows_ / batch_, ctx.stream),
                   "global pool kernel");
    else if (global_)
      check_launch(k::reduce(type_, max_ ? k::kRMax : k::kRMean, in[0], out[0], rows_, r_, 1, ctx.stream),
                   "global pool kernel");
    else
      check_launch(k::pool2d(type_, in[0], out[0], p_, ctx.stream), "pool kernel");
  }

 private:
  k::FType type_ = k::FType::kF32;
  bool global_ = false, max_ = true, four_d_ = false, nhwc_ = false;
  int64_t rows_ = 0, r_ = 0, batch_ = 1;
  k::Pool2d p_;
};

class LrnOp final : public Op {
 public:
  explicit LrnOp(const NodeReader& node) {
    require_same_float_io(node);
    type_ = ftype_of(node.input(0).dtype);
    Shape x = node.input_info(0).shape;
    if (x.size() < 2) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "LRN: rank < 2");
    n_ = x[0];
    c_ = x[1];
    inner_ = product(x, 2, x.size());
    size_ = static_cast<int>(node.get_int("size", 0));
    if (size_ <= 0) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "LRN: size must be positive");
    alpha_ = node.get_float("alpha", 1e-4f);
    beta_ = node.get_float("beta", 0.75f);
    bias_ = node.get_float("bias", 1.f);
  }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    check_launch(k::lrn(type_, in[0], out[0], n_, c_, inner_, size_, alpha_, beta_, bias_, ctx.stream), "lrn kernel");
  }

 private:
  k::FType type_ = k::FType::kF32;
  int64_t n_ = 0, c_ = 0, inner_ = 0;
  int size_ = 1;
  float alpha_ = 0, beta_ = 0, bias_ = 0;
};

void reduce(const char* name, int op, int axes_input_opset) {
  register_op(name, 1, kMaxOpset, [op, axes_input_opset](const NodeReader& node, const OpConfig&) -> std::unique_ptr<Op> {
    return std::make_unique<ReduceOp>(node, op, axes_input_opset);
  });
}

}  // namespace

void register_nn_ops() {
  register_op("Softmax", 1, kMaxOpset, [](const NodeReader& n, const OpConfig&) -> std::unique_ptr<Op> {
    return std::make_unique<SoftmaxOp>(n, false);
  });
  register_op("LogSoftmax", 1, kMaxOpset, [](const NodeReader& n, const OpConfig&) -> std::unique_ptr<Op> {
    return std::make_unique<SoftmaxOp>(n, true);
  });
  register_op("LayerNormalization", 17, kMaxOpset, [](const NodeReader& n, const OpConfig&) -> std::unique_ptr<Op> {
    return std::make_unique<LayerNormOp>(n);
  });
  reduce("ReduceSum", k::kRSum, 13);
  reduce("ReduceMean", k::kRMean, 18);
  reduce("ReduceMax", k::kRMax, 18);
  reduce("ReduceMin", k::kRMin, 18);
  reduce("ReduceProd", k::kRProd, 18);
  reduce("ReduceL1", k::kRL1, 18);
  reduce("ReduceL2", k::kRL2, 18);
  reduce("ReduceSumSquare", k::kRSumSquare, 18);
  reduce("ReduceLogSum", k::kRLogSum, 18);
  reduce("ReduceLogSumExp", k::kRLogSumExp, 18);
  register_op("MaxPool", 1, kMaxOpset, [](const NodeReader& n, const OpConfig&) -> std::unique_ptr<Op> {
    return std::make_unique<PoolOp>(n, true, false);
  });
  register_op("AveragePool", 1, kMaxOpset, [](const NodeReader& n, const OpConfig&) -> std::unique_ptr<Op> {
    return std::make_unique<PoolOp>(n, false, false);
  });
  register_op("GlobalMaxPool", 1, kMaxOpset, [](const NodeReader& n, const OpConfig&) -> std::unique_ptr<Op> {
    return std::make_unique<PoolOp>(n, true, true);
  });
  register_op("GlobalAveragePool", 1, kMaxOpset, [](const NodeReader& n, const OpConfig&) -> std::unique_ptr<Op> {
    return std::make_unique<PoolOp>(n, false, true);
  });
  register_op("LRN", 1, kMaxOpset, [](const NodeReader& n, const OpConfig&) -> std::unique_ptr<Op> {
    return std::make_unique<LrnOp>(n);
  });
}

}  // namespace hxrt::cuda
