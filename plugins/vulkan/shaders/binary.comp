#version 460
#include "common.glsl"
#include "math.glsl"
// c = a (op) b with numpy broadcasting. t0 = a, t1 = b, t2 = c, u0 = op,
// u1 = 0: same shapes; 1: general, prm = [rank, dims[6], a_strides[6], b_strides[6]]
// (stride 0 along broadcast dimensions).

float apply(uint op, float a, float b) {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return pow_onnx(a, b);
    case 5: return min(a, b);
    case 6: return max(a, b);
    case 7: return a < 0.0 ? a * b : a;  // PRelu
    default: return 0.0 / 0.0;
  }
}

void main() {
  uint op = pc.u0;
  if (pc.u1 == 0) {
    for (uint i = first_index(); i < pc.n; i += index_stride()) pc.t2.v[i] = apply(op, pc.t0.v[i], pc.t1.v[i]);
    return;
  }
  int rank = pc.prm.v[0];
  for (uint i = first_index(); i < pc.n; i += index_stride()) {
    uint rest = i;
    uint ia = 0, ib = 0;
    for (int d = rank - 1; d >= 0; --d) {
      uint dim = uint(pc.prm.v[1 + d]);
      uint idx = rest % dim;
      rest /= dim;
      ia += idx * uint(pc.prm.v[7 + d]);
      ib += idx * uint(pc.prm.v[13 + d]);
    }
    pc.t2.v[i] = apply(op, pc.t0.v[ia], pc.t1.v[ib]);
  }
}
