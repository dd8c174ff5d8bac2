// Naive fallbacks for what oneDNN may refuse: softmax family, normalizations,
// reductions and arg-reductions, MatMul/Gemm. Pooling, Conv and ConvTranspose
// are in kernels_own_nn.cpp.
#include <numeric>

#include "own_common.hpp"

namespace hxrt::cpu {
namespace {

using namespace own;

template <typename T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double,
                               std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

// ---------------------------------------------------------------------------
// Softmax, LogSoftmax, Hardmax
// ---------------------------------------------------------------------------

enum class SoftmaxKind { kSoftmax, kLogSoftmax, kHardmax };

std::unique_ptr<Kernel> softmax_kernel(const NodeReader& node, SoftmaxKind kind) {
  TensorInfo x = node.input_info(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const bool legacy = node.opset() < 13;  // coerce to 2-D at `axis`
  AxisSplit s;
  if (rank == 0) {
    s = AxisSplit{};
  } else {
    const int64_t axis = normalize_axis(node, node.get_int("axis", legacy ? 1 : -1), rank);
    s = split_at_axis(x.shape, axis);
    if (legacy) {
      s.dim *= s.inner;
      s.inner = 1;
    }
  }
  return typed_kernel(node, x.dtype, Mask<kFloat>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [s, kind](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* src = static_cast<const T*>(in[0]);
      T* dst = static_cast<T*>(out[0]);
      parallel_for(s.outer * s.inner, s.outer * s.inner * s.dim, [&](int64_t j) {
        const int64_t o = j / s.inner, i = j % s.inner;
        const T* p = src + o * s.dim * s.inner + i;
        T* q = dst + o * s.dim * s.inner + i;
        const int64_t st = s.inner;
        if (s.dim == 0) return;
        T mx = p[0];
        int64_t arg = 0;
        for (int64_t k = 1; k < s.dim; ++k)
          if (p[k * st] > mx) {
            mx = p[k * st];
            arg = k;
          }
        if (kind == SoftmaxKind::kHardmax) {
          for (int64_t k = 0; k < s.dim; ++k) q[k * st] = k == arg ? T(1) : T(0);
          return;
        }
        double sum = 0;
        for (int64_t k = 0; k < s.dim; ++k) sum += std::exp(static_cast<double>(p[k * st]) - static_cast<double>(mx));
        if (kind == SoftmaxKind::kSoftmax) {
          for (int64_t k = 0; k < s.dim; ++k)
            q[k * st] = static_cast<T>(std::exp(static_cast<double>(p[k * st]) - static_cast<double>(mx)) / sum);
        } else {
          const double lse = std::log(sum);
          for (int64_t k = 0; k < s.dim; ++k)
            q[k * st] = static_cast<T>(static_cast<double>(p[k * st]) - static_cast<double>(mx) - lse);
        }
      });
    };
  });
}

// ---------------------------------------------------------------------------
// Normalizations
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> layer_norm_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0), scale = node.input_info(1);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t axis = normalize_axis(node, node.get_int("axis", -1), rank);
  const double eps = node.get_float("epsilon", 1e-5f);
  const int64_t outer = product(x.shape, 0, static_cast<size_t>(axis));
  const int64_t size = product(x.shape, static_cast<size_t>(axis), x.shape.size());
  const bool has_bias = node.has_input(2);
  const Shape bias_shape = has_bias ? node.input_info(2).shape : Shape{};
  auto plan = make_broadcast<3>(x.shape, {x.shape, scale.shape, bias_shape});
  const bool want_mean = node.has_output(1), want_inv = node.has_output(2);
  if ((want_mean && node.output_info(1).dtype != HXRT_DTYPE_FLOAT32 && node.output_info(1).dtype != x.dtype) ||
      (want_inv && node.output_info(2).dtype != HXRT_DTYPE_FLOAT32 && node.output_info(2).dtype != x.dtype))
    unsupported(HXRT_UNSUPPORTED_DTYPE, node, "Mean/InvStdDev dtype");
  const hxrt_dtype stat_dtype = want_mean ? node.output_info(1).dtype : (want_inv ? node.output_info(2).dtype : x.dtype);
  return typed_kernel(node, x.dtype, Mask<kFloat>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* src = static_cast<const T*>(in[0]);
      const T* sc = static_cast<const T*>(in[1]);
      const T* b = has_bias ? static_cast<const T*>(in[2]) : nullptr;
      T* dst = static_cast<T*>(out[0]);
      auto store_stat = [&](size_t k, int64_t r, double v) {
        if (out.size() <= k || out[k] == nullptr) return;
        if (stat_dtype == HXRT_DTYPE_FLOAT64)
          static_cast<double*>(out[k])[r] = v;
        else
          static_cast<float*>(out[k])[r] = static_cast<float>(v);
      };
      parallel_for(outer, outer * size, [&](int64_t r) {
        const T* p = src + r * size;
        T* q = dst + r * size;
        double mean = 0;
        for (int64_t i = 0; i < size; ++i) mean += static_cast<double>(p[i]);
        mean /= static_cast<double>(size);
        double var = 0;
        for (int64_t i = 0; i < size; ++i) {
          double d = static_cast<double>(p[i]) - mean;
          var += d * d;
        }
        var /= static_cast<double>(size);
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t i = 0; i < size; ++i) q[i] = static_cast<T>((static_cast<double>(p[i]) - mean) * inv);
        store_stat(1, r, mean);
        store_stat(2, r, inv);
      });
      for_each_broadcast_row<3>(plan, [&](int64_t oo, const std::array<int64_t, 3>& off, int64_t n,
                                          const std::array<int64_t, 3>& st) {
        for (int64_t i = 0; i < n; ++i) {
          T v = dst[oo + i] * sc[off[1] + i * st[1]];
          if (b) v += b[off[2] + i * st[2]];
          dst[oo + i] = v;
        }
      });
    };
  });
}

