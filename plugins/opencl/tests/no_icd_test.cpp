// With no OpenCL platform at all the plugin loads, reports 0 devices and says why.
#include <cstdlib>

#include "opencl_test_support.hpp"

namespace hxrt::ocl::test {
namespace {

TEST(OpenclWithoutPlatforms, ZeroDevicesAndAReason) {
  // Must run before anything in this process touches OpenCL: the ICD loader
  // reads its vendor list once.
  setenv("OCL_ICD_VENDORS", "/nonexistent-hxrt-icd-dir", 1);
  Context context;
  ASSERT_NE(context.get(), nullptr);
  EXPECT_TRUE(context.devices().empty());
  EXPECT_TRUE(context.log_contains("0 devices")) << ::testing::PrintToString(context.log());
}

}  // namespace
}  // namespace hxrt::ocl::test
