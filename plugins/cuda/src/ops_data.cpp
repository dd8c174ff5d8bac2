// Data-movement ops. Reshape-likes are views (a copy only when the output
// lives elsewhere); the rest are strided box copies typed by element size.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "ops.hpp"

namespace hxrt::cuda {
namespace {

constexpr int kMaxOpset = 25;

int elem_size_of(const NodeReader& node, hxrt_dtype t) {
  size_t s = plugin::dtype_size(t);
  if (s != 1 && s != 2 && s != 4 && s != 8)
    throw Unsupported(HXRT_UNSUPPORTED_DTYPE, std::string(node.op_type()) + ": dtype " + plugin::dtype_name(t));
  return static_cast<int>(s);
}

void require_single_output(const NodeReader& node) {
  if (!node.has_output(0)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "missing output");
  for (size_t i = 1; i < node.num_outputs(); ++i)
    if (node.has_output(i))
      throw Unsupported(HXRT_UNSUPPORTED_OTHER, std::string(node.op_type()) + ": extra outputs are not supported");
}

// Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (inference).
class ViewOp final : public Op {
 public:
  explicit ViewOp(const NodeReader& node) {
    require_single_output(node);
    if (!node.has_input(0)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "missing input");
    if (node.op_type() == "Dropout" && node.has_input(2)) {
      TensorInfo training = node.input_info(2);
      if (!training.constant || (!training.constant->empty() && (*training.constant)[0] != 0))
        throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Dropout: only inference mode (training_mode = false)");
    }
    agnostic_ = node.op_type() == "Identity" || node.op_type() == "Dropout";
    bytes_ = node.input_info(0).bytes();
    if (node.output_info(0).bytes() != bytes_ || node.output(0).dtype != node.input(0).dtype)
      throw Unsupported(HXRT_UNSUPPORTED_SHAPE, std::string(node.op_type()) + ": output size differs from input");
  }
  bool is_view() const override { return true; }
  Layout layout() const override { return agnostic_ ? Layout::kAgnostic : Layout::kNchwOnly; }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    if (bytes_ > 0 && in[0] != out[0])
      check_cuda(cudaMemcpyAsync(out[0], in[0], bytes_, cudaMemcpyDeviceToDevice, ctx.stream), "copying a view");
  }

 private:
  size_t bytes_ = 0;
  bool agnostic_ = false;
};

// One or more strided copies (and optional fills) of element size `elem`.
class CopyOp final : public Op {
 public:
  struct Piece {
    size_t input = 0;
    size_t output = 0;
    k::StridedCopy copy;
  };
  struct Fill {
    size_t output = 0;
    int64_t count = 0;
    uint64_t value = 0;
  };
  CopyOp(int elem, std::vector<Piece> pieces, std::vector<Fill> fills = {})
      : elem_(elem), pieces_(std::move(pieces)), fills_(std::move(fills)) {}
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    for (const Fill& f : fills_) check_launch(k::fill(elem_, out[f.output], f.count, f.value, ctx.stream), "fill kernel");
    for (const Piece& p : pieces_)
      check_launch(k::strided_copy(elem_, in[p.input], out[p.output], p.copy, ctx.stream), "strided copy kernel");
  }

 private:
  int elem_;
  std::vector<Piece> pieces_;
  std::vector<Fill> fills_;
};

void check_rank(const NodeReader& node, size_t rank) {
  if (rank > static_cast<size_t>(k::kMaxRank))
    throw Unsupported(HXRT_UNSUPPORTED_SHAPE, std::string(node.op_type()) + ": rank " + std::to_string(rank) +
                                                  " exceeds " + std::to_string(k::kMaxRank));
}

// A transpose of `in` by `perm` as a strided copy.
k::StridedCopy transpose_copy(const Shape& in, const std::vector<int64_t>& perm) {
  auto s = strides_of(in);
  Shape out(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) out[d] = in[static_cast<size_t>(perm[d])];
  auto os = strides_of(out);
  k::StridedCopy c;
  c.rank = static_cast<int>(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) {
    c.dims[d] = out[d];
    c.src_strides[d] = s[static_cast<size_t>(perm[d])];
    c.dst_strides[d] = os[d];
  }
  return c;
}

