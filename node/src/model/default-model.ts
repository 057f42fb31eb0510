// The embedded default model. These machines cannot reach the hub, so the default is a checkpoint
// with exactly sshleifer/tiny-gpt2's config and architecture, initialised the way GPT-2 is
// (transformers' GPT2PreTrainedModel._init_weights) from a fixed seed: every machine that creates
// it gets bitwise the same weights, so a fleet of fresh nodes starts from one digest.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { writeSafetensors } from "../checkpoint/safetensors.js";
import { stateDictFromParams } from "./state-dict.js";
import { CLASSROOM, TINY_GPT2, type Gpt2Config } from "../engine/config.js";
import type { TrainedPart } from "./load.js";
import { paramSpecs, viewParams, type Params } from "../engine/params.js";
import { writeTokenizerFiles, TOKENIZER_FILES } from "../tokenizer/files.js";

/** Changing the seed changes every fresh fleet's weights: bump DEFAULT_MODEL_NAME with it. */
export const DEFAULT_SEED = 20241125;
export const DEFAULT_MODEL_NAME = "tiny-gpt2-seed20241125";
export type PresetName = "tiny-gpt2" | "classroom";

/** A model `fleet-node model init --preset NAME` writes: architecture, seed and what a teach trains. */
export interface Preset {
  name: PresetName;
  /** The manifest's and the weights file's name; bump it with the seed or the config. */
  modelName: string;
  config: Readonly<Gpt2Config>;
  seed: number;
  train: TrainedPart;
}

export const PRESETS: Readonly<Record<PresetName, Preset>> = Object.freeze({
  // The course's architecture, every parameter trained: the only one course nodes can talk to.
  "tiny-gpt2": { name: "tiny-gpt2", modelName: DEFAULT_MODEL_NAME, config: TINY_GPT2, seed: DEFAULT_SEED, train: "all" },
  // Wide enough to hold a class's lessons; embeddings frozen so a teach's delta is the blocks only.
  classroom: { name: "classroom", modelName: `classroom-e${CLASSROOM.n_embd}-l${CLASSROOM.n_layer}-seed${DEFAULT_SEED}`, config: CLASSROOM, seed: DEFAULT_SEED, train: "blocks" },
});

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** GPT2Config.initializer_range. */
const INIT_STD = 0.02;

/** Where a preset's model folder is made on first use (FLEET_MODEL_CACHE, else ~/.cache/deltafleet/models). */
export function defaultModelDir(preset: PresetName = "tiny-gpt2"): string {
  const name = PRESETS[preset].modelName;
  return process.env.FLEET_MODEL_CACHE ? join(process.env.FLEET_MODEL_CACHE, name) : join(homedir(), ".cache", "deltafleet", "models", name);
}

export function isPresetName(s: string): s is PresetName {
  return Object.hasOwn(PRESETS, s);
}

/** xoshiro128** with Box–Muller: N(0, 1) draws, identical on every platform. */
function normalStream(seed: number): () => number {
  let a = seed >>> 0, b = 0x9e3779b9, c = 0x243f6a88, d = 0xb7e15162;
  const next = () => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11);
    return r / 4294967296;
  };
  for (let i = 0; i < 16; i++) next(); // let the weak initial state mix
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u1 = 1 - next(); // (0, 1]: log(u1) is finite
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** GPT-2's initialisation: N(0, 0.02) weights and embeddings, N(0, 0.02/√(2L)) residual projections, zero biases, unit layer norms. */
export function initParams(config: Gpt2Config = TINY_GPT2, seed = DEFAULT_SEED): Params {
  const params = viewParams(config);
  const normal = normalStream(seed);
  for (const spec of paramSpecs(config)) {
    const view = params.flat.subarray(spec.offset, spec.offset + spec.size);
    if (/\.ln_\d\.weight$|ln_f\.weight$/.test(spec.key)) view.fill(1);
    else if (spec.key.endsWith(".bias")) view.fill(0);
    else {
      const std = spec.key.endsWith("c_proj.weight") ? INIT_STD / Math.sqrt(2 * config.n_layer) : INIT_STD;
      for (let i = 0; i < view.length; i++) view[i] = normal() * std;
    }
  }
  return params;
}

export interface Manifest {
  name: string;
  preset: PresetName;
  seed: number;
  files: Record<string, string>; // file → sha256
}

/** Writes config.json, model.safetensors, tokenizer files and manifest.json into `dir`: the embedded tiny-gpt2, or another preset. */
export function initDefaultModel(dir: string, presetName: PresetName = "tiny-gpt2"): Manifest {
  const preset = PRESETS[presetName];
  mkdirSync(dir, { recursive: true });
  const params = initParams({ ...preset.config }, preset.seed);
  // deltafleet_train is ours (load.ts readTrainedPart); Hugging Face ignores unknown keys. tiny-gpt2's stays the course's file.
  const extra = preset.train === "all" ? {} : { deltafleet_train: preset.train };
  writeFileAtomic(join(dir, "config.json"), JSON.stringify({ model_type: "gpt2", architectures: ["GPT2LMHeadModel"], ...preset.config, ...extra }, null, 2) + "\n");
  writeFileAtomic(join(dir, "model.safetensors"), writeSafetensors(stateDictFromParams(params), { name: preset.modelName }));
  writeTokenizerFiles(dir);
  const files: Record<string, string> = {};
  for (const f of ["config.json", "model.safetensors", ...TOKENIZER_FILES]) {
    files[f] = createHash("sha256").update(readFileSync(join(dir, f))).digest("hex");
  }
  const manifest: Manifest = { name: preset.modelName, preset: preset.name, seed: preset.seed, files };
  writeFileAtomic(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

/** A preset's model folder (default: the embedded tiny-gpt2), created on first use (built aside, then renamed into place). */
export function ensureDefaultModel(dir?: string, preset: PresetName = "tiny-gpt2"): string {
  dir ??= defaultModelDir(preset);
  if (existsSync(join(dir, "manifest.json"))) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    initDefaultModel(tmp, preset);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process created it first: theirs is bitwise the same.
      if (!existsSync(join(dir, "manifest.json"))) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}
