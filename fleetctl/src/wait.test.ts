import { test } from "node:test";
import assert from "node:assert/strict";
import { waitUntil } from "./wait.js";

test("the wait ends when the probe first says true, however often it had to ask", async () => {
  let calls = 0;
  const r = await waitUntil(() => ++calls === 3, { deadline: Date.now() + 60_000, everyMs: 1 });
  assert.equal(r.done, true);
  assert.equal(calls, 3);
});

test("a probe that throws means 'not yet', not a failure", async () => {
  let calls = 0;
  const r = await waitUntil(async () => {
    if (++calls < 3) throw new Error("ECONNREFUSED");
    return true;
  }, { deadline: Date.now() + 60_000, everyMs: 1 });
  assert.equal(r.done, true);
});

test("a reason to abandon stops the wait long before its deadline, and is reported", async () => {
  let calls = 0;
  const r = await waitUntil(() => false, { deadline: Date.now() + 3_600_000, everyMs: 1, abandon: () => (++calls === 2 ? "exited 1" : undefined) });
  assert.deepEqual(r, { done: false, abandoned: "exited 1" });
});

test("past the deadline the probe is asked once more, then the wait gives up without a reason", async () => {
  let calls = 0;
  const r = await waitUntil(() => (calls++, false), { deadline: Date.now() - 1, everyMs: 1 });
  assert.deepEqual(r, { done: false, abandoned: undefined });
  assert.equal(calls, 1);
});
