// The exact sum: every fp16 value lands as exactly itself, a delta is added whole or not at all,
// and the derived weights are PyTorch's merge — bit for bit for one delta at weight 1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadStateDict } from "../checkpoint/read.js";
import { halfToFloat } from "../checkpoint/fp16.js";
import type { StateDict, Tensor } from "../checkpoint/tensor.js";
import { TINY_GPT2 } from "../engine/config.js";
import { mergeDelta } from "../engine/delta.js";
import { paramSpecs, viewParams } from "../engine/params.js";
import { loadModel } from "../model/load.js";
import { paramsFromStateDict } from "../model/state-dict.js";
import { needs } from "../../../test/support/needs.js";
import { courseFixture, repoRoot } from "../../../test/support/paths.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { randomDelta } from "../../../test/support/random-deltas.js";
import { baseIdentity } from "./base-id.js";
import { ExactSum, SumError, UNIT } from "./exact-sum.js";

const scratch = tempDirs("exact-sum-");
const COURSE = ["delta_v1764008499.pt", "delta_v1764009046.pt"].map(courseFixture);
const specs = new Map(paramSpecs(TINY_GPT2).map((s) => [s.key, s]));
const spec = (k: string) => specs.get(k)!;
const f16 = (key: string, data: Uint16Array): Tensor => ({ dtype: "f16", shape: spec(key).shape, data });

test("every finite fp16 value is added as exactly itself, in whole units of 2^-24", () => {
  const wte = spec("transformer.wte.weight");
  const data = new Uint16Array(wte.size);
  const halves: number[] = [];
  for (let h = 0; h < 65536; h++) if ((h & 0x7c00) !== 0x7c00) halves.push(h);
  halves.forEach((h, i) => (data[i] = h));
  const sum = new ExactSum(TINY_GPT2);
  sum.add(new Map([["transformer.wte.weight", f16("transformer.wte.weight", data)]]));
  for (let i = 0; i < halves.length; i++) {
    const s = sum.units[wte.offset + i]!;
    assert.ok(Number.isInteger(s), `half 0x${halves[i]!.toString(16)} is ${s} units`);
    // === : a sum has no sign of zero, the −0 half adds nothing.
    assert.ok(s * UNIT === halfToFloat(halves[i]!), `half 0x${halves[i]!.toString(16)}: ${s} units`);
  }
});

test("a delta with a NaN in its second tensor is refused whole: the sum is untouched", () => {
  const sum = new ExactSum(TINY_GPT2);
  sum.add(randomDelta(TINY_GPT2, 1).delta);
  const before = Float64Array.from(sum.units);
  const bias = new Uint16Array(spec("transformer.h.0.attn.c_proj.bias").size).fill(0x3c00);
  bias[1] = 0x7e00; // NaN
  const delta: StateDict = new Map([
    ["transformer.wpe.weight", f16("transformer.wpe.weight", new Uint16Array(spec("transformer.wpe.weight").size).fill(0x3c00))],
    ["transformer.h.0.attn.c_proj.bias", f16("transformer.h.0.attn.c_proj.bias", bias)],
  ]);
  assert.throws(() => sum.add(delta), (e) => e instanceof SumError && e.reason === "not_finite" && /c_proj.bias holds a non-finite value at 1/.test(e.message));
  assert.deepEqual(sum.units, before);
});

test("unknown keys, wrong shapes, non-fp16 tensors, a tensor named twice and empty deltas are refused, leaving the sum as it was", () => {
  const sum = new ExactSum(TINY_GPT2);
  const ok = f16("transformer.ln_f.bias", Uint16Array.of(0x3c00, 0x3c00));
  const cases: Array<[StateDict, string]> = [
    [new Map([["transformer.ln_f.bias", ok], ["transformer.h.7.ln_1.bias", ok]]), "unknown_key"],
    [new Map([["transformer.ln_f.bias", ok], ["transformer.ln_f.weight", { dtype: "f16", shape: [3], data: new Uint16Array(3) }]]), "shape"],
    [new Map([["transformer.ln_f.bias", ok], ["transformer.ln_f.weight", { dtype: "f32", shape: [2], data: new Float32Array(2) }]]), "dtype"],
    [new Map([["transformer.ln_f.bias", ok], ["ln_f.bias", ok]]), "duplicate"],
    [new Map(), "empty"],
  ];
  for (const [delta, reason] of cases) {
    assert.throws(() => sum.add(delta), (e) => e instanceof SumError && e.reason === reason, reason);
    assert.ok(sum.units.every((v) => v === 0), `${reason}: the sum moved`);
  }
});

