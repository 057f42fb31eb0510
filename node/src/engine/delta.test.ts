// Deltas as the course defines them, and merges bitwise equal to PyTorch's.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadStateDict } from "../checkpoint/read.js";
import { loadModel } from "../model/load.js";
import { paramsFromStateDict } from "../model/state-dict.js";
import { needs } from "../../../test/support/needs.js";
import { repoRoot, courseFixture } from "../../../test/support/paths.js";
import { DeltaError, makeDelta, mergeDelta } from "./delta.js";
import { paramSpecs, viewParams } from "./params.js";
import { TINY_GPT2 } from "./config.js";
import { halfToFloat } from "../checkpoint/fp16.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("merge-");

const course = (f: string) => courseFixture(f);
const DELTAS = ["delta_v1764008499.pt", "delta_v1764009046.pt"].map(course);

for (const weight of [1, 0.3]) {
  test(`merging both real course deltas into base.pt (weight ${weight}) gives PyTorch's tensors bit for bit`, { skip: needs("torch") }, () => {
    const out = join(scratch(), "merged.pt");
    execFileSync("/usr/bin/python3", [join(repoRoot(), "test", "torch", "merge_reference.py"), course("base.pt"), String(weight), out, ...DELTAS]);
    const expected = paramsFromStateDict(loadStateDict(out), TINY_GPT2, out);
    const { params } = loadModel(course("base.pt"));
    for (const d of DELTAS) {
      const report = mergeDelta(params, loadStateDict(d), weight);
      assert.ok(!report.applied.includes("lm_head.weight"), "the tied head is applied once, as wte");
    }
    const differing = params.flat.findIndex((v, i) => !Object.is(v, expected.flat[i]));
    assert.equal(differing, -1, `first differing weight at ${differing}`);
  });
}

test("a delta holds fp16 changes of only the tensors that moved, wte with its tied head", () => {
  const base = viewParams(TINY_GPT2);
  const now = viewParams(TINY_GPT2, Float32Array.from(base.flat));
  now.wte[10] = 0.25;
  now.blocks[1]!.fc_b[3] = 1e-3;
  now.blocks[0]!.ln1_b[0] = 1e-7; // ‖change‖ under 1e-6: left out, kept in the residual
  const { delta, residual } = makeDelta(base, now);
  assert.deepEqual([...delta.keys()], ["transformer.wte.weight", "lm_head.weight", "transformer.h.1.mlp.c_fc.bias"]);
  assert.equal(delta.get("lm_head.weight"), delta.get("transformer.wte.weight"));
  assert.equal(halfToFloat(delta.get("transformer.wte.weight")!.data[10]!), 0.25);
  const ln = paramSpecs(TINY_GPT2).find((s) => s.key === "transformer.h.0.ln_1.bias")!;
  assert.equal(residual[ln.offset], Math.fround(1e-7));
  // fp16 rounding of 1e-3 is carried too: base + delta + residual = now.
  const fc = paramSpecs(TINY_GPT2).find((s) => s.key === "transformer.h.1.mlp.c_fc.bias")!;
  assert.equal(Math.fround(halfToFloat(delta.get("transformer.h.1.mlp.c_fc.bias")!.data[3]!) + residual[fc.offset + 3]!), Math.fround(1e-3));
});

test("the residual carried into the next delta is not lost", () => {
  const base = viewParams(TINY_GPT2);
  const now = viewParams(TINY_GPT2, Float32Array.from(base.flat));
  now.blocks[0]!.ln1_b[0] = 8e-7;
  const first = makeDelta(base, now);
  assert.equal(first.delta.size, 0);
  const second = makeDelta(base, now, first.residual); // same change again, plus what was carried
  assert.ok(second.delta.has("transformer.h.0.ln_1.bias"));
});

test("merging skips unknown and mis-shaped tensors, and refuses a delta with nothing usable", () => {
  const params = viewParams(TINY_GPT2);
  const odd = new Map([
    ["transformer.h.0.ln_1.bias", { dtype: "f16" as const, shape: [2], data: Uint16Array.of(0x3c00, 0) }],
    ["transformer.h.9.ln_1.bias", { dtype: "f16" as const, shape: [2], data: Uint16Array.of(0x3c00, 0) }],
    ["transformer.wpe.weight", { dtype: "f16" as const, shape: [3], data: Uint16Array.of(1, 2, 3) }],
  ]);
  const r = mergeDelta(params, odd, 1);
  assert.deepEqual(r.applied, ["transformer.h.0.ln_1.bias"]);
  assert.equal(r.skipped.length, 2);
  assert.equal(params.blocks[0]!.ln1_b[0], 1);
  assert.throws(() => mergeDelta(params, new Map([...odd].slice(1)), 1), (e) => e instanceof DeltaError && e.reason === "shape");
  const nan = new Map([["transformer.h.0.ln_1.bias", { dtype: "f16" as const, shape: [2], data: Uint16Array.of(0x7e00, 0) }]]);
  assert.throws(() => mergeDelta(params, nan, 1), (e) => e instanceof DeltaError && e.reason === "decode");
});

