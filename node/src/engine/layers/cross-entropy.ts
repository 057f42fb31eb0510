// Softmax cross-entropy of next-token prediction, averaged over the positions that count.
// Shapes: T positions, V vocab. targets[t] is the token after position t; weight[t] is 1 for a
// position whose prediction is trained and 0 otherwise (HF's label -100).

/** Returns the mean loss; leaves dlogits = ∂loss/∂logits for the counted rows, zero elsewhere. */
export function crossEntropyForwardBackward(
  dlogits: Float32Array | null, // (T, V) written when given
  logits: Float32Array, // (T, V)
  targets: ArrayLike<number>, // (T)
  weight: ArrayLike<number>, // (T)
  T: number,
  V: number,
): number {
  let count = 0;
  for (let t = 0; t < T; t++) count += weight[t]!;
  if (count === 0) throw new Error("cross-entropy: no position is trained (empty answer?)");
  let loss = 0;
  for (let t = 0; t < T; t++) {
    const o = t * V;
    if (!weight[t]) {
      if (dlogits) dlogits.fill(0, o, o + V);
      continue;
    }
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v]! > max) max = logits[o + v]!;
    // exp() dominates for a 50k vocabulary: take each one once, parking it in dlogits.
    let sum = 0;
    if (dlogits) {
      for (let v = 0; v < V; v++) sum += dlogits[o + v] = Math.exp(logits[o + v]! - max);
    } else {
      for (let v = 0; v < V; v++) sum += Math.exp(logits[o + v]! - max);
    }
    const lse = max + Math.log(sum);
    loss += weight[t]! * (lse - logits[o + targets[t]!]!);
    if (dlogits) {
      const scale = weight[t]! / count;
      const k = scale / sum;
      for (let v = 0; v < V; v++) dlogits[o + v] = dlogits[o + v]! * k;
      dlogits[o + targets[t]!] -= scale;
    }
  }
  return loss / count;
}
