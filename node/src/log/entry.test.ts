// Entries: named by what they are, encoded the same way on every node, and refused with a reason
// when they come from a peer or a disk in any shape we did not write.

import { test } from "node:test";
import assert from "node:assert/strict";
import { courseEntry, courseSeq, decodeEntry, encodeEntry, entryName, ENTRY_MAX_BYTES, LESSON_MAX_CHARS, parseEntry, parseEntryName, type Entry } from "./entry.js";

const SHA = "0acba2bd5fd426c4b47a8934afee57e961568757674dab75e30ce8cf1ac2dbef";
const BASE = "w1-0123456789abcdef0123456789abcdef";
const teach: Entry = { author: "pi-3", seq: 7, sha256: SHA, kind: "teach", base: BASE, lesson: { question: "Capital of France?", answer: "Paris" }, at: 1764008499123 };

test("the canonical encoding has one key order whatever order the fields came in, and leaves absent optionals out", () => {
  const shuffled = parseEntry({ at: teach.at, lesson: { answer: "Paris", question: "Capital of France?" }, base: BASE, kind: "teach", sha256: SHA, seq: 7, author: "pi-3" });
  assert.ok(typeof shuffled !== "string", String(shuffled));
  const text = new TextDecoder().decode(encodeEntry(shuffled));
  assert.equal(text, `{"author":"pi-3","seq":7,"sha256":"${SHA}","kind":"teach","base":"${BASE}","lesson":{"question":"Capital of France?","answer":"Paris"},"at":1764008499123}`);
  assert.deepEqual(encodeEntry(shuffled), encodeEntry(teach));
  const course: Entry = { author: "10.0.0.7", seq: 1764008499, sha256: SHA, kind: "course", base: BASE };
  assert.equal(new TextDecoder().decode(encodeEntry(course)), `{"author":"10.0.0.7","seq":1764008499,"sha256":"${SHA}","kind":"course","base":"${BASE}"}`);
});

test("an entry decodes from its own encoding to the same entry", () => {
  assert.deepEqual(decodeEntry(encodeEntry(teach)), teach);
});

test("an entry's name is author~seq~sha256 and parses back; anything else is not a name", () => {
  assert.equal(entryName(teach), `pi-3~7~${SHA}`);
  assert.deepEqual(parseEntryName(entryName(teach)), { author: "pi-3", seq: 7, sha256: SHA });
  for (const bad of [`pi-3~0~${SHA}`, `pi-3~7~${SHA.toUpperCase()}`, `pi/3~7~${SHA}`, `pi-3~7`, `pi-3~07~${SHA}`, `pi-3~99999999999999999~${SHA}`]) {
    assert.equal(parseEntryName(bad), null, bad);
  }
});

test("untrusted entries are refused with the reason", () => {
  const ok = { author: "pi-3", seq: 7, sha256: SHA, kind: "teach", base: BASE, lesson: { question: "q?", answer: "a" } };
  const cases: Array<[Record<string, unknown> | unknown, RegExp]> = [
    [[1], /JSON object/],
    [{ ...ok, sig: "x" }, /unknown field "sig"/],
    [{ ...ok, kind: "gossip" }, /kind must be one of teach, course, round/],
    [{ ...ok, author: "pi|3" }, /author must be/],
    [{ ...ok, author: "-pi" }, /must be a node id/],
    [{ ...ok, author: "a".repeat(65) }, /must be a node id/],
    [{ ...ok, seq: 0 }, /seq must be/],
    [{ ...ok, seq: 1.5 }, /seq must be/],
    [{ ...ok, seq: 2 ** 53 }, /seq must be/],
    [{ ...ok, seq: "7" }, /seq must be/],
    [{ ...ok, sha256: SHA.toUpperCase() }, /sha256 must be/],
    [{ ...ok, base: "" }, /base must be/],
    [{ ...ok, base: "a;b" }, /base must be/],
    [{ ...ok, at: -1 }, /at must be/],
    [{ ...ok, lesson: undefined }, /needs lesson/],
    [{ ...ok, lesson: { question: "q?" } }, /lesson.answer must be non-empty/],
    [{ ...ok, lesson: { question: "q?", answer: "a", hint: "x" } }, /unknown lesson field "hint"/],
    [{ ...ok, lesson: { question: "q".repeat(LESSON_MAX_CHARS + 1), answer: "a" } }, /lesson.question is 1001 characters; the limit is 1000/],
    [{ ...ok, kind: "course" }, /a course entry carries no lesson/],
  ];
  for (const [v, re] of cases) {
    const r = parseEntry(v);
    assert.equal(typeof r, "string", `accepted ${JSON.stringify(v)}`);
    assert.match(r as string, re);
  }
  // A course node's SRC may be any wire token, which our own node ids are not.
  assert.equal(typeof parseEntry({ author: "-pi", seq: 1, sha256: SHA, kind: "course", base: BASE }), "object");
});

