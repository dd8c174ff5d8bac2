#include "ops.hpp"

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <numeric>

namespace hxrt::vk {

using plugin::NodeReader;
using plugin::Shape;
using plugin::TensorInfo;

namespace {

constexpr size_t kMaxRank = 6;
constexpr int64_t kMaxElements = (int64_t{1} << 31) - 1;  // shaders index with 32 bits

[[noreturn]] void unsupported(hxrt_support_reason reason, const std::string& message) {
  throw Unsupported(reason, message);
}

std::string op_name(const NodeReader& node) { return std::string(node.op_type()); }

std::vector<int64_t> dense_strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

int64_t product(const Shape& shape, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < shape.size(); ++i) p *= shape[i];
  return p;
}

int64_t normalize_axis(int64_t axis, size_t rank, const NodeReader& node, bool allow_end = false) {
  int64_t r = static_cast<int64_t>(rank) + (allow_end ? 1 : 0);
  if (axis < -r || axis >= r)
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": axis " + std::to_string(axis) + " is out of range for rank " +
                                                std::to_string(rank));
  return axis < 0 ? axis + r : axis;
}

uint32_t pow2_floor(uint32_t v) {
  uint32_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

// Workgroup size for simple kernels: 256 where the device allows it.
uint32_t local_size(const DeviceCaps& caps) {
  return pow2_floor(std::min({256u, caps.max_workgroup_invocations, caps.max_workgroup_size_x}));
}

uint32_t groups_for(int64_t items, uint32_t per_group, const DeviceCaps& caps) {
  int64_t g = (items + per_group - 1) / per_group;
  return static_cast<uint32_t>(std::clamp<int64_t>(g, 1, caps.max_group_count[0]));
}

// Checks shared by every op: dtypes known, shapes within 32-bit indexing and
// within one storage buffer range.
void check_sizes(const NodeReader& node, const DeviceCaps& caps) {
  auto check = [&](const hxrt_tensor_desc& d, const char* what, size_t i) {
    size_t elem = plugin::dtype_size(d.dtype);
    if (elem == 0)
      unsupported(HXRT_UNSUPPORTED_DTYPE, op_name(node) + ": " + what + " " + std::to_string(i) + " has dtype " +
                                              plugin::dtype_name(d.dtype));
    for (size_t k = 0; k < d.rank; ++k)
      if (d.dims[k] < 0) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, op_name(node) + ": negative dimension");
    int64_t n = 1;
    for (size_t k = 0; k < d.rank; ++k) {
      if (d.dims[k] != 0 && n > kMaxElements / d.dims[k])
        unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": " + what + " " + std::to_string(i) +
                                                " has 2^31 elements or more; kernels index with 32 bits");
      n *= d.dims[k];
    }
    if (caps.max_storage_buffer_range != 0 && static_cast<uint64_t>(n) * elem > caps.max_storage_buffer_range)
      unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": " + what + " " + std::to_string(i) + " needs " +
                                              std::to_string(static_cast<uint64_t>(n) * elem) +
                                              " bytes, more than the device's maxStorageBufferRange of " +
                                              std::to_string(caps.max_storage_buffer_range));
  };
  for (size_t i = 0; i < node.num_inputs(); ++i)
    if (node.has_input(i)) check(node.input(i), "input", i);
  for (size_t i = 0; i < node.num_outputs(); ++i)
    if (node.has_output(i)) check(node.output(i), "output", i);
}

void require_float(const NodeReader& node, std::initializer_list<size_t> inputs, size_t outputs = 1) {
  for (size_t i : inputs)
    if (node.has_input(i) && node.input(i).dtype != HXRT_DTYPE_FLOAT32)
      unsupported(HXRT_UNSUPPORTED_DTYPE, op_name(node) + ": input " + std::to_string(i) + " is " +
                                              plugin::dtype_name(node.input(i).dtype) + "; only float32 is supported");
  for (size_t i = 0; i < outputs; ++i)
    if (node.has_output(i) && node.output(i).dtype != HXRT_DTYPE_FLOAT32)
      unsupported(HXRT_UNSUPPORTED_DTYPE, op_name(node) + ": output " + std::to_string(i) + " is " +
                                              plugin::dtype_name(node.output(i).dtype) + "; only float32 is supported");
}

void require_inputs(const NodeReader& node, size_t count) {
  for (size_t i = 0; i < count; ++i)
    if (!node.has_input(i))
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, op_name(node) + ": input " + std::to_string(i) + " is missing");
  if (!node.has_output(0)) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, op_name(node) + ": output 0 is missing");
}

void only_first_output(const NodeReader& node) {
  for (size_t i = 1; i < node.num_outputs(); ++i)
    if (node.has_output(i))
      unsupported(HXRT_UNSUPPORTED_OTHER, op_name(node) + ": optional output " + std::to_string(i) + " is not supported");
}

Shape in_shape(const NodeReader& node, size_t i) { return plugin::shape_of(node.input(i)); }
Shape out_shape(const NodeReader& node, size_t i = 0) { return plugin::shape_of(node.output(i)); }

double tensor_bytes(const NodeReader& node) {
  double b = 0;
  for (size_t i = 0; i < node.num_inputs(); ++i)
    if (node.has_input(i)) b += static_cast<double>(plugin::tensor_info(node.input(i)).bytes());
  for (size_t i = 0; i < node.num_outputs(); ++i)
    if (node.has_output(i)) b += static_cast<double>(plugin::tensor_info(node.output(i)).bytes());
  return b;
}

Step elementwise_step(const char* shader, int64_t n, const DeviceCaps& caps) {
  Step s;
  s.shader = shader;
  uint32_t ls = local_size(caps);
  s.spec = {ls};
  s.pc.n = static_cast<uint32_t>(n);
  s.groups[0] = groups_for(n, ls, caps);
  return s;
}

Step copy_bytes(Operand src, Operand dst, uint64_t bytes) {
  Step s;
  s.kind = Step::Kind::kCopy;
  s.t[0] = src;
  s.t[1] = dst;
  s.bytes = bytes;
  return s;
}

// The strided-copy kernel (copy.comp) for elements of 4 or 8 bytes.
Step strided_copy(Operand src, Operand dst, const Shape& dims, const std::vector<int64_t>& src_strides,
                  const std::vector<int64_t>& dst_strides, int64_t src_base, int64_t dst_base, size_t elem,
                  const DeviceCaps& caps) {
  Step s = elementwise_step("copy", plugin::element_count(dims), caps);
  s.t[0] = src;
  s.t[1] = dst;
  s.params.assign(19, 0);
  s.params[0] = static_cast<int32_t>(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) {
    s.params[1 + d] = static_cast<int32_t>(dims[d]);
    s.params[7 + d] = static_cast<int32_t>(src_strides[d]);
    s.params[13 + d] = static_cast<int32_t>(dst_strides[d]);
  }
  s.pc.u[0] = static_cast<uint32_t>(static_cast<int32_t>(src_base));
  s.pc.u[1] = static_cast<uint32_t>(static_cast<int32_t>(dst_base));
  s.pc.u[2] = static_cast<uint32_t>(elem / 4);
  return s;
}

