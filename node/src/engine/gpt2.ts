// The GPT-2 forward and backward passes over a whole sequence, composed from layers/.
// Shape legend: T positions, C channels, NH heads, V vocab, L layers.
// Backward is the forward list reversed; gradients land in a Params-layout buffer.

import type { Params } from "./params.js";
import { encoderBackward, encoderForward } from "./layers/encoder.js";
import { layernormBackward, layernormForward } from "./layers/layernorm.js";
import { matmulBackward, matmulForward } from "./layers/matmul.js";
import { attentionBackward, attentionForward } from "./layers/attention.js";
import { geluBackward, geluForward } from "./layers/gelu.js";
import { residualForward } from "./layers/residual.js";
import { lmHeadBackward, lmHeadForward } from "./layers/lm-head.js";
import { crossEntropyForwardBackward } from "./layers/cross-entropy.js";
import type { WorkingVocabulary } from "./working-vocabulary.js";

interface LayerActs {
  ln1: Float32Array; // (T, C)
  ln1Mean: Float32Array; // (T)
  ln1Rstd: Float32Array; // (T)
  qkv: Float32Array; // (T, 3C)
  atty: Float32Array; // (T, C)
  att: Float32Array; // (NH, T, T)
  attproj: Float32Array; // (T, C)
  res2: Float32Array; // (T, C)
  ln2: Float32Array; // (T, C)
  ln2Mean: Float32Array; // (T)
  ln2Rstd: Float32Array; // (T)
  fch: Float32Array; // (T, 4C)
  fchGelu: Float32Array; // (T, 4C)
  fcproj: Float32Array; // (T, C)
  res3: Float32Array; // (T, C)
}

/** Every activation of one forward pass of length T, kept for backward and reused across calls. */
export interface Workspace {
  T: number;
  encoded: Float32Array; // (T, C)
  layers: LayerActs[];
  lnf: Float32Array; // (T, C)
  lnfMean: Float32Array; // (T)
  lnfRstd: Float32Array; // (T)
  logits: Float32Array; // (T, V)
  dlogits: Float32Array; // (T, V)
}

export function createWorkspace(params: Params, T: number): Workspace {
  const { n_embd: C, n_head: NH, n_layer: L, vocab_size: V, n_positions } = params.config;
  if (T < 1 || T > n_positions) throw new Error(`sequence of ${T} tokens: the model takes 1 to ${n_positions}`);
  const f = (n: number) => new Float32Array(n);
  return {
    T,
    encoded: f(T * C),
    layers: Array.from({ length: L }, () => ({
      ln1: f(T * C), ln1Mean: f(T), ln1Rstd: f(T), qkv: f(T * 3 * C), atty: f(T * C), att: f(NH * T * T),
      attproj: f(T * C), res2: f(T * C), ln2: f(T * C), ln2Mean: f(T), ln2Rstd: f(T), fch: f(T * 4 * C),
      fchGelu: f(T * 4 * C), fcproj: f(T * C), res3: f(T * C),
    })),
    lnf: f(T * C),
    lnfMean: f(T),
    lnfRstd: f(T),
    logits: f(T * V),
    dlogits: f(T * V),
  };
}

/**
 * Fills ws with every activation and ws.logits (T, V) for the tokens. With `rows`, only those
 * positions' logits are computed (the LM head is most of the work; a masked loss reads no others).
 * With `vocab`, only its K tokens are scored: ws.logits is (T, K) then.
 */
export function forward(params: Params, tokens: ArrayLike<number>, ws: Workspace, rows?: ArrayLike<number>, vocab?: WorkingVocabulary): Float32Array {
  const { n_embd: C, n_head: NH, vocab_size: V, layer_norm_epsilon: eps } = params.config;
  const T = ws.T;
  if (tokens.length !== T) throw new Error(`forward: ${tokens.length} tokens for a workspace of ${T}`);
  for (let t = 0; t < T; t++) {
    const tok = tokens[t]!;
    if (!Number.isInteger(tok) || tok < 0 || tok >= V) throw new Error(`forward: token ${tok} at ${t} is outside the vocabulary of ${V}`);
  }
  encoderForward(ws.encoded, tokens, params.wte, params.wpe, T, C);
  let residual = ws.encoded;
  params.blocks.forEach((w, l) => {
    const a = ws.layers[l]!;
    layernormForward(a.ln1, a.ln1Mean, a.ln1Rstd, residual, w.ln1_w, w.ln1_b, T, C, eps);
    matmulForward(a.qkv, a.ln1, w.attn_w, w.attn_b, T, C, 3 * C);
    attentionForward(a.atty, a.att, a.qkv, T, C, NH);
    matmulForward(a.attproj, a.atty, w.attnproj_w, w.attnproj_b, T, C, C);
    residualForward(a.res2, residual, a.attproj, T * C);
    layernormForward(a.ln2, a.ln2Mean, a.ln2Rstd, a.res2, w.ln2_w, w.ln2_b, T, C, eps);
    matmulForward(a.fch, a.ln2, w.fc_w, w.fc_b, T, C, 4 * C);
    geluForward(a.fchGelu, a.fch, T * 4 * C);
    matmulForward(a.fcproj, a.fchGelu, w.fcproj_w, w.fcproj_b, T, 4 * C, C);
    residualForward(a.res3, a.res2, a.fcproj, T * C);
    residual = a.res3;
  });
  layernormForward(ws.lnf, ws.lnfMean, ws.lnfRstd, residual, params.lnf_w, params.lnf_b, T, C, eps);
  lmHeadForward(ws.logits, ws.lnf, params.wte, T, C, V, rows, vocab?.ids);
  return ws.logits;
}

