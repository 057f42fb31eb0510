// Reassembly of incoming deltas: one buffer per (sender, version) under hard bounds, NAKs for the
// gaps after a quiet period with backoff, give-up in bounded time, sha256 check before delivery.

import { createHash } from "node:crypto";
import type { Framing } from "./codec.js";
import { bump, type OverlayStats } from "./stats.js";

export interface ReceiverLimits {
  /** Chunks one transfer may have (a 404 KB course delta has 556). */
  maxChunksPerTransfer: number;
  /** Bytes one transfer may hold. */
  maxTransferBytes: number;
  /** Bytes all open transfers together may hold. */
  maxInFlightBytes: number;
  /** Open transfers at once; a new one then evicts the longest-idle one if it is idle. */
  maxTransfers: number;
  /** Finished (sender, version) pairs remembered so late duplicates are dropped, not restarted. */
  maxRemembered: number;
}

export interface ReceiverTimings {
  /** No chunk for this long: NAK the gaps (course: 3 s). */
  nakQuietMs: number;
  /** After our first NAK: quiet that ends a burst of resends (then the rest is asked for at once). */
  repairQuietMs: number;
  /** Wait after a NAK that brought nothing; doubles each such round up to nakBackoffMaxMs. */
  nakBackoffMs: number;
  nakBackoffMaxMs: number;
  /** NAK rounds without progress before giving up (bounds the wait for a sender that never repairs). */
  nakMaxRounds: number;
  /** All chunks but no META sha256: wait this long for META, then give up (never deliver unverified). */
  metaWaitMs: number;
  /** A transfer with no packet for this long expires (counted as stale). */
  transferIdleMs: number;
  /** How long a finished (sender, version) is remembered. */
  rememberMs: number;
}

export interface TransferInfo {
  version: string;
  from: string;
  have: number;
  total: number | undefined;
  bytes: number;
  startedAt: number;
  metaAt: number | undefined;
}

export interface Completed {
  version: string;
  from: string;
  bytes: Uint8Array;
  sha256: string;
  /** Epoch ms when META (or, lacking it, the first chunk) arrived. */
  metaAt: number;
}

export interface NakRequest {
  from: string;
  address: string;
  port: number;
  framing: Framing;
  version: string;
  missing: number[];
  wantMeta: boolean;
}

export interface ReceiverHooks {
  deliver(c: Completed): void;
  nak(req: NakRequest): void;
  /** The node's applied-version log. */
  isApplied(version: string): boolean;
  event(ev: string, fields: Record<string, unknown>): void;
}

interface Transfer {
  key: string;
  src: string;
  ver: string;
  address: string;
  port: number;
  framing: Framing;
  total: number | undefined;
  sha256: string | undefined;
  size: number | undefined;
  metaAt: number | undefined;
  startedAt: number;
  parts: Map<number, Uint8Array>;
  bytes: number;
  lastActivity: number;
  rounds: number;
  naks: number;
  /** Quiet was seen at a previous tick: NAK now (a tick after a stall must first read what queued up). */
  armed: boolean;
  nextNakAt: number;
  haveAtLastNak: number;
  completeSince: number | undefined;
}

export type Outcome = "completed" | "rejected";

/** An open transfer may be evicted for a new one after this many NAK quiet periods of silence. */
const EVICT_IDLE_NAK_PERIODS = 4;

export class Receiver {
  private readonly open = new Map<string, Transfer>();
  /** key -> when it finished; also versions already delivered (any sender). */
  private readonly finished = new Map<string, number>();
  private readonly deliveredVersions = new Map<string, number>();
  private inFlightBytes = 0;

  constructor(
    private readonly limits: ReceiverLimits,
    private readonly timings: ReceiverTimings,
    private readonly stats: OverlayStats,
    private readonly hooks: ReceiverHooks,
    private readonly now: () => number = Date.now,
  ) {}

  private drop(reason: string): void {
    bump(this.stats.datagramsDropped, reason);
  }

  private lateOrApplied(key: string, ver: string): boolean {
    if (this.finished.has(key)) { this.drop("late"); return true; }
    if (this.deliveredVersions.has(ver) || this.hooks.isApplied(ver)) { this.drop("applied"); return true; }
    return false;
  }

