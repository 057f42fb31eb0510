// A job's messages: each decodes from its own encoding, and untrusted bytes in any other shape are
// refused with the reason (the receive path never throws).

import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeGossipCall, decodeRoundCall, decodeStatus, decodeUpdate, encodeGossipCall, encodeRoundCall, encodeStatus, encodeUpdate, idleStatus, type RoundCall } from "./wire.js";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const call: RoundCall = { job: "jx-01", r: 2, rounds: 3, coordinator: "Pi-1", after: "Pi-1~1~" + "a".repeat(64), pairs: [{ question: "2+2?", answer: "4" }] };

test("a round call, an update, a gossip call and a status decode from their encodings", () => {
  assert.deepEqual(decodeRoundCall(encodeRoundCall(call)), call);
  const delta = new Uint8Array([1, 2, 3, 10, 0]);
  assert.deepEqual(decodeUpdate(encodeUpdate({ job: "jx-01", r: 2, pairs: 46, loss: 4.5 }, delta)), { header: { job: "jx-01", r: 2, pairs: 46, loss: 4.5 }, delta });
  const g = { job: "jx-01", rounds: 3, seeder: "Pi-1", members: ["Pi-1", "Pi-2"], stragglerTimeoutS: 10, pairs: call.pairs };
  assert.deepEqual(decodeGossipCall(encodeGossipCall(g)), g);
  const s = { ...idleStatus(), job: "jx-01", state: "running" as const, coordinator: "Pi-1", round: 2, rounds: 3, members: ["Pi-1", "Pi-2"], loss: [5.1], lossBefore: 10.8, bytes: [1000], entries: ["e1"], digests: ["abc"], startedAt: 1, stragglers: [{ round: 1, node: "Pi-2" }] };
  assert.deepEqual(decodeStatus(encodeStatus(s)), s);
});

test("messages in another shape are refused with what is wrong", () => {
  assert.match(String(decodeRoundCall(new Uint8Array([0xff]))), /not UTF-8 JSON/);
  assert.match(String(decodeRoundCall(enc({ ...call, r: 4 }))), /r must be 1..rounds/);
  assert.match(String(decodeRoundCall(enc({ ...call, coordinator: "pi|1" }))), /coordinator must be a node id/);
  assert.match(String(decodeRoundCall(enc({ ...call, pairs: [{ question: "q" }] }))), /answer must be non-empty text/);
  assert.match(String(decodeUpdate(new TextEncoder().encode("DFU2\n{}\n"))), /not DFU1/);
  assert.match(String(decodeUpdate(new TextEncoder().encode("DFU1\nno header"))), /no header line/);
  assert.match(String(decodeUpdate(new TextEncoder().encode('DFU1\n{"job":"j","r":1,"pairs":0,"loss":1}\n'))), /pairs must be ≥ 1/);
  assert.match(String(decodeGossipCall(enc({ job: "j", rounds: 1, seeder: "Pi-1", members: [], stragglerTimeoutS: 5, pairs: call.pairs }))), /members must be node ids/);
  assert.match(String(decodeStatus(enc({ ...idleStatus(), job: "j" }))), /state must be running, done or failed/);
});
