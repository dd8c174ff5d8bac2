// Tests of the generic own CPU kernels (kernels_elementwise, data_movement,
// misc, own_nn): node descriptors built by hand, compared with independent
// references. The ONNX backend single-node runner is own_node_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "kernel.hpp"
#include "node_builder.hpp"
#include "own_common.hpp"
#include "own_kernel.hpp"

namespace hxrt::cpu {
namespace {

using test::NodeBuilder;
using test::own_kernel;

template <typename T>
std::vector<T> iota_vec(size_t n, T start = T(0)) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<T>(start + static_cast<T>(i));
  return v;
}

// ---------------------------------------------------------------------------
// Elementwise
// ---------------------------------------------------------------------------

TEST(OwnElementwise, AddBroadcastMatchesExplicitLoop) {
  // [2,3,4] + [3,1] -> [2,3,4]
  std::vector<float> a(24), b(3);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.25f * static_cast<float>(i) - 2.0f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = 10.0f * static_cast<float>(i + 1);
  NodeBuilder nb("Add", 14);
  nb.input(HXRT_DTYPE_FLOAT32, {2, 3, 4}).input(HXRT_DTYPE_FLOAT32, {3, 1}).output(HXRT_DTYPE_FLOAT32, {2, 3, 4});
  auto k = own_kernel(nb);
  std::vector<float> out(24, -1);
  k->run({a.data(), b.data()}, {out.data()});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int l = 0; l < 4; ++l) {
        double expect = static_cast<double>(a[static_cast<size_t>((i * 3 + j) * 4 + l)]) + static_cast<double>(b[static_cast<size_t>(j)]);
        EXPECT_NEAR(out[static_cast<size_t>((i * 3 + j) * 4 + l)], expect, 1e-6) << i << "," << j << "," << l;
      }
}

TEST(OwnElementwise, BroadcastBothSidesAndLargeParallel) {
  // [N,1] * [1,M] with N*M above the parallel threshold.
  const int64_t N = 300, M = 257;
  std::vector<int32_t> a = iota_vec<int32_t>(N, -100), b = iota_vec<int32_t>(M, 3);
  NodeBuilder nb("Mul", 14);
  nb.input(HXRT_DTYPE_INT32, {N, 1}).input(HXRT_DTYPE_INT32, {1, M}).output(HXRT_DTYPE_INT32, {N, M});
  auto k = own_kernel(nb);
  std::vector<int32_t> out(static_cast<size_t>(N * M));
  k->run({a.data(), b.data()}, {out.data()});
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < M; ++j) ASSERT_EQ(out[static_cast<size_t>(i * M + j)], (i - 100) * (j + 3));
}

TEST(OwnElementwise, IntegerDivTruncatesAndInt8Wraps) {
  std::vector<int32_t> a{-7, 7, -7, 9, 5}, b{2, -2, -2, 3, 0};
  NodeBuilder nb("Div", 14);
  nb.input(HXRT_DTYPE_INT32, {5}).input(HXRT_DTYPE_INT32, {5}).output(HXRT_DTYPE_INT32, {5});
  std::vector<int32_t> out(5);
  own_kernel(nb)->run({a.data(), b.data()}, {out.data()});
  EXPECT_EQ(out, (std::vector<int32_t>{-3, -3, 3, 3, 0}));

  std::vector<int8_t> x{120, -128}, y{10, -1};
  NodeBuilder nb2("Add", 14);
  nb2.input(HXRT_DTYPE_INT8, {2}).input(HXRT_DTYPE_INT8, {2}).output(HXRT_DTYPE_INT8, {2});
  std::vector<int8_t> o2(2);
  own_kernel(nb2)->run({x.data(), y.data()}, {o2.data()});
  EXPECT_EQ(o2[0], static_cast<int8_t>(-126));
  EXPECT_EQ(o2[1], static_cast<int8_t>(127));
}

