// Reductions, softmax and layer normalisation, float32.

// Reduce op codes; keep in sync with ReduceOp in src/ops.cpp.
#define R_SUM 0
#define R_MEAN 1
#define R_MAX 2
#define R_MIN 3
#define R_PROD 4
#define R_SUM_SQUARE 5
#define R_L1 6
#define R_L2 7
#define R_LOG_SUM_EXP 8

// One work item per output element. meta (rank = r):
//   [0, r)        kept dims (1 on reduced axes)
//   [r, 2r)       input strides of the kept axes (0 on reduced axes)
//   [2r, 3r)      reduced dims (1 on kept axes)
//   [3r, 4r)      input strides of the reduced axes (0 on kept axes)
__kernel void reduce_f32(__global const float* x, __global float* y, __global const int* meta, int rank,
                         int total, int reduced, int op) {
  int o = get_global_id(0);
  if (o >= total) return;
  int base = 0, rest = o;
  for (int d = rank - 1; d >= 0; --d) {
    base += (rest % meta[d]) * meta[rank + d];
    rest /= meta[d];
  }
  float acc = (op == R_MAX) ? -INFINITY : (op == R_MIN) ? INFINITY : (op == R_PROD) ? 1.0f : 0.0f;
  float peak = -INFINITY;
  if (op == R_LOG_SUM_EXP) {
    for (int r = 0; r < reduced; ++r) {
      int off = base, q = r;
      for (int d = rank - 1; d >= 0; --d) {
        off += (q % meta[2 * rank + d]) * meta[3 * rank + d];
        q /= meta[2 * rank + d];
      }
      peak = fmax(peak, x[off]);
    }
  }
  for (int r = 0; r < reduced; ++r) {
    int off = base, q = r;
    for (int d = rank - 1; d >= 0; --d) {
      off += (q % meta[2 * rank + d]) * meta[3 * rank + d];
      q /= meta[2 * rank + d];
    }
    float v = x[off];
    switch (op) {
      case R_MAX: acc = fmax(acc, v); break;
      case R_MIN: acc = fmin(acc, v); break;
      case R_PROD: acc *= v; break;
      case R_SUM_SQUARE:
      case R_L2: acc += v * v; break;
      case R_L1: acc += fabs(v); break;
      case R_LOG_SUM_EXP: acc += exp(v - peak); break;
      default: acc += v; break;
    }
  }
  if (op == R_MEAN) acc = reduced > 0 ? acc / reduced : NAN;
  if (op == R_L2) acc = sqrt(acc);
  if (op == R_LOG_SUM_EXP) acc = peak + log(acc);
  y[o] = acc;
}

// Softmax along an axis of length `len`; elements of one softmax lie `inner`
// apart. One work item per (outer, inner) pair. log_mode != 0: LogSoftmax.
__kernel void softmax_f32(__global const float* x, __global float* y, int outer, int len, int inner,
                          int log_mode) {
  int g = get_global_id(0);
  if (g >= outer * inner) return;
  int base = (g / inner) * len * inner + g % inner;
  float peak = -INFINITY;
  for (int k = 0; k < len; ++k) peak = fmax(peak, x[base + k * inner]);
  float sum = 0.0f;
  for (int k = 0; k < len; ++k) sum += exp(x[base + k * inner] - peak);
  if (log_mode) {
    float ls = log(sum);
    for (int k = 0; k < len; ++k) y[base + k * inner] = x[base + k * inner] - peak - ls;
  } else {
    float inv = 1.0f / sum;
    for (int k = 0; k < len; ++k) y[base + k * inner] = exp(x[base + k * inner] - peak) * inv;
  }
}

// LayerNormalization over the last `cols` elements of each row. scale and
// bias hold `cols` values; mean/inv_std (one per row) are written when asked.
__kernel void layernorm_f32(__global const float* x, __global const float* scale, __global const float* bias,
                            __global float* y, __global float* mean_out, __global float* inv_std_out, int rows,
                            int cols, float epsilon, int has_bias, int write_stats) {
  int r = get_global_id(0);
  if (r >= rows) return;
  __global const float* xr = x + r * cols;
  float mean = 0.0f;
  for (int k = 0; k < cols; ++k) mean += xr[k];
  mean /= cols;
  float var = 0.0f;
  for (int k = 0; k < cols; ++k) {
    float d = xr[k] - mean;
    var += d * d;
  }
  var /= cols;
  float inv = 1.0f / sqrt(var + epsilon);
  for (int k = 0; k < cols; ++k) y[r * cols + k] = (xr[k] - mean) * inv * scale[k] + (has_bias ? bias[k] : 0.0f);
  if (write_stats) {
    mean_out[r] = mean;
    inv_std_out[r] = inv;
  }
}