size_t movable_element_size(const NodeReader& node, hxrt_dtype dtype) {
  size_t e = plugin::dtype_size(dtype);
  if (e != 4 && e != 8)
    unsupported(HXRT_UNSUPPORTED_DTYPE, op_name(node) + ": " + plugin::dtype_name(dtype) +
                                            " elements are not supported (4- and 8-byte types are)");
  return e;
}

void check_rank(const NodeReader& node, size_t rank) {
  if (rank > kMaxRank)
    unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": rank " + std::to_string(rank) + " is above the supported " +
                                            std::to_string(kMaxRank));
}

// ---------------------------------------------------------------------------
// Element-wise.
// ---------------------------------------------------------------------------

struct UnaryOp {
  uint32_t code;
  float f0 = 0, f1 = 0;
  double flops = 1;
};

const std::map<std::string, UnaryOp>& unary_ops() {
  static const std::map<std::string, UnaryOp> ops = {
      {"Relu", {1}},        {"Sigmoid", {2, 0, 0, 4}}, {"Tanh", {3, 0, 0, 4}},  {"Exp", {4, 0, 0, 4}},
      {"Log", {5, 0, 0, 4}}, {"Sqrt", {6, 0, 0, 4}},   {"Abs", {7}},            {"Neg", {8}},
      {"Reciprocal", {9}},  {"Floor", {10}},           {"Ceil", {11}},          {"Erf", {12, 0, 0, 8}},
      {"Sin", {13, 0, 0, 4}}, {"Cos", {14, 0, 0, 4}},  {"LeakyRelu", {15, 0.01f}}, {"Elu", {16, 1.0f, 0, 4}},
      {"Selu", {17, 1.67326319217681884765625f, 1.05070102214813232421875f, 4}},
      {"HardSigmoid", {18, 0.2f, 0.5f}}, {"HardSwish", {19, 0, 0, 3}}, {"Softplus", {20, 0, 0, 8}},
      {"Softsign", {21, 0, 0, 3}}, {"Gelu", {22, 0, 0, 10}}, {"Clip", {24}}, {"Round", {25}},
      {"Sign", {26}}, {"Celu", {27, 1.0f, 0, 4}}, {"ThresholdedRelu", {28, 1.0f}}, {"Mish", {29, 0, 0, 12}}};
  return ops;
}

NodePlan plan_unary(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 1);
  require_float(node, {0});
  only_first_output(node);
  std::string op = op_name(node);
  UnaryOp u = unary_ops().at(op);
  if (op == "LeakyRelu" || op == "Elu" || op == "Celu" || op == "ThresholdedRelu") u.f0 = node.get_float("alpha", u.f0);
  if (op == "Selu") {
    u.f0 = node.get_float("alpha", u.f0);
    u.f1 = node.get_float("gamma", u.f1);
  }
  if (op == "HardSigmoid") {
    u.f0 = node.get_float("alpha", u.f0);
    u.f1 = node.get_float("beta", u.f1);
  }
  if (op == "Gelu") {
    std::string approx = node.get_string("approximate", "none");
    if (approx == "tanh") u.code = 23;
    else if (approx != "none") unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Gelu: approximate='" + approx + "'");
  }
  if (op == "Clip") {
    u.f0 = -std::numeric_limits<float>::infinity();
    u.f1 = std::numeric_limits<float>::infinity();
    if (node.opset() < 11) {
      u.f0 = node.get_float("min", u.f0);
      u.f1 = node.get_float("max", u.f1);
    } else {
      for (size_t i = 1; i <= 2; ++i) {
        if (!node.has_input(i)) continue;
        TensorInfo t = node.input_info(i);
        if (!t.constant) unsupported(HXRT_UNSUPPORTED_OTHER, "Clip: min/max must be compile-time constants");
        if (t.dtype != HXRT_DTYPE_FLOAT32 || t.numel() != 1)
          unsupported(HXRT_UNSUPPORTED_DTYPE, "Clip: min/max must be float32 scalars");
        (i == 1 ? u.f0 : u.f1) = t.constant_floats()[0];
      }
    }
  }
  int64_t n = plugin::element_count(in_shape(node, 0));
  if (out_shape(node) != in_shape(node, 0))
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, op + ": output shape differs from the input's");
  NodePlan plan;
  if (n > 0) {
    Step s = elementwise_step("unary", n, caps);
    s.t[0] = node_input(0);
    s.t[1] = node_output(0);
    s.pc.u[0] = u.code;
    s.pc.f[0] = u.f0;
    s.pc.f[1] = u.f1;
    plan.steps.push_back(s);
  }
  plan.flops = u.flops * static_cast<double>(n);
  return plan;
}

// Strides of `shape` broadcast (numpy rules) to `out`: 0 along broadcast dims.
std::vector<int64_t> broadcast_strides(const NodeReader& node, const Shape& shape, const Shape& out) {
  if (shape.size() > out.size())
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, op_name(node) + ": input rank exceeds the output's");
  std::vector<int64_t> dense = dense_strides(shape);
  std::vector<int64_t> strides(out.size(), 0);
  size_t offset = out.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == out[d + offset]) strides[d + offset] = shape[d] == 1 ? 0 : dense[d];
    else if (shape[d] == 1) strides[d + offset] = 0;
    else
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, op_name(node) + ": shapes " + plugin::shape_to_string(shape) +
                                                          " and " + plugin::shape_to_string(out) + " do not broadcast");
  }
  return strides;
}

// binary.comp's broadcast parameters for out = a (op) b.
void binary_params(const NodeReader& node, Step& s, const Shape& a, const Shape& b, const Shape& out) {
  if (a == out && b == out) {
    s.pc.u[1] = 0;
    return;
  }
  std::vector<int64_t> sa = broadcast_strides(node, a, out), sb = broadcast_strides(node, b, out);
  s.pc.u[1] = 1;
  s.params.assign(19, 0);
  s.params[0] = static_cast<int32_t>(out.size());
  for (size_t d = 0; d < out.size(); ++d) {
    s.params[1 + d] = static_cast<int32_t>(out[d]);
    s.params[7 + d] = static_cast<int32_t>(sa[d]);
    s.params[13 + d] = static_cast<int32_t>(sb[d]);
  }
}

// Sum, Max, Min with any number of inputs (numpy broadcasting): a chain of
// binary.comp steps accumulating into the output (each step reads and writes
// the same element, so the output may serve as an operand); one input is a copy.
NodePlan plan_variadic(const NodeReader& node, const DeviceCaps& caps) {
  static const std::map<std::string, uint32_t> codes = {{"Sum", 0}, {"Min", 5}, {"Max", 6}};
  std::string op = op_name(node);
  size_t k = node.num_inputs();
  if (k == 0) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, op + ": no inputs");
  require_inputs(node, k);
  for (size_t i = 0; i < k; ++i)
    if (node.input(i).dtype != HXRT_DTYPE_FLOAT32)
      unsupported(HXRT_UNSUPPORTED_DTYPE, op + ": input " + std::to_string(i) + " is " +
                                              plugin::dtype_name(node.input(i).dtype) + "; only float32 is supported");
  require_float(node, {});
  only_first_output(node);
  Shape out = out_shape(node);
  check_rank(node, out.size());
  int64_t n = plugin::element_count(out);
  NodePlan plan;
  plan.flops = static_cast<double>(n) * static_cast<double>(k - 1);
  for (size_t i = 0; i < k; ++i) broadcast_strides(node, in_shape(node, i), out);  // validates the shapes
  if (n == 0) return plan;
  if (k == 1) {
    if (in_shape(node, 0) != out)
      unsupported(HXRT_UNSUPPORTED_SHAPE, op + ": a single input that broadcasts is not supported");
    plan.steps.push_back(copy_bytes(node_input(0), node_output(0), static_cast<uint64_t>(n) * 4));
    return plan;
  }
  for (size_t i = 1; i < k; ++i) {
    Step s = elementwise_step("binary", n, caps);
    s.t[0] = i == 1 ? node_input(0) : node_output(0);
    s.t[1] = node_input(static_cast<int>(i));
    s.t[2] = node_output(0);
    s.pc.u[0] = codes.at(op);
    binary_params(node, s, i == 1 ? in_shape(node, 0) : out, in_shape(node, i), out);
    plan.steps.push_back(s);
  }
  return plan;
}

