// Tied LM head: logits = h @ wteᵀ. Shapes: T positions, C channels, V vocab, K tokens of a
// working vocabulary (engine/working-vocabulary.ts).
//
// The head is most of a pass at classroom width (64 × 50,257 per position against ~12 × 64² for a
// block), so its loops are written for V8: four independent partial sums per dot product when C is
// a multiple of 4 (the additions of one sum no longer wait on each other: ~2.5× measured), and
// tiny-gpt2's two channels unrolled by hand.

export function lmHeadForward(
  logits: Float32Array, // (T, V), or (T, K) with `ids`
  inp: Float32Array, // (T, C)
  wte: Float32Array, // (V, C)
  T: number,
  C: number,
  V: number,
  rows?: ArrayLike<number>, // only these positions' logits are needed (a masked loss); all when omitted
  ids?: ArrayLike<number>, // (K) score only these tokens: logits[t * K + k] is token ids[k]'s
): void {
  const positions = rows ?? Array.from({ length: T }, (_, t) => t);
  const K = ids ? ids.length : V;
  if (C === 2 && !ids) {
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
  const quads = C % 4 === 0;
  for (let r = 0; r < positions.length; r++) {
    const t = positions[r]!;
    const o = t * K;
    const x = t * C;
    for (let k = 0; k < K; k++) {
      const w = (ids ? ids[k]! : k) * C;
      let s = 0;
      if (quads) {
        let s1 = 0, s2 = 0, s3 = 0;
        for (let c = 0; c < C; c += 4) {
          s += inp[x + c]! * wte[w + c]!;
          s1 += inp[x + c + 1]! * wte[w + c + 1]!;
          s2 += inp[x + c + 2]! * wte[w + c + 2]!;
          s3 += inp[x + c + 3]! * wte[w + c + 3]!;
        }
        s = (s + s1) + (s2 + s3);
      } else {
        for (let c = 0; c < C; c++) s += inp[x + c]! * wte[w + c]!;
      }
      logits[o + k] = s;
    }
  }
}

export function lmHeadBackward(
  dinp: Float32Array, // (T, C) accumulated into
  dwte: Float32Array | null, // (V, C) accumulated into; null when the embedding is frozen (always with `ids`)
  dlogits: Float32Array, // (T, V), or (T, K) with `ids`
  inp: Float32Array, // (T, C)
  wte: Float32Array, // (V, C)
  T: number,
  C: number,
  V: number,
  rows?: ArrayLike<number>, // only these positions carry gradient (masked loss)
  ids?: ArrayLike<number>, // (K) the tokens the forward scored
): void {
  if (ids && dwte) throw new Error("lm head: a working vocabulary trains no embedding (its other rows would get no gradient)");
  const positions = rows ?? Array.from({ length: T }, (_, t) => t);
  const K = ids ? ids.length : V;
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
  const quads = C % 4 === 0;
  for (let r = 0; r < positions.length; r++) {
    const t = positions[r]!;
    const o = t * K;
    const x = t * C;
    for (let k = 0; k < K; k++) {
      const g = dlogits[o + k]!;
      if (g === 0) continue;
      const w = (ids ? ids[k]! : k) * C;
      if (dwte) {
        for (let c = 0; c < C; c++) {
          dinp[x + c] += g * wte[w + c]!;
          dwte[w + c] += g * inp[x + c]!;
        }
      } else if (quads) {
        for (let c = 0; c < C; c += 4) {
          dinp[x + c] += g * wte[w + c]!;
          dinp[x + c + 1] += g * wte[w + c + 1]!;
          dinp[x + c + 2] += g * wte[w + c + 2]!;
          dinp[x + c + 3] += g * wte[w + c + 3]!;
        }
      } else {
        for (let c = 0; c < C; c++) dinp[x + c] += g * wte[w + c]!;
      }
    }
  }
}