std::unique_ptr<Op> make_transpose(const NodeReader& node, const OpConfig&) {
  require_single_output(node);
  Shape in = node.input_info(0).shape;
  check_rank(node, in.size());
  std::vector<int64_t> perm = node.get_ints("perm");
  if (perm.empty()) {
    perm.resize(in.size());
    std::iota(perm.rbegin(), perm.rend(), 0);
  }
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != static_cast<int64_t>(i) || perm.size() != in.size())
      throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Transpose: perm is not a permutation of the input's axes");
  return std::make_unique<CopyOp>(elem_size_of(node, node.input(0).dtype),
                                  std::vector<CopyOp::Piece>{{0, 0, transpose_copy(in, perm)}});
}

// A slab of `len` entries along an axis between tensors of `src_axis` and
// `dst_axis` entries there, starting at entry src_start / dst_start (Concat, Split).
k::StridedCopy axis_slab(int64_t outer, int64_t inner, int64_t len, int64_t src_axis, int64_t dst_axis,
                         int64_t src_start, int64_t dst_start) {
  k::StridedCopy c;
  c.rank = 2;
  c.dims[0] = outer;
  c.dims[1] = len * inner;
  c.src_strides[0] = src_axis * inner;
  c.src_strides[1] = 1;
  c.dst_strides[0] = dst_axis * inner;
  c.dst_strides[1] = 1;
  c.src_offset = src_start * inner;
  c.dst_offset = dst_start * inner;
  return c;
}

std::unique_ptr<Op> make_concat(const NodeReader& node, const OpConfig&) {
  require_single_output(node);
  Shape out = node.output_info(0).shape;
  int64_t axis = normalize_axis(node.get_int("axis", 1), static_cast<int64_t>(out.size()), node);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < out.size(); ++d) inner *= out[d];
  std::vector<CopyOp::Piece> pieces;
  int64_t offset = 0;
  for (size_t i = 0; i < node.num_inputs(); ++i) {
    if (!node.has_input(i)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "Concat: missing input");
    if (node.input(i).dtype != node.output(0).dtype) throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "Concat: dtypes differ");
    Shape s = node.input_info(i).shape;
    int64_t len = s.size() == out.size() ? s[static_cast<size_t>(axis)] : 0;
    pieces.push_back({i, 0, axis_slab(outer, inner, len, len, out[static_cast<size_t>(axis)], 0, offset)});
    offset += len;
  }
  return std::make_unique<CopyOp>(elem_size_of(node, node.output(0).dtype), std::move(pieces));
}

std::unique_ptr<Op> make_split(const NodeReader& node, const OpConfig&) {
  Shape in = node.input_info(0).shape;
  int64_t axis = normalize_axis(node.get_int("axis", 0), static_cast<int64_t>(in.size()), node);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < in.size(); ++d) inner *= in[d];
  std::vector<CopyOp::Piece> pieces;
  int64_t offset = 0;
  for (size_t o = 0; o < node.num_outputs(); ++o) {
    if (!node.has_output(o)) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "Split: omitted output");
    int64_t len = node.output_info(o).shape.at(static_cast<size_t>(axis));
    pieces.push_back({0, o, axis_slab(outer, inner, len, in[static_cast<size_t>(axis)], len, offset, 0)});
    offset += len;
  }
  if (offset != in[static_cast<size_t>(axis)]) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Split: parts do not cover the axis");
  return std::make_unique<CopyOp>(elem_size_of(node, node.input(0).dtype), std::move(pieces));
}

std::vector<int64_t> ints_input_or_attr(const NodeReader& node, size_t input, const char* attr, bool from_input) {
  if (from_input) {
    if (!node.has_input(input)) return {};
    TensorInfo t = node.input_info(input);
    if (!t.constant)
      throw Unsupported(HXRT_UNSUPPORTED_OTHER, std::string(node.op_type()) + ": input " + std::to_string(input) +
                                                    " must be a compile-time constant on CUDA");
    return t.constant_ints();
  }
  return node.get_ints(attr);
}

