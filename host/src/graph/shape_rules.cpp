// The shape rules' node context, shared helpers and dispatch table.
#include "graph/shape_rules.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <set>

#include "hxrt/plugin_support/half_float.hpp"

namespace hxrt::host::shape_rules {

// ---------------------------------------------------------------- Ctx

const Value& Ctx::in(size_t i) const {
  if (!has(i)) invalid(fmt::format("required input {} is missing", i));
  return g.values[static_cast<size_t>(n.inputs[i])];
}

const Shape& Ctx::shape(size_t i) const {
  const Value& v = in(i);
  if (!v.shape) invalid(fmt::format("input {} ('{}') has no known shape", i, v.name));
  return *v.shape;
}

void Ctx::not_constant(const std::string& what) const {
  fail(HXRT_STATUS_UNIMPLEMENTED, fmt::format("{} input is not a compile-time constant", what));
}

std::vector<int64_t> Ctx::ints(size_t i, const std::string& what) const {
  const HostTensor* t = constant(i);
  if (!t) not_constant(what);
  try {
    return t->as_ints();
  } catch (const Error& e) {
    invalid(fmt::format("{} input: {}", what, e.message()));
  }
}

std::vector<double> Ctx::floats(size_t i, const std::string& what) const {
  const HostTensor* t = constant(i);
  if (!t) not_constant(what);
  const auto count = static_cast<size_t>(t->numel());
  std::vector<double> out(count);
  switch (t->dtype) {
    case HXRT_DTYPE_FLOAT32:
      for (size_t k = 0; k < count; ++k) out[k] = t->data<float>()[k];
      break;
    case HXRT_DTYPE_FLOAT64:
      for (size_t k = 0; k < count; ++k) out[k] = t->data<double>()[k];
      break;
    case HXRT_DTYPE_FLOAT16:
      for (size_t k = 0; k < count; ++k) out[k] = plugin::half_bits_to_float(t->data<uint16_t>()[k]);
      break;
    case HXRT_DTYPE_BFLOAT16:
      for (size_t k = 0; k < count; ++k) {
        const uint32_t bits = static_cast<uint32_t>(t->data<uint16_t>()[k]) << 16;
        float f;
        std::memcpy(&f, &bits, sizeof(f));
        out[k] = f;
      }
      break;
    default: {
      const auto v = ints(i, what);
      for (size_t k = 0; k < count; ++k) out[k] = static_cast<double>(v[k]);
    }
  }
  return out;
}

bool Ctx::has_nonempty(size_t i) const {
  if (!has(i)) return false;
  const Value& v = in(i);
  if (v.shape && element_count(*v.shape) == 0) return false;
  return true;
}

void Ctx::set(size_t i, hxrt_dtype dtype, Shape shape) const {
  if (!has_out(i)) return;
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0) invalid(fmt::format("output {} would have a negative dimension: {}", i, shape_to_string(shape)));
    if (d > 0 && numel > (int64_t{1} << 48) / d) {
      invalid(fmt::format("output {} would have too many elements: {}", i, shape_to_string(shape)));
    }
    numel *= d;
  }
  Value& v = g.values[static_cast<size_t>(n.outputs[i])];
  v.dtype = dtype;
  v.shape = std::move(shape);
}

void Ctx::set_constant(size_t i, std::shared_ptr<const HostTensor> t) const {
  if (!has_out(i)) return;
  g.values[static_cast<size_t>(n.outputs[i])].constant = std::move(t);
}

int64_t Ctx::axis(int64_t a, int64_t r, const char* what) const {
  if (a < -r || a >= r) invalid(fmt::format("{} {} is out of range for rank {}", what, a, r));
  return a < 0 ? a + r : a;
}

std::vector<int64_t> Ctx::axes(const std::vector<int64_t>& a, int64_t r, const char* what) const {
  std::vector<int64_t> out;
  std::set<int64_t> seen;
  for (int64_t x : a) {
    const int64_t k = axis(x, r, what);
    if (!seen.insert(k).second) invalid(fmt::format("{} {} contains axis {} twice", what, ints_to_string(a), k));
    out.push_back(k);
  }
  return out;
}

// ---------------------------------------------------------------- table

const ShapeRuleTable& rule_table() {
  static const ShapeRuleTable table = [] {
    ShapeRuleTable t;
    register_elementwise_rules(t);
    register_nn_rules(t);
    register_reduce_rules(t);
    register_tensor_rules(t);
    register_constant_rules(t);
    return t;
  }();
  return table;
}

// ---------------------------------------------------------------- helpers

Shape broadcast2(const Ctx& c, const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t k = 0; k < r; ++k) {
    const int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
    const int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (da == db || db == 1) {
      out[k] = da;
    } else if (da == 1) {
      out[k] = db;
    } else {
      c.invalid(fmt::format("shapes {} and {} are not broadcast-compatible (dim {}: {} vs {})", shape_to_string(a),
                            shape_to_string(b), k, da, db));
    }
  }
  return out;
}

Shape broadcast_inputs(const Ctx& c) {
  std::optional<Shape> out;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    if (!c.has(i)) continue;
    out = out ? broadcast2(c, *out, c.shape(i)) : c.shape(i);
  }
  if (!out) c.invalid("has no inputs");
  return *out;
}

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

int64_t clamp_index(int64_t i, int64_t dim, int64_t lo, int64_t hi) {
  if (i < 0) i += dim;
  return std::clamp<int64_t>(i, lo, hi);
}

std::vector<int64_t> all_axes(int64_t r) {
  std::vector<int64_t> axes(static_cast<size_t>(r));
  std::iota(axes.begin(), axes.end(), 0);
  return axes;
}

std::optional<std::vector<int64_t>> optional_axes(const Ctx& c, bool from_input) {
  if (from_input) {
    if (c.has(1)) return c.ints(1, "axes");
  } else if (const Attribute* a = c.n.find_attribute("axes")) {
    return a->ints;
  }
  return std::nullopt;
}

void same_as_input(Ctx& c) { c.set(0, c.dtype(0), c.shape(0)); }

std::shared_ptr<const HostTensor> int64_tensor(Shape shape, const std::vector<int64_t>& values) {
  return std::make_shared<const HostTensor>(make_host_tensor(HXRT_DTYPE_INT64, std::move(shape), values));
}

}  // namespace hxrt::host::shape_rules
