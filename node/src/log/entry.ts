// One entry of the fleet log: a delta file and who made it, from what, on what. An entry is
// immutable and named by what it is — (author, per-author sequence, sha256 of the delta file) — so
// the same delta arriving twice, or re-announced under another transfer version, is one entry.
//
// Entries arrive from peers and from disk: `parseEntry` trusts nothing, and refuses fields it does
// not know, because the canonical encoding (what a signature will cover) must say everything the
// entry says; an extra field a node passed along unsigned would be a field nobody vouched for.

import { isNodeId, isWireToken } from "../util/ids.js";

export type EntryKind = "teach" | "course" | "round";
export const ENTRY_KINDS: readonly EntryKind[] = ["teach", "course", "round"];

export interface Lesson {
  question: string;
  answer: string;
}

export interface Entry {
  /** Node id of the author: ours for teach and round, the course node's SRC for course. */
  author: string;
  /** Per-author sequence, ≥ 1: 1, 2, 3… for our authors; the version's unix seconds for course. */
  seq: number;
  /** sha256 of the delta file's bytes, lowercase hex. */
  sha256: string;
  kind: EntryKind;
  /** Identity of the base model the delta was made on (see base-id.ts). */
  base: string;
  /** What a teach was taught on; only teaches carry one. */
  lesson?: Lesson;
  /** What a round averages (kind "round" only): the job, the round, the nodes whose updates it holds. */
  round?: RoundInfo;
  /** When the author made it (unix ms); informative, never used to order anything. */
  at?: number;
}

/**
 * A training round's identity (node/src/train/): the job, the round number, and exactly which
 * nodes' updates the entry's delta averages — so anyone reading the log can tell a partial round
 * (a straggler left out) from a whole one.
 */
export interface RoundInfo {
  job: string;
  r: number;
  members: string[];
}

/** A round names at most this many members (a classroom fleet is tens of nodes). */
export const ROUND_MAX_MEMBERS = 256;

/** The fields that name an entry; two entries with the same name are the same entry. */
export type EntryId = Pick<Entry, "author" | "seq" | "sha256">;

/** Longest question or answer: the teach API's limit (node/src/node/http-api.ts TEXT_LIMIT_CHARS). */
export const LESSON_MAX_CHARS = 1000;
/** An entry's JSON is a few hundred bytes; anything past this is refused before parsing. */
export const ENTRY_MAX_BYTES = 8 * 1024;

/**
 * `author~seq~sha256`. `~` is outside the id alphabet (so the parts never run together), is
 * unreserved in URLs and safe in file names, so the name can be a path segment and a file stem.
 */
export function entryName(e: EntryId): string {
  return `${e.author}~${e.seq}~${e.sha256}`;
}

const NAME = /^([A-Za-z0-9._-]{1,128})~([1-9][0-9]{0,15})~([0-9a-f]{64})$/;

/** The parts of an entry name, or null when `s` is not one. */
export function parseEntryName(s: string): EntryId | null {
  const m = NAME.exec(s);
  if (!m) return null;
  const seq = Number(m[2]);
  if (!Number.isSafeInteger(seq)) return null;
  return { author: m[1]!, seq, sha256: m[3]! };
}

/**
 * The canonical bytes of an entry, for hashing and (later) signing: UTF-8 JSON with the keys in one
 * fixed order and absent optionals left out. JSON.stringify is deterministic for strings and safe
 * integers (the only values an entry holds), so every node encodes an entry to the same bytes.
 */
export function encodeEntry(e: Entry): Uint8Array {
  const o: Record<string, unknown> = { author: e.author, seq: e.seq, sha256: e.sha256, kind: e.kind, base: e.base };
  if (e.lesson) o.lesson = { question: e.lesson.question, answer: e.lesson.answer };
  if (e.round) o.round = { job: e.round.job, r: e.round.r, members: [...e.round.members] };
  if (e.at !== undefined) o.at = e.at;
  return new TextEncoder().encode(JSON.stringify(o));
}

const KEYS = new Set(["author", "seq", "sha256", "kind", "base", "lesson", "round", "at"]);
const SHA256 = /^[0-9a-f]{64}$/;

