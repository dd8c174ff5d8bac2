// Shape inference: op shape functions, folding, and clear errors.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/error.hpp"
#include "graph/shape_inference.hpp"
#include "test_util.hpp"

using namespace hxrt::host;
using namespace hxrt::host::test;

namespace {

constexpr int32_t F = onnx::TensorProto::FLOAT;
constexpr int32_t I64 = onnx::TensorProto::INT64;

const Value& val(const Graph& g, const char* name) {
  const int id = g.find_value(name);
  if (id < 0) throw std::runtime_error(std::string("no value ") + name);
  return g.values[static_cast<size_t>(id)];
}

Shape shape_of(const Graph& g, const char* name) { return val(g, name).shape.value(); }

// Infers a one-node model: `op` over inputs (name, type, dims) with attributes set by `attrs`.
template <typename Attrs>
Graph infer_one(int64_t opset, const std::string& op, std::vector<std::pair<std::string, std::vector<int64_t>>> inputs,
                std::vector<std::string> outputs, Attrs attrs, const ConstantFolder& fold = nullptr) {
  ModelBuilder m(opset);
  std::vector<std::string> names;
  for (auto& [name, dims] : inputs) {
    m.input(name, F, dims);
    names.push_back(name);
  }
  auto& n = m.node(op, names, outputs, "n1");
  attrs(n);
  for (auto& o : outputs) {
    if (!o.empty()) m.output(o);
  }
  Graph g = m.import();
  infer_shapes(g, fold);
  return g;
}

auto no_attrs = [](onnx::NodeProto&) {};

}  // namespace

TEST(ShapeInference, BroadcastAndComparison) {
  ModelBuilder m(13);
  m.input("a", F, std::vector<int64_t>{2, 1, 4});
  m.input("b", F, std::vector<int64_t>{3, 1});
  m.node("Add", {"a", "b"}, {"s"});
  m.node("Less", {"a", "b"}, {"l"});
  m.node("Where", {"l", "a", "b"}, {"w"});
  m.output("w");
  Graph g = m.import();
  infer_shapes(g, nullptr);
  EXPECT_EQ(shape_of(g, "s"), (Shape{2, 3, 4}));
  EXPECT_EQ(val(g, "l").dtype, HXRT_DTYPE_BOOL);
  EXPECT_EQ(shape_of(g, "w"), (Shape{2, 3, 4}));
  EXPECT_EQ(val(g, "w").dtype, HXRT_DTYPE_FLOAT32);
}

TEST(ShapeInference, IncompatibleBroadcastIsReported) {
  expect_error([] { infer_one(13, "Mul", {{"a", {2, 3}}, {"b", {4}}}, {"y"}, no_attrs); },
               HXRT_STATUS_INVALID_ARGUMENT, "Mul node 'n1': shapes [2,3] and [4] are not broadcast-compatible");
}

TEST(ShapeInference, MatMulNumpyRules) {
  EXPECT_EQ(shape_of(infer_one(13, "MatMul", {{"a", {3}}, {"b", {3}}}, {"y"}, no_attrs), "y"), Shape{});
  EXPECT_EQ(shape_of(infer_one(13, "MatMul", {{"a", {3}}, {"b", {2, 3, 5}}}, {"y"}, no_attrs), "y"), (Shape{2, 5}));
  EXPECT_EQ(shape_of(infer_one(13, "MatMul", {{"a", {2, 1, 4, 3}}, {"b", {5, 3, 6}}}, {"y"}, no_attrs), "y"),
            (Shape{2, 5, 4, 6}));
  EXPECT_EQ(shape_of(infer_one(13, "MatMul", {{"a", {4, 3}}, {"b", {3}}}, {"y"}, no_attrs), "y"), (Shape{4}));
  expect_error([] { infer_one(13, "MatMul", {{"a", {4, 3}}, {"b", {2, 5}}}, {"y"}, no_attrs); },
               HXRT_STATUS_INVALID_ARGUMENT, "inner dimensions differ");
}

