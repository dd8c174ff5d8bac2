#version 460
#include "common.glsl"
#include "wg_reduce.glsl"
// Normalisation over rows of u0 contiguous elements (n = rows), one
// workgroup per row: y = (x - mean) / sqrt(var + eps) * scale + bias.
// u1 = 0: LayerNormalization (scale/bias indexed by position in the row);
// u1 = 1: InstanceNormalization (scale/bias indexed by channel = row % u2).
// t0 = x, t1 = scale, t2 = bias (u3 != 0), t3 = y, t4 = mean out (u4 != 0),
// t5 = inverse std out (u5 != 0); f0 = epsilon.
void main() {
  uint N = pc.u0, t = gl_LocalInvocationID.x;
  for (uint row = gl_WorkGroupID.x; row < pc.n; row += gl_NumWorkGroups.x) {
    uint base = row * N;
    float s = 0.0;
    for (uint j = t; j < N; j += gl_WorkGroupSize.x) s += pc.t0.v[base + j];
    float mean = wg_sum(s) / float(N);
    float q = 0.0;
    for (uint j = t; j < N; j += gl_WorkGroupSize.x) {
      float d = pc.t0.v[base + j] - mean;
      q += d * d;
    }
    float inv_std = 1.0 / sqrt(wg_sum(q) / float(N) + pc.f0);
    uint c = row % max(pc.u2, 1u);
    for (uint j = t; j < N; j += gl_WorkGroupSize.x) {
      uint k = pc.u1 == 0 ? j : c;
      float v = (pc.t0.v[base + j] - mean) * inv_std * pc.t1.v[k];
      if (pc.u3 != 0) v += pc.t2.v[k];
      pc.t3.v[base + j] = v;
    }
    if (t == 0) {
      if (pc.u4 != 0) pc.t4.v[row] = mean;
      if (pc.u5 != 0) pc.t5.v[row] = inv_std;
    }
  }
}
