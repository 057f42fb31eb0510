// A training job over the fleet (FedAvg rounds, node/src/train/), as one node runs it.
//
// The node that gets POST /train coordinates: each round it splits the data set across the job's
// live members in proportion to their measured speed (their PEER_SYNC says `tsp=`), sends each its
// shard (payload train-round), trains its own, and waits for the members' updates (train-update)
// until all arrived or the straggler timeout passed. The weighted average of what arrived becomes
// ONE entry of the fleet log, kind "round", naming the members it averages, signed and broadcast
// like a teach — so every node's weights stay base + Σ entries and end on one digest; a member
// that died mid-round is simply not named, and catches the entry up from the log after restart.
//
// Gossip mode has no coordinator. POST /train on a node only seeds the job: it splits the data set
// as above and hands each member the job and its shard (train-gossip), once; from then on every
// member runs its rounds alone. Each round a member trains an epoch on its shard from the weights it
// holds and makes its own round entry holding 1/n of its update (n members), sent to two random
// peers; anti-entropy (catch-up.ts) carries it on, peer by peer, to the rest. So once a node holds
// round r's n entries its weights are base + … + the plain average of the round's updates, and
// every node holding the same entries has the same bits: "weights = f(entries)" survives without
// anyone averaging for the others. A member starts round r+1 when it holds all n entries of round r
// or the straggler timeout passed; what it lacked then still arrives later, so the nodes' digests
// (GET /train `digests`, one per round) differ while entries travel and agree once all are held.
//
// If the coordinator dies, the job stops: the members mark it failed once it has been silent for
// COORDINATOR_SILENT_MS. Nobody takes over, because nobody else can: only the coordinator holds
// the whole data set (each member saw its shard, and nothing else should leave the coordinator),
// and the rounds already made are entries every node keeps. Starting the job again is one command.

import type { Logger } from "pino";
import { readTorchStateDict, writeTorchStateDict } from "../checkpoint/torch-file.js";
import { TIED_KEYS, type Params } from "../engine/params.js";
import type { RoundInfo } from "../log/entry.js";
import type { Pair } from "../train/dataset.js";
import { fedAvg, scaleDelta, type Update } from "../train/fedavg.js";
import { meanLoss, trainEpoch, type TokenPair } from "../train/local.js";
import { assignShards } from "../train/shards.js";
import {
  decodeGossipCall, decodeRoundCall, decodeStatus, decodeUpdate, encodeGossipCall, encodeRoundCall, encodeStatus, encodeUpdate, idleStatus,
  KIND_GOSSIP, KIND_ROUND, KIND_STATUS, KIND_UPDATE, type GossipCall, type RoundCall, type TrainMode, type TrainStatus,
} from "../train/wire.js";
import type { NodeMetrics } from "./metrics.js";
import type { OverlayHandle, PeerInfo } from "./seams.js";

/**
 * A peer heard within this is live: a round calls it. PEER_SYNC comes about every second, but a
 * busy Pi may go quiet for a few (a long epoch); a peer really gone costs the round no more than
 * the straggler timeout.
 */
const PEER_LIVE_MS = 10_000;
/** A member marks the job failed when its coordinator has been silent this long (no PEER_SYNC). */
const COORDINATOR_SILENT_MS = 15_000;
/** How often a member looks for its coordinator. */
const WATCH_EVERY_MS = 1_000;
/** How long a member waits to hold the previous round's entry before training on a call. */
const AFTER_WAIT_MS = 30_000;
/** What a member's speed is measured on at start-up (pairs per second of one round step). */
const SPEED_SAMPLE: Pair = { question: "What is the capital of France?", answer: "Paris" };
/** Longest straggler timeout a job may ask for. */
export const STRAGGLER_TIMEOUT_MAX_S = 600;
/** Most rounds a job may ask for. */
export const ROUNDS_MAX = 100;

