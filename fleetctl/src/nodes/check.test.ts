import { test } from "node:test";
import assert from "node:assert/strict";
import { FleetError } from "../errors.js";
import { startFakeFleet } from "../../../test/support/fleetctl/fake-nodes.js";
import { freshQa, runCheck } from "./check.js";

test("a fleet that spreads the taught version passes, with a merge time per node", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 150 });
  t.after(() => fleet.close());
  const r = await runCheck({ nodes: fleet.nodes, mergeTimeoutMs: 10_000, pollMs: 20 });
  assert.deepEqual(r.failures, []);
  assert.equal(r.ok, true);
  assert.equal(r.teacher, "pi-1");
  assert.deepEqual(r.nodes.map((n) => [n.nodeId, n.role, n.merged]), [
    ["pi-1", "teacher", true],
    ["pi-2", "peer", true],
    ["pi-3", "peer", true],
  ]);
  for (const n of r.nodes) assert.ok(n.mergeMs !== null && n.mergeMs >= 0);
  assert.equal(r.digestsAgree, true);
  assert.equal(r.ask!.nodeId, "pi-2");
  assert.equal(r.ask!.matches, true);
  // The teach went to the teacher only; the question to another node, and to the teacher to compare.
  assert.deepEqual(fleet.requests.filter((x) => x.includes("POST")), ["pi-1 POST /teach", "pi-2 POST /ask", "pi-1 POST /ask"]);
});

test("a teach the model could not learn still passes when every node holds the teacher's weights: /ask is compared with /ask", async (t) => {
  // /teach's answer is generated only as long as the taught answer; the asker's /ask is longer.
  const fleet = await startFakeFleet({ count: 3, propagateMs: 20, unlearned: true });
  t.after(() => fleet.close());
  const r = await runCheck({ nodes: fleet.nodes, question: "What is the check word?", answer: "tulip", mergeTimeoutMs: 10_000, pollMs: 20 });
  assert.equal(r.teach.learned, false);
  assert.notEqual(r.teach.answer, r.ask!.answer);
  assert.deepEqual(r.failures, []);
  assert.equal(r.ask!.matches, true);
  assert.equal(r.ask!.expected, r.ask!.answer);
});

test("the teacher and the asker can be chosen by node id or host", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10 });
  t.after(() => fleet.close());
  const r = await runCheck({ nodes: fleet.nodes, teacher: "pi-3", asker: "host-pi-1", question: "Q?", answer: "A", mergeTimeoutMs: 10_000, pollMs: 20 });
  assert.equal(r.ok, true);
  assert.equal(r.teacher, "pi-3");
  assert.equal(r.ask!.nodeId, "pi-1");
  assert.equal(r.question, "Q?");
});

test("a node that never merges fails the check, named, after the timeout", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10, neverMerge: ["pi-3"] });
  t.after(() => fleet.close());
  const r = await runCheck({ nodes: fleet.nodes, mergeTimeoutMs: 600, pollMs: 20 });
  assert.equal(r.ok, false);
  assert.equal(r.nodes.find((n) => n.nodeId === "pi-3")!.merged, false);
  assert.match(r.failures.join("\n"), /pi-3 did not merge version pi-1~1~[0-9a-f]{64} within 600 ms/);
  assert.match(r.failures.join("\n"), /2 different models/);
});

test("a node known not to merge ends its wait at once, with the reason, however long the timeout", { timeout: 60_000 }, async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10, neverMerge: ["pi-3"] });
  t.after(() => fleet.close());
  const seen = new Set<string>();
  const r = await runCheck({
    nodes: fleet.nodes, mergeTimeoutMs: 3_600_000, pollMs: 20,
    wontMerge: (n) => (n.nodeId === "pi-3" ? "rejected the delta: sha256 mismatch" : undefined),
    onStatus: (n) => seen.add(n.nodeId),
  });
  assert.equal(r.ok, false);
  assert.deepEqual(r.nodes.map((n) => [n.nodeId, n.merged]), [["pi-1", true], ["pi-2", true], ["pi-3", false]]);
  assert.match(r.failures.join("\n"), /^pi-3 rejected the delta: sha256 mismatch$/m);
  assert.deepEqual([...seen].sort(), ["pi-1", "pi-2", "pi-3"], "every /status read is shown to the caller");
});

