// Whether an entry may change this node's model: one judgement per entry, before it is kept.
//
//   1. its author is ignored (reputation.ts)                           → ignored_author
//   2. no signature: a course delta from a non-member, with --accept-unsigned → admitted "unsigned";
//      otherwise (our nodes always sign; a bare delta under a member's name is a forgery) → unsigned
//   3. signed by the author's member key                               → on to 4
//      signed by one of the author's revoked keys, or the author is only revoked → revoked
//      the author is a member but the signature is not its key's     → bad_signature
//      the author is on no roster line                                → not_member
//   4. the delta's size within what one teach can make (bounds.ts)    → admitted "signed", else out_of_bounds
// Bounds apply to unsigned entries too (after 2). Cheap checks come first: a refusal by name or
// signature costs one Ed25519 verify at most, and never the pass over the delta that bounds take.

import type { Entry } from "../log/entry.js";
import type { CheckedDelta } from "../log/exact-sum.js";
import { boundsFor, measure, outOfBounds, type Bounds } from "./bounds.js";
import type { Roster } from "./roster.js";
import { verifyEntry } from "./signature.js";

export const REFUSALS = ["unsigned", "not_member", "bad_signature", "revoked", "out_of_bounds", "ignored_author"] as const;
export type Refusal = (typeof REFUSALS)[number];
/** How an entry was admitted: a member's signature, unsigned (--accept-unsigned), or our own teach. */
export const ADMISSIONS = ["signed", "unsigned", "self"] as const;
export type Admission = (typeof ADMISSIONS)[number];

export type Judgement =
  | { admitted: Admission; size?: Bounds }
  /** `vouchedBy`: the author's member key, when its signature was good (reputation counts only these). */
  | { refused: Refusal; message: string; vouchedBy?: string };

export interface JudgeInput {
  entry: Entry;
  sig: string | undefined;
  /** The delta as ledger.check decoded it (all of it finite, every tensor ours). */
  checked: CheckedDelta;
  roster: Roster;
  acceptUnsigned: boolean;
  /** Parameters of the model (for the L2 bound). */
  params: number;
  isIgnored: (author: string, key: string | undefined) => boolean;
}

export function judge(i: JudgeInput): Judgement {
  const { entry, sig, roster } = i;
  const member = roster.members.get(entry.author);
  if (i.isIgnored(entry.author, member?.b64)) {
    return { refused: "ignored_author", message: `${entry.author} is ignored after repeated refusals of its signed entries; re-enrol it with a new key` };
  }
  let vouchedBy: string | undefined;
  if (sig === undefined) {
    if (!i.acceptUnsigned) return { refused: "unsigned", message: `entry by ${entry.author} carries no signature (a course node's delta: start with --accept-unsigned to take them)` };
    if (entry.kind !== "course") return { refused: "unsigned", message: `a ${entry.kind} entry by ${entry.author} carries no signature; DeltaFleet nodes sign every entry they make` };
    if (member) return { refused: "unsigned", message: `an unsigned delta under the name of member ${entry.author}, whose entries are always signed` };
  } else if (member && verifyEntry(entry, sig, member.key)) {
    vouchedBy = member.b64;
  } else {
    const revoked = roster.revoked.get(entry.author) ?? [];
    if ((!member && revoked.length > 0) || revoked.some((k) => verifyEntry(entry, sig, k.key))) {
      return { refused: "revoked", message: `${entry.author}'s key was revoked in the roster` };
    }
    if (member) return { refused: "bad_signature", message: `the signature on ${entry.author}'s entry is not made by its roster key` };
    return { refused: "not_member", message: `${entry.author} is not on the roster` };
  }
  const size = measure(i.checked);
  const why = outOfBounds(size, boundsFor(entry.kind, i.params));
  if (why) return { refused: "out_of_bounds", message: `entry by ${entry.author}: ${why}`, ...(vouchedBy ? { vouchedBy } : {}) };
  return { admitted: vouchedBy ? "signed" : "unsigned", size };
}
