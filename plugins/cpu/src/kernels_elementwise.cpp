// Generic element-wise kernels: unary maths, broadcasting binary/variadic ops,
// comparisons, logic, Clip, PRelu, Where. Every dtype ONNX allows for them.
#include <cmath>
#include <numbers>

#include "own_common.hpp"

namespace hxrt::cpu {
namespace {

using namespace own;

// ---------------------------------------------------------------------------
// Unary
// ---------------------------------------------------------------------------

// `op(x)` is a generic callable; the result is converted to TOut (same as the
// input type unless `bool_out`).
template <bool bool_out = false, typename Op>
std::unique_ptr<Kernel> unary_kernel(const NodeReader& node, auto mask, Op op) {
  TensorInfo x = node.input_info(0);
  return typed_kernel(node, x.dtype, mask, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using TOut = std::conditional_t<bool_out, bool, T>;
    const int64_t n = x.numel();
    return [n, op](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* a = static_cast<const T*>(in[0]);
      TOut* o = static_cast<TOut*>(out[0]);
      parallel_for(n, [&](int64_t i) { o[i] = static_cast<TOut>(op(a[i])); });
    };
  });
}

template <typename T>
constexpr bool is_signed_arith = std::is_signed_v<T>;

void register_unary() {
  auto reg = [](const char* op, int min_opset, auto mask, auto make_op) {
    register_op(OpRegistration{op, min_opset, 25, [mask, make_op](const NodeReader& node) {
                                 return unary_kernel(node, mask, make_op(node));
                               }});
  };
  auto none = [](auto op) { return [op](const NodeReader&) { return op; }; };

  reg("Neg", 1, Mask<kFloat | kSigned>{}, none([](auto x) { return -x; }));
  reg("Abs", 1, Mask<kNumeric>{}, none([](auto x) {
        using T = decltype(x);
        if constexpr (std::is_signed_v<T>)
          return x < T(0) ? static_cast<T>(-x) : x;
        else
          return x;
      }));
  reg("Reciprocal", 1, Mask<kFloat>{}, none([](auto x) { return decltype(x)(1) / x; }));
  reg("Sqrt", 1, Mask<kFloat>{}, none([](auto x) { return std::sqrt(x); }));
  reg("Exp", 1, Mask<kFloat>{}, none([](auto x) { return std::exp(x); }));
  reg("Log", 1, Mask<kFloat>{}, none([](auto x) { return std::log(x); }));
  reg("Erf", 1, Mask<kFloat | kInts>{}, none([](auto x) {
        using T = decltype(x);
        if constexpr (std::is_floating_point_v<T>)
          return std::erf(x);
        else
          return static_cast<T>(std::erf(static_cast<double>(x)));
      }));
  reg("Relu", 1, Mask<kFloat | kSigned>{}, none([](auto x) {
        using T = decltype(x);
        return x < T(0) ? T(0) : x;
      }));
  reg("Sigmoid", 1, Mask<kFloat>{}, none([](auto x) {
        using T = decltype(x);
        return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
      }));
  reg("Tanh", 1, Mask<kFloat>{}, none([](auto x) { return std::tanh(x); }));
  reg("Floor", 1, Mask<kFloat>{}, none([](auto x) { return std::floor(x); }));
  reg("Ceil", 1, Mask<kFloat>{}, none([](auto x) { return std::ceil(x); }));
  reg("Round", 11, Mask<kFloat>{}, none([](auto x) { return std::nearbyint(x); }));  // half to even
  reg("Sin", 7, Mask<kFloat>{}, none([](auto x) { return std::sin(x); }));
  reg("Cos", 7, Mask<kFloat>{}, none([](auto x) { return std::cos(x); }));
  reg("Tan", 7, Mask<kFloat>{}, none([](auto x) { return std::tan(x); }));
  reg("Asin", 7, Mask<kFloat>{}, none([](auto x) { return std::asin(x); }));
  reg("Acos", 7, Mask<kFloat>{}, none([](auto x) { return std::acos(x); }));
  reg("Atan", 7, Mask<kFloat>{}, none([](auto x) { return std::atan(x); }));
  reg("Sinh", 9, Mask<kFloat>{}, none([](auto x) { return std::sinh(x); }));
  reg("Cosh", 9, Mask<kFloat>{}, none([](auto x) { return std::cosh(x); }));
  reg("Asinh", 9, Mask<kFloat>{}, none([](auto x) { return std::asinh(x); }));
  reg("Acosh", 9, Mask<kFloat>{}, none([](auto x) { return std::acosh(x); }));
  reg("Atanh", 9, Mask<kFloat>{}, none([](auto x) { return std::atanh(x); }));
  reg("Softsign", 1, Mask<kFloat>{}, none([](auto x) { return x / (decltype(x)(1) + std::fabs(x)); }));
  reg("Sign", 9, Mask<kNumeric>{}, none([](auto x) {
        using T = decltype(x);
        if constexpr (std::is_signed_v<T>)
          return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
        else
          return x > T(0) ? T(1) : T(0);
      }));
  reg("Not", 1, Mask<kBool>{}, none([](auto x) { return !x; }));
  reg("BitwiseNot", 18, Mask<kInts>{}, none([](auto x) { return static_cast<decltype(x)>(~x); }));
  reg("Softplus", 1, Mask<kFloat>{}, none([](auto x) {
        using T = decltype(x);
        return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
      }));
  reg("Mish", 18, Mask<kFloat>{}, none([](auto x) {
        using T = decltype(x);
        T sp = x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
        return x * std::tanh(sp);
      }));

  reg("LeakyRelu", 1, Mask<kFloat>{}, [](const NodeReader& node) {
    double alpha = node.get_float("alpha", 0.01f);
    return [alpha](auto x) {
      using T = decltype(x);
      return x < T(0) ? static_cast<T>(alpha * x) : x;
    };
  });
  reg("Elu", 1, Mask<kFloat>{}, [](const NodeReader& node) {
    double alpha = node.get_float("alpha", 1.0f);
    return [alpha](auto x) {
      using T = decltype(x);
      return x < T(0) ? static_cast<T>(alpha * std::expm1(static_cast<double>(x))) : x;
    };
  });
  reg("Celu", 12, Mask<kFloat>{}, [](const NodeReader& node) {
    double alpha = node.get_float("alpha", 1.0f);
    return [alpha](auto x) {
      using T = decltype(x);
      double v = static_cast<double>(x);
      return static_cast<T>(std::max(0.0, v) + std::min(0.0, alpha * std::expm1(v / alpha)));
    };
  });
  reg("Selu", 1, Mask<kFloat>{}, [](const NodeReader& node) {
    double alpha = node.get_float("alpha", 1.67326319217681884765625f);
    double gamma = node.get_float("gamma", 1.05070102214813232421875f);
    return [alpha, gamma](auto x) {
      using T = decltype(x);
      double v = static_cast<double>(x);
      return static_cast<T>(v > 0 ? gamma * v : gamma * alpha * std::expm1(v));
    };
  });
  reg("ThresholdedRelu", 10, Mask<kFloat>{}, [](const NodeReader& node) {
    double alpha = node.get_float("alpha", 1.0f);
    return [alpha](auto x) {
      using T = decltype(x);
      return static_cast<double>(x) > alpha ? x : T(0);
    };
  });
  reg("Shrink", 9, Mask<kFloat | kSigned>{}, [](const NodeReader& node) {
    double bias = node.get_float("bias", 0.0f);
    double lambd = node.get_float("lambd", 0.5f);
    return [bias, lambd](auto x) {
      using T = decltype(x);
      double v = static_cast<double>(x);
      return static_cast<T>(v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0));
    };
  });
  reg("HardSigmoid", 1, Mask<kFloat>{}, [](const NodeReader& node) {
    double alpha = node.get_float("alpha", 0.2f);
    double beta = node.get_float("beta", 0.5f);
    return [alpha, beta](auto x) {
      using T = decltype(x);
      return static_cast<T>(std::clamp(alpha * static_cast<double>(x) + beta, 0.0, 1.0));
    };
  });
  reg("HardSwish", 14, Mask<kFloat>{}, none([](auto x) {
        using T = decltype(x);
        double v = static_cast<double>(x);
        return static_cast<T>(v * std::clamp(v / 6.0 + 0.5, 0.0, 1.0));
      }));
  reg("Gelu", 20, Mask<kFloat>{}, [](const NodeReader& node) {
    std::string approximate = node.get_string("approximate", "none");
    if (approximate != "none" && approximate != "tanh")
      unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "approximate='" + approximate + "'");
    bool use_tanh = approximate == "tanh";
    return [use_tanh](auto x) {
      using T = decltype(x);
      double v = static_cast<double>(x);
      if (use_tanh) {
        const double k = std::sqrt(2.0 / std::numbers::pi);
        return static_cast<T>(0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))));
      }
      return static_cast<T>(0.5 * v * (1.0 + std::erf(v / std::numbers::sqrt2)));
    };
  });

  // Bool-valued predicates.
  register_op(OpRegistration{"IsNaN", 9, 25, [](const NodeReader& node) {
                               return unary_kernel<true>(node, Mask<kFloat>{}, [](auto x) { return std::isnan(x); });
                             }});
  register_op(OpRegistration{"IsInf", 10, 25, [](const NodeReader& node) {
                               bool neg = node.get_int("detect_negative", 1) != 0;
                               bool pos = node.get_int("detect_positive", 1) != 0;
                               return unary_kernel<true>(node, Mask<kFloat>{}, [neg, pos](auto x) {
                                 return std::isinf(x) && ((x > 0 && pos) || (x < 0 && neg));
                               });
                             }});

  // Identity (and its sequence-free forms): a plain copy of any dtype.
  register_op(OpRegistration{"Identity", 1, 25, [](const NodeReader& node) {
                               TensorInfo x = node.input_info(0);
                               if (plugin::dtype_size(x.dtype) == 0) unsupported_dtype(node, x.dtype);
                               size_t bytes = x.bytes();
                               return make_kernel([bytes](const std::vector<const void*>& in, const std::vector<void*>& out) {
                                 if (bytes && in[0] != out[0]) std::memcpy(out[0], in[0], bytes);
                               });
                             }});
}

