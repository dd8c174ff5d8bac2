// Every op the plugin claims, run through the ABI on random data (fixed
// seeds) and compared with a naive double-precision reference written here.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <array>
#include <cstring>

#include "test_util.hpp"

using namespace vktest;

namespace {

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

int64_t count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = i % s[d];
    i /= s[d];
  }
  return idx;
}

// Offset in `shape` of the broadcast position `idx` of an output of rank idx.size().
int64_t broadcast_offset(const std::vector<int64_t>& idx, const Shape& shape) {
  std::vector<int64_t> st = strides_of(shape);
  int64_t off = 0;
  size_t lead = idx.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d) off += (shape[d] == 1 ? 0 : idx[d + lead]) * st[d];
  return off;
}

class VulkanOps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ctx_ = new Context(); }
  static void TearDownTestSuite() {
    delete ctx_;
    ctx_ = nullptr;
  }
  void SetUp() override {
    if (ctx_->device() == nullptr) GTEST_SKIP() << "no Vulkan device: " << ctx_->no_device_reason();
  }
  hxrt_device* device() { return ctx_->device(); }
  // Runs `node` and compares output `k` with `want`.
  void expect(Node node, const std::vector<double>& want, double rtol = 1e-4, double atol = 1e-5, size_t k = 0) {
    run(device(), node);
    EXPECT_TRUE(all_close(node.outputs[k]->floats(), want, rtol, atol)) << node.op;
  }
  // The GEMM-kernel cases (matmul.comp), run once per tile variant too.
  void matmul_cases(bool extra = false);
  void gemm_cases(bool extra = false);
  void conv_cases();
  static Context* ctx_;
};
Context* VulkanOps::ctx_ = nullptr;

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

}  // namespace

TEST_F(VulkanOps, Unary) {
  const double sqrt2 = std::sqrt(2.0);
  struct Case {
    std::string op;
    std::function<double(double)> f;
    std::vector<Attr> attrs;
    float lo = -3, hi = 3;
  };
  std::vector<Case> cases = {
      {"Relu", [](double x) { return std::max(x, 0.0); }},
      {"Sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }},
      {"Tanh", [](double x) { return std::tanh(x); }, {}, -30, 30},
      {"Exp", [](double x) { return std::exp(x); }},
      {"Log", [](double x) { return std::log(x); }, {}, 0.01f, 5},
      {"Sqrt", [](double x) { return std::sqrt(x); }, {}, 0, 5},
      {"Abs", [](double x) { return std::fabs(x); }},
      {"Neg", [](double x) { return -x; }},
      {"Reciprocal", [](double x) { return 1 / x; }, {}, 0.1f, 4},
      {"Floor", [](double x) { return std::floor(x); }},
      {"Ceil", [](double x) { return std::ceil(x); }},
      {"Erf", [](double x) { return std::erf(x); }},
      {"Sin", [](double x) { return std::sin(x); }},
      {"Cos", [](double x) { return std::cos(x); }},
      {"LeakyRelu", [](double x) { return x >= 0 ? x : 0.2 * x; }, {Attr::Float("alpha", 0.2f)}},
      {"Elu", [](double x) { return x >= 0 ? x : 0.5 * (std::exp(x) - 1); }, {Attr::Float("alpha", 0.5f)}},
      {"Selu", [](double x) { return 1.05070102214813232421875 * (x > 0 ? x : 1.67326319217681884765625 * (std::exp(x) - 1)); }},
      {"HardSigmoid", [](double x) { return std::clamp(0.2 * x + 0.5, 0.0, 1.0); }},
      {"HardSwish", [](double x) { return x * std::clamp(x / 6 + 0.5, 0.0, 1.0); }},
      {"Softplus", [](double x) { return std::log1p(std::exp(x)); }, {}, -30, 30},
      {"Softsign", [](double x) { return x / (1 + std::fabs(x)); }},
      {"Gelu", [&](double x) { return 0.5 * x * (1 + std::erf(x / sqrt2)); }},
      {"Round", [](double x) { return std::nearbyint(x); }},
      {"Sign", [](double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }},
      {"ThresholdedRelu", [](double x) { return x > 0.5 ? x : 0.0; }, {Attr::Float("alpha", 0.5f)}},
      {"Mish", [](double x) { return x * std::tanh(std::log1p(std::exp(x))); }},
  };
  uint32_t seed = 100;
  for (const Case& c : cases) {
    std::vector<float> x = random_floats(1000, seed++, c.lo, c.hi);
    x[0] = c.lo;  // the range's edge
    std::vector<double> want(x.size());
    for (size_t i = 0; i < x.size(); ++i) want[i] = c.f(x[i]);
    Node node{c.op, c.op == "Gelu" ? 20 : 14, {Tensor::f32({10, 100}, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {10, 100})}, c.attrs};
    SCOPED_TRACE(c.op);
    expect(node, want, 2e-5, 2e-6);
  }
  // Gelu with the tanh approximation, Clip with constant bounds (opset 13) and attributes (opset 6).
  std::vector<float> x = random_floats(512, 7, -4, 4);
  std::vector<double> want(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    want[i] = 0.5 * x[i] * (1 + std::tanh(std::sqrt(2 / M_PI) * (x[i] + 0.044715 * std::pow(x[i], 3))));
  expect({"Gelu", 20, {Tensor::f32({512}, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {512})}, {Attr::Str("approximate", "tanh")}}, want, 2e-5, 2e-6);
  for (size_t i = 0; i < x.size(); ++i) want[i] = std::clamp<double>(x[i], -1.5, 0.25);
  expect({"Clip", 13, {Tensor::f32({512}, x), Tensor::f32({}, {-1.5f}, true), Tensor::f32({}, {0.25f}, true)},
          {Tensor::empty(HXRT_DTYPE_FLOAT32, {512})}}, want);
  expect({"Clip", 6, {Tensor::f32({512}, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {512})}, {Attr::Float("min", -1.5f), Attr::Float("max", 0.25f)}}, want);
  for (size_t i = 0; i < x.size(); ++i) want[i] = std::max<double>(x[i], 0.0);
  expect({"Clip", 13, {Tensor::f32({512}, x), Tensor::f32({}, {0.0f}, true)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {512})}}, want);
}

TEST_F(VulkanOps, BinaryWithBroadcasting) {
  std::map<std::string, std::function<double(double, double)>> ops = {
      {"Add", [](double a, double b) { return a + b; }},
      {"Sub", [](double a, double b) { return a - b; }},
      {"Mul", [](double a, double b) { return a * b; }},
      {"Div", [](double a, double b) { return a / b; }},
      {"Min", [](double a, double b) { return std::min(a, b); }},
      {"Max", [](double a, double b) { return std::max(a, b); }},
      {"PRelu", [](double a, double b) { return a < 0 ? a * b : a; }},
  };
  std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4, 5}, {3, 4, 5}}, {{3, 4, 5}, {5}}, {{3, 1, 5}, {4, 1}}, {{1}, {2, 3, 4}}, {{2, 1, 3, 1, 2}, {1, 4, 1, 5, 1}}};
  uint32_t seed = 200;
  for (const auto& [name, f] : ops) {
    for (const auto& [sa, sb] : shapes) {
      if (name == "PRelu" && count(sb) > count(sa)) continue;  // PRelu broadcasts the slope only
      size_t rank = std::max(sa.size(), sb.size());
      Shape out(rank);
      for (size_t d = 0; d < rank; ++d) {
        int64_t da = d + sa.size() >= rank ? sa[d + sa.size() - rank] : 1;
        int64_t db = d + sb.size() >= rank ? sb[d + sb.size() - rank] : 1;
        out[d] = std::max(da, db);
      }
      if (name == "PRelu" && out != sa) continue;
      std::vector<float> a = random_floats(count(sa), seed++), b = random_floats(count(sb), seed++, 0.5f, 2.0f);
      if (name != "Div") for (size_t i = 0; i < b.size(); i += 2) b[i] = -b[i];
      std::vector<double> want(count(out));
      for (int64_t i = 0; i < count(out); ++i) {
        auto idx = unravel(i, out);
        want[i] = f(a[broadcast_offset(idx, sa)], b[broadcast_offset(idx, sb)]);
      }
      SCOPED_TRACE(name);
      expect({name, 16, {Tensor::f32(sa, a), Tensor::f32(sb, b)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, out)}}, want, 1e-5, 1e-6);
    }
  }
  // Pow: negative bases with integral exponents, fractional exponents of positive bases.
  std::vector<float> base = {-2, -1.5f, 0, 3, 2.5f, -3, 4, 0.5f}, expo = {2, 3, 0, 0.5f, -1, 3, 1.5f, -2};
  std::vector<double> want(base.size());
  for (size_t i = 0; i < base.size(); ++i) want[i] = std::pow(double(base[i]), double(expo[i]));
  expect({"Pow", 15, {Tensor::f32({8}, base), Tensor::f32({8}, expo)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {8})}}, want, 1e-5, 1e-6);
}

