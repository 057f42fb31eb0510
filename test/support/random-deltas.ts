// Seeded random fp16 deltas in the course's shape (wte with its tied lm_head, wpe and the four
// c_proj biases: ~400 KB as a .pt, like the real course files), for the fleet log's property tests
// and bench:log. Values span fp16's range as deltas use it — subnormals up to ~1 — and the same
// seed always gives the same bytes.

import { floatToHalf } from "../../node/src/checkpoint/fp16.js";
import type { StateDict, Tensor } from "../../node/src/checkpoint/tensor.js";
import { writeTorchStateDict } from "../../node/src/checkpoint/torch-file.js";
import type { Gpt2Config } from "../../node/src/engine/config.js";
import { paramSpecs } from "../../node/src/engine/params.js";
import { seededRandom } from "../../node/src/util/seeded-random.js";

const COURSE_KEYS = [
  "transformer.wte.weight",
  "transformer.wpe.weight",
  "transformer.h.0.attn.c_proj.bias",
  "transformer.h.0.mlp.c_proj.bias",
  "transformer.h.1.attn.c_proj.bias",
  "transformer.h.1.mlp.c_proj.bias",
];

/** Typical magnitudes: the course recipe's ~1e-6 (mostly subnormal), small and large Adam steps, a long teach. */
const SCALES = [1e-6, 1e-4, 1e-2, 1e-1, 1];

export interface RandomDelta {
  delta: StateDict;
  /** The delta as a torch .pt file, wte and lm_head each with its own storage, as the course's files hold them. */
  file: Uint8Array;
}

/** A course-shaped delta: `density` of the elements non-zero, magnitudes around SCALES[seed % 5]. */
export function randomDelta(config: Gpt2Config, seed: number, density = 0.5): RandomDelta {
  const rand = seededRandom(seed);
  const scale = SCALES[seed % SCALES.length]!;
  const specs = new Map(paramSpecs(config).map((s) => [s.key, s]));
  const delta: StateDict = new Map();
  for (const key of COURSE_KEYS) {
    const spec = specs.get(key)!;
    const data = new Uint16Array(spec.size);
    for (let i = 0; i < data.length; i++) if (rand() < density) data[i] = floatToHalf((rand() * 2 - 1) * scale);
    const t: Tensor = { dtype: "f16", shape: spec.shape, data };
    delta.set(key, t);
    if (key === "transformer.wte.weight") delta.set("lm_head.weight", t);
  }
  const file = writeTorchStateDict(delta, { prefix: `delta_${seed}` });
  return { delta, file };
}
