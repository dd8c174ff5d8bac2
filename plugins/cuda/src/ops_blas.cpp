// MatMul and Gemm through cuBLASLt, with bias and ReLU epilogues.
//
// cuBLASLt is column-major; a row-major Y[M,N] = A[M,K] B[K,N] is computed as
// the column-major Y^T[N,M] = B^T[N,K] A^T[K,M], i.e. with the operands
// swapped and no data movement.
#include <cstring>

#include "ops.hpp"

namespace hxrt::cuda {
namespace {

constexpr int kMaxOpset = 25;
constexpr size_t kMaxWorkspace = size_t{32} << 20;  // what cuBLAS recommends for Hopper

cudaDataType_t cuda_type(hxrt_dtype t) {
  switch (t) {
    case HXRT_DTYPE_FLOAT16: return CUDA_R_16F;
    case HXRT_DTYPE_BFLOAT16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
  }
}

struct LtLayout {
  uint64_t rows = 0, cols = 0;
  int64_t ld = 0;
  int64_t batch_stride = 0;
};

class GemmOp final : public Op {
 public:
  // Shared setup: dtype checks. Shapes come from the two factories below.
  GemmOp(const NodeReader& node, const OpConfig& config) : config_(config) {
    if (!node.has_input(0) || !node.has_input(1) || !node.has_output(0))
      throw Unsupported(HXRT_UNSUPPORTED_OTHER, "missing input or output");
    dtype_ = node.input(0).dtype;
    require_float(node, dtype_);
    if (node.input(1).dtype != dtype_ || node.output(0).dtype != dtype_)
      throw Unsupported(HXRT_UNSUPPORTED_DTYPE, std::string(node.op_type()) + ": mixed dtypes");
    elem_ = plugin::dtype_size(dtype_);
  }

  static std::unique_ptr<Op> matmul(const NodeReader& node, const OpConfig& config) {
    auto op = std::make_unique<GemmOp>(node, config);
    Shape a = node.input_info(0).shape, b = node.input_info(1).shape;
    if (a.empty() || b.empty()) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul of a scalar");
    if (a.size() == 1) a.insert(a.begin(), 1);
    if (b.size() == 1) b.push_back(1);
    int64_t m = a[a.size() - 2], kk = a.back(), n = b.back();
    if (b[b.size() - 2] != kk) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: inner dimensions differ");
    Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
    int64_t na = plugin::element_count(ba), nb = plugin::element_count(bb);
    size_t rank = std::max(ba.size(), bb.size());
    ba.insert(ba.begin(), rank - ba.size(), 1);
    bb.insert(bb.begin(), rank - bb.size(), 1);
    int64_t batch = 1, stride_a = 0, stride_b = 0;
    if (nb == 1) {
      m *= na;  // weights shared by every batch: one GEMM over all rows of A
    } else if (na == 1) {
      batch = nb;
      stride_b = kk * n;
    } else if (ba == bb) {
      batch = na;
      stride_a = m * kk;
      stride_b = kk * n;
    } else {
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: mixed broadcasting of batch dimensions is not supported on CUDA");
    }
    op->m_ = m;
    op->n_ = n;
    op->k_ = kk;
    op->batch_ = batch;
    // cuBLASLt operand "A" is our B (N x K column-major), operand "B" is our A.
    op->la_ = {static_cast<uint64_t>(n), static_cast<uint64_t>(kk), n, stride_b};
    op->lb_ = {static_cast<uint64_t>(kk), static_cast<uint64_t>(m), kk, stride_a};
    op->lc_ = {static_cast<uint64_t>(n), static_cast<uint64_t>(m), n, m * n};
    return op;
  }

