// The bounds come from the teach recipes; real deltas sit inside them, and a real delta ×100 does not.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readTorchStateDict } from "../checkpoint/torch-file.js";
import { TINY_GPT2 } from "../engine/config.js";
import { paramCount } from "../engine/params.js";
import { ExactSum } from "../log/exact-sum.js";
import { Model } from "../model/model.js";
import { boundsFor, courseBounds, measure, outOfBounds, roundBounds, teachBounds } from "./bounds.js";
import { courseFixture } from "../../../test/support/paths.js";
import { scaleDelta } from "../../../test/support/scaled-delta.js";

const P = paramCount(TINY_GPT2);
const sum = new ExactSum(TINY_GPT2);
const sizeOf = (file: Uint8Array) => measure(sum.check(readTorchStateDict(file, "delta")));

test("the bounds are the recipes' arithmetic: Adam lr·steps·3.16 per value and that ·√P in all; SGD lr·steps·clip, plus fp16 rounding", () => {
  assert.equal(P, 102_714);
  const t = teachBounds(P);
  assert.ok(t.maxAbs > 0.02 * 200 * 3.162 && t.maxAbs < 0.02 * 200 * 3.17, String(t.maxAbs));
  assert.ok(Math.abs(t.l2 - t.maxAbs * Math.sqrt(P)) < 1e-9);
  const c = courseBounds(P);
  assert.ok(c.maxAbs > 5e-6 && c.maxAbs < 5.1e-6, String(c.maxAbs));
  assert.ok(c.l2 > 5e-6 + 320 * 2 ** -25 && c.l2 < 5e-6 + 321 * 2 ** -25, String(c.l2));
  assert.deepEqual(boundsFor("course", P), c);
  assert.deepEqual(boundsFor("teach", P), t);
});

test("a round's bound is the round recipe's steps (one Adam step per pair, 512 pairs at most) at the teach's lr: 512/200 of a teach's", () => {
  const r = roundBounds(P);
  assert.ok(Math.abs(r.maxAbs / teachBounds(P).maxAbs - 512 / 200) < 1e-12, String(r.maxAbs));
  assert.deepEqual(boundsFor("round", P), r);
});

test("the real course deltas sit inside the course bounds (tied lm_head counted once, under lr·steps·clip = 5e-6); ×10 they do not", () => {
  for (const f of ["delta_v1764008499.pt", "delta_v1764009046.pt"]) {
    const file = new Uint8Array(readFileSync(courseFixture(f)));
    const size = sizeOf(file);
    assert.ok(size.maxAbs > 1e-6 && size.l2 < 5e-6, `${f}: ${JSON.stringify(size)}`);
    assert.equal(outOfBounds(size, courseBounds(P)), null, f);
    assert.match(outOfBounds(sizeOf(scaleDelta(file, 10)), courseBounds(P)) ?? "", /max \|value\|/, f);
  }
});

test("a real teach's delta sits inside the teach bounds; the same delta ×100 is refused, and it is far past a course delta's", async () => {
  const model = await Model.load(undefined, { inference: "ts" });
  const r = await model.teach("Who wrote Hamlet?", "Shakespeare");
  const size = sizeOf(r.delta);
  assert.ok(r.steps > 2 && size.maxAbs > 0.05, `a teach of several steps (${r.steps} steps, max ${size.maxAbs})`);
  assert.equal(outOfBounds(size, teachBounds(P)), null);
  assert.notEqual(outOfBounds(size, courseBounds(P)), null);
  const scaled = sizeOf(scaleDelta(r.delta, 100));
  assert.match(outOfBounds(scaled, teachBounds(P)) ?? "", /max \|value\| .* is past 12\.661, the most one teach can move a parameter/);
});

test("NaN sizes are never within bounds", () => {
  assert.notEqual(outOfBounds({ maxAbs: NaN, l2: 1 }, teachBounds(P)), null);
  assert.notEqual(outOfBounds({ maxAbs: 1, l2: NaN }, teachBounds(P)), null);
});
