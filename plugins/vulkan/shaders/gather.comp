#version 460
#include "common.glsl"
// Gather along one axis: data viewed as [outer, A, inner], I indices;
// out[o, j, k] = data[o, idx[j], k]. t0 = data, t1 = indices, t2 = out,
// u0 = A, u1 = inner, u2 = I, u3 = 1 for int64 indices, u4 = words per element.
// Indices out of [-A, A) are clamped, so a bad index never reads outside data.
void main() {
  Uints src = Uints(pc.t0);
  Ints indices = Ints(pc.t1);
  Uints dst = Uints(pc.t2);
  uint A = pc.u0, inner = pc.u1, I = pc.u2, words = pc.u4;
  for (uint i = first_index(); i < pc.n; i += index_stride()) {
    uint k = i % inner;
    uint j = (i / inner) % I;
    uint o = i / (inner * I);
    int idx;
    if (pc.u3 != 0) {
      int lo = indices.v[2 * j], hi = indices.v[2 * j + 1];
      // Beyond 32 bits the index is out of range either way.
      idx = (hi == 0 && lo >= 0) || (hi == -1 && lo < 0) ? lo : (hi < 0 ? -int(A) - 1 : int(A));
    } else {
      idx = indices.v[j];
    }
    if (idx < 0) idx += int(A);
    idx = clamp(idx, 0, int(A) - 1);
    uint s = (o * A + uint(idx)) * inner + k;
    for (uint w = 0; w < words; ++w) dst.v[i * words + w] = src.v[s * words + w];
  }
}
