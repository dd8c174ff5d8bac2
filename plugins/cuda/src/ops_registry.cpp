// The op registry, the roofline cost model and helpers shared by op families.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

#include "ops.hpp"

namespace hxrt::cuda {
namespace {

struct Registration {
  int min_opset;
  int max_opset;
  OpFactory factory;
};

std::map<std::string, std::vector<Registration>, std::less<>>& table() {
  static std::map<std::string, std::vector<Registration>, std::less<>> registrations;
  return registrations;
}

void register_all_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_blas_ops();
    register_conv_ops();
    register_elementwise_ops();
    register_data_ops();
    register_nn_ops();
  });
}

double numel_of(const hxrt_tensor_desc& d) {
  double n = 1;
  for (size_t i = 0; i < d.rank; ++i) n *= static_cast<double>(std::max<int64_t>(d.dims[i], 0));
  return n;
}

}  // namespace

void register_op(std::string op_type, int min_opset, int max_opset, OpFactory factory) {
  table()[std::move(op_type)].push_back({min_opset, max_opset, std::move(factory)});
}

std::unique_ptr<Op> create_op(const NodeReader& node, const OpConfig& config) {
  register_all_once();
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    throw Unsupported(HXRT_UNSUPPORTED_OP, "domain '" + std::string(node.domain()) + "' is not supported");
  auto it = table().find(node.op_type());
  if (it == table().end())
    throw Unsupported(HXRT_UNSUPPORTED_OP, "op " + std::string(node.op_type()) + " is not implemented on CUDA");
  std::optional<Unsupported> first;
  for (const Registration& r : it->second) {
    if (node.opset() < r.min_opset || node.opset() > r.max_opset) continue;
    try {
      return r.factory(node, config);
    } catch (const Unsupported& why) {
      if (!first) first = why;
    }
  }
  if (!first)
    throw Unsupported(HXRT_UNSUPPORTED_OPSET, std::string(node.op_type()) + " opset " + std::to_string(node.opset()) +
                                                  " is not supported");
  throw *first;
}

double estimate_ns(const NodeReader& node, const DeviceRates& rates, const OpConfig& config) {
  double bytes = 0, out_elems = 0;
  for (size_t i = 0; i < node.num_inputs(); ++i)
    if (node.has_input(i)) bytes += numel_of(node.input(i)) * static_cast<double>(plugin::dtype_size(node.input(i).dtype));
  for (size_t i = 0; i < node.num_outputs(); ++i)
    if (node.has_output(i)) {
      out_elems += numel_of(node.output(i));
      bytes += numel_of(node.output(i)) * static_cast<double>(plugin::dtype_size(node.output(i).dtype));
    }
  std::string_view op = node.op_type();
  double flops = out_elems;
  bool matrix = false;
  if ((op == "Conv" || op == "ConvTranspose") && node.has_input(1) && node.input(1).rank >= 2) {
    double per = 1;
    for (size_t i = 1; i < node.input(1).rank; ++i) per *= static_cast<double>(node.input(1).dims[i]);
    flops = 2.0 * (op == "Conv" ? out_elems : numel_of(node.input(0))) * per;
    matrix = true;
  } else if ((op == "MatMul" || op == "Gemm") && node.has_input(0) && node.input(0).rank >= 1) {
    const hxrt_tensor_desc& a = node.input(0);
    double kdim = static_cast<double>(a.dims[a.rank - 1]);
    if (op == "Gemm" && a.rank == 2 && node.get_int("transA", 0)) kdim = static_cast<double>(a.dims[0]);
    flops = 2.0 * out_elems * kdim;
    matrix = true;
  }
  double peak = rates.flops_f32 > 0 ? rates.flops_f32 : 1e13;
  hxrt_dtype t = node.has_input(0) ? node.input(0).dtype : HXRT_DTYPE_FLOAT32;
  if (matrix && (t == HXRT_DTYPE_FLOAT16 || t == HXRT_DTYPE_BFLOAT16) && rates.flops_tensor > 0) peak = rates.flops_tensor;
  if (matrix && t == HXRT_DTYPE_FLOAT32 && config.allow_tf32 && rates.flops_tf32 > 0) peak = rates.flops_tf32;
  double bw = rates.bandwidth > 0 ? rates.bandwidth : 1e12;
  double ns = std::max(flops / peak, bytes / bw) * 1e9 + (rates.launch_ns > 0 ? rates.launch_ns : 3000.0);
  if (!std::isfinite(ns) || ns <= 0) ns = 1e12;
  return ns;
}