// Clip: bounds from attributes (opset < 11) or optional inputs read at run time.
std::unique_ptr<Kernel> clip_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  const bool from_attributes = node.opset() < 11;
  double attr_min = node.get_float("min", std::numeric_limits<float>::lowest());
  double attr_max = node.get_float("max", std::numeric_limits<float>::max());
  return typed_kernel(node, x.dtype, Mask<kNumeric>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t n = x.numel();
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
      if (from_attributes) {
        lo = static_cast<T>(attr_min);
        hi = static_cast<T>(attr_max);
      } else {
        if (in.size() > 1 && in[1]) lo = *static_cast<const T*>(in[1]);
        if (in.size() > 2 && in[2]) hi = *static_cast<const T*>(in[2]);
      }
      const T* a = static_cast<const T*>(in[0]);
      T* o = static_cast<T*>(out[0]);
      parallel_for(n, [&](int64_t i) {
        T v = a[i] < lo ? lo : a[i];
        o[i] = v > hi ? hi : v;
      });
    };
  });
}

// ---------------------------------------------------------------------------
// Binary with broadcasting
// ---------------------------------------------------------------------------

template <typename TA, typename TB, typename TO, typename Op>
void binary_apply(const BroadcastPlan<2>& plan, const TA* a, const TB* b, TO* o, const Op& op) {
  for_each_broadcast_row<2>(plan, [&](int64_t out_off, const std::array<int64_t, 2>& off, int64_t n,
                                      const std::array<int64_t, 2>& st) {
    const TA* pa = a + off[0];
    const TB* pb = b + off[1];
    TO* po = o + out_off;
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = static_cast<TO>(op(pa[i], pb[i]));
    } else if (st[0] == 1 && st[1] == 0) {
      const TB vb = *pb;
      for (int64_t i = 0; i < n; ++i) po[i] = static_cast<TO>(op(pa[i], vb));
    } else if (st[0] == 0 && st[1] == 1) {
      const TA va = *pa;
      for (int64_t i = 0; i < n; ++i) po[i] = static_cast<TO>(op(va, pb[i]));
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = static_cast<TO>(op(pa[i * st[0]], pb[i * st[1]]));
    }
  });
}

