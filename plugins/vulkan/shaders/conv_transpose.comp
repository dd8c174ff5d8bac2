#version 460
#include "common.glsl"
// ConvTranspose (2-D; 1-D as H = 1), one thread per output element:
// out[n, oc, oh, ow] = bias[oc] + sum over ic of the group, kh, kw with
// oh = ih * sh - ph + kh * dh (and likewise for w) of x[n, ic, ih, iw] * w[ic, oc % OCg, kh, kw].
// t0 = x, t1 = weights [C, OCg, KH, KW], t2 = bias (u0 != 0), t3 = out.
// prm = [C, H, W, OC, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, G]
int P(int i) { return pc.prm.v[i]; }

void main() {
  int C = P(0), H = P(1), W = P(2), OC = P(3), OH = P(4), OW = P(5), KH = P(6), KW = P(7);
  int sh = P(8), sw = P(9), ph = P(10), pw = P(11), dh = P(12), dw = P(13), G = P(14);
  int Cg = C / G, OCg = OC / G;
  for (uint i = first_index(); i < pc.n; i += index_stride()) {
    int ow = int(i % uint(OW));
    int oh = int((i / uint(OW)) % uint(OH));
    int oc = int((i / uint(OW * OH)) % uint(OC));
    int image = int(i / uint(OW * OH * OC));
    int g = oc / OCg, ocg = oc % OCg;
    float acc = pc.u0 != 0 ? pc.t2.v[oc] : 0.0;
    for (int kh = 0; kh < KH; ++kh) {
      int th = oh + ph - kh * dh;
      if (th < 0 || th % sh != 0) continue;
      int ih = th / sh;
      if (ih >= H) continue;
      for (int kw = 0; kw < KW; ++kw) {
        int tw = ow + pw - kw * dw;
        if (tw < 0 || tw % sw != 0) continue;
        int iw = tw / sw;
        if (iw >= W) continue;
        for (int c = 0; c < Cg; ++c) {
          int ic = g * Cg + c;
          acc += pc.t0.v[((image * C + ic) * H + ih) * W + iw] * pc.t1.v[((ic * OCg + ocg) * KH + kh) * KW + kw];
        }
      }
    }
    pc.t3.v[i] = acc;
  }
}
