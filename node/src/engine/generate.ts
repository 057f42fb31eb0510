// Text generation with Hugging Face's semantics for the options the course node passes:
// greedy or sampling, temperature, top_p, repetition_penalty, no_repeat_ngram_size.

import type { LogitsStepper } from "./decoder.js";
import { seededRandom } from "../util/seeded-random.js";

export interface GenerateOptions {
  maxNewTokens?: number;
  doSample?: boolean;
  temperature?: number;
  topP?: number;
  repetitionPenalty?: number;
  noRepeatNgramSize?: number;
  /** Seed for sampling; the same seed gives the same text. */
  seed?: number;
  /** Generation ends after emitting one of these (newline and end-of-text by default). */
  stopIds?: readonly number[];
}

export const GENERATE_DEFAULTS = {
  maxNewTokens: 16,
  doSample: false,
  temperature: 1,
  topP: 1,
  repetitionPenalty: 1,
  noRepeatNgramSize: 0,
  seed: 0,
  stopIds: [198, 50256] as readonly number[],
};

/** HF RepetitionPenaltyLogitsProcessor: every token already in the context is made less likely. */
export function applyRepetitionPenalty(logits: Float32Array, context: readonly number[], penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(context)) {
    const l = logits[id]!;
    logits[id] = l < 0 ? l * penalty : l / penalty;
  }
}

/** HF NoRepeatNGramLogitsProcessor: bans tokens that would repeat an n-gram of the context. */
export function banRepeatedNgrams(logits: Float32Array, context: readonly number[], n: number): void {
  if (n <= 0 || context.length + 1 < n) return;
  const prefix = context.slice(context.length - (n - 1)).join(",");
  for (let i = 0; i + n <= context.length; i++) {
    if (context.slice(i, i + n - 1).join(",") === prefix) logits[context[i + n - 1]!] = -Infinity;
  }
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Temperature, then HF TopPLogitsWarper (keep the smallest set reaching top_p), then a draw. */
export function sample(logits: Float32Array, temperature: number, topP: number, random: () => number): number {
  const ids = Array.from({ length: logits.length }, (_, i) => i).filter((i) => logits[i]! > -Infinity);
  const max = Math.max(...ids.map((i) => logits[i]!));
  const probs = ids.map((i) => Math.exp((logits[i]! - max) / temperature));
  const order = probs.map((_, i) => i).sort((a, b) => probs[b]! - probs[a]!);
  const total = probs.reduce((a, b) => a + b, 0);
  const kept: number[] = [];
  let cum = 0;
  for (const j of order) {
    kept.push(j);
    cum += probs[j]! / total;
    if (cum >= topP) break;
  }
  const keptTotal = kept.reduce((a, j) => a + probs[j]!, 0);
  let r = random() * keptTotal;
  for (const j of kept) {
    r -= probs[j]!;
    if (r <= 0) return ids[j]!;
  }
  return ids[kept[kept.length - 1]!]!;
}

/** Continues promptIds; returns only the new tokens (the stop token included when reached). */
export async function generate(stepper: LogitsStepper, promptIds: readonly number[], options: GenerateOptions = {}): Promise<number[]> {
  const o = { ...GENERATE_DEFAULTS, ...options };
  if (!(o.temperature > 0)) throw new Error("temperature must be > 0");
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error("top_p must be in (0, 1]");
  if (!(o.repetitionPenalty > 0)) throw new Error("repetition_penalty must be > 0");
  const random = seededRandom(o.seed);
  const context = [...promptIds];
  const out: number[] = [];
  stepper.reset();
  let logits = await stepper.feed(promptIds);
  for (let i = 0; i < o.maxNewTokens; i++) {
    const l = Float32Array.from(logits);
    applyRepetitionPenalty(l, context, o.repetitionPenalty);
    banRepeatedNgrams(l, context, o.noRepeatNgramSize);
    const next = o.doSample ? sample(l, o.temperature, o.topP, random) : argmax(l);
    out.push(next);
    context.push(next);
    if (o.stopIds.includes(next) || i + 1 === o.maxNewTokens) break;
    logits = await stepper.feed([next]);
  }
  return out;
}