// Same-typed binary op; output is T, or bool when `bool_out`.
template <bool bool_out = false, typename MakeOp>
std::unique_ptr<Kernel> binary_kernel(const NodeReader& node, auto mask, MakeOp make_op) {
  TensorInfo a = node.input_info(0), b = node.input_info(1);
  Shape out_shape = node.output_info(0).shape;
  if (a.dtype != b.dtype) unsupported(HXRT_UNSUPPORTED_DTYPE, node, "mixed input dtypes");
  auto plan = make_broadcast<2>(out_shape, {a.shape, b.shape});
  return typed_kernel(node, a.dtype, mask, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using TO = std::conditional_t<bool_out, bool, T>;
    auto op = make_op(tag);
    return [plan, op](const std::vector<const void*>& in, const std::vector<void*>& out) {
      binary_apply(plan, static_cast<const T*>(in[0]), static_cast<const T*>(in[1]), static_cast<TO*>(out[0]), op);
    };
  });
}

template <typename T>
T int_div(T a, T b) {
  if (b == T(0)) return T(0);
  if constexpr (std::is_signed_v<T>) {
    if (b == T(-1)) return static_cast<T>(T(0) - a);  // avoids INT_MIN / -1 trap
  }
  return static_cast<T>(a / b);  // C semantics: truncation toward zero
}