TEST(OwnElementwise, PowMixedTypes) {
  std::vector<float> base{2.0f, -3.0f, 0.5f};
  std::vector<int64_t> ex{3, 2, -1};
  NodeBuilder nb("Pow", 15);
  nb.input(HXRT_DTYPE_FLOAT32, {3}).input(HXRT_DTYPE_INT64, {3}).output(HXRT_DTYPE_FLOAT32, {3});
  std::vector<float> out(3);
  own_kernel(nb)->run({base.data(), ex.data()}, {out.data()});
  EXPECT_FLOAT_EQ(out[0], 8.0f);
  EXPECT_FLOAT_EQ(out[1], 9.0f);
  EXPECT_FLOAT_EQ(out[2], 2.0f);

  std::vector<int64_t> ib{3, -2, 7}, ie{4, 3, 0};
  NodeBuilder nb2("Pow", 15);
  nb2.input(HXRT_DTYPE_INT64, {3}).input(HXRT_DTYPE_INT64, {3}).output(HXRT_DTYPE_INT64, {3});
  std::vector<int64_t> o2(3);
  own_kernel(nb2)->run({ib.data(), ie.data()}, {o2.data()});
  EXPECT_EQ(o2, (std::vector<int64_t>{81, -8, 1}));
}

TEST(OwnElementwise, ComparisonAndLogicProduceBool) {
  std::vector<int64_t> a{1, 5, 3}, b{3};
  NodeBuilder nb("Less", 13);
  nb.input(HXRT_DTYPE_INT64, {3}).input(HXRT_DTYPE_INT64, {1}).output(HXRT_DTYPE_BOOL, {3});
  std::vector<uint8_t> out(3, 7);
  own_kernel(nb)->run({a.data(), b.data()}, {out.data()});
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 0, 0}));

  std::vector<uint8_t> x{0, 1, 0, 1}, y{0, 0, 1, 1};
  NodeBuilder nb2("Xor", 7);
  nb2.input(HXRT_DTYPE_BOOL, {4}).input(HXRT_DTYPE_BOOL, {4}).output(HXRT_DTYPE_BOOL, {4});
  std::vector<uint8_t> o2(4);
  own_kernel(nb2)->run({x.data(), y.data()}, {o2.data()});
  EXPECT_EQ(o2, (std::vector<uint8_t>{0, 1, 1, 0}));
}

TEST(OwnElementwise, VariadicMaxAndMeanBroadcast) {
  std::vector<float> a{1, 6, 3}, b{4}, c{2, 2, 9};
  NodeBuilder nb("Max", 13);
  nb.input(HXRT_DTYPE_FLOAT32, {3}).input(HXRT_DTYPE_FLOAT32, {1}).input(HXRT_DTYPE_FLOAT32, {3}).output(HXRT_DTYPE_FLOAT32, {3});
  std::vector<float> out(3);
  own_kernel(nb)->run({a.data(), b.data(), c.data()}, {out.data()});
  EXPECT_EQ(out, (std::vector<float>{4, 6, 9}));

  NodeBuilder nb2("Mean", 13);
  nb2.input(HXRT_DTYPE_FLOAT32, {1}).input(HXRT_DTYPE_FLOAT32, {3}).output(HXRT_DTYPE_FLOAT32, {3});
  own_kernel(nb2)->run({b.data(), c.data()}, {out.data()});
  EXPECT_EQ(out, (std::vector<float>{3, 3, 6.5f}));
}

TEST(OwnElementwise, WhereThreeWayBroadcast) {
  std::vector<uint8_t> cond{1, 0};           // [2,1]
  std::vector<int64_t> x{10, 20, 30};         // [3]
  std::vector<int64_t> y{-1};                 // scalar
  NodeBuilder nb("Where", 16);
  nb.input(HXRT_DTYPE_BOOL, {2, 1}).input(HXRT_DTYPE_INT64, {3}).input(HXRT_DTYPE_INT64, {}).output(HXRT_DTYPE_INT64, {2, 3});
  std::vector<int64_t> out(6);
  own_kernel(nb)->run({cond.data(), x.data(), y.data()}, {out.data()});
  EXPECT_EQ(out, (std::vector<int64_t>{10, 20, 30, -1, -1, -1}));
}

