// The node's wiring with the real engine (tiny-gpt2, TypeScript inference) and an in-process LAN for
// the overlay (the e2e tests run the real one): every node ends on the weights base + the exact sum
// of the entries it holds — one digest for one set of entries, whatever order they came in — and
// any entry one node holds reaches the others, late joiners and failed saves included.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { writeTorchStateDict } from "../checkpoint/torch-file.js";
import type { StateDict } from "../checkpoint/tensor.js";
import { encodeBundle } from "../log/bundle.js";
import { entryName, type Entry } from "../log/entry.js";
import { Ledger } from "../log/ledger.js";
import type { Writer } from "../log/store.js";
import { ensureDefaultModel } from "../model/default-model.js";
import { Model } from "../model/model.js";
import { viewParams } from "../engine/params.js";
import { writeFileAtomicAsync } from "../util/atomic-write.js";
import { sha256Hex } from "../util/sha256.js";
import { createLogger } from "./logger.js";
import { resolveNodeOptions } from "./options.js";
import { NodeRuntime, StateWriteError } from "./runtime.js";
import type { NodeDeps } from "./seams.js";
import { startNode, type RunningNode } from "./start.js";
import { StateFolder } from "./state-folder.js";
import { FakeHub } from "../../../test/support/node-fakes.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { until as poll } from "../../../test/support/until.js";

const scratch = tempDirs("node-rt-");
process.env.FLEET_MODEL_CACHE ??= scratch();
const silent = () => createLogger({ nodeId: "t", level: "silent", format: "json" }).logger;

const deps = (hub: FakeHub): NodeDeps => ({
  loadModel: (p) => Model.load(p, { inference: "ts" }),
  defaultModelPath: async () => ensureDefaultModel(),
  startOverlay: hub.start,
});

async function node(t: TestContext, hub: FakeHub, id: string, dir: string): Promise<RunningNode> {
  const o = resolveNodeOptions(id, { http: "127.0.0.1:0", stateDir: join(dir, id), port: "5000" }, {});
  const n = await startNode(o, deps(hub), createLogger({ nodeId: id, level: "silent", format: "json" }));
  t.after(() => n.close());
  return n;
}

const until = (what: string, pred: () => boolean, ms = 20_000): Promise<true> => poll(what, () => pred(), ms, 10);

const holds = (n: RunningNode, name: string): boolean => n.runtime.ledger.has(name);
const same = (ns: RunningNode[]): boolean => ns.every((n) => n.runtime.digest === ns[0]!.runtime.digest && n.runtime.ledger.set === ns[0]!.runtime.ledger.set);

test("a teach on one node is held once by every other, and all end on one digest and one set of entries", async (t) => {
  const dir = scratch();
  const hub = new FakeHub();
  const [a, b, c] = [await node(t, hub, "Pi-1", dir), await node(t, hub, "Pi-2", dir), await node(t, hub, "Pi-3", dir)];
  const before = a.runtime.digest;
  const r = await a.runtime.teach("What is 2+2", "4");
  assert.notEqual(r.digest, before);
  assert.match(r.version, /^Pi-1~1~[0-9a-f]{64}$/, "a teach is named by its author, seq and sha256");
  await until("both receivers", () => holds(b, r.version) && holds(c, r.version));
  assert.ok(same([a, b, c]), "digests or sets differ");
  assert.equal(a.runtime.digest, r.digest);
  assert.deepEqual(b.runtime.lessons().map((l) => [l.question, l.answer, l.author]), [["What is 2+2", "4", "Pi-1"]]);
});

test("/status lists the entries a node sent and merged lately, the merges with their time to merge, by the node's clock", async (t) => {
  const dir = scratch();
  const hub = new FakeHub();
  const [a, b] = [await node(t, hub, "Pi-1", dir), await node(t, hub, "Pi-2", dir)];
  const r = await a.runtime.teach("What is 2+2", "4");
  await until("the receiver", () => holds(b, r.version));
  type Recent = { version: string; dir: string; from: string; at: number; bytes: number; chunks: number | null; latencyMs: number | null; fetched: boolean };
  const sa = a.runtime.status() as { recent: Recent[]; now: number };
  const sb = b.runtime.status() as { recent: Recent[]; now: number };
  assert.deepEqual(sa.recent.map((x) => [x.version, x.dir, x.from, x.latencyMs]), [[r.version, "sent", "Pi-1", null]]);
  assert.ok(sa.recent[0]!.bytes > 0 && sa.recent[0]!.chunks! >= 1);
  assert.deepEqual(sb.recent.map((x) => [x.version, x.dir, x.from]), [[r.version, "merged", "Pi-1"]]);
  assert.ok(sb.recent[0]!.latencyMs! >= 0 && sb.recent[0]!.at <= sb.now, JSON.stringify(sb.recent));
});