/** What a job needs of the node (NodeRuntime implements it). */
export interface TrainHost {
  readonly nodeId: string;
  /** Our live peers that may take part (roster members when the fleet has a roster). */
  peers(): PeerInfo[];
  overlay(): OverlayHandle | undefined;
  /** Runs fn alone on the current weights (base + the log), as teaches and merges do. */
  withWeights<T>(fn: (params: Params) => Promise<T>): Promise<T>;
  pairTokens(p: Pair): TokenPair;
  hasEntry(name: string): boolean;
  /** Makes the round's entry (signed), keeps it, re-derives the weights and sends it to `to` (absent: every peer). */
  commitRound(round: RoundInfo, delta: Uint8Array, to?: readonly string[]): Promise<{ name: string; bundleBytes: number }>;
  /** Authors of the round entries held for (job, r). */
  roundAuthors(job: string, r: number): string[];
  /** The current weights' digest. */
  digest(): string;
}

/** A gossip member sends its round entry to this many random peers; catch-up spreads it further. */
const GOSSIP_FANOUT = 2;

export interface TrainRequest {
  pairs: Pair[];
  rounds: number;
  mode: TrainMode;
  stragglerTimeoutS: number;
  overlap: number;
}

export class TrainBusyError extends Error {
  readonly code = "TRAIN_IN_PROGRESS";
}

export class TrainJobs {
  private s: TrainStatus = idleStatus();
  private readonly log: Logger;
  private readonly waiting = new Map<string, Map<string, { update: Update; bytes: number; loss: number }>>();
  private wake: (() => void) | undefined;
  /** The newest round this member was called for: older calls still queued are dropped. */
  private latestCall = { job: "", r: 0 };
  private memberQueue: Promise<void> = Promise.resolve();
  private readonly watch: NodeJS.Timeout;
  private lastWatch = Date.now();
  /** When this member last heard from its job's coordinator in a training message (PEER_SYNC counts too). */
  private lastHeard = 0;
  private closed = false;
  /** Training pairs per second this node measured on itself (what its PEER_SYNC says as tsp). */
  readonly speed: number | undefined;

  constructor(private readonly host: TrainHost, logger: Logger, private readonly metrics?: NodeMetrics, speed?: number, private readonly roundGapMs = 0) {
    this.log = logger.child({ mod: "train" });
    this.speed = speed;
    this.watch = setInterval(() => this.watchCoordinator(), WATCH_EVERY_MS);
    this.watch.unref();
  }

  /** Measures this node's speed: the seconds one round step takes on a short pair, as pairs per second. */
  static async measureSpeed(params: Params, tokens: (p: Pair) => TokenPair): Promise<number> {
    const sample = Array.from({ length: 4 }, () => tokens(SPEED_SAMPLE));
    const t0 = performance.now();
    await trainEpoch(params, sample);
    const s = (performance.now() - t0) / 1000;
    return Math.round((sample.length / Math.max(s, 1e-3)) * 10) / 10;
  }

  status(): TrainStatus {
    return structuredClone(this.s);
  }

  get running(): boolean { return this.s.state === "running"; }

  /** What this node's PEER_SYNC says: its training speed. */
  says(): Record<string, string> {
    return this.speed === undefined ? {} : { tsp: String(this.speed) };
  }

  /** POST /train on this node: it coordinates. Resolves once the job is started; the rounds run on. */
  start(req: TrainRequest): { job: string; state: "running" } {
    if (this.running) throw new TrainBusyError(`job ${this.s.job} is running (coordinator ${this.s.coordinator}); wait for it to finish`);
    const job = `j${Date.now().toString(36)}-${Math.floor(Math.random() * 0xffff).toString(16).padStart(4, "0")}`;
    const members = [this.host.nodeId, ...this.livePeers().map((p) => p.id)].sort();
    if (req.mode === "gossip") return this.seedGossip(job, members, req);
    this.s = {
      ...idleStatus(), job, state: "running", mode: req.mode, rounds: req.rounds, coordinator: this.host.nodeId, members, startedAt: Date.now(),
    };
    this.log.info({ ev: "job_started", job, rounds: req.rounds, pairs: req.pairs.length, members, timeoutS: req.stragglerTimeoutS, overlap: req.overlap }, "training job started");
    this.coordinate(job, req).catch((e: Error) => {
      this.s = { ...this.s, state: "failed", endedAt: Date.now(), error: e.message };
      this.log.error({ ev: "job_failed", job, err: e.message }, "training job failed");
      void this.sendStatus();
    });
    return { job, state: "running" };
  }

