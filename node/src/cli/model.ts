// `fleet-node model …`: the engine for people and scripts. Every subcommand prints a short
// report, or with --json the same data as one JSON object.

import { Command, InvalidArgumentError, Option } from "commander";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { CheckpointError } from "../checkpoint/errors.js";
import { loadStateDict } from "../checkpoint/read.js";
import { count } from "../node/prompt.js";
import { loadModel, type LoadedModel } from "../model/load.js";
import { inferConfig, missingTensors, paramsFromStateDict, stateDictFromParams } from "../model/state-dict.js";
import { readTorchStateDict, writeTorchStateDict } from "../checkpoint/torch-file.js";
import { ensureDefaultModel, initDefaultModel, PRESET_NAMES, type PresetName } from "../model/default-model.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { fetchModel, DEFAULT_HUB_URL, HUB_MODEL_FILES } from "../model/fetch.js";
import { DeltaError, mergeDelta } from "../engine/delta.js";
import type { Gpt2Config } from "../engine/config.js";
import { Model, weightsFingerprint } from "../model/model.js";
import { TIED_KEYS } from "../engine/params.js";
import { readHeldWeights } from "../node/held-weights.js";
import { DEFAULT_MERGE_WEIGHT, ENV } from "../node/options.js";
import { StateFolder } from "../node/state-folder.js";
import type { AskOptions } from "../model/model.js";
import { numel, type StateDict } from "../checkpoint/tensor.js";

/** User mistakes print one line and exit 1; anything else is a bug and keeps its stack. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof CheckpointError || e instanceof DeltaError) {
        process.stderr.write(`fleet-node model: ${e.message}\n`);
        process.exitCode = 1;
        return;
      }
      throw e;
    }
  };
}

function emit(json: boolean, data: object, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(data) + "\n" : human() + "\n");
}

function number(name: string, min?: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || (min !== undefined && n < min)) throw new InvalidArgumentError(`${name} must be a number${min !== undefined ? ` ≥ ${min}` : ""}.`);
    return n;
  };
}

/** Groups of keys sharing identical data (torch's tied weights, as saved). */
function tiedGroups(sd: StateDict): string[][] {
  const byData = new Map<string, string[]>();
  for (const [k, t] of sd) {
    if (!(k in TIED_KEYS)) continue;
    const src = TIED_KEYS[k]!;
    const s = sd.get(src);
    if (s && s.data.length === t.data.length && s.data.every((v, i) => v === t.data[i])) byData.set(src, [src, k]);
  }
  return [...byData.values()];
}

/** The config of a state dict that holds a whole model (one it fits, every tensor of it); a delta has none. */
function wholeModelConfig(sd: StateDict, path: string): Gpt2Config | undefined {
  let config;
  try {
    config = inferConfig(sd, path);
  } catch {
    return undefined;
  }
  return missingTensors(sd, config).length === 0 ? config : undefined;
}

function tensorsFingerprint(sd: StateDict, skip: Set<string>): string {
  const hash = createHash("sha256");
  for (const [k, t] of sd) if (!skip.has(k)) hash.update(k).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return hash.digest("hex").slice(0, 16);
}

function info(path: string, json: boolean): void {
  const isDir = statSync(path, { throwIfNoEntry: false })?.isDirectory();
  const sd = isDir ? undefined : loadStateDict(path);
  // A whole model (a folder, or a state dict whose config can be inferred) loads as params and is
  // fingerprinted as the node fingerprints it; a delta holds only some tensors.
  const fileConfig = sd && wholeModelConfig(sd, path);
  const whole: Pick<LoadedModel, "config" | "params"> | undefined = isDir ? loadModel(path)
    : fileConfig ? { config: fileConfig, params: paramsFromStateDict(sd!, fileConfig, path) } : undefined;
  const dict = sd ?? stateDictFromParams(whole!.params);
  const tensors = [...dict].map(([key, t]) => ({ key, shape: t.shape, dtype: t.dtype, numel: numel(t.shape) }));
  const tied = tiedGroups(dict);
  const tiedAway = new Set(tied.map((g) => g[1]));
  const parameters = tensors.filter((t) => !tiedAway.has(t.key)).reduce((a, t) => a + t.numel, 0);
  const config = whole?.config;
  const fingerprint = whole ? weightsFingerprint(whole.params) : tensorsFingerprint(dict, tiedAway);
  const data = { file: path, tensors, tied, parameters, fingerprint, config };
  emit(json, data, () =>
    [
      `${path}: ${tensors.length} tensors, ${parameters.toLocaleString("en")} parameters, fingerprint ${data.fingerprint}`,
      ...tensors.map((t) => `  ${t.key.padEnd(36)} ${t.dtype.padEnd(4)} [${t.shape.join(", ")}]`),
      ...tied.map((g) => `  tied: ${g.join(" = ")}`),
    ].join("\n"),
  );
}

