// Each op the OpenCL plugin claims, through the ABI on the first OpenCL
// device, against double-precision references written here (random data,
// fixed seeds).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "opencl_test_support.hpp"

namespace hxrt::ocl::test {
namespace {

class OpenclOps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cache_ = make_temp_dir("ops-cache");
    context_ = new Context({{"cache_dir", cache_}});
  }
  static void TearDownTestSuite() {
    delete context_;
    context_ = nullptr;
    std::filesystem::remove_all(cache_);
  }
  void SetUp() override {
    ASSERT_NE(context_->api(), nullptr);
    auto devices = context_->devices();
    if (devices.empty()) GTEST_SKIP() << "no OpenCL device: " << ::testing::PrintToString(context_->log());
    device_ = devices[0];
  }
  const hxrt_plugin_api* api() { return context_->api(); }
  std::vector<std::vector<float>> run(NodeSpec& node, const std::vector<std::vector<float>>& inputs) {
    Support s = query(api(), device_, node);
    EXPECT_TRUE(s.supported) << s.message;
    EXPECT_GT(s.estimated_ns, 0);
    return run_node(api(), device_, node, inputs);
  }

  static Context* context_;
  static std::string cache_;
  hxrt_device* device_ = nullptr;
};
Context* OpenclOps::context_ = nullptr;
std::string OpenclOps::cache_;

void expect_close(const std::vector<float>& got, const std::vector<double>& ref, double atol, double rtol) {
  ASSERT_EQ(got.size(), ref.size());
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    bool ok = std::isnan(ref[i]) ? std::isnan(got[i]) : std::fabs(got[i] - ref[i]) <= atol + rtol * std::fabs(ref[i]);
    if (!ok && ++bad <= 5) ADD_FAILURE() << "element " << i << ": got " << got[i] << ", expected " << ref[i];
  }
  EXPECT_EQ(bad, 0);
}

std::vector<int64_t> strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// Index of output element `i` in an input of shape `in` broadcast to `out`.
int64_t broadcast_index(int64_t i, const Shape& out, const Shape& in) {
  auto ost = strides(out), ist = strides(in);
  int64_t idx = 0;
  for (size_t d = 0; d < out.size(); ++d) {
    int64_t c = (i / ost[d]) % out[d];
    size_t k = d + in.size();
    if (k < out.size()) continue;
    k -= out.size();
    if (in[k] != 1) idx += c * ist[k];
  }
  return idx;
}

// ---------------------------------------------------------------------------

struct UnaryCase {
  const char* op;
  std::function<double(double)> ref;
  float lo = -3, hi = 3;
  std::vector<std::pair<std::string, float>> attrs = {};
};

TEST_F(OpenclOps, UnaryOps) {
  const double selu_a = 1.67326319217681884765625, selu_g = 1.05070102214813232421875;
  std::vector<UnaryCase> cases = {
      {"Relu", [](double x) { return x > 0 ? x : 0; }},
      {"LeakyRelu", [](double x) { return x >= 0 ? x : 0.2 * x; }, -3, 3, {{"alpha", 0.2f}}},
      {"Sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }},
      {"Tanh", [](double x) { return std::tanh(x); }},
      {"Exp", [](double x) { return std::exp(x); }},
      {"Log", [](double x) { return std::log(x); }, 0.01f, 5},
      {"Abs", [](double x) { return std::fabs(x); }},
      {"Neg", [](double x) { return -x; }},
      {"Sqrt", [](double x) { return std::sqrt(x); }, 0, 9},
      {"Reciprocal", [](double x) { return 1 / x; }, 0.5f, 4},
      {"Elu", [](double x) { return x >= 0 ? x : 0.5 * (std::exp(x) - 1); }, -3, 3, {{"alpha", 0.5f}}},
      {"Selu", [=](double x) { return x > 0 ? selu_g * x : selu_g * (selu_a * std::exp(x) - selu_a); }},
      {"HardSigmoid", [](double x) { return std::max(0.0, std::min(1.0, 0.2 * x + 0.5)); }},
      {"Softplus", [](double x) { return std::log(1 + std::exp(x)); }},
      {"Softsign", [](double x) { return x / (1 + std::fabs(x)); }},
      {"Floor", [](double x) { return std::floor(x); }},
      {"Ceil", [](double x) { return std::ceil(x); }},
      {"Erf", [](double x) { return std::erf(x); }},
      {"Sin", [](double x) { return std::sin(x); }},
      {"Cos", [](double x) { return std::cos(x); }},
      {"HardSwish", [](double x) { return x * std::max(0.0, std::min(1.0, x / 6 + 0.5)); }, -5, 5},
  };
  Shape shape = {3, 67};  // not a multiple of the work-group size
  unsigned seed = 1;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.op);
    NodeSpec node(c.op, 17);
    node.input(shape).output(shape);
    for (const auto& [name, value] : c.attrs) node.attr(name, value);
    auto x = random_floats(201, seed++, c.lo, c.hi);
    auto y = run(node, {x});
    ASSERT_EQ(y.size(), 1u);
    std::vector<double> ref(x.size());
    for (size_t i = 0; i < x.size(); ++i) ref[i] = c.ref(x[i]);
    expect_close(y[0], ref, 1e-5, 1e-5);
  }
}

