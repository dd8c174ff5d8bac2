#version 460
#include "common.glsl"
// Tiled shared-memory GEMM: C[z] = alpha * A[z] B[z] + beta * bias, one
// BM x BN tile of C per workgroup, TM x TN outputs per thread (strided so that
// shared-memory reads and global writes are contiguous across threads).
//   t0 = A, t1 = B, t2 = bias (u0 != 0), t3 = C (dense [z, M, N]); f0 = alpha, f1 = beta.
// MODE 0 (MatMul/Gemm): prm = [M, N, K, sam, sak, sbk, sbn, scm, scn, nb,
//   batch dims[4], a batch strides[4], b batch strides[4]].
// MODE 1 (Conv as implicit GEMM, B = im2col of the input, never stored):
//   prm = [M = OC/G, N = OH*OW, K = Cg*KH*KW, C, H, W, Cg, KH, KW, OH, OW,
//   sh, sw, ph, pw, dh, dw, G]; z = image * G + group; A = weights [OC, K].
// The workgroup size (id 0) is (BM/TM) * (BN/TN).
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;
layout(constant_id = 6) const uint MODE = 0;

const uint BMP = BM + 1;  // padding: column-wise stores hit distinct banks
shared float As[BK * BMP];
shared float Bs[BK * BN];

int P(int i) { return pc.prm.v[i]; }

void main() {
  const uint WG = (BM / TM) * (BN / TN);
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % (BN / TN), ty = tid / (BN / TN);
  int M = P(0), N = P(1), K = P(2);
  int m0 = int(gl_WorkGroupID.y * BM), n0 = int(gl_WorkGroupID.x * BN);
  uint z = gl_WorkGroupID.z;

  int sam, sak, sbk, sbn, a_base = 0, b_base = 0, bias_base = 0;
  int C_, H, W, Cg, KH, KW, OW, sh, sw, ph, pw, dh, dw;
  if (MODE == 0) {
    sam = P(3); sak = P(4); sbk = P(5); sbn = P(6);
    int nb = P(9);
    uint rest = z;
    for (int d = nb - 1; d >= 0; --d) {
      uint dim = uint(P(10 + d));
      int idx = int(rest % dim);
      rest /= dim;
      a_base += idx * P(14 + d);
      b_base += idx * P(18 + d);
    }
  } else {
    C_ = P(3); H = P(4); W = P(5); Cg = P(6); KH = P(7); KW = P(8); OW = P(10);
    sh = P(11); sw = P(12); ph = P(13); pw = P(14); dh = P(15); dw = P(16);
    int G = P(17);
    int image = int(z) / G, group = int(z) % G;
    sam = K; sak = 1;
    a_base = group * M * K;
    b_base = (image * C_ + group * Cg) * H * W;
    bias_base = group * M;
  }
  bool a_k_contiguous = sak == 1;
  bool b_n_contiguous = MODE == 1 || sbn == 1;

  float acc[TM][TN];
  for (uint i = 0; i < TM; ++i)
    for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  for (int k0 = 0; k0 < K; k0 += int(BK)) {
    for (uint e = tid; e < BK * BM; e += WG) {
      uint kk, mm;
      if (a_k_contiguous) { mm = e / BK; kk = e % BK; } else { kk = e / BM; mm = e % BM; }
      int m = m0 + int(mm), k = k0 + int(kk);
      As[kk * BMP + mm] = (m < M && k < K) ? pc.t0.v[a_base + m * sam + k * sak] : 0.0;
    }
    for (uint e = tid; e < BK * BN; e += WG) {
      uint kk, nn;
      if (b_n_contiguous) { kk = e / BN; nn = e % BN; } else { nn = e / BK; kk = e % BK; }
      int n = n0 + int(nn), k = k0 + int(kk);
      float v = 0.0;
      if (n < N && k < K) {
        if (MODE == 0) {
          v = pc.t1.v[b_base + k * sbk + n * sbn];
        } else {
          int kw = k % KW, t = k / KW;
          int kh = t % KH, ic = t / KH;
          int oh = n / OW, ow = n % OW;
          int ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
          if (ih >= 0 && ih < H && iw >= 0 && iw < W) v = pc.t1.v[b_base + (ic * H + ih) * W + iw];
        }
      }
      Bs[kk * BN + nn] = v;
    }
    barrier();
    for (uint kk = 0; kk < BK; ++kk) {
      float a[TM], b[TN];
      for (uint i = 0; i < TM; ++i) a[i] = As[kk * BMP + ty + i * (BM / TM)];
      for (uint j = 0; j < TN; ++j) b[j] = Bs[kk * BN + tx + j * (BN / TN)];
      for (uint i = 0; i < TM; ++i)
        for (uint j = 0; j < TN; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier();
  }

  bool has_bias = pc.u0 != 0;
  int scm = MODE == 0 ? P(7) : 1, scn = MODE == 0 ? P(8) : 0;
  uint c_base = z * uint(M) * uint(N);
  for (uint i = 0; i < TM; ++i) {
    int m = m0 + int(ty + i * (BM / TM));
    if (m >= M) continue;
    for (uint j = 0; j < TN; ++j) {
      int n = n0 + int(tx + j * (BN / TN));
      if (n >= N) continue;
      float v = pc.f0 * acc[i][j];
      if (has_bias) v += pc.f1 * pc.t2.v[bias_base + m * scm + n * scn];
      pc.t3.v[c_base + uint(m) * uint(N) + uint(n)] = v;
    }
  }
}
