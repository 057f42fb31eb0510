// Model deltas as the course defines them: per tensor, (now − baseline) in fp16, only tensors
// whose change has L2 norm above 1e-6; merged as `p += weight · float(delta)`.

import { toFloat32, type StateDict, type Tensor } from "../checkpoint/tensor.js";
import { canonicalKey, paramSpecs, TIED_KEYS, type ParamSpec, type Params } from "./params.js";
import { fromHalf, toHalf } from "../checkpoint/fp16.js";

/** The course's threshold on a tensor's change, below which it is left out of the delta. */
export const DELTA_MIN_NORM = 1e-6;

export type DeltaRejectReason = "decode" | "shape";

export class DeltaError extends Error {
  constructor(
    readonly reason: DeltaRejectReason,
    message: string,
  ) {
    super(message);
    this.name = "DeltaError";
  }
}

export interface MadeDelta {
  /** fp16 tensors as they go on the wire (with `lm_head.weight` beside a changed wte, as the course sends). */
  delta: StateDict;
  /**
   * What the delta could not carry, flat in the params layout: fp16 rounding of every element and
   * whole tensors under the threshold. Adding it to the next delta loses nothing over time.
   */
  residual: Float32Array;
}

/**
 * change = now − baseline (+ carry); delta = fp16(change) for tensors whose ‖change‖ > 1e-6.
 * `trained` names the only tensors `now` may differ from `baseline` in (a teach with the embedding
 * frozen): the others are skipped while the carry holds nothing for them (the same result, without
 * reading 3.2 M embedding values per check at classroom width).
 * `into`: the residual's buffer, zero wherever this call leaves it alone (a fresh one is 13 MB at
 * classroom width, zero-filled at every step of a teach; a teach passes the same set of tensors
 * each time, so a buffer of an earlier call is).
 */
export function makeDelta(baseline: Params, now: Params, carry?: Float32Array, trained?: ReadonlySet<string>, into?: Float32Array): MadeDelta {
  const delta: StateDict = new Map();
  if (into && into.length !== now.flat.length) throw new Error(`makeDelta: a residual buffer of ${into.length} values for ${now.flat.length} parameters`);
  const residual = into ?? new Float32Array(now.flat.length);
  for (const spec of paramSpecs(now.config)) {
    if (trained && !trained.has(spec.key) && !(carry && anyNonZero(carry, spec.offset, spec.size))) continue;
    const change = new Float32Array(spec.size); // (spec.shape)
    let sq = 0;
    for (let i = 0; i < spec.size; i++) {
      const j = spec.offset + i;
      const d = now.flat[j]! - baseline.flat[j]! + (carry ? carry[j]! : 0);
      change[i] = d;
      sq += change[i]! * change[i]!;
    }
    if (Math.sqrt(sq) <= DELTA_MIN_NORM) {
      residual.set(change, spec.offset);
      continue;
    }
    const half = toHalf(change);
    const back = fromHalf(half);
    for (let i = 0; i < spec.size; i++) residual[spec.offset + i] = change[i]! - back[i]!;
    const tensor: Tensor = { dtype: "f16", shape: spec.shape, data: half };
    delta.set(spec.key, tensor);
    for (const [tied, source] of Object.entries(TIED_KEYS)) if (source === spec.key && now.config.tie_word_embeddings) delta.set(tied, tensor);
  }
  return { delta, residual };
}

function anyNonZero(xs: Float32Array, offset: number, size: number): boolean {
  for (let i = offset; i < offset + size; i++) if (xs[i] !== 0) return true;
  return false;
}

export interface MergeReport {
  /** Keys added into the weights (a tied pair counts once, under its source key). */
  applied: string[];
  /** Keys left out, with why. */
  skipped: string[];
}

/**
 * params += weight · float(delta), key by key, as the course merges (`sd[k] += w * d.float()`
 * in fp32, the weight rounded to fp32 as torch does). A tied key is applied once.
 *
 * All or nothing: every tensor is checked before any is added, so a delta refused for one bad
 * tensor leaves the weights as they were (a half-merged delta would move this node off the
 * fleet's digest without anyone noticing).
 */
export function mergeDelta(params: Params, delta: StateDict, weight: number): MergeReport {
  if (!Number.isFinite(weight)) throw new DeltaError("decode", `merge weight ${weight} is not a finite number`);
  const { planned, skipped } = planMerge(params, delta);
  const w = Math.fround(weight);
  const p = params.flat;
  for (const { spec, values: d } of planned) {
    for (let i = 0; i < spec.size; i++) p[spec.offset + i] = p[spec.offset + i]! + (w === 1 ? d[i]! : Math.fround(w * d[i]!));
  }
  return { applied: planned.map((x) => x.spec.key), skipped };
}

interface PlannedTensor { spec: ParamSpec; values: Float32Array }

/** The tensors a merge will add, each checked (known key, right shape, finite values); throws before anything changes. */
function planMerge(params: Params, delta: StateDict): { planned: PlannedTensor[]; skipped: string[] } {
  const specs = new Map(paramSpecs(params.config).map((s) => [s.key, s]));
  const planned: PlannedTensor[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  // A tied key only matters when its source is absent from the delta.
  const keys = [...delta.keys()].sort((a, b) => Number(a in TIED_KEYS) - Number(b in TIED_KEYS));
  for (const rawKey of keys) {
    let key = canonicalKey(rawKey);
    if (key in TIED_KEYS && params.config.tie_word_embeddings) key = TIED_KEYS[key]!;
    if (seen.has(key)) continue;
    const spec = specs.get(key);
    const t = delta.get(rawKey)!;
    if (!spec) {
      skipped.push(`${rawKey}: not a parameter of this model`);
      continue;
    }
    if (t.shape.join(",") !== spec.shape.join(",")) {
      skipped.push(`${rawKey}: shape [${t.shape}] but the model has [${spec.shape}]`);
      continue;
    }
    const values = toFloat32(t);
    for (let i = 0; i < spec.size; i++) {
      if (!Number.isFinite(values[i]!)) throw new DeltaError("decode", `${rawKey} holds a non-finite value at ${i}`);
    }
    seen.add(key);
    planned.push({ spec, values });
  }
  if (planned.length === 0) {
    throw new DeltaError("shape", `no tensor of the delta fits this model (${skipped.slice(0, 3).join("; ") || "the delta is empty"})`);
  }
  return { planned, skipped };
}