TEST_F(OpenclOps, ClipWithConstantBoundsAndLegacyAttributes) {
  auto x = random_floats(50, 7, -2, 2);
  NodeSpec modern("Clip", 13);
  modern.input({50}).const_input({}, {-0.5f}).const_input({}, {0.75f}).output({50});
  NodeSpec legacy("Clip", 6);
  legacy.input({50}).attr("min", -0.5f).attr("max", 0.75f).output({50});
  std::vector<double> ref;
  for (float v : x) ref.push_back(std::min(0.75, std::max(-0.5, double(v))));
  expect_close(run(modern, {x})[0], ref, 0, 0);
  expect_close(run(legacy, {x})[0], ref, 0, 0);
}

TEST_F(OpenclOps, BinaryOpsBroadcast) {
  struct Case {
    const char* op;
    std::function<double(double, double)> f;
  };
  std::vector<Case> cases = {{"Add", [](double a, double b) { return a + b; }},
                             {"Sub", [](double a, double b) { return a - b; }},
                             {"Mul", [](double a, double b) { return a * b; }},
                             {"Div", [](double a, double b) { return a / b; }},
                             {"Pow", [](double a, double b) { return std::pow(a, b); }},
                             {"Max", [](double a, double b) { return std::max(a, b); }},
                             {"Min", [](double a, double b) { return std::min(a, b); }},
                             {"PRelu", [](double a, double b) { return a < 0 ? a * b : a; }}};
  struct Shapes {
    Shape a, b, out;
  };
  std::vector<Shapes> shapes = {{{2, 3, 4}, {2, 3, 4}, {2, 3, 4}},
                                {{2, 3, 4}, {4}, {2, 3, 4}},
                                {{2, 1, 4}, {3, 1}, {2, 3, 4}},
                                {{5}, {}, {5}}};
  unsigned seed = 100;
  for (const auto& c : cases) {
    for (const auto& s : shapes) {
      if (std::string(c.op) == "PRelu" && s.a != s.out) continue;  // PRelu broadcasts the slope only
      SCOPED_TRACE(std::string(c.op) + " " + ::testing::PrintToString(s.a) + " " + ::testing::PrintToString(s.b));
      bool positive = std::string(c.op) == "Pow" || std::string(c.op) == "Div";
      auto a = random_floats(count(s.a), seed++, positive ? 0.5f : -2, 2);
      auto b = random_floats(count(s.b), seed++, positive ? 0.5f : -2, 2);
      NodeSpec node(c.op, 17);
      node.input(s.a).input(s.b).output(s.out);
      auto y = run(node, {a, b});
      std::vector<double> ref(count(s.out));
      for (int64_t i = 0; i < count(s.out); ++i)
        ref[i] = c.f(a[broadcast_index(i, s.out, s.a)], b[broadcast_index(i, s.out, s.b)]);
      expect_close(y.at(0), ref, 1e-5, 1e-5);
    }
  }
}

