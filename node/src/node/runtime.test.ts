// The node's wiring with the engine and overlay replaced by fakes (the e2e tests run the real ones):
// a teach reaches every peer once, restarts keep weights and the applied log, bad deltas are
// rejected without changing anything.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "./logger.js";
import { resolveNodeOptions } from "./options.js";
import type { NodeDeps } from "./seams.js";
import { startNode, type RunningNode } from "./start.js";
import { FakeDeltaError, FakeHub, FakeModel } from "../../../test/support/node-fakes.js";

type T = { after: (f: () => Promise<void> | void) => void };

async function scratch(t: T): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "node-rt-"));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

function deps(hub: FakeHub, seed = [0.5, -1, 2, 0]): NodeDeps {
  return {
    loadModel: async (p) => (p === "seed" ? new FakeModel([...seed]) : FakeModel.load(p)),
    defaultModelPath: async () => "seed",
    startOverlay: hub.start,
    deltaErrorReason: (e) => (e instanceof FakeDeltaError ? e.reason : undefined),
  };
}

async function node(t: T, hub: FakeHub, id: string, dir: string): Promise<RunningNode> {
  const o = resolveNodeOptions(id, { http: "127.0.0.1:0", stateDir: join(dir, id), port: "5000" }, {});
  const n = await startNode(o, deps(hub), createLogger({ nodeId: id, level: "silent", format: "json" }));
  t.after(() => n.close());
  return n;
}

function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (pred()) resolve();
      else if (Date.now() > end) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

test("a teach on one node is merged once by every other node and all end on one digest", async (t) => {
  const dir = await scratch(t);
  const hub = new FakeHub();
  const [a, b, c] = [await node(t, hub, "Pi-1", dir), await node(t, hub, "Pi-2", dir), await node(t, hub, "Pi-3", dir)];
  const before = a.runtime.digest;
  assert.equal(b.runtime.digest, before);
  const r = await a.runtime.teach("What is 2+2", "4");
  assert.notEqual(r.digest, before);
  await until(() => b.runtime.state.applied.has(r.version) && c.runtime.state.applied.has(r.version), "merges");
  assert.equal(b.runtime.digest, a.runtime.digest);
  assert.equal(c.runtime.digest, a.runtime.digest);
  assert.deepEqual(b.runtime.state.applied.entries().map((x) => [x.version, x.from]), [[r.version, "Pi-1"]]);
  assert.deepEqual(a.runtime.state.applied.entries().map((x) => [x.version, x.from]), [[r.version, "Pi-1"]]);
  assert.equal((await b.runtime.ask("What is 2+2")).answer, "4");
  const status = b.runtime.status() as { applied: unknown[]; digest: string; id: string };
  assert.equal(status.id, "Pi-2");
  assert.equal(status.applied.length, 1);
});

test("a restarted node comes back with the same weights and does not apply a delta twice", async (t) => {
  const dir = await scratch(t);
  const hub = new FakeHub();
  const a = await node(t, hub, "Pi-1", dir);
  let b = await node(t, hub, "Pi-2", dir);
  const r = await a.runtime.teach("q", "a");
  await until(() => b.runtime.state.applied.has(r.version), "merge");
  const digest = b.runtime.digest;
  await b.close();
  b = await node(t, hub, "Pi-2", dir);
  assert.equal(b.modelSource, "state");
  assert.equal(b.runtime.digest, digest);
  assert.ok(b.runtime.isApplied(r.version));
  const bytes = new TextEncoder().encode(JSON.stringify({ add: [1, 1, 1, 1], question: "q", answer: "a" }));
  assert.equal(await b.runtime.onDelta({ version: r.version, from: "Pi-1", bytes, sha256: "", metaAt: Date.now() }), "duplicate");
  assert.equal(b.runtime.digest, digest, "a version already applied changed the weights");
});

test("a restarted teacher still owes its next teach what rounding held back from the last one", async (t) => {
  const dir = await scratch(t);
  const hub = new FakeHub();
  let a = await node(t, hub, "Pi-1", dir);
  await a.runtime.teach("q", "a");
  const held = [...((a.runtime.model as FakeModel).carry() ?? [])];
  assert.equal(held.length, 4);
  await a.close();
  a = await node(t, hub, "Pi-1", dir);
  assert.deepEqual([...((a.runtime.model as FakeModel).carry() ?? [])], held);
});

