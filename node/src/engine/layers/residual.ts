// out = a + b. Shape: N elements.

export function residualForward(out: Float32Array, a: Float32Array, b: Float32Array, N: number): void {
  for (let i = 0; i < N; i++) out[i] = a[i]! + b[i]!;
}

export function residualBackward(da: Float32Array, db: Float32Array, dout: Float32Array, N: number): void {
  for (let i = 0; i < N; i++) {
    da[i] += dout[i]!;
    db[i] += dout[i]!;
  }
}
