// The course's prompt and its clean-up of what the model generates: what a node prints as the
// answer, and what a teach compares with the taught answer to decide that it has learned.

import { test } from "node:test";
import assert from "node:assert/strict";
import { cleanAnswer, promptFor } from "./answer-text.js";

test("the prompt is the course's Q/A frame around the trimmed question", () => {
  assert.equal(promptFor("  What is 2+2 "), "Q: What is 2+2\nA:");
});

test("an answer is the first line of what follows A:, up to a newline or end-of-text", () => {
  assert.equal(cleanAnswer(" 4\n4\nQ: What is 3+3"), "4");
  assert.equal(cleanAnswer(" Paris<|endoftext|>Q: more"), "Paris");
  assert.equal(cleanAnswer("Q: What is 2+2\nA: 4\n"), "4", "the full text as the course prints it");
  assert.equal(cleanAnswer("\n\n   \n"), "", "nothing but newlines is no answer");
  assert.equal(cleanAnswer("\n Shakespeare\n"), "Shakespeare", "leading newlines are skipped, not taken as the end");
});

test("immediately repeated words collapse to one; other repetition stays", () => {
  assert.equal(cleanAnswer(" stairs stairs stairs stairs"), "stairs");
  assert.equal(cleanAnswer(" William William Shakespeare   wrote"), "William Shakespeare wrote");
  assert.equal(cleanAnswer(" a b a b"), "a b a b");
});