  private get(src: string, ver: string, address: string, port: number, framing: Framing, total: number, isMeta: boolean): Transfer | undefined {
    const key = `${src}\u0000${ver}`;
    if (this.lateOrApplied(key, ver)) return undefined;
    let t = this.open.get(key);
    if (t) {
      if (t.address !== address || t.port !== port) {
        // Only the address that opened the transfer feeds it: a forged SRC cannot poison a delta.
        this.drop("forged_src");
        return undefined;
      }
      return t;
    }
    if (total > this.limits.maxChunksPerTransfer) { this.drop("bounds"); return undefined; }
    if (this.open.size >= this.limits.maxTransfers && !this.evictIdle(isMeta)) { this.drop("transfers_full"); return undefined; }
    const now = this.now();
    t = { key, src, ver, address, port, framing, total: undefined, sha256: undefined, size: undefined, metaAt: undefined,
      startedAt: now, parts: new Map(), bytes: 0, lastActivity: now, rounds: 0, naks: 0, armed: false, nextNakAt: 0, haveAtLastNak: 0,
      completeSince: undefined };
    this.open.set(key, t);
    return t;
  }

  /**
   * Makes room for a new transfer by expiring the longest-idle one that has been quiet for
   * EVICT_IDLE_NAK_PERIODS NAK periods and is not more credible than the newcomer (a transfer with a
   * META outranks chunks of unknown origin, so a flood of bare chunks cannot push a real delta out).
   * The evicted one is not remembered as finished: its sender's next packet may reopen it.
   */
  private evictIdle(newcomerHasMeta: boolean): boolean {
    const now = this.now();
    let oldest: Transfer | undefined;
    for (const t of this.open.values()) {
      if (t.metaAt !== undefined && !newcomerHasMeta) continue;
      if (now - t.lastActivity < this.timings.nakQuietMs * EVICT_IDLE_NAK_PERIODS) continue;
      if (!oldest || t.lastActivity < oldest.lastActivity) oldest = t;
    }
    if (!oldest) return false;
    this.finish(oldest, "stale", "evicted for a new transfer", false);
    return true;
  }

  onMeta(p: { src: string; ver: string; chunks: number; size?: number; sha256?: string }, address: string, port: number, framing: Framing): void {
    if ((p.size ?? 0) > this.limits.maxTransferBytes || p.chunks > this.limits.maxChunksPerTransfer) { this.drop("bounds"); return; }
    const t = this.get(p.src, p.ver, address, port, framing, p.chunks, true);
    if (!t) return;
    if (t.total !== undefined && t.total !== p.chunks) { this.drop("total_changed"); return; }
    if (t.sha256 !== undefined && p.sha256 !== undefined && t.sha256 !== p.sha256) { this.drop("meta_changed"); return; }
    if (t.metaAt === undefined) {
      t.metaAt = this.now();
      this.hooks.event("meta", { version: p.ver, from: p.src, chunks: p.chunks, size: p.size });
    }
    t.total = p.chunks;
    t.sha256 ??= p.sha256;
    t.size ??= p.size;
    t.lastActivity = this.now();
    if (t.size !== undefined && t.bytes > t.size) { this.finish(t, "bounds", `holds ${t.bytes} B, META says ${t.size}`); return; }
    if (t.parts.size === t.total) this.tryComplete(t);
  }

  onChunk(p: { src: string; ver: string; idx: number; total: number; data: Uint8Array }, address: string, port: number, framing: Framing): void {
    const t = this.get(p.src, p.ver, address, port, framing, p.total, false);
    if (!t) return;
    if (t.total !== undefined && t.total !== p.total) { this.drop("total_changed"); return; }
    if (t.parts.has(p.idx)) { this.drop("duplicate"); t.lastActivity = this.now(); return; }
    const len = p.data.length;
    if (t.bytes + len > this.limits.maxTransferBytes || (t.size !== undefined && t.bytes + len > t.size)) {
      this.finish(t, "bounds", `would hold ${t.bytes + len} B (limit ${Math.min(this.limits.maxTransferBytes, t.size ?? Infinity)})`);
      return;
    }
    if (this.inFlightBytes + len > this.limits.maxInFlightBytes) { this.drop("in_flight_full"); return; }
    t.total = p.total;
    t.parts.set(p.idx, p.data);
    t.bytes += len;
    this.inFlightBytes += len;
    t.lastActivity = this.now();
    if (t.framing !== "binary" && framing === "binary") t.framing = framing;
    if (t.parts.size === t.total) this.tryComplete(t);
  }

