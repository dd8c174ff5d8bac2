// Bit-level conversions between float and the two 16-bit float formats
// (IEEE binary16 and bfloat16), for code that holds them as uint16_t:
// host-side kernels, constant folding and output comparison. Header-only so
// the host, tools and plugins share one definition.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace hxrt::plugin {

// Round-to-nearest-even conversion of a double (so float and double inputs are
// both rounded once) to IEEE half bits.
inline uint16_t double_to_half_bits(double x) {
  uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  if (std::isnan(x)) return static_cast<uint16_t>(sign | 0x7E00);
  double a = std::fabs(x);
  if (std::isinf(a)) return static_cast<uint16_t>(sign | 0x7C00);
  if (a < 6.103515625e-05) {  // below 2^-14: subnormal (or zero) result
    double m = std::nearbyint(a * 16777216.0);  // units of 2^-24, ties to even
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(m));  // m == 1024 is the smallest normal
  }
  int e = 0;
  double f = std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  int exponent = e - 1;          // a = (2f) * 2^exponent, 2f in [1, 2)
  double m = std::nearbyint((2.0 * f - 1.0) * 1024.0);
  if (m >= 1024.0) {
    m = 0;
    ++exponent;
  }
  int biased = exponent + 15;
  if (biased >= 31) return static_cast<uint16_t>(sign | 0x7C00);
  return static_cast<uint16_t>(sign | (biased << 10) | static_cast<uint16_t>(m));
}

inline float half_bits_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: value = mantissa * 2^-24, exact in float
      float v = static_cast<float>(mantissa) * 5.9604644775390625e-08f;
      return sign ? -v : v;
    }
  } else if (exponent == 31) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

// Round-to-nearest-even; a NaN stays a quiet NaN with its sign.
inline uint16_t float_to_bfloat16_bits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if (std::isnan(x)) return static_cast<uint16_t>((bits >> 16) | 0x0040);
  uint32_t rounding = ((bits >> 16) & 1u) + 0x7FFFu;
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

inline float bfloat16_bits_to_float(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

}  // namespace hxrt::plugin
