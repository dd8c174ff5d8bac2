#include <map>
#include <mutex>

#include "kernel.hpp"

namespace hxrt::cpu {
namespace {

std::map<std::string, std::vector<OpRegistration>, std::less<>>& table() {
  static std::map<std::string, std::vector<OpRegistration>, std::less<>> registrations;
  return registrations;
}

void register_all_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_onednn_kernels();       // preferred where oneDNN covers the case
    register_elementwise_kernels();  // generic own kernels, every dtype
    register_data_movement_kernels();
    register_misc_kernels();
    register_own_nn_kernels();
  });
}

}  // namespace

void register_op(OpRegistration registration) {
  table()[registration.op_type].push_back(std::move(registration));
}

std::vector<const OpRegistration*> factories_for(std::string_view op_type) {
  register_all_once();
  std::vector<const OpRegistration*> found;
  auto it = table().find(op_type);
  if (it != table().end())
    for (const auto& r : it->second) found.push_back(&r);
  return found;
}

std::unique_ptr<Kernel> create_kernel(const NodeReader& node) {
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    throw Unsupported(HXRT_UNSUPPORTED_OP, "domain '" + std::string(node.domain()) + "' is not supported");
  auto candidates = factories_for(node.op_type());
  if (candidates.empty())
    throw Unsupported(HXRT_UNSUPPORTED_OP, "op " + std::string(node.op_type()) + " is not implemented");
  std::optional<Unsupported> best;
  bool opset_known = false;
  for (const OpRegistration* r : candidates) {
    if (node.opset() < r->min_opset || node.opset() > r->max_opset) continue;
    opset_known = true;
    try {
      return r->factory(node);
    } catch (const Unsupported& why) {
      if (!best) best = why;  // the first (most preferred) family's reason
    }
  }
  if (!opset_known)
    throw Unsupported(HXRT_UNSUPPORTED_OPSET, std::string(node.op_type()) + " opset " + std::to_string(node.opset()) +
                                                  " is not supported");
  throw *best;
}

}  // namespace hxrt::cpu
