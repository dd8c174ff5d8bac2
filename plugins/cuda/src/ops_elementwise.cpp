// Element-wise ops: unary math, broadcasting arithmetic, comparisons, Where,
// Cast and inference BatchNormalization.
#include <cmath>
#include <cstring>

#include "ops.hpp"

namespace hxrt::cuda {
namespace {

constexpr int kMaxOpset = 25;

std::optional<k::NType> ntype_of(hxrt_dtype t) {
  switch (t) {
    case HXRT_DTYPE_FLOAT32: return k::NType::kF32;
    case HXRT_DTYPE_FLOAT16: return k::NType::kF16;
    case HXRT_DTYPE_BFLOAT16: return k::NType::kBF16;
    case HXRT_DTYPE_INT32: return k::NType::kI32;
    case HXRT_DTYPE_INT64: return k::NType::kI64;
    case HXRT_DTYPE_BOOL:
    case HXRT_DTYPE_UINT8: return k::NType::kU8;
    default: return std::nullopt;
  }
}

void require_outputs(const NodeReader& node, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!node.has_output(i))
      throw Unsupported(HXRT_UNSUPPORTED_OTHER, std::string(node.op_type()) + ": output " + std::to_string(i) +
                                                    " is missing");
  for (size_t i = n; i < node.num_outputs(); ++i)
    if (node.has_output(i))
      throw Unsupported(HXRT_UNSUPPORTED_OTHER, std::string(node.op_type()) + ": optional output " +
                                                    std::to_string(i) + " is not supported");
}

class UnaryOp final : public Op {
 public:
  UnaryOp(k::UnaryParams params, k::FType type, int64_t n) : params_(params), type_(type), n_(n) {}
  UnaryOp(const NodeReader& node, k::UnaryParams params) : params_(params) {
    require_outputs(node, 1);
    type_ = require_float(node, node.input(0).dtype);
    if (node.output(0).dtype != node.input(0).dtype)
      throw Unsupported(HXRT_UNSUPPORTED_DTYPE, std::string(node.op_type()) + ": output dtype differs from input");
    n_ = node.input_info(0).numel();
  }
  Layout layout() const override { return Layout::kAgnostic; }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    check_launch(k::unary(type_, in[0], out[0], n_, params_, ctx.stream), "unary kernel");
  }

 private:
  k::UnaryParams params_;
  k::FType type_ = k::FType::kF32;
  int64_t n_ = 0;
};

using ParamsOf = std::function<k::UnaryParams(const NodeReader&)>;

void unary(const char* name, int min_opset, ParamsOf params) {
  register_op(name, min_opset, kMaxOpset, [params](const NodeReader& node, const OpConfig&) {
    if (!node.has_input(0)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "missing input");
    return std::make_unique<UnaryOp>(node, params(node));
  });
}

void simple(const char* name, int min_opset, int op) {
  unary(name, min_opset, [op](const NodeReader&) { return k::UnaryParams{op, 0.f, 0.f}; });
}

// Clip with min/max as attributes (opset < 11) or constant inputs (opset >= 11).
k::UnaryParams clip_params(const NodeReader& node) {
  float lo = -INFINITY, hi = INFINITY;
  if (node.opset() < 11) {
    lo = node.get_float("min", lo);
    hi = node.get_float("max", hi);
  } else {
    for (size_t i = 1; i <= 2; ++i) {
      if (!node.has_input(i)) continue;
      TensorInfo t = node.input_info(i);
      if (!t.constant)
        throw Unsupported(HXRT_UNSUPPORTED_OTHER, "Clip: min/max must be compile-time constants on CUDA");
      if (!is_float_type(t.dtype)) throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "Clip: min/max dtype");
      float v = to_floats(t).at(0);
      (i == 1 ? lo : hi) = v;
    }
  }
  return {k::kClip, lo, hi};
}

