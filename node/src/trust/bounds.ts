// How large a delta one teach can make, from the recipes in engine/teach.ts. A delta past these is
// refused whole, whoever signed it: a member's stolen key, or a member's node gone wrong, can then
// move the fleet's weights by at most one teach's worth per entry (and reputation.ts stops it after
// a few). Refused rather than clipped: a clipped delta is a delta nobody made — its author's
// signature covers the file's sha256, so the clipped one would be a different, unsigned entry, and
// the nodes that clipped would disagree with any that did not. Refusing keeps every node's weights a
// function of signed entries alone.
//
// Teach (Adam, lr 0.02, at most 200 steps). Adam's step is lr · m̂/(√v̂ + ε) per parameter; m̂ and
// v̂ are averages of g and g², so |m̂| ≤ √v̂ whenever the gradient's size is steady, and the first
// step is exactly lr · sign(g) (every parameter with a gradient moves by lr). So |Δ| ≤ lr · steps
// = 4 and ‖Δ‖₂ ≤ lr · steps · √P (P parameters). Kingma & Ba's worst case per step is
// lr · (1−β1)/√(1−β2) ≈ 3.2·lr, reached only by a lone gradient spike, not by 200 steps of one lesson.
// Measured on the embedded tiny-gpt2 (102,714 parameters; bench/trust/main.ts teaches the lessons
// and prints them): 1 step: max |Δ| 0.020, ‖Δ‖₂ 6.34 (= lr·√P: every parameter moved by lr);
// 21 steps: 0.44, 137; 51 steps: 1.09, 344; 200 steps (not learned): 1.75 and 1.74, 446 and 545.
// The bounds, lr·steps·(1 + 25 %) = 5.0 and lr·steps·√P·(1 + 25 %) = 1,602, sit 2.9× above the
// largest max and the largest norm measured; what fp16 rounding carries from one teach to the
// next (below 2⁻¹¹ of a value) is far inside the margin. A real delta scaled by 100 passes them only
// when the teach took one or two steps (0.02 × 100 = 2.0): the bound says what one teach can do,
// not what this one did.
//
// Course (plain SGD, lr 1e-6, 5 steps, gradient norm clipped to 1): ‖Δ‖₂ ≤ lr · steps · clip =
// 5e-6, and so is every |Δ|; fp16 rounding adds at most 2⁻²⁵ per value. The two real course deltas
// (test/fixtures/course/) hold max |Δ| 1.5e-6 and 1.2e-6, ‖Δ‖₂ 4.5e-6 and 2.4e-6 (tied weights once).

import { halfToFloat } from "../checkpoint/fp16.js";
import { COURSE_CLIP_NORM, RECIPES } from "../engine/teach.js";
import type { EntryKind } from "../log/entry.js";
import { UNIT, type CheckedDelta } from "../log/exact-sum.js";

export interface Bounds {
  /** Largest |value| of any parameter's change. */
  maxAbs: number;
  /** Largest L2 norm of the whole change (each parameter once: tied weights count once). */
  l2: number;
}

/** Above what the recipe's arithmetic allows: room for rounding carries, never for a second teach. */
export const BOUNDS_MARGIN = 0.25;
/** Half the smallest fp16 step: the most rounding a value of a course delta can gain. */
const FP16_HALF_UNIT = UNIT / 2;

/** What one teach (the default recipe) can make on a model of `params` parameters. */
export function teachBounds(params: number): Bounds {
  const { lr, maxSteps } = RECIPES.adam;
  return { maxAbs: lr * maxSteps * (1 + BOUNDS_MARGIN), l2: lr * maxSteps * Math.sqrt(params) * (1 + BOUNDS_MARGIN) };
}

/** What one course teach can make: SGD with the gradient's norm clipped. */
export function courseBounds(params: number): Bounds {
  const { lr, maxSteps } = RECIPES.course;
  const move = lr * maxSteps * COURSE_CLIP_NORM;
  return { maxAbs: (move + FP16_HALF_UNIT) * (1 + BOUNDS_MARGIN), l2: (move + Math.sqrt(params) * FP16_HALF_UNIT) * (1 + BOUNDS_MARGIN) };
}

/** The bounds for an entry of `kind`: course deltas come from the course recipe, ours from the default. */
export function boundsFor(kind: EntryKind, params: number): Bounds {
  return kind === "course" ? courseBounds(params) : teachBounds(params);
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