  private livePeers(): PeerInfo[] {
    const now = Date.now();
    return this.host.peers().filter((p) => p.ours && now - p.lastSeenMs < PEER_LIVE_MS);
  }

  private async coordinate(job: string, req: TrainRequest): Promise<void> {
    const tokens = req.pairs.map((p) => this.host.pairTokens(p));
    this.s.lossBefore = await this.host.withWeights((w) => meanLoss(w, tokens, yieldToLoop));
    let after: string | null = null;
    for (let r = 1; r <= req.rounds && !this.closed; r++) {
      if (r > 1 && this.roundGapMs > 0) {
        this.log.info({ ev: "round_gap", job, r, ms: this.roundGapMs }, "test hook: pausing before the next round");
        await new Promise((res) => setTimeout(res, this.roundGapMs));
      }
      const t0 = performance.now();
      const live = new Map(this.livePeers().map((p) => [p.id, p]));
      const called = this.s.members.filter((m) => m === this.host.nodeId || live.has(m));
      const speeds = called.map((id) => ({ id, speed: id === this.host.nodeId ? this.speed ?? 1 : Number(live.get(id)?.says?.tsp) }));
      const shards = assignShards(req.pairs.length, speeds, req.overlap);
      this.s.round = r;
      this.metrics?.jobParticipants.set(called.length);
      this.log.info({ ev: "round_started", job, r, called, shards: Object.fromEntries([...shards].map(([m, idx]) => [m, idx.length])) }, "training round: shards sent to the members");
      await this.sendStatus();
      let bytes = 0;
      const arrived = new Map<string, { update: Update; bytes: number; loss: number }>();
      this.waiting.set(`${job}/${r}`, arrived);
      const overlay = this.host.overlay();
      for (const m of called) {
        if (m === this.host.nodeId) continue;
        const call: RoundCall = { job, r, rounds: req.rounds, coordinator: this.host.nodeId, after, pairs: shards.get(m)!.map((i) => req.pairs[i]!) };
        const b = encodeRoundCall(call);
        bytes += b.length;
        await overlay?.sendPayload(b, { kind: KIND_ROUND, to: [m] }).catch((e: Error) => this.log.warn({ ev: "call_failed", job, r, to: m, err: e.message }, "could not send a member its shard"));
      }
      const deadline = Date.now() + req.stragglerTimeoutS * 1000;
      // The coordinator's own shard: trained while the members train theirs.
      const own = shards.get(this.host.nodeId)!.map((i) => tokens[i]!);
      const mine = await this.host.withWeights((w) => trainEpoch(w, own, yieldToLoop));
      arrived.set(this.host.nodeId, { update: { delta: mine.delta, weight: own.length }, bytes: 0, loss: mean(mine.losses) });
      await this.waitFor(arrived, called, deadline);
      this.waiting.delete(`${job}/${r}`);
      const averaged = [...arrived.keys()].sort();
      const missing = this.s.members.filter((m) => !arrived.has(m));
      for (const node of missing) this.s.stragglers.push({ round: r, node });
      this.metrics?.jobStragglers.inc(missing.length);
      for (const a of arrived.values()) bytes += a.bytes;
      const config = await this.host.withWeights(async (w) => w.config);
      const delta = writeTorchStateDict(fedAvg(config, [...arrived.values()].map((a) => a.update)), { sharedStorage: TIED_KEYS });
      const { name, bundleBytes } = await this.host.commitRound({ job, r, members: averaged }, delta);
      after = name;
      bytes += bundleBytes * this.livePeers().length;
      const loss = await this.host.withWeights((w) => meanLoss(w, tokens, yieldToLoop));
      const seconds = (performance.now() - t0) / 1000;
      this.s.loss.push(round4(loss));
      this.s.bytes.push(bytes);
      this.s.entries.push(name);
      this.s.digests.push(this.host.digest().slice(0, 12));
      this.metrics?.jobRoundSeconds.observe(seconds);
      this.metrics?.jobLoss.set(loss);
      this.log.info({ ev: "round_done", job, r, members: averaged, stragglers: missing, loss, bytes, seconds: round4(seconds), entry: name }, "training round averaged into one entry");
    }
    this.s = { ...this.s, state: this.closed ? "failed" : "done", endedAt: Date.now(), ...(this.closed ? { error: "the coordinator stopped" } : {}) };
    this.log.info({ ev: "job_done", job, loss: this.s.loss, lossBefore: this.s.lossBefore }, "training job finished");
    await this.sendStatus();
  }