TEST(OwnElementwise, ClipWithRuntimeBoundsAndAttributes) {
  std::vector<float> x{-5, -1, 0, 2, 8};
  float lo = -1.5f, hi = 3.0f;
  NodeBuilder nb("Clip", 13);
  nb.input(HXRT_DTYPE_FLOAT32, {5}).input(HXRT_DTYPE_FLOAT32, {}).input(HXRT_DTYPE_FLOAT32, {}).output(HXRT_DTYPE_FLOAT32, {5});
  std::vector<float> out(5);
  own_kernel(nb)->run({x.data(), &lo, &hi}, {out.data()});
  EXPECT_EQ(out, (std::vector<float>{-1.5f, -1, 0, 2, 3}));

  NodeBuilder nb2("Clip", 13);
  nb2.input(HXRT_DTYPE_FLOAT32, {5}).no_input().input(HXRT_DTYPE_FLOAT32, {}).output(HXRT_DTYPE_FLOAT32, {5});
  own_kernel(nb2)->run({x.data(), nullptr, &hi}, {out.data()});
  EXPECT_EQ(out, (std::vector<float>{-5, -1, 0, 2, 3}));

  NodeBuilder nb3("Clip", 6);
  nb3.input(HXRT_DTYPE_FLOAT32, {5}).attr_float("min", 0.0f).output(HXRT_DTYPE_FLOAT32, {5});
  own_kernel(nb3)->run({x.data()}, {out.data()});
  EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 2, 8}));
}

TEST(OwnElementwise, UnaryGeluTanhAndHardSwish) {
  std::vector<float> x{-3.0f, -0.5f, 0.0f, 1.0f, 4.0f};
  NodeBuilder nb("Gelu", 20);
  nb.input(HXRT_DTYPE_FLOAT32, {5}).attr_string("approximate", "tanh").output(HXRT_DTYPE_FLOAT32, {5});
  std::vector<float> out(5);
  own_kernel(nb)->run({x.data()}, {out.data()});
  for (size_t i = 0; i < x.size(); ++i) {
    double v = x[i];
    double expect = 0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(out[i], expect, 1e-6);
  }
  NodeBuilder nb2("HardSwish", 14);
  nb2.input(HXRT_DTYPE_FLOAT32, {5}).output(HXRT_DTYPE_FLOAT32, {5});
  own_kernel(nb2)->run({x.data()}, {out.data()});
  EXPECT_EQ(out, (std::vector<float>{0.0f, -0.5f * (-0.5f / 6 + 0.5f), 0.0f, 1.0f * (1.0f / 6 + 0.5f), 4.0f}));
}

TEST(OwnElementwise, UnsupportedDtypeIsReported) {
  NodeBuilder nb("Sqrt", 13);
  nb.input(HXRT_DTYPE_INT32, {2}).output(HXRT_DTYPE_INT32, {2});
  try {
    own_kernel(nb);
    FAIL() << "expected Unsupported";
  } catch (const Unsupported& e) {
    EXPECT_EQ(e.reason(), HXRT_UNSUPPORTED_DTYPE);
  }
}

// ---------------------------------------------------------------------------
// Data movement
// ---------------------------------------------------------------------------

TEST(OwnDataMovement, SliceNegativeStepsMatchesIndexFormula) {
  // x[3,4] = 0..11; starts [-1, 3], ends [-100, 0], steps [-2, -1] -> rows {2,0}, cols {3,2,1}
  std::vector<float> x = iota_vec<float>(12);
  std::vector<int64_t> starts{-1, 3}, ends{-100, 0}, axes{0, 1}, steps{-2, -1};
  NodeBuilder nb("Slice", 13);
  nb.input(HXRT_DTYPE_FLOAT32, {3, 4})
      .const_input(HXRT_DTYPE_INT64, {2}, starts)
      .const_input(HXRT_DTYPE_INT64, {2}, ends)
      .const_input(HXRT_DTYPE_INT64, {2}, axes)
      .const_input(HXRT_DTYPE_INT64, {2}, steps)
      .output(HXRT_DTYPE_FLOAT32, {2, 3});
  std::vector<float> out(6, -1);
  own_kernel(nb)->run({x.data(), starts.data(), ends.data(), axes.data(), steps.data()}, {out.data()});
  size_t n = 0;
  for (int64_t r = 2; r > -1; r -= 2)
    for (int64_t c = 3; c > 0; --c) EXPECT_EQ(out[n++], x[static_cast<size_t>(r * 4 + c)]);

  // Same slice with the parameters only known at run time.
  NodeBuilder rt("Slice", 13);
  rt.input(HXRT_DTYPE_FLOAT32, {3, 4})
      .input(HXRT_DTYPE_INT64, {2})
      .input(HXRT_DTYPE_INT64, {2})
      .input(HXRT_DTYPE_INT64, {2})
      .input(HXRT_DTYPE_INT64, {2})
      .output(HXRT_DTYPE_FLOAT32, {2, 3});
  std::vector<float> out2(6, -1);
  own_kernel(rt)->run({x.data(), starts.data(), ends.data(), axes.data(), steps.data()}, {out2.data()});
  EXPECT_EQ(out, out2);
}

