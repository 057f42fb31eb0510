// One node at run time: the model, its fleet log (log/ledger.ts) and the overlay, wired so that a
// correction taught here reaches every peer, every entry a peer holds reaches us (catch-up.ts), and
// the weights are always base + the exact sum of the entries on disk — the same bits on every node
// that holds the same entries, whatever order they came in. The HTTP API and the prompt call this;
// they never touch the model, the log or the overlay themselves.

import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { courseEntry, entryName, type Entry, type RoundInfo } from "../log/entry.js";
import { decodeBundle } from "../log/bundle.js";
import { LedgerError, type HeldLesson, type Ledger } from "../log/ledger.js";
import type { Refusal } from "../trust/admission.js";
import type { TrustGate } from "../trust/gate.js";
import { sha256Hex } from "../util/sha256.js";
import { CatchUp } from "./catch-up.js";
import { deriveInto } from "./held-weights.js";
import { TRAIN_KINDS } from "../train/wire.js";
import { TrainJobs, type TrainRequest } from "./train-job.js";
import { Lock } from "./lock.js";
import type { NodeMetrics } from "./metrics.js";
import type { AskOptions, AskResult, DeltaOutcome, EngineModel, IncomingDelta, IncomingPayload, OverlayHandle, PeerInfo, TransferInfo } from "./seams.js";
import type { StateFolder } from "./state-folder.js";

export interface TeachOutcome {
  /** The entry's name (author~seq~sha256): what every node lists once it holds the lesson. */
  version: string;
  /** The overlay transfer that carried it to our peers ("" when none was known). */
  transfer: string;
  /** The transfer of the bare delta file for course nodes, when one was known. */
  courseTransfer?: string;
  bytes: number; chunks: number;
  loss: number; steps: number; ms: number;
  answer: string; learned: boolean;
  /**
   * Earlier lessons rehearsed with this one, the questions of those the new weights do not answer
   * exactly, and those left out of the rehearsal (the runtime always sets them; test backends may not).
   */
  rehearsed?: number; notKept?: string[]; unrehearsed?: number;
  digest: string;
}

export interface MergedEvent { version: string; from: string; keys: number; ms: number; latencyMs: number; digest: string; fetched: boolean }
export interface RejectedEvent { version: string; from: string; reason: string; message: string }

export class BusyError extends Error {
  readonly code = "TEACH_IN_PROGRESS";
  constructor() { super("a teach is already running on this node; try again when it finishes"); }
}

/** The state folder cannot take the entry (full disk, no file descriptors): nothing changed. */
export class StateWriteError extends Error {
  readonly code = "STATE_NOT_SAVED";
}

export interface RuntimeOptions {
  nodeId: string;
  model: EngineModel;
  ledger: Ledger;
  folder: StateFolder;
  logger: Logger;
  mergeWeight: number;
  metrics?: NodeMetrics;
  /** Who may change the model (trust/gate.ts); off without a roster. */
  trust?: TrustGate;
  /** Signs an entry this node makes (its identity.key); the bundle carries the signature. */
  sign?: (entry: Entry) => string;
  /** Training pairs per second this node measured (train-job.ts TrainJobs.measureSpeed); said to peers as tsp. */
  trainSpeed?: number;
  /** Test hook (FLEET_TEST_ROUND_GAP_MS): a pause between a coordinator's rounds, so a test can stop a member between them. */
  trainRoundGapMs?: number;
}

export interface RuntimeEvents {
  merged: [MergedEvent];
  rejected: [RejectedEvent];
  taught: [TeachOutcome];
}

/** Why an entry was not merged, as the overlay counts it (overlay/stats.ts REJECT_REASONS). */
function rejectReasonOf(e: unknown): string {
  if (!(e instanceof LedgerError)) return "error";
  switch (e.reason) {
    case "decode": case "dtype": case "empty": case "duplicate": return "decode";
    case "unknown_key": case "shape": case "model": return "shape";
    case "not_finite": case "overflow": return "bounds";
    case "base": return "base";
    case "write": return "write";
  }
}

/** Thrown for an entry the trust gate refused; the overlay counts it as "untrusted". */
export class UntrustedError extends Error {
  readonly reason = "untrusted";
  constructor(readonly refusal: Refusal, message: string) { super(message); }
}

/** Names of refused entries remembered (so a replay is refused unread and catch-up does not fetch it again). */
const REFUSED_NAMES_MAX = 4096;