test("a sum that would pass 2^53 units is refused, not rounded", () => {
  const n = sumUnitsLength();
  const units = new Float64Array(n);
  const at = spec("transformer.ln_f.bias").offset;
  units[at + 1] = Number.MAX_SAFE_INTEGER - 10;
  const sum = new ExactSum(TINY_GPT2, units);
  const delta: StateDict = new Map([["transformer.ln_f.bias", f16("transformer.ln_f.bias", Uint16Array.of(0x3c00, 0x0001))]]);
  sum.add(delta); // +2^24 at [0], +1 unit at [1]: still exact
  assert.equal(sum.units[at + 1], Number.MAX_SAFE_INTEGER - 9);
  const big: StateDict = new Map([["transformer.ln_f.bias", f16("transformer.ln_f.bias", Uint16Array.of(0x3c00, 0x0010))]]);
  assert.throws(() => sum.add(big), (e) => e instanceof SumError && e.reason === "overflow");
  assert.equal(sum.units[at], 2 ** 24, "the first tensor's element was not added either");
  assert.throws(() => new ExactSum(TINY_GPT2, Float64Array.of(0.5)), (e) => e instanceof SumError && e.reason === "model");
});

function sumUnitsLength(): number {
  return new ExactSum(TINY_GPT2).units.length;
}

test("the tied lm_head is added once: as wte when the delta has both, in its place when wte is absent", () => {
  const real = loadStateDict(COURSE[0]!);
  const both = new ExactSum(TINY_GPT2);
  both.add(real);
  const withoutHead = new ExactSum(TINY_GPT2);
  withoutHead.add(new Map([...real].filter(([k]) => k !== "lm_head.weight")));
  assert.deepEqual(both.units, withoutHead.units);
  const headOnly = new ExactSum(TINY_GPT2);
  headOnly.add(new Map([["lm_head.weight", real.get("lm_head.weight")!]]));
  const wte = spec("transformer.wte.weight");
  assert.deepEqual(headOnly.units.subarray(wte.offset, wte.offset + wte.size), both.units.subarray(wte.offset, wte.offset + wte.size));
});

test("removing what was added restores the sum bit for bit", () => {
  const sum = new ExactSum(TINY_GPT2);
  const a = randomDelta(TINY_GPT2, 2).delta;
  const b = randomDelta(TINY_GPT2, 3).delta;
  sum.add(a);
  const onlyA = Float64Array.from(sum.units);
  sum.add(b);
  sum.remove(b);
  assert.deepEqual(sum.units, onlyA);
  sum.remove(a);
  assert.ok(sum.units.every((v) => v === 0));
});

test("an empty sum derives the base itself, −0 included; one course delta at weight 1 derives what mergeDelta merges", () => {
  const { params: base } = loadModel(courseFixture("base.pt"));
  const signed = viewParams(TINY_GPT2, Float32Array.from(base.flat));
  signed.flat[5] = -0;
  const empty = new ExactSum(TINY_GPT2).derive(signed, 0.3);
  assert.ok(empty.flat.every((v, i) => Object.is(v, signed.flat[i])));
  for (const file of COURSE) {
    const sum = new ExactSum(TINY_GPT2);
    sum.add(loadStateDict(file));
    const merged = viewParams(TINY_GPT2, Float32Array.from(base.flat));
    mergeDelta(merged, loadStateDict(file), 1);
    const derived = sum.derive(base, 1);
    assert.equal(derived.flat.findIndex((v, i) => !Object.is(v, merged.flat[i])), -1);
  }
});

/** Distance in fp32 steps between two floats of the same sign (or zero). */
function ulps(a: number, b: number): number {
  const buf = new Float32Array([a, b]);
  const i = new Int32Array(buf.buffer);
  const key = (x: number) => (x < 0 ? -(x & 0x7fffffff) : x);
  return Math.abs(key(i[0]!) - key(i[1]!));
}

