import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDefaultModel, initParams } from "./default-model.js";
import { loadModel } from "./load.js";
import { TINY_GPT2 } from "../engine/config.js";
import { CheckpointError } from "../checkpoint/errors.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("models-");

const digest = (f: Float32Array) => createHash("sha256").update(new Uint8Array(f.buffer)).digest("hex");

test("the embedded default is tiny-gpt2's architecture, initialised like GPT-2, the same on every machine", () => {
  const a = initParams();
  assert.equal(digest(a.flat), digest(initParams().flat));
  // Pinned: a change here changes every fresh fleet's weights (see DEFAULT_SEED).
  assert.equal(digest(a.flat).slice(0, 16), "bed7c3f35e483bab");
  let s = 0, s2 = 0;
  for (const v of a.wte) (s += v), (s2 += v * v);
  const std = Math.sqrt(s2 / a.wte.length - (s / a.wte.length) ** 2);
  assert.ok(Math.abs(std - 0.02) < 0.0005, `wte std ${std}`);
  assert.deepEqual([...a.blocks[0]!.ln1_w, ...a.blocks[1]!.attn_b], [1, 1, 0, 0, 0, 0, 0, 0]);
});

test("the default model folder is created once, complete, and loads with its config", () => {
  const cache = scratch();
  const dir = ensureDefaultModel(join(cache, "tiny"));
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt", "manifest.json"]) assert.ok(existsSync(join(dir, f)), f);
  const m = loadModel(dir);
  assert.deepEqual(m.config, TINY_GPT2);
  assert.equal(digest(m.params.flat), digest(initParams().flat));
  assert.equal(ensureDefaultModel(dir), dir);
});

test("a config that does not match the weights is refused naming the tensor and both shapes", () => {
  const dir = ensureDefaultModel(join(scratch(), "tiny"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, "config.json"), "utf8")), n_embd: 4, n_head: 2 }));
  assert.throws(() => loadModel(dir), (e) => e instanceof CheckpointError && /transformer.wte.weight" has shape \[50257,2\] but the config needs \[50257,4\]/.test(e.message));
});
