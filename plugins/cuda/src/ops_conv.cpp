// Conv through cuDNN 9's convolution API, with the algorithm found by timing
// at compile time. Inside one executable a following BatchNormalization is
// folded into the weights, and a residual Add and a Relu run in the same call
// (cudnnConvolutionBiasActivationForward) or in one epilogue kernel.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops.hpp"

namespace hxrt::cuda {
namespace {

constexpr int kMaxOpset = 25;
constexpr size_t kMaxWorkspace = size_t{256} << 20;

cudnnDataType_t cudnn_type(hxrt_dtype t) {
  switch (t) {
    case HXRT_DTYPE_FLOAT16: return CUDNN_DATA_HALF;
    case HXRT_DTYPE_BFLOAT16: return CUDNN_DATA_BFLOAT16;
    default: return CUDNN_DATA_FLOAT;
  }
}

class ConvOp final : public Op {
 public:
  ConvOp(const NodeReader& node, const OpConfig& config) : config_(config) {
    if (!node.has_input(0) || !node.has_input(1) || !node.has_output(0))
      throw Unsupported(HXRT_UNSUPPORTED_OTHER, "Conv: missing input or output");
    dtype_ = node.input(0).dtype;
    type_ = require_float(node, dtype_);
    if (node.input(1).dtype != dtype_ || node.output(0).dtype != dtype_ || (node.has_input(2) && node.input(2).dtype != dtype_))
      throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "Conv: mixed dtypes");
    Shape x = node.input_info(0).shape, w = node.input_info(1).shape, y = node.output_info(0).shape;
    if (x.size() < 3 || x.size() > 5 || w.size() != x.size())
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Conv: only 1-D, 2-D and 3-D convolutions");
    const size_t sp = x.size() - 2;
    group_ = node.get_int("group", 1);
    auto strides = node.get_ints("strides", std::vector<int64_t>(sp, 1));
    auto dil = node.get_ints("dilations", std::vector<int64_t>(sp, 1));
    auto pads = node.get_ints("pads", std::vector<int64_t>(2 * sp, 0));
    auto kernel = node.get_ints("kernel_shape", Shape(w.begin() + 2, w.end()));
    if (strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp || kernel.size() != sp)
      throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Conv: attribute ranks");
    std::string auto_pad = node.get_string("auto_pad", "NOTSET");
    for (size_t i = 0; i < sp; ++i) {
      if (auto_pad == "VALID") pads[i] = pads[i + sp] = 0;
      else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        int64_t total = std::max<int64_t>(0, (y[2 + i] - 1) * strides[i] + (w[2 + i] - 1) * dil[i] + 1 - x[2 + i]);
        pads[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        pads[i + sp] = total - pads[i];
      } else if (auto_pad != "NOTSET") throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Conv: auto_pad " + auto_pad);
      if (pads[i] != pads[i + sp])
        throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Conv: asymmetric padding is not supported by cuDNN");
    }
    if (group_ < 1 || x[1] != w[1] * group_ || w[0] % group_ != 0)
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Conv: channels do not match the group count");
    for (size_t i = 0; i < sp; ++i) {
      int64_t expect = (x[2 + i] + 2 * pads[i] - ((w[2 + i] - 1) * dil[i] + 1)) / strides[i] + 1;
      if (expect != y[2 + i]) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Conv: unexpected output shape");
    }
    // 1-D convolutions run as 2-D ones with a unit height (cuDNN wants >= 4-D tensors).
    auto lift = [&](Shape s, int64_t unit) {
      if (sp == 1) s.insert(s.begin() + 2, unit);
      return s;
    };
    x_ = lift(x, 1);
    w_shape_ = lift(w, 1);
    y_ = lift(y, 1);
    for (size_t i = 0; i < sp; ++i) {
      pad_.push_back(static_cast<int>(pads[i]));
      stride_.push_back(static_cast<int>(strides[i]));
      dil_.push_back(static_cast<int>(dil[i]));
    }
    if (sp == 1) {
      pad_.insert(pad_.begin(), 0);
      stride_.insert(stride_.begin(), 1);
      dil_.insert(dil_.begin(), 1);
    }
    channels_ = y[1];
    num_inputs_ = node.num_inputs();
    TensorInfo wi = node.input_info(1);
    if (wi.constant) weights_host_ = to_floats(wi);
    if (node.has_input(2)) {
      TensorInfo b = node.input_info(2);
      if (!b.constant) {
        runtime_bias_ = true;
      } else {
        bias_host_ = to_floats(b);
      }
    }
  }

