// Teaching a question/answer pair: fine-tune, then make the delta the fleet will receive.
//
// The course recipe (plain SGD, lr 1e-6, 5 steps, loss on all tokens) barely moves tiny-gpt2 and
// never produces the taught answer (shared/notes/tiny-gpt2-learning.md). Our default: Adam on the
// answer tokens and the closing newline, one step at a time, until the greedy answer — computed
// on baseline + the delta exactly as broadcast (fp16, thresholded), not on the private fp32
// weights — is the taught answer, or a step bound is reached.

import type { StateDict } from "../checkpoint/tensor.js";
import { viewParams, type Params } from "./params.js";
import { backward, createWorkspace, forward, loss, nextTokenTargets } from "./gpt2.js";
import { AdamW, clipGradNorm, sgdStep } from "./optim.js";
import { makeDelta, mergeDelta } from "./delta.js";
import { TsDecoder } from "./decoder.js";
import { generate } from "./generate.js";
import { cleanAnswer } from "./answer-text.js";

export type RecipeName = "adam" | "course";

export interface Recipe {
  name: RecipeName;
  lr: number;
  maxSteps: number;
}

export const RECIPES: Readonly<Record<RecipeName, Recipe>> = {
  // lr 0.02: PyTorch gets the first answer token right after 1–2 Adam steps at 0.01–0.03.
  adam: { name: "adam", lr: 0.02, maxSteps: 200 },
  course: { name: "course", lr: 1e-6, maxSteps: 5 },
};

/**
 * A training round (node/src/train/): each node takes one Adam step at the teach's lr per pair of
 * its shard, once through (one local epoch). A shard is capped at this many pairs, so a round's
 * update — and the average of several — moves a parameter no more than this many teach steps can
 * (trust/bounds.ts derives the round entry's bound from it).
 */
export const ROUND_RECIPE = { lr: RECIPES.adam.lr, maxSteps: 512 } as const;

/** Steps the default recipe spends teaching the answer's closing newline before giving up on it. */
const STOP_TOKEN_STEPS = 15;

/** The course's gradient clip (trust/bounds.ts derives the largest course delta from it). */
export const COURSE_CLIP_NORM = 1.0;

export interface TeachInput {
  /** The weights every node agrees on now; left untouched. */
  baseline: Params;
  /** What earlier deltas could not carry (see makeDelta), added to this one. */
  carry?: Float32Array;
  /** `Q: …\nA:` */
  promptIds: number[];
  /** ` answer` then the closing newline. */
  answerIds: number[];
  /** The cleaned answer the model must give. */
  expected: string;
  decode: (ids: number[]) => string;
  recipe: Recipe;
}

export interface TeachOutcome {
  delta: StateDict;
  residual: Float32Array;
  /** baseline + delta as broadcast: the teacher's new weights, the same as every receiver's. */
  applied: Params;
  /** Loss before each step. */
  losses: number[];
  steps: number;
  answer: string;
  learned: boolean;
}

function copyParams(p: Params): Params {
  return viewParams(p.config, Float32Array.from(p.flat));
}

async function greedyAnswer(params: Params, promptIds: number[], maxNewTokens: number, decode: (ids: number[]) => string): Promise<string> {
  const ids = await generate(new TsDecoder(params), promptIds, { maxNewTokens });
  return cleanAnswer(decode(ids));
}

export async function teach(input: TeachInput): Promise<TeachOutcome> {
  const { baseline, promptIds, answerIds, recipe } = input;
  if (answerIds.length === 0) throw new Error("teach: the answer is empty");
  const tokens = [...promptIds, ...answerIds];
  const ws = createWorkspace(baseline, tokens.length);
  // The course trains on every next-token prediction; ours only on the answer's.
  const { targets, weights } = nextTokenTargets(tokens, recipe.name === "course" ? 0 : promptIds.length - 1);
  const rows: number[] = [];
  for (let t = 0; t < tokens.length; t++) if (weights[t]) rows.push(t);
  const work = copyParams(baseline);
  const grads = viewParams(baseline.config);
  const adam = recipe.name === "adam" ? new AdamW(work.flat.length, { lr: recipe.lr }) : undefined;
  const losses: number[] = [];
  // Room for the answer and a little more: enough to see whether it stops where it should.
  const checkTokens = answerIds.length + 4;
  let outcome: { delta: StateDict; residual: Float32Array; applied: Params; answer: string } | undefined;
  let steps = 0;
  while (steps < recipe.maxSteps) {
    if (adam && steps === Math.min(STOP_TOKEN_STEPS, recipe.maxSteps - 1)) {
      // Two numbers wide, the model often cannot both say the answer and stop after it: the loss
      // settles at ln 2, a tie between the answer and "\n" that fp16 rounding may tip either way.
      // Drop the closing newline: the answer then repeats ("Paris Paris"), which the course's
      // clean-up collapses to the taught answer.
      weights[tokens.length - 2] = 0;
      rows.pop();
    }
    grads.flat.fill(0);
    forward(work, tokens, ws);
    losses.push(loss(work, ws, targets, weights));
    backward(work, grads, tokens, ws, rows);
    if (adam) adam.step(work.flat, grads.flat);
    else {
      clipGradNorm(grads.flat, COURSE_CLIP_NORM);
      sgdStep(work.flat, grads.flat, recipe.lr);
    }
    steps++;
    if (adam || steps === recipe.maxSteps) {
      const made = makeDelta(baseline, work, input.carry);
      const applied = copyParams(baseline);
      if (made.delta.size > 0) mergeDelta(applied, made.delta, 1);
      const answer = await greedyAnswer(applied, promptIds, checkTokens, input.decode);
      outcome = { ...made, applied, answer };
      if (answer === input.expected) break;
    }
  }
  return { ...outcome!, losses, steps, learned: outcome!.answer === input.expected };
}