class BinaryOp final : public Op {
 public:
  BinaryOp(const NodeReader& node, int op, bool compare) : op_(op), compare_(compare) {
    require_outputs(node, 1);
    size_t n_in = node.num_inputs();
    if (n_in < 1 || n_in > 64) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "bad input count");
    hxrt_dtype t = node.input(0).dtype;
    auto nt = ntype_of(t);
    if (!nt) throw Unsupported(HXRT_UNSUPPORTED_DTYPE, std::string(node.op_type()) + ": dtype " + plugin::dtype_name(t));
    type_ = *nt;
    if ((op == k::kPow || op == k::kPRelu) && !is_float_type(t))
      throw Unsupported(HXRT_UNSUPPORTED_DTYPE, std::string(node.op_type()) + ": only float types");
    if (op == k::kMod && is_float_type(t) && node.get_int("fmod", 0) == 0)
      throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Mod: fmod = 0 is invalid for float types");
    if (op == k::kMod && node.get_int("fmod", 0) != 0) op_ = k::kFMod;
    for (size_t i = 0; i < n_in; ++i) {
      if (!node.has_input(i)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "missing input");
      if (node.input(i).dtype != t)
        throw Unsupported(HXRT_UNSUPPORTED_DTYPE, std::string(node.op_type()) + ": inputs of different dtypes");
    }
    hxrt_dtype want = compare ? HXRT_DTYPE_BOOL : t;
    if (node.output(0).dtype != want) throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "unexpected output dtype");
    out_ = node.output_info(0).shape;
    n_ = plugin::element_count(out_);
    elem_ = plugin::dtype_size(t);
    same_shapes_ = true;
    for (size_t i = 0; i < n_in; ++i) same_shapes_ = same_shapes_ && node.input_info(i).shape == out_;
    if (n_in == 1) {
      single_ = true;
      if (node.input_info(0).shape != out_) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "single input must match output");
      return;
    }
    steps_.push_back(make_broadcast({node.input_info(0).shape, node.input_info(1).shape}, out_, node));
    for (size_t i = 2; i < n_in; ++i) steps_.push_back(make_broadcast({out_, node.input_info(i).shape}, out_, node));
    if (compare && n_in != 2) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "comparisons take two inputs");
    mean_ = node.op_type() == "Mean";
    if (mean_ && !is_float_type(t)) throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "Mean: only float types");
    count_ = static_cast<float>(n_in);
  }
  // Equal shapes everywhere: element i of every operand meets element i, whatever the layout.
  Layout layout() const override { return same_shapes_ ? Layout::kAgnostic : Layout::kNchwOnly; }
  void prepare(DeviceContext&) override {
    if (mean_) {
      std::vector<uint8_t> bytes = from_floats({count_}, type_ == k::NType::kF32   ? HXRT_DTYPE_FLOAT32
                                                         : type_ == k::NType::kF16 ? HXRT_DTYPE_FLOAT16
                                                                                   : HXRT_DTYPE_BFLOAT16);
      divisor_ = DeviceMemory(bytes.data(), bytes.size());
    }
  }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    if (single_) {
      if (n_ > 0)
        check_cuda(cudaMemcpyAsync(out[0], in[0], static_cast<size_t>(n_) * elem_, cudaMemcpyDeviceToDevice, ctx.stream),
                   "copying a single-input variadic op");
      return;
    }
    if (compare_) {
      check_launch(k::compare(type_, op_, in[0], in[1], static_cast<uint8_t*>(out[0]), n_, steps_[0], ctx.stream),
                   "compare kernel");
      return;
    }
    check_launch(k::binary(type_, op_, in[0], in[1], out[0], n_, steps_[0], ctx.stream), "binary kernel");
    for (size_t i = 1; i < steps_.size(); ++i)
      check_launch(k::binary(type_, op_, out[0], in[i + 1], out[0], n_, steps_[i], ctx.stream), "binary kernel");
    if (mean_) {
      k::Broadcast b = make_scalar_broadcast();
      check_launch(k::binary(type_, k::kDiv, out[0], divisor_.get(), out[0], n_, b, ctx.stream), "binary kernel");
    }
  }

 private:
  k::Broadcast make_scalar_broadcast() const {
    k::Broadcast b;
    b.rank = 1;
    b.dims[0] = n_;
    b.strides[0][0] = 1;
    b.strides[1][0] = 0;
    b.contiguous[0] = true;
    return b;
  }
  int op_;
  bool compare_;
  bool single_ = false;
  bool mean_ = false;
  bool same_shapes_ = false;
  float count_ = 1;
  k::NType type_ = k::NType::kF32;
  Shape out_;
  int64_t n_ = 0;
  size_t elem_ = 4;
  std::vector<k::Broadcast> steps_;
  DeviceMemory divisor_;
};

