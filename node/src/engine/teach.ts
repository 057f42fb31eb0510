// Teaching a question/answer pair: fine-tune, then make the delta the fleet will receive.
//
// The course recipe (plain SGD, lr 1e-6, 5 steps, loss on all tokens) barely moves tiny-gpt2 and
// never produces the taught answer (shared/notes/tiny-gpt2-learning.md). Our default: Adam on the
// answer tokens and the closing newline, one step at a time, until the greedy answer — computed
// on baseline + the delta exactly as broadcast (fp16, thresholded), not on the private fp32
// weights — is the taught answer, or a step bound is reached.
//
// Rehearsal: a teach also trains a bounded sample of the fleet's earlier lessons (each step's loss
// is the new lesson's plus theirs), and stops when every one of them is answered exactly on
// baseline + the delta as broadcast — so a new lesson does not erase the old ones where the model
// can hold them. The new lesson comes first: a model that cannot learn it alongside the others
// (REHEARSE_YIELD_STEPS) trains it alone, and once it is answered the others get
// REHEARSE_PATIENCE_STEPS more. Lessons it could not keep are reported, not hidden.

import type { StateDict } from "../checkpoint/tensor.js";
import { paramSpecs, viewParams, type ParamSpec, type Params } from "./params.js";
import { backward, createWorkspace, forward, loss, nextTokenTargets, type Workspace } from "./gpt2.js";
import { AdamW, clipGradNorm, sgdStep } from "./optim.js";
import { makeDelta, mergeDelta } from "./delta.js";
import { TsDecoder } from "./decoder.js";
import { argmax, generate } from "./generate.js";
import { cleanAnswer } from "./answer-text.js";
import { topTokens, WorkingVocabulary } from "./working-vocabulary.js";

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
/**
 * A model this narrow (tiny-gpt2, two numbers wide) holds about one lesson: every position's hidden
 * state lies on one line segment (shared/notes/tiny-gpt2-learning.md; ten pairs trained jointly for
 * 2,000 steps recall at most one). So it
 * - gives up on the closing newline: the answer and "\n" tie at ln 2; wider models learn to stop,
 *   and must, or a multi-word answer runs on ("carbon dioxide carbon …");
 * - does not rehearse: training earlier lessons alongside only keeps it from learning the new one
 *   (measured with `fleetctl demo --lessons 10`: 0–5 of 10 new lessons learned with rehearsal, 8 of
 *   10 without, and 1 of 10 recalled after either). Its teach reports every earlier lesson as
 *   unrehearsed.
 */
const NARROW_MAX_WIDTH = 2;

/** Earlier lessons a teach trains alongside the new one at most: the currently wrong and newest first. */
export const REHEARSE_MAX = 24;
/** Earlier lessons checked on the baseline to choose that sample (newest first); older ones are not rehearsed. */
export const REHEARSE_CANDIDATES_MAX = 2 * REHEARSE_MAX;
/**
 * The new lesson comes first: a person just corrected it. When it is still wrong after this many
 * steps of training alongside the rehearsed ones, the model cannot hold them all together (tiny-gpt2
 * holds about one), and the rest of the steps train the new lesson alone.
 */
export const REHEARSE_YIELD_STEPS = 60;
/**
 * Steps spent keeping the rehearsed lessons once the new one is answered: past them the teach ends
 * on the newest weights that answer the new lesson, and reports what it could not keep.
 */
export const REHEARSE_PATIENCE_STEPS = 40;

/**
 * With the embedding frozen, the head (64 × 50,257 at classroom width) is nearly all of a step's
 * work, and most of its tokens never come near the answer rows. A teach then trains on a softmax
 * over a working vocabulary (working-vocabulary.ts): every target token, the WORKING_TOP_TOKENS
 * highest-scoring tokens of every trained row at the start, and, whenever a check (always over the
 * whole vocabulary) finds a row whose argmax is not its target, that row's WORKING_TOP_TOKENS
 * leaders. What ends a teach is still the exact answer over all V tokens; the working vocabulary
 * only makes the steps toward it cheaper. Ten lessons taught one after another, three lesson sets
 * of bench:lessons (2026-12-06): recall 23/30 in 105 s with 64 leaders per row (18/30 with 16,
 * 22/30 with 256), 21/30 in 310 s with the whole softmax. Above the default lr it can stall: at
 * 0.05 a first lesson's two answer rows rose together to a tie between "Paris" and the closing
 * newline. A column standing for the rest of the vocabulary undid that but kept fewer lessons
 * (19/30; the classroom proof failed), and so did 256 tokens resampled each step (22/30, but 8 of
 * 30 after thirty lessons).
 */
