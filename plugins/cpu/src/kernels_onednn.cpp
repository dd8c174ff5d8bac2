// oneDNN-backed float32 kernels: the shared machinery (onednn_common.hpp) and
// the registration entry point. The op families live in kernels_onednn_*.cpp.
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "onednn_common.hpp"

namespace hxrt::cpu {
namespace onednn {

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dims row_major_strides(const dims& d) {
  dims s(d.size(), 1);
  for (size_t i = d.size(); i-- > 1;) s[i - 1] = s[i] * std::max<memory::dim>(d[i], 1);
  return s;
}

memory::desc plain_md(const Shape& shape, memory::data_type dt) {
  dims d(shape.begin(), shape.end());
  if (d.empty()) d.push_back(1);
  return memory::desc(d, dt, row_major_strides(d));
}

memory::desc strided_md(const dims& d, const dims& strides, memory::data_type dt) { return memory::desc(d, dt, strides); }

std::string op_name(const NodeReader& node) { return std::string(node.op_type()); }

void require_f32(const NodeReader& node, size_t num_data_inputs) {
  for (size_t i = 0; i < node.num_inputs() && i < num_data_inputs; ++i) {
    if (!node.has_input(i)) continue;
    hxrt_dtype dt = node.input(i).dtype;
    if (dt != HXRT_DTYPE_FLOAT32)
      throw Unsupported(HXRT_UNSUPPORTED_DTYPE, op_name(node) + " (oneDNN): input " + std::to_string(i) + " is " +
                                                    plugin::dtype_name(dt) + ", only float32 is supported");
  }
  for (size_t i = 0; i < node.num_outputs(); ++i) {
    if (!node.has_output(i)) continue;
    hxrt_dtype dt = node.output(i).dtype;
    if (dt != HXRT_DTYPE_FLOAT32)
      throw Unsupported(HXRT_UNSUPPORTED_DTYPE, op_name(node) + " (oneDNN): output " + std::to_string(i) + " is " +
                                                    plugin::dtype_name(dt) + ", only float32 is supported");
  }
}

void require_rank(const Shape& shape, size_t lo, size_t hi, const char* what) {
  if (shape.size() < lo || shape.size() > hi)
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, std::string(what) + " has rank " + std::to_string(shape.size()) +
                                                  ", supported ranks are " + std::to_string(lo) + ".." +
                                                  std::to_string(hi));
}

int64_t normalize_axis(int64_t axis, int64_t rank, const NodeReader& node) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1))
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE,
                      op_name(node) + ": axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

dnnl::primitive_attr make_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

namespace {

// Per-thread scratch storage, grown on demand; one primitive runs at a time
// on a thread, so it is never shared by two executions.
void* thread_scratch(size_t bytes) {
  struct Scratch {
    void* data = nullptr;
    size_t size = 0;
    ~Scratch() { std::free(data); }
  };
  thread_local Scratch scratch;
  if (bytes > scratch.size) {
    std::free(scratch.data);
    scratch.data = nullptr;
    scratch.size = 0;
    size_t rounded = (bytes + 4095) / 4096 * 4096;
    scratch.data = std::aligned_alloc(64, rounded);
    if (scratch.data == nullptr) throw std::bad_alloc();
    scratch.size = rounded;
  }
  return scratch.data;
}

bool same_md(const memory::desc& a, const memory::desc& b) { return a == b; }

}  // namespace

PrimitiveKernel::PrimitiveKernel(dnnl::primitive primitive, const memory::desc& scratchpad_md)
    : primitive_(std::move(primitive)), scratchpad_md_(scratchpad_md) {}

void PrimitiveKernel::bind_input(int arg, size_t index, const memory::desc& user_md, const memory::desc& prim_md) {
  Binding b{Binding::Kind::kInput, arg, index, user_md, prim_md, std::nullopt, memory()};
  if (!same_md(user_md, prim_md))
    b.reorder = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), user_md, engine(), prim_md));
  bindings_.push_back(std::move(b));
}

void PrimitiveKernel::bind_output(int arg, size_t index, const memory::desc& user_md, const memory::desc& prim_md) {
  Binding b{Binding::Kind::kOutput, arg, index, user_md, prim_md, std::nullopt, memory()};
  if (!same_md(user_md, prim_md))
    b.reorder = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), prim_md, engine(), user_md));
  bindings_.push_back(std::move(b));
}