test("two nodes taught at the same moment, then a third: every node ends on one digest (the exact sum does not care about order)", async (t) => {
  const dir = scratch();
  const hub = new FakeHub();
  const ns = [await node(t, hub, "Pi-1", dir), await node(t, hub, "Pi-2", dir), await node(t, hub, "Pi-3", dir)];
  const [r1, r2] = await Promise.all([ns[0]!.runtime.teach("Capital of France", "Paris"), ns[1]!.runtime.teach("Who wrote Hamlet", "Shakespeare")]);
  const r3 = await ns[2]!.runtime.teach("What is 7 times 8", "56");
  await until("every node to hold all three", () => ns.every((n) => [r1, r2, r3].every((r) => holds(n, r.version))));
  assert.ok(same(ns), ns.map((n) => n.runtime.digest.slice(0, 12)).join(" "));
  assert.equal(ns[0]!.runtime.ledger.size, 3);
});

test("a node that joins late (empty state folder) catches up on everything by anti-entropy alone", async (t) => {
  const dir = scratch();
  const hub = new FakeHub();
  const a = await node(t, hub, "Pi-1", dir);
  const b = await node(t, hub, "Pi-2", dir);
  await a.runtime.teach("Capital of France", "Paris");
  await b.runtime.teach("Who wrote Hamlet", "Shakespeare");
  await until("a and b agree", () => same([a, b]) && a.runtime.ledger.size === 2);
  const late = await node(t, hub, "Pi-4", dir);
  assert.equal(late.runtime.ledger.size, 0);
  await until("the late node to catch up", () => same([a, b, late]), 30_000);
  assert.ok(late.runtime.catchUp.stats.entryFetches >= 2, "fetched by catch-up");
  assert.equal(late.runtime.logStatus().lacking, 0);
});

test("a restarted node comes back with the same weights and entries, holds nothing twice, and keeps its teach carry", async (t) => {
  const dir = scratch();
  const hub = new FakeHub();
  let a = await node(t, hub, "Pi-1", dir);
  const r = await a.runtime.teach("What is 2+2", "4");
  const kept = { digest: a.runtime.digest, set: a.runtime.ledger.set, carry: Float32Array.from(a.runtime.model.carry!()!) };
  await a.close();
  a = await node(t, hub, "Pi-1", dir);
  assert.equal(a.runtime.digest, kept.digest);
  assert.equal(a.runtime.ledger.set, kept.set);
  assert.deepEqual([...a.runtime.model.carry!()!.subarray(0, 64)], [...kept.carry.subarray(0, 64)], "the carry owed to the next teach was lost");
  // The same entry again, under another transfer version: held once.
  const bundle = await a.runtime.ledger.bundle(r.version);
  await a.runtime.onPayload({ kind: "entry", version: "d1764000000000-x-1", from: "Pi-9", bytes: bundle, sha256: "", metaAt: Date.now() });
  assert.equal(a.runtime.ledger.size, 1);
  assert.equal(a.runtime.digest, kept.digest);
  const r2 = await a.runtime.teach("What is 3+3", "6");
  assert.match(r2.version, /^Pi-1~2~/, "the next teach takes the next seq");
});

const f16 = (...halves: number[]) => ({ dtype: "f16" as const, shape: [halves.length], data: Uint16Array.from(halves) });

async function bundleOf(ledger: Ledger, author: string, seq: number, sd: StateDict): Promise<Uint8Array> {
  const delta = writeTorchStateDict(sd);
  const entry: Entry = { author, seq, sha256: sha256Hex(delta), kind: "teach", base: ledger.baseId, lesson: { question: "q", answer: "a" }, at: 1 };
  return encodeBundle({ entry, delta });
}