/** A transfer version made by one of our overlays (sender.ts newVersion): its entry travels as a bundle. */
const OUR_VERSION = /^d[0-9]{13,}-/;
/** Transfers /status lists as recent (the page's Transfers section): sent and merged, newest last. */
const RECENT_TRANSFERS_MAX = 20;

/** A transfer that ended here: an entry this node sent, or one it merged and how long that took. */
export interface RecentTransfer {
  version: string;
  dir: "sent" | "merged";
  /** The entry's author (sent: this node). */
  from: string;
  at: number;
  bytes: number;
  /** sent: datagrams of the first pass; merged: null. */
  chunks: number | null;
  /** merged: from the sender's announcement to the weights changing here (time to merge); sent: null. */
  latencyMs: number | null;
  /** merged: fetched by catch-up rather than heard in the broadcast. */
  fetched: boolean;
}

/** How often anti-entropy looks at its peers. */
const CATCH_UP_TICK_MS = 500;

export class NodeRuntime extends EventEmitter<RuntimeEvents> {
  readonly nodeId: string;
  readonly startedAt = Date.now();
  readonly catchUp: CatchUp;
  private overlay: OverlayHandle | undefined;
  private readonly lock = new Lock();
  private teaching = false;
  private digestCache: string;
  private lastMergeAt: number | undefined;
  private readonly log: Logger;
  private closed = false;
  private writeErrors = 0;
  /** Transfer versions already delivered (course deltas re-sent under the same version). */
  private readonly seenVersions = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  /** Entries the trust gate refused, and why (oldest forgotten first past REFUSED_NAMES_MAX). */
  private readonly refusedNames = new Map<string, Refusal>();
  private readonly recent: RecentTransfer[] = [];
  /** Training jobs (POST /train here, or rounds a coordinator calls this node for). */
  readonly train: TrainJobs;

  constructor(private readonly opts: RuntimeOptions) {
    super();
    this.nodeId = opts.nodeId;
    this.log = opts.logger.child({ mod: "runtime" });
    this.derive();
    this.digestCache = opts.model.digest();
    this.catchUp = new CatchUp({
      log: opts.ledger, overlay: () => this.overlay, logger: this.log,
      onConverged: (ms) => opts.metrics?.convergeSeconds.observe(ms / 1000),
    });
    this.train = new TrainJobs({
      nodeId: opts.nodeId,
      peers: () => this.members(),
      overlay: () => this.overlay,
      withWeights: (fn) => this.lock.run(() => fn(this.opts.model.params)),
      pairTokens: (p) => {
        if (!this.opts.model.pairTokens) throw new Error("this node's model cannot tokenize pairs for training");
        return this.opts.model.pairTokens(p.question, p.answer);
      },
      hasEntry: (name) => this.opts.ledger.has(name),
      commitRound: (round, delta, to) => this.commitRound(round, delta, to),
      roundAuthors: (job, r) => this.opts.ledger.entries().filter((e) => e.kind === "round" && e.round?.job === job && e.round.r === r).map((e) => e.author),
      digest: () => this.digestCache,
    }, opts.logger, opts.metrics, opts.trainSpeed, opts.trainRoundGapMs);
  }

  get model(): EngineModel { return this.opts.model; }
  get ledger(): Ledger { return this.opts.ledger; }
  get digest(): string { return this.digestCache; }
  get ready(): boolean { return this.overlay !== undefined && !this.closed; }
  get overlayStats(): OverlayHandle["stats"] | undefined { return this.overlay?.stats; }
  get stateWriteErrors(): number { return this.writeErrors; }

  attachOverlay(o: OverlayHandle): void {
    this.overlay = o;
    // With a roster, only members are asked what they hold: a stranger's index would only lead to refusals.
    this.timer = setInterval(() => this.catchUp.tick(this.opts.trust?.isOn ? this.peers().filter((p) => this.opts.trust!.isMember(p.id)) : this.peers()), CATCH_UP_TICK_MS);
    this.timer.unref();
  }

  /** The overlay's question before it opens or delivers a transfer. */
  isApplied = (version: string): boolean => this.seenVersions.has(version);

  /** What this node says in each PEER_SYNC. */
  says = (): Record<string, string> => ({ ...this.catchUp.says(), ...this.train.says() });

