// Federated averaging: the members' updates (fp16 deltas from the same weights), weighted by how
// many pairs each trained on, summed in float64 and rounded to fp16 once. Only the coordinator
// computes it; every other node applies the resulting entry, so the arithmetic need not be
// bit-reproducible elsewhere — the entry's bytes are what all nodes agree on.

import type { StateDict } from "../checkpoint/tensor.js";
import type { Gpt2Config } from "../engine/config.js";
import { makeDelta, mergeDelta } from "../engine/delta.js";
import { viewParams } from "../engine/params.js";

export interface Update {
  delta: StateDict;
  /** Pairs the member trained on (its shard's size). */
  weight: number;
}

/** Σ wᵢ·Δᵢ / Σ wᵢ as an fp16 delta (tensors whose average is below the course's threshold left out). */
export function fedAvg(config: Gpt2Config, updates: readonly Update[]): StateDict {
  if (updates.length === 0) throw new Error("fedAvg: no updates to average");
  const total = updates.reduce((a, u) => a + u.weight, 0);
  if (!(total > 0)) throw new Error("fedAvg: the updates' weights sum to nothing");
  const zero = viewParams(config);
  const acc = new Float64Array(zero.flat.length); // (P)
  for (const u of updates) {
    const flat = viewParams(config);
    mergeDelta(flat, u.delta, 1); // tied keys once, shapes checked
    const w = u.weight / total;
    for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + w * flat.flat[i]!;
  }
  return makeDelta(zero, viewParams(config, Float32Array.from(acc))).delta;
}

/** factor · Δ as an fp16 delta: a gossip member's share of the round's average (train-job.ts). */
export function scaleDelta(config: Gpt2Config, delta: StateDict, factor: number): StateDict {
  const flat = viewParams(config);
  mergeDelta(flat, delta, 1);
  for (let i = 0; i < flat.flat.length; i++) flat.flat[i] = flat.flat[i]! * factor;
  return makeDelta(viewParams(config), flat).delta;
}
