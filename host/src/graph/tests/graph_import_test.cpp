// ONNX import: well-formed models, Constant nodes, initializers, and
// malformed inputs that must give a clear Error (never a crash).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "common/error.hpp"
#include "graph/onnx_import.hpp"
#include "graph/tensor_proto.hpp"
#include "test_util.hpp"

using namespace hxrt::host;
using namespace hxrt::host::test;

namespace {

ModelBuilder relu_model() {
  ModelBuilder m(13);
  m.input("x", onnx::TensorProto::FLOAT, std::vector<int64_t>{2, 3});
  m.node("Relu", {"x"}, {"y"}, "relu");
  m.output("y");
  return m;
}

ModelBuilder conv_model() {
  ModelBuilder m(13);
  m.input("x", onnx::TensorProto::FLOAT, std::vector<int64_t>{1, 2, 5, 5});
  m.init_float("w", {4, 2, 3, 3}, std::vector<float>(72, 0.5f));
  m.init_float("b", {4}, {1, 2, 3, 4});
  auto& conv = m.node("Conv", {"x", "w", "b"}, {"c"}, "conv");
  set_attr(conv, "pads", std::vector<int64_t>{1, 1, 1, 1});
  m.node("Relu", {"c"}, {"y"}, "relu");
  m.output("y");
  return m;
}

}  // namespace

TEST(GraphImport, BasicModel) {
  Graph g = conv_model().import();
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op_type, "Conv");
  EXPECT_EQ(g.nodes[0].opset, 13);
  EXPECT_EQ(g.nodes[0].get_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.values[g.inputs[0]].name, "x");
  EXPECT_EQ(g.values[g.inputs[0]].shape, (Shape{1, 2, 5, 5}));
  const int w = g.find_value("w");
  ASSERT_GE(w, 0);
  ASSERT_TRUE(g.values[w].constant);
  EXPECT_EQ(g.values[w].constant->shape, (Shape{4, 2, 3, 3}));
  EXPECT_EQ(g.values[g.find_value("c")].producer, 0);
  EXPECT_EQ(g.values[g.find_value("y")].producer, 1);
  EXPECT_EQ(g.find_value("nope"), -1);
}

TEST(GraphImport, OldIrInitializersListedAsInputsAreNotRuntimeInputs) {
  ModelBuilder m = conv_model();
  m.proto().set_ir_version(3);
  for (const char* name : {"w", "b"}) {
    auto* in = m.proto().mutable_graph()->add_input();
    in->set_name(name);
    in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  Graph g = m.import();
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.values[g.inputs[0]].name, "x");
}

TEST(GraphImport, NodesAreTopologicallySorted) {
  ModelBuilder m(13);
  m.input("x", onnx::TensorProto::FLOAT, std::vector<int64_t>{4});
  m.node("Neg", {"a"}, {"y"}, "second");  // consumes 'a' before it is produced
  m.node("Relu", {"x"}, {"a"}, "first");
  m.output("y");
  Graph g = m.import();
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].name, "first");
  EXPECT_EQ(g.nodes[1].name, "second");
  EXPECT_EQ(g.values[g.find_value("a")].producer, 0);
  EXPECT_EQ(g.values[g.find_value("y")].producer, 1);
}

