// 2-D pooling, NCHW float32 (1-D runs with H = 1). One work item per output.
// meta: N C H W OH OW KH KW sh sw pad_top pad_left dh dw pad_bottom pad_right
// mode 0: max; 1: average excluding pads; 2: average including pads.
__kernel void pool2d_f32(__global const float* x, __global float* y, __global const int* meta, int mode,
                         int total) {
  int i = get_global_id(0);
  if (i >= total) return;
  const int H = meta[2], W = meta[3], OH = meta[4], OW = meta[5];
  const int KH = meta[6], KW = meta[7], sh = meta[8], sw = meta[9], pt = meta[10], pl = meta[11];
  const int dh = meta[12], dw = meta[13];
  int ow = i % OW;
  int t = i / OW;
  int oh = t % OH;
  int nc = t / OH;
  __global const float* xc = x + nc * H * W;
  float acc = mode == 0 ? -INFINITY : 0.0f;
  int count = 0;
  int padded = 0;  // window positions inside the padded input, for mode 2
  for (int kh = 0; kh < KH; ++kh) {
    int ih = oh * sh - pt + kh * dh;
    for (int kw = 0; kw < KW; ++kw) {
      int iw = ow * sw - pl + kw * dw;
      // Pads end at H + pad_bottom; positions beyond (ceil_mode) never count.
      if (ih < H + meta[14] && iw < W + meta[15]) ++padded;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      float v = xc[ih * W + iw];
      if (mode == 0) acc = fmax(acc, v); else acc += v;
      ++count;
    }
  }
  if (mode == 1) acc = count > 0 ? acc / count : 0.0f;
  if (mode == 2) acc = padded > 0 ? acc / padded : 0.0f;
  y[i] = acc;
}

// Global pooling over the last `inner` elements of each of `rows` rows.
// mode 0: max; 1: average.
__kernel void global_pool_f32(__global const float* x, __global float* y, int rows, int inner, int mode) {
  int r = get_global_id(0);
  if (r >= rows) return;
  __global const float* xr = x + r * inner;
  float acc = mode == 0 ? -INFINITY : 0.0f;
  for (int k = 0; k < inner; ++k) acc = mode == 0 ? fmax(acc, xr[k]) : acc + xr[k];
  y[r] = mode == 0 ? acc : acc / inner;
}
