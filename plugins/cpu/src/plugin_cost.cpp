#include "plugin_cost.hpp"

#include <algorithm>
#include <cmath>

namespace hxrt::cpu {
namespace {

double numel_of(const hxrt_tensor_desc& desc) {
  double n = 1;
  for (size_t i = 0; i < desc.rank; ++i) n *= static_cast<double>(std::max<int64_t>(desc.dims[i], 0));
  return n;
}

double bytes_of(const hxrt_tensor_desc& desc) {
  return numel_of(desc) * static_cast<double>(std::max<size_t>(plugin::dtype_size(desc.dtype), 1));
}

double product_from(const hxrt_tensor_desc& desc, size_t first) {
  double n = 1;
  for (size_t i = first; i < desc.rank; ++i) n *= static_cast<double>(std::max<int64_t>(desc.dims[i], 0));
  return n;
}

double flops_of(const plugin::NodeReader& node) {
  std::string_view op = node.op_type();
  double out = 0;
  for (size_t i = 0; i < node.num_outputs(); ++i)
    if (node.has_output(i)) out += numel_of(node.output(i));
  if ((op == "Conv" || op == "ConvTranspose") && node.has_input(1) && node.has_output(0)) {
    const hxrt_tensor_desc& w = node.input(1);
    if (w.rank >= 2) {
      double group = static_cast<double>(std::max<int64_t>(node.get_int("group", 1), 1));
      if (op == "Conv") return 2.0 * numel_of(node.output(0)) * product_from(w, 1);
      // ConvTranspose: every input element meets (C_out / group) x kernel weights.
      (void)group;
      return 2.0 * numel_of(node.input(0)) * product_from(w, 1);
    }
  }
  if (op == "MatMul" && node.has_input(0) && node.has_output(0)) {
    const hxrt_tensor_desc& a = node.input(0);
    double k = a.rank >= 1 ? static_cast<double>(a.dims[a.rank - 1]) : 1.0;
    return 2.0 * numel_of(node.output(0)) * k;
  }
  if (op == "Gemm" && node.has_input(0) && node.has_output(0)) {
    const hxrt_tensor_desc& a = node.input(0);
    if (a.rank == 2) {
      double k = static_cast<double>(node.get_int("transA", 0) ? a.dims[0] : a.dims[1]);
      return 2.0 * numel_of(node.output(0)) * k;
    }
  }
  return out;
}

}  // namespace

double estimate_node_ns(const plugin::NodeReader& node, double peak_flops, double bandwidth_bytes_per_s) {
  if (!(peak_flops > 0)) peak_flops = 1e10;
  if (!(bandwidth_bytes_per_s > 0)) bandwidth_bytes_per_s = 1e10;
  double bytes = 0;
  for (size_t i = 0; i < node.num_inputs(); ++i)
    if (node.has_input(i)) bytes += bytes_of(node.input(i));
  for (size_t i = 0; i < node.num_outputs(); ++i)
    if (node.has_output(i)) bytes += bytes_of(node.output(i));
  double ns = flops_of(node) / peak_flops * 1e9 + bytes / bandwidth_bytes_per_s * 1e9 + 2000.0;
  if (!std::isfinite(ns) || ns <= 0) ns = 1e12;
  return ns;
}

}  // namespace hxrt::cpu