TEST(OwnDataMovement, TransposeMatchesIndexLoop) {
  std::vector<int16_t> x = iota_vec<int16_t>(24);
  NodeBuilder nb("Transpose", 13);
  nb.input(HXRT_DTYPE_INT16, {2, 3, 4}).attr_ints("perm", {2, 0, 1}).output(HXRT_DTYPE_INT16, {4, 2, 3});
  std::vector<int16_t> out(24);
  own_kernel(nb)->run({x.data()}, {out.data()});
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(out[static_cast<size_t>((a * 2 + b) * 3 + c)], x[static_cast<size_t>((b * 3 + c) * 4 + a)]);
}

TEST(OwnDataMovement, GatherNegativeRuntimeIndices) {
  std::vector<float> x = iota_vec<float>(12);  // [3,4]
  std::vector<int32_t> idx{-1, 0, 2};
  NodeBuilder nb("Gather", 13);
  nb.input(HXRT_DTYPE_FLOAT32, {3, 4}).input(HXRT_DTYPE_INT32, {3}).attr_int("axis", 1).output(HXRT_DTYPE_FLOAT32, {3, 3});
  std::vector<float> out(9);
  own_kernel(nb)->run({x.data(), idx.data()}, {out.data()});
  EXPECT_EQ(out, (std::vector<float>{3, 0, 2, 7, 4, 6, 11, 8, 10}));
  idx[1] = 4;
  EXPECT_THROW(own_kernel(nb)->run({x.data(), idx.data()}, {out.data()}), PluginError);
}

TEST(OwnDataMovement, ConcatNegativeAxisAndSplitUneven) {
  std::vector<int64_t> a{1, 2, 3, 4}, b{5, 6};  // [2,2] ++ [2,1]
  NodeBuilder nb("Concat", 13);
  nb.input(HXRT_DTYPE_INT64, {2, 2}).input(HXRT_DTYPE_INT64, {2, 1}).attr_int("axis", -1).output(HXRT_DTYPE_INT64, {2, 3});
  std::vector<int64_t> out(6);
  own_kernel(nb)->run({a.data(), b.data()}, {out.data()});
  EXPECT_EQ(out, (std::vector<int64_t>{1, 2, 5, 3, 4, 6}));

  NodeBuilder sp("Split", 18);
  sp.input(HXRT_DTYPE_INT64, {2, 3}).attr_int("axis", 1).attr_int("num_outputs", 2)
      .output(HXRT_DTYPE_INT64, {2, 2}).output(HXRT_DTYPE_INT64, {2, 1});
  std::vector<int64_t> s0(4), s1(2);
  own_kernel(sp)->run({out.data()}, {s0.data(), s1.data()});
  EXPECT_EQ(s0, a);
  EXPECT_EQ(s1, b);
}