TEST_F(OpenclOps, VariadicSumMeanMax) {
  Shape out = {3, 4};
  auto a = random_floats(12, 1), b = random_floats(4, 2), c = random_floats(3, 3);
  for (const char* op : {"Sum", "Mean", "Max"}) {
    SCOPED_TRACE(op);
    NodeSpec node(op, 13);
    node.input({3, 4}).input({4}).input({3, 1}).output(out);
    auto y = run(node, {a, b, c});
    std::vector<double> ref(12);
    for (int i = 0; i < 12; ++i) {
      double x0 = a[i], x1 = b[i % 4], x2 = c[i / 4];
      ref[i] = std::string(op) == "Max" ? std::max({x0, x1, x2}) : (x0 + x1 + x2) / (std::string(op) == "Mean" ? 3 : 1);
    }
    expect_close(y.at(0), ref, 1e-6, 1e-6);
  }
}

std::vector<double> matmul_ref(const std::vector<float>& a, const std::vector<float>& b, int64_t batch_a,
                               int64_t batch_b, int64_t M, int64_t K, int64_t N) {
  int64_t batch = std::max(batch_a, batch_b);
  std::vector<double> y(batch * M * N);
  for (int64_t t = 0; t < batch; ++t)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += double(a[(batch_a == 1 ? 0 : t) * M * K + i * K + k]) * b[(batch_b == 1 ? 0 : t) * K * N + k * N + j];
        y[t * M * N + i * N + j] = s;
      }
  return y;
}

TEST_F(OpenclOps, MatMulTiledShapesAndBatches) {
  struct Case {
    Shape a, b, out;
    int64_t ba, bb, M, K, N;
  };
  std::vector<Case> cases = {{{4, 8}, {8, 5}, {4, 5}, 1, 1, 4, 8, 5},
                             {{33, 70}, {70, 17}, {33, 17}, 1, 1, 33, 70, 17},  // partial tiles everywhere
                             {{3, 20, 9}, {9, 31}, {3, 20, 31}, 3, 1, 20, 9, 31},
                             {{1, 6, 16}, {4, 16, 7}, {4, 6, 7}, 1, 4, 6, 16, 7},
                             {{64, 64}, {64, 64}, {64, 64}, 1, 1, 64, 64, 64}};
  unsigned seed = 10;
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.a) + " x " + ::testing::PrintToString(c.b));
    auto a = random_floats(count(c.a), seed++), b = random_floats(count(c.b), seed++);
    NodeSpec node("MatMul", 13);
    node.input(c.a).input(c.b).output(c.out);
    auto y = run(node, {a, b});
    expect_close(y.at(0), matmul_ref(a, b, c.ba, c.bb, c.M, c.K, c.N), 1e-4, 1e-4);
  }
  // 1-D operands: [K] x [K, N] -> [N].
  auto v = random_floats(9, 1), w = random_floats(9 * 4, 2);
  NodeSpec vec("MatMul", 13);
  vec.input({9}).input({9, 4}).output({4});
  expect_close(run(vec, {v, w}).at(0), matmul_ref(v, w, 1, 1, 1, 9, 4), 1e-5, 1e-5);
}

TEST_F(OpenclOps, GemmTransposesAlphaBetaAndBias) {
  const int64_t M = 19, K = 23, N = 17;
  struct Case {
    int ta, tb;
    Shape c;
  };
  for (const Case& cs : std::vector<Case>{{0, 0, {N}}, {1, 0, {M, 1}}, {0, 1, {M, N}}, {1, 1, {}}}) {
    SCOPED_TRACE(::testing::Message() << "transA " << cs.ta << " transB " << cs.tb);
    Shape sa = cs.ta ? Shape{K, M} : Shape{M, K}, sb = cs.tb ? Shape{N, K} : Shape{K, N};
    auto a = random_floats(M * K, 1 + cs.ta), b = random_floats(K * N, 3 + cs.tb), c = random_floats(count(cs.c), 5);
    NodeSpec node("Gemm", 13);
    node.input(sa).input(sb).input(cs.c).output({M, N}).attr("transA", int64_t(cs.ta)).attr("transB", int64_t(cs.tb));
    node.attr("alpha", 0.75f).attr("beta", -1.5f);
    auto y = run(node, {a, b, c});
    std::vector<double> ref(M * N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += double(cs.ta ? a[k * M + i] : a[i * K + k]) * (cs.tb ? b[j * K + k] : b[k * N + j]);
        double bias = c[broadcast_index(i * N + j, {M, N}, cs.c)];
        ref[i * N + j] = 0.75 * s - 1.5 * bias;
      }
    expect_close(y.at(0), ref, 1e-4, 1e-4);
  }
}