  static std::unique_ptr<Op> gemm(const NodeReader& node, const OpConfig& config) {
    auto op = std::make_unique<GemmOp>(node, config);
    Shape a = node.input_info(0).shape, b = node.input_info(1).shape;
    if (a.size() != 2 || b.size() != 2) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: inputs must be 2-D");
    bool ta = node.get_int("transA", 0) != 0, tb = node.get_int("transB", 0) != 0;
    if (node.opset() < 7 && node.get_int("broadcast", 0) == 0 && node.has_input(2))
      throw Unsupported(HXRT_UNSUPPORTED_OPSET, "Gemm: opset < 7 without broadcast");
    int64_t m = ta ? a[1] : a[0], kk = ta ? a[0] : a[1];
    int64_t n = tb ? b[0] : b[1];
    if ((tb ? b[1] : b[0]) != kk) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: inner dimensions differ");
    op->m_ = m;
    op->n_ = n;
    op->k_ = kk;
    op->trans_a_ = tb;  // cuBLASLt "A" is our B
    op->trans_b_ = ta;
    op->la_ = tb ? LtLayout{static_cast<uint64_t>(kk), static_cast<uint64_t>(n), kk, 0}
                 : LtLayout{static_cast<uint64_t>(n), static_cast<uint64_t>(kk), n, 0};
    op->lb_ = ta ? LtLayout{static_cast<uint64_t>(m), static_cast<uint64_t>(kk), m, 0}
                 : LtLayout{static_cast<uint64_t>(kk), static_cast<uint64_t>(m), kk, 0};
    op->lc_ = {static_cast<uint64_t>(n), static_cast<uint64_t>(m), n, 0};
    op->alpha_ = node.get_float("alpha", 1.f);
    float beta = node.get_float("beta", 1.f);
    if (node.has_input(2) && beta != 0.f) {
      TensorInfo c = node.input_info(2);
      if (c.dtype != op->dtype_) throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "Gemm: C dtype");
      Shape cs = c.shape;
      bool row_vector = plugin::element_count(cs) == n && (cs.empty() ? n == 1 : cs.back() == n) &&
                        (cs.size() < 2 || cs[0] == 1);
      if (row_vector && c.constant) {
        // A constant bias row becomes the epilogue bias (scaled by beta here).
        std::vector<float> v = to_floats(c);
        for (float& x : v) x *= beta;
        op->bias_host_ = from_floats(v, op->dtype_);
        op->has_bias_ = true;
      } else {
        // Any other C: broadcast it into Y first, then accumulate with beta.
        op->beta_ = beta;
        op->c_input_ = true;
        op->c_broadcast_ = make_broadcast({cs}, Shape{m, n}, node);
      }
    }
    return op;
  }

  bool uses_libraries() const override { return true; }
  size_t workspace_bytes() const override { return workspace_; }

  bool absorb_bias(const TensorInfo& c) override {
    if (has_bias_ || c_input_ || relu_ || !c.constant || c.dtype != dtype_ || c.numel() != n_) return false;
    if (!c.shape.empty() && c.shape.back() != n_) return false;
    std::vector<float> v = to_floats(c);
    bias_host_ = from_floats(v, dtype_);
    has_bias_ = true;
    return true;
  }
  bool absorb_relu() override {
    if (relu_ || c_input_) return false;
    relu_ = true;
    return true;
  }