std::unique_ptr<Op> make_slice(const NodeReader& node, const OpConfig&) {
  require_single_output(node);
  Shape in = node.input_info(0).shape;
  check_rank(node, in.size());
  bool inputs = node.opset() >= 10;
  auto starts = ints_input_or_attr(node, 1, "starts", inputs);
  auto ends = ints_input_or_attr(node, 2, "ends", inputs);
  auto axes = ints_input_or_attr(node, 3, "axes", inputs);
  auto steps = inputs ? ints_input_or_attr(node, 4, "steps", true) : std::vector<int64_t>{};
  if (starts.size() != ends.size()) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Slice: starts/ends lengths differ");
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Slice: axes/steps lengths differ");
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> start(in.size(), 0), step(in.size(), 1), count(in.begin(), in.end());
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a = normalize_axis(axes[i], rank, node);
    int64_t dim = in[static_cast<size_t>(a)];
    int64_t st = steps[i];
    if (st == 0) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Slice: step 0");
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      count[static_cast<size_t>(a)] = e > s ? (e - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      count[static_cast<size_t>(a)] = s > e ? (s - e + (-st) - 1) / (-st) : 0;
    }
    start[static_cast<size_t>(a)] = s;
    step[static_cast<size_t>(a)] = st;
  }
  Shape out = node.output_info(0).shape;
  if (out != Shape(count.begin(), count.end())) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Slice: output shape mismatch");
  auto s = strides_of(in);
  auto os = strides_of(out);
  k::StridedCopy c;
  c.rank = static_cast<int>(in.size());
  for (size_t d = 0; d < in.size(); ++d) {
    c.dims[d] = count[d];
    c.src_strides[d] = s[d] * step[d];
    c.dst_strides[d] = os[d];
    c.src_offset += start[d] * s[d];
  }
  return std::make_unique<CopyOp>(elem_size_of(node, node.input(0).dtype), std::vector<CopyOp::Piece>{{0, 0, c}});
}

// Expand: a copy whose source strides are 0 along broadcast dims.
std::unique_ptr<Op> make_expand(const NodeReader& node, const OpConfig&) {
  require_single_output(node);
  Shape in = node.input_info(0).shape, out = node.output_info(0).shape;
  check_rank(node, out.size());
  k::StridedCopy c = broadcast_copy(make_broadcast({in}, out, node));
  return std::make_unique<CopyOp>(elem_size_of(node, node.input(0).dtype), std::vector<CopyOp::Piece>{{0, 0, c}});
}

// Tile: the output as [r0, i0, r1, i1, ...] reads the input with stride 0 along each r.
std::unique_ptr<Op> make_tile(const NodeReader& node, const OpConfig&) {
  require_single_output(node);
  Shape in = node.input_info(0).shape, out = node.output_info(0).shape;
  check_rank(node, 2 * in.size());
  auto s = strides_of(in), os = strides_of(out);
  k::StridedCopy c;
  c.rank = static_cast<int>(2 * in.size());
  for (size_t d = 0; d < in.size(); ++d) {
    int64_t reps = in[d] > 0 ? out[d] / in[d] : 0;
    c.dims[2 * d] = reps;
    c.src_strides[2 * d] = 0;
    c.dst_strides[2 * d] = in[d] * os[d];
    c.dims[2 * d + 1] = in[d];
    c.src_strides[2 * d + 1] = s[d];
    c.dst_strides[2 * d + 1] = os[d];
  }
  return std::make_unique<CopyOp>(elem_size_of(node, node.input(0).dtype), std::vector<CopyOp::Piece>{{0, 0, c}});
}

