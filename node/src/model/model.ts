// The engine as the node program sees it: load a model, answer, teach, merge, save.
// Inference runs on ONNX Runtime; teaching on the TypeScript forward/backward. Both read the
// same flat parameter buffer, so a merge is visible to the next answer without re-export.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadModel } from "./load.js";
import { CheckpointError } from "../checkpoint/errors.js";
import { readTorchStateDict, writeTorchStateDict } from "../checkpoint/torch-file.js";
import { stateDictFromParams } from "./state-dict.js";
import { writeFileAtomicAsync } from "../util/atomic-write.js";
import { ensureDefaultModel } from "./default-model.js";
import { loadTokenizer, type Gpt2Tokenizer } from "../tokenizer/tokenizer.js";
import type { Gpt2Config } from "../engine/config.js";
import type { Params } from "../engine/params.js";
import { TIED_KEYS } from "../engine/params.js";
import { DeltaError, mergeDelta } from "../engine/delta.js";
import { teach, RECIPES, type RecipeName } from "../engine/teach.js";
import { generate, type GenerateOptions } from "../engine/generate.js";
import { cleanAnswer, promptFor } from "../engine/answer-text.js";
import { createWorkspace, forward, loss, nextTokenTargets } from "../engine/gpt2.js";
import { TsDecoder, type LogitsStepper } from "../engine/decoder.js";
import { OnnxDecoder } from "../engine/onnx/session.js";

export { DeltaError } from "../engine/delta.js";

export type AskOptions = GenerateOptions;
export interface AskResult {
  answer: string;
  raw: string;
  tokens: number;
  ms: number;
}
export interface TeachOptions {
  recipe?: RecipeName;
  lr?: number;
  maxSteps?: number;
  /** The fleet's earlier lessons, oldest first: the default recipe rehearses a sample of them (engine/teach.ts). */
  rehearse?: ReadonlyArray<{ question: string; answer: string }>;
}
export interface TeachResult {
  /** Course-format torch .pt bytes (fp16 dict), ready for the wire. */
  delta: Uint8Array;
  loss: number;
  steps: number;
  ms: number;
  answer: string;
  learned: boolean;
  /** Earlier lessons trained alongside this one. */
  rehearsed: number;
  /** Questions of those the new weights do not answer exactly: what this teach could not keep. */
  notKept: string[];
  /** Earlier lessons left out of the rehearsal (past its bounds), not checked. */
  unrehearsed: number;
}
export interface MergeResult {
  keys: number;
  skipped: string[];
  ms: number;
}
export interface LoadOptions {
  /** Folder with tokenizer.json; defaults to the model folder, else the embedded default's. */
  tokenizerDir?: string;
  /** "onnx" (default) or "ts": the backend answers are generated on. */
  inference?: "onnx" | "ts";
}

function sha256Hex(flat: Float32Array): string {
  return createHash("sha256").update(new Uint8Array(flat.buffer, flat.byteOffset, flat.byteLength)).digest("hex");
}

/**
 * A model's identity: the first 16 hex digits of the sha256 of its weights in the params layout.
 * The node reports it at start-up and on /status; `fleet-node model info` prints the same value for
 * the same weights, whether they come from a folder, safetensors or a torch .pt.
 */
export function weightsFingerprint(params: Params): string {
  return sha256Hex(params.flat).slice(0, 16);
}

export class Model {
  /** What rounding and thresholds kept out of broadcast deltas so far (params layout). */
  private heldBack: Float32Array | undefined;

  private constructor(
    readonly params: Params,
    readonly tokenizer: Gpt2Tokenizer,
    private readonly stepper: LogitsStepper,
    readonly fingerprint: string,
    readonly source: string,
    /** The model folder says to train blocks only (config.json `deltafleet_train: "blocks"`): embeddings stay out of deltas. */
    readonly frozenEmbeddings = false,
  ) {}

  /** A model folder or a weights file; the embedded default model when no path is given. */
  static async load(path?: string, opts: LoadOptions = {}): Promise<Model> {
    const source = path ?? ensureDefaultModel();
    const loaded = loadModel(source);
    const tokDir = opts.tokenizerDir ?? (loaded.dir && existsSync(join(loaded.dir, "tokenizer.json")) ? loaded.dir : ensureDefaultModel());
    const tokenizer = loadTokenizer(tokDir);
    const stepper = opts.inference === "ts" ? new TsDecoder(loaded.params) : await OnnxDecoder.create(loaded.params);
    return new Model(loaded.params, tokenizer, stepper, weightsFingerprint(loaded.params), source, loaded.train === "blocks");
  }

