// The gate counts every verdict by reason and how; without a roster it is off and cannot be turned on.

import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { floatToHalf } from "../checkpoint/fp16.js";
import type { ParamSpec } from "../engine/params.js";
import type { Entry } from "../log/entry.js";
import { UNIT } from "../log/exact-sum.js";
import { TrustGate } from "./gate.js";
import { rawPublicKey } from "./keys.js";
import { parseRoster } from "./roster.js";
import { signEntry } from "./signature.js";

const k = generateKeyPairSync("ed25519");
const roster = parseRoster(`Pi-1 ${Buffer.from(rawPublicKey(k.publicKey)).toString("base64")}\n`);
const checked = { parts: [{ spec: {} as ParamSpec, data: Uint16Array.of(floatToHalf(0.5)) }], maxUnits: 0.5 / UNIT };
const entry = (author: string, seq: number): Entry => ({ author, seq, sha256: "ab".repeat(32), kind: "teach", base: "b", lesson: { question: "q", answer: "a" } });

test("verdicts are counted by reason and by how, per author, and shown in status", () => {
  const g = new TrustGate({ roster, acceptUnsigned: false, params: 100 });
  assert.equal(g.isOn, true);
  assert.ok("admitted" in g.judge(entry("Pi-1", 1), signEntry(entry("Pi-1", 1), k.privateKey), checked));
  assert.ok("refused" in g.judge(entry("Pi-9", 1), undefined, checked));
  g.refusedAgain("unsigned");
  g.admitSelf();
  const s = g.status();
  assert.equal(s.members, 1);
  assert.deepEqual([s.admitted.signed, s.admitted.self, s.refused.unsigned], [1, 1, 2]);
  assert.deepEqual(s.authors, [{ id: "Pi-1", admitted: 1, refused: 0, ignored: false }, { id: "Pi-9", admitted: 0, refused: 1, ignored: false }]);
});

test("without a roster the gate is off: nothing to judge, and a roster cannot be slipped in while running", () => {
  const g = new TrustGate({ roster: undefined, acceptUnsigned: false, params: 100 });
  assert.equal(g.isOn, false);
  g.setRoster(roster);
  assert.equal(g.isOn, false);
  assert.equal(g.isMember("Pi-1"), false);
  assert.throws(() => g.judge(entry("Pi-1", 1), undefined, checked), /trust is off/);
  assert.deepEqual(g.status().refused, { unsigned: 0, not_member: 0, bad_signature: 0, revoked: 0, out_of_bounds: 0, ignored_author: 0 });
});
