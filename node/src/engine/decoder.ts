// Token-by-token GPT-2 with a KV cache in TypeScript: what generation runs when ONNX Runtime is
// not used, and the reference the ONNX decoder is checked against.
// Shape legend: C channels, NH heads, V vocab, L cached positions.

import type { Params } from "./params.js";
import { encoderForward } from "./layers/encoder.js";
import { layernormForward } from "./layers/layernorm.js";
import { matmulForward } from "./layers/matmul.js";
import { attentionDecode } from "./layers/attention.js";
import { geluForward } from "./layers/gelu.js";
import { residualForward } from "./layers/residual.js";
import { lmHeadForward } from "./layers/lm-head.js";

/** Feeds tokens and returns the logits after the last one; what generation needs of a backend. */
export interface LogitsStepper {
  /** Forget the cache: the next feed starts at position 0. */
  reset(): void;
  /** Appends tokens to the context; logits (V) for the next token. */
  feed(tokens: readonly number[]): Promise<Float32Array>;
  /** Positions in the cache. */
  readonly length: number;
}

export class TsDecoder implements LogitsStepper {
  private pos = 0;
  private readonly k: Float32Array[]; // L of (P, C)
  private readonly v: Float32Array[]; // L of (P, C)
  private readonly x: Float32Array; // (C) residual stream
  private readonly ln: Float32Array; // (C)
  private readonly qkv: Float32Array; // (3C)
  private readonly atty: Float32Array; // (C)
  private readonly proj: Float32Array; // (C)
  private readonly fch: Float32Array; // (4C)
  private readonly fchGelu: Float32Array; // (4C)
  private readonly scores: Float32Array; // (P)
  private readonly stat = new Float32Array(2);
  readonly logits: Float32Array; // (V)

  constructor(private readonly params: Params) {
    const { n_layer, n_positions, n_embd: C, vocab_size } = params.config;
    this.x = new Float32Array(C);
    this.ln = new Float32Array(C);
    this.qkv = new Float32Array(3 * C);
    this.atty = new Float32Array(C);
    this.proj = new Float32Array(C);
    this.fch = new Float32Array(4 * C);
    this.fchGelu = new Float32Array(4 * C);
    this.scores = new Float32Array(n_positions);
    this.logits = new Float32Array(vocab_size);
    this.k = Array.from({ length: n_layer }, () => new Float32Array(n_positions * C));
    this.v = Array.from({ length: n_layer }, () => new Float32Array(n_positions * C));
  }

  get length(): number {
    return this.pos;
  }

  reset(): void {
    this.pos = 0;
  }

  async feed(tokens: readonly number[]): Promise<Float32Array> {
    for (const t of tokens) this.step(t);
    return this.logits;
  }

  /** One position through every layer; logits (V) when `withLogits`. */
  step(token: number, withLogits = true): Float32Array {
    const { params } = this;
    const { n_embd: C, n_head: NH, vocab_size: V, n_positions: P, layer_norm_epsilon: eps } = params.config;
    if (this.pos >= P) throw new Error(`context full: the model takes at most ${P} positions`);
    if (!Number.isInteger(token) || token < 0 || token >= V) throw new Error(`token ${token} is outside the vocabulary of ${V}`);
    const mean = this.stat.subarray(0, 1);
    const rstd = this.stat.subarray(1, 2);
    encoderForward(this.x, [token], params.wte, params.wpe, 1, C, this.pos);
    params.blocks.forEach((w, l) => {
      layernormForward(this.ln, mean, rstd, this.x, w.ln1_w, w.ln1_b, 1, C, eps);
      matmulForward(this.qkv, this.ln, w.attn_w, w.attn_b, 1, C, 3 * C);
      this.k[l]!.set(this.qkv.subarray(C, 2 * C), this.pos * C);
      this.v[l]!.set(this.qkv.subarray(2 * C, 3 * C), this.pos * C);
      attentionDecode(this.atty, this.scores, this.qkv.subarray(0, C), this.k[l]!, this.v[l]!, this.pos + 1, C, NH);
      matmulForward(this.proj, this.atty, w.attnproj_w, w.attnproj_b, 1, C, C);
      residualForward(this.x, this.x, this.proj, C);
      layernormForward(this.ln, mean, rstd, this.x, w.ln2_w, w.ln2_b, 1, C, eps);
      matmulForward(this.fch, this.ln, w.fc_w, w.fc_b, 1, C, 4 * C);
      geluForward(this.fchGelu, this.fch, 4 * C);
      matmulForward(this.proj, this.fchGelu, w.fcproj_w, w.fcproj_b, 1, 4 * C, C);
      residualForward(this.x, this.x, this.proj, C);
    });
    this.pos++;
    if (withLogits) {
      layernormForward(this.ln, mean, rstd, this.x, params.lnf_w, params.lnf_b, 1, C, eps);
      lmHeadForward(this.logits, this.ln, params.wte, 1, C, V);
    }
    return this.logits;
  }
}