// The N x C x spatial layout of a per-channel normalization's input.
struct ChannelLayout {
  int64_t N, C, size;  // size: elements per (n, c) plane
};

ChannelLayout channel_layout(const NodeReader& node, const TensorInfo& x) {
  if (x.shape.size() < 2) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "rank < 2");
  return ChannelLayout{x.shape[0], x.shape[1], product(x.shape, 2, x.shape.size())};
}

std::unique_ptr<Kernel> instance_norm_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  const ChannelLayout layout = channel_layout(node, x);
  const int64_t N = layout.N, C = layout.C, size = layout.size;
  const double eps = node.get_float("epsilon", 1e-5f);
  return typed_kernel(node, x.dtype, Mask<kFloat>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* src = static_cast<const T*>(in[0]);
      const T* sc = static_cast<const T*>(in[1]);
      const T* b = static_cast<const T*>(in[2]);
      T* dst = static_cast<T*>(out[0]);
      parallel_for(N * C, N * C * size, [&](int64_t r) {
        const int64_t c = r % C;
        const T* p = src + r * size;
        T* q = dst + r * size;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < size; ++i) mean += static_cast<double>(p[i]);
        mean /= static_cast<double>(size);
        for (int64_t i = 0; i < size; ++i) var += (static_cast<double>(p[i]) - mean) * (static_cast<double>(p[i]) - mean);
        var /= static_cast<double>(size);
        const double k = static_cast<double>(sc[c]) / std::sqrt(var + eps);
        for (int64_t i = 0; i < size; ++i)
          q[i] = static_cast<T>((static_cast<double>(p[i]) - mean) * k + static_cast<double>(b[c]));
      });
    };
  });
}