  void prepare(DeviceContext& ctx) override {
    if (has_bias_) bias_ = DeviceMemory(bias_host_.data(), bias_host_.size());
    cudaDataType_t t = cuda_type(dtype_);
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    if (dtype_ == HXRT_DTYPE_FLOAT32 && ctx.config.allow_tf32) compute = CUBLAS_COMPUTE_32F_FAST_TF32;
    check_cublas(cublasLtMatmulDescCreate(&desc_, compute, CUDA_R_32F), "cublasLtMatmulDescCreate");
    cublasOperation_t opa = trans_a_ ? CUBLAS_OP_T : CUBLAS_OP_N, opb = trans_b_ ? CUBLAS_OP_T : CUBLAS_OP_N;
    check_cublas(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof(opa)), "TRANSA");
    check_cublas(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof(opb)), "TRANSB");
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (has_bias_) epi = relu_ ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    else if (relu_) epi = CUBLASLT_EPILOGUE_RELU;
    check_cublas(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)), "EPILOGUE");
    if (has_bias_) {
      void* p = bias_.get();
      check_cublas(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &p, sizeof(p)), "BIAS");
    }
    auto make = [&](const LtLayout& l, cublasLtMatrixLayout_t* out) {
      check_cublas(cublasLtMatrixLayoutCreate(out, t, l.rows, l.cols, l.ld), "cublasLtMatrixLayoutCreate");
      if (batch_ > 1) {
        int32_t count = static_cast<int32_t>(batch_);
        check_cublas(cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
                     "BATCH_COUNT");
        check_cublas(cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &l.batch_stride,
                                                      sizeof(l.batch_stride)),
                     "BATCH_OFFSET");
      }
    };
    make(la_, &layout_a_);
    make(lb_, &layout_b_);
    make(lc_, &layout_c_);
    // Two algorithms: one for 256-byte aligned operands (the usual case: our
    // allocations), one for operands only aligned to their element size.
    aligned_ = heuristic(ctx, 256);
    unaligned_ = heuristic(ctx, static_cast<uint32_t>(elem_));
  }

  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    if (m_ == 0 || n_ == 0) return;
    float beta = 0.f;
    if (c_input_) {
      check_launch(k::strided_copy(static_cast<int>(elem_), in[2], out[0], broadcast_copy(c_broadcast_), ctx.stream),
                   "Gemm C broadcast");
      beta = beta_;
    }
    if (k_ == 0) {
      if (!c_input_) check_cuda(cudaMemsetAsync(out[0], 0, static_cast<size_t>(m_ * n_ * batch_) * elem_, ctx.stream), "memset");
      return;
    }
    bool aligned = true;
    for (const void* p : {in[0], in[1], static_cast<const void*>(out[0])})
      aligned = aligned && reinterpret_cast<uintptr_t>(p) % 256 == 0;
    const Algo& algo = aligned ? aligned_ : unaligned_;
    if (!algo.found) throw PluginError(HXRT_STATUS_INTERNAL, "cuBLASLt found no algorithm for these operands");
    float alpha = alpha_;
    cublasLtHandle_t h = ctx.libs->blas();
    check_cublas(cublasLtMatmul(h, desc_, &alpha, in[1], layout_a_, in[0], layout_b_, &beta, out[0], layout_c_, out[0],
                                layout_c_, &algo.result.algo, ctx.workspace, workspace_, ctx.stream),
                 "cublasLtMatmul");
  }

  ~GemmOp() override {
    if (desc_ != nullptr) cublasLtMatmulDescDestroy(desc_);
    for (auto l : {layout_a_, layout_b_, layout_c_})
      if (l != nullptr) cublasLtMatrixLayoutDestroy(l);
  }

 private:
  struct Algo {
    bool found = false;
    cublasLtMatmulHeuristicResult_t result{};
  };

  Algo heuristic(DeviceContext& ctx, uint32_t alignment) {
    cublasLtMatmulPreference_t pref = nullptr;
    check_cublas(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
    size_t max_ws = kMaxWorkspace;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_ws, sizeof(max_ws));
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      cublasLtMatmulPreferenceSetAttribute(pref, attr, &alignment, sizeof(alignment));
    Algo algo;
    int found = 0;
    cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(ctx.libs->blas(), desc_, layout_a_, layout_b_, layout_c_,
                                                      layout_c_, pref, 1, &algo.result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    algo.found = s == CUBLAS_STATUS_SUCCESS && found > 0;
    if (algo.found) workspace_ = std::max(workspace_, algo.result.workspaceSize);
    return algo;
  }

  OpConfig config_;
  hxrt_dtype dtype_ = HXRT_DTYPE_FLOAT32;
  size_t elem_ = 4;
  int64_t m_ = 0, n_ = 0, k_ = 0, batch_ = 1;
  bool trans_a_ = false, trans_b_ = false;
  LtLayout la_, lb_, lc_;
  float alpha_ = 1.f, beta_ = 0.f;
  bool has_bias_ = false, relu_ = false, c_input_ = false;
  k::Broadcast c_broadcast_;
  std::vector<uint8_t> bias_host_;
  DeviceMemory bias_;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t layout_a_ = nullptr, layout_b_ = nullptr, layout_c_ = nullptr;
  Algo aligned_, unaligned_;
  size_t workspace_ = 0;
};

}  // namespace

void register_blas_ops() {
  register_op("MatMul", 1, kMaxOpset, GemmOp::matmul);
  register_op("Gemm", 1, kMaxOpset, GemmOp::gemm);
}

}  // namespace hxrt::cuda
