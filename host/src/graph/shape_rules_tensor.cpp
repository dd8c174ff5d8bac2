// Shape rules of ops that rearrange, select or resize a tensor's elements:
// Reshape, Squeeze, Transpose, Concat, Split, Slice, Gather, Pad, Resize, ...
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "graph/shape_rules.hpp"

namespace hxrt::host::shape_rules {

namespace {

void reshape_op(Ctx& c) {
  const Shape& x = c.shape(0);
  std::vector<int64_t> target;
  if (c.opset() < 5) {
    target = c.n.get_ints("shape");
  } else {
    target = c.ints(1, "shape");
  }
  const bool allowzero = c.opset() >= 14 && c.n.get_int("allowzero", 0) != 0;
  Shape out(target.size());
  int64_t infer = -1, known = 1;
  for (size_t k = 0; k < target.size(); ++k) {
    int64_t d = target[k];
    if (d == 0 && !allowzero) {
      if (k >= x.size()) {
        c.invalid(fmt::format("shape {} copies dim {} (0) but the input {} has rank {}", ints_to_string(target), k,
                              shape_to_string(x), x.size()));
      }
      d = x[k];
    }
    if (d == -1) {
      if (infer >= 0) c.invalid(fmt::format("shape {} has more than one -1", ints_to_string(target)));
      infer = static_cast<int64_t>(k);
      out[k] = -1;
      continue;
    }
    if (d < 0) c.invalid(fmt::format("shape {} has invalid dim {}", ints_to_string(target), d));
    out[k] = d;
    known *= d;
  }
  const int64_t total = element_count(x);
  if (infer >= 0) {
    if (known == 0 || total % known != 0) {
      c.invalid(fmt::format("cannot reshape {} ({} elements) to {}", shape_to_string(x), total, ints_to_string(target)));
    }
    out[static_cast<size_t>(infer)] = total / known;
  } else if (known != total) {
    c.invalid(fmt::format("cannot reshape {} ({} elements) to {} ({} elements)", shape_to_string(x), total,
                          ints_to_string(target), known));
  }
  c.set(0, c.dtype(0), out);
}

void flatten_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  int64_t axis = c.n.get_int("axis", 1);
  if (axis < -r || axis > r) c.invalid(fmt::format("axis {} is out of range for rank {}", axis, r));
  if (axis < 0) axis += r;
  int64_t a = 1, b = 1;
  for (int64_t k = 0; k < r; ++k) (k < axis ? a : b) *= x[static_cast<size_t>(k)];
  c.set(0, c.dtype(0), {a, b});
}

void squeeze_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  const std::optional<std::vector<int64_t>> axes = optional_axes(c, c.opset() >= 13);
  Shape out;
  if (!axes) {
    for (int64_t d : x) {
      if (d != 1) out.push_back(d);
    }
  } else {
    const auto norm = c.axes(*axes, r);
    std::set<int64_t> drop(norm.begin(), norm.end());
    for (int64_t k = 0; k < r; ++k) {
      if (drop.count(k)) {
        if (x[static_cast<size_t>(k)] != 1) {
          c.invalid(fmt::format("cannot squeeze axis {} of shape {}: its size is not 1", k, shape_to_string(x)));
        }
      } else {
        out.push_back(x[static_cast<size_t>(k)]);
      }
    }
  }
  c.set(0, c.dtype(0), out);
}

void unsqueeze_op(Ctx& c) {
  const Shape& x = c.shape(0);
  std::vector<int64_t> axes;
  if (c.opset() >= 13) {
    axes = c.ints(1, "axes");
  } else {
    const Attribute* a = c.n.find_attribute("axes");
    if (!a) c.invalid("missing attribute 'axes'");
    axes = a->ints;
  }
  const int64_t out_rank = static_cast<int64_t>(x.size() + axes.size());
  const auto norm = c.axes(axes, out_rank);
  std::set<int64_t> ins(norm.begin(), norm.end());
  Shape out;
  size_t src = 0;
  for (int64_t k = 0; k < out_rank; ++k) {
    if (ins.count(k)) {
      out.push_back(1);
    } else {
      out.push_back(x[src++]);
    }
  }
  c.set(0, c.dtype(0), out);
}