  get config(): Gpt2Config {
    return this.params.config;
  }

  /** sha256 of the weights: two nodes report the same digest exactly when their weights are bitwise equal. */
  digest(): string {
    return sha256Hex(this.params.flat);
  }

  async ask(question: string, opts: AskOptions = {}): Promise<AskResult> {
    const t0 = performance.now();
    const ids = await generate(this.stepper, this.tokenizer.encode(promptFor(question)), opts);
    const raw = this.tokenizer.decode(ids);
    return { answer: cleanAnswer(raw), raw, tokens: ids.length, ms: performance.now() - t0 };
  }

  /** Mean next-token cross-entropy of text, labels = input ids, as PyTorch/HF compute it. */
  loss(text: string): number {
    const ids = this.tokenizer.encode(text);
    if (ids.length < 2) throw new Error("loss needs a text of at least two tokens");
    const ws = createWorkspace(this.params, ids.length);
    forward(this.params, ids, ws);
    const { targets, weights } = nextTokenTargets(ids);
    return loss(this.params, ws, targets, weights);
  }

  /**
   * Fine-tunes on the pair and sets the weights to baseline + the delta as broadcast, so the
   * teacher holds exactly what every receiver will hold; what rounding dropped is carried into
   * the next teach's delta.
   */
  async teach(question: string, answer: string, opts: TeachOptions = {}): Promise<TeachResult> {
    const expected = cleanAnswer(answer);
    if (!expected || !question.trim()) throw new Error("teach needs a question and a non-empty answer");
    const t0 = performance.now();
    const base = RECIPES[opts.recipe ?? "adam"];
    const recipe = { ...base, lr: opts.lr ?? base.lr, maxSteps: opts.maxSteps ?? base.maxSteps };
    const out = await teach({
      baseline: this.params,
      carry: this.heldBack,
      ...this.pairTokens(question, answer),
      expected,
      decode: (ids) => this.tokenizer.decode(ids),
      recipe,
      question,
      rehearse: (opts.rehearse ?? []).map((l) => ({ question: l.question, ...this.pairTokens(l.question, l.answer), expected: cleanAnswer(l.answer) })),
      frozenEmbeddings: this.frozenEmbeddings,
    });
    this.params.flat.set(out.applied.flat);
    this.heldBack = out.residual;
    const delta = writeTorchStateDict(out.delta, { sharedStorage: TIED_KEYS });
    return {
      delta, loss: out.losses[out.losses.length - 1]!, steps: out.steps, ms: performance.now() - t0, answer: out.answer, learned: out.learned,
      rehearsed: out.rehearsed.length, notKept: out.notKept, unrehearsed: out.unrehearsed,
    };
  }

  /** A question/answer pair as a teach trains on it: the prompt's ids, then the answer's and the closing newline. */
  pairTokens(question: string, answer: string): { promptIds: number[]; answerIds: number[] } {
    return {
      promptIds: this.tokenizer.encode(promptFor(question)),
      answerIds: [...this.tokenizer.encode(` ${answer.trim()}`), this.tokenizer.encode("\n")[0]!],
    };
  }

  /** Adds a course-format delta (torch .pt bytes) with the merge weight; DeltaError when unusable. */
  async merge(bytes: Uint8Array, weight: number): Promise<MergeResult> {
    const t0 = performance.now();
    let delta;
    try {
      delta = readTorchStateDict(bytes, "delta");
    } catch (e) {
      if (e instanceof CheckpointError) throw new DeltaError("decode", e.problem);
      throw e;
    }
    const report = mergeDelta(this.params, delta, weight);
    return { keys: report.applied.length, skipped: report.skipped, ms: performance.now() - t0 };
  }

  /** What rounding kept out of the deltas broadcast so far (params layout); undefined before a teach. */
  carry(): Float32Array | undefined {
    return this.heldBack;
  }

  /** Takes back a carry saved by an earlier run, so a restart loses none of what rounding held back. */
  restoreCarry(carry: Float32Array): void {
    if (carry.length !== this.params.flat.length) {
      throw new Error(`carry has ${carry.length} values, the model has ${this.params.flat.length} parameters`);
    }
    this.heldBack = carry;
  }

  /** The weights as a torch state dict file (tied head included, as torch saves it), atomically. */
  async saveBaseline(file: string): Promise<void> {
    const sd = stateDictFromParams(this.params, { includeTiedHead: true });
    await writeFileAtomicAsync(file, writeTorchStateDict(sd, { sharedStorage: TIED_KEYS }));
  }
}