TEST(ShapeInference, ConvAndErrors) {
  auto attrs = [](onnx::NodeProto& n) {
    set_attr(n, "strides", std::vector<int64_t>{2, 2});
    set_attr(n, "pads", std::vector<int64_t>{3, 3, 3, 3});
  };
  Graph g = infer_one(13, "Conv", {{"x", {1, 3, 224, 224}}, {"w", {64, 3, 7, 7}}}, {"y"}, attrs);
  EXPECT_EQ(shape_of(g, "y"), (Shape{1, 64, 112, 112}));
  auto same = [](onnx::NodeProto& n) {
    set_attr(n, "auto_pad", std::string("SAME_UPPER"));
    set_attr(n, "strides", std::vector<int64_t>{2, 2});
  };
  EXPECT_EQ(shape_of(infer_one(13, "Conv", {{"x", {1, 3, 7, 7}}, {"w", {8, 3, 3, 3}}}, {"y"}, same), "y"),
            (Shape{1, 8, 4, 4}));
  expect_error([] { infer_one(13, "Conv", {{"x", {1, 3, 8, 8}}, {"w", {8, 3, 3}}}, {"y"}, no_attrs); },
               HXRT_STATUS_INVALID_ARGUMENT, "Conv node 'n1': input X has rank 4 ([1,3,8,8]) but W has rank 3");
  expect_error([] { infer_one(13, "Conv", {{"x", {1, 4, 8, 8}}, {"w", {8, 3, 3, 3}}}, {"y"}, no_attrs); },
               HXRT_STATUS_INVALID_ARGUMENT, "X has 4 channels");
}

TEST(ShapeInference, PoolsCeilModeAndIndices) {
  auto attrs = [](onnx::NodeProto& n) {
    set_attr(n, "kernel_shape", std::vector<int64_t>{3, 3});
    set_attr(n, "strides", std::vector<int64_t>{2, 2});
    set_attr(n, "ceil_mode", int64_t{1});
  };
  Graph g = infer_one(12, "MaxPool", {{"x", {1, 2, 6, 6}}}, {"y", "i"}, attrs);
  EXPECT_EQ(shape_of(g, "y"), (Shape{1, 2, 3, 3}));
  EXPECT_EQ(val(g, "i").dtype, HXRT_DTYPE_INT64);
  EXPECT_EQ(shape_of(infer_one(12, "GlobalAveragePool", {{"x", {1, 2, 6, 5}}}, {"y"}, no_attrs), "y"),
            (Shape{1, 2, 1, 1}));
}

TEST(ShapeInference, ConvTransposeOutputShapeAndPadding) {
  auto attrs = [](onnx::NodeProto& n) {
    set_attr(n, "strides", std::vector<int64_t>{3, 2});
    set_attr(n, "output_padding", std::vector<int64_t>{1, 1});
  };
  EXPECT_EQ(shape_of(infer_one(13, "ConvTranspose", {{"x", {1, 1, 3, 3}}, {"w", {1, 2, 3, 3}}}, {"y"}, attrs), "y"),
            (Shape{1, 2, 10, 8}));
  auto out_shape = [](onnx::NodeProto& n) {
    set_attr(n, "strides", std::vector<int64_t>{3, 2});
    set_attr(n, "output_shape", std::vector<int64_t>{10, 8});
  };
  EXPECT_EQ(
      shape_of(infer_one(13, "ConvTranspose", {{"x", {1, 1, 3, 3}}, {"w", {1, 2, 3, 3}}}, {"y"}, out_shape), "y"),
      (Shape{1, 2, 10, 8}));
}

TEST(ShapeInference, NormalizationExtraOutputs) {
  Graph g = infer_one(17, "LayerNormalization", {{"x", {2, 3, 4}}, {"s", {4}}}, {"y", "mean", "inv"},
                      [](onnx::NodeProto& n) { set_attr(n, "axis", int64_t{-1}); });
  EXPECT_EQ(shape_of(g, "mean"), (Shape{2, 3, 1}));
  EXPECT_EQ(val(g, "inv").dtype, HXRT_DTYPE_FLOAT32);
  Graph d = infer_one(13, "Dropout", {{"x", {2, 3}}}, {"y", "mask"}, no_attrs);
  EXPECT_EQ(val(d, "mask").dtype, HXRT_DTYPE_BOOL);
  EXPECT_EQ(shape_of(d, "mask"), (Shape{2, 3}));
}