NodePlan plan_binary(const NodeReader& node, const DeviceCaps& caps) {
  static const std::map<std::string, uint32_t> codes = {{"Add", 0}, {"Sub", 1}, {"Mul", 2}, {"Div", 3},
                                                        {"Pow", 4}, {"Min", 5}, {"Max", 6}, {"PRelu", 7}};
  std::string op = op_name(node);
  if ((op == "Min" || op == "Max") && node.num_inputs() != 2) return plan_variadic(node, caps);
  require_inputs(node, 2);
  require_float(node, {0, 1});
  only_first_output(node);
  Shape a = in_shape(node, 0), b = in_shape(node, 1), out = out_shape(node);
  check_rank(node, out.size());
  int64_t n = plugin::element_count(out);
  NodePlan plan;
  plan.flops = static_cast<double>(n) * (op == "Pow" ? 8 : 1);
  if (n == 0) return plan;
  Step s = elementwise_step("binary", n, caps);
  s.t[0] = node_input(0);
  s.t[1] = node_input(1);
  s.t[2] = node_output(0);
  s.pc.u[0] = codes.at(op);
  binary_params(node, s, a, b, out);
  plan.steps.push_back(s);
  return plan;
}

// ---------------------------------------------------------------------------
// MatMul, Gemm, Conv (implicit GEMM): matmul.comp.
// ---------------------------------------------------------------------------

struct GemmConfig {
  uint32_t bm, bn, bk, tm, tn;
  std::string shader() const {
    return "matmul_" + std::to_string(bm) + "x" + std::to_string(bn) + "x" + std::to_string(bk) + "_" +
           std::to_string(tm) + "x" + std::to_string(tn);
  }
  uint32_t threads() const { return (bm / tm) * (bn / tn); }
  // Two slabs of A and B, each row padded by one vec4 (shaders/matmul.comp).
  uint64_t shared_bytes() const { return 2ull * bk * 16ull * ((bm / 4 + 1) + (bn / 4 + 1)); }
};

// The tiles matmul.comp is compiled for (CMakeLists.txt: HXRT_VK_GEMM_VARIANTS,
// same order); HXRT_VK_GEMM_CONFIG=<index> forces one.
constexpr GemmConfig kGemmVariants[] = {{128, 128, 8, 8, 8},  {128, 128, 16, 8, 8}, {128, 64, 16, 8, 4},
                                        {64, 64, 16, 4, 4},   {64, 64, 16, 8, 8},   {32, 32, 16, 4, 4}};
constexpr int kGemmVariantCount = static_cast<int>(std::size(kGemmVariants));

GemmConfig gemm_config(const DeviceCaps& caps, int64_t M, int64_t N, int64_t batches) {
  auto fits = [&](const GemmConfig& c) {
    return c.threads() <= caps.max_workgroup_invocations && c.threads() <= caps.max_workgroup_size_x &&
           c.shared_bytes() <= caps.max_shared_bytes;
  };
  if (const char* forced = std::getenv("HXRT_VK_GEMM_CONFIG")) {  // tuning aid: index into kGemmVariants
    int i = std::atoi(forced);
    if (i >= 0 && i < kGemmVariantCount && fits(kGemmVariants[i])) return kGemmVariants[i];
  }
  auto groups = [&](const GemmConfig& c) {
    return ((M + c.bm - 1) / c.bm) * ((N + c.bn - 1) / c.bn) * batches;
  };
  if (caps.gpu) {
    // The biggest tile (most reuse per thread) that still gives the GPU enough
    // workgroups to fill its multiprocessors; small problems get smaller tiles.
    for (int i : {1, 0, 2, 3})
      if (fits(kGemmVariants[i]) && groups(kGemmVariants[i]) >= 128) return kGemmVariants[i];
  } else {
    // CPU-type devices (lavapipe): 128x128 tiles with 8x8 outputs per thread
    // and BK 8 for big problems, the 64x64 tile with 4x4 per thread for small ones.
    if (M >= 128 && N >= 128 && fits(kGemmVariants[0])) return kGemmVariants[0];
  }
  if (fits(kGemmVariants[3]) && groups(kGemmVariants[3]) >= (caps.gpu ? 64 : 1)) return kGemmVariants[3];
  return kGemmVariants[5];  // 64 invocations, 9 KiB: inside every device's minimum limits
}

Step gemm_step(const DeviceCaps& caps, int64_t M, int64_t N, int64_t batches, uint32_t mode) {
  if (batches > caps.max_group_count[2])
    unsupported(HXRT_UNSUPPORTED_SHAPE, "matrix batch of " + std::to_string(batches) +
                                            " exceeds the device's maxComputeWorkGroupCount[2]");
  GemmConfig c = gemm_config(caps, M, N, batches);
  Step s;
  s.shader = c.shader();
  s.spec = {c.threads(), mode};
  s.groups[0] = static_cast<uint32_t>((N + c.bn - 1) / c.bn);
  s.groups[1] = static_cast<uint32_t>((M + c.bm - 1) / c.bm);
  s.groups[2] = static_cast<uint32_t>(batches);
  if (s.groups[0] > caps.max_group_count[0] || s.groups[1] > caps.max_group_count[1])
    unsupported(HXRT_UNSUPPORTED_SHAPE, "matrix of " + std::to_string(M) + " x " + std::to_string(N) +
                                            " needs more workgroups than the device allows");
  s.pc.f[0] = 1.0f;
  s.pc.f[1] = 0.0f;
  return s;
}

