// Causal multi-head self-attention over a packed qkv. Shapes: T positions, C channels,
// NH heads of HS = C / NH channels; qkv row t is [q (C) | k (C) | v (C)], head h at h*HS.

export function attentionForward(
  out: Float32Array, // (T, C)
  att: Float32Array, // (NH, T, T) softmaxed scores, saved for backward
  qkv: Float32Array, // (T, 3C)
  T: number,
  C: number,
  NH: number,
): void {
  const HS = C / NH;
  const scale = 1 / Math.sqrt(HS);
  const C3 = 3 * C;
  for (let h = 0; h < NH; h++) {
    for (let t = 0; t < T; t++) {
      const q = t * C3 + h * HS;
      const a = (h * T + t) * T;
      let max = -Infinity;
      for (let t2 = 0; t2 <= t; t2++) {
        const k = t2 * C3 + C + h * HS;
        let s = 0;
        for (let i = 0; i < HS; i++) s += qkv[q + i]! * qkv[k + i]!;
        s *= scale;
        att[a + t2] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let t2 = 0; t2 <= t; t2++) {
        const e = Math.exp(att[a + t2]! - max);
        att[a + t2] = e;
        sum += e;
      }
      for (let t2 = 0; t2 <= t; t2++) att[a + t2] = att[a + t2]! / sum;
      for (let t2 = t + 1; t2 < T; t2++) att[a + t2] = 0;
      const o = t * C + h * HS;
      for (let i = 0; i < HS; i++) out[o + i] = 0;
      for (let t2 = 0; t2 <= t; t2++) {
        const v = t2 * C3 + 2 * C + h * HS;
        const w = att[a + t2]!;
        for (let i = 0; i < HS; i++) out[o + i] += w * qkv[v + i]!;
      }
    }
  }
}

export function attentionBackward(
  dqkv: Float32Array, // (T, 3C) accumulated into
  datt: Float32Array, // (NH, T, T) scratch, overwritten
  dout: Float32Array, // (T, C)
  qkv: Float32Array, // (T, 3C)
  att: Float32Array, // (NH, T, T)
  T: number,
  C: number,
  NH: number,
): void {
  const HS = C / NH;
  const scale = 1 / Math.sqrt(HS);
  const C3 = 3 * C;
  for (let h = 0; h < NH; h++) {
    for (let t = 0; t < T; t++) {
      const a = (h * T + t) * T;
      const o = t * C + h * HS;
      // Through the weighted sum of values.
      for (let t2 = 0; t2 <= t; t2++) {
        const v = t2 * C3 + 2 * C + h * HS;
        let d = 0;
        for (let i = 0; i < HS; i++) {
          d += qkv[v + i]! * dout[o + i]!;
          dqkv[v + i] += att[a + t2]! * dout[o + i]!;
        }
        datt[a + t2] = d;
      }
      // Through the softmax: dscore = p * (dp - sum(p * dp)).
      let dot = 0;
      for (let t2 = 0; t2 <= t; t2++) dot += att[a + t2]! * datt[a + t2]!;
      const q = t * C3 + h * HS;
      for (let t2 = 0; t2 <= t; t2++) {
        const ds = att[a + t2]! * (datt[a + t2]! - dot) * scale;
        const k = t2 * C3 + C + h * HS;
        for (let i = 0; i < HS; i++) {
          dqkv[q + i] += qkv[k + i]! * ds;
          dqkv[k + i] += qkv[q + i]! * ds;
        }
      }
    }
  }
}

/**
 * One new position attending over a KV cache (generation). The cache already holds this
 * position's key and value at row L-1.
 */
export function attentionDecode(
  out: Float32Array, // (C)
  scores: Float32Array, // (L) scratch
  q: Float32Array, // (C) this position's query
  kCache: Float32Array, // (>= L, C)
  vCache: Float32Array, // (>= L, C)
  L: number,
  C: number,
  NH: number,
): void {
  const HS = C / NH;
  const scale = 1 / Math.sqrt(HS);
  for (let h = 0; h < NH; h++) {
    const ho = h * HS;
    let max = -Infinity;
    for (let t2 = 0; t2 < L; t2++) {
      let s = 0;
      for (let i = 0; i < HS; i++) s += q[ho + i]! * kCache[t2 * C + ho + i]!;
      s *= scale;
      scores[t2] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let t2 = 0; t2 < L; t2++) {
      const e = Math.exp(scores[t2]! - max);
      scores[t2] = e;
      sum += e;
    }
    for (let i = 0; i < HS; i++) out[ho + i] = 0;
    for (let t2 = 0; t2 < L; t2++) {
      const w = scores[t2]! / sum;
      for (let i = 0; i < HS; i++) out[ho + i] += w * vCache[t2 * C + ho + i]!;
    }
  }
}