void transpose_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> perm(static_cast<size_t>(r));
  for (int64_t k = 0; k < r; ++k) perm[static_cast<size_t>(k)] = r - 1 - k;
  perm = c.n.get_ints("perm", perm);
  if (static_cast<int64_t>(perm.size()) != r) {
    c.invalid(fmt::format("perm {} does not match the input rank {}", ints_to_string(perm), r));
  }
  const auto norm = c.axes(perm, r, "perm");
  Shape out;
  for (int64_t p : norm) out.push_back(x[static_cast<size_t>(p)]);
  c.set(0, c.dtype(0), out);
}

void concat_op(Ctx& c) {
  const Shape& first = c.shape(0);
  const int64_t r = static_cast<int64_t>(first.size());
  const Attribute* a = c.n.find_attribute("axis");
  if (!a && c.opset() >= 4) c.invalid("missing attribute 'axis'");
  if (r == 0) c.invalid("inputs must not be scalars");
  const int64_t axis = c.axis(a ? a->i : 1, r);
  Shape out = first;
  out[static_cast<size_t>(axis)] = 0;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    if (!c.has(i)) continue;
    const Shape& s = c.shape(i);
    if (static_cast<int64_t>(s.size()) != r) {
      c.invalid(fmt::format("input {} has shape {} whose rank differs from input 0 {}", i, shape_to_string(s),
                            shape_to_string(first)));
    }
    for (int64_t k = 0; k < r; ++k) {
      if (k != axis && s[static_cast<size_t>(k)] != first[static_cast<size_t>(k)]) {
        c.invalid(fmt::format("input {} has shape {} which does not match input 0 {} outside axis {}", i,
                              shape_to_string(s), shape_to_string(first), axis));
      }
    }
    out[static_cast<size_t>(axis)] += s[static_cast<size_t>(axis)];
  }
  c.set(0, c.dtype(0), out);
}

void split_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  const int64_t axis = c.axis(c.n.get_int("axis", 0), r);
  const int64_t dim = x[static_cast<size_t>(axis)];
  const int64_t n = static_cast<int64_t>(c.num_outputs());
  std::vector<int64_t> split;
  bool given = false;
  if (c.has(1)) {  // opset 1 and 13+: split sizes as an input
    split = c.ints(1, "split");
    given = true;
  } else if (c.opset() < 13 && c.n.find_attribute("split")) {
    split = c.n.get_ints("split");
    given = true;
  }
  if (given) {
    if (static_cast<int64_t>(split.size()) != n) {
      c.invalid(fmt::format("split {} has {} sizes but the node has {} outputs", ints_to_string(split), split.size(), n));
    }
    int64_t sum = 0;
    for (int64_t s : split) {
      if (s < 0) c.invalid(fmt::format("split {} has a negative size", ints_to_string(split)));
      sum += s;
    }
    if (sum != dim) {
      c.invalid(fmt::format("split {} sums to {}, but axis {} of {} has size {}", ints_to_string(split), sum, axis,
                            shape_to_string(x), dim));
    }
  } else {
    int64_t parts = n;
    if (c.opset() >= 18) {
      const Attribute* no = c.n.find_attribute("num_outputs");
      if (!no) c.invalid("needs either the 'split' input or the 'num_outputs' attribute");
      parts = no->i;
      if (parts != n) c.invalid(fmt::format("num_outputs {} differs from the node's {} outputs", parts, n));
    }
    if (parts <= 0) c.invalid("has no outputs");
    if (c.opset() >= 18) {
      const int64_t chunk = ceil_div(dim, parts);
      for (int64_t k = 0; k < parts; ++k) split.push_back(std::max<int64_t>(0, std::min(chunk, dim - chunk * k)));
    } else {
      if (dim % parts != 0) {
        c.invalid(fmt::format("axis {} of {} (size {}) cannot be split evenly into {} outputs", axis,
                              shape_to_string(x), dim, parts));
      }
      split.assign(static_cast<size_t>(parts), dim / parts);
    }
  }
  for (size_t k = 0; k < split.size(); ++k) {
    Shape s = x;
    s[static_cast<size_t>(axis)] = split[k];
    c.set(k, c.dtype(0), s);
  }
}

