// Kernel-level tests: build kernels through the registry (create_kernel) from
// hand-made node descriptors and compare with naive double-precision
// references on random data (fixed seeds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernel.hpp"
#include "node_builder.hpp"

namespace hxrt::cpu {
namespace {

using Dims = std::vector<int64_t>;

int64_t numel(const Dims& d) { return std::accumulate(d.begin(), d.end(), int64_t{1}, std::multiplies<>()); }

std::vector<float> rnd(int64_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

// A float (or int64) node over the shared test::NodeBuilder; keeps the
// inputs' data to run the built kernel on.
class FloatNode {
 public:
  FloatNode(std::string op, int64_t opset) : node_(std::move(op), opset) { node_.name("test"); }

  FloatNode& in(Dims dims, std::vector<float> data = {}, bool constant = false) {
    const std::vector<float>& stored = floats_.emplace_back(std::move(data));
    return add_input(HXRT_DTYPE_FLOAT32, std::move(dims), stored.data(), stored.size() * sizeof(float), constant);
  }
  FloatNode& in_const(Dims dims, std::vector<float> data) { return in(std::move(dims), std::move(data), true); }
  FloatNode& in_ints(Dims dims, std::vector<int64_t> values, bool constant) {
    const std::vector<int64_t>& stored = ints_.emplace_back(std::move(values));
    return add_input(HXRT_DTYPE_INT64, std::move(dims), stored.data(), stored.size() * sizeof(int64_t), constant);
  }
  FloatNode& none() {
    node_.no_input();
    in_data_.push_back(nullptr);
    return *this;
  }
  FloatNode& out(Dims dims, hxrt_dtype dt = HXRT_DTYPE_FLOAT32) {
    out_sizes_.push_back(static_cast<size_t>(numel(dims)));
    node_.output(dt, std::move(dims));
    return *this;
  }
  FloatNode& attr(const char* name, int64_t v) {
    node_.attr_int(name, v);
    return *this;
  }
  FloatNode& attr_f(const char* name, float v) {
    node_.attr_float(name, v);
    return *this;
  }
  FloatNode& attr(const char* name, std::vector<int64_t> v) {
    node_.attr_ints(name, std::move(v));
    return *this;
  }
  FloatNode& attr_s(const char* name, const char* s) {
    node_.attr_string(name, s);
    return *this;
  }

  // The oneDNN family's kernel (registered first for every op it handles),
  // so the generic fallbacks never hide a oneDNN failure.
  std::unique_ptr<Kernel> build() {
    auto factories = factories_for(node_.op_type());
    if (factories.empty()) throw Unsupported(HXRT_UNSUPPORTED_OP, "no factory for " + node_.op_type());
    return factories.front()->factory(NodeReader(node_.desc()));
  }

  // Builds and runs the kernel on the inputs' data; returns every output.
  std::vector<std::vector<float>> run() {
    auto kernel = build();
    std::vector<std::vector<float>> results;
    std::vector<void*> outs;
    for (size_t n : out_sizes_) results.emplace_back(n, -12345.f);
    for (auto& r : results) outs.push_back(r.data());
    kernel->run(in_data_, outs);
    return results;
  }

 private:
  FloatNode& add_input(hxrt_dtype dtype, Dims dims, const void* data, size_t bytes, bool constant) {
    if (constant)
      node_.input(dtype, std::move(dims), data, bytes);
    else
      node_.input(dtype, std::move(dims));
    in_data_.push_back(data);
    return *this;
  }

  test::NodeBuilder node_;
  std::deque<std::vector<float>> floats_;
  std::deque<std::vector<int64_t>> ints_;
  std::vector<const void*> in_data_;
  std::vector<size_t> out_sizes_;
};

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-4) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << "at " << i;
      continue;
    }
    ASSERT_NEAR(got[i], want[i], tol * (1.0 + std::abs(want[i]))) << "at " << i;
  }
}

// Spatial dims padded to 3 (leading 1s) for the generic references.
struct S3 {
  int64_t v[3];
};
S3 s3(const Dims& d, int64_t fill) {
  S3 r{{fill, fill, fill}};
  for (size_t i = 0; i < d.size(); ++i) r.v[3 - d.size() + i] = d[i];
  return r;
}

