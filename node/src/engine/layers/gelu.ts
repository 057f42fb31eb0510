// GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Shape: N elements.

const GELU_SCALE = Math.sqrt(2 / Math.PI);

export function geluForward(out: Float32Array, inp: Float32Array, N: number): void {
  for (let i = 0; i < N; i++) {
    const x = inp[i]!;
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + 0.044715 * x * x * x)));
  }
}

export function geluBackward(dinp: Float32Array, inp: Float32Array, dout: Float32Array, N: number): void {
  for (let i = 0; i < N; i++) {
    const x = inp[i]!;
    const u = GELU_SCALE * (x + 0.044715 * x * x * x);
    const th = Math.tanh(u);
    const sech2 = 1 - th * th;
    const local = 0.5 * (1 + th) + 0.5 * x * sech2 * GELU_SCALE * (1 + 3 * 0.044715 * x * x);
    dinp[i] += local * dout[i]!;
  }
}