std::vector<double> conv_ref(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>* b,
                             Shape xs, Shape ws, Shape ys, int64_t group, std::vector<int64_t> s,
                             std::vector<int64_t> p, std::vector<int64_t> d) {
  int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], M = ws[0], KH = ws[2], KW = ws[3], OH = ys[2], OW = ys[3];
  int64_t cg = C / group, mg = M / group;
  std::vector<double> y(N * M * OH * OW);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b ? (*b)[m] : 0;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t ih = oh * s[0] - p[0] + kh * d[0], iw = ow * s[1] - p[1] + kw * d[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += double(x[((n * C + (m / mg) * cg + c) * H + ih) * W + iw]) * w[((m * cg + c) * KH + kh) * KW + kw];
              }
          y[((n * M + m) * OH + oh) * OW + ow] = acc;
        }
  return y;
}

TEST_F(OpenclOps, ConvGroupsStridesPadsDilations) {
  // x [2,4,9,8], w [6,2,3,3], group 2, stride 2x1, pads 1,0,1,2, dilation 1x2.
  Shape xs = {2, 4, 9, 8}, ws = {6, 2, 3, 3};
  int64_t OH = (9 + 1 + 1 - 3) / 2 + 1, OW = (8 + 0 + 2 - (2 * 2 + 1)) / 1 + 1;
  Shape ys = {2, 6, OH, OW};
  auto x = random_floats(count(xs), 1), w = random_floats(count(ws), 2), b = random_floats(6, 3);
  NodeSpec node("Conv", 11);
  node.input(xs).input(ws).input({6}).output(ys).attr("group", int64_t(2)).attr("strides", std::vector<int64_t>{2, 1});
  node.attr("pads", std::vector<int64_t>{1, 0, 1, 2}).attr("dilations", std::vector<int64_t>{1, 2});
  expect_close(run(node, {x, w, b}).at(0), conv_ref(x, w, &b, xs, ws, ys, 2, {2, 1}, {1, 0}, {1, 2}), 1e-4, 1e-4);

  // SAME_UPPER, no bias, weights as a constant.
  Shape ys2 = {2, 3, 9, 8}, ws2 = {3, 4, 2, 3};
  auto w2 = random_floats(count(ws2), 4);
  NodeSpec same("Conv", 11);
  same.input(xs).const_input(ws2, w2).output(ys2).attr("auto_pad", std::string("SAME_UPPER"));
  // Total pads 1 (H) and 2 (W): SAME_UPPER puts the smaller half first.
  expect_close(run(same, {x}).at(0), conv_ref(x, w2, nullptr, xs, ws2, ys2, 1, {1, 1}, {0, 1}, {1, 1}), 1e-4, 1e-4);
}

TEST_F(OpenclOps, Conv1D) {
  Shape xs = {1, 3, 10}, ws = {2, 3, 3}, ys = {1, 2, 8};
  auto x = random_floats(30, 1), w = random_floats(18, 2);
  NodeSpec node("Conv", 11);
  node.input(xs).input(ws).output(ys);
  auto ref = conv_ref(x, w, nullptr, {1, 3, 1, 10}, {2, 3, 1, 3}, {1, 2, 1, 8}, 1, {1, 1}, {0, 0}, {1, 1});
  expect_close(run(node, {x, w}).at(0), ref, 1e-5, 1e-5);
}

