// How large a delta one teach can make, from the recipes in engine/teach.ts. A delta past these is
// refused whole, whoever signed it: a member's stolen key, or a member's node gone wrong, can then
// move the fleet's weights by at most one teach's worth per entry (and reputation.ts stops it after
// a few). Refused rather than clipped: a clipped delta is a delta nobody made — its author's
// signature covers the file's sha256, so the clipped one would be a different, unsigned entry, and
// the nodes that clipped would disagree with any that did not. Refusing keeps every node's weights a
// function of signed entries alone.
//
// Teach (Adam, lr 0.02, at most 200 steps). Adam moves a parameter by lr · m̂/(√v̂ + ε) per step;
// Kingma & Ba (§2.1) bound that effective step by lr · (1−β1)/√(1−β2) ≈ 3.16·lr (β1 0.9, β2 0.999),
// reached when a lone large gradient follows small ones; while a gradient keeps its size it is
// about lr (the first step is exactly lr · sign(g)). So a teach moves a parameter by at most
// lr · steps · 3.16 = 12.65, and the whole change by at most that times √P (P parameters); what fp16
// rounding carries from one teach into the next (below 2⁻¹¹ of a value) adds 0.1 %. A real teach
// stays far inside: bench/trust/main.ts teaches lessons on the embedded tiny-gpt2 (102,714
// parameters), each from the base, and prints max |Δ| and ‖Δ‖₂: 1 step 0.020 and 6.3 (= lr·√P:
// every parameter moved by lr); 18-21 steps 0.36-0.44 and 99-137; 200 steps (not learned) 2.91 and
// 443 — 0.73·lr per step at most, 4.3× under the max bound (12.66) and 9× under the L2 bound (4,058).
// A real delta ×100 passes only if its teach took a step or two (0.02 × 100 = 2.0): the bound says
// what one teach can do, not what this one did; the signature says who did it.
//
// Course (plain SGD, lr 1e-6, 5 steps, gradient norm clipped to 1): ‖Δ‖₂ ≤ lr · steps · clip =
// 5e-6, and so is every |Δ|; fp16 rounding adds at most 2⁻²⁵ per value. The two real course deltas
// (test/fixtures/course/) hold max |Δ| 1.5e-6 and 1.2e-6, ‖Δ‖₂ 4.5e-6 and 2.4e-6 (tied weights once).

import { halfToFloat } from "../checkpoint/fp16.js";
import { ADAM_BETA1, ADAM_BETA2 } from "../engine/optim.js";
import { COURSE_CLIP_NORM, RECIPES, ROUND_RECIPE } from "../engine/teach.js";
import type { EntryKind } from "../log/entry.js";
import { UNIT, type CheckedDelta } from "../log/exact-sum.js";

export interface Bounds {
  /** Largest |value| of any parameter's change. */
  maxAbs: number;
  /** Largest L2 norm of the whole change (each parameter once: tied weights count once). */
  l2: number;
}

/** Adam's largest effective step in units of lr (Kingma & Ba §2.1), ≈ 3.16 with the teach's β1 0.9, β2 0.999. */
const ADAM_STEP_BOUND = (1 - ADAM_BETA1) / Math.sqrt(1 - ADAM_BETA2);
/** What the carry of fp16 rounding (≤ 2⁻¹¹ of a value) can add to a teach's delta. */
const CARRY_ALLOWANCE = 1 + 2 ** -10;
/** Half the smallest fp16 step: the most rounding a value of a course delta can gain. */
const FP16_HALF_UNIT = UNIT / 2;

/** What one teach (the default recipe) can make on a model of `params` parameters. */
export function teachBounds(params: number): Bounds {
  const { lr, maxSteps } = RECIPES.adam;
  const maxAbs = lr * maxSteps * ADAM_STEP_BOUND * CARRY_ALLOWANCE;
  return { maxAbs, l2: maxAbs * Math.sqrt(params) };
}

/**
 * What one training round can make: each member's update is at most maxSteps Adam steps (one per
 * pair of a shard capped at that many), and a weighted average (weights ≥ 0, summing to 1) of
 * vectors within a bound is within it — per value and in L2. fp16 rounding of the average adds the
 * same 0.1 % allowance as a teach's carry.
 */
export function roundBounds(params: number): Bounds {
  const { lr, maxSteps } = ROUND_RECIPE;
  const maxAbs = lr * maxSteps * ADAM_STEP_BOUND * CARRY_ALLOWANCE;
  return { maxAbs, l2: maxAbs * Math.sqrt(params) };
}

/** What one course teach can make: SGD with the gradient's norm clipped, then rounded to fp16. */
export function courseBounds(params: number): Bounds {
  const { lr, maxSteps } = RECIPES.course;
  const move = lr * maxSteps * COURSE_CLIP_NORM;
  return { maxAbs: move + FP16_HALF_UNIT, l2: move + Math.sqrt(params) * FP16_HALF_UNIT };
}

/** The bounds for an entry of `kind`: course deltas from the course recipe, rounds from the round recipe, teaches from the default. */
export function boundsFor(kind: EntryKind, params: number): Bounds {
  return kind === "course" ? courseBounds(params) : kind === "round" ? roundBounds(params) : teachBounds(params);
}

const HALF_VALUES = (() => {
  const t = new Float64Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = halfToFloat(h);
  return t;
})();

/** A checked delta's size: its largest |value| and its L2 norm, each parameter once. */
export function measure(checked: CheckedDelta): Bounds {
  let sq = 0;
  for (const { data } of checked.parts) {
    for (let i = 0; i < data.length; i++) {
      const v = HALF_VALUES[data[i]!]!;
      sq += v * v;
    }
  }
  return { maxAbs: checked.maxUnits * UNIT, l2: Math.sqrt(sq) };
}

/** Why `size` is past `bounds`, or null when it is within them. */
export function outOfBounds(size: Bounds, bounds: Bounds): string | null {
  if (!(size.maxAbs <= bounds.maxAbs)) return `max |value| ${fmt(size.maxAbs)} is past ${fmt(bounds.maxAbs)}, the most one teach can move a parameter`;
  if (!(size.l2 <= bounds.l2)) return `L2 norm ${fmt(size.l2)} is past ${fmt(bounds.l2)}, the most one teach can change the weights`;
  return null;
}

function fmt(n: number): string {
  return n >= 0.01 ? String(Math.round(n * 1000) / 1000) : n.toExponential(2);
}
