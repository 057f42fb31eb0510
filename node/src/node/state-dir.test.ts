// The state folder survives torn writes: a manifest or baseline that does not verify is reported and
// the previous generation is used; delta files are bounded; crash leftovers are removed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "./logger.js";
import { DELTA_FILES_KEPT, MANIFEST, PREV_MANIFEST, StateDir } from "./state-dir.js";
import { FakeModel } from "../../../test/support/node-fakes.js";

const logger = createLogger({ nodeId: "t", level: "silent", format: "json" }).logger;
type T = { after: (f: () => Promise<void>) => void };

async function scratch(t: T): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "node-state-"));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function twoGenerations(dir: string): Promise<{ s: StateDir; m: FakeModel }> {
  const s = await StateDir.open({ dir, nodeId: "t", logger });
  const m = new FakeModel([1, 2]);
  await s.commit(m);
  m.weights = [3, 4];
  await s.commit(m, { version: "v1", from: "Pi-1", at: 1 });
  return { s, m };
}

test("a reopened folder yields the last committed baseline and applied log", async (t) => {
  const dir = await scratch(t);
  await twoGenerations(dir);
  const s = await StateDir.open({ dir, nodeId: "t", logger });
  const [c] = await s.candidates();
  assert.ok(c);
  s.adopt(c);
  assert.deepEqual((await FakeModel.load(c.baselineFile)).weights, [3, 4]);
  assert.ok(s.applied.has("v1"));
  assert.deepEqual(s.problems, []);
});

test("a torn manifest is reported and the previous generation is used", async (t) => {
  const dir = await scratch(t);
  await twoGenerations(dir);
  const text = await readFile(join(dir, MANIFEST), "utf8");
  await writeFile(join(dir, MANIFEST), text.slice(0, text.length >> 1));
  const s = await StateDir.open({ dir, nodeId: "t", logger });
  const cs = await s.candidates();
  assert.deepEqual(cs.map((c) => c.manifest), [PREV_MANIFEST]);
  assert.deepEqual((await FakeModel.load(cs[0]!.baselineFile)).weights, [1, 2]);
  assert.match(s.problems.join(), /state\.json: not JSON/);
  s.adopt(cs[0]!);
  assert.equal(s.applied.has("v1"), false, "the fallback's log must match the fallback's weights");
});

test("after falling back, the next commit keeps the good previous manifest as the fallback, not the bad one", async (t) => {
  const dir = await scratch(t);
  await twoGenerations(dir);
  await writeFile(join(dir, MANIFEST), "{torn");
  const s = await StateDir.open({ dir, nodeId: "t", logger });
  const [prev] = await s.candidates();
  s.adopt(prev!);
  const m = await FakeModel.load(prev!.baselineFile);
  m.weights = [7, 8];
  await s.commit(m, { version: "v2", from: "Pi-1", at: 2 });
  const again = await StateDir.open({ dir, nodeId: "t", logger });
  const cs = await again.candidates();
  assert.deepEqual(cs.map((c) => c.manifest), [MANIFEST, PREV_MANIFEST]);
  assert.deepEqual((await FakeModel.load(cs[1]!.baselineFile)).weights, [1, 2]);
  assert.deepEqual(again.problems, []);
});

test("a damaged baseline is caught by its sha256 and the previous generation is used", async (t) => {
  const dir = await scratch(t);
  const { s: first } = await twoGenerations(dir);
  await truncate(first.baselineFile!, 5);
  const s = await StateDir.open({ dir, nodeId: "t", logger });
  const cs = await s.candidates();
  assert.deepEqual(cs.map((c) => c.manifest), [PREV_MANIFEST]);
  assert.match(s.problems.join(), /damaged/);
});

test("an edited manifest fails its checksum", async (t) => {
  const dir = await scratch(t);
  await twoGenerations(dir);
  const text = await readFile(join(dir, MANIFEST), "utf8");
  await writeFile(join(dir, MANIFEST), text.replace('"v1"', '"v2"'));
  const s = await StateDir.open({ dir, nodeId: "t", logger });
  await s.candidates();
  assert.match(s.problems.join(), /checksum/);
});

test("only the current and previous baselines are kept, and crash temporaries are removed", async (t) => {
  const dir = await scratch(t);
  const { s, m } = await twoGenerations(dir);
  m.weights = [5, 6];
  await s.commit(m);
  await writeFile(join(dir, ".baseline-4.pt.123.tmp"), "half");
  await StateDir.open({ dir, nodeId: "t", logger });
  const names = (await readdir(dir)).filter((n) => n !== "deltas").sort();
  assert.deepEqual(names, ["baseline-2.pt", "baseline-3.pt", MANIFEST, PREV_MANIFEST].sort());
});

test("the carry a teach left is saved beside its baseline, verified on reopen, and rewritten only when it changes", async (t) => {
  const dir = await scratch(t);
  const s = await StateDir.open({ dir, nodeId: "t", logger });
  const m = new FakeModel([1, 2]);
  await s.commit(m);
  await m.teach("q", "a");
  await s.commit(m, { version: "v1", from: "t", at: 1 });
  await m.merge(new TextEncoder().encode(JSON.stringify({ add: [1, 1], question: "q2", answer: "b" })), 1);
  await s.commit(m, { version: "v2", from: "Pi-2", at: 2 });
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith("carry-")), ["carry-2.f32"], "a merge leaves the carry as it was");
  const again = await StateDir.open({ dir, nodeId: "t", logger });
  const [c] = await again.candidates();
  assert.equal(c?.carryFile, join(dir, "carry-2.f32"));
  assert.deepEqual([...new Float32Array((await readFile(c.carryFile)).buffer.slice(0))], [...m.held!]);
  await m.teach("q3", "c");
  await s.commit(m);
  await s.commit(m);
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith("carry-")).sort(), ["carry-4.f32"], "only the carries of the current and previous manifest stay");
});

test("a damaged carry is reported and the weights are still used", async (t) => {
  const dir = await scratch(t);
  const s = await StateDir.open({ dir, nodeId: "t", logger });
  const m = new FakeModel([1, 2]);
  await m.teach("q", "a");
  await s.commit(m);
  await truncate(join(dir, "carry-1.f32"), 3);
  const again = await StateDir.open({ dir, nodeId: "t", logger });
  const [c] = await again.candidates();
  assert.equal(c?.manifest, MANIFEST);
  assert.equal(c.carryFile, undefined);
  assert.match(again.problems.join(), /carry carry-1\.f32 is damaged/);
});

test("delta files are kept up to a bound, oldest pruned, and wire versions never become paths", async (t) => {
  const dir = await scratch(t);
  const s = await StateDir.open({ dir, nodeId: "t", logger });
  for (let i = 0; i < DELTA_FILES_KEPT + 3; i++) {
    await s.keepDelta(`v${i}`, new Uint8Array([i]));
    await new Promise((r) => setTimeout(r, 2));
  }
  const files = await readdir(join(dir, "deltas"));
  assert.equal(files.length, DELTA_FILES_KEPT);
  assert.ok(!files.includes("v0.pt") && files.includes(`v${DELTA_FILES_KEPT + 2}.pt`));
  assert.equal(await s.keepDelta("../../etc/x", new Uint8Array([1])), undefined);
  assert.ok(!existsSync(join(dir, "..", "etc")));
});
