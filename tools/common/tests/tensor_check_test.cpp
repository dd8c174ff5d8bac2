// compare_tensors reads 16-bit floats by value: NaNs match whatever their
// payload, and a one-step rounding difference is still caught.
#include <gtest/gtest.h>

#include "hxrt/plugin_support/half_float.hpp"
#include "tensor_check.hpp"

namespace {

using hxrt::tools::compare_tensors;
using hxrt::tools::make_tensor;

hxrt::host::HostTensor bits_tensor(hxrt_dtype dtype, std::initializer_list<uint16_t> bits) {
  auto t = make_tensor(dtype, {static_cast<int64_t>(bits.size())});
  std::copy(bits.begin(), bits.end(), t.data<uint16_t>());
  return t;
}

TEST(TensorCheck, Bfloat16NansWithDifferentPayloadsMatch) {
  // 0x7FFF is CUDA's canonical NaN, 0x7FC0 the quiet NaN numpy writes.
  auto actual = bits_tensor(HXRT_DTYPE_BFLOAT16, {0x3EF5, 0x7FFF, 0x7F80, 0xFF80});
  auto expected = bits_tensor(HXRT_DTYPE_BFLOAT16, {0x3EF5, 0x7FC0, 0x7F80, 0xFF80});
  auto diff = compare_tensors(actual, expected, 1e-3, 1e-5);
  EXPECT_EQ(diff.mismatches, 0u) << diff.problem;
}

TEST(TensorCheck, Bfloat16OneStepOffIsAMismatch) {
  auto actual = bits_tensor(HXRT_DTYPE_BFLOAT16, {0x3EF6});
  auto expected = bits_tensor(HXRT_DTYPE_BFLOAT16, {0x3EF5});
  auto diff = compare_tensors(actual, expected, 1e-3, 1e-5);
  EXPECT_EQ(diff.mismatches, 1u);
  EXPECT_NEAR(diff.max_abs_error,
              hxrt::plugin::bfloat16_bits_to_float(0x3EF6) - hxrt::plugin::bfloat16_bits_to_float(0x3EF5), 1e-9);
}

TEST(TensorCheck, Float16ComparesByValue) {
  // 1.0 and the next half up (1 + 2^-10) differ by ~1e-3 relative: outside 1e-4, inside 2e-3.
  auto actual = bits_tensor(HXRT_DTYPE_FLOAT16, {0x3C01, 0x7E00});
  auto expected = bits_tensor(HXRT_DTYPE_FLOAT16, {0x3C00, 0x7C01});
  EXPECT_EQ(compare_tensors(actual, expected, 1e-4, 0).mismatches, 1u);
  EXPECT_EQ(compare_tensors(actual, expected, 2e-3, 0).mismatches, 0u);
}

TEST(TensorCheck, NanAgainstNumberIsAMismatch) {
  auto actual = bits_tensor(HXRT_DTYPE_BFLOAT16, {0x7FC0});
  auto expected = bits_tensor(HXRT_DTYPE_BFLOAT16, {0x3F80});
  EXPECT_EQ(compare_tensors(actual, expected, 1e-3, 1e-5).mismatches, 1u);
}

}  // namespace
