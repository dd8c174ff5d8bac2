// Shared by the own-kernel tests: picks the generic ("own") kernel of a node.
#pragma once

#include <memory>

#include "kernel.hpp"
#include "node_builder.hpp"

namespace hxrt::cpu::test {

// The own (generic) kernel: the last registration covering the opset; own
// kernels are registered after oneDNN's, one per op name.
inline std::unique_ptr<Kernel> own_kernel(const NodeReader& node) {
  const OpRegistration* found = nullptr;
  for (const OpRegistration* r : factories_for(node.op_type()))
    if (node.opset() >= r->min_opset && node.opset() <= r->max_opset) found = r;
  if (!found) throw Unsupported(HXRT_UNSUPPORTED_OP, "no registration");
  return found->factory(node);
}

inline std::unique_ptr<Kernel> own_kernel(NodeBuilder& b) { return own_kernel(NodeReader(b.desc())); }

}  // namespace hxrt::cpu::test
