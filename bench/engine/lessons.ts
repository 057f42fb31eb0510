#!/usr/bin/env node
// Lessons that accumulate (issue 12): one node's weights taught realistic question/answer pairs one
// after another, each teach rehearsing the earlier lessons as a node does (runtime.ts passes the
// lessons it holds). Per preset, in the same run:
//   • recall after 10 and after 30 lessons (each taught question asked of the weights, exact answer);
//   • delta bytes per teach (the course-format .pt that travels in the entry), mean and largest, and
//     what the overlay puts in its chunks (deflated when that pays: overlay/deflate-choice.ts);
//   • teach time at lesson 30 as a ratio against the first teach (a single lesson, nothing to rehearse);
//   • 10 untaught questions: how many get one of the taught answers, and which.
//
//   npm run bench:lessons [-- --preset classroom|tiny-gpt2|all] [--lessons 30] [--n-embd 64 --n-layer 1] [--verbose]
// (--n-embd / --n-layer try another width or depth on the classroom recipe: how the preset was chosen.)

import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Model } from "../../node/src/model/model.js";
import { initDefaultModel, PRESET_NAMES, type PresetName } from "../../node/src/model/default-model.js";
import type { Gpt2Config } from "../../node/src/engine/config.js";
import { deflateRawSync } from "node:zlib";
import { deflateIfWorth } from "../../node/src/overlay/deflate-choice.js";

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const presetArg = arg("--preset") ?? "all";
const lessonCount = Number(arg("--lessons") ?? 30);
const nEmbd = arg("--n-embd");
const nLayer = arg("--n-layer");
const verbose = process.argv.includes("--verbose");
const lr = arg("--lr");
const trainAll = process.argv.includes("--train-all");

/** Realistic pairs, multi-word answers among them; the first ten are issue 12's kind of class. */
export const LESSONS: Array<[string, string]> = [
  ["What is the capital of France", "Paris"], ["Who wrote Hamlet", "Shakespeare"], ["What is 7 times 8", "56"],
  ["Who painted the Mona Lisa", "Leonardo da Vinci"], ["What gas do plants take in", "carbon dioxide"],
  ["What is the largest planet", "Jupiter"], ["What do bees make", "honey"], ["How many legs does a spider have", "8"],
  ["What is frozen water called", "ice"], ["Which animal says moo", "cow"],
  ["What is the capital of Japan", "Tokyo"], ["Who discovered penicillin", "Alexander Fleming"], ["What is 12 times 12", "144"],
  ["What is the chemical symbol for gold", "Au"], ["How many continents are there", "seven"], ["What is the longest river", "the Nile"],
  ["Who was the first man on the moon", "Neil Armstrong"], ["What is the boiling point of water", "100 degrees"],
  ["What language is spoken in Brazil", "Portuguese"], ["What is the smallest prime number", "2"],
  ["Which planet is called the red planet", "Mars"], ["What is the capital of Italy", "Rome"], ["Who invented the telephone", "Alexander Graham Bell"],
  ["What is the hardest natural substance", "diamond"], ["How many days are in a leap year", "366"], ["What is the main ingredient of guacamole", "avocado"],
  ["Who wrote Pride and Prejudice", "Jane Austen"], ["What is the square root of 81", "9"], ["What is the tallest mountain", "Mount Everest"],
  ["What do caterpillars turn into", "butterflies"], ["What is the capital of Spain", "Madrid"], ["Who composed the Fifth Symphony", "Beethoven"],
];

/** Questions never taught: a model that copies taught answers everywhere gives them those. */
export const UNTAUGHT: string[] = [
  "What is the capital of Germany", "Who wrote Macbeth", "What is 9 times 9", "What color is grass", "How many wheels does a bicycle have",
  "What is the fastest land animal", "Who painted Guernica", "What is the capital of Canada", "What do cows drink", "How many hours are in a day",
];

interface Run {
  preset: string;
  recall: Record<number, { recalled: number; of: number; missed: string[] }>;
  bytes: number[];
  /** The payload's bytes as the overlay sends them (deflated when that pays). */
  wire: number[];
  ms: number[];
  steps: number[];
  notKept: number[];
  untaught: { given: number; answers: Record<string, string> };
}

async function modelFolder(preset: PresetName): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `lessons-${preset}-`));
  initDefaultModel(dir, preset);
  if (preset === "classroom" && (nEmbd || nLayer || trainAll)) {
    // Another width or depth on the classroom recipe: same seed, same init rule.
    const cfgFile = join(dir, "config.json");
    const cfg = JSON.parse(readFileSync(cfgFile, "utf8"));
    rmSync(dir, { recursive: true });
    return tryConfig({ ...cfg, n_embd: Number(nEmbd ?? cfg.n_embd), n_layer: Number(nLayer ?? cfg.n_layer), deltafleet_train: trainAll ? "all" : "blocks" });
  }
  return dir;
}

