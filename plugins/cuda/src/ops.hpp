// Op planning for the CUDA plugin. An Op is built from one node descriptor
// with the host compiler only (pure: no device calls), which is what
// query_op_support runs; compile then calls prepare() on the device and
// launch() enqueues the work on a stream.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cuda_common.hpp"
#include "hxrt/plugin_support/node_reader.hpp"
#include "kernels.hpp"

namespace hxrt::cuda {

using plugin::NodeReader;
using plugin::Shape;
using plugin::TensorInfo;

// Thrown by an op factory that cannot handle a node: the answer of
// query_op_support (supported = 0, reason, message).
class Unsupported : public std::exception {
 public:
  Unsupported(hxrt_support_reason reason, std::string message) : reason_(reason), message_(std::move(message)) {}
  hxrt_support_reason reason() const noexcept { return reason_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  hxrt_support_reason reason_;
  std::string message_;
};

struct OpConfig {
  bool allow_tf32 = false;  // float32 GEMMs/convolutions may use TF32 tensor cores
};

// What an op may use while it runs (or is prepared).
struct DeviceContext {
  int ordinal = 0;
  Libraries* libs = nullptr;
  cudaStream_t stream = nullptr;
  void* workspace = nullptr;  // workspace_bytes() bytes, owned by the executable
  OpConfig config;
};

// Device memory owned by an op (weights re-laid out at compile time).
class DeviceMemory {
 public:
  DeviceMemory() = default;
  explicit DeviceMemory(size_t bytes);
  DeviceMemory(const void* host, size_t bytes);  // allocates and uploads
  ~DeviceMemory();
  DeviceMemory(DeviceMemory&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; o.bytes_ = 0; }
  DeviceMemory& operator=(DeviceMemory&& o) noexcept;
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

class Op {
 public:
  virtual ~Op() = default;
  // Device-side setup, called once at compile time with the device current.
  virtual void prepare(DeviceContext&) {}
  virtual size_t workspace_bytes() const { return 0; }
  // Enqueues the op on ctx.stream. in[i] / out[i] are device pointers of the
  // node's inputs and outputs, nullptr for omitted ones; fused ops receive
  // extra inputs after the node's own (see the absorb_* hooks).
  virtual void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) = 0;
  // The output holds the input's bytes unchanged (Reshape and friends), so
  // an executable may let the output alias the input.
  virtual bool is_view() const { return false; }
  // The op calls cuBLASLt or cuDNN (the executable then holds the device's library lock).
  virtual bool uses_libraries() const { return false; }

  // Fusion hooks used by executable_compile for chains inside one graph.
  // Each returns true when this op took over the following node's work.
  // BatchNormalization (inference) folded into the weights:
  virtual bool absorb_batchnorm(const NodeReader&) { return false; }
  // A bias Add whose other operand (`constant`) is a compile-time constant:
  virtual bool absorb_bias(const TensorInfo& /*constant*/) { return false; }
  // An Add of a runtime tensor of the output's shape: it arrives as an extra input.
  virtual bool absorb_residual() { return false; }
  // A following Relu:
  virtual bool absorb_relu() { return false; }

  // Channels-last (NHWC) execution of 4-D tensors, chosen per executable by
  // its layout pass. kAgnostic ops work on either layout unchanged
  // (element-wise on equal shapes); kChannelsLast ops can switch to NHWC.
  enum class Layout { kNchwOnly, kAgnostic, kChannelsLast };
  virtual Layout layout() const { return Layout::kNchwOnly; }
  // Whether the op wants NHWC even when its input is NCHW (convolutions on
  // tensor cores); `force` when the user asked for channels-last everywhere.
  virtual bool prefers_channels_last(bool /*force*/) const { return false; }
  // Switches a kChannelsLast op to NHWC (before prepare); false when it cannot.
  virtual bool set_channels_last() { return false; }
  // Which inputs follow the op's layout (the others, e.g. weights, stay NCHW).
  virtual bool layout_input(size_t i) const { return i == 0 || layout() == Layout::kAgnostic; }
  // Output 0 is laid out identically in NCHW and NHWC (e.g. [N, C, 1, 1]).
  virtual bool output_layout_free() const { return false; }
};

using OpFactory = std::function<std::unique_ptr<Op>(const NodeReader&, const OpConfig&)>;

// Registers `factory` for `op_type` (default domain), opsets [min, max].
void register_op(std::string op_type, int min_opset, int max_opset, OpFactory factory);

// Builds the op for `node` or throws Unsupported with the most specific reason.
std::unique_ptr<Op> create_op(const NodeReader& node, const OpConfig& config);

// A unary element-wise op over `n` elements of float type `t` (used by fusion).
std::unique_ptr<Op> make_unary_op(k::UnaryParams params, hxrt_dtype t, int64_t n);

// A copy converting a 4-D tensor of `nchw` shape between NCHW and NHWC.
std::unique_ptr<Op> make_layout_copy(const Shape& nchw, int elem_size, bool to_nhwc);

// Peak rates of a device, for the roofline cost model.
struct DeviceRates {
  double flops_f32 = 0;     // FP32 CUDA cores
  double flops_tensor = 0;  // FP16/BF16 tensor cores (dense)
  double flops_tf32 = 0;
  double bandwidth = 0;     // device memory, bytes/s
  double launch_ns = 0;     // per-kernel launch overhead
};
// Expected time of `node` on the device (launch overhead included); > 0, finite, monotone.
double estimate_ns(const NodeReader& node, const DeviceRates& rates, const OpConfig& config);

// Families of ops; each registers its ops (called once).
void register_elementwise_ops();
void register_data_ops();
void register_nn_ops();
void register_blas_ops();
void register_conv_ops();

// ---------------------------------------------------------------------------
// Helpers shared by the op families.
// ---------------------------------------------------------------------------

bool is_float_type(hxrt_dtype t);  // float32, float16, bfloat16
k::FType ftype_of(hxrt_dtype t);   // requires is_float_type
// Throws Unsupported(DTYPE) unless `t` is float32/float16/bfloat16.
k::FType require_float(const NodeReader& node, hxrt_dtype t);
// Normalises a possibly negative axis against `rank`; throws Unsupported(ATTRIBUTE) out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const NodeReader& node);
// Broadcast description of up to three operand shapes against `out` (dims collapsed, rank <= kMaxRank).
k::Broadcast make_broadcast(const std::vector<Shape>& operands, const Shape& out, const NodeReader& node);
// The copy that materialises operand 0 of `b` densely over b's output dims.
k::StridedCopy broadcast_copy(const k::Broadcast& b);
// Throws a PluginError naming the op when a kernel launch failed.
void check_launch(cudaError_t e, const char* what);
// Row-major element strides of `shape`.
std::vector<int64_t> strides_of(const Shape& shape);
// Host-side float conversion of a constant of dtype `t` (float32/16, bfloat16).
std::vector<float> to_floats(const TensorInfo& t);
// Converts float values to `t`'s element bytes (float32/16, bfloat16).
std::vector<uint8_t> from_floats(const std::vector<float>& values, hxrt_dtype t);

}  // namespace hxrt::cuda