namespace {
std::vector<double> matmul_ref(const std::vector<float>& a, Shape sa, const std::vector<float>& b, Shape sb, Shape& out) {
  bool av = sa.size() == 1, bv = sb.size() == 1;
  if (av) sa.insert(sa.begin(), 1);
  if (bv) sb.push_back(1);
  int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  size_t nb = std::max(ba.size(), bb.size());
  Shape batch(nb);
  for (size_t d = 0; d < nb; ++d) {
    int64_t x = d + ba.size() >= nb ? ba[d + ba.size() - nb] : 1, y = d + bb.size() >= nb ? bb[d + bb.size() - nb] : 1;
    batch[d] = std::max(x, y);
  }
  std::vector<double> c(count(batch) * M * N);
  for (int64_t z = 0; z < count(batch); ++z) {
    auto idx = unravel(z, batch);
    int64_t oa = ba.empty() ? 0 : broadcast_offset(idx, ba) * M * K, ob = bb.empty() ? 0 : broadcast_offset(idx, bb) * K * N;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += double(a[oa + m * K + k]) * b[ob + k * N + n];
        c[(z * M + m) * N + n] = s;
      }
  }
  out = batch;
  if (!av) out.push_back(M);
  if (!bv) out.push_back(N);
  return c;
}
}  // namespace

void VulkanOps::matmul_cases(bool extra) {
  std::vector<std::pair<Shape, Shape>> shapes = {{{1, 1}, {1, 1}},   {{70, 33}, {33, 65}},      {{130, 129}, {129, 131}},
                                                 {{2, 3, 5, 7}, {7, 6}}, {{3, 1, 4, 8}, {2, 8, 5}}, {{9}, {9, 4}},
                                                 {{4, 9}, {9}},      {{2, 17, 300}, {2, 300, 3}}};
  if (extra) {
    // Multiples of 4 (the vec4 paths), edge tiles of every tile size, broadcast batches.
    std::vector<std::pair<Shape, Shape>> more = {{{260, 132}, {132, 136}}, {{2, 1, 68, 40}, {3, 40, 132}},
                                                 {{128, 128}, {128, 128}}, {{36, 4}, {4, 12}},
                                                 {{2, 140, 24}, {24, 200}}, {{4, 257}, {257, 8}}};
    shapes.insert(shapes.end(), more.begin(), more.end());
  }
  uint32_t seed = 300;
  for (auto [sa, sb] : shapes) {
    std::vector<float> a = random_floats(count(sa), seed++), b = random_floats(count(sb), seed++);
    Shape out;
    std::vector<double> want = matmul_ref(a, sa, b, sb, out);
    expect({"MatMul", 13, {Tensor::f32(sa, a), Tensor::f32(sb, b)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, out)}}, want, 1e-4, 1e-5);
  }
}