/**
 * Next-token targets and weights for a sequence: position t predicts tokens[t+1]. With
 * `fromPosition`, only predictions of tokens at index > fromPosition count (the answer).
 */
export function nextTokenTargets(tokens: ArrayLike<number>, fromPosition = 0): { targets: Int32Array; weights: Float32Array } {
  const T = tokens.length;
  const targets = new Int32Array(T);
  const weights = new Float32Array(T);
  for (let t = 0; t + 1 < T; t++) {
    targets[t] = tokens[t + 1]!;
    weights[t] = t >= fromPosition ? 1 : 0;
  }
  return { targets, weights };
}

/**
 * Mean cross-entropy of the last forward; fills ws.dlogits for backward. With the forward's `vocab`,
 * the softmax is over its tokens only (every weighted target must be one of them).
 */
export function loss(params: Params, ws: Workspace, targets: ArrayLike<number>, weights: ArrayLike<number>, vocab?: WorkingVocabulary): number {
  if (!vocab) return crossEntropyForwardBackward(ws.dlogits, ws.logits, targets, weights, ws.T, params.config.vocab_size);
  return crossEntropyForwardBackward(ws.dlogits, ws.logits, vocab.mapTargets(targets, weights), weights, ws.T, vocab.size);
}

/** Scratch for the backward pass: one set of activation gradients, reused layer by layer. */
class BackwardScratch {
  constructor(
    readonly T: number,
    readonly C: number,
    readonly NH: number,
    readonly dres = new Float32Array(T * C),
    readonly dln = new Float32Array(T * C),
    readonly dfchGelu = new Float32Array(T * 4 * C),
    readonly dfch = new Float32Array(T * 4 * C),
    readonly datty = new Float32Array(T * C),
    readonly dqkv = new Float32Array(T * 3 * C),
    readonly datt = new Float32Array(NH * T * T),
  ) {}
}

const scratchCache = new WeakMap<Workspace, BackwardScratch>();

export interface BackwardOptions {
  /** The token and position embeddings are frozen: their gradients are left untouched (and not computed). */
  frozenEmbeddings?: boolean;
  /** The working vocabulary the forward scored (frozen embeddings only). */
  vocab?: WorkingVocabulary;
}

/**
 * Adds ∂loss/∂params into grads (same layout as params) from ws.dlogits. `rows` lists the
 * positions with non-zero dlogits (all when omitted).
 */
export function backward(params: Params, grads: Params, tokens: ArrayLike<number>, ws: Workspace, rows?: ArrayLike<number>, opts: BackwardOptions = {}): void {
  const { n_embd: C, n_head: NH, vocab_size: V, n_layer: L } = params.config;
  const T = ws.T;
  let s = scratchCache.get(ws);
  if (!s) scratchCache.set(ws, (s = new BackwardScratch(T, C, NH)));
  const { dres, dln, dfchGelu, dfch, datty, dqkv, datt } = s;
  dres.fill(0);
  dln.fill(0);
  if (opts.vocab && !opts.frozenEmbeddings) throw new Error("backward: a working vocabulary needs frozen embeddings");
  lmHeadBackward(dln, opts.frozenEmbeddings ? null : grads.wte, ws.dlogits, ws.lnf, params.wte, T, C, V, rows, opts.vocab?.ids);
  const last = L > 0 ? ws.layers[L - 1]!.res3 : ws.encoded;
  layernormBackward(dres, grads.lnf_w, grads.lnf_b, dln, last, params.lnf_w, ws.lnfMean, ws.lnfRstd, T, C);
  for (let l = L - 1; l >= 0; l--) {
    const w = params.blocks[l]!;
    const g = grads.blocks[l]!;
    const a = ws.layers[l]!;
    const residual = l === 0 ? ws.encoded : ws.layers[l - 1]!.res3;
    // dres is ∂loss/∂res3 here; res3 = res2 + fcproj passes it to both unchanged.
    dfchGelu.fill(0);
    matmulBackward(dfchGelu, g.fcproj_w, g.fcproj_b, dres, a.fchGelu, w.fcproj_w, T, 4 * C, C);
    dfch.fill(0);
    geluBackward(dfch, a.fch, dfchGelu, T * 4 * C);
    dln.fill(0);
    matmulBackward(dln, g.fc_w, g.fc_b, dfch, a.ln2, w.fc_w, T, C, 4 * C);
    layernormBackward(dres, g.ln2_w, g.ln2_b, dln, a.res2, w.ln2_w, a.ln2Mean, a.ln2Rstd, T, C);
    // dres is ∂loss/∂res2 now; res2 = residual + attproj.
    datty.fill(0);
    matmulBackward(datty, g.attnproj_w, g.attnproj_b, dres, a.atty, w.attnproj_w, T, C, C);
    dqkv.fill(0);
    attentionBackward(dqkv, datt, datty, a.qkv, a.att, T, C, NH);
    dln.fill(0);
    matmulBackward(dln, g.attn_w, g.attn_b, dqkv, a.ln1, w.attn_w, T, C, 3 * C);
    layernormBackward(dres, g.ln1_w, g.ln1_b, dln, residual, w.ln1_w, a.ln1Mean, a.ln1Rstd, T, C);
  }
  if (!opts.frozenEmbeddings) encoderBackward(grads.wte, grads.wpe, dres, tokens, T, C);
}
