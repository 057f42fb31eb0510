// What the page says, from the modules the browser runs (node/src/node/page/, copied into dist by the
// build): a peer's log against ours, and whether a question is one the fleet was taught. These are
// the words a student reads, so they are pinned here, without a browser.

import { test } from "node:test";
import assert from "node:assert/strict";

type LogSaid = { entries: number | null; set: string | null } | undefined;
type State = { text: string; cls: string; converged?: boolean };
const fleet = await import(new URL("./page/fleet.js", import.meta.url).href) as { logState(ours: { entries: number; set: string }, peer: LogSaid): State };
const ask = await import(new URL("./page/ask.js", import.meta.url).href) as { taughtNote(q: string, lessons: Array<{ question: string; answer: string; author: string }>): string };

const ours = { entries: 3, set: "ab".repeat(32) };

test("a peer is converged only with our count and our set; else behind or ahead by n, or on another set", () => {
  assert.deepEqual(fleet.logState(ours, { entries: 3, set: "ab".repeat(8) }), { text: "converged (3 entries)", cls: "state-ok", converged: true });
  assert.equal(fleet.logState(ours, { entries: 2, set: "cd".repeat(8) }).text, "behind by 1 entry");
  assert.equal(fleet.logState(ours, { entries: 5, set: "cd".repeat(8) }).text, "ahead by 2 entries");
  assert.equal(fleet.logState(ours, { entries: 3, set: "cd".repeat(8) }).text, "differs (3 entries, another set)");
  assert.equal(fleet.logState(ours, { entries: null, set: null }).text, "not said yet");
  assert.equal(fleet.logState(ours, undefined).text, "not said yet");
  assert.equal(fleet.logState({ entries: 1, set: "ab".repeat(32) }, { entries: 1, set: "ab".repeat(8) }).text, "converged (1 entry)");
});

test("a question the fleet was taught is recognised whatever its case, spacing or final question mark; the newest lesson wins", () => {
  const lessons = [
    { question: "What is 2+2", answer: "5", author: "Pi-3" },
    { question: "What is 2+2", answer: "4", author: "Pi-1" },
  ];
  assert.equal(ask.taughtNote("  what is  2+2? ", lessons), 'The fleet was taught this question by Pi-1: "4".');
  assert.equal(ask.taughtNote("What is 3+3", lessons), "The fleet has not been taught this question.");
  assert.equal(ask.taughtNote("What is 2+2", []), "The fleet has not been taught this question.");
});