TEST(ShapeInference, ReduceAxesAttributeAndInput) {
  auto keep0 = [](onnx::NodeProto& n) {
    set_attr(n, "axes", std::vector<int64_t>{1, -1});
    set_attr(n, "keepdims", int64_t{0});
  };
  EXPECT_EQ(shape_of(infer_one(13, "ReduceMean", {{"x", {2, 3, 4}}}, {"y"}, keep0), "y"), Shape{2});
  EXPECT_EQ(shape_of(infer_one(13, "ReduceMax", {{"x", {2, 3, 4}}}, {"y"}, no_attrs), "y"), (Shape{1, 1, 1}));
  // ReduceSum-13 takes axes as an input; noop_with_empty_axes keeps the shape.
  ModelBuilder m(13);
  m.input("x", F, std::vector<int64_t>{2, 3, 4});
  m.init_int64("axes", {1}, {1});
  m.node("ReduceSum", {"x", "axes"}, {"y"});
  set_attr(m.node("ReduceSum", {"x"}, {"z"}), "noop_with_empty_axes", int64_t{1});
  m.output("y");
  m.output("z");
  Graph g = m.import();
  infer_shapes(g, nullptr);
  EXPECT_EQ(shape_of(g, "y"), (Shape{2, 1, 4}));
  EXPECT_EQ(shape_of(g, "z"), (Shape{2, 3, 4}));
}

TEST(ShapeInference, ReshapeShapeMustBeConstant) {
  ModelBuilder m(13);
  m.input("x", F, std::vector<int64_t>{2, 6});
  m.input("s", I64, std::vector<int64_t>{2});
  m.node("Reshape", {"x", "s"}, {"y"}, "r1");
  m.output("y");
  Graph g = m.import();
  expect_error([&] { infer_shapes(g, nullptr); }, HXRT_STATUS_UNIMPLEMENTED,
               "Reshape node 'r1': shape input is not a compile-time constant");
  // Binding the input as a constant resolves it.
  Graph b = m.import();
  bind_input_constants(b, {{"s", make_int64({2}, {0, -1})}});
  infer_shapes(b, nullptr);
  EXPECT_EQ(shape_of(b, "y"), (Shape{2, 6}));
  EXPECT_EQ(b.inputs.size(), 1u);
}

TEST(ShapeInference, ReshapeErrors) {
  ModelBuilder m(13);
  m.input("x", F, std::vector<int64_t>{2, 6});
  m.init_int64("s", {2}, {5, -1});
  m.node("Reshape", {"x", "s"}, {"y"}, "r1");
  m.output("y");
  Graph g = m.import();
  expect_error([&] { infer_shapes(g, nullptr); }, HXRT_STATUS_INVALID_ARGUMENT, "cannot reshape [2,6]");
}

TEST(ShapeInference, ShapeGatherConcatReshapeChainFolds) {
  // y = Reshape(x, Concat(Gather(Shape(x), 0), [-1])): needs Gather/Concat folding.
  ModelBuilder m(13);
  m.input("x", F, std::vector<int64_t>{4, 3, 2});
  m.init_int64("idx", {1}, {0});
  m.init_int64("minus1", {1}, {-1});
  m.node("Shape", {"x"}, {"s"});
  m.node("Gather", {"s", "idx"}, {"d0"});
  m.node("Concat", {"d0", "minus1"}, {"target"});
  set_attr(m.proto().mutable_graph()->mutable_node(2)[0], "axis", int64_t{0});
  m.node("Reshape", {"x", "target"}, {"y"}, "r1");
  m.output("y");
  Graph g = m.import();
  infer_shapes(g, fold_shape_ops);
  ASSERT_TRUE(val(g, "s").constant);
  EXPECT_EQ(val(g, "s").constant->as_ints(), (std::vector<int64_t>{4, 3, 2}));
  ASSERT_TRUE(val(g, "target").constant);
  EXPECT_EQ(val(g, "target").constant->as_ints(), (std::vector<int64_t>{4, -1}));
  EXPECT_EQ(shape_of(g, "y"), (Shape{4, 6}));
  // Without a folder, the Gather result is unknown and the Reshape fails clearly.
  Graph n = m.import();
  expect_error([&] { infer_shapes(n, nullptr); }, HXRT_STATUS_UNIMPLEMENTED, "Reshape node 'r1': shape input");
}

TEST(ShapeInference, ConstantOfShapeFoldsAndSizeIsConstant) {
  ModelBuilder m(13);
  m.input("x", F, std::vector<int64_t>{2, 3});
  m.node("Shape", {"x"}, {"s"});
  auto& cos = m.node("ConstantOfShape", {"s"}, {"c"});
  auto* a = cos.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::INT32);
  a->mutable_t()->add_dims(1);
  a->mutable_t()->add_int32_data(7);
  m.node("Size", {"x"}, {"n"});
  m.node("Unsqueeze", {"n", "zero"}, {"n1"});
  m.init_int64("zero", {1}, {0});
  m.output("c", onnx::TensorProto::INT32);
  m.output("n1", I64);
  Graph g = m.import();
  infer_shapes(g, fold_constant_of_shape);
  const Value& c = val(g, "c");
  EXPECT_EQ(c.dtype, HXRT_DTYPE_INT32);
  ASSERT_TRUE(c.constant);
  EXPECT_EQ(c.constant->as_ints(), (std::vector<int64_t>(6, 7)));
  ASSERT_TRUE(val(g, "n").constant);
  EXPECT_EQ(val(g, "n").constant->as_ints(), std::vector<int64_t>{6});
  ASSERT_TRUE(val(g, "n1").constant);  // Unsqueeze of a constant: no folder needed
  EXPECT_EQ(val(g, "n1").constant->shape, Shape{1});
}

