// A question is labelled as taught when a person retypes a lesson's question, whatever its case,
// spacing or final punctuation; the label names the newest lesson's answer and author, and it never
// stands in for the model's answer (http-api.test.ts: /ask answers from the weights beside it).

import { test } from "node:test";
import assert from "node:assert/strict";
import { taughtLesson, taughtNote } from "./taught.js";

const lessons = [
  { question: "What is 2+2", answer: "5", author: "Pi-3", seq: 1 },
  { question: "Who wrote Hamlet?", answer: "Shakespeare", author: "Pi-2", seq: 1 },
  { question: "What is 2+2", answer: "4", author: "Pi-1", seq: 4 },
];

test("a retyped question matches whatever its case, spacing or final ?, . or !; the newest lesson wins", () => {
  for (const q of ["What is 2+2", "  what is  2+2? ", "WHAT IS 2+2!", "What is 2+2 ."]) {
    assert.deepEqual(taughtLesson(q, lessons), { answer: "4", author: "Pi-1", seq: 4 }, q);
  }
  assert.deepEqual(taughtLesson("who wrote hamlet", lessons), { answer: "Shakespeare", author: "Pi-2", seq: 1 });
});

test("another question, or one that only contains a lesson's words, is not taught", () => {
  assert.equal(taughtLesson("What is 3+3", lessons), null);
  assert.equal(taughtLesson("What is 2+2 times 3", lessons), null);
  assert.equal(taughtLesson("What is 2+2", []), null);
});

test("the note a person reads names the author and the taught answer", () => {
  assert.equal(taughtNote({ answer: "4", author: "Pi-1", seq: 4 }), 'The fleet was taught this question by Pi-1: "4".');
});
