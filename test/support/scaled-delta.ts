// A real delta file with every value multiplied: the "legitimate delta ×100" an attacker makes from
// a delta it overheard (and signs with a member key it stole). Same keys and shapes, fp16.

import { floatToHalf, halfToFloat } from "../../node/src/checkpoint/fp16.js";
import type { StateDict } from "../../node/src/checkpoint/tensor.js";
import { readTorchStateDict, writeTorchStateDict } from "../../node/src/checkpoint/torch-file.js";

export function scaleDelta(file: Uint8Array, factor: number): Uint8Array {
  const out: StateDict = new Map();
  for (const [k, t] of readTorchStateDict(file, "delta")) {
    if (t.dtype !== "f16") throw new Error(`scaleDelta: ${k} is ${t.dtype}, deltas are f16`);
    const data = new Uint16Array(t.data.length);
    for (let i = 0; i < data.length; i++) data[i] = floatToHalf(halfToFloat(t.data[i]!) * factor);
    out.set(k, { ...t, data });
  }
  return writeTorchStateDict(out);
}