void binary(const char* name, int min_opset, int op, bool compare = false) {
  register_op(name, min_opset, kMaxOpset, [op, compare](const NodeReader& node, const OpConfig&) {
    return std::make_unique<BinaryOp>(node, op, compare);
  });
}

class WhereOp final : public Op {
 public:
  explicit WhereOp(const NodeReader& node) {
    require_outputs(node, 1);
    for (size_t i = 0; i < 3; ++i)
      if (!node.has_input(i)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "Where: missing input");
    if (node.input(0).dtype != HXRT_DTYPE_BOOL) throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "Where: condition must be bool");
    elem_ = static_cast<int>(plugin::dtype_size(node.input(1).dtype));
    if (elem_ == 0 || node.input(2).dtype != node.input(1).dtype)
      throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "Where: x and y dtypes");
    Shape out = node.output_info(0).shape;
    n_ = plugin::element_count(out);
    bc_ = make_broadcast({node.input_info(0).shape, node.input_info(1).shape, node.input_info(2).shape}, out, node);
  }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    check_launch(k::where(elem_, static_cast<const uint8_t*>(in[0]), in[1], in[2], out[0], n_, bc_, ctx.stream),
                 "where kernel");
  }

 private:
  int elem_ = 4;
  int64_t n_ = 0;
  k::Broadcast bc_;
};

bool castable(hxrt_dtype t) {
  switch (t) {
    case HXRT_DTYPE_FLOAT32: case HXRT_DTYPE_FLOAT16: case HXRT_DTYPE_BFLOAT16: case HXRT_DTYPE_FLOAT64:
    case HXRT_DTYPE_INT8: case HXRT_DTYPE_UINT8: case HXRT_DTYPE_INT16: case HXRT_DTYPE_UINT16:
    case HXRT_DTYPE_INT32: case HXRT_DTYPE_UINT32: case HXRT_DTYPE_INT64: case HXRT_DTYPE_UINT64:
    case HXRT_DTYPE_BOOL: return true;
    default: return false;
  }
}

class CastOp final : public Op {
 public:
  explicit CastOp(const NodeReader& node) {
    require_outputs(node, 1);
    src_ = node.input(0).dtype;
    dst_ = node.output(0).dtype;
    if (!castable(src_) || !castable(dst_))
      throw Unsupported(HXRT_UNSUPPORTED_DTYPE, std::string("Cast: ") + plugin::dtype_name(src_) + " -> " +
                                                    plugin::dtype_name(dst_) + " is not supported");
    n_ = node.input_info(0).numel();
    bytes_ = static_cast<size_t>(n_) * plugin::dtype_size(src_);
  }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    if (src_ == dst_) {
      if (bytes_ > 0)
        check_cuda(cudaMemcpyAsync(out[0], in[0], bytes_, cudaMemcpyDeviceToDevice, ctx.stream), "Cast copy");
      return;
    }
    check_launch(k::cast(src_, dst_, in[0], out[0], n_, ctx.stream), "cast kernel");
  }

 private:
  hxrt_dtype src_, dst_;
  int64_t n_ = 0;
  size_t bytes_ = 0;
};