const WORKING_TOP_TOKENS = 64;

/** The course's gradient clip (trust/bounds.ts derives the largest course delta from it). */
export const COURSE_CLIP_NORM = 1.0;

/** A question/answer pair as a teach trains and checks it. */
export interface TaughtPair {
  /** The question as people wrote it: what the outcome names when the teach could not keep it. */
  question: string;
  /** `Q: …\nA:` */
  promptIds: number[];
  /** ` answer` then the closing newline. */
  answerIds: number[];
  /** The cleaned answer the model must give. */
  expected: string;
}

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
  /** The new lesson's question: an earlier lesson of the same question is not rehearsed (the new answer replaces it). */
  question?: string;
  /** The fleet's earlier lessons, oldest first (the default recipe rehearses a sample; the course's ignores them). */
  rehearse?: TaughtPair[];
  /** Train the blocks and final layer norm only: the token and position embeddings (and the tied head) stay as they are, and out of the delta. */
  frozenEmbeddings?: boolean;
}

export interface TeachOutcome {
  delta: StateDict;
  residual: Float32Array;
  /** baseline + delta as broadcast: the teacher's new weights, the same as every receiver's. */
  applied: Params;
  /** The new lesson's loss before each step (with the embedding frozen: over the working vocabulary, see WORKING_TOP_TOKENS). */
  losses: number[];
  steps: number;
  answer: string;
  learned: boolean;
  /** Questions of the earlier lessons trained alongside (the sample). */
  rehearsed: string[];
  /** Those of them the resulting weights do not answer exactly. */
  notKept: string[];
  /** Earlier lessons left out of the sample (past REHEARSE_CANDIDATES_MAX or REHEARSE_MAX): not checked. */
  unrehearsed: number;
}

function copyParams(p: Params): Params {
  return viewParams(p.config, p.flat.slice());
}

async function greedyAnswer(params: Params, promptIds: number[], maxNewTokens: number, decode: (ids: number[]) => string): Promise<string> {
  const ids = await generate(new TsDecoder(params), promptIds, { maxNewTokens });
  return cleanAnswer(decode(ids));
}

/** One pair's tokens, loss mask and the positions whose logits it needs. */
interface Sequence {
  pair: TaughtPair;
  tokens: number[];
  targets: Int32Array;
  weights: Float32Array;
  /** Positions trained (weight 1). */
  rows: number[];
  /** Positions predicting the answer and its newline: what the teacher-forced check reads. */
  answerRows: number[];
}

function sequenceOf(pair: TaughtPair, fromPosition: number): Sequence {
  const tokens = [...pair.promptIds, ...pair.answerIds];
  const { targets, weights } = nextTokenTargets(tokens, fromPosition);
  const rows: number[] = [];
  for (let t = 0; t < tokens.length; t++) if (weights[t]) rows.push(t);
  const answerRows: number[] = [];
  for (let t = pair.promptIds.length - 1; t + 1 < tokens.length; t++) answerRows.push(t);
  return { pair, tokens, targets, weights, rows, answerRows };
}

/** Workspaces by sequence length: a forward and its backward run back to back, so sequences of one length share one. */
class Workspaces {
  private readonly byLength = new Map<number, Workspace>();
  constructor(private readonly params: Params) {}
  for(T: number): Workspace {
    let ws = this.byLength.get(T);
    if (!ws) this.byLength.set(T, (ws = createWorkspace(this.params, T)));
    return ws;
  }
}

/**
 * Does `params` answer the pair exactly, as greedy decoding would? First teacher-forced: when every
 * answer token and the closing newline is the argmax after its prefix, greedy decoding yields
 * exactly that (one forward pass, logits only on the answer's rows). Otherwise greedy decoding
 * decides (the answer may still come out right, e.g. repeated and collapsed by the clean-up) —
 * unless no `decode` is given: then only the teacher-forced check counts (a rehearsed lesson
 * between steps; that costs a few more steps at worst, where greedy decoding costs a head pass
 * per token at every step).
 */
async function answersRight(params: Params, seq: Sequence, workspaces: Workspaces, decode: ((ids: number[]) => string) | undefined, mine?: WorkingVocabulary): Promise<{ right: boolean; answer?: string }> {
  const ws = workspaces.for(seq.tokens.length);
  forward(params, seq.tokens, ws, seq.answerRows);
  const V = params.config.vocab_size;
  let forced = true;
  for (const t of seq.answerRows) {
    const row = ws.logits.subarray(t * V, (t + 1) * V);
    if (argmax(row) === seq.targets[t]) continue;
    forced = false;
    if (!mine) break;
    // The tokens beating the target here are what the working vocabulary was missing.
    for (const v of topTokens(row, WORKING_TOP_TOKENS)) mine.add(v);
  }
  if (forced) return { right: true };
  if (!decode) return { right: false };
  const answer = await greedyAnswer(params, seq.pair.promptIds, seq.pair.answerIds.length + 4, decode);
  return { right: answer === seq.pair.expected, answer };
}

