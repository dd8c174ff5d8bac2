// Element-wise float32 kernels. Work-groups are 1-D of size 64; `n` bounds
// the tail so any global size rounded up to 64 is valid.

// Unary op codes; keep in sync with UnaryOp in src/ops.cpp.
#define U_IDENTITY 0
#define U_RELU 1
#define U_LEAKY_RELU 2
#define U_SIGMOID 3
#define U_TANH 4
#define U_EXP 5
#define U_LOG 6
#define U_ABS 7
#define U_NEG 8
#define U_SQRT 9
#define U_RECIPROCAL 10
#define U_ELU 11
#define U_SELU 12
#define U_HARD_SIGMOID 13
#define U_SOFTPLUS 14
#define U_SOFTSIGN 15
#define U_FLOOR 16
#define U_CEIL 17
#define U_ERF 18
#define U_SIN 19
#define U_COS 20
#define U_CLIP 21
#define U_HARD_SWISH 22

float unary_apply(int op, float x, float alpha, float beta) {
  switch (op) {
    case U_RELU: return x > 0.0f ? x : 0.0f;
    case U_LEAKY_RELU: return x >= 0.0f ? x : alpha * x;
    case U_SIGMOID: return 1.0f / (1.0f + exp(-x));
    case U_TANH: return tanh(x);
    case U_EXP: return exp(x);
    case U_LOG: return log(x);
    case U_ABS: return fabs(x);
    case U_NEG: return -x;
    case U_SQRT: return sqrt(x);
    case U_RECIPROCAL: return 1.0f / x;
    case U_ELU: return x >= 0.0f ? x : alpha * (exp(x) - 1.0f);
    case U_SELU: return x > 0.0f ? beta * x : beta * (alpha * exp(x) - alpha);
    case U_HARD_SIGMOID: return fmax(0.0f, fmin(1.0f, alpha * x + beta));
    case U_SOFTPLUS: return x > 20.0f ? x : log1p(exp(x));
    case U_SOFTSIGN: return x / (1.0f + fabs(x));
    case U_FLOOR: return floor(x);
    case U_CEIL: return ceil(x);
    case U_ERF: return erf(x);
    case U_SIN: return sin(x);
    case U_COS: return cos(x);
    case U_CLIP: return fmin(fmax(x, alpha), beta);
    case U_HARD_SWISH: return x * fmax(0.0f, fmin(1.0f, x / 6.0f + 0.5f));
    default: return x;
  }
}

__kernel void unary_f32(__global const float* x, __global float* y, int n, int op, float alpha, float beta) {
  int i = get_global_id(0);
  if (i < n) y[i] = unary_apply(op, x[i], alpha, beta);
}

// Binary op codes; keep in sync with BinaryOp in src/ops.cpp.
#define B_ADD 0
#define B_SUB 1
#define B_MUL 2
#define B_DIV 3
#define B_POW 4
#define B_MAX 5
#define B_MIN 6
#define B_PRELU 7

float binary_apply(int op, float a, float b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_POW: return pow(a, b);
    case B_MAX: return fmax(a, b);
    case B_MIN: return fmin(a, b);
    case B_PRELU: return a < 0.0f ? a * b : a;
    default: return a;
  }
}

// Broadcasting: meta holds rank entries each of output dims, a strides and b
// strides (stride 0 on broadcast axes).
__kernel void binary_f32(__global const float* a, __global const float* b, __global float* y,
                         __global const int* meta, int rank, int n, int op) {
  int i = get_global_id(0);
  if (i >= n) return;
  int ia = 0, ib = 0, rest = i;
  for (int d = rank - 1; d >= 0; --d) {
    int dim = meta[d];
    int c = rest % dim;
    rest /= dim;
    ia += c * meta[rank + d];
    ib += c * meta[2 * rank + d];
  }
  y[i] = binary_apply(op, a[ia], b[ib]);
}

// y *= s, for Mean's final scaling.
__kernel void scale_f32(__global float* y, int n, float s) {
  int i = get_global_id(0);
  if (i < n) y[i] *= s;
}