  /** POST /train in gossip mode: each member gets the job and its shard; this node is a member like the others. */
  private seedGossip(job: string, members: string[], req: TrainRequest): { job: string; state: "running" } {
    const live = new Map(this.livePeers().map((p) => [p.id, p]));
    const shards = assignShards(req.pairs.length, members.map((id) => ({ id, speed: id === this.host.nodeId ? this.speed ?? 1 : Number(live.get(id)?.says?.tsp) })), req.overlap);
    const call = (m: string): GossipCall => ({ job, rounds: req.rounds, seeder: this.host.nodeId, members, stragglerTimeoutS: req.stragglerTimeoutS, pairs: shards.get(m)!.map((i) => req.pairs[i]!) });
    this.log.info({ ev: "job_started", job, mode: "gossip", rounds: req.rounds, pairs: req.pairs.length, members }, "gossip job seeded: each member gets its shard");
    let seeded = 0;
    const overlay = this.host.overlay();
    for (const m of members) {
      if (m === this.host.nodeId) continue;
      const b = encodeGossipCall(call(m));
      seeded += b.length;
      void overlay?.sendPayload(b, { kind: KIND_GOSSIP, to: [m] }).catch((e: Error) => this.log.warn({ ev: "call_failed", job, to: m, err: e.message }, "could not hand a member its shard"));
    }
    this.joinGossip(call(this.host.nodeId), seeded);
    return { job, state: "running" };
  }

  /** A member's gossip job: its rounds, alone. */
  private joinGossip(c: GossipCall, seededBytes = 0): void {
    if (this.running) { this.log.warn({ ev: "gossip_refused", job: c.job, running: this.s.job }, "a gossip job while another runs here, not joined"); return; }
    this.s = { ...idleStatus(), job: c.job, state: "running", mode: "gossip", rounds: c.rounds, coordinator: null, members: c.members, startedAt: Date.now() };
    this.gossipRounds(c, seededBytes).catch((e: Error) => {
      this.s = { ...this.s, state: "failed", endedAt: Date.now(), error: e.message };
      this.log.error({ ev: "job_failed", job: c.job, err: e.message }, "gossip job failed");
    });
  }