template <typename T>
T int_pow(T base, int64_t exponent) {
  if (exponent < 0) {
    if constexpr (std::is_signed_v<T>) {
      if (base == T(-1)) return (exponent & 1) ? T(-1) : T(1);
    }
    return base == T(1) ? T(1) : T(0);
  }
  using W = std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>;
  W result = 1, b = static_cast<W>(base);
  uint64_t e = static_cast<uint64_t>(exponent);
  while (e) {
    if (e & 1) result = static_cast<W>(static_cast<uint64_t>(result) * static_cast<uint64_t>(b));
    b = static_cast<W>(static_cast<uint64_t>(b) * static_cast<uint64_t>(b));
    e >>= 1;
  }
  return static_cast<T>(result);
}

std::unique_ptr<Kernel> pow_kernel(const NodeReader& node) {
  TensorInfo a = node.input_info(0), b = node.input_info(1);
  auto plan = make_broadcast<2>(node.output_info(0).shape, {a.shape, b.shape});
  std::unique_ptr<Kernel> kernel;
  dispatch(node, a.dtype, Mask<kNumeric>{}, [&](auto ta) {
    using TA = typename decltype(ta)::type;
    dispatch(node, b.dtype, Mask<kNumeric>{}, [&](auto tb) {
      using TB = typename decltype(tb)::type;
      auto op = [](TA x, TB y) -> TA {
        TA r{};
        if constexpr (std::is_floating_point_v<TA> && std::is_floating_point_v<TB>)
          r = static_cast<TA>(std::pow(x, static_cast<TA>(y)));
        else if constexpr (std::is_floating_point_v<TA>)
          r = static_cast<TA>(std::pow(static_cast<double>(x), static_cast<double>(y)));
        else if constexpr (std::is_integral_v<TB>)
          r = int_pow<TA>(x, static_cast<int64_t>(y));
        else
          r = convert<TA>(std::pow(static_cast<double>(x), static_cast<double>(y)));
        return r;
      };
      kernel = make_kernel([plan, op](const std::vector<const void*>& in, const std::vector<void*>& out) {
        binary_apply(plan, static_cast<const TA*>(in[0]), static_cast<const TB*>(in[1]), static_cast<TA*>(out[0]), op);
      });
    });
  });
  return kernel;
}

std::unique_ptr<Kernel> mod_kernel(const NodeReader& node) {
  const bool fmod = node.get_int("fmod", 0) != 0;
  TensorInfo a = node.input_info(0);
  if ((a.dtype == HXRT_DTYPE_FLOAT32 || a.dtype == HXRT_DTYPE_FLOAT64) && !fmod)
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "floating-point Mod requires fmod=1");
  return binary_kernel(node, Mask<kNumeric>{}, [fmod](auto tag) {
    using T = typename decltype(tag)::type;
    return [fmod](T x, T y) -> T {
      if constexpr (std::is_floating_point_v<T>) {
        return std::fmod(x, y);
      } else {
        if (y == T(0)) return T(0);
        if constexpr (std::is_signed_v<T>) {
          if (y == T(-1)) return T(0);
          T r = static_cast<T>(x % y);
          if (!fmod && r != T(0) && ((r < T(0)) != (y < T(0)))) r = static_cast<T>(r + y);
          return r;
        } else {
          return static_cast<T>(x % y);
        }
      }
    };
  });
}