std::unique_ptr<Kernel> batch_norm_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0);
  const ChannelLayout layout = channel_layout(node, x);
  const int64_t N = layout.N, C = layout.C, size = layout.size;
  const double eps = node.get_float("epsilon", 1e-5f);
  const double momentum = node.get_float("momentum", 0.9f);
  const bool training = node.opset() >= 14 ? node.get_int("training_mode", 0) != 0 : node.num_outputs() > 1;
  if (node.opset() < 9 && node.get_int("spatial", 1) == 0) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "spatial=0");
  return typed_kernel(node, x.dtype, Mask<kFloat>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* src = static_cast<const T*>(in[0]);
      const T* sc = static_cast<const T*>(in[1]);
      const T* b = static_cast<const T*>(in[2]);
      const T* mean_in = static_cast<const T*>(in[3]);
      const T* var_in = static_cast<const T*>(in[4]);
      T* dst = static_cast<T*>(out[0]);
      parallel_for(C, N * C * size, [&](int64_t c) {
        double mean = static_cast<double>(mean_in[c]), var = static_cast<double>(var_in[c]);
        if (training) {
          double s = 0, s2 = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < size; ++i) s += static_cast<double>(src[(n * C + c) * size + i]);
          const double cnt = static_cast<double>(N * size);
          const double bm = s / cnt;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0; i < size; ++i) {
              double d = static_cast<double>(src[(n * C + c) * size + i]) - bm;
              s2 += d * d;
            }
          const double bv = s2 / cnt;
          if (out.size() > 1 && out[1]) static_cast<T*>(out[1])[c] = static_cast<T>(mean * momentum + bm * (1 - momentum));
          if (out.size() > 2 && out[2]) static_cast<T*>(out[2])[c] = static_cast<T>(var * momentum + bv * (1 - momentum));
          mean = bm;
          var = bv;
        }
        const double k = static_cast<double>(sc[c]) / std::sqrt(var + eps);
        const double shift = static_cast<double>(b[c]) - mean * k;
        for (int64_t n = 0; n < N; ++n) {
          const T* p = src + (n * C + c) * size;
          T* q = dst + (n * C + c) * size;
          for (int64_t i = 0; i < size; ++i) q[i] = static_cast<T>(static_cast<double>(p[i]) * k + shift);
        }
      });
    };
  });
}

// ---------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------

enum class Reduce { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// Offsets of all indices over the dims `which` (row-major among them).
std::vector<int64_t> subspace_offsets(const Shape& shape, const std::vector<int64_t>& strides, const std::vector<bool>& which) {
  Shape dims;
  std::vector<int64_t> st;
  for (size_t d = 0; d < shape.size(); ++d)
    if (which[d]) {
      dims.push_back(shape[d]);
      st.push_back(strides[d]);
    }
  std::vector<int64_t> offsets;
  const int64_t n = plugin::element_count(dims);
  offsets.reserve(static_cast<size_t>(n));
  std::vector<int64_t> idx(dims.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0;
    for (size_t d = 0; d < dims.size(); ++d) off += idx[d] * st[d];
    offsets.push_back(off);
    next_index(idx, dims);
  }
  return offsets;
}

struct ReducePlan {
  std::vector<int64_t> base;  // input offset of each output element
  std::vector<int64_t> roff;  // offsets of the reduced sub-space
};

ReducePlan make_reduce_plan(const Shape& in, std::vector<int64_t> axes, bool noop_with_empty_axes) {
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<bool> reduced(in.size(), false);
  if (axes.empty()) {
    if (!noop_with_empty_axes) std::fill(reduced.begin(), reduced.end(), true);
  } else {
    for (int64_t a : axes) {
      if (a < -rank || a >= rank) throw PluginError(HXRT_STATUS_INVALID_ARGUMENT, "reduction axis out of range");
      reduced[static_cast<size_t>(a < 0 ? a + rank : a)] = true;
    }
  }
  auto strides = strides_of(in);
  std::vector<bool> kept(in.size());
  for (size_t d = 0; d < in.size(); ++d) kept[d] = !reduced[d];
  return ReducePlan{subspace_offsets(in, strides, kept), subspace_offsets(in, strides, reduced)};
}

template <typename T>
void reduce_run(Reduce kind, const ReducePlan& plan, const T* src, T* dst) {
  using A = Acc<T>;
  const int64_t O = static_cast<int64_t>(plan.base.size());
  const int64_t R = static_cast<int64_t>(plan.roff.size());
  const int64_t* roff = plan.roff.data();
  parallel_for(O, O * std::max<int64_t>(R, 1), [&](int64_t o) {
    const T* p = src + plan.base[static_cast<size_t>(o)];
    switch (kind) {
      case Reduce::kSum:
      case Reduce::kMean: {
        A acc = 0;
        for (int64_t r = 0; r < R; ++r) acc += static_cast<A>(p[roff[r]]);
        if (kind == Reduce::kMean) {
          if constexpr (std::is_floating_point_v<T>)
            acc = R ? acc / static_cast<A>(R) : std::numeric_limits<A>::quiet_NaN();
          else
            acc = R ? static_cast<A>(acc / static_cast<A>(R)) : A(0);
        }
        dst[o] = static_cast<T>(acc);
        break;
      }
      case Reduce::kMax: {
        T acc = std::is_floating_point_v<T> ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
        for (int64_t r = 0; r < R; ++r) {
          T v = p[roff[r]];
          if (v > acc || v != v) acc = v;
        }
        dst[o] = acc;
        break;
      }
      case Reduce::kMin: {
        T acc = std::is_floating_point_v<T> ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
        for (int64_t r = 0; r < R; ++r) {
          T v = p[roff[r]];
          if (v < acc || v != v) acc = v;
        }
        dst[o] = acc;
        break;
      }
      case Reduce::kProd: {
        A acc = 1;
        for (int64_t r = 0; r < R; ++r) acc = static_cast<A>(acc * static_cast<A>(p[roff[r]]));
        dst[o] = static_cast<T>(acc);
        break;
      }
      case Reduce::kL1: {
        A acc = 0;
        for (int64_t r = 0; r < R; ++r) {
          A v = static_cast<A>(p[roff[r]]);
          if constexpr (std::is_signed_v<A>) v = v < A(0) ? static_cast<A>(-v) : v;
          acc += v;
        }
        dst[o] = static_cast<T>(acc);
        break;
      }
      case Reduce::kSumSquare: {
        A acc = 0;
        for (int64_t r = 0; r < R; ++r) acc += static_cast<A>(p[roff[r]]) * static_cast<A>(p[roff[r]]);
        dst[o] = static_cast<T>(acc);
        break;
      }
      case Reduce::kL2:
      case Reduce::kLogSum: {
        double acc = 0;
        for (int64_t r = 0; r < R; ++r) {
          double v = static_cast<double>(p[roff[r]]);
          acc += kind == Reduce::kL2 ? v * v : v;
        }
        dst[o] = convert<T>(kind == Reduce::kL2 ? std::sqrt(acc) : std::log(acc));
        break;
      }
      case Reduce::kLogSumExp: {
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t r = 0; r < R; ++r) mx = std::max(mx, static_cast<double>(p[roff[r]]));
        double acc = 0;
        for (int64_t r = 0; r < R; ++r) acc += std::exp(static_cast<double>(p[roff[r]]) - mx);
        dst[o] = convert<T>(R ? mx + std::log(acc) : -std::numeric_limits<double>::infinity());
        break;
      }
    }
  });
}