// ---------------------------------------------------------------------------
// DeviceMemory
// ---------------------------------------------------------------------------

DeviceMemory::DeviceMemory(size_t bytes) : bytes_(bytes) {
  if (bytes > 0) check_cuda(cudaMalloc(&ptr_, bytes), "cudaMalloc (op constants)");
}

DeviceMemory::DeviceMemory(const void* host, size_t bytes) : DeviceMemory(bytes) {
  if (bytes > 0) check_cuda(cudaMemcpy(ptr_, host, bytes, cudaMemcpyHostToDevice), "uploading op constants");
}

DeviceMemory::~DeviceMemory() {
  if (ptr_ != nullptr) cudaFree(ptr_);
}

DeviceMemory& DeviceMemory::operator=(DeviceMemory&& o) noexcept {
  if (this != &o) {
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

bool is_float_type(hxrt_dtype t) {
  return t == HXRT_DTYPE_FLOAT32 || t == HXRT_DTYPE_FLOAT16 || t == HXRT_DTYPE_BFLOAT16;
}

k::FType ftype_of(hxrt_dtype t) {
  switch (t) {
    case HXRT_DTYPE_FLOAT16: return k::FType::kF16;
    case HXRT_DTYPE_BFLOAT16: return k::FType::kBF16;
    default: return k::FType::kF32;
  }
}

k::FType require_float(const NodeReader& node, hxrt_dtype t) {
  if (!is_float_type(t))
    throw Unsupported(HXRT_UNSUPPORTED_DTYPE, std::string(node.op_type()) + ": dtype " + plugin::dtype_name(t) +
                                                  " is not supported (float32, float16, bfloat16 are)");
  return ftype_of(t);
}

int64_t normalize_axis(int64_t axis, int64_t rank, const NodeReader& node) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1))
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, std::string(node.op_type()) + ": axis " + std::to_string(axis) +
                                                      " is out of range for rank " + std::to_string(rank));
  return a;
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

