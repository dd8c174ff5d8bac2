#include "tensor.hpp"

#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace hxrt::conformance {

size_t dtype_bytes(hxrt_dtype dtype) {
  switch (dtype) {
    case HXRT_DTYPE_FLOAT32: case HXRT_DTYPE_INT32: case HXRT_DTYPE_UINT32: return 4;
    case HXRT_DTYPE_FLOAT64: case HXRT_DTYPE_INT64: case HXRT_DTYPE_UINT64: return 8;
    case HXRT_DTYPE_INT16: case HXRT_DTYPE_UINT16: case HXRT_DTYPE_FLOAT16: case HXRT_DTYPE_BFLOAT16: return 2;
    case HXRT_DTYPE_INT8: case HXRT_DTYPE_UINT8: case HXRT_DTYPE_BOOL: return 1;
    default: return 0;
  }
}

std::string dtype_label(hxrt_dtype dtype) {
  switch (dtype) {
    case HXRT_DTYPE_FLOAT32: return "f32";
    case HXRT_DTYPE_FLOAT64: return "f64";
    case HXRT_DTYPE_INT32: return "i32";
    case HXRT_DTYPE_INT64: return "i64";
    case HXRT_DTYPE_INT8: return "i8";
    case HXRT_DTYPE_INT16: return "i16";
    case HXRT_DTYPE_UINT16: return "u16";
    case HXRT_DTYPE_UINT32: return "u32";
    case HXRT_DTYPE_UINT64: return "u64";
    case HXRT_DTYPE_UINT8: return "u8";
    case HXRT_DTYPE_BOOL: return "bool";
    default: return "dtype" + std::to_string(static_cast<int>(dtype));
  }
}

bool is_float(hxrt_dtype dtype) { return dtype == HXRT_DTYPE_FLOAT32 || dtype == HXRT_DTYPE_FLOAT64; }