void register_binary() {
  auto arith = [](const char* name, int min_opset, auto mask, auto op_for) {
    register_op(OpRegistration{name, min_opset, 25, [mask, op_for](const NodeReader& node) {
                                 if (node.opset() < 7 && node.has("broadcast") && node.get_int("broadcast", 0) != 0 &&
                                     node.has("axis"))
                                   unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "legacy broadcast with axis");
                                 return binary_kernel(node, mask, op_for);
                               }});
  };
  arith("Add", 1, Mask<kNumeric>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return static_cast<T>(x + y); };
  });
  arith("Sub", 1, Mask<kNumeric>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return static_cast<T>(x - y); };
  });
  arith("Mul", 1, Mask<kNumeric>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return static_cast<T>(x * y); };
  });
  arith("Div", 1, Mask<kNumeric>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) -> T {
      if constexpr (std::is_floating_point_v<T>)
        return x / y;
      else
        return int_div(x, y);
    };
  });
  arith("BitwiseAnd", 18, Mask<kInts>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return static_cast<T>(x & y); };
  });
  arith("BitwiseOr", 18, Mask<kInts>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return static_cast<T>(x | y); };
  });
  arith("BitwiseXor", 18, Mask<kInts>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return static_cast<T>(x ^ y); };
  });
  register_op(OpRegistration{"BitShift", 11, 25, [](const NodeReader& node) {
                               bool left = node.get_string("direction", "") == "LEFT";
                               return binary_kernel(node, Mask<kUnsigned>{}, [left](auto tag) {
                                 using T = typename decltype(tag)::type;
                                 return [left](T x, T y) -> T {
                                   if (y >= T(sizeof(T) * 8)) return T(0);
                                   return left ? static_cast<T>(x << y) : static_cast<T>(x >> y);
                                 };
                               });
                             }});
  register_op(OpRegistration{"Pow", 1, 25, pow_kernel});
  register_op(OpRegistration{"Mod", 10, 25, mod_kernel});

  auto logic = [](const char* name, int min_opset, auto mask, auto op_for) {
    register_op(OpRegistration{name, min_opset, 25, [mask, op_for](const NodeReader& node) {
                                 return binary_kernel<true>(node, mask, op_for);
                               }});
  };
  logic("Equal", 1, Mask<kAllArith>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return x == y; };
  });
  logic("Less", 1, Mask<kNumeric>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return x < y; };
  });
  logic("Greater", 1, Mask<kNumeric>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return x > y; };
  });
  logic("LessOrEqual", 12, Mask<kNumeric>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return x <= y; };
  });
  logic("GreaterOrEqual", 12, Mask<kNumeric>{}, [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return x >= y; };
  });
  logic("And", 1, Mask<kBool>{}, [](auto) { return [](bool x, bool y) { return x && y; }; });
  logic("Or", 1, Mask<kBool>{}, [](auto) { return [](bool x, bool y) { return x || y; }; });
  logic("Xor", 1, Mask<kBool>{}, [](auto) { return [](bool x, bool y) { return x != y; }; });

  register_op(OpRegistration{"PRelu", 1, 25, [](const NodeReader& node) {
                               return binary_kernel(node, Mask<kFloat | kSigned | kUnsigned>{}, [](auto tag) {
                                 using T = typename decltype(tag)::type;
                                 return [](T x, T slope) -> T {
                                   if constexpr (std::is_signed_v<T>)
                                     return x < T(0) ? static_cast<T>(x * slope) : x;
                                   else
                                     return x;
                                 };
                               });
                             }});
}

// ---------------------------------------------------------------------------
// Variadic: Min Max Sum Mean (broadcasting, folded pairwise into the output)
// ---------------------------------------------------------------------------