  /** Our peers that may change the model: all of them, or the roster's members when there is one. */
  private members(): PeerInfo[] {
    return this.opts.trust?.isOn ? this.peers().filter((p) => this.opts.trust!.isMember(p.id)) : this.peers();
  }

  onControl = (from: string, kind: string, body: Record<string, string>): void => this.catchUp.onControl(from, kind, body);

  /** A bare delta file: from a course node (its entry is named by its version), or our own nodes' copy for course nodes. */
  onDelta = async (d: IncomingDelta): Promise<DeltaOutcome> => {
    if (OUR_VERSION.test(d.version)) {
      // One of ours sent the bare file for the course nodes beside the bundle we merge.
      this.log.debug({ ev: "bare_copy", version: d.version, from: d.from }, "a DeltaFleet node's copy for course nodes; its entry comes as a bundle");
      return "duplicate";
    }
    const entry = courseEntry({ from: d.from, version: d.version, sha256: d.sha256, base: this.opts.ledger.baseId, at: Date.now() });
    if (typeof entry === "string") {
      const message = `course delta ${d.version} from ${d.from}: ${entry}`;
      this.emit("rejected", { version: d.version, from: d.from, reason: "decode", message });
      this.log.warn({ ev: "rejected", version: d.version, from: d.from, reason: "decode", err: entry }, "delta rejected");
      throw Object.assign(new Error(message), { reason: "decode" });
    }
    this.log.info({ ev: "verified", version: d.version, from: d.from, sha256: d.sha256, bytes: d.bytes.length }, "delta reassembled and verified, merging");
    const r = await this.merge(entry, d.bytes, undefined, { from: d.from, metaAt: d.metaAt, fetched: false, transfer: d.version });
    this.seenVersions.set(d.version, entryName(entry));
    return r;
  };

  /** A DeltaFleet-only transfer: an entry bundle (a teach's broadcast or catch-up) or a peer's index. */
  onPayload = async (p: IncomingPayload): Promise<void> => {
    if (p.kind === "index") { this.catchUp.onIndex(p.from, p.bytes); return; }
    if (TRAIN_KINDS.includes(p.kind)) {
      // With a roster, only members take part in a job: a stranger's shard, update or status is ignored.
      if (this.opts.trust?.isOn && !this.opts.trust.isMember(p.from)) { this.log.info({ ev: "payload_ignored", kind: p.kind, from: p.from }, "a training message from a non-member"); return; }
      this.train.onPayload(p.kind, p.from, p.bytes);
      return;
    }
    if (p.kind !== "entry") { this.log.debug({ ev: "payload_ignored", kind: p.kind, from: p.from }, "a payload of a kind this node does not take"); return; }
    const b = decodeBundle(p.bytes);
    if (typeof b === "string") {
      this.log.warn({ ev: "rejected", version: p.version, from: p.from, reason: "decode", err: b }, "entry bundle rejected");
      this.emit("rejected", { version: p.version, from: p.from, reason: "decode", message: b });
      throw Object.assign(new Error(b), { reason: "decode" });
    }
    this.seenVersions.set(p.version, entryName(b.entry));
    this.log.info({ ev: "verified", version: p.version, entry: entryName(b.entry), from: p.from, sha256: b.entry.sha256, bytes: b.delta.length }, "entry reassembled and verified, merging");
    await this.merge(b.entry, b.delta, b.sig, { from: p.from, metaAt: p.metaAt, fetched: b.entry.author !== p.from, transfer: p.version });
  };