k::Broadcast make_broadcast(const std::vector<Shape>& operands, const Shape& out, const NodeReader& node) {
  const size_t rank = out.size();
  const size_t nop = operands.size();
  // Strides of each operand aligned to the output's trailing dims; 0 where broadcast.
  std::vector<std::vector<int64_t>> strides(nop, std::vector<int64_t>(rank, 0));
  k::Broadcast b;
  for (size_t k = 0; k < nop; ++k) {
    const Shape& s = operands[k];
    if (s.size() > rank)
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, std::string(node.op_type()) + ": operand rank exceeds output rank");
    int64_t stride = 1;
    for (size_t i = 0; i < s.size(); ++i) {
      size_t d = rank - 1 - i;
      int64_t dim = s[s.size() - 1 - i];
      if (dim != out[d] && dim != 1)
        throw Unsupported(HXRT_UNSUPPORTED_SHAPE, std::string(node.op_type()) + ": shapes " +
                                                      plugin::shape_to_string(s) + " and " +
                                                      plugin::shape_to_string(out) + " do not broadcast");
      strides[k][d] = (dim == 1 && out[d] != 1) ? 0 : stride;
      stride *= dim;
    }
    b.contiguous[k] = plugin::element_count(s) == plugin::element_count(out) && s.size() <= rank;
    // Same element count but different arrangement (e.g. [N,1] vs [1,N]) is not contiguous.
    if (b.contiguous[k])
      for (size_t d = 0; d < rank; ++d)
        if (out[d] != 1 && strides[k][d] == 0) b.contiguous[k] = false;
  }
  // Collapse adjacent dims that every operand walks contiguously (or all broadcast).
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> cs(nop);
  for (size_t d = 0; d < rank; ++d) {
    if (out[d] == 1) continue;
    bool merge = !dims.empty();
    for (size_t k = 0; k < nop && merge; ++k) {
      int64_t prev = cs[k].back();
      bool contiguous = prev == strides[k][d] * out[d] && strides[k][d] != 0;
      bool both_broadcast = prev == 0 && strides[k][d] == 0;
      merge = contiguous || both_broadcast;
    }
    if (merge) {
      dims.back() *= out[d];
      for (size_t k = 0; k < nop; ++k) cs[k].back() = strides[k][d];
    } else {
      dims.push_back(out[d]);
      for (size_t k = 0; k < nop; ++k) cs[k].push_back(strides[k][d]);
    }
  }
  if (dims.size() > static_cast<size_t>(k::kMaxRank))
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, std::string(node.op_type()) + ": broadcast needs more than " +
                                                  std::to_string(k::kMaxRank) + " dimensions");
  b.rank = static_cast<int>(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) {
    b.dims[d] = dims[d];
    for (size_t k = 0; k < nop; ++k) b.strides[k][d] = cs[k][d];
  }
  return b;
}

k::StridedCopy broadcast_copy(const k::Broadcast& b) {
  k::StridedCopy c;
  c.rank = b.rank;
  int64_t stride = 1;
  for (int d = b.rank - 1; d >= 0; --d) {
    c.dims[d] = b.dims[d];
    c.src_strides[d] = b.strides[0][d];
    c.dst_strides[d] = stride;
    stride *= b.dims[d];
  }
  return c;
}

void check_launch(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw cuda_error(e, std::string("launching ") + what);
}

std::vector<float> to_floats(const TensorInfo& t) {
  if (!t.constant) throw PluginError(HXRT_STATUS_INTERNAL, "to_floats: value is not a constant");
  const auto& bytes = *t.constant;
  size_t n = static_cast<size_t>(t.numel());
  std::vector<float> out(n);
  if (bytes.size() < n * plugin::dtype_size(t.dtype))
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "constant has fewer bytes than its shape needs");
  for (size_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case HXRT_DTYPE_FLOAT32: std::memcpy(&out[i], bytes.data() + 4 * i, 4); break;
      case HXRT_DTYPE_FLOAT16: {
        __half h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        out[i] = __half2float(h);
        break;
      }
      case HXRT_DTYPE_BFLOAT16: {
        __nv_bfloat16 h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        out[i] = __bfloat162float(h);
        break;
      }
      default: throw PluginError(HXRT_STATUS_INTERNAL, "to_floats: not a float dtype");
    }
  }
  return out;
}

std::vector<uint8_t> from_floats(const std::vector<float>& values, hxrt_dtype t) {
  size_t es = plugin::dtype_size(t);
  std::vector<uint8_t> out(values.size() * es);
  for (size_t i = 0; i < values.size(); ++i) {
    switch (t) {
      case HXRT_DTYPE_FLOAT32: std::memcpy(out.data() + 4 * i, &values[i], 4); break;
      case HXRT_DTYPE_FLOAT16: {
        __half h = __float2half_rn(values[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
        break;
      }
      case HXRT_DTYPE_BFLOAT16: {
        __nv_bfloat16 h = __float2bfloat16_rn(values[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
        break;
      }
      default: throw PluginError(HXRT_STATUS_INTERNAL, "from_floats: not a float dtype");
    }
  }
  return out;
}

}  // namespace hxrt::cuda