TEST(OwnDataMovement, PadModes) {
  std::vector<float> x{1, 2, 3};
  std::vector<int64_t> pads{2, 3};
  auto run = [&](const char* mode) {
    NodeBuilder nb("Pad", 18);
    nb.input(HXRT_DTYPE_FLOAT32, {3}).const_input(HXRT_DTYPE_INT64, {2}, pads).attr_string("mode", mode).output(HXRT_DTYPE_FLOAT32, {8});
    std::vector<float> out(8);
    own_kernel(nb)->run({x.data(), pads.data()}, {out.data()});
    return out;
  };
  EXPECT_EQ(run("constant"), (std::vector<float>{0, 0, 1, 2, 3, 0, 0, 0}));
  EXPECT_EQ(run("reflect"), (std::vector<float>{3, 2, 1, 2, 3, 2, 1, 2}));
  EXPECT_EQ(run("edge"), (std::vector<float>{1, 1, 1, 2, 3, 3, 3, 3}));
  EXPECT_EQ(run("wrap"), (std::vector<float>{2, 3, 1, 2, 3, 1, 2, 3}));
}

TEST(OwnDataMovement, CastHalfRoundTripOnKnownBits) {
  const float two_m24 = std::ldexp(1.0f, -24);
  std::vector<float> x{1.0f, -2.0f, 65504.0f, 65520.0f, 1e-8f, two_m24, 3 * std::ldexp(1.0f, -25),
                       1.0f + std::ldexp(1.0f, -11), 1.0f + 3 * std::ldexp(1.0f, -11), NAN, 0.333333343f, -0.0f};
  std::vector<uint16_t> expect{0x3C00, 0xC000, 0x7BFF, 0x7C00, 0x0000, 0x0001, 0x0002,
                               0x3C00, 0x3C02, 0x7E00, 0x3555, 0x8000};
  const int64_t n = static_cast<int64_t>(x.size());
  NodeBuilder nb("Cast", 21);
  nb.input(HXRT_DTYPE_FLOAT32, {n}).attr_int("to", HXRT_DTYPE_FLOAT16).output(HXRT_DTYPE_FLOAT16, {n});
  std::vector<uint16_t> h(x.size());
  own_kernel(nb)->run({x.data()}, {h.data()});
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(h[i], expect[i]) << "element " << i;

  NodeBuilder back("Cast", 21);
  back.input(HXRT_DTYPE_FLOAT16, {n}).attr_int("to", HXRT_DTYPE_FLOAT32).output(HXRT_DTYPE_FLOAT32, {n});
  std::vector<float> f(x.size());
  own_kernel(back)->run({h.data()}, {f.data()});
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[2], 65504.0f);
  EXPECT_TRUE(std::isinf(f[3]));
  EXPECT_EQ(f[5], two_m24);
  EXPECT_TRUE(std::isnan(f[9]));
  EXPECT_EQ(f[10], 0.333251953125f);
  EXPECT_TRUE(std::signbit(f[11]));

  // bfloat16 rounds to nearest even.
  std::vector<float> bx{1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8), -3.0f};
  NodeBuilder bf("Cast", 21);
  bf.input(HXRT_DTYPE_FLOAT32, {3}).attr_int("to", HXRT_DTYPE_BFLOAT16).output(HXRT_DTYPE_BFLOAT16, {3});
  std::vector<uint16_t> b(3);
  own_kernel(bf)->run({bx.data()}, {b.data()});
  EXPECT_EQ(b, (std::vector<uint16_t>{0x3F80, 0x3F82, 0xC040}));
}

TEST(OwnDataMovement, CastFloatToIntTruncatesAndToBool) {
  std::vector<double> x{-2.7, 2.7, 0.0, 1e30};
  NodeBuilder nb("Cast", 21);
  nb.input(HXRT_DTYPE_FLOAT64, {4}).output(HXRT_DTYPE_INT32, {4});
  std::vector<int32_t> out(4);
  own_kernel(nb)->run({x.data()}, {out.data()});
  EXPECT_EQ(out[0], -2);
  EXPECT_EQ(out[1], 2);
  EXPECT_EQ(out[2], 0);
  NodeBuilder nb2("Cast", 21);
  nb2.input(HXRT_DTYPE_FLOAT64, {4}).output(HXRT_DTYPE_BOOL, {4});
  std::vector<uint8_t> o2(4);
  own_kernel(nb2)->run({x.data()}, {o2.data()});
  EXPECT_EQ(o2, (std::vector<uint8_t>{1, 1, 0, 1}));
  NodeBuilder str("Cast", 21);
  str.input(HXRT_DTYPE_FLOAT32, {4}).output(HXRT_DTYPE_STRING, {4});
  EXPECT_THROW(own_kernel(str), Unsupported);
}