test("a delta refused for one non-finite tensor leaves every weight as it was, the tensors before it too", () => {
  const params = viewParams(TINY_GPT2);
  params.blocks[0]!.ln1_b.fill(0.5);
  const before = Float32Array.from(params.flat);
  const ones = { dtype: "f16" as const, shape: [2], data: Uint16Array.of(0x3c00, 0x3c00) };
  const nan = { dtype: "f16" as const, shape: [2], data: Uint16Array.of(0x3c00, 0x7e00) };
  for (const [first, second] of [[ones, nan], [nan, ones]] as const) {
    const delta = new Map([["transformer.h.0.ln_1.bias", first], ["transformer.h.1.ln_1.bias", second]]);
    assert.throws(() => mergeDelta(params, delta, 1), (e) => e instanceof DeltaError && e.reason === "decode");
    const changed = params.flat.findIndex((v, i) => !Object.is(v, before[i]));
    assert.equal(changed, -1, `weight ${changed} changed by a refused delta`);
  }
});

test("the real course deltas change what the spec says they change", () => {
  const d = loadStateDict(DELTAS[0]!);
  const wte = d.get("transformer.wte.weight")!.data;
  let nonzero = 0;
  for (const v of wte) if (v !== 0 && v !== 0x8000) nonzero++;
  assert.ok(nonzero > 0 && nonzero < 100, `${nonzero} non-zero fp16 entries in wte`);
  assert.deepEqual([...d.get("lm_head.weight")!.data], [...wte]);
  assert.ok(readFileSync(DELTAS[1]!).length > 400_000);
});

test("a delta told which tensors were trained is the delta of the whole model, without reading the rest — unless the carry holds something for them", () => {
  const baseline = viewParams(TINY_GPT2);
  baseline.flat.forEach((_, i) => (baseline.flat[i] = Math.sin(i)));
  const now = viewParams(TINY_GPT2, baseline.flat.slice());
  const specs = paramSpecs(TINY_GPT2);
  const trainedSpec = specs.find((s) => s.key.endsWith("ln_f.weight"))!;
  for (let i = 0; i < trainedSpec.size; i++) now.flat[trainedSpec.offset + i]! += 0.01 * (i + 1);
  const trained = new Set([trainedSpec.key]);
  const whole = makeDelta(baseline, now);
  const told = makeDelta(baseline, now, undefined, trained);
  assert.deepEqual([...told.delta.keys()], [...whole.delta.keys()]);
  assert.deepEqual(told.delta.get(trainedSpec.key), whole.delta.get(trainedSpec.key));
  assert.deepEqual(told.residual, whole.residual);
  // What an earlier delta could not carry on a frozen tensor still goes out with this one.
  const carry = new Float32Array(now.flat.length);
  const wte = specs.find((s) => s.key === "transformer.wte.weight")!;
  carry[wte.offset + 3] = 0.5;
  const withCarry = makeDelta(baseline, now, carry, trained);
  assert.deepEqual([...withCarry.delta.keys()].sort(), [...makeDelta(baseline, now, carry).delta.keys()].sort());
  assert.ok(withCarry.delta.has("transformer.wte.weight"));
});

test("a residual buffer of an earlier delta over the same tensors gives what a fresh one does; one of another size is refused", () => {
  const baseline = viewParams(TINY_GPT2);
  baseline.flat.forEach((_, i) => (baseline.flat[i] = Math.cos(i)));
  const trainedSpec = paramSpecs(TINY_GPT2).find((s) => s.key.endsWith("ln_f.weight"))!;
  const trained = new Set([trainedSpec.key]);
  const step = (k: number) => {
    const now = viewParams(TINY_GPT2, baseline.flat.slice());
    for (let i = 0; i < trainedSpec.size; i++) now.flat[trainedSpec.offset + i]! += 1e-3 * k * (i + 1) + 1e-4 / 3;
    return now;
  };
  const buffer = new Float32Array(baseline.flat.length);
  makeDelta(baseline, step(1), undefined, trained, buffer);   // leaves its values in the buffer
  const reused = makeDelta(baseline, step(2), undefined, trained, buffer);
  const fresh = makeDelta(baseline, step(2), undefined, trained);
  assert.equal(reused.residual, buffer);
  assert.deepEqual(reused.residual, fresh.residual);
  assert.deepEqual(reused.delta.get(trainedSpec.key), fresh.delta.get(trainedSpec.key));
  assert.throws(() => makeDelta(baseline, step(2), undefined, trained, new Float32Array(3)), /residual buffer of 3 values/);
});