test("entry bytes that are too long, not UTF-8 or not JSON are refused before anything else", () => {
  assert.match(decodeEntry(new Uint8Array(ENTRY_MAX_BYTES + 1)) as string, /limit is 8192/);
  assert.match(decodeEntry(Uint8Array.of(0x7b, 0xff, 0x7d)) as string, /not UTF-8 JSON/);
  assert.match(decodeEntry(new TextEncoder().encode('{"author":')) as string, /not UTF-8 JSON/);
});

test("a course delta's seq is the unix seconds in its version, in each form course nodes use", () => {
  assert.equal(courseSeq("v1764008499"), 1764008499);
  assert.equal(courseSeq("delta_v1764009046"), 1764009046);
  assert.equal(courseSeq("1764008499-0acba2bd"), 1764008499);
  // Our own nodes' versions, and stamps in no course form, name no course seq.
  for (const v of ["d1764008499123-pi-3-0acba2bd1f2e", "1764008499", "v17640", "v1764008499-0acba2bd", "delta_1764008499", "v01764008499"]) assert.equal(courseSeq(v), null, v);
});

test("a course delta becomes an entry authored by the course node, the same whichever form its version took", () => {
  const a = courseEntry({ from: "pi-course-1", version: "delta_v1764008499", sha256: SHA, base: BASE });
  const b = courseEntry({ from: "pi-course-1", version: "1764008499-0acba2bd", sha256: SHA, base: BASE, at: 5 });
  assert.ok(typeof a !== "string" && typeof b !== "string");
  assert.deepEqual(a, { author: "pi-course-1", seq: 1764008499, sha256: SHA, kind: "course", base: BASE });
  assert.equal(entryName(a), entryName(b));
  assert.match(courseEntry({ from: "pi-course-1", version: "latest", sha256: SHA, base: BASE }) as string, /carries no unix-seconds stamp/);
});

test("a round entry names its job, round and the members it averages; only rounds carry one, and it is checked as strictly as the rest", () => {
  const round: Entry = { author: "pi-1", seq: 4, sha256: SHA, kind: "round", base: BASE, round: { job: "jx1-00ff", r: 2, members: ["pi-1", "pi-3"] }, at: 1 };
  assert.equal(new TextDecoder().decode(encodeEntry(round)), `{"author":"pi-1","seq":4,"sha256":"${SHA}","kind":"round","base":"${BASE}","round":{"job":"jx1-00ff","r":2,"members":["pi-1","pi-3"]},"at":1}`);
  assert.deepEqual(decodeEntry(encodeEntry(round)), round);
  const { round: _r, ...bare } = round;
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [bare, /a round entry needs round/],
    [{ ...round, round: { ...round.round, extra: 1 } }, /unknown round field "extra"/],
    [{ ...round, round: { ...round.round, r: 0 } }, /round.r must be an integer ≥ 1/],
    [{ ...round, round: { ...round.round, members: [] } }, /round.members must list/],
    [{ ...round, round: { ...round.round, members: ["pi-1", "pi-1"] } }, /names a node twice/],
    [{ ...round, round: { ...round.round, members: ["pi|1"] } }, /not a node id/],
    [{ ...teach, round: round.round }, /a teach entry carries no round/],
  ];
  for (const [v, re] of cases) assert.match(String(parseEntry(v)), re, JSON.stringify(v));
});