/** An entry from untrusted JSON (already parsed), or why it is not one. */
export function parseEntry(v: unknown): Entry | string {
  if (!v || typeof v !== "object" || Array.isArray(v)) return "an entry must be a JSON object";
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !KEYS.has(k));
  if (extra.length) return `unknown field ${JSON.stringify(extra[0])} (an entry holds only ${[...KEYS].join(", ")})`;
  const { author, seq, sha256, kind, base, lesson, round, at } = o;
  if (typeof kind !== "string" || !(ENTRY_KINDS as readonly string[]).includes(kind)) return `kind must be one of ${ENTRY_KINDS.join(", ")}, got ${short(kind)}`;
  if (typeof author !== "string" || !isWireToken(author)) return `author must be 1-128 of [A-Za-z0-9._-], got ${short(author)}`;
  // Our own nodes' ids are stricter than what the course wire allows; only course entries may use the latter.
  if (kind !== "course" && !isNodeId(author)) return `author ${short(author)} of a ${kind} entry must be a node id (1-64 characters, starting with a letter or digit)`;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return `seq must be an integer from 1 to 2^53-1, got ${short(seq)}`;
  if (typeof sha256 !== "string" || !SHA256.test(sha256)) return `sha256 must be 64 lowercase hex digits, got ${short(sha256)}`;
  if (typeof base !== "string" || !isWireToken(base)) return `base must be a model identity of 1-128 of [A-Za-z0-9._-], got ${short(base)}`;
  if (at !== undefined && (typeof at !== "number" || !Number.isSafeInteger(at) || at < 0)) return `at must be unix milliseconds (an integer ≥ 0), got ${short(at)}`;
  const entry: Entry = { author, seq, sha256, kind: kind as EntryKind, base };
  if (kind === "teach") {
    const l = parseLesson(lesson);
    if (typeof l === "string") return l;
    entry.lesson = l;
  } else if (lesson !== undefined) return `a ${kind} entry carries no lesson (only teaches do)`;
  if (kind === "round") {
    const r = parseRound(round);
    if (typeof r === "string") return r;
    entry.round = r;
  } else if (round !== undefined) return `a ${kind} entry carries no round (only rounds do)`;
  if (at !== undefined) entry.at = at as number;
  return entry;
}

function parseLesson(v: unknown): Lesson | string {
  if (!v || typeof v !== "object" || Array.isArray(v)) return "a teach entry needs lesson: {question, answer}";
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== "question" && k !== "answer");
  if (extra.length) return `unknown lesson field ${JSON.stringify(extra[0])}`;
  for (const k of ["question", "answer"] as const) {
    const s = o[k];
    if (typeof s !== "string" || s.trim().length === 0) return `lesson.${k} must be non-empty text`;
    if (s.length > LESSON_MAX_CHARS) return `lesson.${k} is ${s.length} characters; the limit is ${LESSON_MAX_CHARS}`;
  }
  return { question: o.question as string, answer: o.answer as string };
}

function parseRound(v: unknown): RoundInfo | string {
  if (!v || typeof v !== "object" || Array.isArray(v)) return "a round entry needs round: {job, r, members}";
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== "job" && k !== "r" && k !== "members");
  if (extra.length) return `unknown round field ${JSON.stringify(extra[0])}`;
  const { job, r, members } = o;
  if (typeof job !== "string" || !isNodeId(job)) return `round.job must be an id (1-64 of [A-Za-z0-9._-]), got ${short(job)}`;
  if (typeof r !== "number" || !Number.isSafeInteger(r) || r < 1) return `round.r must be an integer ≥ 1, got ${short(r)}`;
  if (!Array.isArray(members) || members.length === 0 || members.length > ROUND_MAX_MEMBERS) return `round.members must list 1-${ROUND_MAX_MEMBERS} node ids`;
  for (const m of members) if (typeof m !== "string" || !isNodeId(m)) return `round.members holds ${short(m)}, not a node id`;
  if (new Set(members).size !== members.length) return "round.members names a node twice";
  return { job, r, members: [...members] as string[] };
}

/** An entry from untrusted bytes (a file, a datagram body), or why not. */
export function decodeEntry(bytes: Uint8Array): Entry | string {
  if (bytes.length > ENTRY_MAX_BYTES) return `entry is ${bytes.length} bytes; the limit is ${ENTRY_MAX_BYTES}`;
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    return `entry is not UTF-8 JSON (${(e as Error).message})`;
  }
  return parseEntry(v);
}

function short(v: unknown): string {
  const s = v === undefined ? "nothing" : JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

// Course deltas. A course node names a delta by a version string and nothing else; every version
// seen so far carries the unix seconds it was made at (docs/course-wire.md): `v1764008499`,
// `delta_v1764008499`, `1764008499-0acba2bd`. Those seconds become the entry's seq: they are in the
// version itself, so every node that receives the delta derives the same name, whatever transfer
// it came by. They are not contiguous, so for course authors the summary's gaps say nothing; the
// sha256 in the name still tells two deltas of the same second apart. A version without such a
// stamp is refused rather than given an invented seq that other nodes might invent differently.

const COURSE_VERSIONS = [/^v([1-9][0-9]{8,10})$/, /^delta_v([1-9][0-9]{8,10})$/, /^([1-9][0-9]{8,10})-[0-9a-f]{8}$/];

/** The unix seconds in a course version, or null when it carries none. */
export function courseSeq(version: string): number | null {
  for (const re of COURSE_VERSIONS) {
    const m = re.exec(version);
    if (m) return Number(m[1]);
  }
  return null;
}

export interface CourseDelta {
  /** SRC of the course node that sent it. */
  from: string;
  version: string;
  /** sha256 of the delta file (as verified against MODEL_META). */
  sha256: string;
  base: string;
  at?: number;
}

/** The entry a course delta is, or why it cannot be one. */
export function courseEntry(d: CourseDelta): Entry | string {
  const seq = courseSeq(d.version);
  if (seq === null) return `course version ${short(d.version)} carries no unix-seconds stamp (v<s>, delta_v<s> or <s>-<sha8>)`;
  return parseEntry({ author: d.from, seq, sha256: d.sha256, kind: "course", base: d.base, ...(d.at !== undefined ? { at: d.at } : {}) });
}
