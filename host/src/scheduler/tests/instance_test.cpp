// JSON round trip and clear errors for malformed instances.
#include <gtest/gtest.h>

#include <stdexcept>

#include "scheduler/random_dag.hpp"

namespace hxrt::sched {
namespace {

TEST(InstanceJson, RoundTripKeepsEverything) {
  RandomDagParams p;
  p.v = 25, p.support = 0.5, p.seed = 9;
  Instance a = random_dag(p);
  a.devices[2].memory_bytes = 12345;
  a.tasks[3].weight_bytes = 77;
  a.tasks[4].output_bytes = 88;
  a.link(1, 2) = Link{5, 2.5};
  a.finalize();
  const Instance b = instance_from_json(to_json(a));
  EXPECT_EQ(to_json(a), to_json(b));
  EXPECT_EQ(b.devices[2].memory_bytes, 12345);
  EXPECT_EQ(b.devices[1].memory_bytes, kInf);
  EXPECT_EQ(b.tasks[3].weight_bytes, 77);
  EXPECT_DOUBLE_EQ(b.link(1, 2).latency_ns, 5);
  int unsupported = 0;
  for (const Task& t : b.tasks)
    for (double c : t.cost_ns) unsupported += c == kInf;
  EXPECT_GT(unsupported, 0);  // null costs survive as unsupported
}

TEST(InstanceJson, MalformedInputsAreRejectedWithAReason) {
  auto error_of = [](const std::string& text) -> std::string {
    try {
      instance_from_json(text);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  const std::string head = R"({"format":"hxrt-sched-instance","version":1,)";
  const std::string devs = R"("devices":[{"name":"a"},{"name":"b"}],"links":[{"from":0,"to":1},{"from":1,"to":0}],)";
  EXPECT_NE(error_of("{"), "");
  EXPECT_NE(error_of(R"({"format":"other"})").find("format"), std::string::npos);
  EXPECT_NE(error_of(head + devs + R"("tasks":[{"cost_ns":[1,2]},{"cost_ns":[1,2]}],"edges":[[0,1,1],[1,0,1]]})")
                .find("cycle"),
            std::string::npos);
  EXPECT_NE(error_of(head + devs + R"("tasks":[{"cost_ns":[1]}],"edges":[]})").find("costs"), std::string::npos);
  EXPECT_NE(error_of(head + devs + R"("tasks":[{"cost_ns":[null,null]}],"edges":[]})").find("no device"),
            std::string::npos);
  EXPECT_NE(error_of(head + devs + R"("tasks":[{"cost_ns":[1,1]}],"edges":[[0,5,1]]})").find("out of range"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"("devices":[{"name":"a"},{"name":"b"}],"links":[],"tasks":[],"edges":[]})")
                .find("no link"),
            std::string::npos);
  EXPECT_NE(error_of(head + devs + R"("tasks":[{"cost_ns":[-1,1]}],"edges":[]})").find("negative"), std::string::npos);
  EXPECT_EQ(error_of(head + devs + R"("tasks":[{"cost_ns":[1,null]}],"edges":[]})"), "");
}

TEST(InstanceLinks, HostHopsChainBothWays) {
  Instance inst;
  inst.devices = {{"cpu", "cpu", "cpu", kInf}, {"gpu", "vk", "gpu", kInf}, {"npu", "x", "other", kInf}};
  set_links_via_host(inst, {{Link{0, kInf}, Link{0, kInf}}, {Link{10, 4}, Link{20, 2}}, {Link{5, 1}, Link{7, 1}}});
  inst.finalize();
  // gpu -> npu: to host (10 + b/4) then host -> npu (7 + b/1).
  EXPECT_DOUBLE_EQ(inst.link(1, 2).cost(100), 10 + 25 + 7 + 100);
  // cpu -> gpu: the CPU's own hop is free, host -> gpu 20 + b/2.
  EXPECT_DOUBLE_EQ(inst.link(0, 1).cost(100), 20 + 50);
}

}  // namespace
}  // namespace hxrt::sched