std::unique_ptr<Op> make_pad(const NodeReader& node, const OpConfig&) {
  require_single_output(node);
  std::string mode = node.get_string("mode", "constant");
  if (mode != "constant") throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Pad: mode '" + mode + "' is not supported on CUDA");
  Shape in = node.input_info(0).shape, out = node.output_info(0).shape;
  check_rank(node, in.size());
  int elem = elem_size_of(node, node.input(0).dtype);
  std::vector<int64_t> pads;
  uint64_t value = 0;
  if (node.opset() < 11) {
    pads = node.get_ints("pads");
    float v = node.get_float("value", 0.f);
    auto bytes = from_floats({v}, is_float_type(node.input(0).dtype) ? node.input(0).dtype : HXRT_DTYPE_FLOAT32);
    std::memcpy(&value, bytes.data(), std::min<size_t>(bytes.size(), 8));
  } else {
    pads = ints_input_or_attr(node, 1, "pads", true);
    if (node.has_input(2)) {
      TensorInfo v = node.input_info(2);
      if (!v.constant) throw Unsupported(HXRT_UNSUPPORTED_OTHER, "Pad: constant_value must be a constant");
      if (!v.constant->empty()) std::memcpy(&value, v.constant->data(), std::min<size_t>(v.constant->size(), 8));
    }
  }
  std::vector<int64_t> axes;
  if (node.opset() >= 18 && node.has_input(3)) axes = ints_input_or_attr(node, 3, "axes", true);
  if (axes.empty()) {
    axes.resize(in.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (pads.size() != 2 * axes.size()) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "Pad: pads length");
  std::vector<int64_t> begin(in.size(), 0);
  for (size_t i = 0; i < axes.size(); ++i)
    begin[static_cast<size_t>(normalize_axis(axes[i], static_cast<int64_t>(in.size()), node))] = pads[i];
  // Copy the part of the input that lands inside the output (negative pads crop).
  auto s = strides_of(in), os = strides_of(out);
  k::StridedCopy c;
  c.rank = static_cast<int>(in.size());
  for (size_t d = 0; d < in.size(); ++d) {
    int64_t src_start = std::max<int64_t>(0, -begin[d]);
    int64_t dst_start = std::max<int64_t>(0, begin[d]);
    int64_t len = std::min(in[d] - src_start, out[d] - dst_start);
    c.dims[d] = std::max<int64_t>(len, 0);
    c.src_strides[d] = s[d];
    c.dst_strides[d] = os[d];
    c.src_offset += src_start * s[d];
    c.dst_offset += dst_start * os[d];
  }
  return std::make_unique<CopyOp>(elem, std::vector<CopyOp::Piece>{{0, 0, c}},
                                  std::vector<CopyOp::Fill>{{0, plugin::element_count(out), value}});
}

// DepthToSpace / SpaceToDepth as a 6-D transpose.
std::unique_ptr<Op> make_depth_space(const NodeReader& node, const OpConfig&) {
  require_single_output(node);
  Shape in = node.input_info(0).shape;
  if (in.size() != 4) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, std::string(node.op_type()) + ": input must be 4-D");
  int64_t bs = node.get_int("blocksize", 0);
  if (bs <= 0) throw Unsupported(HXRT_UNSUPPORTED_ATTRIBUTE, "blocksize must be positive");
  int64_t n = in[0], c = in[1], h = in[2], w = in[3];
  Shape view;
  std::vector<int64_t> perm;
  if (node.op_type() == "DepthToSpace") {
    if (node.get_string("mode", "DCR") == "DCR") {
      view = {n, bs, bs, c / (bs * bs), h, w};
      perm = {0, 3, 4, 1, 5, 2};
    } else {
      view = {n, c / (bs * bs), bs, bs, h, w};
      perm = {0, 1, 4, 2, 5, 3};
    }
  } else {
    view = {n, c, h / bs, bs, w / bs, bs};
    perm = {0, 3, 5, 1, 2, 4};
  }
  return std::make_unique<CopyOp>(elem_size_of(node, node.input(0).dtype),
                                  std::vector<CopyOp::Piece>{{0, 0, transpose_copy(view, perm)}});
}

