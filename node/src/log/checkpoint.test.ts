// Checkpoints: one file per set of entries, the same bytes on every node that compacts that set,
// refused whole when damaged or meant for another model.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createHash } from "node:crypto";
import { TINY_GPT2 } from "../engine/config.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { randomDelta } from "../../../test/support/random-deltas.js";
import { ExactSum } from "./exact-sum.js";
import { checkpointFileName, CheckpointFileError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, makeCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { setHash } from "./summary.js";

const scratch = tempDirs("log-checkpoint-");
const BASE = "w1-0123456789abcdef0123456789abcdef";
const deltas = [1, 2, 3, 4].map((s) => randomDelta(TINY_GPT2, s).delta);
const names = [1, 2, 3, 4].map((s) => `pi-${s % 2}~${s}~${createHash("sha256").update(String(s)).digest("hex")}`);

function sumOf(order: number[]): ExactSum {
  const sum = new ExactSum(TINY_GPT2);
  for (const i of order) sum.add(deltas[i]!);
  return sum;
}

test("two nodes that compact the same set, whatever order they added it in, write the same bytes under the set's name", async () => {
  const a = makeCheckpoint(BASE, names, sumOf([0, 1, 2, 3]));
  const b = makeCheckpoint(BASE, [...names].reverse(), sumOf([3, 1, 0, 2]));
  assert.deepEqual(encodeCheckpoint(a), encodeCheckpoint(b));
  const path = await saveCheckpoint(scratch(), a);
  assert.equal(basename(path), checkpointFileName(setHash(names)));
  const loaded = await loadCheckpoint(path, TINY_GPT2);
  assert.deepEqual(loaded.names, [...names].sort());
  assert.equal(loaded.base, BASE);
  assert.deepEqual(loaded.sum.units, a.sum.units);
});

test("a checkpoint is a copy: the live sum moving on does not change it", () => {
  const live = sumOf([0]);
  const cp = makeCheckpoint(BASE, names.slice(0, 1), live);
  live.add(deltas[1]!);
  assert.deepEqual(cp.sum.units, sumOf([0]).units);
});

test("a damaged, truncated, misnamed or foreign checkpoint is refused with the reason", async () => {
  const dir = scratch();
  const cp = makeCheckpoint(BASE, names, sumOf([0, 1]));
  const path = await saveCheckpoint(dir, cp);
  const bytes = readFileSync(path);
  const refused = (b: Uint8Array, re: RegExp, config = TINY_GPT2) =>
    assert.throws(() => decodeCheckpoint(b, config), (e) => e instanceof CheckpointFileError && re.test(e.message), String(re));
  const flipped = Uint8Array.from(bytes);
  flipped[flipped.length - 100]! ^= 1;
  refused(flipped, /damaged or truncated/);
  refused(bytes.subarray(0, bytes.length - 8), /damaged or truncated/);
  refused(new TextEncoder().encode("hello, world, this is not a checkpoint at all, no"), /no DFSUM1 magic/);
  refused(bytes, /this model has/, { ...TINY_GPT2, n_layer: 3 });
  // Well-formed files that say something false.
  refused(encodeCheckpoint({ ...cp, names: [...cp.names].reverse() }), /not sorted/);
  refused(encodeCheckpoint({ ...cp, set: setHash(names.slice(1)) }), /set hash is not the hash of its names/);
  refused(encodeCheckpoint({ ...cp, names: ["not a name"], set: setHash(["not a name"]) }), /not entry names/);
  const half = new ExactSum(TINY_GPT2);
  (half.units as Float64Array)[3] = 0.5;
  refused(encodeCheckpoint({ ...cp, sum: half }), /not an exact sum/);
  const other = join(dir, checkpointFileName(setHash(names.slice(1))));
  renameSync(path, other);
  await assert.rejects(loadCheckpoint(other, TINY_GPT2), (e) => e instanceof CheckpointFileError && /not the set its name says/.test(e.message));
  writeFileSync(path, bytes);
  assert.equal((await loadCheckpoint(path, TINY_GPT2)).set, cp.set);
});

test("a checkpoint of 1,000 entries' names stays one sum: its size is the model's, plus the names", (t) => {
  const many = Array.from({ length: 1000 }, (_, i) => `pi-${i % 30}~${i + 1}~${createHash("sha256").update(String(i)).digest("hex")}`);
  const bytes = encodeCheckpoint(makeCheckpoint(BASE, many, sumOf([0])));
  const sumBytes = 8 * new ExactSum(TINY_GPT2).units.length;
  t.diagnostic(`1,000 entries: ${bytes.length} bytes (sum ${sumBytes}, names ${bytes.length - sumBytes})`);
  assert.ok(bytes.length < sumBytes + 1000 * 100);
});