  bool uses_libraries() const override { return true; }
  size_t workspace_bytes() const override { return workspace_; }

  bool absorb_batchnorm(const NodeReader& bn) override {
    if (relu_ || residual_ || runtime_bias_ || weights_host_.empty()) return false;
    if (bn.get_int("training_mode", 0) != 0 || !bn.has_output(0) || bn.input(0).dtype != dtype_) return false;
    for (size_t i = 1; i < bn.num_outputs(); ++i)
      if (bn.has_output(i)) return false;
    std::vector<std::vector<float>> p;
    for (size_t i = 1; i <= 4; ++i) {
      if (!bn.has_input(i)) return false;
      TensorInfo t = bn.input_info(i);
      if (!t.constant || !is_float_type(t.dtype) || t.numel() != channels_) return false;
      p.push_back(to_floats(t));
    }
    float eps = bn.get_float("epsilon", 1e-5f);
    if (bias_host_.empty()) bias_host_.assign(static_cast<size_t>(channels_), 0.f);
    size_t per = weights_host_.size() / static_cast<size_t>(channels_);
    for (size_t c = 0; c < static_cast<size_t>(channels_); ++c) {
      float a = p[0][c] / std::sqrt(p[3][c] + eps);
      for (size_t i = 0; i < per; ++i) weights_host_[c * per + i] *= a;
      bias_host_[c] = (bias_host_[c] - p[2][c]) * a + p[1][c];
    }
    return true;
  }
  bool absorb_residual() override {
    if (residual_ || relu_) return false;
    residual_ = true;
    return true;
  }
  bool absorb_relu() override {
    if (relu_) return false;
    relu_ = true;
    return true;
  }

  // Channels-last on tensor cores: 2-D convolutions with constant weights
  // (transposed to KRSC here), for 16-bit floats (and float32 when asked).
  Layout layout() const override { return Layout::kChannelsLast; }
  // Measured on an H100 (docs/benchmarks/cuda.md): NHWC pays for 16-bit
  // floats from batch 8 and for TF32 at any batch, and loses for strict FP32.
  bool prefers_channels_last(bool force) const override {
    if (x_.size() != 4 || weights_host_.empty()) return false;
    if (force) return true;
    if (dtype_ == HXRT_DTYPE_FLOAT32) return config_.allow_tf32;
    return x_[0] >= 8;
  }
  bool set_channels_last() override {
    if (x_.size() != 4 || weights_host_.empty()) return false;
    nhwc_ = true;
    return true;
  }
  bool layout_input(size_t i) const override { return i == 0 || (residual_ && i == num_inputs_); }

