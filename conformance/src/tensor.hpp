// Tensors as the suite sees them: values held as double whatever the dtype,
// so the reference implementation computes in double precision.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hxrt/plugin_abi.h"

namespace hxrt::conformance {

using Dims = std::vector<int64_t>;

struct Tensor {
  hxrt_dtype dtype = HXRT_DTYPE_FLOAT32;
  Dims shape;
  std::vector<double> v;

  Tensor() = default;
  Tensor(hxrt_dtype t, Dims s) : dtype(t), shape(std::move(s)), v(static_cast<size_t>(numel_of(shape)), 0.0) {}
  Tensor(hxrt_dtype t, Dims s, std::vector<double> values) : dtype(t), shape(std::move(s)), v(std::move(values)) {}
  int64_t numel() const { return numel_of(shape); }
  static int64_t numel_of(const Dims& d) {
    int64_t n = 1;
    for (int64_t x : d) n *= x;
    return n;
  }
};

size_t dtype_bytes(hxrt_dtype dtype);  // 0 for unsupported dtypes
std::string dtype_label(hxrt_dtype dtype);  // "f32", "i64", ...
std::string dims_label(const Dims& d);     // "[2,3]"
bool is_float(hxrt_dtype dtype);

// Dense little-endian bytes <-> values. Float values are rounded to the dtype.
std::vector<uint8_t> encode(const Tensor& t);
Tensor decode(hxrt_dtype dtype, const Dims& shape, const uint8_t* bytes, size_t size);
// Rounds each value to what the dtype can hold (so inputs are exact).
void round_to_dtype(Tensor& t);

// Row-major strides and index helpers.
std::vector<int64_t> strides_of(const Dims& d);
std::vector<int64_t> unravel(int64_t flat, const Dims& d);
std::string index_label(int64_t flat, const Dims& d);  // "[1,0,2]"

struct Tolerance {
  double rtol = 0;
  double atol = 0;
};

// "" when `got` matches `expected` elementwise within |g - e| <= atol + rtol*|e|
// (NaN matches NaN, equal infinities match); otherwise the first mismatches,
// observed vs expected.
std::string compare(const Tensor& got, const Tensor& expected, Tolerance tol);

}  // namespace hxrt::conformance