NodePlan plan_matmul(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 2);
  require_float(node, {0, 1});
  Shape a = in_shape(node, 0), b = in_shape(node, 1), out = out_shape(node);
  if (a.empty() || b.empty()) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "MatMul: scalar inputs");
  bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  int64_t M = a[a.size() - 2], K = a.back(), N = b.back();
  if (b[b.size() - 2] != K)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "MatMul: inner dimensions differ (" + std::to_string(K) + " vs " +
                                                        std::to_string(b[b.size() - 2]) + ")");
  Shape batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
  size_t nb = std::max(batch_a.size(), batch_b.size());
  if (nb > 4) unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: more than 4 batch dimensions");
  Shape batch(nb, 1);
  for (size_t d = 0; d < nb; ++d) {
    int64_t da = d + batch_a.size() >= nb ? batch_a[d + batch_a.size() - nb] : 1;
    int64_t db = d + batch_b.size() >= nb ? batch_b[d + batch_b.size() - nb] : 1;
    if (da != db && da != 1 && db != 1)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "MatMul: batch dimensions do not broadcast");
    batch[d] = std::max(da, db);
  }
  int64_t batches = plugin::element_count(batch);
  if (plugin::element_count(out) != batches * M * N)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "MatMul: output shape " + plugin::shape_to_string(out) +
                                                        " does not match the inputs");
  NodePlan plan;
  plan.flops = 2.0 * static_cast<double>(batches) * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  if (batches * M * N == 0) return plan;
  if (K == 0) unsupported(HXRT_UNSUPPORTED_SHAPE, "MatMul: empty inner dimension");
  Step s = gemm_step(caps, M, N, batches, 0);
  s.t[0] = node_input(0);
  s.t[1] = node_input(1);
  s.t[3] = node_output(0);
  s.params.assign(23, 0);
  int32_t* p = s.params.data();
  p[0] = static_cast<int32_t>(M); p[1] = static_cast<int32_t>(N); p[2] = static_cast<int32_t>(K);
  p[3] = static_cast<int32_t>(K); p[4] = 1; p[5] = static_cast<int32_t>(N); p[6] = 1;
  p[9] = static_cast<int32_t>(nb);
  // Batch strides of each operand (0 where it is broadcast).
  int64_t sa = M * K, sb = K * N;
  for (size_t d = nb; d-- > 0;) {
    p[10 + d] = static_cast<int32_t>(batch[d]);
    int64_t da = d + batch_a.size() >= nb ? batch_a[d + batch_a.size() - nb] : 1;
    int64_t db = d + batch_b.size() >= nb ? batch_b[d + batch_b.size() - nb] : 1;
    p[14 + d] = da == 1 ? 0 : static_cast<int32_t>(sa);
    p[18 + d] = db == 1 ? 0 : static_cast<int32_t>(sb);
    sa *= da;
    sb *= db;
  }
  plan.steps.push_back(s);
  return plan;
}

NodePlan plan_gemm(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 2);
  require_float(node, {0, 1, 2});
  Shape a = in_shape(node, 0), b = in_shape(node, 1), out = out_shape(node);
  if (a.size() != 2 || b.size() != 2 || out.size() != 2)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Gemm: A, B and Y must be 2-D");
  bool ta = node.get_int("transA", 0) != 0, tb = node.get_int("transB", 0) != 0;
  int64_t M = ta ? a[1] : a[0], K = ta ? a[0] : a[1];
  int64_t N = tb ? b[0] : b[1], Kb = tb ? b[1] : b[0];
  if (K != Kb || out[0] != M || out[1] != N) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Gemm: shapes disagree");
  NodePlan plan;
  plan.flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  if (M * N == 0) return plan;
  if (K == 0) unsupported(HXRT_UNSUPPORTED_SHAPE, "Gemm: empty inner dimension");
  Step s = gemm_step(caps, M, N, 1, 0);
  s.t[0] = node_input(0);
  s.t[1] = node_input(1);
  s.t[3] = node_output(0);
  s.pc.f[0] = node.get_float("alpha", 1.0f);
  s.pc.f[1] = node.get_float("beta", 1.0f);
  s.params.assign(23, 0);
  int32_t* p = s.params.data();
  p[0] = static_cast<int32_t>(M); p[1] = static_cast<int32_t>(N); p[2] = static_cast<int32_t>(K);
  p[3] = ta ? 1 : static_cast<int32_t>(K);
  p[4] = ta ? static_cast<int32_t>(M) : 1;
  p[5] = tb ? 1 : static_cast<int32_t>(N);
  p[6] = tb ? static_cast<int32_t>(K) : 1;
  if (node.has_input(2)) {
    Shape c = in_shape(node, 2);
    if (c.size() > 2) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Gemm: C has rank above 2");
    int64_t cm = c.size() == 2 ? c[0] : 1, cn = c.empty() ? 1 : c.back();
    if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Gemm: C does not broadcast to [M, N]");
    s.t[2] = node_input(2);
    s.pc.u[0] = 1;
    p[7] = cm == 1 ? 0 : static_cast<int32_t>(cn);
    p[8] = cn == 1 ? 0 : 1;
  }
  plan.steps.push_back(s);
  return plan;
}

// Spatial attributes of Conv / ConvTranspose / pools, for 1-D and 2-D.
struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0, ph_end = 0, pw_end = 0;
};

// Reads kernel/strides/dilations/pads for `spatial` (1 or 2) dims; pads from
// auto_pad are derived from the input and output sizes.
Window read_window(const NodeReader& node, size_t spatial, const Shape& kernel, const Shape& in, const Shape& out,
                   bool transposed) {
  auto get = [&](const char* name, int64_t fallback, size_t count) {
    std::vector<int64_t> v = node.get_ints(name);
    if (v.empty()) v.assign(count, fallback);
    if (v.size() != count)
      unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": attribute " + name + " has " +
                                                  std::to_string(v.size()) + " values, expected " + std::to_string(count));
    return v;
  };
  std::vector<int64_t> strides = get("strides", 1, spatial), dil = get("dilations", 1, spatial);
  std::vector<int64_t> pads = get("pads", 0, 2 * spatial);
  std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  std::vector<int64_t> out_pad = transposed ? get("output_padding", 0, spatial) : std::vector<int64_t>(spatial, 0);
  bool from_output = transposed && node.has("output_shape");
  if (auto_pad != "NOTSET" || from_output) {
    for (size_t i = 0; i < spatial; ++i) {
      int64_t k_eff = (kernel[i] - 1) * dil[i] + 1;
      int64_t total;
      if (auto_pad == "VALID") {
        total = 0;
      } else if (transposed) {
        total = strides[i] * (in[i] - 1) + out_pad[i] + k_eff - out[i];
      } else {
        total = (out[i] - 1) * strides[i] + k_eff - in[i];
      }
      total = std::max<int64_t>(total, 0);
      // SAME_UPPER puts the odd pad at the end; SAME_LOWER (and ConvTranspose's output_shape default) at the start.
      bool upper = auto_pad == "SAME_UPPER" || (auto_pad == "NOTSET" && !transposed);
      pads[i] = upper ? total / 2 : total - total / 2;
      pads[i + spatial] = total - pads[i];
    }
  }
  for (size_t i = 0; i < spatial; ++i)
    if (strides[i] < 1 || dil[i] < 1 || pads[i] < 0 || pads[i + spatial] < 0)
      unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": strides/dilations must be positive, pads non-negative");
  Window w;
  if (spatial == 2) {
    w.kh = kernel[0]; w.kw = kernel[1];
    w.sh = strides[0]; w.sw = strides[1];
    w.dh = dil[0]; w.dw = dil[1];
    w.ph = pads[0]; w.pw = pads[1]; w.ph_end = pads[2]; w.pw_end = pads[3];
  } else {
    w.kw = kernel[0]; w.sw = strides[0]; w.dw = dil[0]; w.pw = pads[0]; w.pw_end = pads[1];
  }
  return w;
}

// N, C, H, W of a 1-D (H = 1) or 2-D tensor.
std::array<int64_t, 4> nchw(const Shape& s) {
  if (s.size() == 3) return {s[0], s[1], 1, s[2]};
  return {s[0], s[1], s[2], s[3]};
}

