// Helpers for the graph tests: building small ONNX models in code, a fake
// constant folder, the shared-data location and error expectations.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "graph/ir.hpp"
#include "graph/onnx_proto.hpp"
#include "graph/shape_inference.hpp"

namespace hxrt::host::test {

// $HXRT_SHARED_DATA (else the CMake HXRT_SHARED_DATA the tests were built
// with), or nullopt when unset or not a folder.
std::optional<std::filesystem::path> shared_data_dir();

// Runs `fn`, expects an Error with `code` whose message contains `text`.
template <typename Fn>
void expect_error(Fn&& fn, hxrt_status_code code, const std::string& text) {
  try {
    fn();
    ADD_FAILURE() << "expected an Error containing '" << text << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_THAT(e.message(), ::testing::HasSubstr(text));
  }
}

// Evaluates ConstantOfShape only (what light models need for their weights).
std::vector<std::shared_ptr<const HostTensor>> fold_constant_of_shape(const Graph& graph, const Node& node);
// ConstantOfShape plus int64 shape arithmetic used in unit tests: Gather
// (axis 0, 1-D data), Concat (1-D), Cast to int64 from int64.
std::vector<std::shared_ptr<const HostTensor>> fold_shape_ops(const Graph& graph, const Node& node);

HostTensor make_int64(const Shape& shape, const std::vector<int64_t>& values);
HostTensor make_float(const Shape& shape, const std::vector<float>& values);

// Builds a ModelProto step by step.
class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 18, int64_t ir_version = 8);

  // `dims` entries < 0 become symbolic (dim_param "d<k>"); nullopt: no shape.
  ModelBuilder& input(const std::string& name, int32_t elem_type, std::optional<std::vector<int64_t>> dims);
  ModelBuilder& output(const std::string& name, int32_t elem_type = onnx::TensorProto::FLOAT);
  ModelBuilder& init_int64(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& v);
  ModelBuilder& init_float(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v);
  onnx::NodeProto& node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                        const std::string& name = "");

  onnx::ModelProto& proto() { return model_; }
  std::string bytes() const;
  Graph import() const;

 private:
  onnx::TensorProto& add_initializer(const std::string& name, int32_t data_type, const std::vector<int64_t>& dims);

  onnx::ModelProto model_;
};

void set_attr(onnx::NodeProto& node, const std::string& name, int64_t v);
void set_attr(onnx::NodeProto& node, const std::string& name, float v);
void set_attr(onnx::NodeProto& node, const std::string& name, const std::string& v);
void set_attr(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& v);
void set_attr(onnx::NodeProto& node, const std::string& name, const std::vector<float>& v);

}  // namespace hxrt::host::test
