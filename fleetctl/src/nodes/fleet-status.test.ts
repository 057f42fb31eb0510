import { test } from "node:test";
import assert from "node:assert/strict";
import { startFakeFleet } from "../../../test/support/fleetctl/fake-nodes.js";
import { fleetStatus } from "./fleet-status.js";
import { teach } from "./client.js";

test("a fleet holding one model is reported up, with each node's numbers", async (t) => {
  const fleet = await startFakeFleet({ count: 3 });
  t.after(() => fleet.close());
  const s = await fleetStatus(fleet.nodes);
  assert.equal(s.ok, true);
  assert.equal(s.digestsAgree, true);
  assert.equal(s.up, 3);
  assert.deepEqual(s.nodes.map((n) => [n.nodeId, n.up, n.peers, n.applied, n.version, n.fragmentsSent, n.retransmits]), [
    ["pi-1", true, 2, 0, null, 0, 0],
    ["pi-2", true, 2, 0, null, 0, 0],
    ["pi-3", true, 2, 0, null, 0, 0],
  ]);
});

test("a node that does not answer is DOWN, named, and the fleet is not ok", async (t) => {
  const fleet = await startFakeFleet({ count: 3 });
  t.after(() => fleet.close());
  await fleet.stop("pi-2");
  const s = await fleetStatus(fleet.nodes, 2_000);
  assert.equal(s.ok, false);
  assert.equal(s.up, 2);
  const down = s.nodes.find((n) => n.nodeId === "pi-2")!;
  assert.equal(down.up, false);
  assert.match(down.error!, /node pi-2 \(host-pi-2\) is not answering/);
});

test("nodes holding different models are reported as disagreeing", async (t) => {
  const fleet = await startFakeFleet({ count: 3, oddDigest: ["pi-3"] });
  t.after(() => fleet.close());
  const s = await fleetStatus(fleet.nodes);
  assert.equal(s.digestsAgree, false);
  assert.equal(s.digests.length, 2);
});

test("after a teach the teacher's row shows the new version and a last merge", async (t) => {
  const fleet = await startFakeFleet({ count: 2, neverMerge: ["pi-2"] });
  t.after(() => fleet.close());
  const taught = await teach(fleet.nodes[0]!, "q", "a");
  const s = await fleetStatus(fleet.nodes);
  assert.equal(s.nodes[0]!.version, taught.version);
  assert.notEqual(s.nodes[0]!.lastMergeAt, null);
  assert.equal(s.digestsAgree, false);
});

test("a fleet whose nodes hold the same entries is converged, each row with its entries and nothing lacking", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10 });
  t.after(() => fleet.close());
  const taught = await teach(fleet.nodes[1]!, "q", "a");
  await new Promise((r) => setTimeout(r, 100));
  const s = await fleetStatus(fleet.nodes);
  assert.equal(s.converged, true);
  assert.equal(s.ok, true);
  assert.equal(s.log.entries, 1);
  assert.match(taught.version, /^pi-2~1~[0-9a-f]{64}$/);
  for (const n of s.nodes) assert.deepEqual(n.log, { entries: 1, set: s.log.set, lacking: [] });
});

test("a node that missed entries is not converged, and its row names what it lacks", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10, neverMerge: ["pi-3"] });
  t.after(() => fleet.close());
  const a = await teach(fleet.nodes[0]!, "q1", "a1");
  const b = await teach(fleet.nodes[1]!, "q2", "a2");
  await new Promise((r) => setTimeout(r, 100));
  const s = await fleetStatus(fleet.nodes);
  assert.equal(s.converged, false);
  assert.equal(s.ok, false);
  assert.equal(s.log.entries, 2);
  assert.deepEqual(s.nodes.map((n) => n.log?.lacking.length), [0, 0, 2]);
  assert.deepEqual(s.nodes[2]!.log!.lacking, [a.version, b.version].sort());
});

test("a node whose /log does not answer is up but not converged: its log is unknown, and why", async (t) => {
  const fleet = await startFakeFleet({ count: 2, noLog: ["pi-2"] });
  t.after(() => fleet.close());
  const s = await fleetStatus(fleet.nodes);
  assert.equal(s.up, 2);
  assert.equal(s.digestsAgree, true);
  assert.equal(s.converged, false);
  assert.equal(s.nodes[1]!.log, null);
  assert.match(s.nodes[1]!.logError!, /node pi-2 \(host-pi-2\) refused GET \/log: HTTP 404/);
});

test("a node that is down is not converged, and adds nothing to the fleet's entries", async (t) => {
  const fleet = await startFakeFleet({ count: 2, behind: ["pi-1"] });
  t.after(() => fleet.close());
  await fleet.stop("pi-2");
  const s = await fleetStatus(fleet.nodes, 2_000);
  assert.equal(s.converged, false);
  assert.equal(s.log.entries, 0, "the entry only pi-2 holds is not known while pi-2 is down");
  assert.deepEqual(s.nodes[0]!.log!.lacking, []);
});
