// All GPT-2 parameters live in one flat Float32Array; every tensor is a named subarray view.
// Gradients, optimizer moments and model deltas use the same layout, so "add a delta" or "take an
// Adam step" is one loop over one buffer.
//
// Shape legend: V vocab, P positions, C n_embd, L layers. Linear weights are HF Conv1D layout
// [in, out], exactly as the state dict stores them, so loading and saving never transposes.

import type { Gpt2Config } from "./config.js";

export interface BlockParams {
  ln1_w: Float32Array; // (C)
  ln1_b: Float32Array; // (C)
  attn_w: Float32Array; // (C, 3C)
  attn_b: Float32Array; // (3C)
  attnproj_w: Float32Array; // (C, C)
  attnproj_b: Float32Array; // (C)
  ln2_w: Float32Array; // (C)
  ln2_b: Float32Array; // (C)
  fc_w: Float32Array; // (C, 4C)
  fc_b: Float32Array; // (4C)
  fcproj_w: Float32Array; // (4C, C)
  fcproj_b: Float32Array; // (C)
}

export interface Params {
  config: Gpt2Config;
  /** The one buffer every view below points into. */
  flat: Float32Array;
  wte: Float32Array; // (V, C) also the tied LM head
  wpe: Float32Array; // (P, C)
  blocks: BlockParams[]; // L of them
  lnf_w: Float32Array; // (C)
  lnf_b: Float32Array; // (C)
}

export interface ParamSpec {
  /** The state-dict key, e.g. "transformer.h.0.attn.c_attn.weight". */
  key: string;
  shape: number[];
  offset: number;
  size: number;
}

const BLOCK_FIELDS: ReadonlyArray<[keyof BlockParams, string, (C: number) => number[]]> = [
  ["ln1_w", "ln_1.weight", (C) => [C]],
  ["ln1_b", "ln_1.bias", (C) => [C]],
  ["attn_w", "attn.c_attn.weight", (C) => [C, 3 * C]],
  ["attn_b", "attn.c_attn.bias", (C) => [3 * C]],
  ["attnproj_w", "attn.c_proj.weight", (C) => [C, C]],
  ["attnproj_b", "attn.c_proj.bias", (C) => [C]],
  ["ln2_w", "ln_2.weight", (C) => [C]],
  ["ln2_b", "ln_2.bias", (C) => [C]],
  ["fc_w", "mlp.c_fc.weight", (C) => [C, 4 * C]],
  ["fc_b", "mlp.c_fc.bias", (C) => [4 * C]],
  ["fcproj_w", "mlp.c_proj.weight", (C) => [4 * C, C]],
  ["fcproj_b", "mlp.c_proj.bias", (C) => [C]],
];

/**
 * The parameter tensors in state-dict order with their place in the flat buffer. The tied
 * `lm_head.weight` is not listed: it is `transformer.wte.weight` (see TIED_KEYS).
 */
export function paramSpecs(config: Gpt2Config): ParamSpec[] {
  const C = config.n_embd;
  const shapes: Array<[string, number[]]> = [
    ["transformer.wte.weight", [config.vocab_size, C]],
    ["transformer.wpe.weight", [config.n_positions, C]],
  ];
  for (let l = 0; l < config.n_layer; l++) {
    for (const [, suffix, shape] of BLOCK_FIELDS) shapes.push([`transformer.h.${l}.${suffix}`, shape(C)]);
  }
  shapes.push(["transformer.ln_f.weight", [C]], ["transformer.ln_f.bias", [C]]);
  let offset = 0;
  return shapes.map(([key, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const spec = { key, shape, offset, size };
    offset += size;
    return spec;
  });
}

/** Keys that name the same tensor as another key when embeddings are tied. */
export const TIED_KEYS: Readonly<Record<string, string>> = Object.freeze({
  "lm_head.weight": "transformer.wte.weight",
});

export function paramCount(config: Gpt2Config): number {
  const specs = paramSpecs(config);
  const last = specs[specs.length - 1]!;
  return last.offset + last.size;
}

/** Views over `flat` (a fresh zeroed buffer when omitted) in the layout of `config`. */
export function viewParams(config: Gpt2Config, flat: Float32Array = new Float32Array(paramCount(config))): Params {
  const n = paramCount(config);
  if (flat.length !== n) {
    throw new Error(`parameter buffer holds ${flat.length} floats but this GPT-2 config needs ${n}`);
  }
  const view = new Map(paramSpecs(config).map((s) => [s.key, flat.subarray(s.offset, s.offset + s.size)]));
  const get = (key: string): Float32Array => view.get(key)!;
  const blocks: BlockParams[] = [];
  for (let l = 0; l < config.n_layer; l++) {
    const block = {} as BlockParams;
    for (const [field, suffix] of BLOCK_FIELDS) block[field] = get(`transformer.h.${l}.${suffix}`);
    blocks.push(block);
  }
  return {
    config,
    flat,
    wte: get("transformer.wte.weight"),
    wpe: get("transformer.wpe.weight"),
    blocks,
    lnf_w: get("transformer.ln_f.weight"),
    lnf_b: get("transformer.ln_f.bias"),
  };
}

/** GPT2Model checkpoints name keys without the `transformer.` prefix; both are accepted. */
export function canonicalKey(key: string): string {
  if (key.startsWith("transformer.") || key === "lm_head.weight") return key;
  if (/^(wte|wpe|ln_f|h\.\d+)\./.test(key)) return `transformer.${key}`;
  return key;
}