TEST(OwnDataMovement, ResizeNearestAsymmetricByFormula) {
  // [1,1,2,3] upsampled by scales [1,1,2,1.5] -> [1,1,4,4]
  std::vector<float> x{1, 2, 3, 4, 5, 6};
  std::vector<float> scales{1, 1, 2, 1.5f};
  NodeBuilder nb("Resize", 19);
  nb.input(HXRT_DTYPE_FLOAT32, {1, 1, 2, 3})
      .no_input()
      .const_input(HXRT_DTYPE_FLOAT32, {4}, scales)
      .attr_string("mode", "nearest")
      .attr_string("coordinate_transformation_mode", "asymmetric")
      .attr_string("nearest_mode", "round_prefer_ceil")
      .output(HXRT_DTYPE_FLOAT32, {1, 1, 4, 4});
  std::vector<float> out(16);
  own_kernel(nb)->run({x.data(), nullptr, scales.data()}, {out.data()});
  auto nearest = [](double v, int64_t n) {
    // round half up, then clamp
    return std::clamp<int64_t>(static_cast<int64_t>(std::floor(v + 0.5)), 0, n - 1);
  };
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t xo = 0; xo < 4; ++xo) {
      int64_t sy = nearest(static_cast<double>(y) / 2.0, 2), sx = nearest(static_cast<double>(xo) / 1.5, 3);
      EXPECT_EQ(out[static_cast<size_t>(y * 4 + xo)], x[static_cast<size_t>(sy * 3 + sx)]) << y << "," << xo;
    }
}

TEST(OwnDataMovement, ResizeLinearAlignCornersByFormula) {
  std::vector<float> x{0, 10};  // [1,2]
  std::vector<float> scales{1, 2};
  NodeBuilder nb("Resize", 13);
  nb.input(HXRT_DTYPE_FLOAT32, {1, 2})
      .no_input()
      .const_input(HXRT_DTYPE_FLOAT32, {2}, scales)
      .attr_string("mode", "linear")
      .attr_string("coordinate_transformation_mode", "align_corners")
      .output(HXRT_DTYPE_FLOAT32, {1, 4});
  std::vector<float> out(4);
  own_kernel(nb)->run({x.data(), nullptr, scales.data()}, {out.data()});
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[static_cast<size_t>(i)], 10.0 * i / 3.0, 1e-5);
}

TEST(OwnDataMovement, ExpandTileRangeConstantOfShape) {
  std::vector<int32_t> x{1, 2, 3};
  std::vector<int64_t> shape{2, 3};
  NodeBuilder ex("Expand", 13);
  ex.input(HXRT_DTYPE_INT32, {3}).const_input(HXRT_DTYPE_INT64, {2}, shape).output(HXRT_DTYPE_INT32, {2, 3});
  std::vector<int32_t> o(6);
  own_kernel(ex)->run({x.data(), shape.data()}, {o.data()});
  EXPECT_EQ(o, (std::vector<int32_t>{1, 2, 3, 1, 2, 3}));

  std::vector<int64_t> reps{2, 2};
  std::vector<int32_t> m{1, 2, 3, 4};
  NodeBuilder tile("Tile", 13);
  tile.input(HXRT_DTYPE_INT32, {2, 2}).const_input(HXRT_DTYPE_INT64, {2}, reps).output(HXRT_DTYPE_INT32, {4, 4});
  std::vector<int32_t> t(16);
  own_kernel(tile)->run({m.data(), reps.data()}, {t.data()});
  EXPECT_EQ(t, (std::vector<int32_t>{1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}));

  int64_t start = 10, limit = 3, delta = -3;
  NodeBuilder rg("Range", 11);
  rg.input(HXRT_DTYPE_INT64, {}).input(HXRT_DTYPE_INT64, {}).input(HXRT_DTYPE_INT64, {}).output(HXRT_DTYPE_INT64, {3});
  std::vector<int64_t> r(3);
  own_kernel(rg)->run({&start, &limit, &delta}, {r.data()});
  EXPECT_EQ(r, (std::vector<int64_t>{10, 7, 4}));

  int32_t seven = 7;
  NodeBuilder cs("ConstantOfShape", 20);
  cs.input(HXRT_DTYPE_INT64, {2}).attr_tensor("value", HXRT_DTYPE_INT32, {1}, &seven, 4).output(HXRT_DTYPE_INT32, {2, 2});
  std::vector<int32_t> c(4);
  own_kernel(cs)->run({shape.data()}, {c.data()});
  EXPECT_EQ(c, (std::vector<int32_t>{7, 7, 7, 7}));

  NodeBuilder sh("Shape", 15);
  sh.input(HXRT_DTYPE_FLOAT32, {2, 3, 5}).attr_int("start", -2).output(HXRT_DTYPE_INT64, {2});
  std::vector<int64_t> s(2);
  own_kernel(sh)->run({nullptr}, {s.data()});
  EXPECT_EQ(s, (std::vector<int64_t>{3, 5}));
}

