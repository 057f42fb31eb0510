// The applied log answers "already applied?" from the same entries it lists and saves.

import { test } from "node:test";
import assert from "node:assert/strict";
import { APPLIED_KEPT, AppliedLog } from "./applied-log.js";

const entry = (n: number) => ({ version: `v${n}`, from: "Pi-1", at: n });

test("a version is listed once; adding it again changes nothing", () => {
  const log = new AppliedLog([entry(1)]);
  assert.equal(log.add({ ...entry(1), from: "Pi-9" }), false);
  assert.equal(log.add(entry(2)), true);
  assert.deepEqual(log.entries(), [entry(1), entry(2)]);
  assert.ok(log.has("v2") && !log.has("v3"));
});

test("beyond APPLIED_KEPT the oldest versions leave the list and the answer together", () => {
  const log = new AppliedLog();
  for (let n = 0; n < APPLIED_KEPT + 2; n++) log.add(entry(n));
  assert.equal(log.size, APPLIED_KEPT);
  assert.equal(log.entries()[0]!.version, "v2");
  assert.equal(log.has("v1"), false);
  assert.equal(log.has("v2"), true);
});