void check_spatial(const NodeReader& node, const Shape& x) {
  if (x.size() != 3 && x.size() != 4)
    unsupported(HXRT_UNSUPPORTED_SHAPE, op_name(node) + ": only 1-D and 2-D spatial inputs are supported (got rank " +
                                            std::to_string(x.size()) + ")");
}

NodePlan plan_conv(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 2);
  require_float(node, {0, 1, 2});
  Shape x = in_shape(node, 0), w = in_shape(node, 1), y = out_shape(node);
  check_spatial(node, x);
  size_t spatial = x.size() - 2;
  if (w.size() != x.size() || y.size() != x.size())
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Conv: X, W and Y ranks differ");
  int64_t group = node.get_int("group", 1);
  auto [N, C, H, W] = nchw(x);
  auto [N2, OC, OH, OW] = nchw(y);
  (void)N2;
  if (group < 1 || C % group != 0 || OC % group != 0 || w[0] != OC || w[1] * group != C)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Conv: channels and group disagree");
  Shape kernel(w.begin() + 2, w.end());
  Shape in_sp(x.begin() + 2, x.end()), out_sp(y.begin() + 2, y.end());
  Window win = read_window(node, spatial, kernel, in_sp, out_sp, false);
  auto expect = [](int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1) {
    return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1;
  };
  if (expect(H, win.kh, win.sh, win.dh, win.ph, win.ph_end) != OH || expect(W, win.kw, win.sw, win.dw, win.pw, win.pw_end) != OW)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Conv: output shape " + plugin::shape_to_string(y) +
                                                        " does not follow from the attributes");
  if (node.has_input(2) && plugin::element_count(in_shape(node, 2)) != OC)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Conv: bias must have one value per output channel");
  int64_t Cg = C / group, Mg = OC / group, K = Cg * win.kh * win.kw, NN = OH * OW;
  NodePlan plan;
  plan.flops = 2.0 * static_cast<double>(N * OC * NN) * static_cast<double>(K);
  if (N * OC * NN == 0) return plan;
  if (K == 0) unsupported(HXRT_UNSUPPORTED_SHAPE, "Conv: empty kernel");
  Step s = gemm_step(caps, Mg, NN, N * group, 1);
  s.t[0] = node_input(1);
  s.t[1] = node_input(0);
  s.t[3] = node_output(0);
  if (node.has_input(2)) {
    s.t[2] = node_input(2);
    s.pc.u[0] = 1;
    s.pc.f[1] = 1.0f;
  }
  s.params = {static_cast<int32_t>(Mg), static_cast<int32_t>(NN), static_cast<int32_t>(K), static_cast<int32_t>(C),
              static_cast<int32_t>(H), static_cast<int32_t>(W), static_cast<int32_t>(Cg), static_cast<int32_t>(win.kh),
              static_cast<int32_t>(win.kw), static_cast<int32_t>(OH), static_cast<int32_t>(OW),
              static_cast<int32_t>(win.sh), static_cast<int32_t>(win.sw), static_cast<int32_t>(win.ph),
              static_cast<int32_t>(win.pw), static_cast<int32_t>(win.dh), static_cast<int32_t>(win.dw),
              static_cast<int32_t>(group)};
  plan.steps.push_back(s);
  return plan;
}

NodePlan plan_conv_transpose(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 2);
  require_float(node, {0, 1, 2});
  Shape x = in_shape(node, 0), w = in_shape(node, 1), y = out_shape(node);
  check_spatial(node, x);
  size_t spatial = x.size() - 2;
  if (w.size() != x.size() || y.size() != x.size())
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "ConvTranspose: X, W and Y ranks differ");
  int64_t group = node.get_int("group", 1);
  auto [N, C, H, W] = nchw(x);
  auto [N2, OC, OH, OW] = nchw(y);
  (void)N2;
  if (group < 1 || C % group != 0 || w[0] != C || w[1] * group != OC)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "ConvTranspose: channels and group disagree");
  Shape kernel(w.begin() + 2, w.end());
  Shape in_sp(x.begin() + 2, x.end()), out_sp(y.begin() + 2, y.end());
  Window win = read_window(node, spatial, kernel, in_sp, out_sp, true);
  if (node.has_input(2) && plugin::element_count(in_shape(node, 2)) != OC)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "ConvTranspose: bias must have one value per output channel");
  int64_t n = N * OC * OH * OW;
  NodePlan plan;
  plan.flops = 2.0 * static_cast<double>(N * C * H * W) * static_cast<double>(OC / group * win.kh * win.kw);
  if (n == 0) return plan;
  Step s = elementwise_step("conv_transpose", n, caps);
  s.t[0] = node_input(0);
  s.t[1] = node_input(1);
  s.t[3] = node_output(0);
  if (node.has_input(2)) {
    s.t[2] = node_input(2);
    s.pc.u[0] = 1;
  }
  s.params = {static_cast<int32_t>(C), static_cast<int32_t>(H), static_cast<int32_t>(W), static_cast<int32_t>(OC),
              static_cast<int32_t>(OH), static_cast<int32_t>(OW), static_cast<int32_t>(win.kh),
              static_cast<int32_t>(win.kw), static_cast<int32_t>(win.sh), static_cast<int32_t>(win.sw),
              static_cast<int32_t>(win.ph), static_cast<int32_t>(win.pw), static_cast<int32_t>(win.dh),
              static_cast<int32_t>(win.dw), static_cast<int32_t>(group)};
  plan.steps.push_back(s);
  return plan;
}

NodePlan plan_pool(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 1);
  require_float(node, {0});
  only_first_output(node);
  bool average = node.op_type() == "AveragePool";
  Shape x = in_shape(node, 0), y = out_shape(node);
  check_spatial(node, x);
  size_t spatial = x.size() - 2;
  Shape kernel = node.get_ints("kernel_shape");
  if (kernel.size() != spatial) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, op_name(node) + ": kernel_shape is required");
  if (node.get_int("storage_order", 0) != 0) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "MaxPool: storage_order=1");
  Shape in_sp(x.begin() + 2, x.end()), out_sp(y.begin() + 2, y.end());
  Window win = read_window(node, spatial, kernel, in_sp, out_sp, false);
  if (average && (win.dh != 1 || win.dw != 1)) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "AveragePool: dilations");
  auto [N, C, H, W] = nchw(x);
  auto [N2, C2, OH, OW] = nchw(y);
  (void)N2;
  (void)C2;
  int64_t n = N * C * OH * OW;
  NodePlan plan;
  plan.flops = static_cast<double>(n * win.kh * win.kw);
  if (n == 0) return plan;
  Step s = elementwise_step("pool", n, caps);
  s.t[0] = node_input(0);
  s.t[1] = node_output(0);
  s.pc.u[0] = average ? 1 : 0;
  s.pc.u[1] = static_cast<uint32_t>(node.get_int("count_include_pad", 0));
  s.params = {static_cast<int32_t>(H), static_cast<int32_t>(W), static_cast<int32_t>(OH), static_cast<int32_t>(OW),
              static_cast<int32_t>(win.kh), static_cast<int32_t>(win.kw), static_cast<int32_t>(win.sh),
              static_cast<int32_t>(win.sw), static_cast<int32_t>(win.ph), static_cast<int32_t>(win.pw),
              static_cast<int32_t>(win.ph_end), static_cast<int32_t>(win.pw_end), static_cast<int32_t>(win.dh),
              static_cast<int32_t>(win.dw)};
  plan.steps.push_back(s);
  return plan;
}