TEST_F(VulkanOps, MatMul) { matmul_cases(); }

void VulkanOps::gemm_cases(bool extra) {
  struct Case {
    int64_t M, N, K;
    bool ta, tb;
    Shape c;
    float alpha, beta;
  };
  std::vector<Case> cases = {{5, 7, 3, false, false, {}, 1, 1},          {33, 20, 17, true, false, {20}, 0.5f, 2},
                             {64, 65, 66, false, true, {64, 1}, 1, -1}, {8, 9, 10, true, true, {8, 9}, 2, 0.5f},
                             {3, 4, 5, false, false, {1}, 1, 1}};
  if (extra) {  // transposed operands on the vec4 paths, and at edges
    std::vector<Case> more = {{132, 136, 40, true, false, {136}, 1, 1}, {68, 72, 132, false, true, {68, 72}, 0.5f, 2},
                              {136, 132, 68, true, true, {136, 1}, 1, -1}, {130, 129, 131, true, true, {}, 1, 1}};
    cases.insert(cases.end(), more.begin(), more.end());
  }
  uint32_t seed = 400;
  for (const Case& c : cases) {
    Shape sa = c.ta ? Shape{c.K, c.M} : Shape{c.M, c.K}, sb = c.tb ? Shape{c.N, c.K} : Shape{c.K, c.N};
    std::vector<float> a = random_floats(count(sa), seed++), b = random_floats(count(sb), seed++);
    std::vector<float> bias = c.c.empty() && c.beta == 1 && c.M == 5 ? std::vector<float>{} : random_floats(count(c.c), seed++);
    std::vector<double> want(c.M * c.N);
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t n = 0; n < c.N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < c.K; ++k)
          s += double(c.ta ? a[k * c.M + m] : a[m * c.K + k]) * (c.tb ? b[n * c.K + k] : b[k * c.N + n]);
        s *= c.alpha;
        if (!bias.empty()) {
          std::vector<int64_t> idx = {m, n};
          s += c.beta * bias[broadcast_offset(idx, c.c)];
        }
        want[m * c.N + n] = s;
      }
    Node node{"Gemm", 13, {Tensor::f32(sa, a), Tensor::f32(sb, b)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {c.M, c.N})},
              {Attr::Int("transA", c.ta), Attr::Int("transB", c.tb), Attr::Float("alpha", c.alpha), Attr::Float("beta", c.beta)}};
    if (!bias.empty()) node.inputs.push_back(Tensor::f32(c.c, bias, true));
    expect(node, want, 1e-4, 1e-5);
  }
}

TEST_F(VulkanOps, Gemm) { gemm_cases(); }

namespace {
struct ConvCase {
  Shape x, w;
  int64_t group;
  std::vector<int64_t> strides, pads, dilations;
  bool bias;
  std::string auto_pad = "NOTSET";
};

// Output size of one spatial dim.
int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1) { return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1; }
}  // namespace

