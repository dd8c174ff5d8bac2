// Functions GLSL lacks or leaves undefined at the edges.
const float kInf = 1.0 / 0.0;

// Abramowitz & Stegun 7.1.26 refined: |error| < 1.5e-7.
float erf_approx(float x) {
  float a = abs(x);
  float t = 1.0 / (1.0 + 0.3275911 * a);
  float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return sign(x) * y;
}

// tanh through exp overflows on some drivers for large |x|.
float tanh_safe(float x) { return tanh(clamp(x, -15.0, 15.0)); }

// ONNX Pow: negative bases with integral exponents are fine; 0^0 = 1.
float pow_onnx(float x, float y) {
  if (y == 0.0) return 1.0;
  if (x == 0.0) return y > 0.0 ? 0.0 : kInf;
  float r = pow(abs(x), y);
  if (x < 0.0) {
    if (floor(y) != y) return 0.0 / 0.0;
    if (mod(y, 2.0) != 0.0) r = -r;
  }
  return r;
}