test("a delta the engine cannot decode is rejected with its reason and changes nothing", async (t) => {
  const dir = await scratch(t);
  const hub = new FakeHub();
  const b = await node(t, hub, "Pi-2", dir);
  const before = b.runtime.digest;
  const seen: string[] = [];
  b.runtime.on("rejected", (e) => seen.push(e.reason));
  await assert.rejects(b.runtime.onDelta({ version: "v9", from: "x", bytes: new Uint8Array([1, 2, 3]), sha256: "", metaAt: Date.now() }),
    (e: unknown) => (e as FakeDeltaError).reason === "decode");
  assert.deepEqual(seen, ["decode"]);
  assert.equal(b.runtime.digest, before);
  assert.equal(b.runtime.isApplied("v9"), false);
});

test("a second teach while one runs is refused as busy, not queued behind it", async (t) => {
  const dir = await scratch(t);
  const hub = new FakeHub();
  const a = await node(t, hub, "Pi-1", dir);
  (a.runtime.model as FakeModel).teachDelayMs = 200;
  const first = a.runtime.teach("q1", "a1");
  await assert.rejects(a.runtime.teach("q2", "a2"), (e: unknown) => (e as { code?: string }).code === "TEACH_IN_PROGRESS");
  await first;
  await a.runtime.teach("q2", "a2");
  assert.equal(a.runtime.state.applied.entries().length, 2);
});

/** Makes the model's next save fail, as a full disk would. */
function failNextSave(n: RunningNode): void {
  const m = n.runtime.model as FakeModel;
  const save = m.saveBaseline.bind(m);
  m.saveBaseline = async (file) => {
    m.saveBaseline = save;
    throw new Error("ENOSPC: no space left on device");
  };
}

test("a merge whose save failed is saved, with its version, by the next commit: a restart neither loses nor repeats it", async (t) => {
  const dir = await scratch(t);
  const hub = new FakeHub();
  const a = await node(t, hub, "Pi-1", dir);
  let b = await node(t, hub, "Pi-2", dir);
  failNextSave(b);
  const v1 = (await a.runtime.teach("q1", "a1")).version;
  await until(() => b.runtime.isApplied(v1), "the first merge");
  const v2 = (await a.runtime.teach("q2", "a2")).version;
  await until(() => b.runtime.isApplied(v2), "the second merge");
  assert.equal(b.runtime.digest, a.runtime.digest);
  await b.close();
  b = await node(t, hub, "Pi-2", dir);
  assert.equal(b.runtime.digest, a.runtime.digest, "the restarted node's weights");
  assert.deepEqual(b.runtime.state.applied.entries().map((x) => x.version), [v1, v2], "the restarted node's applied log");
});

test("a teacher whose save failed does not list its version over the older weights on disk", async (t) => {
  const dir = await scratch(t);
  const hub = new FakeHub();
  let a = await node(t, hub, "Pi-1", dir);
  const b = await node(t, hub, "Pi-2", dir);
  const start = a.runtime.digest;
  failNextSave(a);
  const v1 = (await a.runtime.teach("q", "a")).version;
  await until(() => b.runtime.isApplied(v1), "the merge on Pi-2");
  await a.close();
  a = await node(t, hub, "Pi-1", dir);
  assert.equal(a.runtime.digest, start, "the disk never held the taught weights");
  assert.equal(a.runtime.isApplied(v1), false, "the manifest lists a version its baseline lacks");
  // So the version can still reach it: a peer's copy brings it back onto the fleet's digest.
  const bytes = new TextEncoder().encode(JSON.stringify({ add: [1 / 8, 2 / 8, 3 / 8, 4 / 8], question: "q", answer: "a" }));
  assert.equal(await a.runtime.onDelta({ version: v1, from: "Pi-2", bytes, sha256: "", metaAt: Date.now() }), "applied");
  assert.equal(a.runtime.digest, b.runtime.digest);
});