class GatherOp final : public Op {
 public:
  explicit GatherOp(const NodeReader& node) {
    require_single_output(node);
    Shape data = node.input_info(0).shape;
    Shape idx = node.input_info(1).shape;
    hxrt_dtype it = node.input(1).dtype;
    if (it != HXRT_DTYPE_INT64 && it != HXRT_DTYPE_INT32) throw Unsupported(HXRT_UNSUPPORTED_DTYPE, "Gather: indices dtype");
    int64_ = it == HXRT_DTYPE_INT64;
    if (data.empty()) throw Unsupported(HXRT_UNSUPPORTED_SHAPE, "Gather: scalar data");
    int64_t axis = normalize_axis(node.get_int("axis", 0), static_cast<int64_t>(data.size()), node);
    elem_ = elem_size_of(node, node.input(0).dtype);
    outer_ = 1;
    inner_ = 1;
    for (int64_t d = 0; d < axis; ++d) outer_ *= data[static_cast<size_t>(d)];
    for (size_t d = static_cast<size_t>(axis) + 1; d < data.size(); ++d) inner_ *= data[d];
    axis_dim_ = data[static_cast<size_t>(axis)];
    num_ = plugin::element_count(idx);
  }
  void launch(const DeviceContext& ctx, const std::vector<const void*>& in, const std::vector<void*>& out) override {
    check_launch(k::gather(elem_, in[0], in[1], int64_, out[0], outer_, axis_dim_, num_, inner_, ctx.stream),
                 "gather kernel");
  }

 private:
  int elem_ = 4;
  bool int64_ = true;
  int64_t outer_ = 1, inner_ = 1, axis_dim_ = 0, num_ = 0;
};

std::unique_ptr<Op> make_constant_of_shape(const NodeReader& node, const OpConfig&) {
  require_single_output(node);
  int elem = elem_size_of(node, node.output(0).dtype);
  uint64_t value = 0;
  if (auto t = node.get_tensor("value"); t && t->constant && !t->constant->empty())
    std::memcpy(&value, t->constant->data(), std::min<size_t>(t->constant->size(), 8));
  return std::make_unique<CopyOp>(elem, std::vector<CopyOp::Piece>{},
                                  std::vector<CopyOp::Fill>{{0, node.output_info(0).numel(), value}});
}

}  // namespace

std::unique_ptr<Op> make_layout_copy(const Shape& nchw, int elem_size, bool to_nhwc) {
  Shape nhwc = {nchw[0], nchw[2], nchw[3], nchw[1]};
  k::StridedCopy c = to_nhwc ? transpose_copy(nchw, {0, 2, 3, 1}) : transpose_copy(nhwc, {0, 3, 1, 2});
  return std::make_unique<CopyOp>(elem_size, std::vector<CopyOp::Piece>{{0, 0, c}});
}

void register_data_ops() {
  auto view = [](const NodeReader& node, const OpConfig&) -> std::unique_ptr<Op> { return std::make_unique<ViewOp>(node); };
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"}) register_op(op, 1, kMaxOpset, view);
  register_op("Transpose", 1, kMaxOpset, make_transpose);
  register_op("Concat", 4, kMaxOpset, make_concat);
  register_op("Split", 2, kMaxOpset, make_split);
  register_op("Slice", 1, kMaxOpset, make_slice);
  register_op("Expand", 8, kMaxOpset, make_expand);
  register_op("Tile", 6, kMaxOpset, make_tile);
  register_op("Pad", 2, kMaxOpset, make_pad);
  register_op("DepthToSpace", 1, kMaxOpset, make_depth_space);
  register_op("SpaceToDepth", 1, kMaxOpset, make_depth_space);
  register_op("Gather", 1, kMaxOpset, [](const NodeReader& node, const OpConfig&) -> std::unique_ptr<Op> {
    return std::make_unique<GatherOp>(node);
  });
  register_op("ConstantOfShape", 9, kMaxOpset, make_constant_of_shape);
}

}  // namespace hxrt::cuda