  /**
   * Keeps an entry and derives the weights from the log: checked whole first, on disk before it
   * counts; a write that fails leaves the weights as they were (and the entry is fetched again).
   */
  private merge(entry: Entry, delta: Uint8Array, sig: string | undefined, how: { from: string; metaAt: number; fetched: boolean; transfer: string }): Promise<DeltaOutcome> {
    const name = entryName(entry);
    return this.lock.run(async () => {
      if (this.opts.ledger.has(name)) {
        this.log.info({ ev: "duplicate", version: name, transfer: how.transfer, from: how.from }, "entry already held, skipped");
        return "duplicate";
      }
      const trust = this.opts.trust?.isOn ? this.opts.trust : undefined;
      const before = trust && this.refusedNames.get(name);
      if (trust && before) {
        trust.refusedAgain(before);
        this.log.info({ ev: "refused_again", version: name, transfer: how.transfer, from: how.from, refusal: before }, "entry refused before, refused again unread");
        throw new UntrustedError(before, `entry ${name} was refused (${before})`);
      }
      const t0 = performance.now();
      let keys = 0;
      try {
        const checked = this.opts.ledger.check(entry, delta);
        keys = checked.parts.length;
        const j = trust?.judge(entry, sig, checked);
        if (j && "refused" in j) throw this.refuse(name, j.refused, j.message, how);
        await this.opts.ledger.add(entry, delta, { sig, checked });
      } catch (e) {
        if (e instanceof UntrustedError) throw e;
        const reason = rejectReasonOf(e);
        const message = (e as Error).message;
        if (reason === "write") this.wroteNothing(name, e as LedgerError);
        else {
          this.log.warn({ ev: "rejected", version: name, transfer: how.transfer, from: how.from, reason, err: message }, "entry rejected");
          this.emit("rejected", { version: name, from: how.from, reason, message });
        }
        throw Object.assign(e as Error, { reason });
      }
      this.derive();
      const ms = performance.now() - t0;
      const at = Date.now();
      const latencyMs = Math.max(0, at - how.metaAt);
      this.lastMergeAt = at;
      this.catchUp.onHeld(name, delta.length, how.fetched);
      const m = this.opts.metrics;
      m?.merged.inc();
      m?.mergeDuration.observe(ms / 1000);
      m?.deliveryLatency.observe(latencyMs / 1000);
      m?.lastMergeTimestamp.set(at / 1000);
      const ev: MergedEvent = { version: name, from: entry.author, keys, ms: round(ms), latencyMs: round(latencyMs), digest: this.digestCache, fetched: how.fetched };
      this.log.info({ ev: "merged", ...ev, transfer: how.transfer, via: how.from, entries: this.opts.ledger.size }, "entry merged");
      this.remember({ version: name, dir: "merged", from: entry.author, at, bytes: delta.length, chunks: null, latencyMs: ev.latencyMs, fetched: how.fetched });
      this.emit("merged", ev);
      return "applied";
    });
  }

  /** A refusal by the trust gate: remembered, counted, logged, never merged; catch-up stops asking for it. */
  private refuse(name: string, refusal: Refusal, message: string, how: { from: string; transfer: string }): UntrustedError {
    if (this.refusedNames.size >= REFUSED_NAMES_MAX) this.refusedNames.delete(this.refusedNames.keys().next().value!);
    this.refusedNames.set(name, refusal);
    this.catchUp.onRefused(name);
    this.log.warn({ ev: "refused", version: name, transfer: how.transfer, from: how.from, refusal, err: message }, "entry refused: it may not change this node's model");
    this.emit("rejected", { version: name, from: how.from, reason: refusal, message });
    return new UntrustedError(refusal, message);
  }

  /**
   * The roster changed: what was refused for who signed it may be admitted now (a re-enrolled node),
   * so it may be fetched and judged again. A delta out of bounds or unsigned stays so whatever the
   * roster says: judging it again would only count it against its author twice.
   */
  rosterChanged(): void {
    const forgotten: string[] = [];
    for (const [name, why] of this.refusedNames) if (why !== "out_of_bounds" && why !== "unsigned") forgotten.push(name);
    for (const name of forgotten) this.refusedNames.delete(name);
    this.catchUp.forgetRefused(forgotten);
  }

  private wroteNothing(name: string, e: LedgerError): void {
    this.writeErrors++;
    this.opts.metrics?.stateWriteErrors.inc();
    this.catchUp.onFailed(name);
    this.log.error({ ev: "state_write_failed", version: name, code: e.code, err: e.message, dir: this.opts.folder.dir },
      "could not save an entry; the weights are unchanged and it will be fetched again");
  }

  ask(question: string, options?: AskOptions): Promise<AskResult> {
    return this.lock.run(() => this.opts.model.ask(question, options));
  }

  /** The lessons of the fleet as this node holds them (the teach entries). */
  lessons(): HeldLesson[] {
    return this.opts.ledger.lessons();
  }

