// Naive fallbacks for the window ops oneDNN may refuse: pooling, Conv and
// ConvTranspose, on the window geometry of own_nn.hpp.
#include "own_common.hpp"
#include "own_nn.hpp"

namespace hxrt::cpu {
namespace {

using namespace own;

// ---------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------

// For every spatial dim and output coordinate: the valid input positions of
// the window, and how many window positions lie inside the padded extent.
struct PoolWindows {
  std::vector<std::vector<std::vector<int64_t>>> positions;  // [dim][out] -> input coords
  std::vector<std::vector<int64_t>> padded_count;            // [dim][out]
};

PoolWindows pool_windows(const WindowGeometry& g) {
  PoolWindows w;
  for (size_t d = 0; d < g.in.size(); ++d) {
    std::vector<std::vector<int64_t>> pos;
    std::vector<int64_t> counts;
    for (int64_t o = 0; o < g.out[d]; ++o) {
      std::vector<int64_t> p;
      int64_t cnt = 0;
      for (int64_t k = 0; k < g.kernel[d]; ++k) {
        const int64_t i = g.point(d, o, k);
        if (i >= 0 && i < g.in[d]) p.push_back(i);
        if (i >= -g.pad_begin[d] && i < g.in[d] + g.pad_end[d]) ++cnt;
      }
      pos.push_back(std::move(p));
      counts.push_back(cnt);
    }
    w.positions.push_back(std::move(pos));
    w.padded_count.push_back(std::move(counts));
  }
  return w;
}

std::unique_ptr<Kernel> pool_kernel(const NodeReader& node, bool is_max, bool global) {
  TensorInfo x = node.input_info(0);
  Shape out_shape = node.output_info(0).shape;
  if (x.shape.size() < 3) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "rank < 3");
  const size_t nsp = x.shape.size() - 2;
  const WindowGeometry g =
      global ? global_geometry(x.shape) : forward_geometry(node, x.shape, out_shape, node.get_ints("kernel_shape"));
  const bool include_pad = node.get_int("count_include_pad", 0) != 0;
  const int64_t storage_order = node.get_int("storage_order", 0);
  const bool want_indices = is_max && node.has_output(1);
  PoolWindows w = pool_windows(g);
  const int64_t planes = x.shape[0] * x.shape[1];
  const int64_t in_plane = product(x.shape, 2, x.shape.size());
  const int64_t out_plane = product(out_shape, 2, out_shape.size());
  auto in_strides = strides_of(g.in);
  // Column-major spatial strides for storage_order = 1 indices.
  std::vector<int64_t> cm_strides(nsp, 1);
  for (size_t d = 1; d < nsp; ++d) cm_strides[d] = cm_strides[d - 1] * g.in[d - 1];
  return typed_kernel(node, x.dtype, Mask<kNumeric>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* src = static_cast<const T*>(in[0]);
      T* dst = static_cast<T*>(out[0]);
      int64_t* idx_out = want_indices && out.size() > 1 ? static_cast<int64_t*>(out[1]) : nullptr;
      parallel_for(planes, planes * out_plane * 4, [&](int64_t plane) {
        const T* p = src + plane * in_plane;
        std::vector<int64_t> o(nsp, 0), k(nsp, 0);
        for (int64_t e = 0; e < out_plane; ++e, next_index(o, g.out)) {
          // Window extents per dim.
          Shape ext(nsp);
          bool empty = false;
          for (size_t d = 0; d < nsp; ++d) {
            ext[d] = static_cast<int64_t>(w.positions[d][static_cast<size_t>(o[d])].size());
            if (ext[d] == 0) empty = true;
          }
          double sum = 0;
          T best = std::is_floating_point_v<T> ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
          int64_t best_at = -1;
          int64_t valid = 0;
          if (!empty) {
            std::fill(k.begin(), k.end(), 0);
            do {
              int64_t off = 0, cm = 0;
              for (size_t d = 0; d < nsp; ++d) {
                const int64_t pos = w.positions[d][static_cast<size_t>(o[d])][static_cast<size_t>(k[d])];
                off += pos * in_strides[d];
                cm += pos * cm_strides[d];
              }
              const T v = p[off];
              if (is_max) {
                if (best_at < 0 || v > best) {
                  best = v;
                  best_at = storage_order ? cm : off;
                }
              } else {
                sum += static_cast<double>(v);
              }
              ++valid;
            } while (next_index(k, ext));
          }
          if (is_max) {
            dst[plane * out_plane + e] = best;
            if (idx_out) idx_out[plane * out_plane + e] = plane * in_plane + std::max<int64_t>(best_at, 0);
          } else {
            int64_t count = valid;
            if (include_pad) {
              count = 1;
              for (size_t d = 0; d < nsp; ++d) count *= w.padded_count[d][static_cast<size_t>(o[d])];
            }
            dst[plane * out_plane + e] = count ? convert<T>(sum / static_cast<double>(count)) : T(0);
          }
        }
      });
    };
  });
}

// ---------------------------------------------------------------------------
// Conv and ConvTranspose
// ---------------------------------------------------------------------------

// The frame of the naive Conv and ConvTranspose kernels: float dispatch, the
// X, W, optional B and Y pointers, and one parallel task per output plane j
// (batch x output channel, `planes` of them). `make_plane(Tag<T>{})` returns
// plane(j, x, w, b, y), which computes plane j (b is NULL without bias).
template <typename MakePlane>
std::unique_ptr<Kernel> conv_like_kernel(const NodeReader& node, hxrt_dtype dtype, bool has_bias, int64_t planes,
                                         int64_t work, MakePlane&& make_plane) {
  return typed_kernel(node, dtype, Mask<kFloat>{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=, plane = make_plane(tag)](const std::vector<const void*>& in, const std::vector<void*>& out) {
      const T* px = static_cast<const T*>(in[0]);
      const T* pw = static_cast<const T*>(in[1]);
      const T* pb = has_bias && in.size() > 2 ? static_cast<const T*>(in[2]) : nullptr;
      T* py = static_cast<T*>(out[0]);
      parallel_for(planes, work, [&](int64_t j) { plane(j, px, pw, pb, py); });
    };
  });
}

