// One node at run time: the model, its state folder and the overlay, wired so that a correction
// taught here reaches every peer and every delta a peer sends is merged exactly once. The HTTP API
// and the prompt call this; they never touch the model or the overlay themselves.

import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { Lock } from "./lock.js";
import type { NodeMetrics } from "./metrics.js";
import type { AppliedEntry } from "./applied-log.js";
import type { AskOptions, AskResult, DeltaOutcome, EngineModel, IncomingDelta, OverlayHandle, PeerInfo, TransferInfo } from "./seams.js";
import type { StateDir } from "./state-dir.js";
import type { DeltaRejectReason } from "../engine/delta.js";

export interface TeachOutcome {
  version: string; bytes: number; chunks: number;
  loss: number; steps: number; ms: number;
  answer: string; learned: boolean;
  digest: string;
}

export interface MergedEvent { version: string; from: string; keys: number; ms: number; latencyMs: number; digest: string }
export interface RejectedEvent { version: string; from: string; reason: string; message: string }

export class BusyError extends Error {
  readonly code = "TEACH_IN_PROGRESS";
  constructor() { super("a teach is already running on this node; try again when it finishes"); }
}

export interface RuntimeOptions {
  nodeId: string;
  model: EngineModel;
  state: StateDir;
  logger: Logger;
  mergeWeight: number;
  /** The engine's DeltaError test: "decode"/"shape" for a delta that cannot be merged. */
  deltaErrorReason: (e: unknown) => DeltaRejectReason | undefined;
  metrics?: NodeMetrics;
}

export interface RuntimeEvents {
  merged: [MergedEvent];
  rejected: [RejectedEvent];
  taught: [TeachOutcome];
}

