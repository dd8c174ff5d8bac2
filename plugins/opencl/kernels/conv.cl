// Direct 2-D convolution, NCHW / OIHW float32 (1-D runs with H = 1). One work
// item per output element; groups, strides, pads and dilations from meta.
// meta: N C H W M KH KW OH OW group sh sw pad_top pad_left dh dw
__kernel void conv2d_f32(__global const float* x, __global const float* w, __global const float* bias,
                         __global float* y, __global const int* meta, int has_bias, int total) {
  int i = get_global_id(0);
  if (i >= total) return;
  const int C = meta[1], H = meta[2], W = meta[3], M = meta[4];
  const int KH = meta[5], KW = meta[6], OH = meta[7], OW = meta[8], G = meta[9];
  const int sh = meta[10], sw = meta[11], pt = meta[12], pl = meta[13], dh = meta[14], dw = meta[15];
  int ow = i % OW;
  int t = i / OW;
  int oh = t % OH;
  t /= OH;
  int m = t % M;
  int n = t / M;
  const int cg = C / G;          // input channels per group
  const int mg = M / G;          // output channels per group
  const int c0 = (m / mg) * cg;  // first input channel of m's group
  float acc = has_bias ? bias[m] : 0.0f;
  for (int c = 0; c < cg; ++c) {
    __global const float* xc = x + ((n * C + c0 + c) * H) * W;
    __global const float* wc = w + ((m * cg + c) * KH) * KW;
    for (int kh = 0; kh < KH; ++kh) {
      int ih = oh * sh - pt + kh * dh;
      if (ih < 0 || ih >= H) continue;
      for (int kw = 0; kw < KW; ++kw) {
        int iw = ow * sw - pl + kw * dw;
        if (iw < 0 || iw >= W) continue;
        acc += xc[ih * W + iw] * wc[kh * KW + kw];
      }
    }
  }
  y[i] = acc;
}