  void prepare(DeviceContext& ctx) override {
    cudnnHandle_t h = ctx.libs->cudnn();
    // Searches and timings run on the legacy stream (a run may have left the handle on another).
    check_cudnn(cudnnSetStream(h, nullptr), "cudnnSetStream");
    cudnnDataType_t t = cudnn_type(dtype_);
    auto tensor = [&](const Shape& s, cudnnTensorDescriptor_t* d) {
      check_cudnn(cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor");
      std::vector<int> dims(s.begin(), s.end());
      check_cudnn(cudnnSetTensorNdDescriptorEx(*d, CUDNN_TENSOR_NCHW, t, static_cast<int>(dims.size()), dims.data()),
                  "cudnnSetTensorNdDescriptorEx");
    };
    auto tensor4 = [&](const Shape& s, cudnnTensorDescriptor_t* d) {
      check_cudnn(cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor");
      check_cudnn(cudnnSetTensor4dDescriptor(*d, CUDNN_TENSOR_NHWC, t, static_cast<int>(s[0]), static_cast<int>(s[1]),
                                             static_cast<int>(s[2]), static_cast<int>(s[3])),
                  "cudnnSetTensor4dDescriptor");
    };
    if (nhwc_) {
      tensor4(x_, &xd_);
      tensor4(y_, &yd_);
    } else {
      tensor(x_, &xd_);
      tensor(y_, &yd_);
    }
    Shape bshape(x_.size(), 1);
    bshape[1] = channels_;
    tensor(bshape, &bd_);
    check_cudnn(cudnnCreateFilterDescriptor(&wd_), "cudnnCreateFilterDescriptor");
    std::vector<int> wdims(w_shape_.begin(), w_shape_.end());
    check_cudnn(cudnnSetFilterNdDescriptor(wd_, t, nhwc_ ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                           static_cast<int>(wdims.size()), wdims.data()),
                "cudnnSetFilterNdDescriptor");
    check_cudnn(cudnnCreateConvolutionDescriptor(&cd_), "cudnnCreateConvolutionDescriptor");
    check_cudnn(cudnnSetConvolutionNdDescriptor(cd_, static_cast<int>(pad_.size()), pad_.data(), stride_.data(),
                                                dil_.data(), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                "cudnnSetConvolutionNdDescriptor");
    check_cudnn(cudnnSetConvolutionGroupCount(cd_, static_cast<int>(group_)), "cudnnSetConvolutionGroupCount");
    bool strict_f32 = dtype_ == HXRT_DTYPE_FLOAT32 && !ctx.config.allow_tf32;
    cudnnMathType_t math = strict_f32 ? CUDNN_FMA_MATH
                           : dtype_ == HXRT_DTYPE_FLOAT32 ? CUDNN_DEFAULT_MATH : CUDNN_TENSOR_OP_MATH;
    check_cudnn(cudnnSetConvolutionMathType(cd_, math), "cudnnSetConvolutionMathType");
    check_cudnn(cudnnCreateActivationDescriptor(&ad_), "cudnnCreateActivationDescriptor");
    check_cudnn(cudnnSetActivationDescriptor(ad_, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0),
                "cudnnSetActivationDescriptor");

    if (!weights_host_.empty()) {
      std::vector<float> w = weights_host_;
      if (nhwc_) {  // KCRS -> KRSC
        size_t k = static_cast<size_t>(w_shape_[0]), c = static_cast<size_t>(w_shape_[1]);
        size_t rs = static_cast<size_t>(w_shape_[2] * w_shape_[3]);
        for (size_t o = 0; o < k; ++o)
          for (size_t ci = 0; ci < c; ++ci)
            for (size_t p = 0; p < rs; ++p) w[(o * rs + p) * c + ci] = weights_host_[(o * c + ci) * rs + p];
      }
      auto bytes = from_floats(w, dtype_);
      weights_ = DeviceMemory(bytes.data(), bytes.size());
    }
    if (!bias_host_.empty()) {
      bias_f32_ = DeviceMemory(bias_host_.data(), bias_host_.size() * sizeof(float));
    }
    // The fused call needs a bias of the data type; zeros when the node has none.
    std::vector<float> fused_bias = bias_host_.empty() ? std::vector<float>(static_cast<size_t>(channels_), 0.f) : bias_host_;
    auto fb = from_floats(fused_bias, dtype_);
    bias_typed_ = DeviceMemory(fb.data(), fb.size());

    // Time the algorithms on scratch tensors (their contents do not matter).
    size_t elem = plugin::dtype_size(dtype_);
    DeviceMemory xs(static_cast<size_t>(plugin::element_count(x_)) * elem);
    DeviceMemory ys(static_cast<size_t>(plugin::element_count(y_)) * elem);
    DeviceMemory ws_w(weights_.get() ? 0 : static_cast<size_t>(plugin::element_count(w_shape_)) * elem);
    const void* wptr = weights_.get() ? weights_.get() : ws_w.get();
    size_t ws_limit = kMaxWorkspace;
    void* ws = nullptr;
    while (ws_limit > 0 && cudaMalloc(&ws, ws_limit) != cudaSuccess) {
      cudaGetLastError();  // clear the failed allocation
      ws = nullptr;
      ws_limit /= 4;
    }
    struct FreeOnExit {
      void* p;
      ~FreeOnExit() {
        if (p != nullptr) cudaFree(p);
      }
    } free_ws{ws};
    constexpr int kWanted = 8;
    cudnnConvolutionFwdAlgoPerf_t perf[kWanted];
    int returned = 0;
    cudnnStatus_t s = cudnnFindConvolutionForwardAlgorithmEx(h, xd_, xs.get(), wd_, wptr, cd_, yd_, ys.get(), kWanted,
                                                             &returned, perf, ws, ws_limit);
    bool chosen = false;
    if (s == CUDNN_STATUS_SUCCESS) {
      for (int i = 0; i < returned && !chosen; ++i) {
        if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > ws_limit) continue;
        if (strict_f32 && perf[i].mathType != CUDNN_FMA_MATH) continue;
        algo_ = perf[i].algo;
        workspace_ = perf[i].memory;
        check_cudnn(cudnnSetConvolutionMathType(cd_, perf[i].mathType), "cudnnSetConvolutionMathType");
        chosen = true;
      }
    }
    if (!chosen) {
      // Heuristics only (no timing) as a fallback.
      returned = 0;
      check_cudnn(cudnnGetConvolutionForwardAlgorithm_v7(h, xd_, wd_, cd_, yd_, kWanted, &returned, perf),
                  "cudnnGetConvolutionForwardAlgorithm_v7");
      for (int i = 0; i < returned && !chosen; ++i) {
        if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
        if (strict_f32 && perf[i].mathType != CUDNN_FMA_MATH) continue;
        size_t need = 0;
        if (cudnnGetConvolutionForwardWorkspaceSize(h, xd_, wd_, cd_, yd_, perf[i].algo, &need) != CUDNN_STATUS_SUCCESS)
          continue;
        algo_ = perf[i].algo;
        workspace_ = need;
        chosen = true;
      }
    }
    if (!chosen) {
      throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "Conv: cuDNN found no algorithm for this convolution");
    }
    // The fused conv+bias+relu call supports only some algorithms: try it once.
    if (relu_ && !runtime_bias_) {
      float one = 1.f, zero = 0.f;
      cudnnStatus_t fs = cudnnConvolutionBiasActivationForward(
          h, &one, xd_, xs.get(), wd_, wptr, cd_, algo_, ws, workspace_, &zero, yd_, ys.get(), bd_,
          bias_typed_.get(), ad_, yd_, ys.get());
      fused_ = fs == CUDNN_STATUS_SUCCESS;
      if (!fused_) cudaGetLastError();
      // The fused call is not always faster than convolution + epilogue kernel: time both.
      if (fused_) {
        cudaEvent_t e0 = nullptr, e1 = nullptr;
        check_cuda(cudaEventCreate(&e0), "cudaEventCreate");
        check_cuda(cudaEventCreate(&e1), "cudaEventCreate");
        int64_t inner = plugin::element_count(y_) / (y_[0] * y_[1]);
        int64_t rows = nhwc_ ? y_[0] * inner : y_[0];
        auto time = [&](bool fused) {
          float best = 1e30f;
          for (int i = 0; i < 4; ++i) {
            cudaEventRecord(e0, nullptr);
            if (fused)
              cudnnConvolutionBiasActivationForward(h, &one, xd_, xs.get(), wd_, wptr, cd_, algo_, ws, workspace_, &zero,
                                                    yd_, ys.get(), bd_, bias_typed_.get(), ad_, yd_, ys.get());
            else {
              cudnnConvolutionForward(h, &one, xd_, xs.get(), wd_, wptr, cd_, algo_, ws, workspace_, &zero, yd_, ys.get());
              k::channel_affine(type_, ys.get(), nullptr, static_cast<const float*>(bias_f32_.get()), nullptr, ys.get(),
                                rows, y_[1], nhwc_ ? 1 : inner, 1, nullptr);
            }
            cudaEventRecord(e1, nullptr);
            cudaEventSynchronize(e1);
            float ms = 0;
            cudaEventElapsedTime(&ms, e0, e1);
            if (i > 0) best = std::min(best, ms);  // the first run warms up
          }
          return best;
        };
        fused_ = time(true) <= time(false);
        cudaEventDestroy(e0);
        cudaEventDestroy(e1);
        cudaGetLastError();
      }
    }
    check_cuda(cudaDeviceSynchronize(), "Conv algorithm search");
  }

  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    cudnnHandle_t h = ctx.libs->cudnn();
    check_cudnn(cudnnSetStream(h, ctx.stream), "cudnnSetStream");
    const void* w = weights_.get() ? weights_.get() : in[1];
    // A fused residual arrives after the node's three inputs.
    const void* z = residual_ ? in.back() : nullptr;
    float one = 1.f, zero = 0.f;
    if (fused_) {
      float alpha2 = z != nullptr ? 1.f : 0.f;
      check_cudnn(cudnnConvolutionBiasActivationForward(h, &one, xd_, in[0], wd_, w, cd_, algo_, ctx.workspace,
                                                        workspace_, &alpha2, yd_, z != nullptr ? z : out[0], bd_,
                                                        bias_typed_.get(), ad_, yd_, out[0]),
                  "cudnnConvolutionBiasActivationForward");
      return;
    }
    check_cudnn(cudnnConvolutionForward(h, &one, xd_, in[0], wd_, w, cd_, algo_, ctx.workspace, workspace_, &zero, yd_,
                                        out[0]),
                "cudnnConvolutionForward");
    const float* shift = runtime_bias_ ? nullptr : static_cast<const float*>(bias_f32_.get());
    if (runtime_bias_) {
      // A runtime bias is rare: add it with cuDNN.
      check_cudnn(cudnnAddTensor(h, &one, bd_, in[2], &one, yd_, out[0]), "cudnnAddTensor");
    }
    if (shift != nullptr || z != nullptr || relu_) {
      int64_t inner = plugin::element_count(y_) / (y_[0] * y_[1]);
      // Channels-last: [N*H*W, C] with the channel innermost.
      int64_t rows = nhwc_ ? y_[0] * inner : y_[0];
      if (nhwc_) inner = 1;
      check_launch(k::channel_affine(type_, out[0], nullptr, shift, z, out[0], rows, y_[1], inner, relu_ ? 1 : 0,
                                     ctx.stream),
                   "conv epilogue kernel");
    }
  }