void VulkanOps::conv_cases() {
  std::vector<ConvCase> cases = {
      {{1, 3, 9, 9}, {4, 3, 3, 3}, 1, {1, 1}, {1, 1, 1, 1}, {1, 1}, true},
      {{2, 4, 11, 10}, {6, 2, 3, 2}, 2, {2, 1}, {0, 1, 2, 0}, {1, 2}, false},
      {{1, 6, 7, 7}, {6, 1, 3, 3}, 6, {1, 1}, {1, 1, 1, 1}, {2, 2}, true},  // depthwise
      {{1, 5, 6, 6}, {7, 5, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, true},
      {{2, 3, 20}, {4, 3, 5}, 1, {2}, {2, 1}, {1}, true},                     // 1-D
      {{1, 2, 7, 8}, {3, 2, 3, 3}, 1, {2, 2}, {0, 0, 0, 0}, {1, 1}, false, "SAME_UPPER"},
      {{1, 8, 12, 12}, {132, 8, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, true},  // K % 4 == 0: vec4 weights
      {{2, 16, 10, 10}, {20, 4, 3, 3}, 4, {1, 1}, {1, 1, 1, 1}, {1, 1}, true},
  };
  uint32_t seed = 500;
  for (ConvCase c : cases) {
    size_t sp = c.x.size() - 2;
    Shape y = {c.x[0], c.w[0]};
    if (c.auto_pad == "SAME_UPPER") {
      c.pads.assign(2 * sp, 0);
      for (size_t i = 0; i < sp; ++i) {
        int64_t out = (c.x[2 + i] + c.strides[i] - 1) / c.strides[i];
        int64_t total = std::max<int64_t>((out - 1) * c.strides[i] + (c.w[2 + i] - 1) * c.dilations[i] + 1 - c.x[2 + i], 0);
        c.pads[i] = total / 2;
        c.pads[i + sp] = total - total / 2;
      }
    }
    for (size_t i = 0; i < sp; ++i) y.push_back(conv_out(c.x[2 + i], c.w[2 + i], c.strides[i], c.dilations[i], c.pads[i], c.pads[i + sp]));
    std::vector<float> x = random_floats(count(c.x), seed++), w = random_floats(count(c.w), seed++), b = random_floats(c.w[0], seed++);
    // Reference with 2-D indexing; 1-D as H = 1.
    Shape x4 = sp == 1 ? Shape{c.x[0], c.x[1], 1, c.x[2]} : c.x, w4 = sp == 1 ? Shape{c.w[0], c.w[1], 1, c.w[2]} : c.w;
    Shape y4 = sp == 1 ? Shape{y[0], y[1], 1, y[2]} : y;
    int64_t sh = sp == 1 ? 1 : c.strides[0], sw = c.strides.back(), dh = sp == 1 ? 1 : c.dilations[0], dw = c.dilations.back();
    int64_t ph = sp == 1 ? 0 : c.pads[0], pw = sp == 1 ? c.pads[0] : c.pads[1];
    int64_t Cg = x4[1] / c.group, Mg = w4[0] / c.group;
    std::vector<double> want(count(y4));
    for (int64_t i = 0; i < count(y4); ++i) {
      auto [n, oc, oh, ow] = std::array<int64_t, 4>{unravel(i, y4)[0], unravel(i, y4)[1], unravel(i, y4)[2], unravel(i, y4)[3]};
      double s = c.bias ? b[oc] : 0.0;
      int64_t g = oc / Mg;
      for (int64_t ic = 0; ic < Cg; ++ic)
        for (int64_t kh = 0; kh < w4[2]; ++kh)
          for (int64_t kw = 0; kw < w4[3]; ++kw) {
            int64_t ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
            if (ih < 0 || ih >= x4[2] || iw < 0 || iw >= x4[3]) continue;
            s += double(x[((n * x4[1] + g * Cg + ic) * x4[2] + ih) * x4[3] + iw]) * w[((oc * Cg + ic) * w4[2] + kh) * w4[3] + kw];
          }
      want[i] = s;
    }
    Node node{"Conv", 11, {Tensor::f32(c.x, x), Tensor::f32(c.w, w, true)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, y)},
              {Attr::Int("group", c.group), Attr::Ints("strides", c.strides), Attr::Ints("dilations", c.dilations)}};
    if (c.auto_pad == "NOTSET") node.attrs.push_back(Attr::Ints("pads", c.pads));
    else node.attrs.push_back(Attr::Str("auto_pad", c.auto_pad));
    if (c.bias) node.inputs.push_back(Tensor::f32({c.w[0]}, b, true));
    expect(node, want, 1e-4, 1e-5);
  }
  // Weights as a runtime input work the same.
  std::vector<float> x = random_floats(2 * 2 * 5 * 5, 590), w = random_floats(3 * 2 * 2 * 2, 591);
  std::vector<double> want(2 * 3 * 4 * 4);
  for (int64_t i = 0; i < 96; ++i) {
    auto id = unravel(i, {2, 3, 4, 4});
    double s = 0;
    for (int64_t ic = 0; ic < 2; ++ic)
      for (int64_t kh = 0; kh < 2; ++kh)
        for (int64_t kw = 0; kw < 2; ++kw) s += double(x[((id[0] * 2 + ic) * 5 + id[2] + kh) * 5 + id[3] + kw]) * w[((id[1] * 2 + ic) * 2 + kh) * 2 + kw];
    want[i] = s;
  }
  expect({"Conv", 11, {Tensor::f32({2, 2, 5, 5}, x), Tensor::f32({3, 2, 2, 2}, w)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 4, 4})}}, want);
}

TEST_F(VulkanOps, Conv) { conv_cases(); }

// Every tile variant of matmul.comp (HXRT_VK_GEMM_CONFIG forces one), on
// MatMul, Gemm and Conv: edge tiles, vec4 and scalar load paths, transposes.
TEST_F(VulkanOps, GemmEveryTileVariant) {
  for (int v = 0; v < 6; ++v) {
    SCOPED_TRACE("HXRT_VK_GEMM_CONFIG=" + std::to_string(v));
    setenv("HXRT_VK_GEMM_CONFIG", std::to_string(v).c_str(), 1);
    matmul_cases(true);
    gemm_cases(true);
    conv_cases();
  }
  unsetenv("HXRT_VK_GEMM_CONFIG");
}

