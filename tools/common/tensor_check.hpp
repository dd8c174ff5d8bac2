// Tensor helpers for tools and tests that check model outputs: allocation,
// seeded random filling and tolerance comparison (ONNX backend-test style).
#pragma once

#include <random>
#include <string>

#include "graph/ir.hpp"

namespace hxrt::tools {

using host::HostTensor;

// A zero-filled tensor of the given type and shape.
HostTensor make_tensor(hxrt_dtype dtype, const host::Shape& shape);

// Uniform [-1, 1) for floats, small non-negative integers for ints, 0/1 for bool.
HostTensor random_tensor(hxrt_dtype dtype, const host::Shape& shape, std::mt19937& rng);

// Element `index` as double (NaN for dtypes without a numeric reading).
double element_as_double(const HostTensor& tensor, size_t index);

struct TensorDiff {
  double max_abs_error = 0;
  double max_rel_error = 0;  // over elements beyond atol
  size_t mismatches = 0;     // elements with |a - e| > atol + rtol * |e|
  std::string problem;       // dtype/shape mismatch, or the first bad element
  bool ok() const { return mismatches == 0 && problem.empty(); }
};

// NaN equals NaN and equal infinities match, as in numpy's allclose(equal_nan=True).
TensorDiff compare_tensors(const HostTensor& actual, const HostTensor& expected, double rtol, double atol);

}  // namespace hxrt::tools
