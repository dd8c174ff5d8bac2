#include "suite.hpp"
namespace hxrt::conformance {
void add_memory_groups(std::vector<GroupInfo>&) {}
void add_stream_groups(std::vector<GroupInfo>&) {}
void add_op_groups(std::vector<GroupInfo>&) {}
void add_executable_groups(std::vector<GroupInfo>&) {}
void add_onnx_groups(std::vector<GroupInfo>&) {}
}
