#version 460
#include "common.glsl"
#include "wg_reduce.glsl"
// Softmax / LogSoftmax along one axis: x viewed as [outer, A, inner]; one
// workgroup per row (outer * inner rows, n = rows). t0 = x, t1 = y,
// u0 = A, u1 = inner, u2 = 1 for LogSoftmax.
void main() {
  uint A = pc.u0, inner = pc.u1, t = gl_LocalInvocationID.x;
  for (uint row = gl_WorkGroupID.x; row < pc.n; row += gl_NumWorkGroups.x) {
    uint base = (row / inner) * A * inner + row % inner;
    float m = -1.0 / 0.0;
    for (uint a = t; a < A; a += gl_WorkGroupSize.x) m = max(m, pc.t0.v[base + a * inner]);
    m = wg_max(m);
    float s = 0.0;
    for (uint a = t; a < A; a += gl_WorkGroupSize.x) s += exp(pc.t0.v[base + a * inner] - m);
    s = wg_sum(s);
    if (pc.u2 != 0) {
      float ls = log(s);
      for (uint a = t; a < A; a += gl_WorkGroupSize.x) pc.t1.v[base + a * inner] = pc.t0.v[base + a * inner] - m - ls;
    } else {
      float inv = 1.0 / s;
      for (uint a = t; a < A; a += gl_WorkGroupSize.x) pc.t1.v[base + a * inner] = exp(pc.t0.v[base + a * inner] - m) * inv;
    }
  }
}