TEST_F(VulkanOps, ConvTranspose) {
  struct Case {
    Shape x, w;
    int64_t group;
    std::vector<int64_t> strides, pads, dilations, output_padding;
  };
  std::vector<Case> cases = {{{1, 3, 4, 4}, {3, 2, 3, 3}, 1, {2, 2}, {1, 1, 1, 1}, {1, 1}, {1, 1}},
                             {{2, 4, 5, 3}, {4, 1, 2, 3}, 2, {1, 2}, {0, 1, 0, 0}, {2, 1}, {0, 1}},
                             {{1, 2, 6}, {2, 3, 3}, 1, {3}, {1, 0}, {1}, {2}}};
  uint32_t seed = 600;
  for (const Case& c : cases) {
    size_t sp = c.x.size() - 2;
    Shape x4 = sp == 1 ? Shape{c.x[0], c.x[1], 1, c.x[2]} : c.x, w4 = sp == 1 ? Shape{c.w[0], c.w[1], 1, c.w[2]} : c.w;
    std::vector<int64_t> s = sp == 1 ? std::vector<int64_t>{1, c.strides[0]} : c.strides;
    std::vector<int64_t> d = sp == 1 ? std::vector<int64_t>{1, c.dilations[0]} : c.dilations;
    std::vector<int64_t> op = sp == 1 ? std::vector<int64_t>{0, c.output_padding[0]} : c.output_padding;
    std::vector<int64_t> p = sp == 1 ? std::vector<int64_t>{0, c.pads[0], 0, c.pads[1]} : c.pads;
    int64_t OC = w4[1] * c.group;
    Shape y4 = {x4[0], OC};
    for (int i = 0; i < 2; ++i) y4.push_back(s[i] * (x4[2 + i] - 1) + op[i] + (w4[2 + i] - 1) * d[i] + 1 - p[i] - p[i + 2]);
    Shape y = sp == 1 ? Shape{y4[0], y4[1], y4[3]} : y4;
    std::vector<float> x = random_floats(count(c.x), seed++), w = random_floats(count(c.w), seed++), b = random_floats(OC, seed++);
    // Scatter form (the kernel gathers): every input contributes to the outputs it reaches.
    std::vector<double> want(count(y4));
    int64_t Cg = x4[1] / c.group, OCg = w4[1];
    for (int64_t i = 0; i < count(y4); ++i) want[i] = b[unravel(i, y4)[1]];
    for (int64_t n = 0; n < x4[0]; ++n)
      for (int64_t ic = 0; ic < x4[1]; ++ic)
        for (int64_t ih = 0; ih < x4[2]; ++ih)
          for (int64_t iw = 0; iw < x4[3]; ++iw)
            for (int64_t o = 0; o < OCg; ++o)
              for (int64_t kh = 0; kh < w4[2]; ++kh)
                for (int64_t kw = 0; kw < w4[3]; ++kw) {
                  int64_t oh = ih * s[0] - p[0] + kh * d[0], ow = iw * s[1] - p[1] + kw * d[1];
                  if (oh < 0 || oh >= y4[2] || ow < 0 || ow >= y4[3]) continue;
                  int64_t oc = (ic / Cg) * OCg + o;
                  want[((n * OC + oc) * y4[2] + oh) * y4[3] + ow] +=
                      double(x[((n * x4[1] + ic) * x4[2] + ih) * x4[3] + iw]) * w[((ic * OCg + o) * w4[2] + kh) * w4[3] + kw];
                }
    expect({"ConvTranspose", 11, {Tensor::f32(c.x, x), Tensor::f32(c.w, w, true), Tensor::f32({OC}, b, true)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, y)},
            {Attr::Int("group", c.group), Attr::Ints("strides", c.strides), Attr::Ints("pads", c.pads),
             Attr::Ints("dilations", c.dilations), Attr::Ints("output_padding", c.output_padding)}},
           want, 1e-4, 1e-5);
  }
}