// out[n, m, o] = b[m] + sum_{c in group, k} x[n, c, o*s + k*d - pl] * w[m, c', k]
std::vector<double> conv_ref(const std::vector<float>& x, const Dims& xs, const std::vector<float>& w, const Dims& ws,
                             const std::vector<float>* b, int64_t group, const Dims& strides, const Dims& dil,
                             const Dims& pl, const Dims& ys) {
  int64_t N = xs[0], C = xs[1], M = ws[0], Cg = C / group, Mg = M / group;
  S3 in = s3(Dims(xs.begin() + 2, xs.end()), 1), out = s3(Dims(ys.begin() + 2, ys.end()), 1),
     k = s3(Dims(ws.begin() + 2, ws.end()), 1), s = s3(strides, 1), d = s3(dil, 1), p = s3(pl, 0);
  std::vector<double> y(static_cast<size_t>(numel(ys)));
  size_t yi = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t o0 = 0; o0 < out.v[0]; ++o0)
        for (int64_t o1 = 0; o1 < out.v[1]; ++o1)
          for (int64_t o2 = 0; o2 < out.v[2]; ++o2) {
            double acc = b ? (*b)[static_cast<size_t>(m)] : 0.0;
            int64_t g = m / Mg;
            for (int64_t cg = 0; cg < Cg; ++cg)
              for (int64_t k0 = 0; k0 < k.v[0]; ++k0)
                for (int64_t k1 = 0; k1 < k.v[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k.v[2]; ++k2) {
                    int64_t i0 = o0 * s.v[0] + k0 * d.v[0] - p.v[0];
                    int64_t i1 = o1 * s.v[1] + k1 * d.v[1] - p.v[1];
                    int64_t i2 = o2 * s.v[2] + k2 * d.v[2] - p.v[2];
                    if (i0 < 0 || i0 >= in.v[0] || i1 < 0 || i1 >= in.v[1] || i2 < 0 || i2 >= in.v[2]) continue;
                    int64_t c = g * Cg + cg;
                    acc += static_cast<double>(
                               x[static_cast<size_t>((((n * C + c) * in.v[0] + i0) * in.v[1] + i1) * in.v[2] + i2)]) *
                           w[static_cast<size_t>((((m * Cg + cg) * k.v[0] + k0) * k.v[1] + k1) * k.v[2] + k2)];
                  }
            y[yi++] = acc;
          }
  return y;
}

int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

TEST(ConvKernel, GroupedStridedDilatedPadded2D) {
  Dims xs{2, 4, 9, 8}, ws{6, 2, 3, 2};
  Dims strides{2, 1}, dil{1, 2}, pads{1, 0, 2, 1};
  Dims ys{2, 6, conv_out(9, 3, 2, 1, 1, 2), conv_out(8, 2, 1, 2, 0, 1)};
  auto x = rnd(numel(xs), 1), w = rnd(numel(ws), 2), b = rnd(6, 3);
  auto want = conv_ref(x, xs, w, ws, &b, 2, strides, dil, {1, 0}, ys);
  for (bool constant_weights : {true, false}) {
    FloatNode n("Conv", 11);
    n.in(xs, x).in(ws, w, constant_weights).in(Dims{6}, b, constant_weights).out(ys);
    n.attr("group", 2).attr("strides", strides).attr("dilations", dil).attr("pads", pads);
    expect_close(n.run()[0], want);
  }
}

TEST(ConvKernel, OneAndThreeDimensionalAndSameUpper) {
  {
    Dims xs{1, 3, 10}, ws{5, 3, 4}, ys{1, 5, 5};  // SAME_UPPER, stride 2: out = ceil(10/2)
    auto x = rnd(numel(xs), 4), w = rnd(numel(ws), 5);
    // total pad = (5-1)*2 + 4 - 10 = 2 -> begin 1, end 1
    auto want = conv_ref(x, xs, w, ws, nullptr, 1, {2}, {1}, {1}, ys);
    FloatNode n("Conv", 11);
    n.in(xs, x).in_const(ws, w).out(ys).attr("strides", Dims{2}).attr_s("auto_pad", "SAME_UPPER");
    expect_close(n.run()[0], want);
  }
  {
    Dims xs{1, 2, 5, 4, 6}, ws{3, 2, 3, 3, 3}, ys{1, 3, 5, 4, 6};
    auto x = rnd(numel(xs), 6), w = rnd(numel(ws), 7), b = rnd(3, 8);
    auto want = conv_ref(x, xs, w, ws, &b, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, ys);
    FloatNode n("Conv", 11);
    n.in(xs, x).in_const(ws, w).in_const(Dims{3}, b).out(ys).attr("pads", Dims{1, 1, 1, 1, 1, 1});
    expect_close(n.run()[0], want);
  }
}