TEST(GraphImport, ConstantNodesBecomeConstants) {
  ModelBuilder m(13);
  m.input("x", onnx::TensorProto::FLOAT, std::vector<int64_t>{2});
  set_attr(m.node("Constant", {}, {"cf"}), "value_float", 2.5f);
  set_attr(m.node("Constant", {}, {"cfs"}), "value_floats", std::vector<float>{1, 2, 3});
  set_attr(m.node("Constant", {}, {"ci"}), "value_int", int64_t{7});
  set_attr(m.node("Constant", {}, {"cis"}), "value_ints", std::vector<int64_t>{4, 5});
  {
    auto& n = m.node("Constant", {}, {"ct"});
    auto* a = n.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::INT32);
    a->mutable_t()->add_dims(2);
    a->mutable_t()->add_int32_data(-1);
    a->mutable_t()->add_int32_data(9);
  }
  m.node("Add", {"x", "cf"}, {"y"});
  m.output("y");
  Graph g = m.import();
  ASSERT_EQ(g.nodes.size(), 1u);  // only Add remains
  auto c = [&](const char* n) { return g.values[g.find_value(n)].constant; };
  ASSERT_TRUE(c("cf") && c("cfs") && c("ci") && c("cis") && c("ct"));
  EXPECT_EQ(c("cf")->shape, Shape{});
  EXPECT_FLOAT_EQ(c("cf")->data<float>()[0], 2.5f);
  EXPECT_EQ(c("cfs")->shape, Shape{3});
  EXPECT_EQ(c("ci")->as_ints(), std::vector<int64_t>{7});
  EXPECT_EQ(c("cis")->as_ints(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(c("ct")->dtype, HXRT_DTYPE_INT32);
  EXPECT_EQ(c("ct")->as_ints(), (std::vector<int64_t>{-1, 9}));
  EXPECT_EQ(g.values[g.find_value("cf")].producer, -1);
}

TEST(GraphImport, SparseConstantIsUnimplemented) {
  ModelBuilder m = relu_model();
  auto& n = m.node("Constant", {}, {"s"});
  auto* a = n.add_attribute();
  a->set_name("sparse_value");
  a->set_type(onnx::AttributeProto::SPARSE_TENSOR);
  a->mutable_sparse_tensor()->mutable_values()->set_data_type(onnx::TensorProto::FLOAT);
  expect_error([&] { m.import(); }, HXRT_STATUS_UNIMPLEMENTED, "sparse_value");
}

TEST(GraphImport, TypedTensorFields) {
  auto check = [](onnx::TensorProto::DataType type, auto fill, hxrt_dtype dtype, std::vector<uint8_t> bytes) {
    onnx::TensorProto t;
    t.set_name("t");
    t.set_data_type(type);
    t.add_dims(2);
    fill(t);
    HostTensor h = tensor_from_proto(t);
    EXPECT_EQ(h.dtype, dtype);
    EXPECT_EQ(h.shape, Shape{2});
    EXPECT_EQ(h.bytes, bytes) << dtype_name(dtype);
  };
  check(onnx::TensorProto::INT8, [](auto& t) { t.add_int32_data(-1); t.add_int32_data(2); }, HXRT_DTYPE_INT8,
        {0xff, 0x02});
  check(onnx::TensorProto::BOOL, [](auto& t) { t.add_int32_data(1); t.add_int32_data(0); }, HXRT_DTYPE_BOOL,
        {1, 0});
  check(onnx::TensorProto::FLOAT16, [](auto& t) { t.add_int32_data(0x3c00); t.add_int32_data(0xc000); },
        HXRT_DTYPE_FLOAT16, {0x00, 0x3c, 0x00, 0xc0});
  check(onnx::TensorProto::BFLOAT16, [](auto& t) { t.add_int32_data(0x3f80); t.add_int32_data(0x4000); },
        HXRT_DTYPE_BFLOAT16, {0x80, 0x3f, 0x00, 0x40});
  check(onnx::TensorProto::UINT16, [](auto& t) { t.add_int32_data(65535); t.add_int32_data(1); },
        HXRT_DTYPE_UINT16, {0xff, 0xff, 0x01, 0x00});
  check(onnx::TensorProto::UINT32, [](auto& t) { t.add_uint64_data(1); t.add_uint64_data(0xffffffffu); },
        HXRT_DTYPE_UINT32, {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff});
  onnx::TensorProto d;
  d.set_data_type(onnx::TensorProto::DOUBLE);
  d.add_double_data(1.5);
  EXPECT_EQ(tensor_from_proto(d).data<double>()[0], 1.5);  // no dims: a scalar
  onnx::TensorProto i64;
  i64.set_data_type(onnx::TensorProto::INT64);
  i64.add_dims(3);
  i64.add_int64_data(-5);
  i64.add_int64_data(0);
  i64.add_int64_data(1LL << 40);
  EXPECT_EQ(tensor_from_proto(i64).as_ints(), (std::vector<int64_t>{-5, 0, 1LL << 40}));
  onnx::TensorProto u64;
  u64.set_data_type(onnx::TensorProto::UINT64);
  u64.add_uint64_data(~0ULL);
  EXPECT_EQ(tensor_from_proto(u64).data<uint64_t>()[0], ~0ULL);

  // Wrong element count and raw_data size: DATA_LOSS.
  onnx::TensorProto bad;
  bad.set_name("bad");
  bad.set_data_type(onnx::TensorProto::FLOAT);
  bad.add_dims(3);
  bad.add_float_data(1);
  expect_error([&] { tensor_from_proto(bad); }, HXRT_STATUS_DATA_LOSS, "tensor 'bad'");
  bad.clear_float_data();
  bad.set_raw_data(std::string(5, '\0'));
  expect_error([&] { tensor_from_proto(bad); }, HXRT_STATUS_DATA_LOSS, "raw_data");
  // Unsupported dtypes and external data: UNIMPLEMENTED.
  onnx::TensorProto s;
  s.set_data_type(onnx::TensorProto::STRING);
  expect_error([&] { tensor_from_proto(s); }, HXRT_STATUS_UNIMPLEMENTED, "STRING");
  onnx::TensorProto f8;
  f8.set_data_type(17);
  expect_error([&] { tensor_from_proto(f8); }, HXRT_STATUS_UNIMPLEMENTED, "FLOAT8E4M3FN");
  onnx::TensorProto ext;
  ext.set_name("weights");
  ext.set_data_type(onnx::TensorProto::FLOAT);
  ext.add_dims(4);
  ext.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = ext.add_external_data();
  kv->set_key("location");
  kv->set_value("weights.bin");
  expect_error([&] { tensor_from_proto(ext); }, HXRT_STATUS_UNIMPLEMENTED, "external data (location 'weights.bin')");
}

TEST(GraphImport, ExternalInitializerIsUnimplemented) {
  ModelBuilder m = conv_model();
  auto* w = m.proto().mutable_graph()->mutable_initializer(0);
  w->clear_raw_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  expect_error([&] { m.import(); }, HXRT_STATUS_UNIMPLEMENTED, "initializer 'w'");
}

TEST(GraphImport, TensorProtoFileRoundTrip) {
  const auto path = std::filesystem::temp_directory_path() / ("graph_tensor_" + std::to_string(::getpid()) + ".pb");
  const HostTensor t = make_float({2, 2}, {1, 2, 3, 4});
  save_tensor_proto_file(path.string(), t, "x");
  const HostTensor back = load_tensor_proto_file(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(back.dtype, t.dtype);
  EXPECT_EQ(back.shape, t.shape);
  EXPECT_EQ(back.bytes, t.bytes);
  expect_error([&] { load_tensor_proto_file(path.string()); }, HXRT_STATUS_NOT_FOUND, "cannot open");
}

TEST(GraphImport, DomainAliasAndCustomDomains) {
  ModelBuilder m = relu_model();
  m.proto().mutable_opset_import(0)->set_domain("ai.onnx");
  auto* ms = m.proto().add_opset_import();
  ms->set_domain("com.example");
  ms->set_version(2);
  auto& custom = m.node("Fancy", {"y"}, {"z"}, "fancy");
  custom.set_domain("com.example");
  m.output("z");
  Graph g = m.import();
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].domain, "");
  EXPECT_EQ(g.nodes[0].opset, 13);
  EXPECT_EQ(g.nodes[1].domain, "com.example");
  EXPECT_EQ(g.nodes[1].opset, 2);
  EXPECT_EQ(g.opset_imports.at(""), 13);
}

