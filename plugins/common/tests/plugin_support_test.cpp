#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

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