/** The working vocabulary a frozen-head teach starts from: every target, and each trained row's leaders on `params`. */
function workingVocabulary(params: Params, seqs: Sequence[], workspaces: Workspaces): WorkingVocabulary {
  const V = params.config.vocab_size;
  const vocab = new WorkingVocabulary(V);
  for (const s of seqs) for (const t of s.rows) vocab.add(s.targets[t]!);
  for (const s of seqs) {
    const ws = workspaces.for(s.tokens.length);
    forward(params, s.tokens, ws, s.rows);
    for (const t of s.rows) for (const v of topTokens(ws.logits.subarray(t * V, (t + 1) * V), WORKING_TOP_TOKENS)) vocab.add(v);
  }
  return vocab;
}

/** [start, end) of the parameters a teach trains. */
function trainedRanges(params: Params, frozenEmbeddings: boolean): Array<[number, number]> | undefined {
  if (!frozenEmbeddings) return undefined;
  return trainedSpecs(params).map((s) => [s.offset, s.offset + s.size]);
}

function trainedSpecs(params: Params): ParamSpec[] {
  const frozen = new Set(["transformer.wte.weight", "transformer.wpe.weight"]);
  return paramSpecs(params.config).filter((s) => !frozen.has(s.key));
}

/**
 * The earlier lessons to rehearse: of the newest REHEARSE_CANDIDATES_MAX (other than the new
 * question), those the baseline answers wrong first, then those it answers right, newest first
 * within each; at most REHEARSE_MAX.
 */
async function chooseRehearsal(input: TeachInput, newQuestion: string, workspaces: Workspaces, fromPosition: (p: TaughtPair) => number): Promise<{ sample: Sequence[]; unrehearsed: number }> {
  const earlier = (input.rehearse ?? []).filter((p) => !newQuestion.trim() || p.question.trim() !== newQuestion.trim());
  const candidates = earlier.slice(-REHEARSE_CANDIDATES_MAX).reverse();
  const wrong: Sequence[] = [];
  const right: Sequence[] = [];
  for (const pair of candidates) {
    const seq = sequenceOf(pair, fromPosition(pair));
    // Teacher-forced only: only models that learn to stop rehearse, and for them that decides.
    ((await answersRight(input.baseline, seq, workspaces, undefined)).right ? right : wrong).push(seq);
  }
  const sample = [...wrong, ...right].slice(0, REHEARSE_MAX);
  return { sample, unrehearsed: earlier.length - sample.length };
}

