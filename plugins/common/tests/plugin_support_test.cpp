#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <chrono>
#include <thread>
#include <vector>

#include "hxrt/plugin_support/half_float.hpp"
#include "hxrt/plugin_support/host_stream.hpp"
#include "hxrt/plugin_support/status.hpp"

using namespace hxrt::plugin;

TEST(Guard, ConvertsExceptionsToStatuses) {
  hxrt_plugin_status* s = guard([] { throw PluginError(HXRT_STATUS_OUT_OF_RANGE, "past the end"); });
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(status_get_code(s), HXRT_STATUS_OUT_OF_RANGE);
  EXPECT_STREQ(status_get_message(s), "past the end");
  status_destroy(s);
  s = guard([] { throw std::bad_alloc(); });
  EXPECT_EQ(status_get_code(s), HXRT_STATUS_RESOURCE_EXHAUSTED);
  status_destroy(s);
  EXPECT_EQ(guard([] {}), nullptr);
}

TEST(HostStream, RunsInOrder) {
  HostStream stream;
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) stream.enqueue([&order, i] { order.push_back(i); });
  EXPECT_FALSE(stream.synchronize().has_value());
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(HostStream, ErrorIsStickyAndSkipsLaterWork) {
  HostStream stream;
  HostEvent event;
  bool ran_after = false;
  stream.enqueue([] { throw PluginError(HXRT_STATUS_INTERNAL, "kernel failed"); });
  stream.enqueue([&] { ran_after = true; });
  stream.record(event);
  auto carried = event.current()->wait();
  ASSERT_TRUE(carried.has_value());
  EXPECT_EQ(carried->code(), HXRT_STATUS_INTERNAL);
  auto error = stream.synchronize();
  ASSERT_TRUE(error.has_value());
  EXPECT_FALSE(ran_after);
  EXPECT_FALSE(stream.synchronize().has_value()) << "synchronize clears the error";
}

TEST(HostStream, CrossStreamWaitOrdersWork) {
  HostStream producer, consumer;
  HostEvent ready;
  std::atomic<int> value{0};
  producer.enqueue([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    value = 42;
  });
  producer.record(ready);
  consumer.wait_for(ready);
  int seen = -1;
  consumer.enqueue([&] { seen = value.load(); });
  EXPECT_FALSE(consumer.synchronize().has_value());
  EXPECT_EQ(seen, 42);
}

TEST(HostStream, WaitInheritsProducerError) {
  HostStream producer, consumer;
  HostEvent ready;
  producer.enqueue([] { throw PluginError(HXRT_STATUS_DEVICE_LOST, "lost"); });
  producer.record(ready);
  consumer.wait_for(ready);
  auto error = consumer.synchronize();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), HXRT_STATUS_DEVICE_LOST);
  producer.synchronize();
}

TEST(HalfFloat, EveryHalfRoundTripsThroughFloat) {
  // Every non-NaN half is exact in float, so converting back must give the same bits.
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    float value = half_bits_to_float(static_cast<uint16_t>(bits));
    if (std::isnan(value)) {
      EXPECT_EQ(bits & 0x7C00u, 0x7C00u);
      continue;
    }
    ASSERT_EQ(double_to_half_bits(value), bits) << "bits 0x" << std::hex << bits;
  }
}

TEST(HalfFloat, HalfRoundsToNearestEven) {
  EXPECT_EQ(double_to_half_bits(1.0 + 0x1p-11), 0x3C00);               // tie, even stays
  EXPECT_EQ(double_to_half_bits(1.0 + 3 * 0x1p-11), 0x3C02);           // tie, odd rounds up
  EXPECT_EQ(double_to_half_bits(65520.0), 0x7C00);                      // rounds to infinity
  EXPECT_EQ(double_to_half_bits(0x1p-25), 0x0000);                      // tie to even zero
  EXPECT_EQ(double_to_half_bits(3 * 0x1p-26), 0x0001);                  // smallest subnormal
}

TEST(HalfFloat, Bfloat16RoundsToNearestEvenAndKeepsNans) {
  EXPECT_EQ(float_to_bfloat16_bits(1.0f + 0x1p-8f), 0x3F80);             // tie, even stays
  EXPECT_EQ(float_to_bfloat16_bits(1.0f + 3 * 0x1p-8f), 0x3F82);         // tie, odd rounds up
  EXPECT_EQ(float_to_bfloat16_bits(-INFINITY), 0xFF80);
  uint16_t nan = float_to_bfloat16_bits(-NAN);
  EXPECT_TRUE(std::isnan(bfloat16_bits_to_float(nan)));
  EXPECT_EQ(nan & 0x8000, 0x8000);
  EXPECT_EQ(bfloat16_bits_to_float(0x3F82), 1.015625f);
}
