// The trust gate's one question, as a table: who signed, with which key, and how large the delta is.

import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { floatToHalf } from "../checkpoint/fp16.js";
import type { ParamSpec } from "../engine/params.js";
import type { Entry } from "../log/entry.js";
import { UNIT, type CheckedDelta } from "../log/exact-sum.js";
import { judge, type JudgeInput, type Judgement } from "./admission.js";
import { rawPublicKey } from "./keys.js";
import { parseRoster } from "./roster.js";
import { signEntry } from "./signature.js";

const PARAMS = 102_714;
const pair = (): { priv: KeyObject; b64: string } => {
  const k = generateKeyPairSync("ed25519");
  return { priv: k.privateKey, b64: Buffer.from(rawPublicKey(k.publicKey)).toString("base64") };
};
const pi1 = pair(), pi2 = pair(), pi2old = pair(), pi4 = pair(), stranger = pair();
const roster = parseRoster(`Pi-1 ${pi1.b64}\nPi-2 ${pi2.b64}\n!Pi-2 ${pi2old.b64}\n!Pi-4 ${pi4.b64}\n`);

function checked(values: number[]): CheckedDelta {
  const data = Uint16Array.from(values.map(floatToHalf));
  return { parts: [{ spec: {} as ParamSpec, data }], maxUnits: Math.max(...values.map(Math.abs)) / UNIT };
}
const teachSized = checked([0.02, -0.4, 1.7]);
const teach = (author: string, seq = 1): Entry => ({ author, seq, sha256: "ab".repeat(32), kind: "teach", base: "b", lesson: { question: "Q?", answer: "A" } });
const course = (author: string): Entry => ({ author, seq: 1_764_008_499, sha256: "cd".repeat(32), kind: "course", base: "b" });

const verdict = (o: Partial<JudgeInput> & Pick<JudgeInput, "entry">): Judgement =>
  judge({ sig: undefined, checked: teachSized, roster, acceptUnsigned: false, params: PARAMS, isIgnored: () => false, ...o });
const reason = (j: Judgement): string => ("refused" in j ? j.refused : `admitted:${j.admitted}`);

test("a member's entry signed with its roster key is admitted as signed", () => {
  assert.equal(reason(verdict({ entry: teach("Pi-1"), sig: signEntry(teach("Pi-1"), pi1.priv) })), "admitted:signed");
});

test("no signature → unsigned; signed by a stranger under a member's name → bad_signature; an unknown author → not_member", () => {
  assert.equal(reason(verdict({ entry: teach("Pi-1") })), "unsigned");
  assert.equal(reason(verdict({ entry: teach("Pi-1"), sig: signEntry(teach("Pi-1"), stranger.priv) })), "bad_signature");
  assert.equal(reason(verdict({ entry: teach("Mallory"), sig: signEntry(teach("Mallory"), stranger.priv) })), "not_member");
});

test("a member's signature on another entry does not carry over (a replay with a changed field)", () => {
  const sig = signEntry(teach("Pi-1", 1), pi1.priv);
  assert.equal(reason(verdict({ entry: teach("Pi-1", 2), sig })), "bad_signature");
});

test("revoked: signed by a revoked key of a re-enrolled member, or any entry of an author that is only revoked", () => {
  assert.equal(reason(verdict({ entry: teach("Pi-2"), sig: signEntry(teach("Pi-2"), pi2old.priv) })), "revoked");
  assert.equal(reason(verdict({ entry: teach("Pi-2"), sig: signEntry(teach("Pi-2"), pi2.priv) })), "admitted:signed");
  assert.equal(reason(verdict({ entry: teach("Pi-4"), sig: signEntry(teach("Pi-4"), pi4.priv) })), "revoked");
  assert.equal(reason(verdict({ entry: teach("Pi-4"), sig: signEntry(teach("Pi-4"), stranger.priv) })), "revoked");
});

test("--accept-unsigned admits unsigned course deltas of non-members only, never unsigned teaches or a member's name", () => {
  assert.equal(reason(verdict({ entry: course("Pi-course"), checked: checked([1e-6]) })), "unsigned");
  assert.equal(reason(verdict({ entry: course("Pi-course"), checked: checked([1e-6]), acceptUnsigned: true })), "admitted:unsigned");
  assert.equal(reason(verdict({ entry: teach("Pi-course"), acceptUnsigned: true })), "unsigned");
  assert.equal(reason(verdict({ entry: course("Pi-1"), checked: checked([1e-6]), acceptUnsigned: true })), "unsigned");
});

test("bounds apply to signed and unsigned alike: past them → out_of_bounds, vouched by the key when signed", () => {
  const big = checked([0.02, 40]);
  const j = verdict({ entry: teach("Pi-1"), sig: signEntry(teach("Pi-1"), pi1.priv), checked: big });
  assert.equal(reason(j), "out_of_bounds");
  assert.equal("refused" in j && j.vouchedBy, pi1.b64);
  // A course delta is held to the course recipe: a teach-sized change is far past it.
  const c = verdict({ entry: course("Pi-course"), checked: teachSized, acceptUnsigned: true });
  assert.equal(reason(c), "out_of_bounds");
  assert.equal("refused" in c && c.vouchedBy, undefined);
});

test("an ignored author is refused before its signature is looked at", () => {
  const j = verdict({ entry: teach("Pi-1"), sig: signEntry(teach("Pi-1"), pi1.priv), isIgnored: (a, k) => a === "Pi-1" && k === pi1.b64 });
  assert.equal(reason(j), "ignored_author");
});
