// One member's part of a round: one local epoch over its shard with the teach's optimiser (Adam at
// lr 0.02 on the answer tokens and the closing newline, engine/teach.ts), one step per pair, from
// the weights the fleet agrees on; the update is the fp16 delta from those weights. Nothing of the
// shard leaves the node but this delta.

import type { StateDict } from "../checkpoint/tensor.js";
import { makeDelta } from "../engine/delta.js";
import { backward, createWorkspace, forward, loss, nextTokenTargets } from "../engine/gpt2.js";
import { AdamW } from "../engine/optim.js";
import { viewParams, type Params } from "../engine/params.js";
import { ROUND_RECIPE } from "../engine/teach.js";

/** A pair as token ids (EngineModel.pairTokens): the prompt `Q: …\nA:`, then ` answer` and "\n". */
export interface TokenPair {
  promptIds: number[];
  answerIds: number[];
}

export interface EpochOutcome {
  delta: StateDict;
  /** Loss of each pair before its step. */
  losses: number[];
}

/** The answer-token loss of one pair: the quantity a teach and a round step descend. */
function pairSetup(p: TokenPair): { tokens: number[]; targets: Int32Array; weights: Float32Array; rows: number[] } {
  const tokens = [...p.promptIds, ...p.answerIds];
  const { targets, weights } = nextTokenTargets(tokens, p.promptIds.length - 1);
  const rows: number[] = [];
  for (let t = 0; t < tokens.length; t++) if (weights[t]) rows.push(t);
  return { tokens, targets, weights, rows };
}

/**
 * One epoch over `pairs` from `baseline` (left untouched). `pause` runs between steps: the node
 * yields to its event loop there, so its overlay keeps answering while a wide model trains.
 */
export async function trainEpoch(baseline: Params, pairs: readonly TokenPair[], pause: () => Promise<void> = async () => undefined): Promise<EpochOutcome> {
  if (pairs.length > ROUND_RECIPE.maxSteps) throw new RangeError(`a shard of ${pairs.length} pairs is over ROUND_RECIPE.maxSteps (${ROUND_RECIPE.maxSteps})`);
  const work = viewParams(baseline.config, baseline.flat.slice());
  const grads = viewParams(baseline.config);
  const adam = new AdamW(work.flat.length, { lr: ROUND_RECIPE.lr });
  const losses: number[] = [];
  for (const p of pairs) {
    const { tokens, targets, weights, rows } = pairSetup(p);
    const ws = createWorkspace(work, tokens.length);
    grads.flat.fill(0);
    forward(work, tokens, ws);
    losses.push(loss(work, ws, targets, weights));
    backward(work, grads, tokens, ws, rows);
    adam.step(work.flat, grads.flat);
    await pause();
  }
  return { delta: makeDelta(baseline, work).delta, losses };
}

/**
 * Mean answer-token loss of `pairs` on `params`: what a job reports per round. `pause` runs between
 * pairs, as in trainEpoch: a hundred pairs' softmax over GPT-2's 50,257 tokens takes seconds on a
 * Pi, and a node that does not read its socket meanwhile looks gone to its peers.
 */
export async function meanLoss(params: Params, pairs: readonly TokenPair[], pause: () => Promise<void> = async () => undefined): Promise<number> {
  let sum = 0;
  for (const p of pairs) {
    const { tokens, targets, weights } = pairSetup(p);
    const ws = createWorkspace(params, tokens.length);
    forward(params, tokens, ws);
    sum += loss(params, ws, targets, weights);
    await pause();
  }
  return pairs.length ? sum / pairs.length : NaN;
}