template <typename MakeOp>
std::unique_ptr<Kernel> variadic_kernel(const NodeReader& node, auto mask, bool mean, MakeOp make_op) {
  const size_t count = node.num_inputs();
  if (count == 0) unsupported(HXRT_UNSUPPORTED_OTHER, node, "no inputs");
  Shape out_shape = node.output_info(0).shape;
  hxrt_dtype dtype = node.input_info(0).dtype;
  std::vector<BroadcastPlan<2>> plans;  // out (op) input k, k >= 1; plans[0]: copy of input 0
  std::vector<BroadcastPlan<1>> first;
  first.push_back(make_broadcast<1>(out_shape, {node.input_info(0).shape}));
  for (size_t k = 1; k < count; ++k) {
    TensorInfo info = node.input_info(k);
    if (info.dtype != dtype) unsupported(HXRT_UNSUPPORTED_DTYPE, node, "mixed input dtypes");
    plans.push_back(make_broadcast<2>(out_shape, {out_shape, info.shape}));
  }
  return typed_kernel(node, dtype, mask, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto op = make_op(tag);
    const int64_t n = plugin::element_count(out_shape);
    auto copy_plan = first[0];
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      T* o = static_cast<T*>(out[0]);
      const T* a = static_cast<const T*>(in[0]);
      for_each_broadcast_row<1>(copy_plan, [&](int64_t oo, const std::array<int64_t, 1>& off, int64_t len,
                                               const std::array<int64_t, 1>& st) {
        for (int64_t i = 0; i < len; ++i) o[oo + i] = a[off[0] + i * st[0]];
      });
      for (size_t k = 1; k < count; ++k)
        binary_apply(plans[k - 1], static_cast<const T*>(o), static_cast<const T*>(in[k]), o, op);
      if (mean) {
        if constexpr (std::is_floating_point_v<T>) {
          const T c = static_cast<T>(count);
          parallel_for(n, [&](int64_t i) { o[i] = o[i] / c; });
        } else {
          const T c = static_cast<T>(count);
          parallel_for(n, [&](int64_t i) { o[i] = static_cast<T>(o[i] / c); });
        }
      }
    };
  });
}

// Max (take_max) or Min of two elements; NaN if either is NaN.
template <bool take_max>
auto min_max_op(auto tag) {
  using T = typename decltype(tag)::type;
  return [](T x, T y) -> T {
    if constexpr (std::is_floating_point_v<T>)
      if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<T>::quiet_NaN();
    if constexpr (take_max)
      return x < y ? y : x;
    else
      return y < x ? y : x;
  };
}

void register_variadic() {
  register_op(OpRegistration{"Max", 1, 25, [](const NodeReader& node) {
                               return variadic_kernel(node, Mask<kNumeric>{}, false,
                                                      [](auto tag) { return min_max_op<true>(tag); });
                             }});
  register_op(OpRegistration{"Min", 1, 25, [](const NodeReader& node) {
                               return variadic_kernel(node, Mask<kNumeric>{}, false,
                                                      [](auto tag) { return min_max_op<false>(tag); });
                             }});
  auto sum = [](auto tag) {
    using T = typename decltype(tag)::type;
    return [](T x, T y) { return static_cast<T>(x + y); };
  };
  register_op(OpRegistration{"Sum", 1, 25, [sum](const NodeReader& node) { return variadic_kernel(node, Mask<kNumeric>{}, false, sum); }});
  register_op(OpRegistration{"Mean", 1, 25, [sum](const NodeReader& node) { return variadic_kernel(node, Mask<kNumeric>{}, true, sum); }});
}

// ---------------------------------------------------------------------------
// Where(condition, X, Y) with three-way broadcasting; any element type.
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> where_kernel(const NodeReader& node) {
  TensorInfo c = node.input_info(0), x = node.input_info(1), y = node.input_info(2);
  if (c.dtype != HXRT_DTYPE_BOOL) unsupported(HXRT_UNSUPPORTED_DTYPE, node, "condition must be bool");
  if (x.dtype != y.dtype) unsupported(HXRT_UNSUPPORTED_DTYPE, node, "mixed X/Y dtypes");
  auto plan = make_broadcast<3>(node.output_info(0).shape, {c.shape, x.shape, y.shape});
  return sized_kernel(node, x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [plan](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const bool* pc = static_cast<const bool*>(in[0]);
      const T* px = static_cast<const T*>(in[1]);
      const T* py = static_cast<const T*>(in[2]);
      T* po = static_cast<T*>(out[0]);
      for_each_broadcast_row<3>(plan, [&](int64_t oo, const std::array<int64_t, 3>& off, int64_t n,
                                          const std::array<int64_t, 3>& st) {
        for (int64_t i = 0; i < n; ++i)
          po[oo + i] = pc[off[0] + i * st[0]] ? px[off[1] + i * st[1]] : py[off[2] + i * st[2]];
      });
    };
  });
}

}  // namespace

void register_elementwise_kernels() {
  register_unary();
  register_op(OpRegistration{"Clip", 1, 25, clip_kernel});
  register_binary();
  register_variadic();
  register_op(OpRegistration{"Where", 9, 25, where_kernel});
}

}  // namespace hxrt::cpu