// ---------------------------------------------------------------------------
// Misc
// ---------------------------------------------------------------------------

TEST(OwnMisc, ReduceSumIntAxesAndKeepdims) {
  std::vector<int32_t> x = iota_vec<int32_t>(24);  // [2,3,4]
  std::vector<int64_t> axes{-2};
  NodeBuilder nb("ReduceSum", 13);
  nb.input(HXRT_DTYPE_INT32, {2, 3, 4}).const_input(HXRT_DTYPE_INT64, {1}, axes).attr_int("keepdims", 0).output(HXRT_DTYPE_INT32, {2, 4});
  std::vector<int32_t> out(8);
  own_kernel(nb)->run({x.data(), axes.data()}, {out.data()});
  for (int i = 0; i < 2; ++i)
    for (int l = 0; l < 4; ++l) {
      int32_t s = 0;
      for (int j = 0; j < 3; ++j) s += x[static_cast<size_t>((i * 3 + j) * 4 + l)];
      EXPECT_EQ(out[static_cast<size_t>(i * 4 + l)], s);
    }
  // Runtime axes give the same result.
  NodeBuilder rt("ReduceSum", 13);
  rt.input(HXRT_DTYPE_INT32, {2, 3, 4}).input(HXRT_DTYPE_INT64, {1}).attr_int("keepdims", 0).output(HXRT_DTYPE_INT32, {2, 4});
  std::vector<int32_t> out2(8);
  own_kernel(rt)->run({x.data(), axes.data()}, {out2.data()});
  EXPECT_EQ(out, out2);
}

TEST(OwnMisc, MaxPoolWithIndicesAndPads) {
  // 1x1x3x3, kernel 2x2, stride 1, pads 0 0 1 1 -> 3x3 output
  std::vector<float> x{1, 9, 2, 4, 5, 6, 7, 3, 8};
  NodeBuilder nb("MaxPool", 12);
  nb.input(HXRT_DTYPE_FLOAT32, {1, 1, 3, 3})
      .attr_ints("kernel_shape", {2, 2})
      .attr_ints("pads", {0, 0, 1, 1})
      .output(HXRT_DTYPE_FLOAT32, {1, 1, 3, 3})
      .output(HXRT_DTYPE_INT64, {1, 1, 3, 3});
  std::vector<float> out(9);
  std::vector<int64_t> idx(9);
  own_kernel(nb)->run({x.data()}, {out.data(), idx.data()});
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      float best = -INFINITY;
      int64_t at = -1;
      for (int dr = 0; dr < 2; ++dr)
        for (int dc = 0; dc < 2; ++dc)
          if (r + dr < 3 && c + dc < 3 && x[static_cast<size_t>((r + dr) * 3 + c + dc)] > best) {
            best = x[static_cast<size_t>((r + dr) * 3 + c + dc)];
            at = (r + dr) * 3 + c + dc;
          }
      EXPECT_EQ(out[static_cast<size_t>(r * 3 + c)], best);
      EXPECT_EQ(idx[static_cast<size_t>(r * 3 + c)], at);
    }
}

