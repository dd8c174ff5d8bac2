// The CPU plugin's kernel interface. A kernel is built once per node at
// compile time (when it may pre-pack weights) and run many times.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hxrt/plugin_support/node_reader.hpp"
#include "hxrt/plugin_support/status.hpp"

namespace hxrt::cpu {

using plugin::NodeReader;
using plugin::PluginError;
using plugin::Shape;
using plugin::TensorInfo;

// Thrown by a kernel factory that cannot handle a node; becomes the answer of
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

class Kernel {
 public:
  virtual ~Kernel() = default;
  // `inputs[i]` / `outputs[i]` point at the dense data of the node's i-th
  // input/output, nullptr for an omitted optional one. Inputs that were
  // compile-time constants are passed too. Throws PluginError on failure.
  virtual void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) = 0;
};

// Builds a kernel for `node` (its descriptors are valid only during the call;
// copy what is kept) or throws Unsupported.
using KernelFactory = std::function<std::unique_ptr<Kernel>(const NodeReader& node)>;

struct OpRegistration {
  std::string op_type;   // default ONNX domain
  int min_opset;         // inclusive range of opset versions handled
  int max_opset;
  KernelFactory factory;
};

// Every factory registered for `op_type`, in priority order (oneDNN first,
// then the generic own kernels).
std::vector<const OpRegistration*> factories_for(std::string_view op_type);

// Called once by each kernel family (see registry.cpp) to add its ops.
void register_op(OpRegistration registration);

// Tries the registered factories in order; throws Unsupported with the most
// specific reason when none fits.
std::unique_ptr<Kernel> create_kernel(const NodeReader& node);

// Families of kernels; each adds its registrations. Defined in their own files.
void register_onednn_kernels();
void register_elementwise_kernels();
void register_data_movement_kernels();
void register_misc_kernels();    // softmax, normalizations, reductions, MatMul/Gemm
void register_own_nn_kernels();  // naive pooling, Conv, ConvTranspose

// A kernel from a lambda, for the many ops whose work is one function.
class FunctionKernel final : public Kernel {
 public:
  using Body = std::function<void(const std::vector<const void*>&, const std::vector<void*>&)>;
  explicit FunctionKernel(Body body) : body_(std::move(body)) {}
  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) override {
    body_(inputs, outputs);
  }

 private:
  Body body_;
};

}  // namespace hxrt::cpu
