#version 460
#include "common.glsl"
#include "math.glsl"
// y = f(x) elementwise. t0 = x, t1 = y, u0 = op, f0/f1 = op parameters.

float apply(uint op, float x) {
  switch (op) {
    case 0: return x;
    case 1: return max(x, 0.0);
    case 2: return 1.0 / (1.0 + exp(-x));
    case 3: return tanh_safe(x);
    case 4: return exp(x);
    case 5: return log(x);
    case 6: return sqrt(x);
    case 7: return abs(x);
    case 8: return -x;
    case 9: return 1.0 / x;
    case 10: return floor(x);
    case 11: return ceil(x);
    case 12: return erf_approx(x);
    case 13: return sin(x);
    case 14: return cos(x);
    case 15: return x >= 0.0 ? x : pc.f0 * x;                         // LeakyRelu
    case 16: return x >= 0.0 ? x : pc.f0 * (exp(x) - 1.0);            // Elu
    case 17: return pc.f1 * (x > 0.0 ? x : pc.f0 * (exp(x) - 1.0));   // Selu
    case 18: return clamp(pc.f0 * x + pc.f1, 0.0, 1.0);               // HardSigmoid
    case 19: return x * clamp(x / 6.0 + 0.5, 0.0, 1.0);               // HardSwish
    case 20: return x > 20.0 ? x : log(1.0 + exp(x));                 // Softplus
    case 21: return x / (1.0 + abs(x));                                // Softsign
    case 22: return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752)); // Gelu
    case 23: return 0.5 * x * (1.0 + tanh_safe(0.79788456080286536 * (x + 0.044715 * x * x * x)));
    case 24: return min(max(x, pc.f0), pc.f1);                         // Clip
    case 25: return roundEven(x);
    case 26: return sign(x);
    case 27: return max(0.0, x) + min(0.0, pc.f0 * (exp(x / pc.f0) - 1.0)); // Celu
    case 28: return x > pc.f0 ? x : 0.0;                               // ThresholdedRelu
    case 29: return x * tanh_safe(x > 20.0 ? x : log(1.0 + exp(x)));  // Mish
    default: return 0.0 / 0.0;
  }
}

void main() {
  uint op = pc.u0;
  for (uint i = first_index(); i < pc.n; i += index_stride()) pc.t1.v[i] = apply(op, pc.t0.v[i]);
}
