// Generation options behave as Hugging Face's logits processors do.

import { test } from "node:test";
import assert from "node:assert/strict";
import { applyRepetitionPenalty, argmax, banRepeatedNgrams, generate, sample } from "./generate.js";
import { seededRandom } from "../util/seeded-random.js";
import type { LogitsStepper } from "./decoder.js";

test("repetition_penalty divides positive and multiplies negative logits of seen tokens only", () => {
  const l = Float32Array.of(2, -2, 2, -2);
  applyRepetitionPenalty(l, [0, 1, 1], 2);
  assert.deepEqual([...l], [1, -4, 2, -2]);
});

test("no_repeat_ngram_size bans the token that would repeat an n-gram of the context", () => {
  const l = new Float32Array(10);
  banRepeatedNgrams(l, [1, 2, 3, 1, 2], 3); // "1 2 3" seen; context ends "1 2" → 3 banned
  assert.equal(l[3], -Infinity);
  assert.equal([...l].filter((x) => x === -Infinity).length, 1);
  const m = new Float32Array(10);
  banRepeatedNgrams(m, [1, 2], 3); // too short to hold any 3-gram
  assert.ok(m.every((x) => x === 0));
});

test("top_p keeps the smallest set of tokens whose mass reaches it", () => {
  const probs = [0.5, 0.3, 0.15, 0.05];
  const logits = Float32Array.from(probs.map(Math.log));
  const seen = new Set<number>();
  const rnd = seededRandom(1);
  for (let i = 0; i < 2000; i++) seen.add(sample(logits, 1, 0.8, rnd));
  assert.deepEqual([...seen].sort(), [0, 1]);
});

test("low temperature samples the argmax; the same seed gives the same draws", () => {
  const logits = Float32Array.of(0.1, 3, 0.2);
  assert.equal(sample(logits, 1e-3, 1, seededRandom(5)), argmax(logits));
  const draws = (seed: number) => {
    const r = seededRandom(seed);
    return Array.from({ length: 20 }, () => sample(Float32Array.of(1, 1, 1, 1), 1, 1, r));
  };
  assert.deepEqual(draws(9), draws(9));
  assert.notDeepEqual(draws(9), draws(10));
});

test("generation stops after a stop token and returns only new tokens", async () => {
  // A stepper whose next token is always (last token + 1).
  let last = 0;
  const stepper: LogitsStepper = {
    length: 0,
    reset() {},
    async feed(tokens) {
      last = tokens[tokens.length - 1]!;
      const l = new Float32Array(20);
      l[(last + 1) % 20] = 1;
      return l;
    },
  };
  assert.deepEqual(await generate(stepper, [3], { maxNewTokens: 10, stopIds: [6] }), [4, 5, 6]);
  assert.deepEqual(await generate(stepper, [3], { maxNewTokens: 2, stopIds: [] }), [4, 5]);
});