std::vector<double> pool_ref(const std::vector<float>& x, Shape xs, Shape ys, std::vector<int64_t> k,
                             std::vector<int64_t> s, std::vector<int64_t> pads, int mode) {
  int64_t H = xs[2], W = xs[3], OH = ys[2], OW = ys[3];
  std::vector<double> y(count(ys));
  for (int64_t nc = 0; nc < xs[0] * xs[1]; ++nc)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double acc = mode == 0 ? -INFINITY : 0;
        int inside = 0, padded = 0;
        for (int64_t kh = 0; kh < k[0]; ++kh)
          for (int64_t kw = 0; kw < k[1]; ++kw) {
            int64_t ih = oh * s[0] - pads[0] + kh, iw = ow * s[1] - pads[1] + kw;
            if (ih < H + pads[2] && iw < W + pads[3]) ++padded;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            double v = x[(nc * H + ih) * W + iw];
            acc = mode == 0 ? std::max(acc, v) : acc + v;
            ++inside;
          }
        y[(nc * OH + oh) * OW + ow] = mode == 0 ? acc : acc / (mode == 1 ? inside : padded);
      }
  return y;
}

TEST_F(OpenclOps, MaxAndAveragePools) {
  Shape xs = {2, 3, 7, 6};
  auto x = random_floats(count(xs), 9);
  // kernel 3x2, stride 2, pads 1,1,1,0 -> OH = (7+2-3)/2+1 = 4, OW = (6+1-2)/2+1 = 3
  Shape ys = {2, 3, 4, 3};
  std::vector<int64_t> pads = {1, 1, 1, 0};
  for (int mode = 0; mode < 3; ++mode) {
    SCOPED_TRACE(mode);
    NodeSpec node(mode == 0 ? "MaxPool" : "AveragePool", 12);
    node.input(xs).output(ys).attr("kernel_shape", std::vector<int64_t>{3, 2}).attr("strides", std::vector<int64_t>{2, 2});
    node.attr("pads", pads);
    if (mode == 2) node.attr("count_include_pad", int64_t(1));
    expect_close(run(node, {x}).at(0), pool_ref(x, xs, ys, {3, 2}, {2, 2}, pads, mode), 1e-6, 1e-6);
  }
}

TEST_F(OpenclOps, GlobalPools) {
  Shape xs = {2, 5, 4, 3};
  auto x = random_floats(count(xs), 11);
  for (bool max : {false, true}) {
    NodeSpec node(max ? "GlobalMaxPool" : "GlobalAveragePool", 1);
    node.input(xs).output({2, 5, 1, 1});
    std::vector<double> ref(10);
    for (int r = 0; r < 10; ++r) {
      double acc = max ? -INFINITY : 0;
      for (int k = 0; k < 12; ++k) acc = max ? std::max(acc, double(x[r * 12 + k])) : acc + x[r * 12 + k];
      ref[r] = max ? acc : acc / 12;
    }
    expect_close(run(node, {x}).at(0), ref, 1e-6, 1e-6);
  }
}

TEST_F(OpenclOps, SoftmaxAxesAndLegacyCoercion) {
  Shape xs = {2, 3, 5};
  auto x = random_floats(30, 12, -4, 4);
  auto softmax = [&](int64_t outer, int64_t len, int64_t inner, bool log) {
    std::vector<double> y(30);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        double peak = -INFINITY, sum = 0;
        for (int64_t k = 0; k < len; ++k) peak = std::max(peak, double(x[(o * len + k) * inner + i]));
        for (int64_t k = 0; k < len; ++k) sum += std::exp(x[(o * len + k) * inner + i] - peak);
        for (int64_t k = 0; k < len; ++k) {
          double v = x[(o * len + k) * inner + i] - peak;
          y[(o * len + k) * inner + i] = log ? v - std::log(sum) : std::exp(v) / sum;
        }
      }
    return y;
  };
  for (bool log : {false, true}) {
    const char* op = log ? "LogSoftmax" : "Softmax";
    NodeSpec last(op, 13), middle(op, 13), legacy(op, 11);
    last.input(xs).output(xs);
    middle.input(xs).output(xs).attr("axis", int64_t(1));
    legacy.input(xs).output(xs).attr("axis", int64_t(1));  // coerced to [2, 15]
    expect_close(run(last, {x}).at(0), softmax(6, 5, 1, log), 1e-6, 1e-5);
    expect_close(run(middle, {x}).at(0), softmax(2, 3, 5, log), 1e-6, 1e-5);
    expect_close(run(legacy, {x}).at(0), softmax(2, 15, 1, log), 1e-6, 1e-5);
  }
}