// ---------------------------------------------------------------------------
// Reductions and normalisations.
// ---------------------------------------------------------------------------

Step reduce_step(const Shape& x, const std::vector<bool>& reduced, uint32_t op, const DeviceCaps& caps) {
  std::vector<int64_t> strides = dense_strides(x);
  Step s;
  s.shader = "reduce";
  s.params.assign(26, 0);
  int nk = 0, nr = 0;
  int64_t outputs = 1, R = 1;
  for (size_t d = 0; d < x.size(); ++d) {
    if (reduced[d]) {
      s.params[14 + nr] = static_cast<int32_t>(x[d]);
      s.params[20 + nr] = static_cast<int32_t>(strides[d]);
      ++nr;
      R *= x[d];
    } else {
      s.params[1 + nk] = static_cast<int32_t>(x[d]);
      s.params[7 + nk] = static_cast<int32_t>(strides[d]);
      ++nk;
      outputs *= x[d];
    }
  }
  s.params[0] = nk;
  s.params[13] = nr;
  uint32_t ls = local_size(caps);
  s.spec = {ls};
  s.pc.n = static_cast<uint32_t>(outputs);
  s.pc.u[0] = op;
  s.pc.u[1] = static_cast<uint32_t>(R);
  // Long reductions get a workgroup per output; short ones a thread.
  bool per_group = R >= 64;
  s.pc.u[2] = per_group ? 1 : 0;
  s.groups[0] = per_group ? groups_for(outputs, 1, caps) : groups_for(outputs, ls, caps);
  return s;
}

NodePlan plan_reduce(const NodeReader& node, const DeviceCaps& caps) {
  static const std::map<std::string, uint32_t> codes = {
      {"ReduceSum", 0},       {"ReduceMean", 1}, {"ReduceMax", 2},    {"ReduceMin", 3},    {"ReduceProd", 4},
      {"ReduceSumSquare", 5}, {"ReduceL1", 6},   {"ReduceL2", 7},     {"ReduceLogSum", 8}, {"ReduceLogSumExp", 9},
      {"GlobalAveragePool", 1}, {"GlobalMaxPool", 2}};
  std::string op = op_name(node);
  require_inputs(node, 1);
  require_float(node, {0});
  only_first_output(node);
  Shape x = in_shape(node, 0);
  check_rank(node, x.size());
  std::vector<bool> reduced(x.size(), false);
  bool global = op.rfind("Global", 0) == 0;
  if (global) {
    if (x.size() < 3) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, op + ": input rank below 3");
    for (size_t d = 2; d < x.size(); ++d) reduced[d] = true;
  } else {
    // Axes moved from attribute to input: ReduceSum at 13, the others at 18.
    bool axes_input = node.opset() >= (op == "ReduceSum" ? 13 : 18);
    std::vector<int64_t> axes;
    bool have_axes = false;
    if (axes_input) {
      if (node.has_input(1)) {
        TensorInfo t = node.input_info(1);
        if (!t.constant) unsupported(HXRT_UNSUPPORTED_OTHER, op + ": axes must be a compile-time constant");
        axes = t.constant_ints();
        have_axes = !axes.empty();
      }
    } else if (node.has("axes")) {
      axes = node.get_ints("axes");
      have_axes = true;
    }
    if (!have_axes) {
      if (axes_input && node.get_int("noop_with_empty_axes", 0) != 0) {
        NodePlan plan;
        plan.steps.push_back(copy_bytes(node_input(0), node_output(0), plugin::tensor_info(node.input(0)).bytes()));
        return plan;
      }
      reduced.assign(x.size(), true);
    }
    for (int64_t a : axes) reduced[static_cast<size_t>(normalize_axis(a, x.size(), node))] = true;
  }
  int64_t R = 1;
  for (size_t d = 0; d < x.size(); ++d)
    if (reduced[d]) R *= x[d];
  if (R == 0) unsupported(HXRT_UNSUPPORTED_SHAPE, op + ": reducing an empty set");
  NodePlan plan;
  plan.flops = static_cast<double>(plugin::element_count(x));
  if (plugin::element_count(x) == 0) return plan;
  Step s = reduce_step(x, reduced, codes.at(op), caps);
  s.t[0] = node_input(0);
  s.t[1] = node_output(0);
  plan.steps.push_back(s);
  return plan;
}

Step row_step(const char* shader, int64_t rows, const DeviceCaps& caps) {
  Step s;
  s.shader = shader;
  s.spec = {local_size(caps)};
  s.pc.n = static_cast<uint32_t>(rows);
  s.groups[0] = groups_for(rows, 1, caps);
  return s;
}

NodePlan plan_softmax(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 1);
  require_float(node, {0});
  Shape x = in_shape(node, 0);
  bool legacy = node.opset() < 13;  // before 13: the input is coerced to 2-D at axis
  int64_t axis = normalize_axis(node.get_int("axis", legacy ? 1 : -1), std::max<size_t>(x.size(), 1), node);
  int64_t outer = product(x, 0, static_cast<size_t>(axis));
  int64_t A = legacy ? product(x, static_cast<size_t>(axis), x.size()) : (x.empty() ? 1 : x[static_cast<size_t>(axis)]);
  int64_t inner = legacy ? 1 : product(x, static_cast<size_t>(axis) + 1, x.size());
  NodePlan plan;
  plan.flops = 6.0 * static_cast<double>(plugin::element_count(x));
  if (outer * A * inner == 0) return plan;
  Step s = row_step("softmax", outer * inner, caps);
  s.t[0] = node_input(0);
  s.t[1] = node_output(0);
  s.pc.u[0] = static_cast<uint32_t>(A);
  s.pc.u[1] = static_cast<uint32_t>(inner);
  s.pc.u[2] = node.op_type() == "LogSoftmax" ? 1 : 0;
  plan.steps.push_back(s);
  return plan;
}

NodePlan plan_layer_norm(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 2);
  require_float(node, {0, 1, 2}, 3);
  Shape x = in_shape(node, 0);
  if (x.empty()) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "LayerNormalization: scalar input");
  int64_t axis = normalize_axis(node.get_int("axis", -1), x.size(), node);
  int64_t rows = product(x, 0, static_cast<size_t>(axis)), N = product(x, static_cast<size_t>(axis), x.size());
  for (size_t i = 1; i <= 2; ++i)
    if (node.has_input(i) && plugin::element_count(in_shape(node, i)) != N)
      unsupported(HXRT_UNSUPPORTED_SHAPE, "LayerNormalization: scale and bias must have the normalized shape");
  NodePlan plan;
  plan.flops = 8.0 * static_cast<double>(rows * N);
  if (rows * N == 0) return plan;
  Step s = row_step("norm", rows, caps);
  s.t[0] = node_input(0);
  s.t[1] = node_input(1);
  s.t[3] = node_output(0);
  if (node.has_input(2)) {
    s.t[2] = node_input(2);
    s.pc.u[3] = 1;
  }
  if (node.has_output(1)) {
    s.t[4] = node_output(1);
    s.pc.u[4] = 1;
  }
  if (node.has_output(2)) {
    s.t[5] = node_output(2);
    s.pc.u[5] = 1;
  }
  s.pc.u[0] = static_cast<uint32_t>(N);
  s.pc.f[0] = node.get_float("epsilon", 1e-5f);
  plan.steps.push_back(s);
  return plan;
}

