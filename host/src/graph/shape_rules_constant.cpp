// Shape rules of ops that produce values from attributes or shapes: Shape
// and Size (whose outputs are constants), Constant, ConstantOfShape, Range.
#include <algorithm>
#include <cmath>

#include "graph/shape_rules.hpp"

namespace hxrt::host::shape_rules {

namespace {

void shape_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  const int64_t start = clamp_index(c.n.get_int("start", 0), r, 0, r);
  const int64_t end = clamp_index(c.n.get_int("end", r), r, 0, r);
  const std::vector<int64_t> dims(x.begin() + start, x.begin() + std::max(start, end));
  c.set(0, HXRT_DTYPE_INT64, {static_cast<int64_t>(dims.size())});
  c.set_constant(0, int64_tensor({static_cast<int64_t>(dims.size())}, dims));
}

void size_op(Ctx& c) {
  c.set(0, HXRT_DTYPE_INT64, {});
  c.set_constant(0, int64_tensor({}, {element_count(c.shape(0))}));
}

void constant_of_shape_op(Ctx& c) {
  const std::vector<int64_t> dims = c.ints(0, "shape");
  hxrt_dtype d = HXRT_DTYPE_FLOAT32;
  if (const Attribute* v = c.n.find_attribute("value")) {
    if (!v->tensor || v->tensor->numel() != 1) c.invalid("attribute 'value' must be a one-element tensor");
    d = v->tensor->dtype;
  }
  for (int64_t x : dims) {
    if (x < 0) c.invalid(fmt::format("shape {} has a negative dim", ints_to_string(dims)));
  }
  c.set(0, d, dims);
}

void range_op(Ctx& c) {
  const auto start = c.floats(0, "start"), limit = c.floats(1, "limit"), delta = c.floats(2, "delta");
  if (start.size() != 1 || limit.size() != 1 || delta.size() != 1) c.invalid("start, limit and delta must be scalars");
  if (delta[0] == 0) c.invalid("delta must not be 0");
  const double n = std::ceil((limit[0] - start[0]) / delta[0]);
  if (!(n < 1e15)) c.invalid("the range has too many elements");
  c.set(0, c.dtype(0), {std::max<int64_t>(0, static_cast<int64_t>(n))});
}

void constant_op(Ctx& c) {
  if (c.n.attributes.size() != 1) c.invalid("must have exactly one attribute");
  const Attribute& a = c.n.attributes[0];
  std::shared_ptr<const HostTensor> t;
  if (a.name == "value" && a.tensor) {
    t = a.tensor;
  } else if (a.name == "value_int") {
    t = int64_tensor({}, {a.i});
  } else if (a.name == "value_ints") {
    t = int64_tensor({static_cast<int64_t>(a.ints.size())}, a.ints);
  } else if (a.name == "value_float") {
    t = std::make_shared<const HostTensor>(make_host_tensor(HXRT_DTYPE_FLOAT32, {}, std::vector<float>{a.f}));
  } else if (a.name == "value_floats") {
    t = std::make_shared<const HostTensor>(
        make_host_tensor(HXRT_DTYPE_FLOAT32, {static_cast<int64_t>(a.floats.size())}, a.floats));
  } else {
    c.fail(HXRT_STATUS_UNIMPLEMENTED, fmt::format("attribute '{}' is not supported", a.name));
  }
  c.set(0, t->dtype, t->shape);
  c.set_constant(0, t);
}

}  // namespace

void register_constant_rules(ShapeRuleTable& t) {
  t.insert({{"Shape", shape_op}, {"Size", size_op}, {"ConstantOfShape", constant_of_shape_op}, {"Range", range_op},
            {"Constant", constant_op}});
}

}  // namespace hxrt::host::shape_rules
