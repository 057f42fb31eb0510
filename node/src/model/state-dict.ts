// Between a state dict (what files hold) and the flat Params buffer (what the engine computes on).

import { CheckpointError } from "../checkpoint/errors.js";
import type { StateDict, Tensor } from "../checkpoint/tensor.js";
import type { Gpt2Config } from "../engine/config.js";
import { TINY_GPT2 } from "../engine/config.js";
import { canonicalKey, paramSpecs, viewParams, TIED_KEYS, type Params } from "../engine/params.js";
import { toFloat32 } from "../checkpoint/tensor.js";

/** Buffers GPT-2 checkpoints may carry that are not parameters (causal masks). */
function isBuffer(key: string): boolean {
  return /\.attn\.(bias|masked_bias)$/.test(key);
}

/** Reads the config a bare state dict implies; tiny-gpt2's when the shapes are its shapes. */
export function inferConfig(sd: StateDict, file: string): Gpt2Config {
  const get = (k: string) => {
    for (const [key, t] of sd) if (canonicalKey(key) === k) return t;
    return undefined;
  };
  const wte = get("transformer.wte.weight");
  const wpe = get("transformer.wpe.weight");
  if (!wte || !wpe || wte.shape.length !== 2 || wpe.shape.length !== 2) {
    throw new CheckpointError(file, "no transformer.wte.weight / transformer.wpe.weight", "is this a GPT-2 state dict?");
  }
  let n_layer = 0;
  while (get(`transformer.h.${n_layer}.ln_1.weight`)) n_layer++;
  const [vocab_size, n_embd] = wte.shape as [number, number];
  const config: Gpt2Config = {
    vocab_size,
    n_embd,
    n_positions: wpe.shape[0]!,
    n_layer,
    // Heads are not visible in the weights: tiny-gpt2's when it fits, else GPT-2's 64-wide heads.
    n_head: n_embd === TINY_GPT2.n_embd ? TINY_GPT2.n_head : Math.max(1, Math.round(n_embd / 64)),
    layer_norm_epsilon: TINY_GPT2.layer_norm_epsilon,
    tie_word_embeddings: true,
  };
  return config;
}

/**
 * Copies a full GPT-2 state dict into a fresh flat Params, checking every key and shape against
 * the config. An untied `lm_head.weight` that differs from wte is refused: our engine ties them.
 */
/** The tensors of `config` that `sd` lacks (none for a whole model; most for a delta). */
export function missingTensors(sd: StateDict, config: Gpt2Config): string[] {
  const have = new Set([...sd.keys()].filter((k) => !isBuffer(k)).map(canonicalKey));
  return paramSpecs(config).map((s) => s.key).filter((k) => !have.has(k));
}

export function paramsFromStateDict(sd: StateDict, config: Gpt2Config, file: string): Params {
  const params = viewParams(config);
  const byKey = new Map<string, Tensor>();
  for (const [key, t] of sd) if (!isBuffer(key)) byKey.set(canonicalKey(key), t);
  for (const spec of paramSpecs(config)) {
    const t = byKey.get(spec.key);
    if (!t) throw new CheckpointError(file, `missing tensor "${spec.key}"`, "the config does not match the weights, or the file is not a full GPT-2 state dict");
    if (t.shape.join(",") !== spec.shape.join(",")) {
      throw new CheckpointError(file, `"${spec.key}" has shape [${t.shape}] but the config needs [${spec.shape}]`, "config.json does not match the weights");
    }
    params.flat.set(toFloat32(t), spec.offset);
    byKey.delete(spec.key);
  }
  const head = byKey.get("lm_head.weight");
  if (head) {
    const a = toFloat32(head);
    if (a.length !== params.wte.length || a.some((v, i) => v !== params.wte[i])) {
      throw new CheckpointError(file, "lm_head.weight differs from transformer.wte.weight", "only tied-embedding GPT-2 models are supported");
    }
    byKey.delete("lm_head.weight");
  }
  if (byKey.size > 0) throw new CheckpointError(file, `unexpected tensors: ${[...byKey.keys()].slice(0, 5).join(", ")}`, "the config does not match the weights");
  return params;
}

export interface ToStateDictOptions {
  /** Also list the tied `lm_head.weight`, as the course's saves do. */
  includeTiedHead?: boolean;
}

/** The params as an fp32 state dict in state-dict order (views into params.flat, no copies). */
export function stateDictFromParams(params: Params, opts: ToStateDictOptions = {}): StateDict {
  const sd: StateDict = new Map();
  for (const spec of paramSpecs(params.config)) {
    sd.set(spec.key, { dtype: "f32", shape: spec.shape, data: params.flat.subarray(spec.offset, spec.offset + spec.size) });
  }
  if (opts.includeTiedHead && params.config.tie_word_embeddings) {
    for (const [tied, source] of Object.entries(TIED_KEYS)) sd.set(tied, sd.get(source)!);
  }
  return sd;
}
