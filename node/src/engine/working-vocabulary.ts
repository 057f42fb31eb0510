// The tokens a training step scores when the LM head is frozen (teach.ts says when that is sound):
// a softmax over K of them instead of all V. Tokens are only ever added, so a logit row's k-th
// entry names the same token for the whole teach.

export class WorkingVocabulary {
  /** (K) the tokens, in the order they were added: logits[t * K + k] is ids[k]'s. */
  readonly ids: number[] = [];
  /** (V) each token's k, or -1. */
  private readonly index: Int32Array;

  constructor(readonly vocabSize: number) {
    this.index = new Int32Array(vocabSize).fill(-1);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Adds the token if it is new; true when it was. */
  add(token: number): boolean {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocabSize) throw new Error(`working vocabulary: token ${token} is outside the vocabulary of ${this.vocabSize}`);
    if (this.index[token] !== -1) return false;
    this.index[token] = this.ids.length;
    this.ids.push(token);
    return true;
  }

  /** The token's k, or -1 when it is not in. */
  indexOf(token: number): number {
    return this.index[token] ?? -1;
  }

  /** Targets (T) as the working vocabulary's k: every weighted target must be in it. */
  mapTargets(targets: ArrayLike<number>, weights: ArrayLike<number>): Int32Array {
    const out = new Int32Array(targets.length);
    for (let t = 0; t < targets.length; t++) {
      if (!weights[t]) continue;
      const k = this.indexOf(targets[t]!);
      if (k < 0) throw new Error(`working vocabulary: target token ${targets[t]} at ${t} is not in it`);
      out[t] = k;
    }
    return out;
  }
}

/** The `count` highest-scoring tokens of one logit row (V), highest first. */
export function topTokens(row: Float32Array, count: number): number[] {
  const top: number[] = [];
  for (let v = 0; v < row.length; v++) {
    const x = row[v]!;
    if (top.length === count && x <= row[top[count - 1]!]!) continue;
    let i = Math.min(top.length, count - 1);
    top[i] = v;
    while (i > 0 && row[top[i - 1]!]! < x) {
      top[i] = top[i - 1]!;
      top[i - 1] = v;
      i--;
    }
  }
  return top;
}