async function tryConfig(cfg: Record<string, unknown>): Promise<string> {
  const { initParams } = await import("../../node/src/model/default-model.js");
  const { writeSafetensors } = await import("../../node/src/checkpoint/safetensors.js");
  const { stateDictFromParams } = await import("../../node/src/model/state-dict.js");
  const { writeTokenizerFiles } = await import("../../node/src/tokenizer/files.js");
  const dir = mkdtempSync(join(tmpdir(), "lessons-try-"));
  const keys = ["vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon", "tie_word_embeddings"] as const;
  const config = Object.fromEntries(keys.map((k) => [k, cfg[k]])) as unknown as Gpt2Config;
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
  writeFileSync(join(dir, "model.safetensors"), writeSafetensors(stateDictFromParams(initParams(config)), { name: "try" }));
  writeTokenizerFiles(dir);
  return dir;
}

async function run(preset: PresetName): Promise<Run> {
  const dir = await modelFolder(preset);
  try {
    const m = await Model.load(dir);
    const held: Array<{ question: string; answer: string }> = [];
    const out: Run = { preset: preset + (nEmbd || nLayer ? ` (n_embd ${nEmbd ?? "-"}, n_layer ${nLayer ?? "-"})` : ""), recall: {}, bytes: [], wire: [], ms: [], steps: [], notKept: [], untaught: { given: 0, answers: {} } };
    for (const [question, answer] of LESSONS.slice(0, lessonCount)) {
      const r = await m.teach(question, answer, { rehearse: held, ...(lr ? { lr: Number(lr) } : {}) });
      held.push({ question, answer });
      out.bytes.push(r.delta.length);
      out.wire.push((deflateIfWorth(r.delta) ?? r.delta).length);
      out.ms.push(r.ms);
      out.steps.push(r.steps);
      out.notKept.push(r.notKept.length);
      if (verbose) console.error(`  ${held.length}. ${question} → ${r.answer} (${r.learned ? "learned" : "NOT learned"}; ${r.steps} steps, ${Math.round(r.ms)} ms, ${r.delta.length} bytes, ${deflateRawSync(r.delta).length} deflated, ${out.wire.at(-1)} on the wire, rehearsed ${r.rehearsed}, not kept ${r.notKept.length})`);
      if (held.length === 10 || held.length === 30 || held.length === lessonCount) {
        const missed: string[] = [];
        for (const l of held) if ((await m.ask(l.question)).answer !== l.answer) missed.push(l.question);
        out.recall[held.length] = { recalled: held.length - missed.length, of: held.length, missed };
      }
    }
    const taught = new Set(held.map((l) => l.answer));
    for (const q of UNTAUGHT) {
      const a = (await m.ask(q)).answer;
      out.untaught.answers[q] = a;
      if (taught.has(a)) out.untaught.given++;
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const presets = presetArg === "all" ? PRESET_NAMES : [presetArg as PresetName];
for (const p of presets) {
  const r = await run(p);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`\n${r.preset}: ${r.ms.length} lessons taught one after another, each rehearsing the earlier ones`);
  for (const [n, c] of Object.entries(r.recall)) console.log(`  recall after ${n}: ${c.recalled}/${c.of}${c.missed.length ? ` (missed: ${c.missed.join("; ")})` : ""}`);
  console.log(`  delta per teach: mean ${kb(mean(r.bytes))}, largest ${kb(Math.max(...r.bytes))}; in the overlay's chunks (deflated when that pays) mean ${kb(mean(r.wire))}, largest ${kb(Math.max(...r.wire))}`);
  const last = r.ms.length - 1;
  console.log(`  teach time: first (single lesson) ${(r.ms[0]! / 1000).toFixed(2)} s; lesson ${last + 1} ${(r.ms[last]! / 1000).toFixed(2)} s = ${(r.ms[last]! / r.ms[0]!).toFixed(1)}x; mean ${(mean(r.ms) / 1000).toFixed(2)} s; steps mean ${mean(r.steps).toFixed(1)}, most ${Math.max(...r.steps)}`);
  console.log(`  teaches that could not keep every rehearsed lesson: ${r.notKept.filter((n) => n > 0).length} of ${r.notKept.length}`);
  const given = Object.entries(r.untaught.answers).filter(([, a]) => LESSONS.some(([, t]) => t === a));
  console.log(`  untaught questions given a taught answer: ${r.untaught.given}/10${given.length ? ` (${given.map(([q, a]) => `${q} → ${a}`).join("; ")})` : ""}`);
}