  /** Fine-tunes on the correction, keeps it as an entry of the log, sends it to every peer. One at a time. */
  async teach(question: string, answer: string): Promise<TeachOutcome> {
    if (this.teaching) throw new BusyError();
    if (!this.overlay) throw new Error("teach: the overlay is not running yet (wait for /ready)");
    const overlay = this.overlay;
    this.teaching = true;
    try {
      const { r, entry } = await this.lock.run(async () => {
        const rehearse = this.lessons().map((l) => ({ question: l.question, answer: l.answer }));
        const t = await this.opts.model.teach(question, answer, { rehearse });
        const e = await this.keepOwn({ kind: "teach", lesson: { question: question.trim(), answer: answer.trim() } }, t.delta, "the lesson");
        await this.opts.folder.saveCarry(this.opts.model.carry?.()).catch((err: Error) =>
          this.log.warn({ ev: "carry_save_failed", err: err.message }, "could not save the teach's rounding carry; the next teach starts without it"));
        return { r: t, entry: e };
      });
      const name = entryName(entry);
      const m = this.opts.metrics;
      m?.teaches.inc();
      m?.trainDuration.observe(r.ms / 1000);
      m?.trainLoss.set(r.loss);
      const rehearsal = { rehearsed: r.rehearsed ?? 0, notKept: r.notKept ?? [], unrehearsed: r.unrehearsed ?? 0 };
      this.log.info({ ev: "trained", version: name, loss: r.loss, steps: r.steps, ms: round(r.ms), learned: r.learned, answer: r.answer, bytes: r.delta.length, digest: this.digestCache, ...rehearsal }, "fine-tuned on the correction");
      if (rehearsal.notKept.length > 0) this.log.warn({ ev: "lessons_not_kept", version: name, notKept: rehearsal.notKept }, "the teach could not keep every earlier lesson it rehearsed");
      const { sent } = await this.offer(overlay, name);
      // Course nodes take only the bare delta file. A fleet with a roster and without --accept-unsigned
      // is closed to them both ways: anything can claim to be a course node, and each one heard
      // would be sent a copy.
      const trust = this.opts.trust;
      const forCourse = !trust?.isOn || trust.acceptUnsigned;
      const course = forCourse && this.peers().some((p) => p.ours === false) ? await overlay.sendDelta(r.delta) : undefined;
      const out: TeachOutcome = {
        version: name, transfer: sent!.version, ...(course ? { courseTransfer: course.version } : {}),
        bytes: r.delta.length, chunks: sent!.chunks + (course?.chunks ?? 0),
        loss: r.loss, steps: r.steps, ms: round(r.ms), answer: r.answer, learned: r.learned, ...rehearsal, digest: this.digestCache,
      };
      this.emit("taught", out);
      return out;
    } finally {
      this.teaching = false;
    }
  }

  private remember(t: RecentTransfer): void {
    if (this.recent.push(t) > RECENT_TRANSFERS_MAX) this.recent.shift();
  }

  /** POST /train: this node coordinates a job over the fleet (train-job.ts). */
  startTraining(req: TrainRequest): { job: string; state: "running" } {
    if (!this.overlay) throw new Error("train: the overlay is not running yet (wait for /ready)");
    return this.train.start(req);
  }

  /**
   * A training round's average (or, in gossip, this node's share of it) as an entry of the log, made
   * like a teach's and sent to every peer — or to the few a gossip round names, catch-up carrying it
   * to the rest.
   */
  private async commitRound(round: RoundInfo, delta: Uint8Array, to?: readonly string[]): Promise<{ name: string; bundleBytes: number }> {
    const entry = await this.lock.run(() => this.keepOwn({ kind: "round", round }, delta, "the round"));
    const name = entryName(entry);
    const { bundleBytes } = await this.offer(this.overlay, name, to);
    return { name, bundleBytes };
  }

  /**
   * An entry this node made, kept: signed by this node's key (the store keeps the signature, every
   * bundle of it carries it), on disk before anyone hears of it — a node killed mid-broadcast still
   * holds it and re-offers it to every peer that lacks it once it is back — then the weights derived
   * from the log. A save that fails changes nothing. Under the lock.
   */
  private async keepOwn(made: Pick<Entry, "kind" | "lesson" | "round">, delta: Uint8Array, what: string): Promise<Entry> {
    const e: Entry = {
      author: this.nodeId, seq: this.opts.ledger.nextSeq(this.nodeId), sha256: sha256Hex(delta), base: this.opts.ledger.baseId, at: Date.now(), ...made,
    };
    const sig = this.opts.sign?.(e);
    try {
      await this.opts.ledger.add(e, delta, sig === undefined ? {} : { sig });
    } catch (err) {
      this.derive();   // a teach left the model on baseline + its delta: back to what the log holds
      if (err instanceof LedgerError && err.reason === "write") {
        this.wroteNothing(entryName(e), err);
        throw new StateWriteError(`${what} could not be saved (${err.message}); nothing changed, try again once the disk has room`);
      }
      throw err;
    }
    this.derive();
    this.opts.trust?.admitSelf();
    return e;
  }

