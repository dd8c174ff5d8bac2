// Data movement kernels; they move 32-bit elements, so they serve float32.

// Transpose: meta holds rank output dims, then the input stride of each
// output axis.
__kernel void transpose_f32(__global const float* x, __global float* y, __global const int* meta, int rank,
                            int n) {
  int i = get_global_id(0);
  if (i >= n) return;
  int off = 0, rest = i;
  for (int d = rank - 1; d >= 0; --d) {
    off += (rest % meta[d]) * meta[rank + d];
    rest /= meta[d];
  }
  y[i] = x[off];
}

// One Concat input: `outer` blocks of `block` elements go to the output at
// column `offset` of rows `out_block` wide.
__kernel void concat_f32(__global const float* x, __global float* y, int outer, int block, int out_block,
                         int offset) {
  int i = get_global_id(0);
  if (i >= outer * block) return;
  y[(i / block) * out_block + offset + i % block] = x[i];
}
