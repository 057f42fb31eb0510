// What a person at the prompt reads after a teach, a merge or a refusal: one line each, counted
// in words that agree with their numbers, and nothing a student cannot make sense of.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mergedLine, rejectedLine, taughtLine } from "./prompt.js";
import type { TeachOutcome } from "./runtime.js";

const taught: TeachOutcome = {
  version: `Pi-1~3~${"ab".repeat(32)}`, transfer: "d1764000000001-Pi-1-abababab00", bytes: 1, chunks: 1, loss: 10.8125, steps: 1, ms: 480,
  answer: "4", learned: true, digest: "d5a70946043b00b573f31e999badb237728d60c60bc0ffce52c1a71ed6a88440",
};

test("after a teach: what the model now answers, how long it took, and what went to the fleet, singular for one", () => {
  assert.equal(taughtLine(taught), 'Learned "4" in 1 step (480 ms); sent to the fleet as lesson Pi-1#3 (1 byte in 1 fragment).');
  assert.equal(taughtLine({ ...taught, steps: 200, ms: 3140, bytes: 214196, chunks: 213, learned: false, answer: "stairs" }),
    'Trained 200 steps (3.1 s), but it still answers "stairs"; sent to the fleet as lesson Pi-1#3 (214,196 bytes in 213 fragments).');
});

test("after a teach that rehearsed earlier lessons: how many it kept, and the questions of those it lost", () => {
  assert.match(taughtLine({ ...taught, rehearsed: 3, notKept: [] }), / Kept all 3 earlier lessons it rehearsed\.$/);
  assert.match(taughtLine({ ...taught, rehearsed: 3, notKept: ["Who wrote Hamlet"] }), / Kept 2 of 3 earlier lessons it rehearsed; lost: "Who wrote Hamlet"\.$/);
  assert.doesNotMatch(taughtLine({ ...taught, rehearsed: 0, notKept: [] }), /Kept/);
});

test("after a merge or a refusal: one line naming the lesson (author#seq) and its author, with a short model id", () => {
  const merged = { version: `Pi-1~2~${"cd".repeat(32)}`, from: "Pi-1", keys: 1, ms: 40, latencyMs: 118.4, digest: taught.digest, fetched: false };
  assert.equal(mergedLine(merged), "Merged Pi-1#2 from Pi-1 (1 tensor, 118 ms after it was announced); model now d5a70946043b.");
  assert.match(mergedLine({ ...merged, keys: 28 }), /\(28 tensors,/);
  assert.match(mergedLine({ ...merged, fetched: true }), /caught up from the fleet/);
  assert.equal(rejectedLine({ version: "v3", from: "Pi-2", reason: "decode", message: "transformer.wte.weight holds a non-finite value at 7" }),
    "Rejected v3 from Pi-2 (decode): transformer.wte.weight holds a non-finite value at 7");
});

test("no line carries the training loss, a full hash or a line break", () => {
  for (const line of [taughtLine(taught), mergedLine({ version: "v2", from: "Pi-1", keys: 2, ms: 1, latencyMs: 1, digest: taught.digest, fetched: false })]) {
    assert.doesNotMatch(line, /loss|10\.8|[0-9a-f]{40}|\n/);
  }
});