test("nothing is taught while a node is down", async (t) => {
  const fleet = await startFakeFleet({ count: 3 });
  t.after(() => fleet.close());
  await fleet.stop("pi-2");
  await assert.rejects(runCheck({ nodes: fleet.nodes, mergeTimeoutMs: 1_000 }), (e: FleetError) => e.code === "NODE_DOWN" && /pi-2/.test(e.message));
  assert.equal(fleet.requests.filter((x) => x.includes("/teach")).length, 0);
});

test("an unknown teacher is a usage error listing the nodes", async (t) => {
  const fleet = await startFakeFleet({ count: 2 });
  t.after(() => fleet.close());
  await assert.rejects(runCheck({ nodes: fleet.nodes, teacher: "nope", mergeTimeoutMs: 1_000 }), (e: FleetError) => e.exitCode === 2 && /pi-1, pi-2/.test(e.suggestion!));
});

test("every check teaches a question no node has seen", () => {
  const a = freshQa();
  const b = freshQa();
  assert.notEqual(a.question, b.question);
  assert.ok(a.answer.length > 0);
});

test("a node that merged the teach but still misses an earlier entry when the merge wait ends fails the check: it is behind, and what it lacks is named", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10, behind: ["pi-3"] });
  t.after(() => fleet.close());
  const t0 = Date.now();
  const r = await runCheck({ nodes: fleet.nodes, mergeTimeoutMs: 1_000, pollMs: 20 });
  assert.ok(Date.now() - t0 >= 1_000, "a node behind is given the whole merge wait to catch up");
  assert.equal(r.ok, false);
  assert.deepEqual(r.nodes.map((n) => [n.nodeId, n.merged, n.lacking?.length]), [["pi-1", true, 0], ["pi-2", true, 0], ["pi-3", true, 1]]);
  assert.match(r.failures.join("\n"), /^pi-3 lacks 1 entry: course-1#1764892800$/m);
  assert.equal(r.log.entries, 2);
});

test("a node still fetching an earlier entry when the teach is merged passes once it holds it, within the merge wait", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10, behind: ["pi-3"], catchUpMs: 400 });
  t.after(() => fleet.close());
  const r = await runCheck({ nodes: fleet.nodes, mergeTimeoutMs: 10_000, pollMs: 20 });
  assert.deepEqual(r.failures, []);
  assert.deepEqual(r.nodes.map((n) => n.lacking), [[], [], []]);
  assert.equal(r.log.entries, 2);
});

test("a check on some of the nodes compares only their logs", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10, behind: ["pi-3"] });
  t.after(() => fleet.close());
  const r = await runCheck({ nodes: fleet.nodes.slice(0, 2), mergeTimeoutMs: 10_000, pollMs: 20 });
  assert.deepEqual(r.failures, []);
  assert.equal(r.ok, true);
});

test("each node's recall of the fleet's lessons is reported from its weights' answers; forgetting fails nothing", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10, lessons: 14, remembers: { "pi-2": 7, "pi-3": 0 } });
  t.after(() => fleet.close());
  const r = await runCheck({ nodes: fleet.nodes, mergeTimeoutMs: 10_000, pollMs: 20 });
  assert.deepEqual(r.failures, []);
  assert.equal(r.ok, true);
  // 14 earlier lessons and the check's own; a node asks itself the newest 12.
  assert.deepEqual(r.nodes.map((n) => [n.nodeId, n.recall]), [
    ["pi-1", { held: 15, asked: 12, recalled: 12 }],
    ["pi-2", { held: 15, asked: 12, recalled: 7 }],
    ["pi-3", { held: 15, asked: 12, recalled: 0 }],
  ]);
  assert.ok(fleet.requests.includes("pi-3 GET /lessons?recall=1"));
});

test("a node that cannot say what it recalls is named, with why, and fails nothing", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10, noRecall: ["pi-3"] });
  t.after(() => fleet.close());
  const r = await runCheck({ nodes: fleet.nodes, mergeTimeoutMs: 10_000, pollMs: 20 });
  assert.equal(r.ok, true);
  assert.deepEqual(r.nodes.map((n) => n.recall), [{ held: 1, asked: 1, recalled: 1 }, { held: 1, asked: 1, recalled: 1 }, null]);
  assert.match(r.nodes[2]!.recallUnknown!, /pi-3 .*refused GET \/lessons\?recall=1: HTTP 404/);
});
