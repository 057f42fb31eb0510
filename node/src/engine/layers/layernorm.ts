// Layer norm over channels, biased variance as torch computes it. Shapes: T positions, C channels.

export function layernormForward(
  out: Float32Array, // (T, C)
  mean: Float32Array, // (T) saved for backward
  rstd: Float32Array, // (T) saved for backward
  inp: Float32Array, // (T, C)
  weight: Float32Array, // (C)
  bias: Float32Array, // (C)
  T: number,
  C: number,
  eps: number,
): void {
  for (let t = 0; t < T; t++) {
    const o = t * C;
    let m = 0;
    for (let c = 0; c < C; c++) m += inp[o + c]!;
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = inp[o + c]! - m;
      v += d * d;
    }
    v /= C;
    const s = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < C; c++) out[o + c] = (inp[o + c]! - m) * s * weight[c]! + bias[c]!;
    mean[t] = m;
    rstd[t] = s;
  }
}

export function layernormBackward(
  dinp: Float32Array, // (T, C) accumulated into
  dweight: Float32Array, // (C)
  dbias: Float32Array, // (C)
  dout: Float32Array, // (T, C)
  inp: Float32Array, // (T, C)
  weight: Float32Array, // (C)
  mean: Float32Array, // (T)
  rstd: Float32Array, // (T)
  T: number,
  C: number,
): void {
  for (let t = 0; t < T; t++) {
    const o = t * C;
    const m = mean[t]!;
    const s = rstd[t]!;
    // Two reductions of the normalised gradient, then the closed-form input gradient.
    let dnormMean = 0;
    let dnormNormMean = 0;
    for (let c = 0; c < C; c++) {
      const norm = (inp[o + c]! - m) * s;
      const dnorm = weight[c]! * dout[o + c]!;
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    for (let c = 0; c < C; c++) {
      const norm = (inp[o + c]! - m) * s;
      const dnorm = weight[c]! * dout[o + c]!;
      dbias[c] += dout[o + c]!;
      dweight[c] += norm * dout[o + c]!;
      dinp[o + c] += (dnorm - dnormMean - norm * dnormNormMean) * s;
    }
  }
}
