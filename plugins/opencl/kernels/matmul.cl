// Tiled float32 GEMM: C[b] = alpha * op(A[b]) * op(B[b]) + beta * bias.
// Work-groups are TS x TS; each item computes one element of C, staging
// TS x TS tiles of A and B through local memory.
#define TS 16

// meta: per batch b, the element offsets of A[b], B[b] and C[b].
// lda/ldb: row strides of A and B as stored; trans flags pick op().
// bias: element (i, j) is bias[i * bias_rs + j * bias_cs]; has_bias = 0 skips it.
__kernel __attribute__((reqd_work_group_size(TS, TS, 1)))
void gemm_tiled(__global const float* A, __global const float* B, __global float* C,
                __global const float* bias, __global const int* meta,
                int M, int N, int K, int lda, int ldb, int trans_a, int trans_b,
                float alpha, float beta, int has_bias, int bias_rs, int bias_cs) {
  __local float As[TS][TS];
  __local float Bs[TS][TS + 1];
  const int tx = get_local_id(0);  // column within the tile
  const int ty = get_local_id(1);  // row within the tile
  const int col = get_group_id(0) * TS + tx;
  const int row = get_group_id(1) * TS + ty;
  const int batch = get_global_id(2);
  __global const float* a = A + meta[3 * batch];
  __global const float* b = B + meta[3 * batch + 1];
  __global float* c = C + meta[3 * batch + 2];
  float acc = 0.0f;
  for (int k0 = 0; k0 < K; k0 += TS) {
    int ka = k0 + tx;  // A tile: row `row`, column ka
    As[ty][tx] = (row < M && ka < K) ? (trans_a ? a[ka * lda + row] : a[row * lda + ka]) : 0.0f;
    int kb = k0 + ty;  // B tile: row kb, column `col`
    Bs[ty][tx] = (kb < K && col < N) ? (trans_b ? b[col * ldb + kb] : b[kb * ldb + col]) : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 0; k < TS; ++k) acc += As[ty][k] * Bs[k][tx];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (row < M && col < N) {
    float v = alpha * acc;
    if (has_bias) v += beta * bias[row * bias_rs + col * bias_cs];
    c[row * N + col] = v;
  }
}
