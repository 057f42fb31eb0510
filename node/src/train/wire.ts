// What a training job sends between our nodes, as overlay payloads (never to course nodes):
//   train-round  coordinator → one member: the round, the entry it starts from, the member's shard;
//   train-update member → coordinator: `DFU1\n`, a JSON header line, the fp16 delta file;
//   train-status coordinator → every peer: the job's progress (what GET /train shows on each node);
//   train-gossip the node a gossip job was started on → each member: the job and the member's shard.
// Every decode takes untrusted bytes and returns the message or why it is not one.

import { isNodeId } from "../util/ids.js";
import { parsePairs, type Pair } from "./dataset.js";

export const KIND_ROUND = "train-round";
export const KIND_UPDATE = "train-update";
export const KIND_STATUS = "train-status";
export const KIND_GOSSIP = "train-gossip";
export const TRAIN_KINDS: readonly string[] = [KIND_ROUND, KIND_UPDATE, KIND_STATUS, KIND_GOSSIP];

export type TrainMode = "fedavg" | "gossip";
export type TrainState = "idle" | "running" | "done" | "failed";

/** A job's progress: the body of GET /train (docs/contracts.md), the same shape on every node. */
export interface TrainStatus {
  job: string | null;
  state: TrainState;
  mode: TrainMode;
  round: number;
  rounds: number;
  coordinator: string | null;
  members: string[];
  stragglers: Array<{ round: number; node: string }>;
  /** Mean answer-token loss over the data set after each finished round. */
  loss: number[];
  /** The same before round 1. */
  lossBefore: number | null;
  /** Bytes moved per finished round: shards out, updates in, the round entry to every peer. */
  bytes: number[];
  /** The round entries made, by name (gossip: this node's own). */
  entries: string[];
  /** This node's digest (first 12 hex digits) when each round closed: in gossip, how far the nodes still differ. */
  digests: string[];
  startedAt: number | null;
  endedAt: number | null;
  error?: string;
}

export function idleStatus(): TrainStatus {
  return { job: null, state: "idle", mode: "fedavg", round: 0, rounds: 0, coordinator: null, members: [], stragglers: [], loss: [], lossBefore: null, bytes: [], entries: [], digests: [], startedAt: null, endedAt: null };
}

export interface RoundCall {
  job: string;
  r: number;
  rounds: number;
  coordinator: string;
  /** The previous round's entry: the member trains from weights that hold it (null in round 1). */
  after: string | null;
  pairs: Pair[];
}