TEST(ConvKernel, DepthwiseAndDtypeRefused) {
  Dims xs{1, 16, 7, 7}, ws{16, 1, 3, 3}, ys{1, 16, 7, 7};
  auto x = rnd(numel(xs), 9), w = rnd(numel(ws), 10);
  auto want = conv_ref(x, xs, w, ws, nullptr, 16, {1, 1}, {1, 1}, {1, 1}, ys);
  FloatNode n("Conv", 11);
  n.in(xs, x).in_const(ws, w).out(ys).attr("group", 16).attr("pads", Dims{1, 1, 1, 1});
  expect_close(n.run()[0], want);

  FloatNode bad("Conv", 11);
  bad.in_ints(Dims{1, 1, 3, 3}, std::vector<int64_t>(9, 1), false).in_ints(Dims{1, 1, 1, 1}, {1}, true).out({1, 1, 3, 3}, HXRT_DTYPE_INT64);
  try {
    bad.build();
    ADD_FAILURE() << "int64 Conv should be unsupported";
  } catch (const Unsupported& u) {
    EXPECT_EQ(u.reason(), HXRT_UNSUPPORTED_DTYPE);
  }
}

// ConvTranspose reference: scatter formulation.
std::vector<double> deconv_ref(const std::vector<float>& x, const Dims& xs, const std::vector<float>& w, const Dims& ws,
                               const std::vector<float>* b, int64_t group, const Dims& strides, const Dims& pl,
                               const Dims& ys) {
  int64_t N = xs[0], C = xs[1], Mg = ws[1], M = Mg * group, Cg = C / group;
  size_t sd = xs.size() - 2;
  Dims in(xs.begin() + 2, xs.end()), out(ys.begin() + 2, ys.end()), k(ws.begin() + 2, ws.end());
  int64_t in_sz = numel(in), out_sz = numel(out), k_sz = numel(k);
  std::vector<double> y(static_cast<size_t>(numel(ys)));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t o = 0; o < out_sz; ++o) y[static_cast<size_t>((n * M + m) * out_sz + o)] = b ? (*b)[static_cast<size_t>(m)] : 0.0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < in_sz; ++i)
        for (int64_t mg = 0; mg < Mg; ++mg)
          for (int64_t kk = 0; kk < k_sz; ++kk) {
            // unravel i and kk
            int64_t ri = i, rk = kk, flat = 0, mul = 1;
            bool ok = true;
            std::vector<int64_t> o(sd);
            for (size_t dd = sd; dd-- > 0;) {
              int64_t iv = ri % in[dd], kv = rk % k[dd];
              ri /= in[dd];
              rk /= k[dd];
              o[dd] = iv * strides[dd] + kv - pl[dd];
              if (o[dd] < 0 || o[dd] >= out[dd]) ok = false;
            }
            if (!ok) continue;
            for (size_t dd = sd; dd-- > 0;) {
              flat += o[dd] * mul;
              mul *= out[dd];
            }
            int64_t m = (c / Cg) * Mg + mg;
            y[static_cast<size_t>((n * M + m) * out_sz + flat)] +=
                static_cast<double>(x[static_cast<size_t>((n * C + c) * in_sz + i)]) *
                w[static_cast<size_t>((c * Mg + mg) * k_sz + kk)];
          }
  return y;
}

TEST(ConvTransposeKernel, StridedGroupedPaddedAndOutputPadding) {
  Dims xs{2, 4, 3, 4}, ws{4, 3, 3, 2};
  auto x = rnd(numel(xs), 11), w = rnd(numel(ws), 12), b = rnd(6, 13);
  {
    // pads (1,0,0,1), strides 2: out = (in-1)*s + k - pb - pe
    Dims ys{2, 6, (3 - 1) * 2 + 3 - 1, (4 - 1) * 2 + 2 - 1};
    auto want = deconv_ref(x, xs, w, ws, &b, 2, {2, 2}, {1, 0}, ys);
    FloatNode n("ConvTranspose", 11);
    n.in(xs, x).in_const(ws, w).in_const(Dims{6}, b).out(ys);
    n.attr("group", 2).attr("strides", Dims{2, 2}).attr("pads", Dims{1, 0, 0, 1});
    expect_close(n.run()[0], want);
  }
  {
    // output_padding (1, 1): the output exceeds the full result by one (negative end padding).
    Dims ys{2, 6, (3 - 1) * 2 + 3 + 1, (4 - 1) * 2 + 2 + 1};
    auto want = deconv_ref(x, xs, w, ws, &b, 2, {2, 2}, {0, 0}, ys);
    FloatNode n("ConvTranspose", 11);
    n.in(xs, x).in(ws, w).in(Dims{6}, b).out(ys);
    n.attr("group", 2).attr("strides", Dims{2, 2}).attr("output_padding", Dims{1, 1});
    expect_close(n.run()[0], want);
  }
}

