// GPT-2 byte-level BPE through @huggingface/tokenizers, from local files only.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { CheckpointError } from "../checkpoint/errors.js";
import { EOS_ID } from "./files.js";

export interface Gpt2Tokenizer {
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  readonly eosId: number;
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(file, code === "ENOENT" ? "tokenizer file is missing" : `cannot read (${code})`, "run `fleet-node model init` or copy the tokenizer files into the model folder");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CheckpointError(file, "tokenizer file is not valid JSON", "the file is truncated or corrupt");
  }
}

export function loadTokenizer(dir: string): Gpt2Tokenizer {
  const json = readJson(join(dir, "tokenizer.json"));
  const config = readJson(join(dir, "tokenizer_config.json"));
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (e) {
    throw new CheckpointError(join(dir, "tokenizer.json"), `not a usable tokenizer (${(e as Error).message})`);
  }
  return {
    eosId: EOS_ID,
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    // The library refuses an empty list; nothing decodes to nothing.
    decode: (ids) => (ids.length === 0 ? "" : tok.decode(Array.from(ids), { skip_special_tokens: false })),
  };
}