std::unique_ptr<Kernel> reduce_kernel(const NodeReader& node, Reduce kind, int axes_input_opset) {
  TensorInfo x = node.input_info(0);
  const bool noop = node.get_int("noop_with_empty_axes", 0) != 0;
  Shape in_shape = x.shape;
  std::optional<ReducePlan> plan;
  hxrt_dtype axes_dtype = HXRT_DTYPE_UNDEFINED;
  int64_t axes_count = 0;
  if (node.opset() < axes_input_opset) {
    plan = make_reduce_plan(in_shape, node.get_ints("axes"), false);
  } else if (!node.has_input(1) || node.input_info(1).numel() == 0) {
    plan = make_reduce_plan(in_shape, {}, noop);
  } else if (node.input_info(1).constant) {
    plan = make_reduce_plan(in_shape, constant_ints_input(node, 1, "axes"), noop);
  } else {
    axes_dtype = node.input_info(1).dtype;
    axes_count = node.input_info(1).numel();
  }
  if (plan && static_cast<int64_t>(plan->base.size()) != node.output_info(0).numel())
    unsupported(HXRT_UNSUPPORTED_SHAPE, node, "output size disagrees with the reduction");
  return typed_kernel(node, x.dtype, Mask<kNumeric>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      if (plan) {
        reduce_run<T>(kind, *plan, static_cast<const T*>(in[0]), static_cast<T*>(out[0]));
        return;
      }
      std::vector<int64_t> axes;
      for (int64_t k = 0; k < axes_count; ++k) axes.push_back(load_as_int64(in[1], axes_dtype, k));
      reduce_run<T>(kind, make_reduce_plan(in_shape, axes, noop), static_cast<const T*>(in[0]), static_cast<T*>(out[0]));
    };
  });
}

