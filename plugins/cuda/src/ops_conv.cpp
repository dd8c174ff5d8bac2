// Conv through cuDNN 9's convolution API, with the algorithm found by timing
// at compile time. Inside one executable a following BatchNormalization is
// folded into the weights, and a residual Add and a Relu run in the same call
// (cudnnConvolutionBiasActivationForward) or in one epilogue kernel.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ops.hpp"

namespace hxrt::cuda {
namespace {

constexpr int kMaxOpset = 25;
// cuDNN's workspace limit for the algorithm search: large enough for the
// Winograd (non-fused) and FFT algorithms on batch-32 ResNet layers.
constexpr size_t kMaxWorkspace = size_t{2} << 30;
constexpr size_t kMaxGemmWorkspace = size_t{32} << 20;

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

    // Candidates, each timed at compile time on scratch tensors (their
    // contents do not matter): every cuDNN algorithm cudnnFind returns (big
    // workspaces allowed: Winograd/FFT cut the FMA count of strict FP32), with
    // the fused conv+bias+ReLU(+residual) call or the own epilogue kernel, and
    // for 1x1 convolutions a cuBLASLt GEMM with a bias/ReLU epilogue.
    size_t elem = plugin::dtype_size(dtype_);
    DeviceMemory xs(static_cast<size_t>(plugin::element_count(x_)) * elem);
    DeviceMemory ys(static_cast<size_t>(plugin::element_count(y_)) * elem);
    DeviceMemory zs(residual_ ? static_cast<size_t>(plugin::element_count(y_)) * elem : 0);
    DeviceMemory ws_w(weights_.get() ? 0 : static_cast<size_t>(plugin::element_count(w_shape_)) * elem);
    check_cuda(cudaMemset(xs.get(), 0, xs.bytes()), "cudaMemset");
    if (zs.get()) check_cuda(cudaMemset(zs.get(), 0, zs.bytes()), "cudaMemset");
    if (ws_w.get()) check_cuda(cudaMemset(ws_w.get(), 0, ws_w.bytes()), "cudaMemset");
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
    constexpr int kWanted = 2 * CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    cudnnConvolutionFwdAlgoPerf_t perf[kWanted];
    int returned = 0;
    std::vector<cudnnConvolutionFwdAlgoPerf_t> algos;
    cudnnStatus_t s = cudnnFindConvolutionForwardAlgorithmEx(h, xd_, xs.get(), wd_, wptr, cd_, yd_, ys.get(), kWanted,
                                                             &returned, perf, ws, ws_limit);
    if (s == CUDNN_STATUS_SUCCESS) {
      for (int i = 0; i < returned; ++i) {
        if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > ws_limit) continue;
        if (strict_f32 && perf[i].mathType != CUDNN_FMA_MATH) continue;
        algos.push_back(perf[i]);
      }
    }
    cudaGetLastError();
    if (algos.empty()) {
      // Heuristics only (no timing) as a fallback.
      returned = 0;
      check_cudnn(cudnnGetConvolutionForwardAlgorithm_v7(h, xd_, wd_, cd_, yd_, kWanted, &returned, perf),
                  "cudnnGetConvolutionForwardAlgorithm_v7");
      for (int i = 0; i < returned && algos.empty(); ++i) {
        if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
        if (strict_f32 && perf[i].mathType != CUDNN_FMA_MATH) continue;
        size_t need = 0;
        if (cudnnGetConvolutionForwardWorkspaceSize(h, xd_, wd_, cd_, yd_, perf[i].algo, &need) != CUDNN_STATUS_SUCCESS ||
            need > ws_limit)
          continue;
        perf[i].memory = need;
        algos.push_back(perf[i]);
      }
    }
    if (algos.empty()) {
      throw PluginError(HXRT_STATUS_UNIMPLEMENTED, "Conv: cuDNN found no algorithm for this convolution");
    }
    // cudnnFind's own order is kept for the untimed fallback; at most the 4
    // fastest (distinct) algorithms are timed with the epilogue variants.
    if (algos.size() > 4) algos.resize(4);

