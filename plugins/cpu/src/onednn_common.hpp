// Shared machinery of the oneDNN-backed kernels: the engine, memory
// descriptors for plain row-major tensors, and PrimitiveKernel, which binds a
// primitive's arguments to node inputs/outputs (reordering between the plain
// layout of hxrt values and the layout the primitive prefers) and runs it.
//
// Thread-safety: kernels are immutable after construction; every run creates
// its own stream, memory objects, temporaries and scratchpad, so one kernel
// may run on several threads at once.
#pragma once

#include <dnnl.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel.hpp"

namespace hxrt::cpu::onednn {

using dnnl::memory;
using dims = memory::dims;

dnnl::engine& engine();

// Row-major f32 descriptor; a scalar becomes a 1-element 1-D tensor.
memory::desc plain_md(const Shape& shape, memory::data_type dt = memory::data_type::f32);
memory::desc strided_md(const dims& d, const dims& strides, memory::data_type dt = memory::data_type::f32);
dims row_major_strides(const dims& d);

// Throws Unsupported(DTYPE) unless every present output and the first
// `num_data_inputs` present inputs are float32 (later inputs: axes and such).
void require_f32(const NodeReader& node, size_t num_data_inputs = static_cast<size_t>(-1));
// Throws Unsupported(SHAPE) when a tensor has rank outside [lo, hi].
void require_rank(const Shape& shape, size_t lo, size_t hi, const char* what);

std::string op_name(const NodeReader& node);

// A primitive attribute with user-managed scratchpad (so concurrent runs of a
// kernel never share one).
dnnl::primitive_attr make_attr();

class PrimitiveKernel final : public Kernel {
 public:
  PrimitiveKernel(dnnl::primitive primitive, const memory::desc& scratchpad_md);

  // A node input/output passed as argument `arg`. `user_md` describes the
  // value as stored (plain); `prim_md` what the primitive wants; they differ
  // only when a reorder is needed at run time.
  void bind_input(int arg, size_t index, const memory::desc& user_md, const memory::desc& prim_md);
  void bind_input(int arg, size_t index, const memory::desc& md) { bind_input(arg, index, md, md); }
  void bind_output(int arg, size_t index, const memory::desc& user_md, const memory::desc& prim_md);
  void bind_output(int arg, size_t index, const memory::desc& md) { bind_output(arg, index, md, md); }
  // Like bind_input, but when the input is a compile-time constant it is
  // reordered once now and kept.
  void bind_weights(int arg, const NodeReader& node, size_t index, const memory::desc& user_md,
                    const memory::desc& prim_md);
  // A memory object owned by the kernel (constants, packed scales).
  void bind_owned(int arg, memory value);

  // Optional work after the primitive ran (e.g. a derived output).
  using Epilogue = std::function<void(const std::vector<const void*>&, const std::vector<void*>&)>;
  void set_epilogue(Epilogue epilogue) { epilogue_ = std::move(epilogue); }

  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) override;

 private:
  struct Binding {
    enum class Kind { kInput, kOutput, kOwned } kind;
    int arg;
    size_t index;
    memory::desc user_md;
    memory::desc prim_md;
    std::optional<dnnl::reorder> reorder;
    memory owned;
  };
  dnnl::primitive primitive_;
  memory::desc scratchpad_md_;
  std::vector<Binding> bindings_;
  Epilogue epilogue_;
};

// A kernel that does nothing (every output is empty).
std::unique_ptr<Kernel> make_noop_kernel();

// Registers `factory` for `op_type`, converting oneDNN errors into
// Unsupported and giving empty outputs a no-op kernel.
void register_onednn(const char* op_type, int min_opset, int max_opset, KernelFactory factory);

// Normalizes a possibly negative axis; throws Unsupported(ATTRIBUTE) if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const NodeReader& node);

// Family registrations (one per source file).
void register_onednn_conv_kernels();
void register_onednn_matmul_kernels();
void register_onednn_pool_kernels();
void register_onednn_norm_kernels();
void register_onednn_eltwise_kernels();

}  // namespace hxrt::cpu::onednn