  ~ConvOp() override {
    if (xd_) cudnnDestroyTensorDescriptor(xd_);
    if (yd_) cudnnDestroyTensorDescriptor(yd_);
    if (bd_) cudnnDestroyTensorDescriptor(bd_);
    if (wd_) cudnnDestroyFilterDescriptor(wd_);
    if (cd_) cudnnDestroyConvolutionDescriptor(cd_);
    if (ad_) cudnnDestroyActivationDescriptor(ad_);
  }

 private:
  OpConfig config_;
  hxrt_dtype dtype_ = HXRT_DTYPE_FLOAT32;
  k::FType type_ = k::FType::kF32;
  Shape x_, w_shape_, y_;
  std::vector<int> pad_, stride_, dil_;
  int64_t group_ = 1, channels_ = 0;
  std::vector<float> weights_host_, bias_host_;
  bool runtime_bias_ = false, residual_ = false, relu_ = false, fused_ = false, nhwc_ = false;
  size_t num_inputs_ = 0;
  DeviceMemory weights_, bias_f32_, bias_typed_;
  cudnnTensorDescriptor_t xd_ = nullptr, yd_ = nullptr, bd_ = nullptr;
  cudnnFilterDescriptor_t wd_ = nullptr;
  cudnnConvolutionDescriptor_t cd_ = nullptr;
  cudnnActivationDescriptor_t ad_ = nullptr;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t workspace_ = 0;
};

}  // namespace

void register_conv_ops() {
  register_op("Conv", 1, kMaxOpset, [](const NodeReader& node, const OpConfig& config) -> std::unique_ptr<Op> {
    return std::make_unique<ConvOp>(node, config);
  });
}

}  // namespace hxrt::cuda