NodePlan plan_instance_norm(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 3);
  require_float(node, {0, 1, 2});
  Shape x = in_shape(node, 0);
  if (x.size() < 3) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "InstanceNormalization: input rank below 3");
  int64_t C = x[1], rows = x[0] * C, N = product(x, 2, x.size());
  if (plugin::element_count(in_shape(node, 1)) != C || plugin::element_count(in_shape(node, 2)) != C)
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "InstanceNormalization: scale and B need one value per channel");
  NodePlan plan;
  plan.flops = 8.0 * static_cast<double>(rows * N);
  if (rows * N == 0) return plan;
  Step s = row_step("norm", rows, caps);
  s.t[0] = node_input(0);
  s.t[1] = node_input(1);
  s.t[2] = node_input(2);
  s.t[3] = node_output(0);
  s.pc.u[0] = static_cast<uint32_t>(N);
  s.pc.u[1] = 1;
  s.pc.u[2] = static_cast<uint32_t>(C);
  s.pc.u[3] = 1;
  s.pc.f[0] = node.get_float("epsilon", 1e-5f);
  plan.steps.push_back(s);
  return plan;
}

NodePlan plan_batch_norm(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 5);
  require_float(node, {0, 1, 2, 3, 4});
  only_first_output(node);
  if (node.get_int("training_mode", 0) != 0)
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "BatchNormalization: training_mode=1 is not supported");
  Shape x = in_shape(node, 0);
  if (x.size() < 2) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "BatchNormalization: input rank below 2");
  int64_t C = x[1], inner = product(x, 2, x.size());
  for (size_t i = 1; i <= 4; ++i)
    if (plugin::element_count(in_shape(node, i)) != C)
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "BatchNormalization: input " + std::to_string(i) +
                                                          " needs one value per channel");
  int64_t n = plugin::element_count(x);
  NodePlan plan;
  plan.flops = 4.0 * static_cast<double>(n);
  if (n == 0) return plan;
  Step s = elementwise_step("channel", n, caps);
  for (int i = 0; i < 5; ++i) s.t[i] = node_input(i);
  s.t[5] = node_output(0);
  s.pc.u[0] = static_cast<uint32_t>(std::max<int64_t>(inner, 1));
  s.pc.u[1] = static_cast<uint32_t>(C);
  s.pc.f[0] = node.get_float("epsilon", 1e-5f);
  plan.steps.push_back(s);
  return plan;
}

// ---------------------------------------------------------------------------
// Data movement.
// ---------------------------------------------------------------------------

NodePlan plan_reshape_like(const NodeReader& node, const DeviceCaps&) {
  require_inputs(node, 1);
  only_first_output(node);  // Dropout's mask
  if (node.op_type() == "Dropout" && node.has_input(2)) {
    TensorInfo training = node.input_info(2);
    if (!training.constant || training.constant->empty() || (*training.constant)[0] != 0)
      unsupported(HXRT_UNSUPPORTED_OTHER, "Dropout: only inference (training_mode false) is supported");
  }
  const hxrt_tensor_desc& in = node.input(0);
  const hxrt_tensor_desc& out = node.output(0);
  if (in.dtype != out.dtype) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, op_name(node) + ": dtypes differ");
  size_t bytes = plugin::tensor_info(in).bytes();
  if (bytes != plugin::tensor_info(out).bytes())
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, op_name(node) + ": element counts differ");
  NodePlan plan;
  if (bytes > 0) plan.steps.push_back(copy_bytes(node_input(0), node_output(0), bytes));
  return plan;
}

NodePlan plan_transpose(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 1);
  Shape x = in_shape(node, 0), y = out_shape(node);
  check_rank(node, x.size());
  size_t elem = movable_element_size(node, node.input(0).dtype);
  std::vector<int64_t> perm = node.get_ints("perm");
  if (perm.empty())
    for (size_t i = x.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  if (perm.size() != x.size()) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Transpose: perm has the wrong length");
  std::vector<int64_t> in_strides = dense_strides(x), src(x.size());
  for (size_t d = 0; d < perm.size(); ++d) {
    int64_t p = normalize_axis(perm[d], x.size(), node);
    if (y[d] != x[static_cast<size_t>(p)]) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Transpose: output shape");
    src[d] = in_strides[static_cast<size_t>(p)];
  }
  NodePlan plan;
  if (plugin::element_count(y) > 0)
    plan.steps.push_back(strided_copy(node_input(0), node_output(0), y, src, dense_strides(y), 0, 0, elem, caps));
  return plan;
}

NodePlan plan_concat(const NodeReader& node, const DeviceCaps& caps) {
  if (node.num_inputs() == 0) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Concat: no inputs");
  require_inputs(node, node.num_inputs());
  Shape y = out_shape(node);
  check_rank(node, y.size());
  size_t elem = movable_element_size(node, node.output(0).dtype);
  int64_t axis = normalize_axis(node.get_int("axis", 0), y.size(), node);
  std::vector<int64_t> out_strides = dense_strides(y);
  int64_t offset = 0;
  NodePlan plan;
  for (size_t i = 0; i < node.num_inputs(); ++i) {
    Shape x = in_shape(node, i);
    if (node.input(i).dtype != node.output(0).dtype || x.size() != y.size())
      throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Concat: inputs differ in dtype or rank");
    if (plugin::element_count(x) > 0)
      plan.steps.push_back(strided_copy(node_input(static_cast<int>(i)), node_output(0), x, dense_strides(x),
                                        out_strides, 0, offset * out_strides[static_cast<size_t>(axis)], elem, caps));
    offset += x[static_cast<size_t>(axis)];
  }
  if (offset != y[static_cast<size_t>(axis)]) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Concat: output shape");
  return plan;
}

NodePlan plan_split(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 1);
  Shape x = in_shape(node, 0);
  check_rank(node, x.size());
  size_t elem = movable_element_size(node, node.input(0).dtype);
  int64_t axis = normalize_axis(node.get_int("axis", 0), x.size(), node);
  std::vector<int64_t> in_strides = dense_strides(x);
  int64_t offset = 0;
  NodePlan plan;
  for (size_t i = 0; i < node.num_outputs(); ++i) {
    if (!node.has_output(i)) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Split: an output is missing");
    Shape y = out_shape(node, i);
    if (y.size() != x.size()) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Split: output rank");
    if (plugin::element_count(y) > 0)
      plan.steps.push_back(strided_copy(node_input(0), node_output(static_cast<int>(i)), y, in_strides, dense_strides(y),
                                        offset * in_strides[static_cast<size_t>(axis)], 0, elem, caps));
    offset += y[static_cast<size_t>(axis)];
  }
  if (offset != x[static_cast<size_t>(axis)]) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Split: output sizes");
  return plan;
}

