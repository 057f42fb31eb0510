// The in-memory form of a state dict, shared by every reader and writer (torch .pt, safetensors).
// Values keep their stored dtype so that an fp16 delta round-trips bit for bit; `toFloat32` widens.

import { fromBFloat16, fromHalf } from "./fp16.js";

export type DType = "f32" | "f16" | "bf16";

export interface Tensor {
  dtype: DType;
  /** Row-major (C-contiguous) shape; [] for a scalar. */
  shape: number[];
  /** f32 → Float32Array; f16 and bf16 → Uint16Array of raw bit patterns. Always contiguous. */
  data: Float32Array | Uint16Array;
}

/** Insertion-ordered, as torch's OrderedDict state dicts are. */
export type StateDict = Map<string, Tensor>;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function toFloat32(t: Tensor): Float32Array {
  if (t.dtype === "f32") return t.data as Float32Array;
  return t.dtype === "f16" ? fromHalf(t.data as Uint16Array) : fromBFloat16(t.data as Uint16Array);
}