// ---------------------------------------------------------------------------

TEST(GemmKernel, TransposesAlphaBetaAndBroadcastC) {
  const int64_t M = 5, K = 7, N = 4;
  auto a = rnd(M * K, 20), b = rnd(K * N, 21);
  struct Case {
    bool ta, tb;
    float alpha, beta;
    Dims c_shape;
  };
  for (const Case& cs : {Case{false, false, 1.f, 1.f, {N}}, Case{true, false, 0.5f, 2.f, {M, 1}},
                         Case{false, true, 1.f, 0.25f, {}}, Case{true, true, 2.f, 1.f, {M, N}},
                         Case{false, false, 1.5f, 1.f, {0}}}) {
    bool has_c = cs.c_shape != Dims{0};
    Dims c_shape = has_c ? cs.c_shape : Dims{};
    auto c = rnd(numel(c_shape), 22);
    std::vector<double> want(M * N);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(a[static_cast<size_t>(m * K + k)]) * b[static_cast<size_t>(k * N + n)];
        acc *= cs.alpha;
        if (has_c) {
          Dims c2 = c_shape;
          while (c2.size() < 2) c2.insert(c2.begin(), 1);
          int64_t ci = (c2[0] == 1 ? 0 : m) * c2[1] + (c2[1] == 1 ? 0 : n);
          acc += cs.beta * c[static_cast<size_t>(ci)];
        }
        want[static_cast<size_t>(m * N + n)] = acc;
      }
    // Lay A and B out transposed as requested.
    std::vector<float> at(a.size()), bt(b.size());
    for (int64_t m = 0; m < M; ++m)
      for (int64_t k = 0; k < K; ++k) at[static_cast<size_t>(k * M + m)] = a[static_cast<size_t>(m * K + k)];
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) bt[static_cast<size_t>(n * K + k)] = b[static_cast<size_t>(k * N + n)];
    FloatNode node("Gemm", 13);
    node.in(cs.ta ? Dims{K, M} : Dims{M, K}, cs.ta ? at : a);
    node.in_const(cs.tb ? Dims{N, K} : Dims{K, N}, cs.tb ? bt : b);
    if (has_c) node.in(c_shape, c);
    node.out({M, N}).attr("transA", cs.ta ? 1 : 0).attr("transB", cs.tb ? 1 : 0).attr_f("alpha", cs.alpha).attr_f("beta", cs.beta);
    expect_close(node.run()[0], want);
  }
}

std::vector<double> matmul_ref(const std::vector<float>& a, Dims as, const std::vector<float>& b, Dims bs, Dims& out_shape) {
  bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) as.insert(as.begin(), 1);
  if (b1) bs.push_back(1);
  size_t r = std::max(as.size(), bs.size());
  as.insert(as.begin(), r - as.size(), 1);
  bs.insert(bs.begin(), r - bs.size(), 1);
  int64_t M = as[r - 2], K = as[r - 1], N = bs[r - 1];
  Dims batch(r - 2);
  for (size_t i = 0; i + 2 < r; ++i) batch[i] = std::max(as[i], bs[i]);
  int64_t nb = numel(batch);
  std::vector<double> y(static_cast<size_t>(nb * M * N));
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t rem = bi, aoff = 0, boff = 0, amul = 1, bmul = 1;
    for (size_t d = batch.size(); d-- > 0;) {
      int64_t idx = rem % batch[d];
      rem /= batch[d];
      aoff += (as[d] == 1 ? 0 : idx) * amul;
      boff += (bs[d] == 1 ? 0 : idx) * bmul;
      amul *= as[d];
      bmul *= bs[d];
    }
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += static_cast<double>(a[static_cast<size_t>(aoff * M * K + m * K + k)]) * b[static_cast<size_t>(boff * K * N + k * N + n)];
        y[static_cast<size_t>((bi * M + m) * N + n)] = acc;
      }
  }
  out_shape = batch;
  if (!a1) out_shape.push_back(M);
  if (!b1) out_shape.push_back(N);
  return y;
}

TEST(MatMulKernel, BatchedBroadcastAndVectors) {
  struct Case {
    Dims a, b;
  };
  uint32_t seed = 30;
  for (const Case& cs : {Case{{3, 4}, {4, 5}}, Case{{2, 1, 3, 4}, {5, 4, 6}}, Case{{4}, {2, 4, 3}},
                         Case{{2, 3, 4}, {4}}, Case{{4}, {4}}, Case{{1, 3, 4}, {2, 4, 2}}}) {
    auto a = rnd(numel(cs.a), seed++), b = rnd(numel(cs.b), seed++);
    Dims ys;
    auto want = matmul_ref(a, cs.a, b, cs.b, ys);
    FloatNode n("MatMul", 13);
    n.in(cs.a, a).in(cs.b, b).out(ys);
    expect_close(n.run()[0], want);
  }
}

