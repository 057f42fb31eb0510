// Opening what a user points at: a weights file (.pt/.bin torch zip, .safetensors) or a Hugging
// Face style model folder (config.json + model.safetensors or pytorch_model.bin).

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError } from "../checkpoint/errors.js";
import { loadStateDict, readWholeFile } from "../checkpoint/read.js";
import { inferConfig, paramsFromStateDict } from "./state-dict.js";
import type { Gpt2Config } from "../engine/config.js";
import { TINY_GPT2 } from "../engine/config.js";
import type { Params } from "../engine/params.js";

export function readConfig(file: string): Gpt2Config {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(Buffer.from(readWholeFile(file)).toString("utf8"));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(file, "is not valid JSON");
  }
  const num = (k: keyof Gpt2Config, fallback: number) => {
    const v = raw[k] ?? fallback;
    if (typeof v !== "number" || !(v > 0)) throw new CheckpointError(file, `${k} must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const config: Gpt2Config = {
    // GPT-2's own defaults (transformers' GPT2Config) for whatever the file leaves out.
    vocab_size: num("vocab_size", 50257),
    n_positions: num("n_positions", 1024),
    n_embd: num("n_embd", 768),
    n_layer: num("n_layer", 12),
    n_head: num("n_head", 12),
    layer_norm_epsilon: num("layer_norm_epsilon", 1e-5),
    tie_word_embeddings: raw.tie_word_embeddings === undefined ? true : Boolean(raw.tie_word_embeddings),
  };
  if (config.n_embd % config.n_head !== 0) throw new CheckpointError(file, `n_embd ${config.n_embd} is not divisible by n_head ${config.n_head}`);
  if (!config.tie_word_embeddings) throw new CheckpointError(file, "tie_word_embeddings is false", "only tied-embedding GPT-2 models are supported");
  return config;
}

export interface LoadedModel {
  config: Gpt2Config;
  params: Params;
  /** The file the weights came from. */
  weightsFile: string;
  /** The model folder (tokenizer files may sit here), or undefined for a bare weights file. */
  dir?: string;
  /** What a teach trains (config.json `deltafleet_train`): "all" (the default, the course's) or "blocks" (embeddings frozen). */
  train: TrainedPart;
}

export type TrainedPart = "all" | "blocks";

/** config.json's `deltafleet_train`, a DeltaFleet key Hugging Face ignores. */
export function readTrainedPart(file: string): TrainedPart {
  const raw = JSON.parse(Buffer.from(readWholeFile(file)).toString("utf8")) as Record<string, unknown>;
  const v = raw.deltafleet_train ?? "all";
  if (v !== "all" && v !== "blocks") throw new CheckpointError(file, `deltafleet_train must be "all" or "blocks", got ${JSON.stringify(v)}`);
  return v;
}

export function loadModel(path: string): LoadedModel {
  if (!existsSync(path)) throw new CheckpointError(path, "no such file or folder");
  if (statSync(path).isDirectory()) {
    const config = readConfig(join(path, "config.json"));
    const candidates = ["model.safetensors", "pytorch_model.bin"].map((f) => join(path, f));
    const weightsFile = candidates.find((f) => existsSync(f));
    if (!weightsFile) throw new CheckpointError(path, "has neither model.safetensors nor pytorch_model.bin");
    const train = readTrainedPart(join(path, "config.json"));
    return { config, params: paramsFromStateDict(loadStateDict(weightsFile), config, weightsFile), weightsFile, dir: path, train };
  }
  const sd = loadStateDict(path);
  const config = inferConfig(sd, path);
  const sameAsTiny = (Object.keys(TINY_GPT2) as Array<keyof Gpt2Config>).every((k) => config[k] === TINY_GPT2[k]);
  return { config: sameAsTiny ? { ...TINY_GPT2 } : config, params: paramsFromStateDict(sd, config, path), weightsFile: path, train: "all" };
}