TEST_F(OpenclOps, Reductions) {
  Shape xs = {3, 4, 5};
  auto x = random_floats(60, 13, 0.1f, 1.5f);
  struct Case {
    const char* op;
    std::function<double(const std::vector<double>&)> f;
  };
  std::vector<Case> cases = {
      {"ReduceSum", [](const std::vector<double>& v) { double s = 0; for (double a : v) s += a; return s; }},
      {"ReduceMean", [](const std::vector<double>& v) { double s = 0; for (double a : v) s += a; return s / v.size(); }},
      {"ReduceMax", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }},
      {"ReduceMin", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }},
      {"ReduceProd", [](const std::vector<double>& v) { double s = 1; for (double a : v) s *= a; return s; }},
      {"ReduceSumSquare", [](const std::vector<double>& v) { double s = 0; for (double a : v) s += a * a; return s; }},
      {"ReduceL1", [](const std::vector<double>& v) { double s = 0; for (double a : v) s += std::fabs(a); return s; }},
      {"ReduceL2", [](const std::vector<double>& v) { double s = 0; for (double a : v) s += a * a; return std::sqrt(s); }},
      {"ReduceLogSumExp", [](const std::vector<double>& v) { double s = 0; for (double a : v) s += std::exp(a); return std::log(s); }}};
  // Axes {0, 2} kept as dims: output [1, 4, 1]; opset 13 attribute form, and
  // opset 18 input form.
  for (const auto& c : cases) {
    for (int64_t opset : {int64_t(13), int64_t(18)}) {
      SCOPED_TRACE(std::string(c.op) + " opset " + std::to_string(opset));
      NodeSpec node(c.op, opset);
      bool input_axes = opset >= 18 || std::string(c.op) == "ReduceSum";
      node.input(xs);
      if (input_axes) node.const_ints({2}, {0, -1});
      else node.attr("axes", std::vector<int64_t>{0, -1});
      node.output({1, 4, 1});
      std::vector<double> ref(4);
      for (int j = 0; j < 4; ++j) {
        std::vector<double> v;
        for (int i = 0; i < 3; ++i)
          for (int k = 0; k < 5; ++k) v.push_back(x[(i * 4 + j) * 5 + k]);
        ref[j] = c.f(v);
      }
      expect_close(run(node, {x}).at(0), ref, 1e-5, 1e-5);
    }
  }
  // All axes, keepdims 0: a scalar.
  NodeSpec all("ReduceMean", 13);
  all.input(xs).output({}).attr("keepdims", int64_t(0));
  double s = 0;
  for (float v : x) s += v;
  expect_close(run(all, {x}).at(0), {s / 60}, 1e-6, 1e-6);
}

TEST_F(OpenclOps, LayerNormalizationWithStatistics) {
  Shape xs = {2, 3, 8};
  auto x = random_floats(48, 14), scale = random_floats(24, 15), bias = random_floats(24, 16);
  NodeSpec node("LayerNormalization", 17);
  node.input(xs).input({3, 8}).input({3, 8}).output(xs).output({2, 1, 1}).output({2, 1, 1});
  node.attr("axis", int64_t(1)).attr("epsilon", 1e-3f);
  auto y = run(node, {x, scale, bias});
  ASSERT_EQ(y.size(), 3u);
  std::vector<double> ref(48), mean(2), inv(2);
  for (int r = 0; r < 2; ++r) {
    double m = 0, v = 0;
    for (int k = 0; k < 24; ++k) m += x[r * 24 + k];
    m /= 24;
    for (int k = 0; k < 24; ++k) v += (x[r * 24 + k] - m) * (x[r * 24 + k] - m);
    v /= 24;
    mean[r] = m;
    inv[r] = 1 / std::sqrt(v + 1e-3);
    for (int k = 0; k < 24; ++k) ref[r * 24 + k] = (x[r * 24 + k] - m) * inv[r] * scale[k] + bias[k];
  }
  expect_close(y[0], ref, 1e-5, 1e-5);
  expect_close(y[1], mean, 1e-6, 1e-5);
  expect_close(y[2], inv, 1e-5, 1e-5);
}

