// Reading a node's weights from its state folder, offline: the folders are made by real nodes
// (startNode, the real engine, an in-process LAN), so what is read is what a node wrote. The read
// must give the digest and the answers the node had, report what the node would set aside at its
// next start — and change nothing, since a node may be running on the folder.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ensureDefaultModel } from "../model/default-model.js";
import { Model } from "../model/model.js";
import { openLog, readHeldWeights } from "./held-weights.js";
import { createLogger } from "./logger.js";
import { resolveNodeOptions } from "./options.js";
import type { NodeDeps } from "./seams.js";
import { startNode, type RunningNode } from "./start.js";
import { FakeHub } from "../../../test/support/node-fakes.js";
import { courseFixture } from "../../../test/support/paths.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("held-weights-");
process.env.FLEET_MODEL_CACHE ??= scratch();

const deps = (hub: FakeHub): NodeDeps => ({
  loadModel: (p) => Model.load(p, { inference: "ts" }),
  defaultModelPath: async () => ensureDefaultModel(),
  startOverlay: hub.start,
});

async function node(t: TestContext, hub: FakeHub, stateDir: string, mergeWeight = "1"): Promise<RunningNode> {
  const o = resolveNodeOptions("Pi-1", { http: "127.0.0.1:0", stateDir, port: "5000", mergeWeight }, {});
  const n = await startNode(o, deps(hub), createLogger({ nodeId: "Pi-1", level: "silent", format: "json" }));
  t.after(() => n.close());
  return n;
}

const baseModel = () => Model.load(undefined, { inference: "ts" });

/** Every file under dir with its size: what a read must leave exactly as it was. */
function tree(dir: string): string[] {
  const walk = (d: string): string[] => readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    const s = statSync(p);
    return s.isDirectory() ? [`${relative(dir, p)}/`, ...walk(p)] : [`${relative(dir, p)} ${s.size}`];
  });
  return walk(dir).sort();
}

/** A state folder a node taught two lessons and was stopped on; its digest and answers then. */
async function taughtFolder(t: TestContext, mergeWeight = "1") {
  const dir = join(scratch(), "Pi-1");
  const n = await node(t, new FakeHub(), dir, mergeWeight);
  const questions = ["What is 2+2", "What is the capital of France"];
  await n.runtime.teach(questions[0]!, "4");
  await n.runtime.teach(questions[1]!, "Paris");
  const answers = await Promise.all(questions.map(async (q) => (await n.runtime.ask(q)).answer));
  const digest = n.runtime.digest;
  await n.close();
  return { dir, digest, questions, answers };
}

test("a state folder's weights are the node's: the digest it reported, its answers, its entries and lessons", async (t) => {
  const f = await taughtFolder(t);
  const model = await baseModel();
  const held = await readHeldWeights(model, f.dir, 1);
  assert.equal(held.digest, f.digest);
  assert.equal(model.digest(), f.digest, "the model given is left on the node's weights");
  assert.equal(held.entries, 2);
  assert.deepEqual(held.lessons.map((l) => [l.question, l.answer, l.author]), [["What is 2+2", "4", "Pi-1"], ["What is the capital of France", "Paris", "Pi-1"]]);
  assert.deepEqual(held.problems, []);
  for (const [i, q] of f.questions.entries()) assert.equal((await model.ask(q)).answer, f.answers[i]);
});

test("the merge weight is part of the derivation: read with the node's, the digest is the node's; with another, it is not", async (t) => {
  const f = await taughtFolder(t, "0.5");
  assert.equal((await readHeldWeights(await baseModel(), f.dir, 0.5)).digest, f.digest);
  assert.notEqual((await readHeldWeights(await baseModel(), f.dir, 1)).digest, f.digest);
});

test("a folder compacted into a checkpoint, as a node does past 256 entries, reads the same: its digest, nothing reported", async (t) => {
  const f = await taughtFolder(t);
  await (await openLog(await baseModel(), f.dir)).compact();
  assert.equal(readdirSync(join(f.dir, "checkpoints")).filter((n) => n.endsWith(".dfsum")).length, 1);
  const held = await readHeldWeights(await baseModel(), f.dir, 1);
  assert.equal(held.digest, f.digest);
  assert.equal(held.entries, 2);
  assert.deepEqual(held.problems, []);
});

test("a read changes nothing, and reports what the node sets aside at its next start: the node then holds what the read derived", async (t) => {
  const f = await taughtFolder(t);
  const entries = join(f.dir, "entries");
  const damaged = readdirSync(entries).filter((n) => n.endsWith(".delta")).sort()[1]!;
  truncateSync(join(entries, damaged), 100);
  writeFileSync(join(entries, "leftover.delta.tmp"), "half a write");
  writeFileSync(join(f.dir, "state.json"), "{}");
  const before = tree(f.dir);

  const held = await readHeldWeights(await baseModel(), f.dir, 1);
  assert.deepEqual(tree(f.dir), before, "reading a state folder moved or wrote files");
  assert.equal(held.entries, 1, "the damaged entry is not held");
  assert.notEqual(held.digest, f.digest);
  const said = held.problems.join("\n");
  assert.match(said, new RegExp(`${damaged.replace(/\.delta$/, "")}.*truncated.*set aside when the node starts`));
  assert.match(said, /leftover\.delta\.tmp: left by a write that did not finish; set aside when the node starts/);
  assert.match(said, /before the fleet log \(state\.json\): the node moves it under set-aside\//);

  const n = await node(t, new FakeHub(), f.dir);
  assert.equal(n.runtime.digest, held.digest, "the node, once it has set the damage aside, holds what the read derived");
  assert.equal(n.runtime.ledger.size, held.entries);
  const status = n.runtime.status() as { stateProblems: string[] };
  assert.equal(status.stateProblems.length, held.problems.length, `the node reports as many problems:\n${status.stateProblems.join("\n")}`);
});

test("entries made on another base model are not held, and the read says so", async (t) => {
  const f = await taughtFolder(t);
  const other = await Model.load(courseFixture("base.pt"), { inference: "ts" });
  const held = await readHeldWeights(other, f.dir, 1);
  assert.equal(held.entries, 0);
  assert.equal(held.problems.length, 2);
  for (const p of held.problems) assert.match(p, /made on base w1-[0-9a-f]+, this node's is w1-[0-9a-f]+; set aside when the node starts/);
  assert.equal(held.digest, other.digest(), "no entry held: the weights are the base's");
  const ours = await readHeldWeights(await baseModel(), f.dir, 1);
  assert.deepEqual(held.otherBases, [ours.baseId], "the base the entries were made on is named");
  assert.notEqual(held.baseId, ours.baseId);
  assert.deepEqual(ours.otherBases, []);
});

test("a folder no node ran on is refused, and not made into one", async () => {
  const dir = scratch();
  await assert.rejects(readHeldWeights(await baseModel(), dir, 1), /holds no entries\/ folder: not a node's state folder/);
  assert.deepEqual(readdirSync(dir), []);
  // The writable open (start-up) still makes a fresh node's folder.
  await openLog(await baseModel(), dir);
  assert.deepEqual(readdirSync(dir).sort(), ["checkpoints", "entries"]);
});