// Inference BatchNormalization with constant statistics: y = x * a[c] + b[c].
class BatchNormOp final : public Op {
 public:
  explicit BatchNormOp(const NodeReader& node) {
    require_outputs(node, 1);
    type_ = require_float(node, node.input(0).dtype);
    if (node.get_int("training_mode", 0) != 0)
      throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "BatchNormalization: training_mode is not supported");
    if (node.opset() < 9 && node.get_int("spatial", 1) != 1)
      throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "BatchNormalization: spatial = 0 is not supported");
    Shape x = node.input_info(0).shape;
    if (x.size() < 2) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "BatchNormalization: rank < 2");
    n_ = x[0];
    c_ = x[1];
    four_d_ = x.size() == 4;
    inner_ = 1;
    for (size_t i = 2; i < x.size(); ++i) inner_ *= x[i];
    std::vector<std::vector<float>> p;
    for (size_t i = 1; i <= 4; ++i) {
      if (!node.has_input(i)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "BatchNormalization: missing input");
      TensorInfo t = node.input_info(i);
      if (!t.constant)
        throw Unsupported(HXRT_UNSUPPORTED_OTHER, "BatchNormalization: scale, bias, mean and var must be constants");
      if (!is_float_type(t.dtype) || t.numel() != c_)
        throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "BatchNormalization: parameters must have C float elements");
      p.push_back(to_floats(t));
    }
    float eps = node.get_float("epsilon", 1e-5f);
    scale_.resize(static_cast<size_t>(c_));
    shift_.resize(static_cast<size_t>(c_));
    for (size_t ch = 0; ch < scale_.size(); ++ch) {
      scale_[ch] = p[0][ch] / std::sqrt(p[3][ch] + eps);
      shift_[ch] = p[1][ch] - p[2][ch] * scale_[ch];
    }
  }
  void prepare(DeviceContext&) override {
    d_scale_ = DeviceMemory(scale_.data(), scale_.size() * sizeof(float));
    d_shift_ = DeviceMemory(shift_.data(), shift_.size() * sizeof(float));
  }
  bool absorb_relu() override {
    if (relu_) return false;
    relu_ = true;
    return true;
  }
  Layout layout() const override { return four_d_ ? Layout::kChannelsLast : Layout::kNchwOnly; }
  bool set_channels_last() override {
    nhwc_ = four_d_;
    return nhwc_;
  }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    // Channels-last: [N*H*W, C] with the channel innermost.
    int64_t n = nhwc_ ? n_ * inner_ : n_, inner = nhwc_ ? 1 : inner_;
    check_launch(k::channel_affine(type_, in[0], static_cast<const float*>(d_scale_.get()),
                                   static_cast<const float*>(d_shift_.get()), nullptr, out[0], n, c_, inner,
                                   relu_ ? 1 : 0, ctx.stream),
                 "batchnorm kernel");
  }

 private:
  k::FType type_ = k::FType::kF32;
  int64_t n_ = 0, c_ = 0, inner_ = 1;
  bool relu_ = false, four_d_ = false, nhwc_ = false;
  std::vector<float> scale_, shift_;
  DeviceMemory d_scale_, d_shift_;
};

}  // namespace

std::unique_ptr<Op> make_unary_op(k::UnaryParams params, hxrt_dtype t, int64_t n) {
  return std::make_unique<UnaryOp>(params, ftype_of(t), n);
}