    cudaEvent_t e0 = nullptr, e1 = nullptr;
    check_cuda(cudaEventCreate(&e0), "cudaEventCreate");
    check_cuda(cudaEventCreate(&e1), "cudaEventCreate");
    struct EventsOnExit {
      cudaEvent_t a, b;
      ~EventsOnExit() {
        cudaEventDestroy(a);
        cudaEventDestroy(b);
      }
    } free_events{e0, e1};
    // Best of 5 timed runs after one warm-up; < 0 when the variant fails.
    auto time = [&](auto&& fn) -> float {
      float best = -1.f;
      for (int i = 0; i < 6; ++i) {
        cudaEventRecord(e0, nullptr);
        bool ok = fn();
        cudaEventRecord(e1, nullptr);
        if (!ok || cudaEventSynchronize(e1) != cudaSuccess) {
          cudaDeviceSynchronize();
          cudaGetLastError();
          return -1.f;
        }
        float ms = 0;
        cudaEventElapsedTime(&ms, e0, e1);
        if (i > 0 && (best < 0 || ms < best)) best = ms;  // the first run warms up
      }
      return best;
    };
    const void* zp = zs.get();
    std::string log;
    float best_ms = -1.f;
    for (const auto& a : algos) {
      check_cudnn(cudnnSetConvolutionMathType(cd_, a.mathType), "cudnnSetConvolutionMathType");
      for (int f = 0; f < 2; ++f) {
        bool fused = f == 1;
        if (fused && (!relu_ || runtime_bias_)) continue;
        float ms = time([&] {
          return run_cudnn(h, fused, a.algo, a.memory, ws, xs.get(), wptr, nullptr, zp, ys.get(), nullptr);
        });
        if (log_enabled()) log += " | " + algo_name(a.algo) + (fused ? " fused " : " ") + fmt_ms(ms);
        if (ms >= 0 && (best_ms < 0 || ms < best_ms)) {
          best_ms = ms;
          algo_ = a.algo;
          math_ = a.mathType;
          fused_ = fused;
          workspace_ = a.memory;
        }
      }
    }
    if (best_ms < 0) {
      // Nothing ran in the timing loop (should not happen): cudnnFind's first choice, unfused.
      algo_ = algos[0].algo;
      math_ = algos[0].mathType;
      workspace_ = algos[0].memory;
      fused_ = false;
    }
    check_cudnn(cudnnSetConvolutionMathType(cd_, math_), "cudnnSetConvolutionMathType");
    if (gemm_eligible() && setup_gemm(ctx)) {
      float gemm_best = -1.f;
      for (const auto& c : gemm_candidates_) {
        if (c.workspaceSize > std::min(kMaxGemmWorkspace, ws_limit)) continue;
        gemm_ws_ = std::max(gemm_ws_, c.workspaceSize);
        float ms = time([&] {
          return gemm_status(ctx.libs->blas(), c.algo, ws, xs.get(), zp, ys.get(), nullptr) == CUBLAS_STATUS_SUCCESS;
        });
        if (log_enabled()) log += " | gemm " + fmt_ms(ms);
        if (ms >= 0 && (gemm_best < 0 || ms < gemm_best)) {
          gemm_best = ms;
          gemm_aligned_ = c.algo;
        }
      }
      if (gemm_best >= 0 && (best_ms < 0 || gemm_best < best_ms)) {
        best_ms = gemm_best;
        use_gemm_ = true;
        workspace_ = std::max(workspace_, gemm_ws_);
      }
    }
    if (log_enabled()) {
      std::string shape;
      for (auto d : x_) shape += std::to_string(d) + ",";
      shape += " w ";
      for (auto d : w_shape_) shape += std::to_string(d) + ",";
      std::fprintf(stderr, "[hxrt cuda conv] %s x %s s%d%s%s%s%s -> %s %s\n", nhwc_ ? "NHWC" : "NCHW", shape.c_str(),
                   stride_.back(), relu_ ? " relu" : "", residual_ ? " residual" : "",
                   strict_f32 ? " strict-fp32" : "", log.c_str(),
                   use_gemm_ ? "gemm" : (algo_name(algo_) + (fused_ ? " fused" : "")).c_str(), fmt_ms(best_ms).c_str());
    }
    check_cuda(cudaDeviceSynchronize(), "Conv algorithm search");
    cudaGetLastError();
  }

  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    const void* w = weights_.get() ? weights_.get() : in[1];
    // A fused residual arrives after the node's three inputs.
    const void* z = residual_ ? in.back() : nullptr;
    if (use_gemm_) {
      bool aligned = true;
      for (const void* p : {in[0], z, static_cast<const void*>(out[0])})
        aligned = aligned && reinterpret_cast<uintptr_t>(p) % 256 == 0;
      const cublasLtMatmulAlgo_t* algo = aligned ? &gemm_aligned_ : (gemm_any_found_ ? &gemm_any_ : nullptr);
      if (algo != nullptr) {
        check_cublas(gemm_status(ctx.libs->blas(), *algo, ctx.workspace, in[0], z, out[0], ctx.stream), "cublasLtMatmul (1x1 Conv)");
        return;
      }
      // Operands cuBLASLt cannot take: the cuDNN choice below.
    }
    cudnnHandle_t h = ctx.libs->cudnn();
    check_cudnn(cudnnSetStream(h, ctx.stream), "cudnnSetStream");
    if (!run_cudnn(h, fused_, algo_, workspace_, ctx.workspace, in[0], w, runtime_bias_ ? in[2] : nullptr, z, out[0],
                   ctx.stream, true))
      throw PluginError(HXRT_STATUS_INTERNAL, "Conv: cuDNN failed");
  }

  ~ConvOp() override {
    if (gemm_desc_) cublasLtMatmulDescDestroy(gemm_desc_);
    for (auto l : {gemm_a_, gemm_b_, gemm_d_})
      if (l) cublasLtMatrixLayoutDestroy(l);
    if (xd_) cudnnDestroyTensorDescriptor(xd_);
    if (yd_) cudnnDestroyTensorDescriptor(yd_);
    if (bd_) cudnnDestroyTensorDescriptor(bd_);
    if (wd_) cudnnDestroyFilterDescriptor(wd_);
    if (cd_) cudnnDestroyConvolutionDescriptor(cd_);
    if (ad_) cudnnDestroyActivationDescriptor(ad_);
  }

 private:
  static bool log_enabled() {
    static const bool on = [] {
      const char* v = std::getenv("HXRT_CUDA_CONV_LOG");
      return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
    }();
    return on;
  }
  static std::string fmt_ms(float ms) {
    if (ms < 0) return "failed";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f ms", static_cast<double>(ms));
    return buf;
  }
  static std::string algo_name(cudnnConvolutionFwdAlgo_t a) {
    static const char* names[] = {"implicit_gemm", "implicit_precomp_gemm", "gemm", "direct",
                                  "fft", "fft_tiling", "winograd", "winograd_nonfused"};
    int i = static_cast<int>(a);
    return i >= 0 && i < 8 ? names[i] : "algo" + std::to_string(i);
  }

  // One cuDNN convolution with its bias/residual/ReLU: the fused call or the
  // convolution plus the epilogue kernel. `strict`: errors throw (runs), else
  // they return false (timing of candidates).
  bool run_cudnn(cudnnHandle_t h, bool fused, cudnnConvolutionFwdAlgo_t algo, size_t ws_bytes, void* ws, const void* x,
                 const void* w, const void* runtime_bias, const void* z, void* y, cudaStream_t stream,
                 bool strict = false) {
    float one = 1.f, zero = 0.f;
    auto ok = [&](cudnnStatus_t st, const char* what) {
      if (st == CUDNN_STATUS_SUCCESS) return true;
      if (strict) check_cudnn(st, what);
      return false;
    };
    if (fused) {
      float alpha2 = z != nullptr ? 1.f : 0.f;
      return ok(cudnnConvolutionBiasActivationForward(h, &one, xd_, x, wd_, w, cd_, algo, ws, ws_bytes, &alpha2, yd_,
                                                      z != nullptr ? z : y, bd_, bias_typed_.get(), ad_, yd_, y),
                "cudnnConvolutionBiasActivationForward");
    }
    if (!ok(cudnnConvolutionForward(h, &one, xd_, x, wd_, w, cd_, algo, ws, ws_bytes, &zero, yd_, y),
            "cudnnConvolutionForward"))
      return false;
    // A runtime bias is rare: add it with cuDNN.
    if (runtime_bias != nullptr && !ok(cudnnAddTensor(h, &one, bd_, runtime_bias, &one, yd_, y), "cudnnAddTensor"))
      return false;
    const float* shift = runtime_bias_ ? nullptr : static_cast<const float*>(bias_f32_.get());
    if (shift != nullptr || z != nullptr || relu_) {
      int64_t inner = plugin::element_count(y_) / (y_[0] * y_[1]);
      // Channels-last: [N*H*W, C] with the channel innermost.
      int64_t rows = nhwc_ ? y_[0] * inner : y_[0];
      if (nhwc_) inner = 1;
      cudaError_t e = k::channel_affine(type_, y, nullptr, shift, z, y, rows, y_[1], inner, relu_ ? 1 : 0, stream);
      if (e != cudaSuccess) {
        if (strict) check_launch(e, "conv epilogue kernel");
        return false;
      }
    }
    return true;
  }

  // 1x1, stride 1, unpadded, ungrouped 2-D convolutions with constant weights
  // are GEMMs: NHWC Y[NHW, K] = X[NHW, C] W^T, one GEMM; NCHW Y[n][K, HW] =
  // W[K, C] X[n][C, HW], a strided batch with row-major layouts (the bias of
  // cuBLASLt's epilogue runs along D's rows, the output channels).
  bool gemm_eligible() const {
    if (weights_host_.empty() || runtime_bias_ || group_ != 1 || x_.size() != 4) return false;
    if (w_shape_[2] != 1 || w_shape_[3] != 1) return false;
    for (int p : pad_)
      if (p != 0) return false;
    for (int st : stride_)
      if (st != 1) return false;
    return true;
  }

  // Creates the cuBLASLt descriptors and times up to 4 heuristic algorithms
  // (256-byte aligned operands), keeping the fastest; also one algorithm for
  // operands aligned only to their element size. False when cuBLASLt offers none.
  bool setup_gemm(DeviceContext& ctx) {
    cudaDataType_t t = dtype_ == HXRT_DTYPE_FLOAT16 ? CUDA_R_16F : dtype_ == HXRT_DTYPE_BFLOAT16 ? CUDA_R_16BF : CUDA_R_32F;
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    if (dtype_ == HXRT_DTYPE_FLOAT32 && ctx.config.allow_tf32) compute = CUBLAS_COMPUTE_32F_FAST_TF32;
    if (cublasLtMatmulDescCreate(&gemm_desc_, compute, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS) return false;
    uint64_t kout = static_cast<uint64_t>(w_shape_[0]), cin = static_cast<uint64_t>(w_shape_[1]);
    uint64_t hw = static_cast<uint64_t>(x_[2] * x_[3]), n = static_cast<uint64_t>(x_[0]);
    cublasOperation_t opa = nhwc_ ? CUBLAS_OP_T : CUBLAS_OP_N, opb = CUBLAS_OP_N;
    cublasLtEpilogue_t epi = relu_ ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    void* bias = bias_typed_.get();
    bool ok = cublasLtMatmulDescSetAttribute(gemm_desc_, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof(opa)) == CUBLAS_STATUS_SUCCESS &&
              cublasLtMatmulDescSetAttribute(gemm_desc_, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof(opb)) == CUBLAS_STATUS_SUCCESS &&
              cublasLtMatmulDescSetAttribute(gemm_desc_, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)) == CUBLAS_STATUS_SUCCESS &&
              cublasLtMatmulDescSetAttribute(gemm_desc_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)) == CUBLAS_STATUS_SUCCESS;
    if (!ok) return false;
    auto layout = [&](cublasLtMatrixLayout_t* l, uint64_t rows, uint64_t cols, int64_t ld, bool row_major, int64_t stride) {
      if (cublasLtMatrixLayoutCreate(l, t, rows, cols, ld) != CUBLAS_STATUS_SUCCESS) return false;
      if (row_major) {
        cublasLtOrder_t order = CUBLASLT_ORDER_ROW;
        if (cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_ORDER, &order, sizeof(order)) != CUBLAS_STATUS_SUCCESS)
          return false;
      }
      if (!nhwc_ && n > 1) {
        int32_t count = static_cast<int32_t>(n);
        if (cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)) != CUBLAS_STATUS_SUCCESS ||
            cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)) !=
                CUBLAS_STATUS_SUCCESS)
          return false;
      }
      return true;
    };
    if (nhwc_) {
      // Column-major: A = KRSC weights seen as [C x K] (transposed), B = X as [C x NHW], D as [K x NHW].
      ok = layout(&gemm_a_, cin, kout, static_cast<int64_t>(cin), false, 0) &&
           layout(&gemm_b_, cin, n * hw, static_cast<int64_t>(cin), false, 0) &&
           layout(&gemm_d_, kout, n * hw, static_cast<int64_t>(kout), false, 0);
    } else {
      ok = layout(&gemm_a_, kout, cin, static_cast<int64_t>(cin), true, 0) &&
           layout(&gemm_b_, cin, hw, static_cast<int64_t>(hw), true, static_cast<int64_t>(cin * hw)) &&
           layout(&gemm_d_, kout, hw, static_cast<int64_t>(hw), true, static_cast<int64_t>(kout * hw));
    }
    if (!ok) return false;
    auto heuristics = [&](uint32_t alignment, int wanted) {
      std::vector<cublasLtMatmulHeuristicResult_t> r(static_cast<size_t>(wanted));
      cublasLtMatmulPreference_t pref = nullptr;
      if (cublasLtMatmulPreferenceCreate(&pref) != CUBLAS_STATUS_SUCCESS) return decltype(r){};
      size_t max_ws = kMaxGemmWorkspace;
      cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_ws, sizeof(max_ws));
      for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
        cublasLtMatmulPreferenceSetAttribute(pref, attr, &alignment, sizeof(alignment));
      int found = 0;
      cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(ctx.libs->blas(), gemm_desc_, gemm_a_, gemm_b_, gemm_d_, gemm_d_,
                                                         pref, wanted, r.data(), &found);
      cublasLtMatmulPreferenceDestroy(pref);
      r.resize(st == CUBLAS_STATUS_SUCCESS ? static_cast<size_t>(std::max(found, 0)) : 0);
      return r;
    };
    gemm_candidates_ = heuristics(256, 4);
    auto any = heuristics(static_cast<uint32_t>(plugin::dtype_size(dtype_)), 1);
    gemm_any_found_ = !any.empty();
    if (gemm_any_found_) {
      gemm_any_ = any[0].algo;
      gemm_ws_ = std::max(gemm_ws_, any[0].workspaceSize);
    }
    return !gemm_candidates_.empty();
  }

  cublasStatus_t gemm_status(cublasLtHandle_t h, const cublasLtMatmulAlgo_t& algo, void* ws, const void* x, const void* z,
                             void* y, cudaStream_t stream) const {
    float one = 1.f, beta = z != nullptr ? 1.f : 0.f;
    return cublasLtMatmul(h, gemm_desc_, &one, weights_.get(), gemm_a_, x, gemm_b_, &beta, z != nullptr ? z : y, gemm_d_,
                          y, gemm_d_, &algo, ws, gemm_ws_, stream);
  }

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
  cudnnMathType_t math_ = CUDNN_DEFAULT_MATH;
  size_t workspace_ = 0;
  // The 1x1-as-GEMM variant (cuBLASLt).
  bool use_gemm_ = false, gemm_any_found_ = false;
  cublasLtMatmulDesc_t gemm_desc_ = nullptr;
  cublasLtMatrixLayout_t gemm_a_ = nullptr, gemm_b_ = nullptr, gemm_d_ = nullptr;
  std::vector<cublasLtMatmulHeuristicResult_t> gemm_candidates_;
  cublasLtMatmulAlgo_t gemm_aligned_{}, gemm_any_{};
  size_t gemm_ws_ = 0;
};

}  // namespace

void register_conv_ops() {
  register_op("Conv", 1, kMaxOpset, [](const NodeReader& node, const OpConfig& config) -> std::unique_ptr<Op> {
    return std::make_unique<ConvOp>(node, config);
  });
}

}  // namespace hxrt::cuda