TEST(ShapeInference, FolderResultMustMatchInference) {
  ModelBuilder m(13);
  m.init_float("a", {2}, {1, 2});
  m.input("x", F, std::vector<int64_t>{2});
  m.node("Neg", {"a"}, {"na"}, "neg");
  m.node("Add", {"x", "na"}, {"y"});
  m.output("y");
  Graph g = m.import();
  auto wrong = [](const Graph&, const Node&) {
    return std::vector<std::shared_ptr<const HostTensor>>{std::make_shared<HostTensor>(make_float({3}, {1, 2, 3}))};
  };
  expect_error([&] { infer_shapes(g, wrong); }, HXRT_STATUS_INTERNAL, "Neg node 'neg': folded output 0");
  Graph ok = m.import();
  auto neg = [](const Graph& graph, const Node& node) {
    const auto& in = *graph.values[static_cast<size_t>(node.inputs[0])].constant;
    return std::vector<std::shared_ptr<const HostTensor>>{
        std::make_shared<HostTensor>(make_float(in.shape, {-in.data<float>()[0], -in.data<float>()[1]}))};
  };
  infer_shapes(ok, neg);
  ASSERT_TRUE(val(ok, "na").constant);
  EXPECT_FLOAT_EQ(val(ok, "na").constant->data<float>()[1], -2.0f);
  EXPECT_FALSE(val(ok, "y").constant);
}

TEST(ShapeInference, DynamicInputsNeedShapes) {
  ModelBuilder m(13);
  m.input("x", F, std::vector<int64_t>{-1, 3});
  m.node("Relu", {"x"}, {"y"});
  m.output("y");
  Graph g = m.import();
  expect_error([&] { infer_shapes(g, nullptr); }, HXRT_STATUS_INVALID_ARGUMENT, "graph input 'x' has a dynamic");
  expect_error([&] { set_input_shapes(g, {{"x", {2, 4}}}); }, HXRT_STATUS_INVALID_ARGUMENT,
               "does not match its declared shape [?,3]");
  expect_error([&] { set_input_shapes(g, {{"nope", {2, 4}}}); }, HXRT_STATUS_INVALID_ARGUMENT, "'nope'");
  set_input_shapes(g, {{"x", {5, 3}}});
  infer_shapes(g, nullptr);
  EXPECT_EQ(shape_of(g, "y"), (Shape{5, 3}));
}

TEST(ShapeInference, ConcatSplitSliceTransposeGather) {
  expect_error([] { infer_one(13, "Concat", {{"a", {2, 3}}, {"b", {3, 3}}}, {"y"}, [](onnx::NodeProto& n) {
                      set_attr(n, "axis", int64_t{1});
                    }); },
               HXRT_STATUS_INVALID_ARGUMENT, "Concat node 'n1': input 1 has shape [3,3] which does not match");
  Graph s = infer_one(18, "Split", {{"x", {7, 2}}}, {"a", "b", "c"},
                      [](onnx::NodeProto& n) { set_attr(n, "num_outputs", int64_t{3}); });
  EXPECT_EQ(shape_of(s, "a"), (Shape{3, 2}));
  EXPECT_EQ(shape_of(s, "c"), (Shape{1, 2}));
  Graph s11 = infer_one(11, "Split", {{"x", {6, 2}}}, {"a", "b"},
                        [](onnx::NodeProto& n) { set_attr(n, "split", std::vector<int64_t>{2, 4}); });
  EXPECT_EQ(shape_of(s11, "b"), (Shape{4, 2}));
  Graph sl = infer_one(9, "Slice", {{"x", {10, 8}}}, {"y"}, [](onnx::NodeProto& n) {
    set_attr(n, "starts", std::vector<int64_t>{-3, 1});
    set_attr(n, "ends", std::vector<int64_t>{1000, 7});
    set_attr(n, "axes", std::vector<int64_t>{0, 1});
  });
  EXPECT_EQ(shape_of(sl, "y"), (Shape{3, 6}));
  Graph t = infer_one(13, "Transpose", {{"x", {2, 3, 4}}}, {"y"},
                      [](onnx::NodeProto& n) { set_attr(n, "perm", std::vector<int64_t>{1, 2, 0}); });
  EXPECT_EQ(shape_of(t, "y"), (Shape{3, 4, 2}));
  EXPECT_EQ(shape_of(infer_one(13, "Transpose", {{"x", {2, 3, 4}}}, {"y"}, no_attrs), "y"), (Shape{4, 3, 2}));
}

