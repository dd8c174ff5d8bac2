// Internal to shape inference: the per-node context the shape rules work on,
// helpers they share, and the table that maps op types to rules. Each
// shape_rules_<family>.cpp registers its family's rules.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "graph/ir.hpp"

namespace hxrt::host::shape_rules {

// Access to one node's inputs and outputs during inference.
class Ctx {
 public:
  Ctx(Graph& graph, const Node& node) : g(graph), n(node) {}

  Graph& g;
  const Node& n;

  int64_t opset() const { return n.opset; }

  [[noreturn]] void fail(hxrt_status_code code, const std::string& msg) const {
    throw Error{code, fmt::format("{} node '{}': {}", n.op_type, n.name, msg)};
  }
  [[noreturn]] void invalid(const std::string& msg) const { fail(HXRT_STATUS_INVALID_ARGUMENT, msg); }

  size_t num_inputs() const { return n.inputs.size(); }
  bool has(size_t i) const { return i < n.inputs.size() && n.inputs[i] >= 0; }
  const Value& in(size_t i) const;
  const Shape& shape(size_t i) const;
  int64_t rank(size_t i) const { return static_cast<int64_t>(shape(i).size()); }
  hxrt_dtype dtype(size_t i) const { return in(i).dtype; }
  const HostTensor* constant(size_t i) const { return has(i) ? in(i).constant.get() : nullptr; }

  [[noreturn]] void not_constant(const std::string& what) const;
  // The values of constant input i (integers, or any float type as double);
  // `what` names the input in errors.
  std::vector<int64_t> ints(size_t i, const std::string& what) const;
  std::vector<double> floats(size_t i, const std::string& what) const;
  // A constant input with no elements counts as absent (Resize's scales/sizes, ...).
  bool has_nonempty(size_t i) const;

  size_t num_outputs() const { return n.outputs.size(); }
  bool has_out(size_t i) const { return i < n.outputs.size() && n.outputs[i] >= 0; }
  // Sets output i's dtype and shape (no-op for an omitted output).
  void set(size_t i, hxrt_dtype dtype, Shape shape) const;
  void set_constant(size_t i, std::shared_ptr<const HostTensor> t) const;

  // Normalizes an axis in [-r, r); `axes` also rejects repeats.
  int64_t axis(int64_t a, int64_t r, const char* what = "axis") const;
  std::vector<int64_t> axes(const std::vector<int64_t>& a, int64_t r, const char* what = "axes") const;
};

using ShapeFn = void (*)(Ctx&);
using ShapeRuleTable = std::unordered_map<std::string, ShapeFn>;

// Each family adds its ops' rules to the table.
void register_elementwise_rules(ShapeRuleTable& table);
void register_nn_rules(ShapeRuleTable& table);
void register_reduce_rules(ShapeRuleTable& table);
void register_tensor_rules(ShapeRuleTable& table);
void register_constant_rules(ShapeRuleTable& table);

// All rules of the default ONNX domain, by op type.
const ShapeRuleTable& rule_table();

// ---------------------------------------------------------------- shared helpers

inline std::string ints_to_string(const std::vector<int64_t>& v) { return shape_to_string(v); }

// Numpy-style broadcast of two shapes / of all present inputs.
Shape broadcast2(const Ctx& c, const Shape& a, const Shape& b);
Shape broadcast_inputs(const Ctx& c);

int64_t ceil_div(int64_t a, int64_t b);

// An index counted from the end when negative (i + dim), clamped to [lo, hi].
int64_t clamp_index(int64_t i, int64_t dim, int64_t lo, int64_t hi);

// 0, 1, ..., r - 1.
std::vector<int64_t> all_axes(int64_t r);
// The `axes` of Squeeze / Reduce*: constant input 1 when `from_input` (newer
// opsets), else the attribute; nullopt when not given.
std::optional<std::vector<int64_t>> optional_axes(const Ctx& c, bool from_input);

// Output 0 has input 0's dtype and shape.
void same_as_input(Ctx& c);

// An int64 constant tensor.
std::shared_ptr<const HostTensor> int64_tensor(Shape shape, const std::vector<int64_t>& values);

}  // namespace hxrt::host::shape_rules
