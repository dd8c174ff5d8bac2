#version 460
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_buffer_reference_uvec2 : require
#include "common.glsl"
// Tiled shared-memory GEMM: C[z] = alpha * A[z] B[z] + beta * bias, one
// BM x BN tile of C per workgroup, TM x TN outputs per thread.
//   t0 = A, t1 = B, t2 = bias (u0 != 0), t3 = C (dense [z, M, N]); f0 = alpha, f1 = beta.
// MODE 0 (MatMul/Gemm): prm = [M, N, K, sam, sak, sbk, sbn, scm, scn, nb,
//   batch dims[4], a batch strides[4], b batch strides[4]].
// MODE 1 (Conv as implicit GEMM, B = im2col of the input, never stored):
//   prm = [M = OC/G, N = OH*OW, K = Cg*KH*KW, C, H, W, Cg, KH, KW, OH, OW,
//   sh, sw, ph, pw, dh, dw, G]; z = image * G + group; A = weights [OC, K].
//
// The tile sizes are compile-time constants (glslc -DBM=... -DBN=... -DBK=...
// -DTM=... -DTN=...; CMakeLists.txt builds one SPIR-V module per variant), so
// every loop over the register tile unrolls and the accumulators stay in
// registers. Each thread owns TM/4 x TN/4 blocks of 4 x 4 outputs, the blocks
// RM (RN) quads apart, so that the vec4 reads of a warp from shared memory are
// contiguous. Global memory is read in quads of 4 floats: one vec4 load where
// the operand is 16-byte aligned along its contiguous axis, else 4 scalar loads
// (transposed operands at odd sizes, the im2col gather, edge tiles). Two
// shared-memory slabs: the next K-slab is loaded into registers while the
// current one is multiplied, then stored into the other slab (one barrier per slab).
#ifndef BM
#define BM 64
#endif
#ifndef BN
#define BN 64
#endif
#ifndef BK
#define BK 16
#endif
#ifndef TM
#define TM 4
#endif
#ifndef TN
#define TN 4
#endif
#define RM (BM / TM)  // threads along m
#define RN (BN / TN)  // threads along n
#define WG (RM * RN)
#define QA ((BM * BK / 4) / WG)  // quads of A each thread loads per slab
#define QB ((BN * BK / 4) / WG)
#if (TM % 4) != 0 || (TN % 4) != 0 || (BK % 4) != 0 || ((BM * BK / 4) % WG) != 0 || ((BN * BK / 4) % WG) != 0
#error "matmul.comp: tile sizes must be multiples of 4 and split evenly over the workgroup"
#endif

// Workgroup size (id 0) must be WG; the host passes it.
layout(constant_id = 1) const uint MODE = 0;

layout(buffer_reference, std430, buffer_reference_align = 16) buffer Vec4s { vec4 v[]; };

// [slab][k][quad of m or n]; one quad of padding per row spreads the
// transposing scalar stores over the banks.
shared vec4 As[2][BK][BM / 4 + 1];
shared vec4 Bs[2][BK][BN / 4 + 1];

int P(int i) { return pc.prm.v[i]; }
bool aligned16(Floats p) { return (uvec2(p).x & 15u) == 0u; }

int M, N, K, sam, sak, sbk, sbn, a_base, b_base;
int C_, H, W, KH, KW, OW, sh, sw, ph, pw, dh, dw;
bool a_kq, a_vec, b_nq, b_vec;
int m0, n0;

// Quad q of the A slab at k0: 4 consecutive k of one row m (a_kq) or 4
// consecutive m of one k.
vec4 load_a(uint q, int k0) {
  int m, k;
  if (a_kq) {
    m = m0 + int(q / (BK / 4));
    k = k0 + int(q % (BK / 4)) * 4;
  } else {
    k = k0 + int(q / (BM / 4));
    m = m0 + int(q % (BM / 4)) * 4;
  }
  if (a_vec) return (m < M && k < K) ? Vec4s(pc.t0).v[(a_base + m * sam + k * sak) >> 2] : vec4(0.0);
  vec4 r;
  [[unroll]] for (int c = 0; c < 4; ++c) {
    int mm = a_kq ? m : m + c, kk = a_kq ? k + c : k;
    r[c] = (mm < M && kk < K) ? pc.t0.v[a_base + mm * sam + kk * sak] : 0.0;
  }
  return r;
}