function torchMerge(weight: number, deltas: string[]): Float32Array {
  const out = join(scratch(), "merged.pt");
  execFileSync("/usr/bin/python3", [join(repoRoot(), "test", "torch", "merge_reference.py"), courseFixture("base.pt"), String(weight), out, ...deltas]);
  return paramsFromStateDict(loadStateDict(out), TINY_GPT2, out).flat;
}

test("each real course delta alone derives PyTorch's base + delta.float() bit for bit", { skip: needs("torch") }, () => {
  const { params: base } = loadModel(courseFixture("base.pt"));
  for (const file of COURSE) {
    const sum = new ExactSum(TINY_GPT2);
    sum.add(loadStateDict(file));
    const expected = torchMerge(1, [file]);
    const derived = sum.derive(base, 1).flat;
    assert.equal(derived.findIndex((v, i) => !Object.is(v, expected[i])), -1, file);
  }
});

test("both course deltas together derive PyTorch's sequential fp32 merge within one fp32 step", { skip: needs("torch") }, () => {
  const { params: base } = loadModel(courseFixture("base.pt"));
  for (const weight of [1, 0.3]) {
    const sum = new ExactSum(TINY_GPT2);
    for (const f of COURSE) sum.add(loadStateDict(f));
    const expected = torchMerge(weight, COURSE);
    const derived = sum.derive(base, weight).flat;
    const worst = derived.reduce((m, v, j) => Math.max(m, ulps(v, expected[j]!)), 0);
    assert.ok(worst <= 1, `weight ${weight}: ${worst} fp32 steps apart`);
  }
});

test("20 deltas (both course deltas, 18 random) derive PyTorch's sequential merge within its fp32 rounding", { skip: needs("torch") }, (t) => {
  const { params: base } = loadModel(courseFixture("base.pt"));
  const dir = scratch();
  const files = [...COURSE];
  for (let s = 0; s < 18; s++) {
    const f = join(dir, `r${s}.pt`);
    writeFileSync(f, randomDelta(TINY_GPT2, 100 + s).file);
    files.push(f);
  }
  const deltas = files.map((f) => loadStateDict(f));
  for (const weight of [1, 0.3]) {
    const sum = new ExactSum(TINY_GPT2);
    for (const d of deltas) sum.add(d);
    const expected = torchMerge(weight, files);
    const derived = sum.derive(base, weight).flat;
    // No partial sum PyTorch rounds is larger than |base| + w·Σ|delta|, and each of its 2N roundings
    // (w·delta, then the add) errs by at most 2^-24 of that; ours by less. Where deltas cancel, the
    // result is small and the two may be many fp32 steps of the *result* apart — never more than this.
    const mag = Float64Array.from(base.flat, Math.abs);
    for (const d of deltas) {
      for (const { spec: sp, data } of sum.check(d).parts) for (let i = 0; i < data.length; i++) mag[sp.offset + i]! += Math.fround(weight) * Math.abs(halfToFloat(data[i]!));
    }
    let same = 0;
    for (let j = 0; j < derived.length; j++) {
      const bound = (2 * files.length + 1) * 2 ** -24 * mag[j]!;
      assert.ok(Math.abs(derived[j]! - expected[j]!) <= bound, `weight ${weight}, parameter ${j}: ${derived[j]} vs PyTorch's ${expected[j]} (bound ${bound})`);
      if (Object.is(derived[j], expected[j])) same++;
    }
    t.diagnostic(`weight ${weight}: ${same} of ${derived.length} weights bit-identical to PyTorch's sequential merge`);
  }
});
test("a base model's identity hashes its weights: equal weights, equal identity; one bit apart, another", () => {
  const { params } = loadModel(courseFixture("base.pt"));
  const same = viewParams(TINY_GPT2, Float32Array.from(params.flat));
  assert.equal(baseIdentity(same), baseIdentity(params));
  assert.match(baseIdentity(params), /^w1-[0-9a-f]{32}$/);
  same.flat[12345] = Math.fround(same.flat[12345]! + 2 ** -20);
  assert.notEqual(baseIdentity(same), baseIdentity(params));
});
