#version 460
#include "common.glsl"
#include "wg_reduce.glsl"
// Reductions over any set of axes. Output o, decomposed over the kept dims,
// gives a base offset; the R reduced elements are decomposed over the reduced
// dims. prm = [nk, kept dims[6], kept strides[6], nr, red dims[6], red strides[6]].
// t0 = x, t1 = y, n = outputs, u0 = op, u1 = R, u2 = 1: one workgroup per output.
// ops: 0 sum, 1 mean, 2 max, 3 min, 4 prod, 5 sum of squares, 6 L1, 7 L2,
// 8 log-sum, 9 log-sum-exp.
int P(int i) { return pc.prm.v[i]; }

uint base_of(uint o) {
  int nk = P(0);
  uint off = 0;
  for (int d = nk - 1; d >= 0; --d) {
    uint dim = uint(P(1 + d));
    off += (o % dim) * uint(P(7 + d));
    o /= dim;
  }
  return off;
}

uint offset_of(uint r) {
  int nr = P(13);
  uint off = 0;
  for (int d = nr - 1; d >= 0; --d) {
    uint dim = uint(P(14 + d));
    off += (r % dim) * uint(P(20 + d));
    r /= dim;
  }
  return off;
}

float init(uint op) {
  if (op == 2 || op == 9) return -1.0 / 0.0;
  if (op == 3) return 1.0 / 0.0;
  if (op == 4) return 1.0;
  return 0.0;
}

// One element into the running value; for log-sum-exp `shift` is the maximum.
float step_(uint op, float acc, float x, float shift) {
  switch (op) {
    case 2: return max(acc, x);
    case 3: return min(acc, x);
    case 4: return acc * x;
    case 5: return acc + x * x;
    case 6: return acc + abs(x);
    case 7: return acc + x * x;
    case 9: return acc + exp(x - shift);
    default: return acc + x;
  }
}

float finish(uint op, float acc, float shift, uint R) {
  switch (op) {
    case 1: return acc / float(R);
    case 7: return sqrt(acc);
    case 8: return log(acc);
    case 9: return shift + log(acc);
    default: return acc;
  }
}

float combine(uint op, float v) {
  if (op == 2) return wg_max(v);
  if (op == 3) return wg_min(v);
  if (op == 4) return wg_prod(v);
  return wg_sum(v);
}

void main() {
  uint op = pc.u0, R = pc.u1;
  if (pc.u2 == 0) {
    for (uint o = first_index(); o < pc.n; o += index_stride()) {
      uint base = base_of(o);
      float shift = 0.0;
      if (op == 9) {
        shift = -1.0 / 0.0;
        for (uint r = 0; r < R; ++r) shift = max(shift, pc.t0.v[base + offset_of(r)]);
        if (isinf(shift)) shift = 0.0;
      }
      float acc = op == 9 ? 0.0 : init(op);
      for (uint r = 0; r < R; ++r) acc = step_(op, acc, pc.t0.v[base + offset_of(r)], shift);
      pc.t1.v[o] = finish(op, acc, shift, R);
    }
    return;
  }
  uint t = gl_LocalInvocationID.x;
  for (uint o = gl_WorkGroupID.x; o < pc.n; o += gl_NumWorkGroups.x) {
    uint base = base_of(o);
    float shift = 0.0;
    if (op == 9) {
      float m = -1.0 / 0.0;
      for (uint r = t; r < R; r += gl_WorkGroupSize.x) m = max(m, pc.t0.v[base + offset_of(r)]);
      shift = wg_max(m);
      if (isinf(shift)) shift = 0.0;
    }
    float acc = op == 9 ? 0.0 : init(op);
    for (uint r = t; r < R; r += gl_WorkGroupSize.x) acc = step_(op, acc, pc.t0.v[base + offset_of(r)], shift);
    float total = combine(op == 9 ? 0u : op, acc);
    if (t == 0) pc.t1.v[o] = finish(op, total, shift, R);
  }
}
