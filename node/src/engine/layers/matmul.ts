// HF Conv1D: out = inp @ W + b with W stored (in, out), as GPT-2 checkpoints store it.
// Shapes: T positions, I inputs, O outputs.

export function matmulForward(
  out: Float32Array, // (T, O)
  inp: Float32Array, // (T, I)
  weight: Float32Array, // (I, O)
  bias: Float32Array | null, // (O)
  T: number,
  I: number,
  O: number,
): void {
  for (let t = 0; t < T; t++) {
    const o = t * O;
    for (let j = 0; j < O; j++) out[o + j] = bias ? bias[j]! : 0;
    for (let i = 0; i < I; i++) {
      const x = inp[t * I + i]!;
      const w = i * O;
      for (let j = 0; j < O; j++) out[o + j] += x * weight[w + j]!;
    }
  }
}

export function matmulBackward(
  dinp: Float32Array, // (T, I) accumulated into
  dweight: Float32Array, // (I, O)
  dbias: Float32Array | null, // (O)
  dout: Float32Array, // (T, O)
  inp: Float32Array, // (T, I)
  weight: Float32Array, // (I, O)
  T: number,
  I: number,
  O: number,
): void {
  for (let t = 0; t < T; t++) {
    const o = t * O;
    for (let i = 0; i < I; i++) {
      const x = inp[t * I + i]!;
      const w = i * O;
      let acc = 0;
      for (let j = 0; j < O; j++) {
        const g = dout[o + j]!;
        acc += g * weight[w + j]!;
        dweight[w + j] += x * g;
      }
      dinp[t * I + i] += acc;
    }
    if (dbias) for (let j = 0; j < O; j++) dbias[j] += dout[o + j]!;
  }
}