void slice_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset() < 10) {
    starts = c.n.get_ints("starts");
    ends = c.n.get_ints("ends");
    axes = c.n.get_ints("axes");
  } else {
    starts = c.ints(1, "starts");
    ends = c.ints(2, "ends");
    if (c.has(3)) axes = c.ints(3, "axes");
    if (c.has(4)) steps = c.ints(4, "steps");
  }
  if (starts.size() != ends.size()) {
    c.invalid(fmt::format("starts {} and ends {} differ in length", ints_to_string(starts), ints_to_string(ends)));
  }
  if (axes.empty()) axes = all_axes(static_cast<int64_t>(starts.size()));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size()) {
    c.invalid(fmt::format("starts {}, ends {}, axes {} and steps {} differ in length", ints_to_string(starts),
                          ints_to_string(ends), ints_to_string(axes), ints_to_string(steps)));
  }
  const auto norm = c.axes(axes, r);
  Shape out = x;
  for (size_t k = 0; k < norm.size(); ++k) {
    const int64_t dim = x[static_cast<size_t>(norm[k])];
    const int64_t step = steps[k];
    if (step == 0) c.invalid("steps must not be 0");
    // Forward: start and end in [0, dim]; backward: start in [0, dim-1], end in [-1, dim-1].
    const int64_t s = clamp_index(starts[k], dim, 0, step > 0 ? dim : dim - 1);
    const int64_t e = clamp_index(ends[k], dim, step > 0 ? 0 : -1, step > 0 ? dim : dim - 1);
    const int64_t len = step > 0 ? ceil_div(e - s, step) : ceil_div(s - e, -step);
    out[static_cast<size_t>(norm[k])] = std::max<int64_t>(0, len);
  }
  c.set(0, c.dtype(0), out);
}

void gather_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const Shape& idx = c.shape(1);
  const int64_t r = static_cast<int64_t>(x.size());
  if (r == 0) c.invalid("data must not be a scalar");
  const int64_t axis = c.axis(c.n.get_int("axis", 0), r);
  Shape out(x.begin(), x.begin() + axis);
  out.insert(out.end(), idx.begin(), idx.end());
  out.insert(out.end(), x.begin() + axis + 1, x.end());
  c.set(0, c.dtype(0), out);
}

void gather_elements_op(Ctx& c) {
  if (c.rank(0) != c.rank(1)) {
    c.invalid(fmt::format("data {} and indices {} differ in rank", shape_to_string(c.shape(0)),
                          shape_to_string(c.shape(1))));
  }
  c.axis(c.n.get_int("axis", 0), c.rank(0));
  c.set(0, c.dtype(0), c.shape(1));
}

void expand_op(Ctx& c) {
  const std::vector<int64_t> target = c.ints(1, "shape");
  c.set(0, c.dtype(0), broadcast2(c, c.shape(0), target));
}

void tile_op(Ctx& c) {
  const Shape& x = c.shape(0);
  std::vector<int64_t> reps;
  if (c.opset() < 6) {  // Tile-1: tiles and axis inputs
    const auto tiles = c.ints(1, "tiles");
    const auto axis = c.ints(2, "axis");
    if (tiles.size() != 1 || axis.size() != 1) c.invalid("tiles and axis must be scalars");
    reps.assign(x.size(), 1);
    reps[static_cast<size_t>(c.axis(axis[0], static_cast<int64_t>(x.size())))] = tiles[0];
  } else {
    reps = c.ints(1, "repeats");
  }
  if (reps.size() != x.size()) {
    c.invalid(fmt::format("repeats {} must have one value per input dim ({})", ints_to_string(reps), shape_to_string(x)));
  }
  Shape out = x;
  for (size_t k = 0; k < x.size(); ++k) {
    if (reps[k] < 0) c.invalid(fmt::format("repeats {} must not be negative", ints_to_string(reps)));
    out[k] *= reps[k];
  }
  c.set(0, c.dtype(0), out);
}

void pad_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  std::vector<int64_t> pads;
  if (c.opset() < 11) {
    pads = c.n.get_ints(c.opset() < 2 ? "paddings" : "pads");
  } else {
    pads = c.ints(1, "pads");
  }
  const std::vector<int64_t> axes = c.opset() >= 18 && c.has(3) ? c.axes(c.ints(3, "axes"), r) : all_axes(r);
  if (pads.size() != 2 * axes.size()) {
    c.invalid(fmt::format("pads {} must have {} values (2 per padded axis)", ints_to_string(pads), 2 * axes.size()));
  }
  Shape out = x;
  for (size_t k = 0; k < axes.size(); ++k) {
    auto& d = out[static_cast<size_t>(axes[k])];
    d += pads[k] + pads[k + axes.size()];
    if (d < 0) c.invalid(fmt::format("pads {} make axis {} of {} negative", ints_to_string(pads), axes[k], shape_to_string(x)));
  }
  c.set(0, c.dtype(0), out);
}