  private async gossipRounds(c: GossipCall, seededBytes: number): Promise<void> {
    const tokens = c.pairs.map((p) => this.host.pairTokens(p));
    const n = c.members.length;
    this.s.lossBefore = round4(await this.host.withWeights((w) => meanLoss(w, tokens, yieldToLoop)));
    for (let r = 1; r <= c.rounds && !this.closed; r++) {
      const t0 = performance.now();
      this.s.round = r;
      const out = await this.host.withWeights((w) => trainEpoch(w, tokens, yieldToLoop));
      const config = await this.host.withWeights(async (w) => w.config);
      const share = writeTorchStateDict(scaleDelta(config, out.delta, 1 / n), { sharedStorage: TIED_KEYS });
      const peers = this.livePeers().map((p) => p.id).filter((id) => c.members.includes(id));
      const to = shuffle(peers).slice(0, GOSSIP_FANOUT);
      const { name, bundleBytes } = await this.host.commitRound({ job: c.job, r, members: [this.host.nodeId] }, share, to);
      this.s.entries.push(name);
      // Until the round's other entries are here (gossip brings them), or the straggler timeout.
      const deadline = Date.now() + c.stragglerTimeoutS * 1000;
      let held = this.host.roundAuthors(c.job, r);
      while (!this.closed && c.members.some((m) => !held.includes(m)) && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 200));
        held = this.host.roundAuthors(c.job, r);
      }
      const missing = c.members.filter((m) => !held.includes(m));
      for (const node of missing) this.s.stragglers.push({ round: r, node });
      this.metrics?.jobStragglers.inc(missing.length);
      this.metrics?.jobParticipants.set(held.length);
      const loss = await this.host.withWeights((w) => meanLoss(w, tokens, yieldToLoop));
      this.s.loss.push(round4(loss));
      this.s.bytes.push(bundleBytes * to.length + (r === 1 ? seededBytes : 0));
      this.s.digests.push(this.host.digest().slice(0, 12));
      const seconds = (performance.now() - t0) / 1000;
      this.metrics?.jobRoundSeconds.observe(seconds);
      this.metrics?.jobLoss.set(loss);
      this.log.info({ ev: "round_done", job: c.job, r, mode: "gossip", held, stragglers: missing, loss, to, seconds: round4(seconds), entry: name, digest: this.host.digest().slice(0, 12) }, "gossip round: own entry sent, the others' held");
    }
    this.s = { ...this.s, state: this.closed ? "failed" : "done", endedAt: Date.now(), ...(this.closed ? { error: "the node stopped" } : {}) };
    this.log.info({ ev: "job_done", job: c.job, mode: "gossip", loss: this.s.loss, lossBefore: this.s.lossBefore }, "gossip job finished here");
  }

  /** Until every called member's update arrived or the deadline passed (the coordinator's own is in already). */
  private async waitFor(arrived: Map<string, unknown>, called: string[], deadline: number): Promise<void> {
    while (!this.closed && called.some((m) => !arrived.has(m)) && Date.now() < deadline) {
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(250, Math.max(0, deadline - Date.now())));
        this.wake = () => { clearTimeout(t); res(); };
      });
      this.wake = undefined;
    }
  }

  private async sendStatus(): Promise<void> {
    const o = this.host.overlay();
    if (!o || this.livePeers().length === 0) return;
    await o.sendPayload(encodeStatus(this.s), { kind: KIND_STATUS, to: this.livePeers().map((p) => p.id) })
      .catch((e: Error) => this.log.warn({ ev: "status_failed", err: e.message }, "could not send the job's status"));
  }

  /** A train-* payload from one of our peers (already from a member when the fleet has a roster). */
  onPayload(kind: string, from: string, bytes: Uint8Array): void {
    if (kind === KIND_STATUS) {
      const s = decodeStatus(bytes);
      if (typeof s === "string") { this.log.warn({ ev: "status_refused", from, err: s }, s); return; }
      // Only a job's own coordinator speaks for it, and a coordinating node keeps its own account.
      if (s.coordinator !== from || (this.s.coordinator === this.host.nodeId && this.running)) return;
      this.s = s;
      this.lastHeard = Date.now();
      return;
    }
    if (kind === KIND_UPDATE) {
      const u = decodeUpdate(bytes);
      if (typeof u === "string") { this.log.warn({ ev: "update_refused", from, err: u }, u); return; }
      const arrived = this.waiting.get(`${u.header.job}/${u.header.r}`);
      if (!arrived) { this.log.info({ ev: "update_late", from, job: u.header.job, r: u.header.r }, "an update for a round already closed, left out"); return; }
      try {
        arrived.set(from, { update: { delta: readTorchStateDict(u.delta, `${from}'s update`), weight: u.header.pairs }, bytes: bytes.length, loss: u.header.loss });
      } catch (e) {
        this.log.warn({ ev: "update_refused", from, err: (e as Error).message }, "an update that is not a delta file");
        return;
      }
      this.wake?.();
      return;
    }
    if (kind === KIND_GOSSIP) {
      const c = decodeGossipCall(bytes);
      if (typeof c === "string") { this.log.warn({ ev: "call_refused", from, err: c }, c); return; }
      if (c.seeder !== from || !c.members.includes(this.host.nodeId)) return;
      this.log.info({ ev: "gossip_joined", job: c.job, seeder: from, pairs: c.pairs.length, members: c.members }, "joined a gossip job");
      this.joinGossip(c);
      return;
    }
    if (kind === KIND_ROUND) {
      const c = decodeRoundCall(bytes);
      if (typeof c === "string") { this.log.warn({ ev: "call_refused", from, err: c }, c); return; }
      if (c.coordinator !== from) return;
      this.latestCall = { job: c.job, r: c.r };
      this.lastHeard = Date.now();
      this.log.info({ ev: "round_called", job: c.job, r: c.r, pairs: c.pairs.length, coordinator: from }, "called for a training round");
      if (this.s.job !== c.job || this.s.round < c.r) {
        this.s = this.s.job === c.job ? { ...this.s, round: c.r, state: "running" }
          : { ...idleStatus(), job: c.job, state: "running", round: c.r, rounds: c.rounds, coordinator: c.coordinator, startedAt: Date.now() };
      }
      this.memberQueue = this.memberQueue.then(() => this.trainCall(c)).catch((e: Error) =>
        this.log.warn({ ev: "member_round_failed", job: c.job, r: c.r, err: e.message }, "could not train this round's shard"));
    }
  }

  /** A member's round: wait to hold the entry it starts from, one epoch over the shard, the update to the coordinator. */
  private async trainCall(c: RoundCall): Promise<void> {
    const stale = () => this.latestCall.job !== c.job || this.latestCall.r !== c.r || this.closed;
    const until = Date.now() + AFTER_WAIT_MS;
    while (c.after !== null && !this.host.hasEntry(c.after) && Date.now() < until && !stale()) await new Promise((r) => setTimeout(r, 100));
    if (stale()) return;
    if (c.after !== null && !this.host.hasEntry(c.after)) {
      this.log.warn({ ev: "round_skipped", job: c.job, r: c.r, after: c.after }, "the previous round's entry did not arrive; this round goes on without this node");
      return;
    }
    const tokens = c.pairs.map((p) => this.host.pairTokens(p));
    const out = await this.host.withWeights((w) => trainEpoch(w, tokens, yieldToLoop));
    const bytes = encodeUpdate({ job: c.job, r: c.r, pairs: tokens.length, loss: mean(out.losses) }, writeTorchStateDict(out.delta, { sharedStorage: TIED_KEYS }));
    await this.host.overlay()?.sendPayload(bytes, { kind: KIND_UPDATE, to: [c.coordinator] });
    this.log.info({ ev: "update_sent", job: c.job, r: c.r, pairs: tokens.length, loss: mean(out.losses), bytes: bytes.length }, "trained this round's shard, update sent");
  }

  /** A member's job whose coordinator fell silent is over: failed, with why. */
  private watchCoordinator(): void {
    const now = Date.now();
    // A node that was itself stopped (SIGSTOP, a swapping Pi) has heard nothing meanwhile: look again next time.
    const frozen = now - this.lastWatch > 3 * WATCH_EVERY_MS;
    this.lastWatch = now;
    const c = this.s.coordinator;
    if (frozen || !this.running || c === null || c === this.host.nodeId) return;
    const p = this.host.peers().find((x) => x.id === c);
    const heard = Math.max(p?.lastSeenMs ?? 0, this.lastHeard);
    if (now - heard < COORDINATOR_SILENT_MS) return;
    this.s = { ...this.s, state: "failed", endedAt: now, error: `coordinator ${c} silent for ${Math.round((now - heard) / 1000)} s: the job stopped (its rounds so far stay in the log)` };
    this.log.warn({ ev: "job_failed", job: this.s.job, coordinator: c, err: this.s.error }, "training job failed: its coordinator is gone");
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watch);
    this.wake?.();
  }
}

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
function mean(xs: number[]): number { return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN; }
function round4(x: number): number { return Math.round(x * 1e4) / 1e4; }
/** Lets the overlay and the HTTP API run between training steps. */
function yieldToLoop(): Promise<void> { return new Promise((r) => setImmediate(r)); }
