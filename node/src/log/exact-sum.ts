// The exact sum of every entry's delta, from which a node's weights are derived: the same bits
// whatever order the entries arrived in, on every CPU.
//
// Why exact integers rather than re-applying in a canonical order: every fp16 value is an integer
// multiple of 2⁻²⁴ (the smallest subnormal half) with |v| ≤ 65504, so v·2²⁴ is an integer below
// 2⁴⁰. A float64 holds every integer below 2⁵³ exactly, and adding integers that stay below 2⁵³
// rounds nothing, so the sum is exact — and integer addition commutes and associates: any arrival
// order, any grouping (a checkpoint plus the rest, a removal and a re-add) gives the same sum. A
// canonical order would need every entry in hand to insert a late one (re-merge from the base on
// each arrival, O(N) deltas per entry); the sum takes one pass over the new delta.
//
// The weights are derived once per parameter: w = fp32(base + mergeWeight · S · 2⁻²⁴). JavaScript
// numbers are IEEE-754 doubles and the language forbids fused multiply-add and extended precision,
// so that expression rounds identically on amd64 and arm64. A course node merges in fp32 in arrival
// order; our weights agree with it to fp32 rounding, and bit for bit with one delta at weight 1.
//
// |S| ≤ 2⁵³−1 per parameter holds for at least 2¹³ = 8192 full-scale (65504) deltas at one
// parameter and for millions of realistic ones (|v| ~ 1e-2); a delta that would pass it is refused
// whole, never wrapped.

import { halfToFloat } from "../checkpoint/fp16.js";
import type { StateDict } from "../checkpoint/tensor.js";
import type { Gpt2Config } from "../engine/config.js";
import { canonicalKey, paramCount, paramSpecs, TIED_KEYS, viewParams, type ParamSpec, type Params } from "../engine/params.js";

/** One unit of the sum: the smallest fp16 subnormal. */
export const UNIT = 2 ** -24;

export type SumRejectReason = "unknown_key" | "shape" | "dtype" | "not_finite" | "duplicate" | "empty" | "overflow" | "model";

export class SumError extends Error {
  constructor(
    readonly reason: SumRejectReason,
    message: string,
  ) {
    super(message);
    this.name = "SumError";
  }
}

/** Every half's value in units of 2⁻²⁴ (an integer: scaling by a power of two is exact), NaN for infinities and NaNs. */
const HALF_UNITS = (() => {
  const t = new Float64Array(65536);
  for (let h = 0; h < 65536; h++) {
    const v = halfToFloat(h);
    t[h] = Number.isFinite(v) ? v / UNIT : NaN;
  }
  return t;
})();

/** A delta checked against a model: the tensors to add, each once, in the params layout. */
export interface CheckedDelta {
  parts: Array<{ spec: ParamSpec; data: Uint16Array }>;
  /** The largest |value| in the delta, in units. */
  maxUnits: number;
}

export class ExactSum {
  readonly config: Gpt2Config;
  /** Per parameter (flat params layout), the sum of every added delta in units of 2⁻²⁴. */
  readonly units: Float64Array;
  private readonly specs: Map<string, ParamSpec>;
  /**
   * An upper bound on every |S[j]|: the largest at construction plus the largest value of each delta
   * added or removed since. While a delta's largest value fits under 2⁵³ − bound, no element can
   * pass it and the per-element bound check is skipped — for realistic deltas, always.
   */
  private bound = 0;