export async function teach(input: TeachInput): Promise<TeachOutcome> {
  const { baseline, promptIds, answerIds, recipe } = input;
  if (answerIds.length === 0) throw new Error("teach: the answer is empty");
  const adamRecipe = recipe.name === "adam";
  // The course trains on every next-token prediction; ours only on the answer's.
  const fromPosition = (p: { promptIds: number[] }) => (adamRecipe ? p.promptIds.length - 1 : 0);
  const main = sequenceOf({ question: "", promptIds, answerIds, expected: input.expected }, fromPosition(input));
  const workspaces = new Workspaces(baseline);
  const rehearses = adamRecipe && baseline.config.n_embd > NARROW_MAX_WIDTH;
  const { sample, unrehearsed } = rehearses ? await chooseRehearsal(input, input.question ?? "", workspaces, fromPosition) : { sample: [], unrehearsed: adamRecipe ? (input.rehearse ?? []).length : 0 };
  const frozen = adamRecipe && input.frozenEmbeddings === true;
  const ranges = trainedRanges(baseline, frozen);
  const trainedKeys = frozen ? new Set(trainedSpecs(baseline).map((s) => s.key)) : undefined;
  const work = copyParams(baseline);
  const grads = viewParams(baseline.config);
  const adam = adamRecipe ? new AdamW(work.flat.length, { lr: recipe.lr }) : undefined;
  const losses: number[] = [];
  const givesUpOnStop = baseline.config.n_embd <= NARROW_MAX_WIDTH;
  // The order the rehearsed lessons are checked in: the last one found wrong first, so a step that
  // has not kept everything costs one check, not all of them.
  const order = sample.map((_, i) => i);
  // answer: undefined until greedy decoding says (a teacher-forced check that failed).
  let outcome: { delta: StateDict; residual: Float32Array; answer?: string } | undefined;
  let allKept = sample.length === 0;
  // The rehearsed lessons trained alongside: all of the sample, or none once the new lesson yields.
  let trained = [main, ...sample];
  // The newest weights that answered the new lesson, and the step they were first reached.
  let answered: typeof outcome;
  let firstAnsweredAt: number | undefined;
  const vocab = frozen ? workingVocabulary(work, [main, ...sample], workspaces) : undefined;
  // baseline + the delta as broadcast, rewritten in place at every check (a fresh copy per step
  // page-faults 13 MB in at classroom width); the teach's result is made again from its delta.
  const probe = copyParams(baseline);
  // Two residual buffers for makeDelta, taking turns: one may be the answered outcome's.
  const residuals = [new Float32Array(baseline.flat.length), new Float32Array(baseline.flat.length)];
  let steps = 0;
  while (steps < recipe.maxSteps) {
    if (firstAnsweredAt !== undefined && steps - firstAnsweredAt >= REHEARSE_PATIENCE_STEPS) break;
    if (trained.length > 1 && firstAnsweredAt === undefined && steps === REHEARSE_YIELD_STEPS) trained = [main];
    if (adam && givesUpOnStop && steps === Math.min(STOP_TOKEN_STEPS, recipe.maxSteps - 1)) {
      // Two numbers wide, the model often cannot both say the answer and stop after it: the loss
      // settles at ln 2, a tie between the answer and "\n" that fp16 rounding may tip either way.
      // Drop the closing newline: the answer then repeats ("Paris Paris"), which the course's
      // clean-up collapses to the taught answer.
      for (const s of [main, ...sample]) {
        s.weights[s.tokens.length - 2] = 0;
        s.rows.pop();
      }
    }
    grads.flat.fill(0);
    for (const s of trained) {
      const ws = workspaces.for(s.tokens.length);
      forward(work, s.tokens, ws, s.rows, vocab);
      const l = loss(work, ws, s.targets, s.weights, vocab);
      if (s === main) losses.push(l);
      backward(work, grads, s.tokens, ws, s.rows, { frozenEmbeddings: frozen, vocab });
    }
    if (adam) adam.step(work.flat, grads.flat, ranges);
    else {
      clipGradNorm(grads.flat, COURSE_CLIP_NORM);
      sgdStep(work.flat, grads.flat, recipe.lr);
    }
    steps++;
    if (adam || steps === recipe.maxSteps) {
      const made = makeDelta(baseline, work, input.carry, trainedKeys, residuals.find((r) => r !== answered?.residual));
      probe.flat.set(baseline.flat);
      if (made.delta.size > 0) mergeDelta(probe, made.delta, 1);
      // Teacher-forced first (one forward pass); greedy decoding only when that is not conclusive.
      // A model that learns to stop is right teacher-forced or not at all (greedy decoding decides
      // once, after the loop); a narrow one may be right only through the clean-up ("Paris Paris").
      const check = await answersRight(probe, main, workspaces, givesUpOnStop ? input.decode : undefined, vocab);
      outcome = { ...made, answer: check.right ? input.expected : check.answer };
      if (!check.right) continue;
      answered = outcome;
      firstAnsweredAt ??= steps;
      allKept = true;
      for (let k = 0; k < order.length; k++) {
        const i = order[k]!;
        if ((await answersRight(probe, sample[i]!, workspaces, undefined, vocab)).right) continue;
        order.splice(k, 1);
        order.unshift(i);
        allKept = false;
        break;
      }
      if (allKept) break;
    }
  }
  // Rehearsal that pulled the new lesson out again does not get the last word.
  if (answered && outcome!.answer !== input.expected) outcome = answered;
  // The same sum as the probe's at that step: mergeDelta is deterministic.
  const applied = copyParams(baseline);
  if (outcome!.delta.size > 0) mergeDelta(applied, outcome!.delta, 1);
  if (outcome!.answer === undefined) {
    const check = await answersRight(applied, main, workspaces, input.decode);
    outcome!.answer = check.right ? input.expected : check.answer!;
  }
  const notKept: string[] = [];
  if (!allKept) {
    for (const s of sample) if (!(await answersRight(applied, s, workspaces, input.decode)).right) notKept.push(s.pair.question);
  }
  return {
    ...outcome!, applied, answer: outcome!.answer, losses, steps, learned: outcome!.answer === input.expected,
    rehearsed: sample.map((s) => s.pair.question), notKept, unrehearsed,
  };
}