export interface UpdateHeader {
  job: string;
  r: number;
  /** Pairs trained on: the update's weight in the average. */
  pairs: number;
  /** Mean loss over the shard during the epoch. */
  loss: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

function json(bytes: Uint8Array): Record<string, unknown> | string {
  try {
    const v: unknown = JSON.parse(dec.decode(bytes));
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : "not a JSON object";
  } catch (e) {
    return `not UTF-8 JSON (${(e as Error).message})`;
  }
}

const isRound = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

export function encodeRoundCall(c: RoundCall): Uint8Array { return enc.encode(JSON.stringify(c)); }

export function decodeRoundCall(bytes: Uint8Array): RoundCall | string {
  const o = json(bytes);
  if (typeof o === "string") return `train-round: ${o}`;
  const { job, r, rounds, coordinator, after, pairs } = o;
  if (typeof job !== "string" || !isNodeId(job)) return "train-round: job must be an id";
  if (!isRound(r) || r < 1 || !isRound(rounds) || r > rounds) return "train-round: r must be 1..rounds";
  if (typeof coordinator !== "string" || !isNodeId(coordinator)) return "train-round: coordinator must be a node id";
  if (after !== null && typeof after !== "string") return "train-round: after must be an entry name or null";
  const p = parsePairs(pairs, "train-round pairs");
  if (typeof p === "string") return p;
  return { job, r, rounds, coordinator, after: after as string | null, pairs: p };
}

const UPDATE_MAGIC = enc.encode("DFU1\n");

export function encodeUpdate(h: UpdateHeader, delta: Uint8Array): Uint8Array {
  const head = enc.encode(`${JSON.stringify(h)}\n`);
  const out = new Uint8Array(UPDATE_MAGIC.length + head.length + delta.length);
  out.set(UPDATE_MAGIC, 0);
  out.set(head, UPDATE_MAGIC.length);
  out.set(delta, UPDATE_MAGIC.length + head.length);
  return out;
}

export function decodeUpdate(bytes: Uint8Array): { header: UpdateHeader; delta: Uint8Array } | string {
  if (bytes.length < UPDATE_MAGIC.length || UPDATE_MAGIC.some((b, i) => bytes[i] !== b)) return "train-update: not DFU1";
  const nl = bytes.indexOf(0x0a, UPDATE_MAGIC.length);
  if (nl < 0 || nl - UPDATE_MAGIC.length > 4096) return "train-update: no header line";
  const o = json(bytes.subarray(UPDATE_MAGIC.length, nl));
  if (typeof o === "string") return `train-update header: ${o}`;
  const { job, r, pairs, loss } = o;
  if (typeof job !== "string" || !isNodeId(job)) return "train-update: job must be an id";
  if (!isRound(r) || r < 1) return "train-update: r must be ≥ 1";
  if (!isRound(pairs) || pairs < 1) return "train-update: pairs must be ≥ 1";
  if (typeof loss !== "number" || !Number.isFinite(loss)) return "train-update: loss must be a number";
  return { header: { job, r, pairs, loss }, delta: bytes.subarray(nl + 1) };
}

/** A gossip job as its seeder hands it to each member: who takes part and the member's own shard. */
export interface GossipCall {
  job: string;
  rounds: number;
  seeder: string;
  members: string[];
  stragglerTimeoutS: number;
  pairs: Pair[];
}

export function encodeGossipCall(c: GossipCall): Uint8Array { return enc.encode(JSON.stringify(c)); }

export function decodeGossipCall(bytes: Uint8Array): GossipCall | string {
  const o = json(bytes);
  if (typeof o === "string") return `train-gossip: ${o}`;
  const { job, rounds, seeder, members, stragglerTimeoutS, pairs } = o;
  if (typeof job !== "string" || !isNodeId(job)) return "train-gossip: job must be an id";
  if (!isRound(rounds) || rounds < 1) return "train-gossip: rounds must be ≥ 1";
  if (typeof seeder !== "string" || !isNodeId(seeder)) return "train-gossip: seeder must be a node id";
  if (!Array.isArray(members) || members.length === 0 || !members.every((m) => typeof m === "string" && isNodeId(m))) return "train-gossip: members must be node ids";
  if (typeof stragglerTimeoutS !== "number" || !(stragglerTimeoutS > 0 && stragglerTimeoutS <= 600)) return "train-gossip: stragglerTimeoutS must be (0, 600]";
  const p = parsePairs(pairs, "train-gossip pairs");
  if (typeof p === "string") return p;
  return { job, rounds, seeder, members: members as string[], stragglerTimeoutS, pairs: p };
}

export function encodeStatus(s: TrainStatus): Uint8Array { return enc.encode(JSON.stringify(s)); }

/** A coordinator's status as a member keeps it; fields checked for type only (it is shown, never acted on beyond its state). */
export function decodeStatus(bytes: Uint8Array): TrainStatus | string {
  const o = json(bytes);
  if (typeof o === "string") return `train-status: ${o}`;
  const s = o as Partial<TrainStatus>;
  if (typeof s.job !== "string" || !isNodeId(s.job)) return "train-status: job must be an id";
  if (!["running", "done", "failed"].includes(s.state as string)) return "train-status: state must be running, done or failed";
  if (typeof s.coordinator !== "string" || !isNodeId(s.coordinator)) return "train-status: coordinator must be a node id";
  const nums = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "number");
  if (!isRound(s.round) || !isRound(s.rounds) || !nums(s.loss) || !nums(s.bytes)) return "train-status: round, rounds, loss and bytes must be numbers";
  if (!Array.isArray(s.members) || !s.members.every((m) => typeof m === "string" && isNodeId(m))) return "train-status: members must be node ids";
  if (!Array.isArray(s.stragglers) || !s.stragglers.every((x) => x && isRound(x.round) && typeof x.node === "string")) return "train-status: stragglers must be {round, node}";
  if (!Array.isArray(s.entries) || !s.entries.every((x) => typeof x === "string")) return "train-status: entries must be names";
  const digests = Array.isArray(s.digests) ? s.digests.filter((x): x is string => typeof x === "string") : [];
  return {
    job: s.job, state: s.state as TrainState, mode: s.mode === "gossip" ? "gossip" : "fedavg", round: s.round, rounds: s.rounds, coordinator: s.coordinator,
    members: s.members, stragglers: s.stragglers.map((x) => ({ round: x.round, node: String(x.node) })), loss: s.loss as number[],
    lossBefore: typeof s.lossBefore === "number" ? s.lossBefore : null, bytes: s.bytes as number[], entries: s.entries, digests,
    startedAt: typeof s.startedAt === "number" ? s.startedAt : null, endedAt: typeof s.endedAt === "number" ? s.endedAt : null,
    ...(typeof s.error === "string" ? { error: s.error.slice(0, 500) } : {}),
  };
}
