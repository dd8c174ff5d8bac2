#version 460
#include "common.glsl"
// Strided copy of n elements of u2 32-bit words: element i, decomposed over
// prm = [rank, dims[6], src_strides[6], dst_strides[6]] (in elements, may be
// negative or 0), goes from src base u0 to dst base u1 (in elements).
// Transpose, Slice, Expand, Concat and Split are all this kernel.
void main() {
  Uints src = Uints(pc.t0);
  Uints dst = Uints(pc.t1);
  int rank = pc.prm.v[0];
  uint words = pc.u2;
  for (uint i = first_index(); i < pc.n; i += index_stride()) {
    uint rest = i;
    int s = int(pc.u0), d = int(pc.u1);
    for (int k = rank - 1; k >= 0; --k) {
      uint dim = uint(pc.prm.v[1 + k]);
      int idx = int(rest % dim);
      rest /= dim;
      s += idx * pc.prm.v[7 + k];
      d += idx * pc.prm.v[13 + k];
    }
    for (uint w = 0; w < words; ++w) dst.v[uint(d) * words + w] = src.v[uint(s) * words + w];
  }
}