  /** An entry this node holds, as a bundle to every peer (or to `to`; none when `to` is empty). */
  private async offer(overlay: OverlayHandle | undefined, name: string, to?: readonly string[]): Promise<{ sent?: { version: string; chunks: number }; bundleBytes: number }> {
    const bundle = await this.opts.ledger.bundle(name);
    const sent = overlay && (to === undefined || to.length > 0) ? await overlay.sendPayload(bundle, { kind: "entry", ...(to ? { to } : {}) }) : undefined;
    const at = Date.now();
    this.lastMergeAt = at;
    this.opts.metrics?.lastMergeTimestamp.set(at / 1000);
    this.log.info({ ev: "broadcast", version: name, transfer: sent?.version ?? null, bytes: bundle.length, chunks: sent?.chunks ?? null, digest: this.digestCache }, "entry sent to the fleet");
    this.remember({ version: name, dir: "sent", from: this.nodeId, at, bytes: bundle.length, chunks: sent?.chunks ?? null, latencyMs: null, fetched: false });
    return { ...(sent ? { sent } : {}), bundleBytes: bundle.length };
  }

  peers(): PeerInfo[] { return this.overlay?.peers() ?? []; }
  transfers(): TransferInfo[] { return this.overlay?.transfers() ?? []; }

  /** The log as /status and the metrics report it: what is on disk. */
  logStatus(): { base: string; entries: number; set: string; writeErrors: number; lacking: number; fetches: { index: number; entry: number }; fetchBytes: number; peers: Array<{ id: string; entries: number | null; set: string | null }> } {
    const l = this.opts.ledger;
    const s = this.catchUp.stats;
    return {
      base: l.baseId, entries: l.size, set: l.set, writeErrors: this.writeErrors, lacking: this.catchUp.lacking(),
      fetches: { index: s.indexFetches, entry: s.entryFetches }, fetchBytes: s.fetchBytes,
      peers: this.peers().filter((p) => p.ours).map((p) => {
        const said = /^(\d+)\.([0-9a-f]{16})$/.exec(p.says?.log ?? "");
        return { id: p.id, entries: said ? Number(said[1]) : null, set: said ? said[2]! : null };
      }),
    };
  }

  status(): Record<string, unknown> {
    const entries = this.opts.ledger.entries().sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
    return {
      id: this.nodeId,
      fingerprint: this.opts.model.fingerprint,
      digest: this.digestCache,
      version: entries.length ? entryName(entries[entries.length - 1]!) : null,
      applied: entries.map((e) => ({ version: entryName(e), from: e.author, kind: e.kind, at: e.at ?? null })),
      log: this.logStatus(),
      peers: this.peers().map((p) => ({ id: p.id, address: p.address, port: p.port, dialect: p.dialect, ours: p.ours ?? false, lastSeenMs: p.lastSeenMs, rttMs: p.rttMs ?? null })),
      transfers: this.transfers(),
      recent: [...this.recent],
      counters: this.overlay?.stats ?? {},
      lastMergeAt: this.lastMergeAt ?? null,
      ...(this.opts.trust ? { trust: this.opts.trust.status() } : {}),
      startedAt: this.startedAt,
      // The node's clock: a reader ages lastSeenMs and the other timestamps by it, not by its own.
      now: Date.now(),
      ready: this.ready,
      teaching: this.teaching,
      stateProblems: [...this.opts.folder.problems, ...this.opts.ledger.problems],
    };
  }

  /** Stops the overlay and waits for a merge in progress; the state on disk is then whole. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.train.close();
    await this.overlay?.close().catch((e: Error) => this.log.warn({ ev: "overlay_close_failed", err: e.message }, "overlay close failed"));
    await this.lock.run(async () => undefined);
    this.opts.trust?.close();
  }

  /** The weights become base + mergeWeight · (exact sum of the entries held). */
  private derive(): void {
    this.digestCache = deriveInto(this.opts.model, this.opts.ledger, this.opts.mergeWeight);
  }
}

function round(ms: number): number { return Math.round(ms * 10) / 10; }