  private tryComplete(t: Transfer): void {
    if (t.sha256 === undefined) {
      t.completeSince ??= this.now();   // tick() asks for META, then gives up after metaWaitMs
      return;
    }
    const bytes = Buffer.concat(Array.from({ length: t.total! }, (_, i) => t.parts.get(i)!));
    if (t.size !== undefined && bytes.length !== t.size) { this.finish(t, "bounds", `reassembled ${bytes.length} B, META says ${t.size}`); return; }
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (sha !== t.sha256) { this.finish(t, "sha", `sha256 ${sha.slice(0, 12)} != META ${t.sha256.slice(0, 12)}`); return; }
    if (this.deliveredVersions.has(t.ver) || this.hooks.isApplied(t.ver)) { this.finish(t, "duplicate", "already applied"); return; }
    this.finish(t, undefined, undefined);
    this.deliveredVersions.set(t.ver, this.now());
    this.stats.deltasCompleted++;
    this.hooks.deliver({ version: t.ver, from: t.src, bytes, sha256: sha, metaAt: t.metaAt ?? t.startedAt });
  }

  /** Closes a transfer; with a reason it counts as rejected (gave_up also counts transfersGaveUp). */
  private finish(t: Transfer, reason: string | undefined, detail: string | undefined, remember = true): void {
    this.open.delete(t.key);
    this.inFlightBytes -= t.bytes;
    if (remember) this.finished.set(t.key, this.now());
    if (this.finished.size > this.limits.maxRemembered) this.finished.delete(this.finished.keys().next().value!);
    if (reason === undefined) return;
    bump(this.stats.deltasRejected, reason);
    if (reason === "gave_up") this.stats.transfersGaveUp++;
    this.hooks.event(reason === "gave_up" ? "gave-up" : "delta-rejected", {
      version: t.ver, from: t.src, reason, detail, have: t.parts.size, total: t.total, rounds: t.rounds });
  }

  /** Housekeeping: NAKs, give-ups, expiry. Called every tickMs. */
  tick(): void {
    const now = this.now();
    const tm = this.timings;
    for (const t of [...this.open.values()]) {
      if (now - t.lastActivity >= tm.transferIdleMs) { this.finish(t, "stale", `idle ${now - t.lastActivity} ms`); continue; }
      if (t.completeSince !== undefined) {
        if (now - t.completeSince >= tm.metaWaitMs) { this.finish(t, "gave_up", `all chunks but no META sha256 after ${tm.metaWaitMs} ms`); continue; }
        if (now >= t.nextNakAt) this.sendNak(t, [], now);
        continue;
      }
      // Senders go in idx order: with the last chunk here, or once we have NAKed (resends come as one
      // burst), a shorter quiet tells us the burst is over.
      const quiet = t.naks > 0 || (t.total !== undefined && t.parts.has(t.total - 1)) ? tm.repairQuietMs : tm.nakQuietMs;
      if (t.total === undefined || now - t.lastActivity < quiet) { t.armed = false; continue; }
      // Timers run before the socket is read: after a stall of this process, datagrams that came
      // meanwhile are still queued. Confirm the quiet at the next tick before asking for resends.
      if (!t.armed) { t.armed = true; continue; }
      const progressed = t.naks > 0 && t.parts.size > t.haveAtLastNak;
      if (progressed) t.rounds = 0;   // the last NAK brought something: ask for the rest at once
      else if (now < t.nextNakAt) continue;
      if (t.rounds >= tm.nakMaxRounds) {
        this.finish(t, "gave_up", `${t.rounds} NAK rounds brought nothing`);
        continue;
      }
      const missing: number[] = [];
      for (let i = 0; i < t.total; i++) if (!t.parts.has(i)) missing.push(i);
      this.sendNak(t, missing, now);
    }
    for (const [k, at] of this.finished) if (now - at > tm.rememberMs) this.finished.delete(k);
    for (const [k, at] of this.deliveredVersions) if (now - at > tm.rememberMs) this.deliveredVersions.delete(k);
  }

  private sendNak(t: Transfer, missing: number[], now: number): void {
    t.rounds++;
    t.naks++;
    t.haveAtLastNak = t.parts.size;
    t.nextNakAt = now + Math.min(this.timings.nakBackoffMs * 2 ** (t.rounds - 1), this.timings.nakBackoffMaxMs);
    this.hooks.nak({ from: t.src, address: t.address, port: t.port, framing: t.framing, version: t.ver, missing,
      wantMeta: t.sha256 === undefined });
  }

  list(): TransferInfo[] {
    return [...this.open.values()].map((t) => ({ version: t.ver, from: t.src, have: t.parts.size, total: t.total,
      bytes: t.bytes, startedAt: t.startedAt, metaAt: t.metaAt }));
  }

  get bytesInFlight(): number {
    return this.inFlightBytes;
  }
}