TEST(OwnMisc, ConvGroupedMatchesDirectSum) {
  // N=1, C=4, H=W=4, M=2, group=2, kernel 3x3, stride 2, pads 1, dilation 1 -> 2x2
  std::vector<float> x(64), w(2 * 2 * 9), b{0.5f, -1.0f};
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i));
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(static_cast<float>(i));
  NodeBuilder nb("Conv", 11);
  nb.input(HXRT_DTYPE_FLOAT32, {1, 4, 4, 4}).input(HXRT_DTYPE_FLOAT32, {2, 2, 3, 3}).input(HXRT_DTYPE_FLOAT32, {2})
      .attr_int("group", 2).attr_ints("strides", {2, 2}).attr_ints("pads", {1, 1, 1, 1})
      .output(HXRT_DTYPE_FLOAT32, {1, 2, 2, 2});
  std::vector<float> out(8);
  own_kernel(nb)->run({x.data(), w.data(), b.data()}, {out.data()});
  for (int m = 0; m < 2; ++m)
    for (int oy = 0; oy < 2; ++oy)
      for (int ox = 0; ox < 2; ++ox) {
        double acc = b[static_cast<size_t>(m)];
        for (int c = 0; c < 2; ++c)
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              int iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
              if (iy < 0 || iy >= 4 || ix < 0 || ix >= 4) continue;
              acc += static_cast<double>(x[static_cast<size_t>(((m * 2 + c) * 4 + iy) * 4 + ix)]) *
                     static_cast<double>(w[static_cast<size_t>(((m * 2 + c) * 3 + ky) * 3 + kx)]);
            }
        EXPECT_NEAR(out[static_cast<size_t>((m * 2 + oy) * 2 + ox)], acc, 1e-5);
      }
}

TEST(OwnMisc, MatMulBroadcastBatchInt64) {
  // [2,1,2,3] x [3,2] -> [2,1,2,2]
  std::vector<int64_t> a = iota_vec<int64_t>(12), b = iota_vec<int64_t>(6, -2);
  NodeBuilder nb("MatMul", 13);
  nb.input(HXRT_DTYPE_INT64, {2, 1, 2, 3}).input(HXRT_DTYPE_INT64, {3, 2}).output(HXRT_DTYPE_INT64, {2, 1, 2, 2});
  std::vector<int64_t> out(8);
  own_kernel(nb)->run({a.data(), b.data()}, {out.data()});
  for (int bi = 0; bi < 2; ++bi)
    for (int m = 0; m < 2; ++m)
      for (int n = 0; n < 2; ++n) {
        int64_t s = 0;
        for (int k = 0; k < 3; ++k) s += a[static_cast<size_t>((bi * 2 + m) * 3 + k)] * b[static_cast<size_t>(k * 2 + n)];
        EXPECT_EQ(out[static_cast<size_t>((bi * 2 + m) * 2 + n)], s);
      }
}

TEST(OwnMisc, SoftmaxLegacyCoercesTo2D) {
  std::vector<float> x{1, 2, 3, 4};  // [1,2,2], axis 1 (legacy) -> softmax over all 4
  NodeBuilder nb("Softmax", 11);
  nb.input(HXRT_DTYPE_FLOAT32, {1, 2, 2}).output(HXRT_DTYPE_FLOAT32, {1, 2, 2});
  std::vector<float> out(4);
  own_kernel(nb)->run({x.data()}, {out.data()});
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(4.0);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(out[i], std::exp(static_cast<double>(x[i])) / z, 1e-6);
  NodeBuilder nb13("Softmax", 13);  // axis -1: over the last dim only
  nb13.input(HXRT_DTYPE_FLOAT32, {1, 2, 2}).output(HXRT_DTYPE_FLOAT32, {1, 2, 2});
  own_kernel(nb13)->run({x.data()}, {out.data()});
  EXPECT_NEAR(out[0] + out[1], 1.0, 1e-6);
  EXPECT_NEAR(out[0], 1.0 / (1.0 + std::exp(1.0)), 1e-6);
}

}  // namespace
}  // namespace hxrt::cpu