void store_a(uint buf, uint q, vec4 r) {
  if (a_kq) {
    uint mm = q / (BK / 4), kk = (q % (BK / 4)) * 4;
    As[buf][kk + 0][mm >> 2][mm & 3] = r.x;
    As[buf][kk + 1][mm >> 2][mm & 3] = r.y;
    As[buf][kk + 2][mm >> 2][mm & 3] = r.z;
    As[buf][kk + 3][mm >> 2][mm & 3] = r.w;
  } else {
    As[buf][q / (BM / 4)][q % (BM / 4)] = r;
  }
}

// Quad q of the B slab at k0: 4 consecutive n of one k (b_nq) or 4 consecutive k of one n.
vec4 load_b(uint q, int k0) {
  int n, k;
  if (b_nq) {
    k = k0 + int(q / (BN / 4));
    n = n0 + int(q % (BN / 4)) * 4;
  } else {
    n = n0 + int(q / (BK / 4));
    k = k0 + int(q % (BK / 4)) * 4;
  }
  if (b_vec) return (n < N && k < K) ? Vec4s(pc.t1).v[(b_base + k * sbk + n * sbn) >> 2] : vec4(0.0);
  vec4 r = vec4(0.0);
  if (MODE == 1) {
    if (k >= K) return r;
    int kw = k % KW, t = k / KW;
    int kh = t % KH, ic = t / KH;
    int oh = n / OW, ow = n % OW;
    [[unroll]] for (int c = 0; c < 4; ++c) {
      if (n + c < N) {
        int ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
        if (ih >= 0 && ih < H && iw >= 0 && iw < W) r[c] = pc.t1.v[b_base + (ic * H + ih) * W + iw];
      }
      if (++ow == OW) {
        ow = 0;
        ++oh;
      }
    }
    return r;
  }
  [[unroll]] for (int c = 0; c < 4; ++c) {
    int nn = b_nq ? n + c : n, kk = b_nq ? k : k + c;
    r[c] = (nn < N && kk < K) ? pc.t1.v[b_base + kk * sbk + nn * sbn] : 0.0;
  }
  return r;
}

