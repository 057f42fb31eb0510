// The trust gate in the node's wiring (real engine, the in-process LAN of test/support/node-fakes.ts;
// trust-e2e.test.ts runs the real binary): with a roster, only members' signed entries are held;
// a refused entry is remembered, refused again unread, and never fetched again by catch-up; an author
// whose own key signed three refused entries is ignored, across a restart, until it has a new key.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KeyObject } from "node:crypto";
import { writeTorchStateDict } from "../checkpoint/torch-file.js";
import type { StateDict } from "../checkpoint/tensor.js";
import { encodeBundle } from "../log/bundle.js";
import { entryName, type Entry } from "../log/entry.js";
import { ensureDefaultModel } from "../model/default-model.js";
import { Model } from "../model/model.js";
import { loadOrCreateIdentity, rosterLine } from "../trust/keys.js";
import { signEntry } from "../trust/signature.js";
import { sha256Hex } from "../util/sha256.js";
import { createLogger } from "./logger.js";
import { resolveNodeOptions } from "./options.js";
import type { NodeDeps } from "./seams.js";
import { startNode, type RunningNode } from "./start.js";
import { FakeHub } from "../../../test/support/node-fakes.js";
import { courseFixture } from "../../../test/support/paths.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { until as poll } from "../../../test/support/until.js";

const scratch = tempDirs("node-trust-");
process.env.FLEET_MODEL_CACHE ??= scratch();

const deps = (hub: FakeHub): NodeDeps => ({
  loadModel: (p) => Model.load(p, { inference: "ts" }),
  defaultModelPath: async () => ensureDefaultModel(),
  startOverlay: hub.start,
});

async function node(t: TestContext, hub: FakeHub, id: string, dir: string, roster: string, acceptUnsigned = false): Promise<RunningNode> {
  const o = resolveNodeOptions(id, { http: "127.0.0.1:0", stateDir: join(dir, id), port: "5000", roster, acceptUnsigned }, {});
  const n = await startNode(o, deps(hub), createLogger({ nodeId: id, level: "silent", format: "json" }));
  t.after(() => n.close());
  return n;
}

const until = (what: string, pred: () => boolean, ms = 20_000): Promise<true> => poll(what, () => pred(), ms, 10);

type Trust = { refused: Record<string, number>; admitted: Record<string, number>; authors: Array<{ id: string; ignored: boolean }> };
const trustOf = (n: RunningNode): Trust => n.runtime.status().trust as Trust;
/** Enrols `ids` (their keys created in their state folders) in a roster file; the keys by id. */
function enrol(dir: string, ids: string[]): { roster: string; keys: Map<string, KeyObject> } {
  const keys = new Map<string, KeyObject>();
  const lines = ids.map((id) => {
    const me = loadOrCreateIdentity(join(dir, id));
    keys.set(id, me.privateKey);
    return rosterLine(id, me);
  });
  const roster = join(dir, "roster");
  writeFileSync(roster, lines.join("\n") + "\n");
  return { roster, keys };
}

test("a member's teach is held; a non-member's is refused and refused again unread; what a member holds and we refused is not fetched again", { timeout: 60_000 }, async (t) => {
  const dir = scratch();
  const hub = new FakeHub();
  const { roster } = enrol(dir, ["Pi-1", "Pi-2", "Pi-4"]);
  const [a, b, d] = [await node(t, hub, "Pi-1", dir, roster), await node(t, hub, "Pi-2", dir, roster), await node(t, hub, "Pi-4", dir, roster, true)];
  const stranger = await node(t, hub, "Pi-3", dir, roster);   // runs with the roster but is not on it

  const ok = await a.runtime.teach("What is 2+2", "4");
  await until("Pi-2 holding Pi-1's teach", () => b.runtime.ledger.has(ok.version));
  assert.ok(b.runtime.ledger.sig(ok.version), "the signature is kept with the entry");
  const bad = await stranger.runtime.teach("Capital of France", "Activity");
  await until("Pi-2 refusing Pi-3's teach", () => trustOf(b).refused.not_member === 1);
  assert.equal(b.runtime.ledger.has(bad.version), false);
  assert.equal(b.runtime.digest, a.runtime.digest, "Pi-2 holds exactly what Pi-1 holds");

  // The same refused entry under another transfer: refused again from memory, not judged again.
  const bundle = await stranger.runtime.ledger.bundle(bad.version);
  await assert.rejects(b.runtime.onPayload({ kind: "entry", version: "d1764000000001-x-1", from: "Pi-3", bytes: bundle, sha256: "", metaAt: 0 }), (e: Error & { reason?: string }) => e.reason === "untrusted");
  assert.equal(trustOf(b).refused.not_member, 2);
  assert.deepEqual(trustOf(b).authors.find((x) => x.id === "Pi-3"), { id: "Pi-3", admitted: 0, refused: 1, ignored: false }, "held against its author once");

  // A course delta: Pi-4 (--accept-unsigned) holds it, Pi-2 refuses it. Pi-4 then lists it in its
  // index, and Pi-2's catch-up must not ask for it again and again.
  const course = await hub.start({ nodeId: "Pi-C", port: 0, peers: [], dialect: "v1", logger: createLogger({ nodeId: "c", level: "silent", format: "json" }).logger,
    onDelta: async () => "duplicate", isApplied: () => false });
  t.after(() => course.close());
  await course.sendDelta(new Uint8Array(readFileSync(courseFixture("delta_v1764009046.pt"))));
  await until("Pi-4 holding the course delta", () => d.runtime.ledger.entries().some((e) => e.kind === "course"));
  await until("Pi-2 refusing it", () => trustOf(b).refused.unsigned === 1);
  assert.equal(trustOf(d).admitted.unsigned, 1);
  await new Promise((r) => setTimeout(r, 7_000));   // > SETTLE_MS + INDEX_EVERY_MS: Pi-2 has read Pi-4's index
  assert.equal(trustOf(b).refused.unsigned, 1, "the refused course entry was fetched from Pi-4 and judged again");
  assert.equal(b.runtime.catchUp.lacking(), 0);
});

