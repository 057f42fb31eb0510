// Data sets: JSONL or a JSON array of pairs, checked whole, capped at the round recipe's steps.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../../test/support/paths.js";
import { DATASET_MAX_PAIRS, parseJsonl, parsePairs } from "./dataset.js";

test("the shipped quiz parses: 100-200 distinct pairs, none empty", () => {
  const pairs = parseJsonl(readFileSync(join(repoRoot(), "data", "quiz.jsonl"), "utf8"));
  assert.ok(typeof pairs !== "string", String(pairs));
  assert.ok(pairs.length >= 100 && pairs.length <= 200, String(pairs.length));
  assert.equal(new Set(pairs.map((p) => p.question)).size, pairs.length);
});

test("blank lines are skipped, text is trimmed; a bad line or pair is refused with where and why", () => {
  assert.deepEqual(parseJsonl('{"question": " Q? ", "answer": "A "}\n\n'), [{ question: "Q?", answer: "A" }]);
  assert.match(String(parseJsonl('{"question": "Q?", "answer": "A"}\nnot json', "quiz.jsonl")), /quiz.jsonl line 2 is not JSON/);
  assert.match(String(parsePairs([{ question: "Q?", answer: "" }])), /item 1: answer must be non-empty text/);
  assert.match(String(parsePairs([{ question: "Q?", answer: "A", hint: "x" }])), /unknown field "hint"/);
  assert.match(String(parsePairs([])), /holds no pairs/);
  assert.match(String(parsePairs({})), /must be an array/);
  assert.match(String(parsePairs(Array.from({ length: DATASET_MAX_PAIRS + 1 }, () => ({ question: "q", answer: "a" })))), /limit is 512/);
});
