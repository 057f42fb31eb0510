// What the page says, from the modules the browser runs (node/src/node/page/, copied into dist by the
// build): a peer's log against ours, and whether a question is one the fleet was taught. These are
// the words a student reads, so they are pinned here, without a browser.

import { test } from "node:test";
import assert from "node:assert/strict";
import { taughtNote as nodeTaughtNote, type TaughtLabel } from "./taught.js";

type LogSaid = { entries: number | null; set: string | null } | undefined;
type State = { text: string; cls: string; converged?: boolean };
const fleet = await import(new URL("./page/fleet.js", import.meta.url).href) as { logState(ours: { entries: number; set: string }, peer: LogSaid): State };
const ask = await import(new URL("./page/ask.js", import.meta.url).href) as { taughtNote(taught: TaughtLabel | null): string };

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

test("under an answer the page says what /ask's label says: who taught the question, or that nobody did", () => {
  const label = { answer: "4", author: "Pi-1", seq: 2 };
  assert.equal(ask.taughtNote(label), nodeTaughtNote(label));
  assert.equal(ask.taughtNote(label), 'The fleet was taught this question by Pi-1: "4".');
  assert.equal(ask.taughtNote(null), "The fleet has not been taught this question.");
});