const genOptions = (c: Command) =>
  c
    .option("--max-new-tokens <n>", "tokens to generate at most", number("--max-new-tokens", 1), 16)
    .option("--sample", "sample instead of greedy decoding", false)
    .option("--temperature <t>", "sampling temperature", number("--temperature", 0), 1)
    .option("--top-p <p>", "nucleus sampling mass", number("--top-p", 0), 1)
    .option("--repetition-penalty <r>", "HF repetition_penalty", number("--repetition-penalty", 0), 1)
    .option("--no-repeat-ngram-size <n>", "HF no_repeat_ngram_size", number("--no-repeat-ngram-size", 0), 0)
    .option("--seed <n>", "sampling seed", number("--seed", 0), 0);

function mergeWeight(v: string): number {
  const w = Number(v);
  if (!Number.isFinite(w) || w <= 0 || w > 10) throw new InvalidArgumentError("must be a number above 0 and at most 10, the node's --merge-weight.");
  return w;
}

/**
 * The answer of the weights a node's state folder holds (held-weights.ts, the node's own
 * derivation), asked offline. What the node would set aside at start is printed and makes the exit
 * code 1: the answer is then that of a node which has set it aside, and the user should know.
 */
async function askStateFolder(dir: string, question: string, gen: AskOptions, o: { base?: string; mergeWeight?: number; json: boolean }): Promise<void> {
  const mergeWeight = o.mergeWeight ?? DEFAULT_MERGE_WEIGHT;
  let model = await Model.load(o.base);
  let held = await readHeldWeights(model, dir, mergeWeight);
  // Without --base, a folder of a node started with --preset is read on that preset's model: the
  // entries name their base, and a preset is made the same, bit for bit, on every machine.
  for (const preset of o.base === undefined && held.otherBases.length > 0 ? PRESET_NAMES : []) {
    const m = await Model.load(ensureDefaultModel(undefined, preset));
    const h = await readHeldWeights(m, dir, mergeWeight);
    if (h.otherBases.length === 0 && h.entries > 0) { model = m; held = h; break; }
  }
  const r = await model.ask(question, gen);
  const data = {
    ...r, stateDir: dir, base: model.source, baseId: held.baseId, digest: held.digest, entries: held.entries,
    lessons: held.lessons.length, problems: held.problems,
  };
  emit(o.json, data, () => r.answer);
  if (held.problems.length === 0) return;
  const say = (line: string) => process.stderr.write(`fleet-node model: ${dir}: ${line}\n`);
  for (const p of held.problems) say(p);
  say(`the answer is from the ${count(held.entries, "entry", "entries")} a node started on it would keep`);
  if (held.otherBases.length > 0) {
    say(`entries were made on base model ${held.otherBases.join(", ")}, and ${model.source} is ${held.baseId}: ${o.base === undefined ? "nor is any preset: " : ""}was the node started with another --model? pass it as --base`);
  }
  process.exitCode = 1;
}

const modelOption = () => new Option("--model <m>", "model folder or .pt state dict (default: the embedded tiny-gpt2)");