export class NodeRuntime extends EventEmitter<RuntimeEvents> {
  readonly nodeId: string;
  readonly startedAt = Date.now();
  private overlay: OverlayHandle | undefined;
  private readonly lock = new Lock();
  private teaching = false;
  private digestCache: string;
  private lastMergeAt: number | undefined;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly opts: RuntimeOptions) {
    super();
    this.nodeId = opts.nodeId;
    this.log = opts.logger.child({ mod: "runtime" });
    this.digestCache = opts.model.digest();
  }

  get model(): EngineModel { return this.opts.model; }
  get state(): StateDir { return this.opts.state; }
  get digest(): string { return this.digestCache; }
  get ready(): boolean { return this.overlay !== undefined && !this.closed; }
  get overlayStats(): OverlayHandle["stats"] | undefined { return this.overlay?.stats; }

  attachOverlay(o: OverlayHandle): void { this.overlay = o; }

  /** The overlay's question before it opens or delivers a transfer: the state's applied log answers. */
  isApplied = (version: string): boolean => this.opts.state.applied.has(version);

  /** The overlay's callback for a delta received whole with a matching sha256. */
  onDelta = async (d: IncomingDelta): Promise<DeltaOutcome> => {
    // Decided under the lock, where merges and teaches take turns: a copy arriving while the first
    // merges waits, then finds it applied.
    return this.lock.run(async () => {
      if (this.isApplied(d.version)) {
        this.log.info({ ev: "duplicate", version: d.version, from: d.from }, "delta already applied, skipped");
        return "duplicate";
      }
      this.log.info({ ev: "verified", version: d.version, from: d.from, sha256: d.sha256, bytes: d.bytes.length }, "delta reassembled and verified, merging");
      await this.opts.state.keepDelta(d.version, d.bytes).catch((e: Error) =>
        this.log.warn({ ev: "delta_keep_failed", version: d.version, err: e.message }, "could not keep the delta file"));
      const t0 = performance.now();
      let keys = 0;
      try {
        keys = (await this.opts.model.merge(d.bytes, this.opts.mergeWeight)).keys;
      } catch (e) {
        const reason = this.opts.deltaErrorReason(e);
        const message = (e as Error).message;
        this.log.warn({ ev: "rejected", version: d.version, from: d.from, reason: reason ?? "error", err: message }, "delta rejected");
        this.emit("rejected", { version: d.version, from: d.from, reason: reason ?? "error", message });
        throw e;
      }
      const entry: AppliedEntry = { version: d.version, from: d.from, at: Date.now(), sha256: d.sha256 };
      await this.commit(entry);
      const ms = performance.now() - t0;
      const latencyMs = Math.max(0, Date.now() - d.metaAt);
      this.lastMergeAt = entry.at;
      const m = this.opts.metrics;
      m?.merged.inc();
      m?.mergeDuration.observe(ms / 1000);
      m?.deliveryLatency.observe(latencyMs / 1000);
      m?.lastMergeTimestamp.set(entry.at / 1000);
      const ev: MergedEvent = { version: d.version, from: d.from, keys, ms: round(ms), latencyMs: round(latencyMs), digest: this.digestCache };
      this.log.info({ ev: "merged", ...ev, weight: this.opts.mergeWeight }, "delta merged");
      this.emit("merged", ev);
      return "applied";
    });
  };

  ask(question: string, options?: AskOptions): Promise<AskResult> {
    return this.lock.run(() => this.opts.model.ask(question, options));
  }

  /** Fine-tunes on the correction, saves the weights, broadcasts the delta. One at a time. */
  async teach(question: string, answer: string): Promise<TeachOutcome> {
    if (this.teaching) throw new BusyError();
    if (!this.overlay) throw new Error("teach: the overlay is not running yet (wait for /ready)");
    const overlay = this.overlay;
    this.teaching = true;
    try {
      const r = await this.lock.run(async () => {
        const t = await this.opts.model.teach(question, answer);
        // The weights are baseline + delta now: save them before anyone hears of the delta, so a
        // crash cannot leave this node behind the fleet it taught.
        await this.commit();
        return t;
      });
      const m = this.opts.metrics;
      m?.teaches.inc();
      m?.trainDuration.observe(r.ms / 1000);
      m?.trainLoss.set(r.loss);
      this.log.info({ ev: "trained", loss: r.loss, steps: r.steps, ms: round(r.ms), learned: r.learned, answer: r.answer, bytes: r.delta.length, digest: this.digestCache }, "fine-tuned on the correction");
      const sent = await overlay.sendDelta(r.delta);
      const at = Date.now();
      await this.lock.run(() => this.opts.state.recordApplied({ version: sent.version, from: this.nodeId, at }));
      await this.opts.state.keepDelta(sent.version, r.delta).catch(() => undefined);
      this.lastMergeAt = at;
      m?.lastMergeTimestamp.set(at / 1000);
      const out: TeachOutcome = {
        version: sent.version, bytes: sent.bytes, chunks: sent.chunks,
        loss: r.loss, steps: r.steps, ms: round(r.ms), answer: r.answer, learned: r.learned, digest: this.digestCache,
      };
      this.log.info({ ev: "broadcast", version: sent.version, bytes: sent.bytes, chunks: sent.chunks }, "delta broadcast");
      this.emit("taught", out);
      return out;
    } finally {
      this.teaching = false;
    }
  }

  peers(): PeerInfo[] { return this.overlay?.peers() ?? []; }
  transfers(): TransferInfo[] { return this.overlay?.transfers() ?? []; }

  status(): Record<string, unknown> {
    const applied = this.opts.state.applied.entries();
    return {
      id: this.nodeId,
      fingerprint: this.opts.model.fingerprint,
      digest: this.digestCache,
      version: applied.at(-1)?.version ?? null,
      applied: applied.map((a) => ({ version: a.version, from: a.from, at: a.at })),
      peers: this.peers().map((p) => ({ id: p.id, address: p.address, port: p.port, dialect: p.dialect, lastSeenMs: p.lastSeenMs, rttMs: p.rttMs ?? null })),
      transfers: this.transfers(),
      counters: this.overlay?.stats ?? {},
      lastMergeAt: this.lastMergeAt ?? null,
      startedAt: this.startedAt,
      ready: this.ready,
      teaching: this.teaching,
      stateProblems: this.opts.state.problems,
    };
  }

  /** Stops the overlay and waits for a merge or save in progress; the state on disk is then whole. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.overlay?.close().catch((e: Error) => this.log.warn({ ev: "overlay_close_failed", err: e.message }, "overlay close failed"));
    await this.lock.run(async () => undefined);
  }

  private async commit(entry?: AppliedEntry): Promise<void> {
    this.digestCache = this.opts.model.digest();
    try {
      await this.opts.state.commit(this.opts.model, entry);
    } catch (e) {
      this.log.error({ ev: "state_save_failed", err: (e as Error).message, dir: this.opts.state.dir }, "could not save the state; the weights in memory are ahead of the disk");
    }
  }
}

function round(ms: number): number { return Math.round(ms * 10) / 10; }
