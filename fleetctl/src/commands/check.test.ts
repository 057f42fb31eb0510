// What `fleetctl check` prints for people: after the table, one line per node saying how many of the
// fleet's lessons its weights recall, or why that is unknown.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startFakeFleet } from "../../../test/support/fleetctl/fake-nodes.js";
import { runCheck } from "../nodes/check.js";
import { formatCheck } from "./check.js";

test("a line per node: the lessons it recalls of those asked, and those held; unknown ones say why", async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10, lessons: 9, remembers: { "pi-1": 7, "pi-2": 1 }, noRecall: ["pi-3"] });
  t.after(() => fleet.close());
  const out = formatCheck(await runCheck({ nodes: fleet.nodes, mergeTimeoutMs: 10_000, pollMs: 20 }));
  const lines = out.split("\n");
  assert.ok(lines.includes("pi-1 recalls 7 of 10 lessons asked (10 held)"), out);
  assert.ok(lines.includes("pi-2 recalls 1 of 10 lessons asked (10 held)"), out);
  assert.ok(lines.some((l) => /^pi-3: recall unknown \(node pi-3 .*HTTP 404/.test(l)), out);
  assert.match(out, /check passed/);
});

test("a node holding no lessons says so (one that never merged the check's own)", async (t) => {
  const fleet = await startFakeFleet({ count: 2, propagateMs: 10, neverMerge: ["pi-2"] });
  t.after(() => fleet.close());
  const out = formatCheck(await runCheck({ nodes: fleet.nodes, mergeTimeoutMs: 300, pollMs: 20 }));
  assert.ok(out.split("\n").includes("pi-2 holds no lessons"), out);
  assert.ok(out.split("\n").includes("pi-1 recalls 1 of 1 lesson asked (1 held)"), out);
});