export function modelCommand(): Command {
  // exitOverride before the subcommands exist, so they inherit it: main.ts maps usage errors to exit 2.
  const cmd = new Command("model").description("inspect, run, teach and merge GPT-2 checkpoints and course deltas").exitOverride();

  cmd
    .command("info <file|folder>")
    .description("keys, shapes, dtypes, tied tensors, parameter count and fingerprint of a checkpoint or delta")
    .option("--json", "print JSON", false)
    .action(action((path: string, o: { json: boolean }) => info(path, o.json)));

  cmd
    .command("init")
    .description("write a seeded model and tokenizer files: the embedded default (tiny-gpt2, the course's architecture) or the classroom preset")
    .requiredOption("--out <folder>", "folder to create")
    .addOption(new Option("--preset <name>", "tiny-gpt2 (the course's architecture; course nodes need it) or classroom (wider, holds a class's lessons; teaches train the blocks only)").choices(PRESET_NAMES).default("tiny-gpt2"))
    .option("--json", "print JSON", false)
    .action(action((o: { out: string; preset: PresetName; json: boolean }) => {
      const manifest = initDefaultModel(o.out, o.preset);
      emit(o.json, { dir: o.out, ...manifest }, () => `wrote ${manifest.name} to ${o.out} (${Object.keys(manifest.files).length} files)`);
    }));

  genOptions(
    cmd
      .command("ask <question>")
      .description("answer a question as the course node does (prompt `Q: …\\nA:`); --model STATE_DIR answers from a node's weights, offline")
      .addOption(new Option("--model <m>", "model folder, .pt state dict, or a node's state folder (its --state-dir: answers from the weights that node holds) (default: the embedded tiny-gpt2)"))
      .addOption(new Option("--base <m>", "with a state folder: the node's base model, its --model (default: the preset its entries were made on)").env(ENV.model))
      .addOption(new Option("--merge-weight <w>", `with a state folder: the node's --merge-weight (default: ${DEFAULT_MERGE_WEIGHT})`).env(ENV.mergeWeight).argParser(mergeWeight))
      .option("--json", "print JSON (with a state folder: also the digest the node reports in /status, its entries and problems)", false),
  ).action(action(async (question: string, o: Record<string, any>, c: Command) => {
    const gen = {
      maxNewTokens: o.maxNewTokens, doSample: o.sample, temperature: o.temperature, topP: o.topP,
      repetitionPenalty: o.repetitionPenalty, noRepeatNgramSize: o.noRepeatNgramSize, seed: o.seed,
    };
    if (o.model !== undefined && StateFolder.holds(o.model)) return askStateFolder(o.model, question, gen, o as { base?: string; mergeWeight?: number; json: boolean });
    const m = await Model.load(o.model).catch((e: unknown) => {
      if (e instanceof CheckpointError && statSync(o.model, { throwIfNoEntry: false })?.isDirectory()) {
        throw new CheckpointError(o.model, "is neither a model folder (config.json and model.safetensors or pytorch_model.bin) nor a node's state folder (entries/)", e.message);
      }
      throw e;
    });
    // --base and --merge-weight say how a node derived its weights: given for a model, they would be ignored silently.
    const stray = (["base", "mergeWeight"] as const).find((k) => c.getOptionValueSource(k) === "cli");
    if (stray) throw new CheckpointError(o.model ?? "the embedded tiny-gpt2", `is a model, not a node's state folder; --${stray === "base" ? "base" : "merge-weight"} applies only to a state folder`);
    const r = await m.ask(question, gen);
    emit(o.json, r, () => r.answer);
  }));

  cmd
    .command("loss")
    .description("mean next-token cross-entropy of a text (labels = input ids, as PyTorch/HF compute it)")
    .addOption(modelOption())
    .requiredOption("--text <text>", 'the text; "\\n" is a newline')
    .option("--json", "print JSON", false)
    .action(action(async (o: { model?: string; text: string; json: boolean }) => {
      const m = await Model.load(o.model);
      const text = o.text.replace(/\\n/g, "\n");
      const loss = m.loss(text);
      emit(o.json, { loss, tokens: m.tokenizer.encode(text).length }, () => loss.toFixed(6));
    }));

  cmd
    .command("teach")
    .description("fine-tune on a question/answer pair and write the course-format delta")
    .addOption(modelOption())
    .requiredOption("--question <q>", "the question")
    .requiredOption("--answer <a>", "the right answer")
    .requiredOption("--out <delta.pt>", "where to write the delta")
    .addOption(new Option("--recipe <name>", "adam (ours: learns the answer) or course (SGD lr 1e-6, 5 steps)").choices(["adam", "course"]).default("adam"))
    .option("--lr <lr>", "learning rate (default: the recipe's)", number("--lr", 0))
    .option("--max-steps <n>", "step bound (default: the recipe's)", number("--max-steps", 1))
    .option("--json", "print JSON", false)
    .action(action(async (o: { model?: string; question: string; answer: string; out: string; recipe: "adam" | "course"; lr?: number; maxSteps?: number; json: boolean }) => {
      const m = await Model.load(o.model);
      const r = await m.teach(o.question, o.answer, { recipe: o.recipe, lr: o.lr, maxSteps: o.maxSteps });
      writeFileAtomic(o.out, r.delta);
      const data = { out: o.out, bytes: r.delta.length, loss: r.loss, steps: r.steps, ms: r.ms, answer: r.answer, learned: r.learned };
      emit(o.json, data, () => `${r.learned ? "learned" : "NOT learned"} after ${count(r.steps, "step")} (loss ${r.loss.toFixed(4)}): answers "${r.answer}"; wrote ${count(data.bytes, "byte")} to ${o.out}`);
      if (!r.learned) process.exitCode = 1;
    }));

  cmd
    .command("merge")
    .description("add a delta into a model (p += weight · delta) and save the result as a .pt state dict")
    .requiredOption("--base <m>", "model folder or .pt state dict")
    .requiredOption("--delta <d.pt>", "course-format delta")
    .option("--weight <w>", "merge weight", number("--weight"), 1)
    .requiredOption("--out <file.pt>", "where to write the merged state dict")
    .option("--json", "print JSON", false)
    .action(action((o: { base: string; delta: string; weight: number; out: string; json: boolean }) => {
      const { params } = loadModel(o.base);
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(o.delta);
      } catch (e) {
        throw new CheckpointError(o.delta, `cannot read (${(e as NodeJS.ErrnoException).code})`);
      }
      const report = mergeDelta(params, readTorchStateDict(bytes, o.delta), o.weight);
      writeFileAtomic(o.out, writeTorchStateDict(stateDictFromParams(params, { includeTiedHead: true }), { sharedStorage: TIED_KEYS }));
      emit(o.json, { out: o.out, ...report }, () => `merged ${report.applied.length} tensors${report.skipped.length ? ` (skipped: ${report.skipped.join("; ")})` : ""}; wrote ${o.out}`);
    }));

  cmd
    .command("fetch")
    .description("download a model from a Hugging Face style hub (resumable, sha256-checked)")
    .option("--repo <repo>", "repository", "sshleifer/tiny-gpt2")
    .option("--revision <rev>", "branch, tag or commit", "main")
    .option("--base-url <url>", "hub address (env FLEET_HUB_URL)", process.env.FLEET_HUB_URL ?? DEFAULT_HUB_URL)
    .option("--file <name>", "a file to fetch; repeatable", (v: string, p: string[] | undefined) => [...(p ?? []), v])
    .requiredOption("--out <folder>", "destination folder")
    .option("--json", "print JSON", false)
    .action(action(async (o: { repo: string; revision: string; baseUrl: string; file?: string[]; out: string; json: boolean }) => {
      const files = await fetchModel({ baseUrl: o.baseUrl, repo: o.repo, revision: o.revision, files: o.file ?? [...HUB_MODEL_FILES], dir: o.out });
      emit(o.json, { dir: o.out, files }, () => files.map((f) => `${f.file}  ${f.bytes} bytes  sha256 ${f.sha256}${f.resumed ? " (resumed)" : ""}`).join("\n"));
    }));

  return cmd;
}