std::string dims_label(const Dims& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

namespace {

template <typename T>
void put(std::vector<uint8_t>& out, size_t i, T value) {
  std::memcpy(out.data() + i * sizeof(T), &value, sizeof(T));
}

template <typename T>
T get(const uint8_t* bytes, size_t i) {
  T value;
  std::memcpy(&value, bytes + i * sizeof(T), sizeof(T));
  return value;
}

}  // namespace

std::vector<uint8_t> encode(const Tensor& t) {
  size_t elem = dtype_bytes(t.dtype);
  if (elem == 0) throw std::runtime_error("encode: unsupported dtype " + dtype_label(t.dtype));
  std::vector<uint8_t> out(t.v.size() * elem);
  for (size_t i = 0; i < t.v.size(); ++i) {
    double x = t.v[i];
    switch (t.dtype) {
      case HXRT_DTYPE_FLOAT32: put<float>(out, i, static_cast<float>(x)); break;
      case HXRT_DTYPE_FLOAT64: put<double>(out, i, x); break;
      case HXRT_DTYPE_INT32: put<int32_t>(out, i, static_cast<int32_t>(x)); break;
      // Slice ends use INT64_MAX/MIN, which a double holds only approximately.
      case HXRT_DTYPE_INT64:
        put<int64_t>(out, i, x >= 9.2233720368547758e18 ? INT64_MAX : x <= -9.2233720368547758e18 ? INT64_MIN
                                                                                                   : static_cast<int64_t>(x));
        break;
      case HXRT_DTYPE_INT8: put<int8_t>(out, i, static_cast<int8_t>(x)); break;
      case HXRT_DTYPE_UINT8: put<uint8_t>(out, i, static_cast<uint8_t>(x)); break;
      case HXRT_DTYPE_INT16: put<int16_t>(out, i, static_cast<int16_t>(x)); break;
      case HXRT_DTYPE_UINT16: put<uint16_t>(out, i, static_cast<uint16_t>(x)); break;
      case HXRT_DTYPE_UINT32: put<uint32_t>(out, i, static_cast<uint32_t>(x)); break;
      case HXRT_DTYPE_UINT64: put<uint64_t>(out, i, static_cast<uint64_t>(x)); break;
      case HXRT_DTYPE_BOOL: put<uint8_t>(out, i, x != 0 ? 1 : 0); break;
      default: throw std::runtime_error("encode: unsupported dtype " + dtype_label(t.dtype));
    }
  }
  return out;
}

Tensor decode(hxrt_dtype dtype, const Dims& shape, const uint8_t* bytes, size_t size) {
  Tensor t(dtype, shape);
  size_t elem = dtype_bytes(dtype);
  if (elem == 0 || size < t.v.size() * elem) throw std::runtime_error("decode: bad size or dtype");
  for (size_t i = 0; i < t.v.size(); ++i) {
    switch (dtype) {
      case HXRT_DTYPE_FLOAT32: t.v[i] = get<float>(bytes, i); break;
      case HXRT_DTYPE_FLOAT64: t.v[i] = get<double>(bytes, i); break;
      case HXRT_DTYPE_INT32: t.v[i] = get<int32_t>(bytes, i); break;
      case HXRT_DTYPE_INT64: t.v[i] = static_cast<double>(get<int64_t>(bytes, i)); break;
      case HXRT_DTYPE_INT8: t.v[i] = get<int8_t>(bytes, i); break;
      case HXRT_DTYPE_UINT8: t.v[i] = get<uint8_t>(bytes, i); break;
      case HXRT_DTYPE_INT16: t.v[i] = get<int16_t>(bytes, i); break;
      case HXRT_DTYPE_UINT16: t.v[i] = get<uint16_t>(bytes, i); break;
      case HXRT_DTYPE_UINT32: t.v[i] = get<uint32_t>(bytes, i); break;
      // Values above 2^53 lose precision as double; compare() then sees equal neighbours.
      case HXRT_DTYPE_UINT64: t.v[i] = static_cast<double>(get<uint64_t>(bytes, i)); break;
      // Any non-zero byte reads as true, but a plugin should write 0/1; compare() sees the raw byte.
      case HXRT_DTYPE_BOOL: t.v[i] = get<uint8_t>(bytes, i); break;
      default: throw std::runtime_error("decode: unsupported dtype");
    }
  }
  return t;
}

void round_to_dtype(Tensor& t) {
  for (double& x : t.v) {
    switch (t.dtype) {
      case HXRT_DTYPE_FLOAT32: x = static_cast<float>(x); break;
      case HXRT_DTYPE_FLOAT64: break;
      case HXRT_DTYPE_BOOL: x = x != 0 ? 1 : 0; break;
      default: x = std::trunc(x); break;
    }
  }
}

std::vector<int64_t> strides_of(const Dims& d) {
  std::vector<int64_t> s(d.size(), 1);
  for (size_t i = d.size(); i-- > 1;) s[i - 1] = s[i] * d[i];
  return s;
}

std::vector<int64_t> unravel(int64_t flat, const Dims& d) {
  std::vector<int64_t> idx(d.size(), 0);
  for (size_t i = d.size(); i-- > 0;) {
    if (d[i] > 0) {
      idx[i] = flat % d[i];
      flat /= d[i];
    }
  }
  return idx;
}

std::string index_label(int64_t flat, const Dims& d) { return dims_label(unravel(flat, d)); }

std::string compare(const Tensor& got, const Tensor& expected, Tolerance tol) {
  if (got.dtype != expected.dtype)
    return "dtype: observed " + dtype_label(got.dtype) + ", expected " + dtype_label(expected.dtype);
  if (got.shape != expected.shape)
    return "shape: observed " + dims_label(got.shape) + ", expected " + dims_label(expected.shape);
  std::ostringstream out;
  out.precision(9);
  size_t bad = 0;
  for (size_t i = 0; i < got.v.size(); ++i) {
    double g = got.v[i], e = expected.v[i];
    if (std::isnan(g) && std::isnan(e)) continue;
    if (g == e) continue;
    double limit = tol.atol + tol.rtol * std::fabs(e);
    if (std::fabs(g - e) <= limit) continue;
    if (bad < 3)
      out << (bad ? "; " : "") << "element " << index_label(static_cast<int64_t>(i), got.shape) << ": observed " << g
          << ", expected " << e << " (|diff| " << std::fabs(g - e) << " > " << limit << ")";
    ++bad;
  }
  if (bad == 0) return "";
  if (bad > 3) out << "; " << bad << " of " << got.v.size() << " elements differ";
  return out.str();
}

}  // namespace hxrt::conformance
