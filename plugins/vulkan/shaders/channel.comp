#version 460
#include "common.glsl"
// BatchNormalization (inference): y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c]
// with c = (i / inner) % C. t0 = x, t1 = scale, t2 = bias, t3 = mean, t4 = var,
// t5 = y, u0 = inner, u1 = C, f0 = epsilon.
void main() {
  for (uint i = first_index(); i < pc.n; i += index_stride()) {
    uint c = (i / pc.u0) % pc.u1;
    float s = pc.t1.v[c] / sqrt(pc.t4.v[c] + pc.f0);
    pc.t5.v[i] = (pc.t0.v[i] - pc.t3.v[c]) * s + pc.t2.v[c];
  }
}