std::unique_ptr<Kernel> conv_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0), w = node.input_info(1);
  Shape out_shape = node.output_info(0).shape;
  if (x.shape.size() < 3 || w.shape.size() != x.shape.size()) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "bad ranks");
  WindowGeometry g = forward_geometry(node, x.shape, out_shape, kernel_shape_of(node, w.shape));
  const int64_t group = node.get_int("group", 1);
  const int64_t N = x.shape[0], C = x.shape[1], M = w.shape[0];
  if (group <= 0 || C % group || M % group || w.shape[1] != C / group)
    unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "inconsistent group");
  require_kernel_matches_weights(node, g.kernel, w.shape);
  const int64_t Cg = C / group, Mg = M / group;
  const int64_t in_plane = product(x.shape, 2, x.shape.size());
  const int64_t out_plane = product(out_shape, 2, out_shape.size());
  const int64_t k_plane = product(w.shape, 2, w.shape.size());
  const bool has_bias = node.has_input(2);
  const WindowTaps windows(g, g.out, g.in);  // output points sample the input
  return conv_like_kernel(node, x.dtype, has_bias, N * M, N * M * out_plane * Cg * k_plane, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](int64_t j, const T* px, const T* pw, const T* pb, T* py) {
      const int64_t n = j / M, m = j % M, grp = m / Mg;
      windows.for_each([&](int64_t e, const std::vector<Tap>& taps) {
        double acc = pb ? static_cast<double>(pb[m]) : 0.0;
        for (int64_t c = 0; c < Cg; ++c) {
          const T* xc = px + (n * C + grp * Cg + c) * in_plane;
          const T* wc = pw + (m * Cg + c) * k_plane;
          for (const Tap& t : taps) acc += static_cast<double>(xc[t.target]) * static_cast<double>(wc[t.kernel]);
        }
        py[j * out_plane + e] = static_cast<T>(acc);
      });
    };
  });
}

std::unique_ptr<Kernel> conv_transpose_kernel(const NodeReader& node) {
  TensorInfo x = node.input_info(0), w = node.input_info(1);
  Shape out_shape = node.output_info(0).shape;
  if (x.shape.size() < 3 || w.shape.size() != x.shape.size()) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "bad ranks");
  const int64_t group = node.get_int("group", 1);
  const int64_t N = x.shape[0], C = x.shape[1];
  if (group <= 0 || C % group || w.shape[0] != C) unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, node, "inconsistent group");
  const int64_t Mg = w.shape[1], M = Mg * group, Cg = C / group;
  if (out_shape[1] != M) unsupported(HXRT_UNSUPPORTED_SHAPE, node, "output channels disagree");
  std::vector<int64_t> kshape = kernel_shape_of(node, w.shape);
  require_kernel_matches_weights(node, kshape, w.shape);
  WindowGeometry g = transpose_geometry(node, x.shape, out_shape, std::move(kshape));
  const int64_t in_plane = product(g.in, 0, g.in.size()), out_plane = product(g.out, 0, g.out.size());
  const int64_t k_plane = product(g.kernel, 0, g.kernel.size());
  const bool has_bias = node.has_input(2);
  const WindowTaps windows(g, g.in, g.out);  // input points scatter into the output
  return conv_like_kernel(node, x.dtype, has_bias, N * M, N * M * in_plane * Cg * k_plane, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return [=](int64_t j, const T* px, const T* pw, const T* pb, T* py) {
      const int64_t n = j / M, m = j % M, grp = m / Mg, mm = m % Mg;
      std::vector<double> acc(static_cast<size_t>(out_plane), pb ? static_cast<double>(pb[m]) : 0.0);
      windows.for_each([&](int64_t e, const std::vector<Tap>& taps) {
        for (int64_t c = 0; c < Cg; ++c) {
          const int64_t ci = grp * Cg + c;
          const double xv = static_cast<double>(px[(n * C + ci) * in_plane + e]);
          const T* wc = pw + (ci * Mg + mm) * k_plane;
          for (const Tap& t : taps) acc[static_cast<size_t>(t.target)] += xv * static_cast<double>(wc[t.kernel]);
        }
      });
      T* y = py + j * out_plane;
      for (int64_t e = 0; e < out_plane; ++e) y[e] = static_cast<T>(acc[static_cast<size_t>(e)]);
    };
  });
}

}  // namespace

void register_own_nn_kernels() {
  register_op(OpRegistration{"MaxPool", 1, 25, [](const NodeReader& n) { return pool_kernel(n, true, false); }});
  register_op(OpRegistration{"AveragePool", 1, 25, [](const NodeReader& n) { return pool_kernel(n, false, false); }});
  register_op(OpRegistration{"GlobalMaxPool", 1, 25, [](const NodeReader& n) { return pool_kernel(n, true, true); }});
  register_op(OpRegistration{"GlobalAveragePool", 1, 25, [](const NodeReader& n) { return pool_kernel(n, false, true); }});
  register_op(OpRegistration{"Conv", 1, 25, conv_kernel});
  register_op(OpRegistration{"ConvTranspose", 1, 25, conv_transpose_kernel});
}

}  // namespace hxrt::cpu