void store_b(uint buf, uint q, vec4 r) {
  if (b_nq) {
    Bs[buf][q / (BN / 4)][q % (BN / 4)] = r;
  } else {
    uint nn = q / (BK / 4), kk = (q % (BK / 4)) * 4;
    Bs[buf][kk + 0][nn >> 2][nn & 3] = r.x;
    Bs[buf][kk + 1][nn >> 2][nn & 3] = r.y;
    Bs[buf][kk + 2][nn >> 2][nn & 3] = r.z;
    Bs[buf][kk + 3][nn >> 2][nn & 3] = r.w;
  }
}

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % RN, ty = tid / RN;
  M = P(0);
  N = P(1);
  K = P(2);
  m0 = int(gl_WorkGroupID.y * BM);
  n0 = int(gl_WorkGroupID.x * BN);
  uint z = gl_WorkGroupID.z;

  a_base = 0;
  b_base = 0;
  int bias_base = 0;
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
    C_ = P(3); H = P(4); W = P(5); KH = P(7); KW = P(8); OW = P(10);
    sh = P(11); sw = P(12); ph = P(13); pw = P(14); dh = P(15); dw = P(16);
    int Cg = P(6), G = P(17);
    int image = int(z) / G, group = int(z) % G;
    sam = K; sak = 1; sbk = 0; sbn = 1;
    a_base = group * M * K;
    b_base = (image * C_ + group * Cg) * H * W;
    bias_base = group * M;
  }
  a_kq = sak == 1;
  a_vec = (a_kq ? ((sam & 3) == 0 && (K & 3) == 0) : (sam == 1 && (sak & 3) == 0 && (M & 3) == 0)) &&
          (a_base & 3) == 0 && aligned16(pc.t0);
  b_nq = MODE == 1 || sbn == 1;
  b_vec = MODE == 0 && (b_nq ? ((sbk & 3) == 0 && (N & 3) == 0) : (sbk == 1 && (sbn & 3) == 0 && (K & 3) == 0)) &&
          (b_base & 3) == 0 && aligned16(pc.t1);

  vec4 acc[TM][TN / 4];
  [[unroll]] for (uint i = 0; i < TM; ++i)
    [[unroll]] for (uint j = 0; j < TN / 4; ++j) acc[i][j] = vec4(0.0);

  vec4 ra[QA], rb[QB];
  [[unroll]] for (uint l = 0; l < QA; ++l) ra[l] = load_a(tid + l * WG, 0);
  [[unroll]] for (uint l = 0; l < QB; ++l) rb[l] = load_b(tid + l * WG, 0);
  [[unroll]] for (uint l = 0; l < QA; ++l) store_a(0, tid + l * WG, ra[l]);
  [[unroll]] for (uint l = 0; l < QB; ++l) store_b(0, tid + l * WG, rb[l]);
  barrier();

  int slabs = (K + BK - 1) / BK;
  for (int t = 0; t < slabs; ++t) {
    uint cur = uint(t) & 1u;
    bool more = t + 1 < slabs;
    if (more) {
      int k1 = (t + 1) * BK;
      [[unroll]] for (uint l = 0; l < QA; ++l) ra[l] = load_a(tid + l * WG, k1);
      [[unroll]] for (uint l = 0; l < QB; ++l) rb[l] = load_b(tid + l * WG, k1);
    }
    [[unroll]] for (uint kk = 0; kk < BK; ++kk) {
      vec4 a[TM / 4], b[TN / 4];
      [[unroll]] for (uint i = 0; i < TM / 4; ++i) a[i] = As[cur][kk][ty + i * RM];
      [[unroll]] for (uint j = 0; j < TN / 4; ++j) b[j] = Bs[cur][kk][tx + j * RN];
      [[unroll]] for (uint i = 0; i < TM / 4; ++i)
        [[unroll]] for (uint c = 0; c < 4; ++c)
          [[unroll]] for (uint j = 0; j < TN / 4; ++j) acc[i * 4 + c][j] = fma(vec4(a[i][c]), b[j], acc[i * 4 + c][j]);
    }
    if (more) {
      [[unroll]] for (uint l = 0; l < QA; ++l) store_a(cur ^ 1u, tid + l * WG, ra[l]);
      [[unroll]] for (uint l = 0; l < QB; ++l) store_b(cur ^ 1u, tid + l * WG, rb[l]);
    }
    barrier();
  }

  bool has_bias = pc.u0 != 0;
  int scm = MODE == 0 ? P(7) : 1, scn = MODE == 0 ? P(8) : 0;
  uint c_base = z * uint(M) * uint(N);
  bool c_vec = (N & 3) == 0 && aligned16(pc.t3);
  [[unroll]] for (uint i = 0; i < TM / 4; ++i)
    [[unroll]] for (uint c = 0; c < 4; ++c) {
      int m = m0 + int(4 * (ty + i * RM) + c);
      if (m >= M) continue;
      [[unroll]] for (uint j = 0; j < TN / 4; ++j) {
        int n = n0 + int(4 * (tx + j * RN));
        if (n >= N) continue;
        vec4 v = pc.f0 * acc[i * 4 + c][j];
        if (has_bias)
          [[unroll]] for (int e = 0; e < 4; ++e)
            if (n + e < N) v[e] += pc.f1 * pc.t2.v[bias_base + m * scm + (n + e) * scn];
        uint o = c_base + uint(m) * uint(N) + uint(n);
        if (c_vec) {
          Vec4s(pc.t3).v[o >> 2] = v;
        } else {
          [[unroll]] for (int e = 0; e < 4; ++e)
            if (n + e < N) pc.t3.v[o + uint(e)] = v[e];
        }
      }
    }
}