TEST(GraphImport, ControlFlowIsUnimplemented) {
  ModelBuilder m(13);
  m.input("cond", onnx::TensorProto::BOOL, std::vector<int64_t>{});
  auto& n = m.node("If", {"cond"}, {"y"}, "branch");
  for (const char* name : {"then_branch", "else_branch"}) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::GRAPH);
    a->mutable_g()->set_name(name);
  }
  m.output("y");
  expect_error([&] { m.import(); }, HXRT_STATUS_UNIMPLEMENTED, "control flow op If is not supported");
}

TEST(GraphImport, UnsupportedInputTypes) {
  ModelBuilder m(13);
  m.input("x", 14 /* COMPLEX64 */, std::vector<int64_t>{2});
  m.node("Identity", {"x"}, {"y"});
  m.output("y", 14);
  expect_error([&] { m.import(); }, HXRT_STATUS_UNIMPLEMENTED, "graph input 'x' has unsupported element type COMPLEX64");
}

TEST(GraphImport, DynamicDimsLeaveShapeUnknown) {
  ModelBuilder m(13);
  m.input("x", onnx::TensorProto::FLOAT, std::vector<int64_t>{-1, 3});
  m.input("z", onnx::TensorProto::FLOAT, std::nullopt);
  m.node("Relu", {"x"}, {"y"});
  m.node("Relu", {"z"}, {"w"});
  m.output("y");
  m.output("w");
  Graph g = m.import();
  EXPECT_FALSE(g.values[g.find_value("x")].shape);
  EXPECT_EQ(partial_shape_to_string(g.declared_shapes.at(g.find_value("x"))), "[?,3]");
  EXPECT_FALSE(g.values[g.find_value("z")].shape);
  EXPECT_EQ(g.declared_shapes.count(g.find_value("z")), 0u);
}

// ------------------------------------------------------------ malformed models

TEST(GraphImportMalformed, RandomBytes) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes(static_cast<size_t>(1 + rng() % 512), '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    try {
      import_onnx_model(bytes.data(), bytes.size());
      ADD_FAILURE() << "random bytes imported (trial " << trial << ")";
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == HXRT_STATUS_DATA_LOSS || e.code() == HXRT_STATUS_INVALID_ARGUMENT) << e.what();
      EXPECT_FALSE(e.message().empty());
    }
  }
  expect_error([] { import_onnx_model("", 0); }, HXRT_STATUS_INVALID_ARGUMENT, "empty");
  const std::string garbage = "\xff\xff\xff\xff not a model";
  expect_error([&] { import_onnx_model(garbage.data(), garbage.size()); }, HXRT_STATUS_DATA_LOSS,
               "failed to parse the ONNX model");
}