TEST_F(VulkanOps, Pooling) {
  struct Case {
    std::string op;
    Shape x;
    std::vector<int64_t> kernel, strides, pads;
    int64_t count_include_pad = 0;
    int64_t ceil_mode = 0;
    std::vector<int64_t> dilations = {};
  };
  std::vector<Case> cases = {{"MaxPool", {2, 3, 8, 8}, {2, 2}, {2, 2}, {0, 0, 0, 0}},
                             {"MaxPool", {1, 2, 7, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0, 1},
                             {"MaxPool", {1, 2, 9, 9}, {2, 2}, {1, 1}, {0, 0, 0, 0}, 0, 0, {2, 2}},
                             {"AveragePool", {2, 3, 7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0},
                             {"AveragePool", {2, 3, 7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 1},
                             {"AveragePool", {1, 2, 6, 7}, {2, 3}, {2, 2}, {0, 1, 1, 1}, 1, 1},
                             {"AveragePool", {2, 3, 10}, {3}, {2}, {1, 1}, 0}};
  uint32_t seed = 700;
  for (const Case& c : cases) {
    size_t sp = c.x.size() - 2;
    std::vector<int64_t> dil = c.dilations.empty() ? std::vector<int64_t>(sp, 1) : c.dilations;
    Shape y = {c.x[0], c.x[1]};
    for (size_t i = 0; i < sp; ++i) {
      int64_t span = c.x[2 + i] + c.pads[i] + c.pads[i + sp] - ((c.kernel[i] - 1) * dil[i] + 1);
      int64_t o = (c.ceil_mode ? (span + c.strides[i] - 1) / c.strides[i] : span / c.strides[i]) + 1;
      if (c.ceil_mode && (o - 1) * c.strides[i] >= c.x[2 + i] + c.pads[i]) --o;
      y.push_back(o);
    }
    Shape x4 = sp == 1 ? Shape{c.x[0], c.x[1], 1, c.x[2]} : c.x, y4 = sp == 1 ? Shape{y[0], y[1], 1, y[2]} : y;
    auto at = [&](const std::vector<int64_t>& v, size_t i, int64_t one) { return sp == 1 ? (i == 0 ? one : v[0]) : v[i]; };
    int64_t kh = at(c.kernel, 0, 1), kw = at(c.kernel, 1, 1), sh = at(c.strides, 0, 1), sw = at(c.strides, 1, 1);
    int64_t ph = sp == 1 ? 0 : c.pads[0], pw = sp == 1 ? c.pads[0] : c.pads[1];
    int64_t ph1 = sp == 1 ? 0 : c.pads[2], pw1 = sp == 1 ? c.pads[1] : c.pads[3];
    int64_t dh = at(dil, 0, 1), dw = at(dil, 1, 1);
    std::vector<float> x = random_floats(count(c.x), seed++);
    std::vector<double> want(count(y4));
    for (int64_t i = 0; i < count(y4); ++i) {
      auto id = unravel(i, y4);
      int64_t plane = id[0] * x4[1] + id[1];
      double acc = c.op == "MaxPool" ? -INFINITY : 0;
      int64_t n = 0;
      for (int64_t a = 0; a < kh; ++a)
        for (int64_t bb = 0; bb < kw; ++bb) {
          int64_t ih = id[2] * sh - ph + a * dh, iw = id[3] * sw - pw + bb * dw;
          if (ih < 0 || ih >= x4[2] || iw < 0 || iw >= x4[3]) continue;
          double v = x[(plane * x4[2] + ih) * x4[3] + iw];
          acc = c.op == "MaxPool" ? std::max(acc, v) : acc + v;
          ++n;
        }
      if (c.op == "AveragePool") {
        if (c.count_include_pad) {
          int64_t hs = id[2] * sh - ph, ws = id[3] * sw - pw;
          n = (std::min(hs + kh, x4[2] + ph1) - hs) * (std::min(ws + kw, x4[3] + pw1) - ws);
        }
        acc /= n;
      }
      want[i] = acc;
    }
    Node node{c.op, 19, {Tensor::f32(c.x, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, y)},
              {Attr::Ints("kernel_shape", c.kernel), Attr::Ints("strides", c.strides), Attr::Ints("pads", c.pads),
               Attr::Int("ceil_mode", c.ceil_mode)}};
    if (c.op == "AveragePool") node.attrs.push_back(Attr::Int("count_include_pad", c.count_include_pad));
    if (!c.dilations.empty()) node.attrs.push_back(Attr::Ints("dilations", c.dilations));
    SCOPED_TRACE(c.op);
    expect(node, want, 1e-5, 1e-6);
  }
}

TEST_F(VulkanOps, Reductions) {
  std::map<std::string, std::pair<double, std::function<double(double, double)>>> ops = {
      {"ReduceSum", {0.0, [](double a, double x) { return a + x; }}},
      {"ReduceMean", {0.0, [](double a, double x) { return a + x; }}},
      {"ReduceMax", {-INFINITY, [](double a, double x) { return std::max(a, x); }}},
      {"ReduceMin", {INFINITY, [](double a, double x) { return std::min(a, x); }}},
      {"ReduceProd", {1.0, [](double a, double x) { return a * x; }}},
      {"ReduceSumSquare", {0.0, [](double a, double x) { return a + x * x; }}},
      {"ReduceL1", {0.0, [](double a, double x) { return a + std::fabs(x); }}},
      {"ReduceL2", {0.0, [](double a, double x) { return a + x * x; }}},
      {"ReduceLogSum", {0.0, [](double a, double x) { return a + x; }}},
      {"ReduceLogSumExp", {0.0, [](double a, double x) { return a + std::exp(x); }}},
  };
  Shape x_shape = {3, 4, 5, 70};
  std::vector<std::vector<int64_t>> axes_sets = {{1}, {-1}, {0, 2}, {1, 3}, {}};
  uint32_t seed = 800;
  for (const auto& [name, op] : ops) {
    for (const auto& axes : axes_sets) {
      std::vector<float> x = random_floats(count(x_shape), seed++, name == "ReduceLogSum" || name == "ReduceProd" ? 0.9f : -1.f, name == "ReduceProd" ? 1.1f : 1.f);
      std::vector<bool> red(4, axes.empty());
      for (int64_t a : axes) red[(a + 4) % 4] = true;
      Shape out;
      for (size_t d = 0; d < 4; ++d) out.push_back(red[d] ? 1 : x_shape[d]);
      std::vector<double> acc(count(out), op.first);
      std::vector<int64_t> cnt(count(out), 0);
      for (int64_t i = 0; i < count(x_shape); ++i) {
        auto id = unravel(i, x_shape);
        for (size_t d = 0; d < 4; ++d)
          if (red[d]) id[d] = 0;
        int64_t o = 0;
        for (size_t d = 0; d < 4; ++d) o = o * out[d] + id[d];
        acc[o] = op.second(acc[o], x[i]);
        ++cnt[o];
      }
      for (size_t o = 0; o < acc.size(); ++o) {
        if (name == "ReduceMean") acc[o] /= cnt[o];
        if (name == "ReduceL2") acc[o] = std::sqrt(acc[o]);
        if (name == "ReduceLogSum" || name == "ReduceLogSumExp") acc[o] = std::log(acc[o]);
      }
      // Opset 18 takes axes as a constant input; opset 13 as an attribute (ReduceSum: input from 13).
      bool input_axes = name == "ReduceSum";
      int64_t opset = input_axes ? 13 : 13;
      Node node{name, opset, {Tensor::f32(x_shape, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, out)}};
      if (!axes.empty()) {
        if (input_axes) node.inputs.push_back(Tensor::i64({int64_t(axes.size())}, axes));
        else node.attrs.push_back(Attr::Ints("axes", axes));
      }
      SCOPED_TRACE(name + " axes " + std::to_string(axes.size()));
      expect(node, acc, 1e-4, 1e-5);
    }
  }
  // Opset 18 (axes input) and keepdims=0 for ReduceMax; Global pools.
  std::vector<float> x = random_floats(2 * 3 * 6 * 5, 899);
  std::vector<double> mx(2 * 5, -INFINITY), avg(2 * 3, 0), gmax(2 * 3, -INFINITY);
  for (int64_t i = 0; i < 180; ++i) {
    auto id = unravel(i, {2, 3, 6, 5});
    mx[id[0] * 5 + id[3]] = std::max<double>(mx[id[0] * 5 + id[3]], x[i]);
    avg[id[0] * 3 + id[1]] += x[i] / 30.0;
    gmax[id[0] * 3 + id[1]] = std::max<double>(gmax[id[0] * 3 + id[1]], x[i]);
  }
  expect({"ReduceMax", 18, {Tensor::f32({2, 3, 6, 5}, x), Tensor::i64({2}, {1, 2})}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 5})}, {Attr::Int("keepdims", 0)}}, mx);
  expect({"GlobalAveragePool", 1, {Tensor::f32({2, 3, 6, 5}, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 1, 1})}}, avg);
  expect({"GlobalMaxPool", 1, {Tensor::f32({2, 3, 6, 5}, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 1, 1})}}, gmax);
}

