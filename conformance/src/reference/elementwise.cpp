// Elementwise ops: unary, binary with numpy broadcasting, variadic, Where, Clip.
#include <cmath>
#include <map>
#include <stdexcept>

#include "reference/reference.hpp"

namespace hxrt::conformance::ref {

std::optional<double> unary(const std::string& op, double x, double alpha, double beta) {
  static const std::map<std::string, std::function<double(double, double, double)>> table = {
      {"Neg", [](double v, double, double) { return -v; }},
      {"Abs", [](double v, double, double) { return std::fabs(v); }},
      {"Relu", [](double v, double, double) { return v > 0 ? v : 0.0; }},
      {"Sigmoid", [](double v, double, double) { return 1.0 / (1.0 + std::exp(-v)); }},
      {"Tanh", [](double v, double, double) { return std::tanh(v); }},
      {"Exp", [](double v, double, double) { return std::exp(v); }},
      {"Log", [](double v, double, double) { return std::log(v); }},
      {"Sqrt", [](double v, double, double) { return std::sqrt(v); }},
      {"Reciprocal", [](double v, double, double) { return 1.0 / v; }},
      {"Floor", [](double v, double, double) { return std::floor(v); }},
      {"Ceil", [](double v, double, double) { return std::ceil(v); }},
      {"Sin", [](double v, double, double) { return std::sin(v); }},
      {"Cos", [](double v, double, double) { return std::cos(v); }},
      {"Atan", [](double v, double, double) { return std::atan(v); }},
      {"Asin", [](double v, double, double) { return std::asin(v); }},
      {"Acos", [](double v, double, double) { return std::acos(v); }},
      {"Sinh", [](double v, double, double) { return std::sinh(v); }},
      {"Cosh", [](double v, double, double) { return std::cosh(v); }},
      {"Erf", [](double v, double, double) { return std::erf(v); }},
      {"Softsign", [](double v, double, double) { return v / (1.0 + std::fabs(v)); }},
      {"Softplus", [](double v, double, double) { return std::log1p(std::exp(v)); }},
      {"Sign", [](double v, double, double) { return v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0; }},
      {"LeakyRelu", [](double v, double a, double) { return v >= 0 ? v : a * v; }},
      {"Elu", [](double v, double a, double) { return v >= 0 ? v : a * (std::exp(v) - 1.0); }},
      {"Selu", [](double v, double a, double g) { return v > 0 ? g * v : g * (a * std::exp(v) - a); }},
      {"HardSigmoid", [](double v, double a, double b) { return std::max(0.0, std::min(1.0, a * v + b)); }},
      {"HardSwish", [](double v, double, double) { return v * std::max(0.0, std::min(1.0, v / 6.0 + 0.5)); }},
      {"ThresholdedRelu", [](double v, double a, double) { return v > a ? v : 0.0; }},
      {"Gelu", [](double v, double, double) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }},
  };
  auto it = table.find(op);
  if (it == table.end()) return std::nullopt;
  return it->second(x, alpha, beta);
}

Dims broadcast_shape(const Dims& a, const Dims& b) {
  size_t rank = std::max(a.size(), b.size());
  Dims out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw std::runtime_error("shapes " + dims_label(a) + " and " + dims_label(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

// The flat index into `in` of output element `flat` under broadcasting.
int64_t source_index(int64_t flat, const Dims& out, const Dims& in) {
  auto idx = unravel(flat, out);
  auto strides = strides_of(in);
  size_t shift = out.size() - in.size();
  int64_t src = 0;
  for (size_t i = 0; i < in.size(); ++i) src += (in[i] == 1 ? 0 : idx[i + shift]) * strides[i];
  return src;
}

bool is_comparison(const std::string& op) {
  return op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual" ||
         op == "And" || op == "Or" || op == "Xor";
}

double apply(const std::string& op, double x, double y, hxrt_dtype dtype) {
  if (op == "Add") return x + y;
  if (op == "Sub") return x - y;
  if (op == "Mul") return x * y;
  if (op == "Div") return is_float(dtype) ? x / y : std::trunc(x / y);
  if (op == "Pow") return std::pow(x, y);
  if (op == "Max") return std::max(x, y);
  if (op == "Min") return std::min(x, y);
  if (op == "PRelu") return x < 0 ? x * y : x;
  if (op == "Equal") return x == y;
  if (op == "Less") return x < y;
  if (op == "Greater") return x > y;
  if (op == "LessOrEqual") return x <= y;
  if (op == "GreaterOrEqual") return x >= y;
  if (op == "And") return (x != 0) && (y != 0);
  if (op == "Or") return (x != 0) || (y != 0);
  if (op == "Xor") return (x != 0) != (y != 0);
  throw std::runtime_error("reference: unknown binary op " + op);
}

}  // namespace

Tensor binary(const std::string& op, const Tensor& a, const Tensor& b) {
  Dims shape = broadcast_shape(a.shape, b.shape);
  Tensor out(is_comparison(op) ? HXRT_DTYPE_BOOL : a.dtype, shape);
  for (int64_t i = 0; i < out.numel(); ++i)
    out.v[i] = apply(op, a.v[source_index(i, shape, a.shape)], b.v[source_index(i, shape, b.shape)], a.dtype);
  return out;
}

Tensor variadic(const std::string& op, const std::vector<Tensor>& inputs) {
  Dims shape = inputs.at(0).shape;
  for (const auto& t : inputs) shape = broadcast_shape(shape, t.shape);
  Tensor out(inputs[0].dtype, shape);
  for (int64_t i = 0; i < out.numel(); ++i) {
    double acc = inputs[0].v[source_index(i, shape, inputs[0].shape)];
    for (size_t k = 1; k < inputs.size(); ++k) {
      double x = inputs[k].v[source_index(i, shape, inputs[k].shape)];
      if (op == "Sum" || op == "Mean") acc += x;
      else if (op == "Max") acc = std::max(acc, x);
      else if (op == "Min") acc = std::min(acc, x);
      else throw std::runtime_error("reference: unknown variadic op " + op);
    }
    if (op == "Mean") acc /= static_cast<double>(inputs.size());
    out.v[i] = acc;
  }
  return out;
}

Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y) {
  Dims shape = broadcast_shape(broadcast_shape(cond.shape, x.shape), y.shape);
  Tensor out(x.dtype, shape);
  for (int64_t i = 0; i < out.numel(); ++i)
    out.v[i] = cond.v[source_index(i, shape, cond.shape)] != 0 ? x.v[source_index(i, shape, x.shape)]
                                                               : y.v[source_index(i, shape, y.shape)];
  return out;
}

Tensor clip(const Tensor& x, double lo, double hi) {
  Tensor out = x;
  for (double& v : out.v) v = std::min(std::max(v, lo), hi);
  return out;
}

}  // namespace hxrt::conformance::ref
