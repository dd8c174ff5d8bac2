// Helpers shared by the groups.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "op_cases.hpp"
#include "plugin.hpp"
#include "suite.hpp"

namespace hxrt::conformance {

// Loads the plugin under test; throws std::runtime_error when it does not load
// (abi.load reports that as a check; other groups then never run).
std::unique_ptr<Plugin> load_plugin(const Options& options);

// The device indices the run covers. With zero devices (or a --device index
// the plugin lacks) it records one skip (or failure) for `group` and returns {}.
std::vector<size_t> selected_devices(GroupContext& g, Context& context);

// Loads the plugin, creates a context and runs `body` for each selected
// device (the shape of most groups).
void for_each_device(GroupContext& g, const std::function<void(const Plugin&, Device&, int)>& body);

// Fails `c` unless `status` has `expected`; names the call and both codes.
bool expect_code(Check& c, const Status& status, hxrt_status_code expected, const std::string& call);

// A small float32 case of `op` (Relu [2,3], Add [2,3]x[2,3], ...) for checks that need a node.
OpCase simple_case(const std::string& op, Dims shape = {2, 3});

// A byte pattern that differs at every offset and between `seed`s.
std::vector<uint8_t> pattern(size_t size, uint32_t seed);

// Process statistics for leak checks.
size_t resident_bytes();
int thread_count();

std::string hex_byte(uint8_t b);
// "" when equal, else "byte N: observed 0x.., expected 0x.. (K bytes differ)".
std::string compare_bytes(const uint8_t* got, const uint8_t* expected, size_t size);

}  // namespace hxrt::conformance