NodePlan plan_slice(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 1);
  Shape x = in_shape(node, 0), y = out_shape(node);
  check_rank(node, x.size());
  size_t elem = movable_element_size(node, node.input(0).dtype);
  std::vector<int64_t> starts, ends, axes, steps;
  if (node.opset() < 10) {
    starts = node.get_ints("starts");
    ends = node.get_ints("ends");
    axes = node.get_ints("axes");
  } else {
    auto constant = [&](size_t i) {
      TensorInfo t = node.input_info(i);
      if (!t.constant) unsupported(HXRT_UNSUPPORTED_OTHER, "Slice: starts/ends/axes/steps must be compile-time constants");
      return t.constant_ints();
    };
    require_inputs(node, 3);
    starts = constant(1);
    ends = constant(2);
    if (node.has_input(3)) axes = constant(3);
    if (node.has_input(4)) steps = constant(4);
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Slice: starts, axes and steps differ in length");
  std::vector<int64_t> strides = dense_strides(x), src = strides;
  int64_t base = 0;
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = static_cast<size_t>(normalize_axis(axes[i], x.size(), node));
    int64_t dim = x[a], step = steps[i], start = starts[i];
    if (step == 0) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Slice: step 0");
    if (start < 0) start += dim;
    start = step > 0 ? std::clamp<int64_t>(start, 0, dim) : std::clamp<int64_t>(start, 0, std::max<int64_t>(dim - 1, 0));
    base += start * strides[a];
    src[a] = strides[a] * step;
  }
  NodePlan plan;
  if (plugin::element_count(y) > 0)
    plan.steps.push_back(strided_copy(node_input(0), node_output(0), y, src, dense_strides(y), base, 0, elem, caps));
  return plan;
}

NodePlan plan_expand(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 1);
  Shape x = in_shape(node, 0), y = out_shape(node);
  check_rank(node, y.size());
  size_t elem = movable_element_size(node, node.input(0).dtype);
  NodePlan plan;
  if (plugin::element_count(y) > 0)
    plan.steps.push_back(strided_copy(node_input(0), node_output(0), y, broadcast_strides(node, x, y), dense_strides(y),
                                      0, 0, elem, caps));
  return plan;
}

NodePlan plan_gather(const NodeReader& node, const DeviceCaps& caps) {
  require_inputs(node, 2);
  Shape data = in_shape(node, 0), idx = in_shape(node, 1), y = out_shape(node);
  if (data.empty()) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Gather: scalar data");
  size_t elem = movable_element_size(node, node.input(0).dtype);
  hxrt_dtype it = node.input(1).dtype;
  if (it != HXRT_DTYPE_INT64 && it != HXRT_DTYPE_INT32)
    unsupported(HXRT_UNSUPPORTED_DTYPE, std::string("Gather: indices of ") + plugin::dtype_name(it));
  int64_t axis = normalize_axis(node.get_int("axis", 0), data.size(), node);
  int64_t A = data[static_cast<size_t>(axis)], inner = product(data, static_cast<size_t>(axis) + 1, data.size());
  int64_t I = plugin::element_count(idx), n = plugin::element_count(y);
  NodePlan plan;
  if (n == 0) return plan;
  if (A == 0) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "Gather: indexing an empty axis");
  Step s = elementwise_step("gather", n, caps);
  s.t[0] = node_input(0);
  s.t[1] = node_input(1);
  s.t[2] = node_output(0);
  s.pc.u[0] = static_cast<uint32_t>(A);
  s.pc.u[1] = static_cast<uint32_t>(inner);
  s.pc.u[2] = static_cast<uint32_t>(I);
  s.pc.u[3] = it == HXRT_DTYPE_INT64 ? 1 : 0;
  s.pc.u[4] = static_cast<uint32_t>(elem / 4);
  plan.steps.push_back(s);
  return plan;
}

using Planner = std::function<NodePlan(const NodeReader&, const DeviceCaps&)>;

// Op -> (planner, lowest opset whose semantics it implements).
const std::map<std::string, std::pair<Planner, int64_t>>& planners() {
  static const std::map<std::string, std::pair<Planner, int64_t>> table = [] {
    std::map<std::string, std::pair<Planner, int64_t>> t;
    for (const auto& [name, op] : unary_ops()) t[name] = {plan_unary, 1};
    t["Gelu"] = {plan_unary, 20};
    t["Clip"] = {plan_unary, 6};
    for (const char* name : {"Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "PRelu"}) t[name] = {plan_binary, 7};
    t["Sum"] = {plan_variadic, 6};  // opset 6: equal shapes, 8: numpy broadcasting (both handled)
    t["MatMul"] = {plan_matmul, 1};
    t["Gemm"] = {plan_gemm, 7};  // earlier versions have the 'broadcast' attribute
    t["Conv"] = {plan_conv, 1};
    t["ConvTranspose"] = {plan_conv_transpose, 1};
    t["MaxPool"] = {plan_pool, 1};
    t["AveragePool"] = {plan_pool, 7};
    for (const char* name : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare",
                             "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "GlobalAveragePool",
                             "GlobalMaxPool"})
      t[name] = {plan_reduce, 1};
    t["Softmax"] = {plan_softmax, 1};
    t["LogSoftmax"] = {plan_softmax, 1};
    t["LayerNormalization"] = {plan_layer_norm, 17};
    t["InstanceNormalization"] = {plan_instance_norm, 6};
    t["BatchNormalization"] = {plan_batch_norm, 7};  // earlier versions have 'spatial'/'is_test'
    for (const char* name : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"})
      t[name] = {plan_reshape_like, 1};
    t["Transpose"] = {plan_transpose, 1};
    t["Concat"] = {plan_concat, 4};
    t["Split"] = {plan_split, 2};
    t["Slice"] = {plan_slice, 1};
    t["Expand"] = {plan_expand, 8};
    t["Gather"] = {plan_gather, 1};
    return t;
  }();
  return table;
}

constexpr int64_t kNewestOpset = 21;  // newest default-domain opset whose op semantics were checked

}  // namespace

NodePlan plan_node(const NodeReader& node, const DeviceCaps& caps) {
  std::string_view domain = node.domain();
  if (!domain.empty() && domain != "ai.onnx")
    unsupported(HXRT_UNSUPPORTED_OP, "domain '" + std::string(domain) + "' is not supported");
  auto it = planners().find(op_name(node));
  if (it == planners().end()) unsupported(HXRT_UNSUPPORTED_OP, op_name(node) + " is not implemented by the vulkan plugin");
  if (node.opset() < it->second.second || node.opset() > kNewestOpset)
    unsupported(HXRT_UNSUPPORTED_OPSET, op_name(node) + ": opset " + std::to_string(node.opset()) + " is not supported (" +
                                            std::to_string(it->second.second) + ".." + std::to_string(kNewestOpset) + ")");
  check_sizes(node, caps);
  NodePlan plan = it->second.first(node, caps);
  plan.bytes = tensor_bytes(node);
  return plan;
}

double estimate_ns(const NodePlan& plan, const DeviceCaps& caps) {
  double launches = static_cast<double>(std::max<size_t>(plan.steps.size(), 1));
  double compute = plan.flops / std::max(caps.flops_per_s, 1.0);
  double memory = plan.bytes / std::max(caps.bytes_per_s, 1.0);
  return launches * caps.launch_ns + std::max(compute, memory) * 1e9;
}

}  // namespace hxrt::vk