// ---------------------------------------------------------------------------

struct PoolCase {
  bool is_max;
  Dims xs, kernel, strides, dil, pads;
  bool ceil;
  bool include_pad;
};

std::vector<double> pool_ref(const PoolCase& p, const std::vector<float>& x, Dims& ys) {
  size_t sd = p.xs.size() - 2;
  ys = {p.xs[0], p.xs[1]};
  for (size_t i = 0; i < sd; ++i) {
    int64_t ek = (p.kernel[i] - 1) * p.dil[i] + 1;
    double v = static_cast<double>(p.xs[2 + i] + p.pads[i] + p.pads[i + sd] - ek) / p.strides[i] + 1;
    int64_t o = p.ceil ? static_cast<int64_t>(std::ceil(v)) : static_cast<int64_t>(std::floor(v));
    // ONNX: in ceil mode drop a last window that starts in the end padding.
    if (p.ceil && (o - 1) * p.strides[i] >= p.xs[2 + i] + p.pads[i]) --o;
    ys.push_back(o);
  }
  S3 in = s3(Dims(p.xs.begin() + 2, p.xs.end()), 1), out = s3(Dims(ys.begin() + 2, ys.end()), 1),
     k = s3(p.kernel, 1), s = s3(p.strides, 1), d = s3(p.dil, 1), pb = s3(Dims(p.pads.begin(), p.pads.begin() + static_cast<long>(sd)), 0),
     pe = s3(Dims(p.pads.begin() + static_cast<long>(sd), p.pads.end()), 0);
  int64_t in_sz = in.v[0] * in.v[1] * in.v[2];
  std::vector<double> y;
  for (int64_t nc = 0; nc < p.xs[0] * p.xs[1]; ++nc)
    for (int64_t o0 = 0; o0 < out.v[0]; ++o0)
      for (int64_t o1 = 0; o1 < out.v[1]; ++o1)
        for (int64_t o2 = 0; o2 < out.v[2]; ++o2) {
          double mx = -std::numeric_limits<double>::infinity(), sum = 0;
          int64_t cnt = 0;
          int64_t o[3] = {o0, o1, o2};
          for (int64_t k0 = 0; k0 < k.v[0]; ++k0)
            for (int64_t k1 = 0; k1 < k.v[1]; ++k1)
              for (int64_t k2 = 0; k2 < k.v[2]; ++k2) {
                int64_t kk[3] = {k0, k1, k2}, i[3];
                bool inside = true, in_padded = true;
                for (int a = 0; a < 3; ++a) {
                  i[a] = o[a] * s.v[a] + kk[a] * d.v[a] - pb.v[a];
                  if (i[a] < 0 || i[a] >= in.v[a]) inside = false;
                  if (i[a] < -pb.v[a] || i[a] >= in.v[a] + pe.v[a]) in_padded = false;
                }
                if (inside) {
                  double v = x[static_cast<size_t>(nc * in_sz + (i[0] * in.v[1] + i[1]) * in.v[2] + i[2])];
                  mx = std::max(mx, v);
                  sum += v;
                }
                if (p.include_pad ? in_padded : inside) ++cnt;
              }
          y.push_back(p.is_max ? mx : sum / static_cast<double>(cnt));
        }
  return y;
}