const f16 = (...halves: number[]) => ({ dtype: "f16" as const, shape: [halves.length], data: Uint16Array.from(halves) });
function signedBundle(key: KeyObject, base: string, seq: number, half: number): { bytes: Uint8Array; entry: Entry } {
  const delta = writeTorchStateDict(new Map([["transformer.h.0.ln_1.bias", f16(half, half)]]) as StateDict);
  const entry: Entry = { author: "Pi-1", seq, sha256: sha256Hex(delta), kind: "teach", base, lesson: { question: "q", answer: "a" }, at: seq };
  return { bytes: encodeBundle({ entry, delta, sig: signEntry(entry, key) }), entry };
}

test("three refusals of entries a member's key signed: it is ignored, after a restart too, until the roster gives it a new key", { timeout: 60_000 }, async (t) => {
  const dir = scratch();
  const hub = new FakeHub();
  const { roster, keys } = enrol(dir, ["Pi-1", "Pi-2"]);
  let b = await node(t, hub, "Pi-2", dir, roster);
  const base = b.runtime.ledger.baseId;
  const deliver = (n: RunningNode, x: { bytes: Uint8Array }, v: string) => n.runtime.onPayload({ kind: "entry", version: v, from: "Pi-1", bytes: x.bytes, sha256: "", metaAt: 0 }).catch((e: { refusal?: string }) => e.refusal);
  // 20.0 (fp16 0x4d00) is past what one teach can move a parameter by; 1.0 (0x3c00) is not.
  const huge = [1, 2, 3].map((s) => signedBundle(keys.get("Pi-1")!, base, s, 0x4d00));
  for (const [i, x] of huge.entries()) assert.equal(await deliver(b, x, `d1764000000000-p-${i + 1}`), "out_of_bounds");
  const fine = signedBundle(keys.get("Pi-1")!, base, 4, 0x3c00);
  assert.equal(await deliver(b, fine, "d1764000000000-p-4"), "ignored_author");
  assert.equal(trustOf(b).authors.find((x) => x.id === "Pi-1")?.ignored, true);
  // A refused entry again is refused from memory as before (judged again it would read "ignored_author").
  assert.equal(await deliver(b, huge[0]!, "d1764000000000-p-1b"), "out_of_bounds");
  assert.match(await b.metrics.text(), /^fleet_authors_ignored 1$/m);

  await b.close();
  b = await node(t, hub, "Pi-2", dir, roster);
  assert.equal(await deliver(b, signedBundle(keys.get("Pi-1")!, base, 5, 0x3c00), "d1764000000000-p-5"), "ignored_author", "a restart forgave it");

  // Re-enrolment: Pi-1 gets a new key (its old one revoked); the node re-reads the roster by itself.
  const old = loadOrCreateIdentity(join(dir, "Pi-1"));
  const fresh = loadOrCreateIdentity(join(dir, "Pi-1-new"));
  writeFileSync(roster, `!${rosterLine("Pi-1", old)}\n${rosterLine("Pi-1", fresh)}\n${readFileSync(roster, "utf8").split("\n")[1]}\n`);
  await until("the new roster", () => trustOf(b).authors.find((x) => x.id === "Pi-1")?.ignored === false, 10_000);
  assert.equal(await deliver(b, signedBundle(keys.get("Pi-1")!, base, 6, 0x3c00), "d1764000000000-p-6"), "revoked", "the old key is revoked");
  const again = signedBundle(fresh.privateKey, base, 7, 0x3c00);
  assert.equal(await deliver(b, again, "d1764000000000-p-7"), undefined);
  assert.ok(b.runtime.ledger.has(entryName(again.entry)), "the re-enrolled node's entry is held");
});