void register_elementwise_ops() {
  simple("Relu", 6, k::kRelu);
  simple("Sigmoid", 6, k::kSigmoid);
  simple("Tanh", 6, k::kTanh);
  simple("Exp", 6, k::kExp);
  simple("Log", 6, k::kLog);
  simple("Sqrt", 6, k::kSqrt);
  simple("Neg", 6, k::kNeg);
  simple("Abs", 6, k::kAbs);
  simple("Erf", 9, k::kErf);
  simple("Reciprocal", 6, k::kReciprocal);
  simple("Floor", 6, k::kFloor);
  simple("Ceil", 6, k::kCeil);
  simple("Round", 11, k::kRound);
  simple("Sin", 7, k::kSin);
  simple("Cos", 7, k::kCos);
  simple("Tan", 7, k::kTan);
  simple("Asin", 7, k::kAsin);
  simple("Acos", 7, k::kAcos);
  simple("Atan", 7, k::kAtan);
  simple("Sinh", 9, k::kSinh);
  simple("Cosh", 9, k::kCosh);
  simple("Asinh", 9, k::kAsinh);
  simple("Acosh", 9, k::kAcosh);
  simple("Atanh", 9, k::kAtanh);
  simple("Softsign", 1, k::kSoftsign);
  simple("Softplus", 1, k::kSoftplus);
  simple("Sign", 9, k::kSign);
  simple("Mish", 18, k::kMish);
  simple("HardSwish", 14, k::kHardSwish);
  unary("LeakyRelu", 6, [](const NodeReader& n) { return k::UnaryParams{k::kLeakyRelu, n.get_float("alpha", 0.01f), 0}; });
  unary("Elu", 6, [](const NodeReader& n) { return k::UnaryParams{k::kElu, n.get_float("alpha", 1.f), 0}; });
  unary("Celu", 12, [](const NodeReader& n) { return k::UnaryParams{k::kCelu, n.get_float("alpha", 1.f), 0}; });
  unary("Selu", 6, [](const NodeReader& n) {
    return k::UnaryParams{k::kSelu, n.get_float("alpha", 1.67326319217681884765625f),
                          n.get_float("gamma", 1.05070102214813232421875f)};
  });
  unary("HardSigmoid", 6,
        [](const NodeReader& n) { return k::UnaryParams{k::kHardSigmoid, n.get_float("alpha", 0.2f), n.get_float("beta", 0.5f)}; });
  unary("ThresholdedRelu", 10,
        [](const NodeReader& n) { return k::UnaryParams{k::kThresholdedRelu, n.get_float("alpha", 1.f), 0}; });
  unary("Shrink", 9, [](const NodeReader& n) {
    return k::UnaryParams{k::kShrink, n.get_float("lambd", 0.5f), n.get_float("bias", 0.f)};
  });
  unary("Gelu", 20, [](const NodeReader& n) {
    std::string approx = n.get_string("approximate", "none");
    if (approx != "none" && approx != "tanh") throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Gelu: approximate=" + approx);
    return k::UnaryParams{approx == "tanh" ? k::kGeluTanh : k::kGelu, 0, 0};
  });
  unary("Clip", 6, clip_params);

  binary("Add", 7, k::kAdd);
  binary("Sub", 7, k::kSub);
  binary("Mul", 7, k::kMul);
  binary("Div", 7, k::kDiv);
  binary("Pow", 7, k::kPow);
  binary("PRelu", 7, k::kPRelu);
  binary("Mod", 10, k::kMod);
  binary("Max", 8, k::kMax);
  binary("Min", 8, k::kMin);
  binary("Sum", 8, k::kAdd);
  binary("Mean", 8, k::kAdd);
  binary("Equal", 7, k::kEqual, true);
  binary("Less", 7, k::kLess, true);
  binary("LessOrEqual", 12, k::kLessOrEqual, true);
  binary("Greater", 7, k::kGreater, true);
  binary("GreaterOrEqual", 12, k::kGreaterOrEqual, true);
  binary("And", 7, k::kAnd, true);
  binary("Or", 7, k::kOr, true);
  binary("Xor", 7, k::kXor, true);

  register_op("Where", 9, kMaxOpset, [](const NodeReader& node, const OpConfig&) { return std::make_unique<WhereOp>(node); });
  register_op("Cast", 6, kMaxOpset, [](const NodeReader& node, const OpConfig&) { return std::make_unique<CastOp>(node); });
  register_op("BatchNormalization", 6, kMaxOpset,
              [](const NodeReader& node, const OpConfig&) { return std::make_unique<BatchNormOp>(node); });
}

}  // namespace hxrt::cuda
