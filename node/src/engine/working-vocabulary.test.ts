// A teach with a frozen head trains on a softmax over a working vocabulary (teach.ts): the tokens
// it scores are the whole head's columns, and a vocabulary of every token is the whole softmax.

import { test } from "node:test";
import assert from "node:assert/strict";
import { backward, createWorkspace, forward, loss, nextTokenTargets } from "./gpt2.js";
import { viewParams } from "./params.js";
import type { Gpt2Config } from "./config.js";
import { seededRandom } from "../util/seeded-random.js";
import { topTokens, WorkingVocabulary } from "./working-vocabulary.js";

const config: Gpt2Config = { vocab_size: 37, n_positions: 16, n_embd: 12, n_layer: 1, n_head: 2, layer_norm_epsilon: 1e-5, tie_word_embeddings: true };
const tokens = [3, 17, 5, 5, 22, 0, 9, 14, 30];

function randomParams(seed: number) {
  const rnd = seededRandom(seed);
  const params = viewParams(config);
  for (let i = 0; i < params.flat.length; i++) params.flat[i] = (rnd() - 0.5) * 0.6;
  return params;
}

test("the working vocabulary's logits are the whole head's, column for column", () => {
  const params = randomParams(3);
  const V = config.vocab_size;
  const full = createWorkspace(params, tokens.length);
  const part = createWorkspace(params, tokens.length);
  const vocab = new WorkingVocabulary(V);
  for (const t of [30, 2, 17, 36, 0]) vocab.add(t);
  const rows = [4, 5, 7];
  forward(params, tokens, full, rows);
  forward(params, tokens, part, rows, vocab);
  for (const t of rows) vocab.ids.forEach((v, k) => assert.equal(part.logits[t * vocab.size + k], full.logits[t * V + v], `row ${t}, token ${v}`));
});

test("a working vocabulary of every token, in order, is the whole softmax: same loss and gradients, bit for bit", () => {
  const params = randomParams(5);
  const { targets, weights } = nextTokenTargets(tokens, 3);
  const rows = [...weights.keys()].filter((t) => weights[t]);
  const every = new WorkingVocabulary(config.vocab_size);
  for (let v = 0; v < config.vocab_size; v++) every.add(v);
  const run = (vocab?: WorkingVocabulary) => {
    const ws = createWorkspace(params, tokens.length);
    forward(params, tokens, ws, rows, vocab);
    const l = loss(params, ws, targets, weights, vocab);
    const grads = viewParams(config);
    backward(params, grads, tokens, ws, rows, { frozenEmbeddings: true, vocab });
    return { l, grads: grads.flat };
  };
  const whole = run();
  const working = run(every);
  assert.equal(working.l, whole.l);
  assert.deepEqual(working.grads, whole.grads);
});

test("a working vocabulary's softmax leaves the other tokens out: its loss is below the whole one's", () => {
  const params = randomParams(9);
  const { targets, weights } = nextTokenTargets(tokens, 3);
  const rows = [...weights.keys()].filter((t) => weights[t]);
  const vocab = new WorkingVocabulary(config.vocab_size);
  for (const t of rows) vocab.add(targets[t]!);
  const ws = createWorkspace(params, tokens.length);
  forward(params, tokens, ws, rows);
  const whole = loss(params, ws, targets, weights);
  forward(params, tokens, ws, rows, vocab);
  assert.ok(loss(params, ws, targets, weights, vocab) < whole);
});

test("every trained target must be in the working vocabulary; tokens are added once, in order", () => {
  const vocab = new WorkingVocabulary(10);
  assert.equal(vocab.add(7), true);
  assert.equal(vocab.add(7), false);
  assert.equal(vocab.add(2), true);
  assert.deepEqual(vocab.ids, [7, 2]);
  assert.equal(vocab.indexOf(2), 1);
  assert.equal(vocab.indexOf(3), -1);
  assert.deepEqual([...vocab.mapTargets([2, 3, 7], [1, 0, 1])], [1, 0, 0]);
  assert.throws(() => vocab.mapTargets([3], [1]), /target token 3 at 0 is not in it/);
  assert.throws(() => vocab.add(10), /outside the vocabulary of 10/);
});

test("topTokens gives the highest-scoring tokens, highest first", () => {
  const rnd = seededRandom(1);
  const row = Float32Array.from({ length: 500 }, () => rnd());
  const sorted = [...row.keys()].sort((a, b) => row[b]! - row[a]!);
  assert.deepEqual(topTokens(row, 16), sorted.slice(0, 16));
  assert.deepEqual(topTokens(Float32Array.of(1, 3, 2), 5), [1, 2, 0]);
});