TEST(PoolKernel, MaxAndAverageVariants) {
  uint32_t seed = 40;
  std::vector<PoolCase> cases = {
      {true, {2, 3, 9, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, false, false},
      {true, {1, 2, 10, 9}, {3, 2}, {2, 2}, {1, 1}, {0, 0, 0, 0}, true, false},
      {true, {1, 2, 9, 9}, {2, 2}, {1, 1}, {2, 2}, {0, 0, 0, 0}, false, false},
      {false, {2, 3, 8, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, false, false},
      {false, {2, 3, 8, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, false, true},
      {false, {1, 2, 10, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 0, 1, 0}, true, true},
      {false, {1, 2, 10, 9}, {3, 3}, {2, 2}, {1, 1}, {0, 0, 0, 0}, true, false},
      {false, {1, 2, 9, 9}, {2, 2}, {1, 1}, {2, 2}, {1, 1, 1, 1}, false, false},
      {false, {1, 1, 8, 8, 8}, {3, 3, 3}, {2, 2, 2}, {2, 2, 2}, {1, 1, 1, 1, 1, 1}, true, true},
      {false, {1, 3, 12}, {4}, {3}, {1}, {2, 1}, false, true},
  };
  for (const PoolCase& pc : cases) {
    auto x = rnd(numel(pc.xs), seed++);
    Dims ys;
    auto want = pool_ref(pc, x, ys);
    FloatNode n(pc.is_max ? "MaxPool" : "AveragePool", 19);
    n.in(pc.xs, x).out(ys).attr("kernel_shape", pc.kernel).attr("strides", pc.strides).attr("pads", pc.pads);
    n.attr("dilations", pc.dil).attr("ceil_mode", pc.ceil ? 1 : 0);
    if (!pc.is_max) n.attr("count_include_pad", pc.include_pad ? 1 : 0);
    SCOPED_TRACE(testing::Message() << (pc.is_max ? "max" : "avg") << " case " << seed);
    expect_close(n.run()[0], want);
  }
}

TEST(PoolKernel, GlobalPoolsAndIndicesRefused) {
  Dims xs{2, 3, 5, 4};
  auto x = rnd(numel(xs), 50);
  std::vector<double> avg(6), mx(6, -1e30);
  for (int64_t c = 0; c < 6; ++c) {
    for (int64_t i = 0; i < 20; ++i) {
      avg[static_cast<size_t>(c)] += x[static_cast<size_t>(c * 20 + i)] / 20.0;
      mx[static_cast<size_t>(c)] = std::max<double>(mx[static_cast<size_t>(c)], x[static_cast<size_t>(c * 20 + i)]);
    }
  }
  FloatNode ga("GlobalAveragePool", 1);
  ga.in(xs, x).out({2, 3, 1, 1});
  expect_close(ga.run()[0], avg);
  FloatNode gm("GlobalMaxPool", 1);
  gm.in(xs, x).out({2, 3, 1, 1});
  expect_close(gm.run()[0], mx);

  FloatNode idx("MaxPool", 12);
  idx.in(xs, x).out({2, 3, 4, 3}).out({2, 3, 4, 3}, HXRT_DTYPE_INT64).attr("kernel_shape", Dims{2, 2});
  EXPECT_THROW(idx.build(), Unsupported);
}

// ---------------------------------------------------------------------------

TEST(SoftmaxKernel, OpsetSemantics) {
  Dims xs{2, 3, 4};
  auto x = rnd(numel(xs), 60, -5.f, 5.f);
  auto softmax = [&](int64_t outer, int64_t len, int64_t inner, bool log) {
    std::vector<double> y(x.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        double mx = -1e300, sum = 0;
        for (int64_t l = 0; l < len; ++l) mx = std::max<double>(mx, x[static_cast<size_t>((o * len + l) * inner + i)]);
        for (int64_t l = 0; l < len; ++l) sum += std::exp(x[static_cast<size_t>((o * len + l) * inner + i)] - mx);
        for (int64_t l = 0; l < len; ++l) {
          double v = x[static_cast<size_t>((o * len + l) * inner + i)] - mx;
          y[static_cast<size_t>((o * len + l) * inner + i)] = log ? v - std::log(sum) : std::exp(v) / sum;
        }
      }
    return y;
  };
  {
    FloatNode n("Softmax", 11);  // coerced to [2, 12]
    n.in(xs, x).out(xs);
    expect_close(n.run()[0], softmax(2, 12, 1, false));
  }
  {
    FloatNode n("Softmax", 13);  // axis -1
    n.in(xs, x).out(xs);
    expect_close(n.run()[0], softmax(6, 4, 1, false));
  }
  {
    FloatNode n("LogSoftmax", 13);
    n.in(xs, x).out(xs).attr("axis", 1);
    expect_close(n.run()[0], softmax(2, 3, 4, true));
  }
  {
    FloatNode n("LogSoftmax", 1);
    n.in(xs, x).out(xs).attr("axis", 2);
    expect_close(n.run()[0], softmax(6, 4, 1, true));
  }
}

TEST(LayerNormKernel, AxisScaleBiasAndStatistics) {
  Dims xs{2, 3, 5};
  auto x = rnd(numel(xs), 70, -3.f, 3.f);
  for (int64_t axis : {-1, 1, 0}) {
    int64_t a = axis < 0 ? axis + 3 : axis;
    Dims tail(xs.begin() + a, xs.end());
    int64_t inner = numel(tail), outer = numel(xs) / inner;
    auto scale = rnd(inner, 71), bias = rnd(inner, 72);
    std::vector<double> y(x.size()), mean(static_cast<size_t>(outer)), inv(static_cast<size_t>(outer));
    for (int64_t o = 0; o < outer; ++o) {
      double m = 0, v = 0;
      for (int64_t i = 0; i < inner; ++i) m += x[static_cast<size_t>(o * inner + i)];
      m /= static_cast<double>(inner);
      for (int64_t i = 0; i < inner; ++i) v += std::pow(x[static_cast<size_t>(o * inner + i)] - m, 2);
      v /= static_cast<double>(inner);
      double is = 1.0 / std::sqrt(v + 1e-3);
      for (int64_t i = 0; i < inner; ++i)
        y[static_cast<size_t>(o * inner + i)] = (x[static_cast<size_t>(o * inner + i)] - m) * is * scale[static_cast<size_t>(i)] + bias[static_cast<size_t>(i)];
      mean[static_cast<size_t>(o)] = m;
      inv[static_cast<size_t>(o)] = is;
    }
    Dims stat = xs;
    for (size_t i = static_cast<size_t>(a); i < stat.size(); ++i) stat[i] = 1;
    FloatNode n("LayerNormalization", 17);
    n.in(xs, x).in_const(tail, scale).in_const(tail, bias).out(xs).out(stat).out(stat);
    n.attr("axis", axis).attr_f("epsilon", 1e-3f);
    auto got = n.run();
    expect_close(got[0], y);
    expect_close(got[1], mean);
    expect_close(got[2], inv);
  }
}

TEST(BatchNormKernel, Inference) {
  Dims xs{2, 3, 4, 5};
  auto x = rnd(numel(xs), 80), s = rnd(3, 81), b = rnd(3, 82), m = rnd(3, 83), v = rnd(3, 84, 0.1f, 2.f);
  std::vector<double> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    size_t c = (i / 20) % 3;
    want[i] = (x[i] - m[c]) / std::sqrt(static_cast<double>(v[c]) + 1e-5) * s[c] + b[c];
  }
  FloatNode n("BatchNormalization", 15);
  n.in(xs, x).in_const({3}, s).in({3}, b).in_const({3}, m).in({3}, v).out(xs);
  expect_close(n.run()[0], want);
  FloatNode t("BatchNormalization", 15);
  t.in(xs, x).in({3}, s).in({3}, b).in({3}, m).in({3}, v).out(xs).attr("training_mode", 1);
  EXPECT_THROW(t.build(), Unsupported);
}

// ---------------------------------------------------------------------------

TEST(ReduceKernel, AxesKeepdimsAndRuntimeAxes) {
  Dims xs{3, 4, 5};
  auto x = rnd(numel(xs), 90);
  auto reduce = [&](std::vector<bool> red, int kind) {  // 0 sum 1 mean 2 max 3 min
    Dims ks = xs;
    for (size_t i = 0; i < 3; ++i)
      if (red[i]) ks[i] = 1;
    std::vector<double> acc(static_cast<size_t>(numel(ks)), kind == 2 ? -1e300 : kind == 3 ? 1e300 : 0.0);
    std::vector<int64_t> cnt(acc.size(), 0);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t k = 0; k < 5; ++k) {
          size_t o = static_cast<size_t>(((red[0] ? 0 : i) * ks[1] + (red[1] ? 0 : j)) * ks[2] + (red[2] ? 0 : k));
          double v = x[static_cast<size_t>((i * 4 + j) * 5 + k)];
          if (kind == 2) acc[o] = std::max(acc[o], v);
          else if (kind == 3) acc[o] = std::min(acc[o], v);
          else acc[o] += v;
          ++cnt[o];
        }
    if (kind == 1)
      for (size_t o = 0; o < acc.size(); ++o) acc[o] /= static_cast<double>(cnt[o]);
    return acc;
  };
  {
    FloatNode n("ReduceSum", 13);  // constant axes input, keepdims=0
    n.in(xs, x).in_ints({2}, {0, -1}, true).out({4}).attr("keepdims", 0);
    expect_close(n.run()[0], reduce({true, false, true}, 0));
  }
  {
    FloatNode n("ReduceMean", 18);  // runtime axes, keepdims=1: inferred from shapes
    n.in(xs, x).in_ints({1}, {1}, false).out({3, 1, 5});
    expect_close(n.run()[0], reduce({false, true, false}, 1));
  }
  {
    FloatNode n("ReduceMax", 13);  // attribute axes
    n.in(xs, x).out({3, 4, 1}).attr("axes", Dims{2});
    expect_close(n.run()[0], reduce({false, false, true}, 2));
  }
  {
    FloatNode n("ReduceMin", 13);  // all axes by default
    n.in(xs, x).out({1, 1, 1});
    expect_close(n.run()[0], reduce({true, true, true}, 3));
  }
  {
    FloatNode n("ReduceSum", 13);  // empty axes + noop
    n.in(xs, x).in_ints({0}, {}, true).out(xs).attr("noop_with_empty_axes", 1);
    expect_close(n.run()[0], std::vector<double>(x.begin(), x.end()));
  }
  {
    FloatNode n("ReduceSum", 13);  // runtime axes without keepdims: refused
    n.in(xs, x).in_ints({1}, {1}, false).out({3, 5}).attr("keepdims", 0);
    EXPECT_THROW(n.build(), Unsupported);
  }
}

TEST(ElementwiseKernels, BinaryBroadcastSumConcatUnary) {
  Dims as{2, 3, 4}, bs{3, 1};
  auto a = rnd(numel(as), 100), b = rnd(numel(bs), 101, 0.5f, 2.f);
  std::vector<double> sub(a.size()), mul(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    size_t c = (i / 4) % 3;
    sub[i] = static_cast<double>(a[i]) - b[c];
    mul[i] = static_cast<double>(a[i]) * b[c];
  }
  {
    FloatNode n("Sub", 14);
    n.in(as, a).in_const(bs, b).out(as);
    expect_close(n.run()[0], sub);
  }
  {
    FloatNode n("Mul", 14);  // broadcast first operand: swapped (commutative)
    n.in(bs, b).in(as, a).out(as);
    expect_close(n.run()[0], mul);
  }
  {
    FloatNode n("Div", 14);  // broadcast first operand of a non-commutative op: refused by oneDNN
    n.in(bs, b).in(as, a).out(as);
    EXPECT_THROW(n.build(), Unsupported);  // the generic kernel family takes it instead
  }
  {
    auto c = rnd(numel(as), 102), d = rnd(numel(as), 103);
    std::vector<double> want(a.size());
    for (size_t i = 0; i < a.size(); ++i) want[i] = static_cast<double>(a[i]) + c[i] + d[i];
    FloatNode n("Sum", 13);
    n.in(as, a).in(as, c).in(as, d).out(as);
    expect_close(n.run()[0], want);
  }
  {
    Dims cs{2, 2, 4};
    auto c = rnd(numel(cs), 104);
    std::vector<double> want;
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < 12; ++j) want.push_back(a[static_cast<size_t>(i * 12 + j)]);
      for (int64_t j = 0; j < 8; ++j) want.push_back(c[static_cast<size_t>(i * 8 + j)]);
    }
    FloatNode n("Concat", 13);
    n.in(as, a).in(cs, c).out({2, 5, 4}).attr("axis", -2);
    expect_close(n.run()[0], want);
  }
  {
    std::vector<double> lrelu(a.size()), hsig(a.size()), gelu(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      double v = a[i] * 3.0;
      lrelu[i] = v > 0 ? v : 0.1 * v;
      hsig[i] = std::max(0.0, std::min(1.0, 0.3 * v + 0.4));
      gelu[i] = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    }
    std::vector<float> a3(a.size());
    for (size_t i = 0; i < a.size(); ++i) a3[i] = a[i] * 3.0f;
    FloatNode l("LeakyRelu", 16);
    l.in(as, a3).out(as).attr_f("alpha", 0.1f);
    expect_close(l.run()[0], lrelu);
    FloatNode h("HardSigmoid", 6);
    h.in(as, a3).out(as).attr_f("alpha", 0.3f).attr_f("beta", 0.4f);
    expect_close(h.run()[0], hsig);
    FloatNode g("Gelu", 20);
    g.in(as, a3).out(as);
    expect_close(g.run()[0], gelu);
  }
}

TEST(LrnKernel, AcrossChannels) {
  Dims xs{1, 7, 3, 3};
  auto x = rnd(numel(xs), 110);
  const int64_t size = 5;
  const float alpha = 1e-2f, beta = 0.75f, bias = 2.f;
  std::vector<double> want(x.size());
  for (int64_t c = 0; c < 7; ++c)
    for (int64_t p = 0; p < 9; ++p) {
      double sq = 0;
      for (int64_t cc = std::max<int64_t>(0, c - 2); cc <= std::min<int64_t>(6, c + 2); ++cc)
        sq += std::pow(x[static_cast<size_t>(cc * 9 + p)], 2);
      want[static_cast<size_t>(c * 9 + p)] = x[static_cast<size_t>(c * 9 + p)] / std::pow(bias + alpha / size * sq, beta);
    }
  FloatNode n("LRN", 13);
  n.in(xs, x).out(xs).attr("size", size).attr_f("alpha", alpha).attr_f("beta", beta).attr_f("bias", bias);
  expect_close(n.run()[0], want);
}

}  // namespace
}  // namespace hxrt::cpu