TEST_F(OpenclOps, TransposeAndConcat) {
  Shape xs = {2, 3, 4};
  auto x = random_floats(24, 17);
  NodeSpec t("Transpose", 13);
  t.input(xs).output({4, 2, 3}).attr("perm", std::vector<int64_t>{2, 0, 1});
  std::vector<double> ref(24);
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 3; ++c) ref[(a * 2 + b) * 3 + c] = x[(b * 3 + c) * 4 + a];
  expect_close(run(t, {x}).at(0), ref, 0, 0);

  auto y = random_floats(2 * 5 * 4, 18);
  NodeSpec cat("Concat", 13);
  cat.input(xs).input({2, 5, 4}).output({2, 8, 4}).attr("axis", int64_t(-2));
  std::vector<double> cref;
  for (int n = 0; n < 2; ++n) {
    for (int i = 0; i < 12; ++i) cref.push_back(x[n * 12 + i]);
    for (int i = 0; i < 20; ++i) cref.push_back(y[n * 20 + i]);
  }
  expect_close(run(cat, {x, y}).at(0), cref, 0, 0);
}

TEST_F(OpenclOps, ReshapeLikesCopy) {
  auto x = random_floats(24, 19);
  std::vector<double> ref(x.begin(), x.end());
  NodeSpec reshape("Reshape", 14);
  reshape.input({2, 3, 4}).const_ints({2}, {6, 4}).output({6, 4});
  expect_close(run(reshape, {x}).at(0), ref, 0, 0);
  NodeSpec flatten("Flatten", 13);
  flatten.input({2, 3, 4}).output({2, 12});
  expect_close(run(flatten, {x}).at(0), ref, 0, 0);
}

TEST_F(OpenclOps, RefusesWhatItDoesNotImplement) {
  NodeSpec unknown("NonMaxSuppression", 13);
  unknown.input({1, 4, 4}).output({1});
  EXPECT_EQ(query(api(), device_, unknown).reason, HXRT_UNSUPPORTED_OP);
  NodeSpec f64("Relu", 14);
  f64.input({4}, HXRT_DTYPE_FLOAT64).output({4}, HXRT_DTYPE_FLOAT64);
  EXPECT_EQ(query(api(), device_, f64).reason, HXRT_UNSUPPORTED_DTYPE);
  NodeSpec conv3d("Conv", 11);
  conv3d.input({1, 1, 3, 3, 3}).input({1, 1, 2, 2, 2}).output({1, 1, 2, 2, 2});
  Support s = query(api(), device_, conv3d);
  EXPECT_FALSE(s.supported);
  EXPECT_EQ(s.reason, HXRT_UNSUPPORTED_SHAPE);
  EXPECT_NE(s.message.find("rank"), std::string::npos) << s.message;
  NodeSpec future("Relu", 99);
  future.input({4}).output({4});
  EXPECT_EQ(query(api(), device_, future).reason, HXRT_UNSUPPORTED_OPSET);
  // Compiling a node that is not supported fails cleanly.
  hxrt_executable_compile_args c{};
  c.struct_size = sizeof(c);
  c.device = device_;
  c.graph = unknown.graph();
  std::string error = status_text(api(), api()->executable_compile(&c));
  EXPECT_EQ(error.rfind(std::to_string(HXRT_STATUS_UNIMPLEMENTED) + ":", 0), 0u) << error;
}

TEST_F(OpenclOps, EstimatesGrowWithProblemSize) {
  double last = 0;
  for (int64_t n : {16, 64, 256, 1024}) {
    NodeSpec node("MatMul", 13);
    node.input({n, n}).input({n, n}).output({n, n});
    Support s = query(api(), device_, node);
    ASSERT_TRUE(s.supported);
    EXPECT_GE(s.estimated_ns, last);
    last = s.estimated_ns;
  }
}

}  // namespace
}  // namespace hxrt::ocl::test
