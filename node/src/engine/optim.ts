// Optimizers over the flat parameter buffer; their state shares the Params layout.

/** The global L2 norm of a gradient buffer (tied weights live once in it, as in torch). */
export function gradNorm(grads: Float32Array): number {
  let s = 0;
  for (let i = 0; i < grads.length; i++) s += grads[i]! * grads[i]!;
  return Math.sqrt(s);
}

/** torch.nn.utils.clip_grad_norm_: scales grads down when their norm exceeds maxNorm. */
export function clipGradNorm(grads: Float32Array, maxNorm: number): number {
  const norm = gradNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! * coef;
  return norm;
}

/** Plain SGD, the course recipe's optimizer: p -= lr · g. */
export function sgdStep(params: Float32Array, grads: Float32Array, lr: number): void {
  for (let i = 0; i < params.length; i++) params[i] = params[i]! - lr * grads[i]!;
}

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** torch.optim.Adam's default moment decays (trust/bounds.ts derives the largest step from them). */
export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;

/** torch.optim.AdamW (decoupled weight decay; with weightDecay 0 it is torch.optim.Adam). */
export class AdamW {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;
  constructor(
    size: number,
    private readonly o: AdamWOptions,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** One step; with `ranges` ([start, end) in the flat buffer) only those parameters move, the rest stay bitwise as they are. */
  step(params: Float32Array, grads: Float32Array, ranges?: ReadonlyArray<readonly [number, number]>): void {
    const { lr, beta1 = ADAM_BETA1, beta2 = ADAM_BETA2, eps = 1e-8, weightDecay = 0 } = this.o;
    this.t++;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = Math.sqrt(1 - beta2 ** this.t);
    for (const [start, end] of ranges ?? [[0, params.length] as const]) this.update(params, grads, start, end, lr, beta1, beta2, eps, weightDecay, bc1, bc2);
  }

  private update(params: Float32Array, grads: Float32Array, start: number, end: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, bc1: number, bc2: number): void {
    const { m, v } = this;
    for (let i = start; i < end; i++) {
      const g = grads[i]!;
      let p = params[i]!;
      if (weightDecay) p -= lr * weightDecay * p;
      m[i] = beta1 * m[i]! + (1 - beta1) * g;
      v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
      params[i] = p - (lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / bc2 + eps));
    }
  }
}
