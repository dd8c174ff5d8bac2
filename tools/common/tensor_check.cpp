#include "tensor_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "hxrt/plugin_support/half_float.hpp"

namespace hxrt::tools {

HostTensor make_tensor(hxrt_dtype dtype, const host::Shape& shape) {
  HostTensor t;
  t.dtype = dtype;
  t.shape = shape;
  t.bytes.assign(static_cast<size_t>(t.numel()) * host::dtype_size(dtype), 0);
  return t;
}

HostTensor random_tensor(hxrt_dtype dtype, const host::Shape& shape, std::mt19937& rng) {
  HostTensor t = make_tensor(dtype, shape);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (size_t i = 0; i < static_cast<size_t>(t.numel()); ++i) {
    switch (dtype) {
      case HXRT_DTYPE_FLOAT32: t.data<float>()[i] = uniform(rng); break;
      case HXRT_DTYPE_FLOAT64: t.data<double>()[i] = uniform(rng); break;
      case HXRT_DTYPE_INT64: t.data<int64_t>()[i] = static_cast<int64_t>(rng() % 16); break;
      case HXRT_DTYPE_INT32: t.data<int32_t>()[i] = static_cast<int32_t>(rng() % 16); break;
      case HXRT_DTYPE_BOOL: t.data<uint8_t>()[i] = static_cast<uint8_t>(rng() % 2); break;
      default: break;  // other dtypes stay zero
    }
  }
  return t;
}

double element_as_double(const HostTensor& t, size_t i) {
  switch (t.dtype) {
    case HXRT_DTYPE_FLOAT32: return t.data<float>()[i];
    case HXRT_DTYPE_FLOAT64: return t.data<double>()[i];
    case HXRT_DTYPE_INT64: return static_cast<double>(t.data<int64_t>()[i]);
    case HXRT_DTYPE_INT32: return t.data<int32_t>()[i];
    case HXRT_DTYPE_INT16: return t.data<int16_t>()[i];
    case HXRT_DTYPE_INT8: return t.data<int8_t>()[i];
    case HXRT_DTYPE_UINT8: case HXRT_DTYPE_BOOL: return t.data<uint8_t>()[i];
    case HXRT_DTYPE_UINT16: return t.data<uint16_t>()[i];
    // 16-bit floats compare by value, so any NaN matches any NaN (payloads differ between devices).
    case HXRT_DTYPE_FLOAT16: return plugin::half_bits_to_float(t.data<uint16_t>()[i]);
    case HXRT_DTYPE_BFLOAT16: return plugin::bfloat16_bits_to_float(t.data<uint16_t>()[i]);
    case HXRT_DTYPE_UINT32: return t.data<uint32_t>()[i];
    case HXRT_DTYPE_UINT64: return static_cast<double>(t.data<uint64_t>()[i]);
    default: return std::nan("");
  }
}

TensorDiff compare_tensors(const HostTensor& actual, const HostTensor& expected, double rtol, double atol) {
  TensorDiff diff;
  if (actual.dtype != expected.dtype) {
    diff.problem = std::string("dtype ") + host::dtype_name(actual.dtype) + " vs expected " +
                   host::dtype_name(expected.dtype);
    return diff;
  }
  if (actual.shape != expected.shape) {
    diff.problem = "shape " + host::shape_to_string(actual.shape) + " vs expected " +
                   host::shape_to_string(expected.shape);
    return diff;
  }
  for (size_t i = 0; i < static_cast<size_t>(actual.numel()); ++i) {
    double a = element_as_double(actual, i), e = element_as_double(expected, i);
    if ((std::isnan(a) && std::isnan(e)) || a == e) continue;
    double abs_error = std::fabs(a - e);
    if (std::isnan(abs_error)) abs_error = INFINITY;
    double rel_error = abs_error / std::max(std::fabs(e), 1e-30);
    diff.max_abs_error = std::max(diff.max_abs_error, abs_error);
    if (abs_error > atol) diff.max_rel_error = std::max(diff.max_rel_error, rel_error);
    if (!(abs_error <= atol + rtol * std::fabs(e))) {
      if (diff.mismatches++ == 0)
        diff.problem = "element " + std::to_string(i) + ": " + std::to_string(a) + " vs expected " + std::to_string(e);
    }
  }
  return diff;
}

}  // namespace hxrt::tools