TEST_F(VulkanOps, SoftmaxFamily) {
  Shape s = {3, 50, 7};
  std::vector<float> x = random_floats(count(s), 900, -5, 5);
  for (int64_t axis : {-1, 1, 0}) {
    for (std::string op : {"Softmax", "LogSoftmax"}) {
      size_t a = static_cast<size_t>((axis + 3) % 3);
      std::vector<double> want(x.size());
      for (int64_t i = 0; i < count(s); ++i) {
        auto id = unravel(i, s);
        double m = -INFINITY, sum = 0;
        for (int64_t k = 0; k < s[a]; ++k) {
          id[a] = k;
          m = std::max<double>(m, x[(id[0] * s[1] + id[1]) * s[2] + id[2]]);
        }
        for (int64_t k = 0; k < s[a]; ++k) {
          id[a] = k;
          sum += std::exp(x[(id[0] * s[1] + id[1]) * s[2] + id[2]] - m);
        }
        want[i] = op == "Softmax" ? std::exp(x[i] - m) / sum : x[i] - m - std::log(sum);
      }
      SCOPED_TRACE(op + " axis " + std::to_string(axis));
      expect({op, 13, {Tensor::f32(s, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, s)}, {Attr::Int("axis", axis)}}, want, 1e-5, 1e-6);
    }
  }
  // Opset 11 flattens at the axis.
  std::vector<double> want(x.size());
  for (int64_t r = 0; r < 3; ++r) {
    double m = -INFINITY, sum = 0;
    for (int64_t k = 0; k < 350; ++k) m = std::max<double>(m, x[r * 350 + k]);
    for (int64_t k = 0; k < 350; ++k) sum += std::exp(x[r * 350 + k] - m);
    for (int64_t k = 0; k < 350; ++k) want[r * 350 + k] = std::exp(x[r * 350 + k] - m) / sum;
  }
  expect({"Softmax", 11, {Tensor::f32(s, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, s)}}, want, 1e-5, 1e-6);
}

TEST_F(VulkanOps, Normalizations) {
  // LayerNormalization over the last two axes, with Mean and InvStdDev outputs.
  Shape s = {4, 6, 33};
  std::vector<float> x = random_floats(count(s), 1000, -2, 3), scale = random_floats(6 * 33, 1001), bias = random_floats(6 * 33, 1002);
  std::vector<double> y(x.size()), mean(4), inv(4);
  for (int64_t r = 0; r < 4; ++r) {
    double m = 0, v = 0;
    for (int64_t j = 0; j < 198; ++j) m += x[r * 198 + j];
    m /= 198;
    for (int64_t j = 0; j < 198; ++j) v += (x[r * 198 + j] - m) * (x[r * 198 + j] - m);
    double is = 1 / std::sqrt(v / 198 + 1e-3);
    for (int64_t j = 0; j < 198; ++j) y[r * 198 + j] = (x[r * 198 + j] - m) * is * scale[j] + bias[j];
    mean[r] = m;
    inv[r] = is;
  }
  Node ln{"LayerNormalization", 17, {Tensor::f32(s, x), Tensor::f32({6, 33}, scale, true), Tensor::f32({6, 33}, bias, true)},
          {Tensor::empty(HXRT_DTYPE_FLOAT32, s), Tensor::empty(HXRT_DTYPE_FLOAT32, {4, 1, 1}), Tensor::empty(HXRT_DTYPE_FLOAT32, {4, 1, 1})},
          {Attr::Int("axis", 1), Attr::Float("epsilon", 1e-3f)}};
  run(device(), ln);
  EXPECT_TRUE(all_close(ln.outputs[0]->floats(), y, 1e-4, 1e-5));
  EXPECT_TRUE(all_close(ln.outputs[1]->floats(), mean, 1e-4, 1e-5));
  EXPECT_TRUE(all_close(ln.outputs[2]->floats(), inv, 1e-4, 1e-5));

  // InstanceNormalization and BatchNormalization on NCHW.
  Shape t = {2, 3, 5, 7};
  std::vector<float> z = random_floats(count(t), 1003, -1, 2), sc = random_floats(3, 1004), b = random_floats(3, 1005);
  std::vector<float> mu = random_floats(3, 1006), var = random_floats(3, 1007, 0.1f, 2.0f);
  std::vector<double> in(z.size()), bn(z.size());
  for (int64_t p = 0; p < 6; ++p) {
    int64_t c = p % 3;
    double m = 0, v = 0;
    for (int64_t j = 0; j < 35; ++j) m += z[p * 35 + j];
    m /= 35;
    for (int64_t j = 0; j < 35; ++j) v += (z[p * 35 + j] - m) * (z[p * 35 + j] - m);
    for (int64_t j = 0; j < 35; ++j) {
      in[p * 35 + j] = (z[p * 35 + j] - m) / std::sqrt(v / 35 + 1e-5) * sc[c] + b[c];
      bn[p * 35 + j] = (z[p * 35 + j] - mu[c]) / std::sqrt(double(var[c]) + 1e-5) * sc[c] + b[c];
    }
  }
  expect({"InstanceNormalization", 6, {Tensor::f32(t, z), Tensor::f32({3}, sc, true), Tensor::f32({3}, b, true)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, t)}}, in, 1e-4, 1e-5);
  expect({"BatchNormalization", 15,
          {Tensor::f32(t, z), Tensor::f32({3}, sc, true), Tensor::f32({3}, b, true), Tensor::f32({3}, mu, true), Tensor::f32({3}, var, true)},
          {Tensor::empty(HXRT_DTYPE_FLOAT32, t)}}, bn, 1e-5, 1e-6);
}

