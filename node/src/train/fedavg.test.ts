// FedAvg: the average of the members' fp16 deltas, weighted by shard size, rounded to fp16 once.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { StateDict } from "../checkpoint/tensor.js";
import { TINY_GPT2 } from "../engine/config.js";
import { mergeDelta } from "../engine/delta.js";
import { toHalf } from "../checkpoint/fp16.js";
import { viewParams } from "../engine/params.js";
import { fedAvg } from "./fedavg.js";

/** A delta changing only ln_f.weight (shape [2]) by the given values. */
function delta(values: number[]): StateDict {
  return new Map([["transformer.ln_f.weight", { dtype: "f16", shape: [2], data: toHalf(Float32Array.from(values)) }]]);
}

function applied(d: StateDict): number[] {
  const p = viewParams(TINY_GPT2);
  mergeDelta(p, d, 1);
  return Array.from(p.lnf_w);
}

test("two updates weighted 3:1 average to (3·a + b)/4, exactly where fp16 can say it", () => {
  const avg = fedAvg(TINY_GPT2, [{ delta: delta([1, -2]), weight: 3 }, { delta: delta([5, 2]), weight: 1 }]);
  assert.deepEqual(applied(avg), [2, -1]);
  assert.deepEqual([...avg.keys()], ["transformer.ln_f.weight"]);
});

test("one update averages to itself; equal weights to the plain mean; the order of updates does not matter", () => {
  assert.deepEqual(applied(fedAvg(TINY_GPT2, [{ delta: delta([0.5, 0.25]), weight: 7 }])), [0.5, 0.25]);
  const a = { delta: delta([1, 0]), weight: 2 };
  const b = { delta: delta([0, 1]), weight: 2 };
  assert.deepEqual(applied(fedAvg(TINY_GPT2, [a, b])), [0.5, 0.5]);
  assert.deepEqual(fedAvg(TINY_GPT2, [a, b]), fedAvg(TINY_GPT2, [b, a]));
});

test("nothing to average, or weights summing to nothing, is an error rather than an empty round", () => {
  assert.throws(() => fedAvg(TINY_GPT2, []), /no updates/);
  assert.throws(() => fedAvg(TINY_GPT2, [{ delta: delta([1, 1]), weight: 0 }]), /sum to nothing/);
});