std::unique_ptr<Kernel> arg_reduce_kernel(const NodeReader& node, bool is_max) {
  TensorInfo x = node.input_info(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t axis = normalize_axis(node, node.get_int("axis", 0), std::max<int64_t>(rank, 1));
  const bool last = node.get_int("select_last_index", 0) != 0;
  AxisSplit s = split_at_axis(x.shape, axis);
  return typed_kernel(node, x.dtype, Mask<kNumeric>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* src = static_cast<const T*>(in[0]);
      int64_t* dst = static_cast<int64_t*>(out[0]);
      parallel_for(s.outer * s.inner, s.outer * s.inner * s.dim, [&](int64_t j) {
        const int64_t o = j / s.inner, i = j % s.inner;
        const T* p = src + o * s.dim * s.inner + i;
        int64_t best = 0;
        for (int64_t k = 1; k < s.dim; ++k) {
          const T v = p[k * s.inner], b = p[best * s.inner];
          const bool better = is_max ? (v > b || (last && v == b)) : (v < b || (last && v == b));
          if (better) best = k;
        }
        dst[j] = best;
      });
    };
  });
}

// ---------------------------------------------------------------------------
// MatMul and Gemm
// ---------------------------------------------------------------------------

std::unique_ptr<Kernel> matmul_kernel(const NodeReader& node) {
  TensorInfo a = node.input_info(0), b = node.input_info(1);
  if (a.dtype != b.dtype) unsupported(HXRT_UNSUPPORTED_DTYPE, node, "mixed dtypes");
  if (a.shape.empty() || b.shape.empty()) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "scalar operand");
  Shape as = a.shape, bs = b.shape;
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  if (bs[bs.size() - 2] != K) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "inner dimensions differ");
  Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  const size_t br = std::max(a_batch.size(), b_batch.size());
  Shape batch(br, 1);
  for (size_t i = 0; i < br; ++i) {
    int64_t da = i + a_batch.size() >= br ? a_batch[i + a_batch.size() - br] : 1;
    int64_t db = i + b_batch.size() >= br ? b_batch[i + b_batch.size() - br] : 1;
    batch[i] = da == 1 ? db : da;
  }
  // Per-batch element offsets of A and B.
  auto plan = make_broadcast<2>(batch, {a_batch, b_batch});
  std::vector<int64_t> a_off, b_off;
  for_each_broadcast_row<2>(plan, [&](int64_t, const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
    for (int64_t i = 0; i < n; ++i) {
      a_off.push_back((off[0] + i * st[0]) * M * K);
      b_off.push_back((off[1] + i * st[1]) * K * N);
    }
  });
  if (plugin::element_count(batch) == 0) a_off.clear(), b_off.clear();
  return typed_kernel(node, a.dtype, Mask<kNumeric>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* pa = static_cast<const T*>(in[0]);
      const T* pb = static_cast<const T*>(in[1]);
      T* po = static_cast<T*>(out[0]);
      const int64_t batches = static_cast<int64_t>(a_off.size());
      parallel_for(batches * M, batches * M * N * K, [&](int64_t j) {
        const int64_t bi = j / M, m = j % M;
        const T* ar = pa + a_off[static_cast<size_t>(bi)] + m * K;
        const T* bm = pb + b_off[static_cast<size_t>(bi)];
        T* orow = po + j * N;
        std::vector<Acc<T>> acc(static_cast<size_t>(N), Acc<T>(0));
        for (int64_t k = 0; k < K; ++k) {
          const Acc<T> av = static_cast<Acc<T>>(ar[k]);
          const T* brow = bm + k * N;
          for (int64_t n = 0; n < N; ++n) acc[static_cast<size_t>(n)] += av * static_cast<Acc<T>>(brow[n]);
        }
        for (int64_t n = 0; n < N; ++n) orow[n] = static_cast<T>(acc[static_cast<size_t>(n)]);
      });
    };
  });
}