TEST_F(VulkanOps, DataMovement) {
  Shape s = {2, 3, 4, 5};
  std::vector<float> x = random_floats(count(s), 1100);
  // Transpose.
  std::vector<int64_t> perm = {2, 0, 3, 1};
  Shape ts = {4, 2, 5, 3};
  std::vector<double> want(x.size());
  for (int64_t i = 0; i < count(ts); ++i) {
    auto o = unravel(i, ts);
    std::vector<int64_t> id(4);
    for (size_t d = 0; d < 4; ++d) id[perm[d]] = o[d];
    want[i] = x[((id[0] * 3 + id[1]) * 4 + id[2]) * 5 + id[3]];
  }
  expect({"Transpose", 13, {Tensor::f32(s, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, ts)}, {Attr::Ints("perm", perm)}}, want, 0, 0);
  // Slice with a negative step and clamped ends (opset 13, constant inputs).
  Shape ss = {2, 2, 2, 5};
  want.assign(count(ss), 0);
  for (int64_t i = 0; i < count(ss); ++i) {
    auto o = unravel(i, ss);
    want[i] = x[((o[0] * 3 + (2 - o[1])) * 4 + (1 + 2 * o[2])) * 5 + o[3]];
  }
  expect({"Slice", 13, {Tensor::f32(s, x), Tensor::i64({2}, {-1, 1}), Tensor::i64({2}, {0, 100}), Tensor::i64({2}, {1, 2}), Tensor::i64({2}, {-1, 2})},
          {Tensor::empty(HXRT_DTYPE_FLOAT32, ss)}}, want, 0, 0);
  // Concat along axis 2 of three inputs (one empty).
  std::vector<float> y = random_floats(2 * 3 * 1 * 5, 1101);
  Shape cs = {2, 3, 5, 5};
  want.assign(count(cs), 0);
  for (int64_t i = 0; i < count(cs); ++i) {
    auto o = unravel(i, cs);
    want[i] = o[2] < 4 ? x[((o[0] * 3 + o[1]) * 4 + o[2]) * 5 + o[3]] : y[(o[0] * 3 + o[1]) * 5 + o[3]];
  }
  expect({"Concat", 13, {Tensor::f32(s, x), Tensor::f32({2, 3, 0, 5}, {}), Tensor::f32({2, 3, 1, 5}, y)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, cs)}, {Attr::Int("axis", -2)}}, want, 0, 0);
  // Split into 1 + 3 along axis 2.
  Node split{"Split", 13, {Tensor::f32(s, x), Tensor::i64({2}, {1, 3})}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 1, 5}), Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 3, 5})}, {Attr::Int("axis", 2)}};
  run(device(), split);
  for (int part = 0; part < 2; ++part) {
    Shape ps = split.outputs[part]->shape;
    std::vector<double> w(count(ps));
    for (int64_t i = 0; i < count(ps); ++i) {
      auto o = unravel(i, ps);
      w[i] = x[((o[0] * 3 + o[1]) * 4 + o[2] + part) * 5 + o[3]];
    }
    EXPECT_TRUE(all_close(split.outputs[part]->floats(), w, 0, 0)) << "part " << part;
  }
  // Expand [3, 1] to [2, 3, 4].
  std::vector<float> e = {1.5f, -2, 3};
  want.clear();
  for (int64_t i = 0; i < 24; ++i) want.push_back(e[unravel(i, {2, 3, 4})[1]]);
  expect({"Expand", 13, {Tensor::f32({3, 1}, e), Tensor::i64({3}, {2, 3, 4})}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {2, 3, 4})}}, want, 0, 0);
  // Gather along axis 1 with negative int64 indices given at run time, and int64 data.
  std::vector<int64_t> idx = {2, -1, 0, -3};
  Shape gs = {2, 2, 2, 4, 5};
  want.assign(count(gs), 0);
  for (int64_t i = 0; i < count(gs); ++i) {
    auto o = unravel(i, gs);
    int64_t k = idx[o[1] * 2 + o[2]];
    k = k < 0 ? k + 3 : k;
    want[i] = x[((o[0] * 3 + k) * 4 + o[3]) * 5 + o[4]];
  }
  expect({"Gather", 13, {Tensor::f32(s, x), Tensor::i64({2, 2}, idx, false)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, gs)}, {Attr::Int("axis", 1)}}, want, 0, 0);
  Node gi{"Gather", 13, {Tensor::i64({4, 2}, {10, 11, 20, 21, -30, 31, 40, 41}, false), Tensor::i64({3}, {3, 0, -2})}, {Tensor::empty(HXRT_DTYPE_INT64, {3, 2})}};
  run(device(), gi);
  std::vector<int64_t> got(6);
  std::memcpy(got.data(), gi.outputs[0]->data.data(), 48);
  EXPECT_EQ(got, (std::vector<int64_t>{40, 41, 10, 11, -30, 31}));
  // Reshape-likes are copies: any dtype.
  for (std::string op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"}) {
    Node n{op, 13, {Tensor::f32(s, x)}, {Tensor::empty(HXRT_DTYPE_FLOAT32, {6, 20})}};
    if (op == "Reshape") n.inputs.push_back(Tensor::i64({2}, {6, 20}));
    SCOPED_TRACE(op);
    expect(n, to_double(x), 0, 0);
  }
}
