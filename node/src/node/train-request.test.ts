// POST /train's body: the data set by shipped name, by path or inline; anything else refused with what to send.

import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { parseTrainRequest } from "./train-request.js";

const scratch = tempDirs("fleet-train-req-");

test("a shipped name (data/quiz.jsonl), a path and inline data all give the pairs; defaults mode fedavg, overlap 0", () => {
  const byName = parseTrainRequest({ dataset: "quiz", rounds: 3, stragglerTimeoutS: 10 });
  assert.ok(byName.pairs.length >= 100);
  assert.equal(byName.mode, "fedavg");
  assert.equal(byName.overlap, 0);
  const file = join(scratch(), "mine.jsonl");
  writeFileSync(file, '{"question": "2+2?", "answer": "4"}\n');
  assert.deepEqual(parseTrainRequest({ dataset: file, rounds: 1, stragglerTimeoutS: 1, mode: "gossip", overlap: 0.25 }),
    { pairs: [{ question: "2+2?", answer: "4" }], rounds: 1, mode: "gossip", stragglerTimeoutS: 1, overlap: 0.25 });
  assert.deepEqual(parseTrainRequest({ data: [{ question: "q?", answer: "a" }], rounds: 2, stragglerTimeoutS: 0.5 }).pairs, [{ question: "q?", answer: "a" }]);
});

test("bad bodies are refused with the field and what it must be", () => {
  const ok = { dataset: "quiz", rounds: 3, stragglerTimeoutS: 10 };
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ rounds: 3, stragglerTimeoutS: 10 }, /one of the two/],
    [{ ...ok, dataset: "nosuchset" }, /no file .*nosuchset.jsonl/],
    [{ ...ok, dataset: "/nonexistent/x.jsonl" }, /no file \/nonexistent\/x.jsonl/],
    [{ ...ok, rounds: 1.5 }, /"rounds" must be an integer/],
    [{ ...ok, rounds: 101 }, /from 1 to 100/],
    [{ ...ok, mode: "ps" }, /"mode" must be "fedavg" or "gossip"/],
    [{ ...ok, stragglerTimeoutS: 0 }, /"stragglerTimeoutS" must be/],
    [{ ...ok, overlap: 2 }, /"overlap" must be a number from 0 to 1/],
    [{ ...ok, epochs: 2 }, /unknown field "epochs"/],
  ];
  for (const [body, re] of cases) assert.throws(() => parseTrainRequest(body), re, JSON.stringify(body));
});
