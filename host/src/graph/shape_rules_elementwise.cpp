// Shape rules of elementwise ops: unary, binary and variadic (broadcasting)
// math, comparisons, casts, activations and softmax-like ops.
#include <map>
#include <set>

#include "graph/shape_rules.hpp"
#include "graph/tensor_proto.hpp"

namespace hxrt::host::shape_rules {

namespace {

bool is_comparison(const std::string& op) {
  static const std::set<std::string> ops = {"Equal", "Less",  "Greater", "LessOrEqual", "GreaterOrEqual",
                                            "And",   "Or",    "Xor"};
  return ops.count(op) != 0;
}

void binary_op(Ctx& c) {
  const std::string& op = c.n.op_type;
  const bool to_bool = is_comparison(op);
  Shape shape;
  if (c.opset() < 7 && c.n.find_attribute("broadcast") != nullptr) {
    // Legacy unidirectional broadcast (B onto A, aligned at `axis`): result is A's shape.
    shape = c.shape(0);
    if (c.n.get_int("broadcast", 0) == 0 && c.shape(1) != shape) {
      c.invalid(fmt::format("shapes {} and {} differ and broadcast=0", shape_to_string(shape),
                            shape_to_string(c.shape(1))));
    }
  } else if (c.opset() < 7 && op != "Pow") {
    shape = c.shape(0);
    if (c.shape(1) != shape) {
      c.invalid(fmt::format("shapes {} and {} differ (opset {} has no implicit broadcast)", shape_to_string(shape),
                            shape_to_string(c.shape(1)), c.opset()));
    }
  } else {
    shape = broadcast2(c, c.shape(0), c.shape(1));
  }
  c.set(0, to_bool ? HXRT_DTYPE_BOOL : c.dtype(0), shape);
}

void variadic_op(Ctx& c) { c.set(0, c.dtype(0), broadcast_inputs(c)); }

void where_op(Ctx& c) { c.set(0, c.dtype(1), broadcast_inputs(c)); }

void prelu_op(Ctx& c) {
  const Shape out = c.opset() < 7 ? c.shape(0) : broadcast2(c, c.shape(0), c.shape(1));
  if (out != c.shape(0)) {
    c.invalid(fmt::format("slope shape {} does not broadcast to X's shape {}", shape_to_string(c.shape(1)),
                          shape_to_string(c.shape(0))));
  }
  c.set(0, c.dtype(0), out);
}

void to_bool_unary(Ctx& c) { c.set(0, HXRT_DTYPE_BOOL, c.shape(0)); }

void cast_op(Ctx& c) {
  const Attribute* to = c.n.find_attribute("to");
  if (!to) c.invalid("missing attribute 'to'");
  hxrt_dtype d = HXRT_DTYPE_UNDEFINED;
  if (to->type == HXRT_ATTRIBUTE_INT) {
    d = dtype_from_onnx(to->i);
    if (d == HXRT_DTYPE_UNDEFINED) {
      c.fail(HXRT_STATUS_UNIMPLEMENTED, fmt::format("cast to {} is not supported", onnx_dtype_name(to->i)));
    }
  } else if (to->type == HXRT_ATTRIBUTE_STRING) {  // opset 1 used type names
    static const std::map<std::string, hxrt_dtype> names = {
        {"FLOAT", HXRT_DTYPE_FLOAT32}, {"UINT8", HXRT_DTYPE_UINT8},   {"INT8", HXRT_DTYPE_INT8},
        {"UINT16", HXRT_DTYPE_UINT16}, {"INT16", HXRT_DTYPE_INT16},   {"INT32", HXRT_DTYPE_INT32},
        {"INT64", HXRT_DTYPE_INT64},   {"BOOL", HXRT_DTYPE_BOOL},     {"FLOAT16", HXRT_DTYPE_FLOAT16},
        {"DOUBLE", HXRT_DTYPE_FLOAT64}, {"UINT32", HXRT_DTYPE_UINT32}, {"UINT64", HXRT_DTYPE_UINT64}};
    auto it = names.find(to->s);
    if (it == names.end()) c.fail(HXRT_STATUS_UNIMPLEMENTED, fmt::format("cast to '{}' is not supported", to->s));
    d = it->second;
  } else {
    c.invalid("attribute 'to' must be an int");
  }
  c.set(0, d, c.shape(0));
}

void cast_like_op(Ctx& c) { c.set(0, c.dtype(1), c.shape(0)); }

void dropout_op(Ctx& c) {
  c.set(0, c.dtype(0), c.shape(0));
  c.set(1, c.opset() >= 10 ? HXRT_DTYPE_BOOL : c.dtype(0), c.shape(0));
}

void softmax_op(Ctx& c) {
  const int64_t r = c.rank(0);
  if (r > 0) c.axis(c.n.get_int("axis", c.opset() >= 13 ? -1 : 1), r);
  same_as_input(c);
}

}  // namespace

void register_elementwise_rules(ShapeRuleTable& t) {
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "LessOrEqual",
                         "GreaterOrEqual", "And", "Or", "Xor", "Mod", "BitShift", "BitwiseAnd", "BitwiseOr",
                         "BitwiseXor"}) {
    t[op] = binary_op;
  }
  for (const char* op : {"Sum", "Mean", "Min", "Max"}) t[op] = variadic_op;
  for (const char* op :
       {"Sqrt", "Exp", "Log", "Erf", "Abs", "Neg", "Reciprocal", "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid",
        "HardSwish", "Tanh", "Gelu", "Clip", "Identity", "Softplus", "Softsign", "Elu", "Selu", "Celu",
        "ThresholdedRelu", "Mish", "LRN", "InstanceNormalization", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos",
        "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "BitwiseNot", "Trilu", "CumSum",
        "Shrink", "MeanVarianceNormalization", "LpNormalization"}) {
    t[op] = same_as_input;
  }
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) t[op] = softmax_op;
  for (const char* op : {"Not", "IsNaN", "IsInf"}) t[op] = to_bool_unary;
  t.insert({{"Where", where_op}, {"PRelu", prelu_op}, {"Dropout", dropout_op}, {"Cast", cast_op},
            {"CastLike", cast_like_op}});
}

}  // namespace hxrt::host::shape_rules