  constructor(config: Gpt2Config, units?: Float64Array) {
    this.config = config;
    const n = paramCount(config);
    if (units && units.length !== n) throw new SumError("model", `a sum of ${units.length} values does not fit this model's ${n} parameters`);
    if (units) {
      for (let j = 0; j < n; j++) {
        const v = units[j]!;
        if (!Number.isInteger(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER) throw new SumError("model", `value ${v} at ${j} is not an exact sum of fp16 units`);
        this.bound = Math.max(this.bound, Math.abs(v));
      }
    }
    this.units = units ?? new Float64Array(n);
    this.specs = new Map(paramSpecs(config).map((s) => [s.key, s]));
  }

  /**
   * Checks a whole delta before anything is added: every key a parameter of this model (the tied
   * `lm_head.weight` counts as wte and is added once, as mergeDelta does), every tensor fp16 of the
   * parameter's shape, every value finite. Unlike mergeDelta, nothing is skipped: an entry names
   * its whole file, and adding part of it would be adding something no one named.
   */
  check(delta: StateDict): CheckedDelta {
    const parts: CheckedDelta["parts"] = [];
    // |half| orders as its bits without the sign: the largest magnitude is the largest h & 0x7fff.
    let maxBits = 0;
    const seen = new Map<string, string>();
    const tiedLate: Array<[string, string]> = [];
    for (const [rawKey, t] of delta) {
      let key = canonicalKey(rawKey);
      const tied = key in TIED_KEYS && this.config.tie_word_embeddings;
      if (tied) key = TIED_KEYS[key]!;
      const spec = this.specs.get(key);
      if (!spec) throw new SumError("unknown_key", `${rawKey}: not a parameter of this model`);
      if (t.shape.join(",") !== spec.shape.join(",")) throw new SumError("shape", `${rawKey}: shape [${t.shape}] but the model has [${spec.shape}]`);
      if (t.dtype !== "f16") throw new SumError("dtype", `${rawKey}: ${t.dtype}, but deltas are fp16 (only fp16 sums exactly)`);
      const data = t.data as Uint16Array;
      for (let i = 0; i < data.length; i++) {
        const m = data[i]! & 0x7fff;
        if (m > maxBits) maxBits = m;
      }
      if (maxBits >= 0x7c00) throw new SumError("not_finite", `${rawKey} holds a non-finite value at ${data.findIndex((h) => (h & 0x7c00) === 0x7c00)}`);
      if (tied) {
        tiedLate.push([key, rawKey]);
        continue;
      }
      if (seen.has(key)) throw new SumError("duplicate", `${rawKey} and ${seen.get(key)} name the same tensor`);
      seen.set(key, rawKey);
      parts.push({ spec, data });
    }
    // A tied head adds its change only when the delta leaves out the tensor it is tied to.
    for (const [key, rawKey] of tiedLate) {
      if (seen.has(key)) continue;
      seen.set(key, rawKey);
      parts.push({ spec: this.specs.get(key)!, data: delta.get(rawKey)!.data as Uint16Array });
    }
    if (parts.length === 0) throw new SumError("empty", "the delta holds no tensor");
    return { parts, maxUnits: HALF_UNITS[maxBits]! };
  }

  /** S += delta, all or nothing. */
  add(delta: StateDict | CheckedDelta): void {
    this.apply(isChecked(delta) ? delta : this.check(delta), 1);
  }

  /** S −= delta, all or nothing: exact, so removing what was added restores the sum bit for bit. */
  remove(delta: StateDict | CheckedDelta): void {
    this.apply(isChecked(delta) ? delta : this.check(delta), -1);
  }

  /** S += another sum over the same model (a checkpoint's, or another group's). */
  addSum(other: ExactSum): void {
    if (other.units.length !== this.units.length) throw new SumError("model", "the sums are over different models");
    const S = this.units;
    const O = other.units;
    if (this.bound + other.bound > Number.MAX_SAFE_INTEGER) {
      for (let j = 0; j < S.length; j++) {
        if (Math.abs(S[j]! + O[j]!) > Number.MAX_SAFE_INTEGER) throw new SumError("overflow", `the sum at parameter ${j} would pass 2^53 units`);
      }
    }
    for (let j = 0; j < S.length; j++) S[j] = S[j]! + O[j]!;
    this.bound = Math.min(this.bound + other.bound, Number.MAX_SAFE_INTEGER);
  }

  private apply(d: CheckedDelta, sign: 1 | -1): void {
    const S = this.units;
    const U = HALF_UNITS;
    // First every bound, then every addition: a refusal leaves the sum as it was. A true |S + k|
    // past 2⁵³−1 rounds to at least 2⁵³, so the check in doubles cannot miss it.
    if (this.bound + d.maxUnits > Number.MAX_SAFE_INTEGER) {
      for (const { spec, data } of d.parts) {
        for (let i = 0; i < data.length; i++) {
          if (Math.abs(S[spec.offset + i]! + sign * U[data[i]!]!) > Number.MAX_SAFE_INTEGER) {
            throw new SumError("overflow", `${spec.key}[${i}]: the sum would pass 2^53 units of 2^-24 and stop being exact`);
          }
        }
      }
    }
    for (const { spec, data } of d.parts) {
      const o = spec.offset;
      const n = data.length;
      if (sign === 1) for (let i = 0; i < n; i++) S[o + i] += U[data[i]!]!;
      else for (let i = 0; i < n; i++) S[o + i] -= U[data[i]!]!;
    }
    this.bound = Math.min(this.bound + d.maxUnits, Number.MAX_SAFE_INTEGER);
  }

  /**
   * The weights: w = fp32(base + mergeWeight · S · 2⁻²⁴), the weight first rounded to fp32 as the
   * course's torch merge and mergeDelta do. Where S is 0 the base value is kept as it is (a −0 stays
   * −0), so an empty log gives the base exactly.
   */
  derive(base: Params, mergeWeight: number): Params {
    if (!Number.isFinite(mergeWeight)) throw new SumError("model", `merge weight ${mergeWeight} is not a finite number`);
    if (base.flat.length !== this.units.length) throw new SumError("model", `the base has ${base.flat.length} parameters, the sum ${this.units.length}`);
    const w = Math.fround(mergeWeight);
    const S = this.units;
    const b = base.flat;
    const out = new Float32Array(S.length);
    for (let j = 0; j < S.length; j++) {
      const s = S[j]!;
      // S·2⁻²⁴ is exact (a power-of-two scale of an integer below 2⁵³); w·(…) and b + (…) each
      // round once in double, then once to fp32: the same three roundings everywhere.
      out[j] = s === 0 ? b[j]! : b[j]! + w * (s * UNIT);
    }
    return viewParams(base.config, out);
  }
}

function isChecked(d: StateDict | CheckedDelta): d is CheckedDelta {
  return !(d instanceof Map);
}