std::unique_ptr<Kernel> gemm_kernel(const NodeReader& node) {
  TensorInfo a = node.input_info(0), b = node.input_info(1);
  if (a.shape.size() != 2 || b.shape.size() != 2) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "A and B must be 2-D");
  const bool ta = node.get_int("transA", 0) != 0, tb = node.get_int("transB", 0) != 0;
  const double alpha = node.get_float("alpha", 1.0f), beta = node.get_float("beta", 1.0f);
  const int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  const int64_t N = tb ? b.shape[0] : b.shape[1];
  if ((tb ? b.shape[1] : b.shape[0]) != K) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "inner dimensions differ");
  const bool has_c = node.has_input(2);
  auto c_plan = make_broadcast<1>(Shape{M, N}, {has_c ? node.input_info(2).shape : Shape{}});
  return typed_kernel(node, a.dtype, Mask<kNumeric>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* pa = static_cast<const T*>(in[0]);
      const T* pb = static_cast<const T*>(in[1]);
      const T* pc = has_c && in.size() > 2 ? static_cast<const T*>(in[2]) : nullptr;
      T* po = static_cast<T*>(out[0]);
      std::vector<double> cval;
      if (pc) {
        cval.resize(static_cast<size_t>(M * N));
        for_each_broadcast_row<1>(c_plan, [&](int64_t oo, const std::array<int64_t, 1>& off, int64_t n,
                                              const std::array<int64_t, 1>& st) {
          for (int64_t i = 0; i < n; ++i) cval[static_cast<size_t>(oo + i)] = static_cast<double>(pc[off[0] + i * st[0]]);
        });
      }
      const int64_t a_sm = ta ? 1 : K, a_sk = ta ? M : 1;
      const int64_t b_sk = tb ? 1 : N, b_sn = tb ? K : 1;
      parallel_for(M, M * N * K, [&](int64_t m) {
        std::vector<Acc<T>> acc(static_cast<size_t>(N), Acc<T>(0));
        for (int64_t k = 0; k < K; ++k) {
          const Acc<T> av = static_cast<Acc<T>>(pa[m * a_sm + k * a_sk]);
          for (int64_t n = 0; n < N; ++n) acc[static_cast<size_t>(n)] += av * static_cast<Acc<T>>(pb[k * b_sk + n * b_sn]);
        }
        for (int64_t n = 0; n < N; ++n) {
          double v = alpha * static_cast<double>(acc[static_cast<size_t>(n)]);
          if (pc) v += beta * cval[static_cast<size_t>(m * N + n)];
          po[m * N + n] = static_cast<T>(v);
        }
      });
    };
  });
}

}  // namespace

void register_misc_kernels() {
  register_op(OpRegistration{"Softmax", 1, 25, [](const NodeReader& n) { return softmax_kernel(n, SoftmaxKind::kSoftmax); }});
  register_op(OpRegistration{"LogSoftmax", 1, 25, [](const NodeReader& n) { return softmax_kernel(n, SoftmaxKind::kLogSoftmax); }});
  register_op(OpRegistration{"Hardmax", 1, 25, [](const NodeReader& n) { return softmax_kernel(n, SoftmaxKind::kHardmax); }});
  register_op(OpRegistration{"LayerNormalization", 17, 25, layer_norm_kernel});
  register_op(OpRegistration{"InstanceNormalization", 6, 25, instance_norm_kernel});
  register_op(OpRegistration{"BatchNormalization", 6, 25, batch_norm_kernel});

  struct R {
    const char* name;
    Reduce kind;
  };
  for (R r : {R{"ReduceSum", Reduce::kSum}, R{"ReduceMean", Reduce::kMean}, R{"ReduceMax", Reduce::kMax},
              R{"ReduceMin", Reduce::kMin}, R{"ReduceProd", Reduce::kProd}, R{"ReduceL1", Reduce::kL1},
              R{"ReduceL2", Reduce::kL2}, R{"ReduceLogSum", Reduce::kLogSum}, R{"ReduceLogSumExp", Reduce::kLogSumExp},
              R{"ReduceSumSquare", Reduce::kSumSquare}}) {
    const int axes_input_opset = r.kind == Reduce::kSum ? 13 : 18;
    const Reduce kind = r.kind;
    register_op(OpRegistration{r.name, 1, 25, [kind, axes_input_opset](const NodeReader& n) {
                                 return reduce_kernel(n, kind, axes_input_opset);
                               }});
  }
  register_op(OpRegistration{"ArgMax", 1, 25, [](const NodeReader& n) { return arg_reduce_kernel(n, true); }});
  register_op(OpRegistration{"ArgMin", 1, 25, [](const NodeReader& n) { return arg_reduce_kernel(n, false); }});

  register_op(OpRegistration{"MatMul", 1, 25, matmul_kernel});
  register_op(OpRegistration{"Gemm", 1, 25, gemm_kernel});
  // MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool, Conv, ConvTranspose:
  // register_own_nn_kernels() (kernels_own_nn.cpp).
}

}  // namespace hxrt::cpu