void PrimitiveKernel::bind_weights(int arg, const NodeReader& node, size_t index, const memory::desc& user_md,
                                   const memory::desc& prim_md) {
  const hxrt_tensor_desc& desc = node.input(index);
  if (desc.constant_data == nullptr || desc.constant_size_bytes < user_md.get_size()) {
    bind_input(arg, index, user_md, prim_md);
    return;
  }
  // Copy (and reorder if needed) the constant once; the kernel owns the result.
  memory packed(prim_md, engine());
  memory user(user_md, engine(), const_cast<void*>(desc.constant_data));
  dnnl::stream s(engine());
  dnnl::reorder(user, packed).execute(s, user, packed);
  s.wait();
  bind_owned(arg, packed);
}

void PrimitiveKernel::bind_owned(int arg, memory value) {
  bindings_.push_back(Binding{Binding::Kind::kOwned, arg, 0, value.get_desc(), value.get_desc(), std::nullopt, value});
}

void PrimitiveKernel::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) {
  dnnl::engine& eng = engine();
  dnnl::stream s(eng);
  std::unordered_map<int, memory> args;
  struct Pending {
    dnnl::reorder* reorder;
    memory from;
    memory to;
  };
  std::vector<Pending> after;
  for (Binding& b : bindings_) {
    switch (b.kind) {
      case Binding::Kind::kOwned: args.emplace(b.arg, b.owned); break;
      case Binding::Kind::kInput: {
        if (b.index >= inputs.size() || inputs[b.index] == nullptr)
          throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "missing input " + std::to_string(b.index));
        memory user(b.user_md, eng, const_cast<void*>(inputs[b.index]));
        if (b.reorder) {
          memory tmp(b.prim_md, eng);
          b.reorder->execute(s, user, tmp);
          args.emplace(b.arg, tmp);
        } else {
          args.emplace(b.arg, user);
        }
        break;
      }
      case Binding::Kind::kOutput: {
        if (b.index >= outputs.size() || outputs[b.index] == nullptr)
          throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "missing output " + std::to_string(b.index));
        memory user(b.user_md, eng, outputs[b.index]);
        if (b.reorder) {
          memory tmp(b.prim_md, eng);
          args.emplace(b.arg, tmp);
          after.push_back(Pending{&*b.reorder, tmp, user});
        } else {
          args.emplace(b.arg, user);
        }
        break;
      }
    }
  }
  size_t scratch_bytes = scratchpad_md_.get_size();
  if (scratch_bytes > 0) args.emplace(DNNL_ARG_SCRATCHPAD, memory(scratchpad_md_, eng, thread_scratch(scratch_bytes)));
  primitive_.execute(s, args);
  for (Pending& p : after) p.reorder->execute(s, p.from, p.to);
  s.wait();
  if (epilogue_) epilogue_(inputs, outputs);
}

std::unique_ptr<Kernel> make_noop_kernel() {
  return std::make_unique<FunctionKernel>([](const std::vector<const void*>&, const std::vector<void*>&) {});
}

void register_onednn(const char* op_type, int min_opset, int max_opset, KernelFactory factory) {
  register_op(OpRegistration{
      op_type, min_opset, max_opset, [factory = std::move(factory)](const NodeReader& node) -> std::unique_ptr<Kernel> {
        try {
          return factory(node);
        } catch (const dnnl::error& e) {
          bool all_empty = node.num_outputs() > 0;
          for (size_t i = 0; i < node.num_outputs(); ++i)
            if (node.has_output(i) && node.output_info(i).numel() != 0) all_empty = false;
          if (all_empty) return make_noop_kernel();
          throw Unsupported(HXRT_UNSUPPORTED_OTHER, op_name(node) + ": oneDNN cannot build it: " + e.what());
        }
      }});
}

}  // namespace onednn

void register_onednn_kernels() {
  onednn::register_onednn_conv_kernels();
  onednn::register_onednn_matmul_kernels();
  onednn::register_onednn_pool_kernels();
  onednn::register_onednn_norm_kernels();
  onednn::register_onednn_eltwise_kernels();
}

}  // namespace hxrt::cpu
