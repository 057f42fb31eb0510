// ONNX Runtime runs the same GPT-2 as the TypeScript engine: logits within 1e-4, and greedy
// generation token for token identical, with and without the KV cache.

import { test } from "node:test";
import assert from "node:assert/strict";
import { loadModel } from "../../model/load.js";
import { courseFixture } from "../../../../test/support/paths.js";
import { createWorkspace, forward } from "../gpt2.js";
import { viewParams, type Params } from "../params.js";
import { TsDecoder } from "../decoder.js";
import { generate } from "../generate.js";
import { seededRandom } from "../../util/seeded-random.js";
import { OnnxDecoder } from "./session.js";

function randomParams(): Params {
  const p = viewParams({ vocab_size: 1000, n_positions: 64, n_embd: 128, n_layer: 6, n_head: 4, layer_norm_epsilon: 1e-5, tie_word_embeddings: true });
  const rnd = seededRandom(11);
  for (let i = 0; i < p.flat.length; i++) p.flat[i] = (rnd() - 0.5) * 0.2;
  return p;
}

const models: Array<[string, () => Params]> = [
  ["the course's base.pt", () => loadModel(courseFixture("base.pt")).params],
  ["a random 6-layer, 128-wide GPT-2", randomParams],
];
const prompts = [
  [48, 25, 1867, 318, 362, 10, 17, 198, 32, 25],
  [48, 25, 8241, 2630, 4789, 3548, 198, 32, 25],
  [464],
];

for (const [name, make] of models) {
  test(`ONNX and TypeScript logits agree within 1e-4 on ${name}, fed in pieces through the cache`, async () => {
    const params = make();
    const onnx = await OnnxDecoder.create(params);
    const V = params.config.vocab_size;
    for (const raw of prompts) {
      const ids = raw.map((t) => t % V);
      const ref = forward(params, ids, createWorkspace(params, ids.length));
      onnx.reset();
      const cut = Math.ceil(ids.length / 2);
      const got = [...(await onnx.feedAll(ids.slice(0, cut))), ...(await onnx.feedAll(ids.slice(cut)))];
      let max = 0;
      for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(got[i]! - ref[i]!));
      assert.ok(max <= 1e-4, `max |Δlogit| ${max}`);
    }
    await onnx.close();
  });

  test(`greedy generation is token for token the same on ONNX and TypeScript (${name})`, async () => {
    const params = make();
    const onnx = await OnnxDecoder.create(params);
    for (const raw of prompts) {
      const ids = raw.map((t) => t % params.config.vocab_size);
      const a = await generate(onnx, ids, { maxNewTokens: 24, stopIds: [] });
      const b = await generate(new TsDecoder(params), ids, { maxNewTokens: 24, stopIds: [] });
      assert.deepEqual(a, b);
    }
    await onnx.close();
  });
}

test("a merge into the weights is seen by the next ONNX run without rebuilding the session", async () => {
  const params = randomParams();
  const onnx = await OnnxDecoder.create(params);
  const before = Float32Array.from(await onnx.feed([1, 2, 3]));
  for (let i = 0; i < params.wte.length; i++) params.wte[i] = params.wte[i]! + 0.01;
  onnx.reset();
  const after = await onnx.feed([1, 2, 3]);
  const ref = forward(params, [1, 2, 3], createWorkspace(params, 3));
  const V = params.config.vocab_size;
  assert.notDeepEqual([...after.slice(0, 5)], [...before.slice(0, 5)]);
  for (let v = 0; v < V; v++) assert.ok(Math.abs(after[v]! - ref[2 * V + v]!) <= 1e-4);
  await onnx.close();
});