void resize_op(Ctx& c) {
  const Shape& x = c.shape(0);
  const int64_t r = static_cast<int64_t>(x.size());
  const std::vector<int64_t> axes =
      c.opset() >= 18 && c.n.find_attribute("axes") ? c.axes(c.n.get_ints("axes"), r) : all_axes(r);
  const bool upsample = c.n.op_type == "Upsample";
  size_t scales_in = 2, sizes_in = 3;
  if (upsample || c.opset() < 11) scales_in = 1, sizes_in = 99;
  Shape out = x;
  if (upsample && c.opset() < 9) {
    const Attribute* a = c.n.find_attribute("scales");
    if (!a) c.invalid("missing attribute 'scales'");
    if (a->floats.size() != x.size()) c.invalid("scales must have one value per input dim");
    for (size_t k = 0; k < x.size(); ++k) out[k] = static_cast<int64_t>(std::floor(x[k] * static_cast<double>(a->floats[k])));
  } else if (c.has_nonempty(sizes_in)) {
    const auto sizes = c.ints(sizes_in, "sizes");
    if (sizes.size() != axes.size()) {
      c.invalid(fmt::format("sizes {} must have {} values", ints_to_string(sizes), axes.size()));
    }
    const std::string policy = c.n.get_string("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t k = 0; k < axes.size(); ++k) out[static_cast<size_t>(axes[k])] = sizes[k];
    } else if (policy == "not_larger" || policy == "not_smaller") {
      double scale = policy == "not_larger" ? std::numeric_limits<double>::infinity() : 0.0;
      for (size_t k = 0; k < axes.size(); ++k) {
        const double s = static_cast<double>(sizes[k]) / static_cast<double>(x[static_cast<size_t>(axes[k])]);
        scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
      }
      for (size_t k = 0; k < axes.size(); ++k) {
        auto& d = out[static_cast<size_t>(axes[k])];
        d = static_cast<int64_t>(std::floor(static_cast<double>(d) * scale + 0.5));
      }
    } else {
      c.invalid(fmt::format("unknown keep_aspect_ratio_policy '{}'", policy));
    }
  } else if (c.has_nonempty(scales_in)) {
    const auto scales = c.floats(scales_in, "scales");
    if (scales.size() != axes.size()) {
      c.invalid(fmt::format("scales must have {} values, has {}", axes.size(), scales.size()));
    }
    for (size_t k = 0; k < axes.size(); ++k) {
      if (!(scales[k] > 0)) c.invalid(fmt::format("scale {} must be positive", scales[k]));
      auto& d = out[static_cast<size_t>(axes[k])];
      d = static_cast<int64_t>(std::floor(static_cast<double>(d) * scales[k]));
    }
  } else {
    c.invalid("needs either scales or sizes");
  }
  c.set(0, c.dtype(0), out);
}

void depth_to_space_op(Ctx& c) {
  const Shape& x = c.shape(0);
  if (x.size() != 4) c.invalid(fmt::format("input must be 4-D, has shape {}", shape_to_string(x)));
  const int64_t b = c.n.get_int("blocksize", 0);
  if (b <= 0) c.invalid("blocksize must be positive");
  if (c.n.op_type == "DepthToSpace") {
    if (x[1] % (b * b) != 0) c.invalid(fmt::format("channels {} not divisible by blocksize^2 {}", x[1], b * b));
    c.set(0, c.dtype(0), {x[0], x[1] / (b * b), x[2] * b, x[3] * b});
  } else {
    if (x[2] % b != 0 || x[3] % b != 0) c.invalid(fmt::format("spatial dims of {} not divisible by blocksize {}", shape_to_string(x), b));
    c.set(0, c.dtype(0), {x[0], x[1] * b * b, x[2] / b, x[3] / b});
  }
}

}  // namespace

void register_tensor_rules(ShapeRuleTable& t) {
  t.insert({{"Reshape", reshape_op}, {"Flatten", flatten_op}, {"Squeeze", squeeze_op}, {"Unsqueeze", unsqueeze_op},
            {"Transpose", transpose_op}, {"Concat", concat_op}, {"Split", split_op}, {"Slice", slice_op},
            {"Gather", gather_op}, {"GatherElements", gather_elements_op}, {"Expand", expand_op}, {"Tile", tile_op},
            {"Pad", pad_op}, {"Resize", resize_op}, {"Upsample", resize_op}, {"DepthToSpace", depth_to_space_op},
            {"SpaceToDepth", depth_to_space_op}});
}

}  // namespace hxrt::host::shape_rules