TEST(ShapeInference, ResizeScalesAndSizes) {
  ModelBuilder m(19);
  m.input("x", F, std::vector<int64_t>{1, 3, 5, 7});
  m.init_float("scales", {4}, {1, 1, 1.5f, 0.5f});
  m.init_int64("sizes", {2}, {20, 20});
  m.node("Resize", {"x", "", "scales"}, {"a"});
  auto& r = m.node("Resize", {"x", "", "", "sizes"}, {"b"});
  set_attr(r, "axes", std::vector<int64_t>{2, 3});
  set_attr(r, "keep_aspect_ratio_policy", std::string("not_larger"));
  m.output("a");
  m.output("b");
  Graph g = m.import();
  infer_shapes(g, nullptr);
  EXPECT_EQ(shape_of(g, "a"), (Shape{1, 3, 7, 3}));
  EXPECT_EQ(shape_of(g, "b"), (Shape{1, 3, 14, 20}));  // scale = min(20/5, 20/7)
}

TEST(ShapeInference, RangeExpandTilePad) {
  ModelBuilder m(13);
  m.input("x", F, std::vector<int64_t>{3, 1});
  m.init_int64("start", {}, {1});
  m.init_int64("limit", {}, {10});
  m.init_int64("delta", {}, {4});
  m.init_int64("eshape", {3}, {2, 1, 5});
  m.init_int64("reps", {2}, {2, 3});
  m.init_int64("pads", {4}, {1, 0, 2, 1});
  m.node("Range", {"start", "limit", "delta"}, {"r"});
  m.node("Expand", {"x", "eshape"}, {"e"});
  m.node("Tile", {"x", "reps"}, {"t"});
  m.node("Pad", {"x", "pads"}, {"p"});
  for (const char* o : {"r", "e", "t", "p"}) m.output(o);
  Graph g = m.import();
  infer_shapes(g, nullptr);
  EXPECT_EQ(shape_of(g, "r"), Shape{3});
  EXPECT_EQ(val(g, "r").dtype, HXRT_DTYPE_INT64);
  EXPECT_EQ(shape_of(g, "e"), (Shape{2, 3, 5}));
  EXPECT_EQ(shape_of(g, "t"), (Shape{6, 3}));
  EXPECT_EQ(shape_of(g, "p"), (Shape{6, 2}));
}

TEST(ShapeInference, UnknownOpNeedsDeclaredShapes) {
  ModelBuilder m(13);
  auto* ms = m.proto().add_opset_import();
  ms->set_domain("com.example");
  ms->set_version(1);
  m.input("x", F, std::vector<int64_t>{2});
  auto& n = m.node("Fancy", {"x"}, {"y"}, "f1");
  n.set_domain("com.example");
  m.output("y");
  Graph g = m.import();
  expect_error([&] { infer_shapes(g, nullptr); }, HXRT_STATUS_UNIMPLEMENTED,
               "Fancy node 'f1': no shape inference for op com.example:Fancy");
  // With a declared static output shape, the declaration is used.
  auto* dims = m.proto().mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  dims->add_dim()->set_dim_value(2);
  Graph d = m.import();
  infer_shapes(d, nullptr);
  EXPECT_EQ(shape_of(d, "y"), Shape{2});
}

