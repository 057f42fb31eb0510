// Backward is the derivative of forward: central finite differences on a small random GPT-2,
// for a few entries of every parameter tensor (the whole softmax, and a working vocabulary's).

import { test } from "node:test";
import assert from "node:assert/strict";
import { backward, createWorkspace, forward, loss, nextTokenTargets } from "./gpt2.js";
import { paramSpecs, viewParams } from "./params.js";
import type { Gpt2Config } from "./config.js";
import { seededRandom } from "../util/seeded-random.js";
import { WorkingVocabulary } from "./working-vocabulary.js";

/** grads[j] against the central difference of lossAt in flat[j]. */
function assertDerivative(flat: Float32Array, grads: Float32Array, j: number, lossAt: () => number, name: string): void {
  const h = 1e-3;
  const keep = flat[j]!;
  flat[j] = keep + h;
  const up = lossAt();
  flat[j] = keep - h;
  const down = lossAt();
  flat[j] = keep;
  const numeric = (up - down) / (2 * h);
  // float32 weights: the difference quotient is good to ~1e-3 absolute at this step size.
  assert.ok(Math.abs(numeric - grads[j]!) <= 2e-3 + 2e-2 * Math.abs(numeric), `${name}: analytic ${grads[j]}, numeric ${numeric}`);
}

const config: Gpt2Config = { vocab_size: 23, n_positions: 16, n_embd: 8, n_layer: 2, n_head: 2, layer_norm_epsilon: 1e-5, tie_word_embeddings: true };
const tokens = [3, 17, 5, 5, 22, 0, 9, 14];

test("analytic gradients match central differences for every parameter tensor", () => {
  const rnd = seededRandom(7);
  const params = viewParams(config);
  for (let i = 0; i < params.flat.length; i++) params.flat[i] = (rnd() - 0.5) * 0.6;
  for (const b of params.blocks) b.ln1_w.forEach((_, i) => (b.ln1_w[i] = 1 + (rnd() - 0.5) * 0.2));
  const ws = createWorkspace(params, tokens.length);
  const { targets, weights } = nextTokenTargets(tokens, 2); // a masked loss, like the answer-only recipe
  const lossAt = () => {
    forward(params, tokens, ws);
    return loss(params, ws, targets, weights);
  };
  lossAt();
  const grads = viewParams(config);
  backward(params, grads, tokens, ws);
  for (const spec of paramSpecs(config)) {
    for (const i of [0, Math.floor(spec.size / 2), spec.size - 1]) assertDerivative(params.flat, grads.flat, spec.offset + i, lossAt, `${spec.key}[${i}]`);
  }
});

test("with the embedding frozen and a working vocabulary, backward is the derivative of the softmax over those tokens", () => {
  const rnd = seededRandom(11);
  const params = viewParams(config);
  for (let i = 0; i < params.flat.length; i++) params.flat[i] = (rnd() - 0.5) * 0.6;
  const ws = createWorkspace(params, tokens.length);
  const { targets, weights } = nextTokenTargets(tokens, 2);
  const vocab = new WorkingVocabulary(config.vocab_size);
  for (const t of [...targets.filter((_, i) => weights[i])]) vocab.add(t);
  for (const t of [1, 2, 20]) vocab.add(t);
  const rows = [...weights.keys()].filter((t) => weights[t]);
  const lossAt = () => {
    forward(params, tokens, ws, rows, vocab);
    return loss(params, ws, targets, weights, vocab);
  };
  lossAt();
  const grads = viewParams(config);
  backward(params, grads, tokens, ws, rows, { frozenEmbeddings: true, vocab });
  for (const spec of paramSpecs(config)) {
    const embedding = spec.key === "transformer.wte.weight" || spec.key === "transformer.wpe.weight";
    for (const i of [0, Math.floor(spec.size / 2), spec.size - 1]) {
      const j = spec.offset + i;
      if (embedding) {
        assert.equal(grads.flat[j], 0, `${spec.key} is frozen`);
        continue;
      }
      assertDerivative(params.flat, grads.flat, j, lossAt, `${spec.key}[${i}]`);
    }
  }
  assert.throws(() => backward(params, grads, tokens, ws, rows, { vocab }), /needs frozen embeddings/);
});
