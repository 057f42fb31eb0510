// Token + position embedding. Shapes: T positions, C channels, V vocab.

export function encoderForward(
  out: Float32Array, // (T, C)
  tokens: ArrayLike<number>, // (T)
  wte: Float32Array, // (V, C)
  wpe: Float32Array, // (P, C)
  T: number,
  C: number,
  pos0 = 0, // position of tokens[0] (non-zero when decoding with a KV cache)
): void {
  for (let t = 0; t < T; t++) {
    const tok = tokens[t]!;
    const o = t * C;
    const e = tok * C;
    const p = (pos0 + t) * C;
    for (let c = 0; c < C; c++) out[o + c] = wte[e + c]! + wpe[p + c]!;
  }
}

export function encoderBackward(
  dwte: Float32Array, // (V, C)
  dwpe: Float32Array, // (P, C)
  dout: Float32Array, // (T, C)
  tokens: ArrayLike<number>, // (T)
  T: number,
  C: number,
): void {
  for (let t = 0; t < T; t++) {
    const o = t * C;
    const e = tokens[t]! * C;
    for (let c = 0; c < C; c++) {
      dwte[e + c] += dout[o + c]!;
      dwpe[o + c] += dout[o + c]!;
    }
  }
}