TEST(GraphImportMalformed, TruncatedModel) {
  const std::string full = conv_model().bytes();
  ASSERT_NO_THROW(import_onnx_model(full.data(), full.size()));
  for (size_t len = 1; len < full.size(); ++len) {
    try {
      import_onnx_model(full.data(), len);
      ADD_FAILURE() << "model truncated to " << len << " of " << full.size() << " bytes imported";
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == HXRT_STATUS_DATA_LOSS || e.code() == HXRT_STATUS_INVALID_ARGUMENT) << e.what();
    }
  }
}

TEST(GraphImportMalformed, MissingFile) {
  expect_error([] { import_onnx_file("/nonexistent/model.onnx"); }, HXRT_STATUS_NOT_FOUND, "/nonexistent/model.onnx");
}

TEST(GraphImportMalformed, Cycle) {
  ModelBuilder m(13);
  m.input("x", onnx::TensorProto::FLOAT, std::vector<int64_t>{4});
  m.node("Add", {"x", "b"}, {"a"}, "add");
  m.node("Relu", {"a"}, {"b"}, "relu");
  m.node("Neg", {"a"}, {"y"}, "neg");
  m.output("y");
  expect_error([&] { m.import(); }, HXRT_STATUS_INVALID_ARGUMENT, "cycle");
}

TEST(GraphImportMalformed, MissingProducer) {
  ModelBuilder m(13);
  m.input("x", onnx::TensorProto::FLOAT, std::vector<int64_t>{4});
  m.node("Add", {"x", "ghost"}, {"y"}, "add1");
  m.output("y");
  expect_error([&] { m.import(); }, HXRT_STATUS_INVALID_ARGUMENT,
               "Add node 'add1': input 'ghost' is not produced by any node");
}

TEST(GraphImportMalformed, MissingGraphOutput) {
  ModelBuilder m = relu_model();
  m.output("ghost");
  expect_error([&] { m.import(); }, HXRT_STATUS_INVALID_ARGUMENT, "graph output 'ghost'");
}

TEST(GraphImportMalformed, ValueProducedTwice) {
  ModelBuilder m = relu_model();
  m.node("Neg", {"x"}, {"y"}, "neg");
  expect_error([&] { m.import(); }, HXRT_STATUS_INVALID_ARGUMENT, "value 'y' produced by Neg node 'neg'");
}

TEST(GraphImportMalformed, EmptyGraph) {
  ModelBuilder m(13);
  m.input("x", onnx::TensorProto::FLOAT, std::vector<int64_t>{4});
  m.output("x");
  expect_error([&] { m.import(); }, HXRT_STATUS_INVALID_ARGUMENT, "empty graph");
}

TEST(GraphImportMalformed, MissingOpsetImport) {
  ModelBuilder m = relu_model();
  m.proto().clear_opset_import();
  expect_error([&] { m.import(); }, HXRT_STATUS_INVALID_ARGUMENT, "no opset_import");
}

TEST(GraphImportMalformed, NodeDomainNotImported) {
  ModelBuilder m = relu_model();
  m.proto().mutable_graph()->mutable_node(0)->set_domain("com.other");
  expect_error([&] { m.import(); }, HXRT_STATUS_INVALID_ARGUMENT, "domain 'com.other'");
}

TEST(GraphImportMalformed, IrVersion) {
  ModelBuilder m = relu_model();
  m.proto().set_ir_version(kMaxOnnxIrVersion + 1);
  expect_error([&] { m.import(); }, HXRT_STATUS_INVALID_ARGUMENT, "ir_version " + std::to_string(kMaxOnnxIrVersion + 1));
  m.proto().clear_ir_version();
  expect_error([&] { m.import(); }, HXRT_STATUS_INVALID_ARGUMENT, "no ir_version");
}

TEST(GraphImportMalformed, CorruptedBytesNeverCrash) {
  // Flip bytes of a valid model: import and shape inference either succeed
  // or throw hxrt::host::Error; nothing else escapes.
  const std::string full = conv_model().bytes();
  std::mt19937 rng(99);
  int imported = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes = full;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    try {
      Graph g = import_onnx_model(bytes.data(), bytes.size());
      ++imported;
      infer_shapes(g, fold_shape_ops);
    } catch (const Error& e) {
      EXPECT_FALSE(e.message().empty());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "trial " << trial << ": non-hxrt exception: " << e.what();
    }
  }
  EXPECT_GT(imported, 0);
}
