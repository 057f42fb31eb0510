// Tied LM head: logits = h @ wteᵀ. Shapes: T positions, C channels, V vocab.

export function lmHeadForward(
  logits: Float32Array, // (T, V)
  inp: Float32Array, // (T, C)
  wte: Float32Array, // (V, C)
  T: number,
  C: number,
  V: number,
  rows?: ArrayLike<number>, // only these positions' logits are needed (a masked loss); all when omitted
): void {
  const positions = rows ?? Array.from({ length: T }, (_, t) => t);
  if (C === 2) {
    // tiny-gpt2: the LM head is nearly all of the forward pass; unrolled it runs ~3x faster.
    for (let r = 0; r < positions.length; r++) {
      const t = positions[r]!;
      const h0 = inp[t * 2]!;
      const h1 = inp[t * 2 + 1]!;
      const o = t * V;
      for (let v = 0; v < V; v++) logits[o + v] = h0 * wte[2 * v]! + h1 * wte[2 * v + 1]!;
    }
    return;
  }
  for (let r = 0; r < positions.length; r++) {
    const t = positions[r]!;
    const o = t * V;
    const x = t * C;
    for (let v = 0; v < V; v++) {
      let s = 0;
      const w = v * C;
      for (let c = 0; c < C; c++) s += inp[x + c]! * wte[w + c]!;
      logits[o + v] = s;
    }
  }
}

export function lmHeadBackward(
  dinp: Float32Array, // (T, C) accumulated into
  dwte: Float32Array | null, // (V, C) accumulated into; null when the embedding is frozen
  dlogits: Float32Array, // (T, V)
  inp: Float32Array, // (T, C)
  wte: Float32Array, // (V, C)
  T: number,
  C: number,
  V: number,
  rows?: ArrayLike<number>, // only these positions carry gradient (masked loss)
): void {
  const positions = rows ?? Array.from({ length: T }, (_, t) => t);
  if (C === 2 && dwte) {
    for (let r = 0; r < positions.length; r++) {
      const t = positions[r]!;
      const o = t * V;
      const x0 = inp[2 * t]!;
      const x1 = inp[2 * t + 1]!;
      let d0 = 0;
      let d1 = 0;
      for (let v = 0; v < V; v++) {
        const g = dlogits[o + v]!;
        d0 += g * wte[2 * v]!;
        d1 += g * wte[2 * v + 1]!;
        dwte[2 * v] += g * x0;
        dwte[2 * v + 1] += g * x1;
      }
      dinp[2 * t] += d0;
      dinp[2 * t + 1] += d1;
    }
    return;
  }
  for (let r = 0; r < positions.length; r++) {
    const t = positions[r]!;
    const o = t * V;
    const x = t * C;
    for (let v = 0; v < V; v++) {
      const g = dlogits[o + v]!;
      if (g === 0) continue;
      const w = v * C;
      if (dwte) {
        for (let c = 0; c < C; c++) {
          dinp[x + c] += g * wte[w + c]!;
          dwte[w + c] += g * inp[x + c]!;
        }
      } else {
        for (let c = 0; c < C; c++) dinp[x + c] += g * wte[w + c]!;
      }
    }
  }
}
