// Shape rules of reductions along axes: Reduce*, ArgMax/ArgMin and TopK.
#include <set>

#include "graph/shape_rules.hpp"

namespace hxrt::host::shape_rules {

namespace {

void reduce_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  const bool axes_as_input = c.n.op_type == "ReduceSum" ? c.opset() >= 13 : c.opset() >= 18;
  std::vector<int64_t> axes = optional_axes(c, axes_as_input).value_or(std::vector<int64_t>{});
  const bool keepdims = c.n.get_int("keepdims", 1) != 0;
  const bool noop = c.n.get_int("noop_with_empty_axes", 0) != 0;
  if (axes.empty()) {
    if (noop && axes_as_input) {
      c.set(0, c.dtype(0), x);
      return;
    }
    axes = all_axes(r);
  }
  const std::vector<int64_t> norm = c.axes(axes, r);
  std::set<int64_t> reduced(norm.begin(), norm.end());
  Shape out;
  for (int64_t k = 0; k < r; ++k) {
    if (reduced.count(k)) {
      if (keepdims) out.push_back(1);
    } else {
      out.push_back(x[static_cast<size_t>(k)]);
    }
  }
  c.set(0, c.dtype(0), out);
}

void arg_reduce_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  const int64_t axis = c.axis(c.n.get_int("axis", 0), r);
  Shape out = x;
  if (c.n.get_int("keepdims", 1) != 0) {
    out[static_cast<size_t>(axis)] = 1;
  } else {
    out.erase(out.begin() + axis);
  }
  c.set(0, HXRT_DTYPE_INT64, out);
}

void topk_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t axis = c.axis(c.n.get_int("axis", -1), static_cast<int64_t>(x.size()));
  int64_t k = 0;
  if (c.opset() < 10) {
    k = c.n.get_int("k", 0);
  } else {
    const auto kv = c.ints(1, "K");
    if (kv.size() != 1) c.invalid("K must have one value");
    k = kv[0];
  }
  if (k < 0 || k > x[static_cast<size_t>(axis)]) {
    c.invalid(fmt::format("K {} is out of range for axis {} of {}", k, axis, shape_to_string(x)));
  }
  Shape out = x;
  out[static_cast<size_t>(axis)] = k;
  c.set(0, c.dtype(0), out);
  c.set(1, HXRT_DTYPE_INT64, out);
}

}  // namespace

void register_reduce_rules(ShapeRuleTable& t) {
  for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                         "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}) {
    t[op] = reduce_op;
  }
  t.insert({{"ArgMax", arg_reduce_op}, {"ArgMin", arg_reduce_op}, {"TopK", topk_op}});
}

}  // namespace hxrt::host::shape_rules