test("an entry with a NaN, a wrong shape or another base model is refused whole and changes nothing", async (t) => {
  const dir = scratch();
  const hub = new FakeHub();
  const b = await node(t, hub, "Pi-2", dir);
  const start = b.runtime.digest;
  const ledger = b.runtime.ledger;
  const nan = await bundleOf(ledger, "Pi-1", 1, new Map([["transformer.h.0.ln_1.bias", f16(0x3c00, 0x3c00)], ["transformer.h.1.ln_1.bias", f16(0x3c00, 0x7e00)]]) as StateDict);
  await assert.rejects(b.runtime.onPayload({ kind: "entry", version: "d1764000000000-a-1", from: "Pi-1", bytes: nan, sha256: "", metaAt: 0 }), (e: Error & { reason?: string }) => e.reason === "bounds");
  const shape = await bundleOf(ledger, "Pi-1", 2, new Map([["transformer.h.0.ln_1.bias", f16(0x3c00)]]) as StateDict);
  await assert.rejects(b.runtime.onPayload({ kind: "entry", version: "d1764000000000-a-2", from: "Pi-1", bytes: shape, sha256: "", metaAt: 0 }), (e: Error & { reason?: string }) => e.reason === "shape");
  const delta = writeTorchStateDict(new Map([["transformer.h.0.ln_1.bias", f16(0x3c00, 0x3c00)]]) as StateDict);
  const other = encodeBundle({ entry: { author: "Pi-1", seq: 3, sha256: sha256Hex(delta), kind: "teach", base: "w1-ffffffffffffffffffffffffffffffff", lesson: { question: "q", answer: "a" } }, delta });
  await assert.rejects(b.runtime.onPayload({ kind: "entry", version: "d1764000000000-a-3", from: "Pi-1", bytes: other, sha256: "", metaAt: 0 }), (e: Error & { reason?: string }) => e.reason === "base");
  assert.equal(b.runtime.digest, start);
  assert.equal(b.runtime.ledger.size, 0);
  assert.deepEqual(await readdir(join(dir, "Pi-2", "entries")), [], "nothing refused reached the disk");
});

test("a second teach while one runs is refused as busy, not queued behind it", async (t) => {
  const dir = scratch();
  const a = await node(t, new FakeHub(), "Pi-1", dir);
  const first = a.runtime.teach("Capital of France", "Paris");
  await assert.rejects(a.runtime.teach("What is 2+2", "4"), /already running/);
  await first;
});

/** A writer that fails with ENOSPC while `full` says so: the disk of a Pi whose SD card filled up. */
function fillable(): { writer: Writer; full: boolean } {
  const o = {
    full: false,
    writer: async (path: string, data: Uint8Array) => {
      if (o.full) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      await writeFileAtomicAsync(path, data);
    },
  };
  return o;
}

async function runtimeOn(t: TestContext, hub: FakeHub, id: string, dir: string, writer?: Writer): Promise<NodeRuntime> {
  const model = await Model.load(undefined, { inference: "ts" });
  const base = viewParams(model.params.config, Float32Array.from(model.params.flat));
  const ledger = await Ledger.open({ dir, base, writer });
  const folder = await StateFolder.open(dir, silent());
  const rt = new NodeRuntime({ nodeId: id, model, ledger, folder, logger: silent(), mergeWeight: 1 });
  rt.attachOverlay(await hub.start({ nodeId: id, port: 0, peers: [], dialect: "v1", logger: silent(), onDelta: rt.onDelta, isApplied: rt.isApplied, onPayload: rt.onPayload, onControl: rt.onControl, says: rt.says }));
  t.after(() => rt.close());
  return rt;
}

test("a full disk: the entry is not merged (weights unchanged, counted), a teach fails cleanly, and once there is room the entry is fetched again", async (t) => {
  const hub = new FakeHub();
  const disk = fillable();
  const a = await runtimeOn(t, hub, "Pi-1", scratch());
  const b = await runtimeOn(t, hub, "Pi-2", scratch(), disk.writer);
  const start = b.digest;
  disk.full = true;
  const r = await a.teach("Capital of France", "Paris");
  await until("the failed save", () => b.stateWriteErrors >= 1);
  assert.equal(b.digest, start, "a merge that could not be saved changed the weights");
  assert.equal(b.ledger.has(r.version), false);
  await assert.rejects(b.teach("What is 2+2", "4"), (e: unknown) => e instanceof StateWriteError);
  assert.equal(b.digest, start, "a teach that could not be saved left its weights behind");
  disk.full = false;
  await until("catch-up after the disk has room", () => b.ledger.has(r.version) && b.digest === a.digest, 30_000);
  assert.equal(entryName(b.ledger.entries()[0]!), r.version);
});
