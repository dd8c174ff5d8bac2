#version 460
#include "common.glsl"
// MaxPool / AveragePool (2-D; 1-D as H = 1), one thread per output element.
// t0 = x, t1 = y, u0 = 0 max / 1 average, u1 = count_include_pad.
// prm = [H, W, OH, OW, KH, KW, sh, sw, ph, pw, ph_end, pw_end, dh, dw]
int P(int i) { return pc.prm.v[i]; }

void main() {
  int H = P(0), W = P(1), OH = P(2), OW = P(3), KH = P(4), KW = P(5), sh = P(6), sw = P(7);
  int ph = P(8), pw = P(9), ph_end = P(10), pw_end = P(11), dh = P(12), dw = P(13);
  bool average = pc.u0 != 0;
  for (uint i = first_index(); i < pc.n; i += index_stride()) {
    int ow = int(i % uint(OW));
    int oh = int((i / uint(OW)) % uint(OH));
    int plane = int(i / uint(OW * OH));
    int hs = oh * sh - ph, ws = ow * sw - pw;
    float acc = average ? 0.0 : -1.0 / 0.0;
    int count = 0;
    for (int kh = 0; kh < KH; ++kh) {
      int ih = hs + kh * dh;
      if (ih < 0 || ih >= H) continue;
      for (int kw = 0; kw < KW; ++kw) {
        int iw = ws + kw * dw;
        if (iw < 0 || iw >= W) continue;
        float v = pc.t0.v[(plane * H + ih) * W + iw];
        acc = average ? acc + v : max(acc, v);
        ++count;
      }
    }
    if (average) {
      if (pc.u1 != 0) {
        // The window clipped to the padded input, as ONNX Runtime counts it.
        int he = min(hs + KH, H + ph_end), we = min(ws + KW, W + pw_end);
        count = (he - hs) * (we - ws);
      }
      acc = count > 0 ? acc / float(count) : 0.0;
    }
    pc.t1.v[i] = acc;
  }
}
