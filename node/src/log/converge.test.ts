// The fleet log's promise: a node's weights are a pure function of (base, set of entries). The same
// 22 entries — both real course deltas and 20 seeded random course-sized ones — merged in many
// random orders and groupings (checkpoint + remainder, separately summed groups, an entry added
// and taken back, a round trip through the store on disk) give bit-identical weights and summary.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadStateDict } from "../checkpoint/read.js";
import { readTorchStateDict } from "../checkpoint/torch-file.js";
import type { StateDict } from "../checkpoint/tensor.js";
import { TINY_GPT2 } from "../engine/config.js";
import type { Params } from "../engine/params.js";
import { loadModel } from "../model/load.js";
import { seededRandom } from "../util/seeded-random.js";
import { sha256Hex } from "../util/sha256.js";
import { courseFixture } from "../../../test/support/paths.js";
import { randomDelta } from "../../../test/support/random-deltas.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { baseIdentity } from "./base-id.js";
import { decodeCheckpoint, encodeCheckpoint, makeCheckpoint } from "./checkpoint.js";
import { courseEntry, entryName, type Entry } from "./entry.js";
import { ExactSum } from "./exact-sum.js";
import { EntryStore } from "./store.js";
import { encodeSummary, summarize } from "./summary.js";

const scratch = tempDirs("log-converge-");
const { params: base } = loadModel(courseFixture("base.pt"));
const BASE = baseIdentity(base);
const WEIGHTS = [1, 0.3];

interface Held {
  entry: Entry;
  file: Uint8Array;
  delta: StateDict;
}

const held: Held[] = [];
for (const [version, file] of [["delta_v1764008499", "delta_v1764008499.pt"], ["delta_v1764009046", "delta_v1764009046.pt"]] as const) {
  const bytes = readFileSync(courseFixture(file));
  const entry = courseEntry({ from: "pi-course-1", version, sha256: sha256Hex(bytes), base: BASE });
  assert.ok(typeof entry !== "string", String(entry));
  held.push({ entry, file: bytes, delta: loadStateDict(courseFixture(file)) });
}
for (let i = 0; i < 20; i++) {
  const { delta, file } = randomDelta(TINY_GPT2, 1000 + i, 0.3);
  const author = `pi-${i % 4}`;
  held.push({ entry: { author, seq: Math.floor(i / 4) + 1, sha256: sha256Hex(file), kind: "teach", base: BASE, lesson: { question: `Question ${i}?`, answer: `Answer ${i}` } }, file, delta });
}

function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function weightsBytes(p: Params): Buffer {
  return Buffer.from(p.flat.buffer, p.flat.byteOffset, p.flat.byteLength);
}

/** What a node holding exactly these entries computes from its sum. */
function state(sum: ExactSum, names: Iterable<string>) {
  return {
    weights: WEIGHTS.map((w) => weightsBytes(sum.derive(base, w))),
    summary: encodeSummary(summarize([...names].map((n) => held.find((h) => entryName(h.entry) === n)!.entry))),
  };
}

const reference = (() => {
  const sum = new ExactSum(TINY_GPT2);
  for (const h of held) sum.add(h.delta);
  return state(sum, held.map((h) => entryName(h.entry)));
})();

test("the log under test: 22 entries, both real course deltas among them, distinct names, weights that move", () => {
  assert.equal(new Set(held.map((h) => entryName(h.entry))).size, 22);
  assert.equal(held.filter((h) => h.entry.kind === "course").length, 2);
  for (const w of reference.weights) assert.ok(!w.equals(weightsBytes(base)));
  assert.notDeepEqual(reference.weights[0], reference.weights[1]);
});

test("60 random orders and groupings give bit-identical weights (weights 1 and 0.3) and summaries", () => {
  for (let trial = 0; trial < 60; trial++) {
    const rand = seededRandom(trial + 1);
    const order = shuffled(held, rand);
    // A checkpoint of a random prefix, through its bytes, as a node would load it from disk or a peer.
    const cut = Math.floor(rand() * (order.length + 1));
    const early = new ExactSum(TINY_GPT2);
    for (const h of order.slice(0, cut)) early.add(h.delta);
    const cp = decodeCheckpoint(encodeCheckpoint(makeCheckpoint(BASE, order.slice(0, cut).map((h) => entryName(h.entry)), early)), TINY_GPT2);
    const sum = cp.sum;
    // The rest in random groups, each summed on its own (as by different peers), then combined.
    const rest = order.slice(cut);
    let i = 0;
    while (i < rest.length) {
      const size = 1 + Math.floor(rand() * 5);
      const group = new ExactSum(TINY_GPT2);
      for (const h of rest.slice(i, i + size)) group.add(h.delta);
      // Now and then an entry added and taken back out (a rollback) inside the group.
      if (rand() < 0.3) {
        const extra = held[Math.floor(rand() * held.length)]!.delta;
        group.add(extra);
        group.remove(extra);
      }
      sum.addSum(group);
      i += size;
    }
    const got = state(sum, [...cp.names, ...rest.map((h) => entryName(h.entry))]);
    for (let w = 0; w < WEIGHTS.length; w++) assert.ok(got.weights[w]!.equals(reference.weights[w]!), `trial ${trial} (checkpoint of ${cut}): weights at merge weight ${WEIGHTS[w]} differ`);
    assert.equal(got.summary, reference.summary, `trial ${trial}: summary differs`);
  }
});

test("entries that went through the store on disk, added in random order and re-read after a reopen, give the same bits", async () => {
  const dir = scratch();
  const store = await EntryStore.open(dir);
  const rand = seededRandom(99);
  await Promise.all(shuffled(held, rand).map((h) => store.add(h.entry, h.file)));
  const reopened = await EntryStore.open(dir);
  assert.deepEqual(reopened.setAside, []);
  const sum = new ExactSum(TINY_GPT2);
  for (const name of shuffled(reopened.names(), rand)) sum.add(readTorchStateDict(await reopened.readDelta(name), name));
  const got = state(sum, reopened.names());
  assert.deepEqual(got, reference);
});

test("a set that differs by one entry gives other weights and another summary", () => {
  const sum = new ExactSum(TINY_GPT2);
  for (const h of held.slice(1)) sum.add(h.delta);
  const got = state(sum, held.slice(1).map((h) => entryName(h.entry)));
  assert.ok(!got.weights[0]!.equals(reference.weights[0]!));
  assert.notEqual(got.summary, reference.summary);
});