TEST(ShapeInference, CastAndUnsqueezeSqueeze) {
  Graph c = infer_one(13, "Cast", {{"x", {2}}}, {"y"},
                      [](onnx::NodeProto& n) { set_attr(n, "to", int64_t{onnx::TensorProto::FLOAT16}); });
  EXPECT_EQ(val(c, "y").dtype, HXRT_DTYPE_FLOAT16);
  expect_error([] { infer_one(13, "Cast", {{"x", {2}}}, {"y"}, [](onnx::NodeProto& n) { set_attr(n, "to", int64_t{17}); }); },
               HXRT_STATUS_UNIMPLEMENTED, "cast to FLOAT8E4M3FN");
  Graph u = infer_one(11, "Unsqueeze", {{"x", {3, 4}}}, {"y"},
                      [](onnx::NodeProto& n) { set_attr(n, "axes", std::vector<int64_t>{0, -1}); });
  EXPECT_EQ(shape_of(u, "y"), (Shape{1, 3, 4, 1}));
  EXPECT_EQ(shape_of(infer_one(11, "Squeeze", {{"x", {1, 3, 1}}}, {"y"}, no_attrs), "y"), Shape{3});
  expect_error([] { infer_one(11, "Squeeze", {{"x", {2, 3}}}, {"y"}, [](onnx::NodeProto& n) {
                      set_attr(n, "axes", std::vector<int64_t>{0});
                    }); },
               HXRT_STATUS_INVALID_ARGUMENT, "cannot squeeze axis 0");
}

TEST(ShapeInference, RandomNodesGiveErrorsNotCrashes) {
  // Random input shapes and attribute values for every op with a shape
  // function: inference either succeeds or throws hxrt::host::Error.
  const std::vector<std::string> ops = {
      "Add", "Less", "Where", "PRelu", "Sum", "Relu", "Softmax", "Dropout", "BatchNormalization",
      "LayerNormalization", "Cast", "CastLike", "MatMul", "Gemm", "Conv", "ConvTranspose", "MaxPool", "AveragePool",
      "GlobalAveragePool", "ReduceMean", "ReduceSum", "ArgMax", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
      "Transpose", "Concat", "Split", "Slice", "Gather", "GatherElements", "Expand", "Tile", "Pad", "Resize",
      "Upsample", "Shape", "Size", "ConstantOfShape", "Range", "TopK", "DepthToSpace", "SpaceToDepth"};
  const std::vector<std::string> int_attrs = {"axis", "keepdims", "group", "num_outputs", "transA", "transB",
                                              "ceil_mode", "blocksize", "start", "end", "allowzero", "to", "k",
                                              "noop_with_empty_axes"};
  const std::vector<std::string> ints_attrs = {"axes", "perm", "kernel_shape", "strides", "pads", "dilations",
                                               "split", "starts", "ends", "output_shape", "output_padding", "shape"};
  std::mt19937 rng(7);
  auto rnd = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo + 1)); };
  int ok = 0, errors = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    const std::string& op = ops[rng() % ops.size()];
    const int64_t opset = std::vector<int64_t>{1, 6, 7, 9, 10, 11, 13, 18, 19}[rng() % 9];
    ModelBuilder m(opset);
    std::vector<std::string> inputs;
    const int n_in = rnd(1, 5);
    for (int i = 0; i < n_in; ++i) {
      const std::string name = "i" + std::to_string(i);
      if (rnd(0, 3) == 0) {  // a small int64 constant (shape-like)
        const int len = rnd(0, 5);
        std::vector<int64_t> v;
        for (int k = 0; k < len; ++k) v.push_back(rnd(-3, 6));
        m.init_int64(name, {len}, v);
      } else {
        std::vector<int64_t> dims;
        const int rank = rnd(0, 5);
        for (int k = 0; k < rank; ++k) dims.push_back(rnd(0, 6));
        m.input(name, F, dims);
      }
      inputs.push_back(rnd(0, 8) == 0 ? std::string() : name);
    }
    std::vector<std::string> outputs;
    const int n_out = rnd(1, 3);
    for (int o = 0; o < n_out; ++o) outputs.push_back("o" + std::to_string(o));
    auto& node = m.node(op, inputs, outputs, "fuzz");
    for (int a = rnd(0, 4); a > 0; --a) {
      if (rnd(0, 1)) {
        set_attr(node, int_attrs[rng() % int_attrs.size()], int64_t{rnd(-4, 6)});
      } else {
        std::vector<int64_t> v;
        for (int k = rnd(0, 6); k > 0; --k) v.push_back(rnd(-4, 6));
        set_attr(node, ints_attrs[rng() % ints_attrs.size()], v);
      }
    }
    for (auto& o : outputs) m.output(o);
    try {
      Graph g = m.import();
      infer_shapes(g, fold_constant_of_shape);
      ++ok;
    } catch (const Error&) {
      ++errors;
    } catch (const std::exception& e) {
      ADD_FAILURE() << op << " (opset " << opset << "): non-hxrt exception: " << e.what();
    }
  }
  std::printf("[ fuzz  ] %d nodes inferred, %d rejected with Error\n", ok, errors);
}
