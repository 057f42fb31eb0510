// Incoming deltas: one transfer per (sender, version) under hard bounds, from the address that
// opened it; each reassembles its chunks (reassembly.ts) and asks for what it lost on the schedule
// its sender's kind needs (nak-schedule.ts); given up in bounded time, delivered only once verified,
// and each version only once.

import { FEC_BLOCK_CHUNKS, IdxRanges, type Framing } from "./codec.js";
import { REAL_CLOCK, type Clock } from "./clock.js";
import { CourseNaks, type CourseNakTimings } from "./course-naks.js";
import { FleetNaks, type FleetNakTimings } from "./fleet-naks.js";
import type { NakSchedule, ScheduleContext } from "./nak-schedule.js";
import { Reassembly, type MetaFacts, type ParityFate } from "./reassembly.js";
import { bump, type DropReason, type OverlayStats, type RejectReason } from "./stats.js";

export interface ReceiverLimits {
  /** Chunks one transfer may have (a 404 KB course delta has 556). */
  maxChunksPerTransfer: number;
  /** Bytes one transfer may hold. */
  maxTransferBytes: number;
  /** Bytes all open transfers together may hold. */
  maxInFlightBytes: number;
  /** Open transfers at once; a new one then evicts the longest-idle one if it is idle. */
  maxTransfers: number;
  /**
   * Open transfers one source socket (address and port) may hold. A sender announces one delta at
   * a time, so a few are plenty; without it one flooding socket fills every slot and a real delta
   * arriving meanwhile is refused and lost.
   */
  maxTransfersPerSource: number;
  /** Finished (sender, version) pairs remembered so late duplicates are dropped, not restarted. */
  maxRemembered: number;
  /**
   * Open transfers from senders the node does not trust (ReceiverHooks.isTrusted), all together:
   * a small pool, a newcomer evicting the one with least progress. However many sources or
   * addresses a flood uses, it cannot take a trusted peer's slot. Default UNTRUSTED_POOL.
   */
  maxUntrustedTransfers?: number;
}

/** Slots for transfers from untrusted senders (limits.maxUntrustedTransfers). */
export const UNTRUSTED_POOL = 4;

export interface ReceiverTimings extends CourseNakTimings, FleetNakTimings {
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
  /** Entries of per-idx state its NAK schedule keeps (at most 2 × the NAK horizon, reassembly.ts). */
  tracked: number;
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
  /** What a DeltaFleet-only transfer carries (META kind=); undefined for a delta file. */
  kind?: string;
}

export interface NakRequest {
  from: string;
  address: string;
  port: number;
  framing: Framing;
  version: string;
  missing: number[];
  wantMeta: boolean;
  /**
   * SEQ of the last binary chunk heard from that sender (lets it skip resends our NAK crossed).
   * Left out when our last NAK brought nothing and nothing came for a tail quiet: then a SEQ from
   * before would make the sender wait out its hold before resending what we lost.
   */
  heard?: number;
}

export interface ReceiverHooks {
  deliver(c: Completed): void;
  nak(req: NakRequest): void;
  /** The node's applied-version log. */
  isApplied(version: string): boolean;
  /** Is this sender a DeltaFleet node (idx order, pooled resends: the fast NAK schedule)? */
  isFleet?(src: string): boolean;
  /**
   * Is this sender one of the fleet's (the roster; until there is one, the overlay says: seen in a
   * PEER_SYNC)? Its transfers take the slots, fairly per peer; the others share a small pool.
   * Absent: every sender is trusted.
   */
  isTrusted?(src: string): boolean;
  event(ev: string, fields: Record<string, unknown>): void;
}

interface Transfer {
  key: string;
  src: string;
  ver: string;
  /** From a trusted sender when opened (looked up again before it is evicted). */
  trusted: boolean;
  /** The socket that opened the transfer: the only one that may feed it. */
  address: string;
  port: number;
  framing: Framing;
  held: Reassembly;
  /** What its NAK schedule reads and calls; kept for a schedule that turns fleet. */
  ctx: ScheduleContext;
  schedule: NakSchedule;
  startedAt: number;
  metaAt: number | undefined;
  lastActivity: number;
  /** When every chunk was here but no META sha256 was: META is asked for until metaWaitMs. */
  wholeAt: number | undefined;
}

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
    private readonly clock: Clock = REAL_CLOCK,
  ) {}

  private now(): number {
    return this.clock.now();
  }

  private drop(reason: DropReason): void {
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
    const open = this.open.get(key);
    if (open) {
      if (open.address !== address || open.port !== port) {
        // Only the address that opened the transfer feeds it: a forged SRC cannot poison a delta.
        this.drop("forged_src");
        return undefined;
      }
      return open;
    }
    if (total > this.limits.maxChunksPerTransfer) { this.drop("bounds"); return undefined; }
    if (this.openFrom(address, port) >= this.limits.maxTransfersPerSource) { this.drop("source_full"); return undefined; }
    const trusted = this.hooks.isTrusted?.(src) ?? true;
    if (!trusted && !this.poolRoom()) { this.drop("untrusted_full"); return undefined; }
    if (this.open.size >= this.limits.maxTransfers && !this.evictIdle(isMeta, trusted) && !(trusted && this.evictForTrusted(src))) {
      this.drop("transfers_full");
      return undefined;
    }
    const now = this.now();
    const held = new Reassembly(this.limits.maxTransferBytes);
    const ctx: ScheduleContext = { held, clock: this.clock, nak: (missing, heard) => this.nak(t, missing, heard) };
    const t: Transfer = { key, src, ver, trusted, address, port, framing, held, ctx, startedAt: now, metaAt: undefined, lastActivity: now, wholeAt: undefined,
      schedule: this.fleetSender(framing, src) ? new FleetNaks(ctx, this.timings) : new CourseNaks(ctx, this.timings) };
    this.open.set(key, t);
    return t;
  }

  private openFrom(address: string, port: number): number {
    let n = 0;
    for (const t of this.open.values()) if (t.address === address && t.port === port) n++;
    return n;
  }

  private isTrusted(t: Transfer): boolean {
    return (t.trusted ||= this.hooks.isTrusted?.(t.src) ?? true);
  }

  /** The open transfer with the least progress (chunks held; then the longest idle) among those `pick`s. */
  private leastProgress(pick: (t: Transfer) => boolean): Transfer | undefined {
    let least: Transfer | undefined;
    for (const t of this.open.values()) {
      if (!pick(t)) continue;
      if (!least || t.held.count < least.held.count || (t.held.count === least.held.count && t.lastActivity < least.lastActivity)) least = t;
    }
    return least;
  }

  /** Room in the untrusted pool for a newcomer: a free slot, or the member with least progress evicted. */
  private poolRoom(): boolean {
    const pool = this.limits.maxUntrustedTransfers ?? UNTRUSTED_POOL;
    let n = 0;
    for (const t of this.open.values()) if (!this.isTrusted(t)) n++;
    if (n < pool) return true;
    const least = this.leastProgress((t) => !this.isTrusted(t));
    if (!least) return false;   // a pool of 0
    this.evict(least);
    return true;
  }

  /**
   * All slots taken and none idle: a trusted newcomer takes an untrusted transfer's slot, else the
   * least-progress one of the trusted peer holding the most, if that peer holds more than the
   * newcomer's would (fair shares per peer).
   */
  private evictForTrusted(src: string): boolean {
    const untrusted = this.leastProgress((t) => !this.isTrusted(t));
    if (untrusted) { this.evict(untrusted); return true; }
    const held = new Map<string, number>();
    for (const t of this.open.values()) held.set(t.src, (held.get(t.src) ?? 0) + 1);
    let top: string | undefined;
    for (const [peer, n] of held) if (top === undefined || n > held.get(top)!) top = peer;
    if (top === undefined || held.get(top)! <= (held.get(src) ?? 0) + 1) return false;
    this.evict(this.leastProgress((t) => t.src === top)!);
    return true;
  }

  /** Closes a transfer for a newcomer: not remembered (its sender's next packet may reopen it), counted. */
  private evict(t: Transfer): void {
    this.finish(t, undefined, undefined, false);
    bump(this.stats.transfersEvicted, this.isTrusted(t) ? "trusted" : "untrusted");
  }

  /**
   * Makes room for a new transfer by expiring the longest-idle one that has been quiet for
   * EVICT_IDLE_NAK_PERIODS NAK periods and is not more credible than the newcomer (a transfer with a
   * META outranks chunks of unknown origin, so a flood of bare chunks cannot push a real delta out).
   * The evicted one is not remembered as finished: its sender's next packet may reopen it.
   */
  private evictIdle(newcomerHasMeta: boolean, newcomerTrusted: boolean): boolean {
    const now = this.now();
    let oldest: Transfer | undefined;
    for (const t of this.open.values()) {
      if (!newcomerTrusted && this.isTrusted(t)) continue;   // an unknown sender never takes a trusted slot
      if (t.metaAt !== undefined && !newcomerHasMeta) continue;
      if (now - t.lastActivity < this.timings.nakQuietMs * EVICT_IDLE_NAK_PERIODS) continue;
      if (!oldest || t.lastActivity < oldest.lastActivity) oldest = t;
    }
    if (!oldest) return false;
    this.finish(oldest, "stale", "evicted for a new transfer", false);
    return true;
  }

  // ---- NAK schedules ----------------------------------------------------------------------------

  private fleetSender(framing: Framing, src: string): boolean {
    return framing === "binary" || (this.hooks.isFleet?.(src) ?? false);
  }

  /**
   * The transfer's NAK schedule. A course one turns fleet once its sender is known as a DeltaFleet
   * node (its PEER_SYNC or a binary frame may come after its first chunks), and stays so.
   */
  private scheduleOf(t: Transfer): NakSchedule {
    if (t.schedule.kind === "course" && this.fleetSender(t.framing, t.src)) {
      t.schedule = new FleetNaks(t.ctx, this.timings, t.schedule);
    }
    return t.schedule;
  }

  /**
   * Coded repair: a block holding p repair symbols needs p fewer of its missing chunks, so its first p
   * are left out of the NAK. The sender answers a block with as many fresh symbols as its worst
   * asker's count, which is then what that asker still needs.
   */
  private nak(t: Transfer, all: number[], heard: number | undefined): void {
    let missing = all;
    if (t.held.parityBytes > 0) {
      const skip = new Map<number, number>();
      missing = all.filter((i) => {
        const b = Math.floor(i / FEC_BLOCK_CHUNKS);
        const left = skip.get(b) ?? t.held.parityHeld(b);
        skip.set(b, left - 1);
        return left <= 0;
      });
      if (missing.length === 0 && all.length > 0 && t.held.digest !== undefined) return;
    }
    this.hooks.nak({ from: t.src, address: t.address, port: t.port, framing: t.framing, version: t.ver, missing,
      wantMeta: t.held.digest === undefined, heard });
  }

  // ---- datagrams ---------------------------------------------------------------------------------

  onMeta(p: { src: string; ver: string } & MetaFacts, address: string, port: number, framing: Framing): void {
    if ((p.size ?? 0) > this.limits.maxTransferBytes || p.chunks > this.limits.maxChunksPerTransfer) { this.drop("bounds"); return; }
    const t = this.get(p.src, p.ver, address, port, framing, p.chunks, true);
    if (!t) return;
    const contradicts = t.held.meta(p);
    if (contradicts) { this.drop(contradicts); return; }
    if (t.metaAt === undefined) {
      t.metaAt = this.now();
      this.hooks.event("meta", { version: p.ver, from: p.src, chunks: p.chunks, size: p.size });
    }
    t.lastActivity = this.now();
    if (t.held.bytes > t.held.limit) { this.finish(t, "bounds", `holds ${t.held.bytes} B, META says ${t.held.size}`); return; }
    if (t.held.whole) this.tryComplete(t);
  }

  /** `seq`: the frame's SEQ, for binary frames (u32). */
  onChunk(p: { src: string; ver: string; idx: number; total: number; data: Uint8Array; seq?: number }, address: string, port: number, framing: Framing): void {
    const t = this.get(p.src, p.ver, address, port, framing, p.total, false);
    if (!t) return;
    if (t.held.total !== undefined && t.held.total !== p.total) { this.drop("total_changed"); return; }
    const seq = framing === "binary" ? p.seq : undefined;
    if (t.held.has(p.idx)) {
      this.drop("duplicate");
      t.lastActivity = this.now();
      this.scheduleOf(t).onChunk(p.idx, seq, "duplicate");
      return;
    }
    const len = p.data.length;
    if (t.held.bytes + len > t.held.limit) {
      this.finish(t, "bounds", `would hold ${t.held.bytes + len} B (limit ${t.held.limit})`);
      return;
    }
    if (this.inFlightBytes + len > this.limits.maxInFlightBytes) {
      this.drop("in_flight_full");
      this.scheduleOf(t).onChunk(p.idx, seq, "refused");
      return;
    }
    t.held.add(p.idx, p.total, p.data);
    this.inFlightBytes += len;
    t.lastActivity = this.now();
    // Binary frames come only from DeltaFleet nodes: NAKs for the transfer go on their schedule.
    if (framing === "binary") t.framing = framing;
    // With the repair symbols it holds, this chunk may complete its block: the rest are decoded.
    const parityBefore = t.held.parityBytes;
    const decoded = parityBefore > 0 ? t.held.decodeBlockOf(p.idx) : undefined;
    this.inFlightBytes += t.held.parityBytes - parityBefore;   // the block's symbols let go
    if (t.held.whole) this.tryComplete(t);
    if (this.open.get(t.key) === t) this.scheduleOf(t).onChunk(p.idx, seq, "held");
    if (decoded && this.open.get(t.key) === t) this.placeDecoded(t, decoded, seq);
  }

  /**
   * A DeltaFleet sender's repair symbol (coded repair): held by the transfer's reassembly until its
   * block has k chunks and symbols, then the block's missing chunks are decoded and taken in as if
   * received. Only for an open transfer, from the socket that opened it; counted in flight while held.
   */
  onRepairSymbol(p: { src: string; ver: string; block: number; k: number; symbol: number; tailLen: number; data: Uint8Array; seq: number }, address: string, port: number): void {
    const key = `${p.src}\u0000${p.ver}`;
    const t = this.open.get(key);
    if (!t) { if (!this.lateOrApplied(key, p.ver)) this.drop("repair_unknown"); return; }
    if (t.address !== address || t.port !== port) { this.drop("forged_src"); return; }
    const len = p.data.length;
    // Symbols are held only while fewer than the chunks their block misses (reassembly.ts), so chunks
    // and symbols stay within the transfer's limit but for one symbol's padding over a short last chunk.
    if (t.held.bytes + t.held.parityBytes >= t.held.limit) { this.drop("bounds"); return; }
    if (this.inFlightBytes + len > this.limits.maxInFlightBytes) { this.drop("in_flight_full"); return; }
    t.framing = "binary";
    t.lastActivity = this.now();
    const before = t.held.parityBytes;
    const r = t.held.addParity(p.block, p.k, p.symbol, p.tailLen, p.data);
    this.inFlightBytes += t.held.parityBytes - before;   // this symbol held, or the block's let go
    this.stats.repairSymbolsReceived++;
    const first = p.block * FEC_BLOCK_CHUNKS;
    if (r.fate === "bad_repair" || r.fate === "useless") {
      this.drop(r.fate === "useless" ? "duplicate" : "bad_repair");
      this.scheduleOf(t).onChunk(first, p.seq, "duplicate");
      return;
    }
    if (r.fate === "held") { this.scheduleOf(t).onChunk(first, p.seq, "duplicate"); return; }
    this.placeDecoded(t, r, p.seq);
  }

  /** Chunks a block's repair symbols gave back, taken in like received ones (the caller let the symbols' bytes go). */
  private placeDecoded(t: Transfer, r: ParityFate, seq: number | undefined): void {
    if (r.fate !== "recovered") return;
    for (const c of r.chunks) {
      if (this.open.get(t.key) !== t) return;
      if (t.held.has(c.idx)) continue;
      if (t.held.bytes + c.data.length > t.held.limit) { this.finish(t, "bounds", `would hold ${t.held.bytes + c.data.length} B (limit ${t.held.limit})`); return; }
      t.held.add(c.idx, t.held.total!, c.data);
      this.inFlightBytes += c.data.length;
      this.stats.chunksRecovered++;
      if (t.held.whole) this.tryComplete(t);
      if (this.open.get(t.key) === t) this.scheduleOf(t).onChunk(c.idx, seq, "held");
    }
  }

  /** A DeltaFleet sender's REPAIRED marker: these idx were resent before it. */
  onRepaired(p: { src: string; ver: string; idx: readonly number[] | IdxRanges; seq: number }, address: string, port: number): void {
    const t = this.open.get(`${p.src}\u0000${p.ver}`);
    if (!t || t.address !== address || t.port !== port) return;
    this.scheduleOf(t).onRepaired(p.idx instanceof IdxRanges ? p.idx : IdxRanges.of(p.idx), p.seq);
  }

  // ---- completion --------------------------------------------------------------------------------

  private tryComplete(t: Transfer): void {
    if (t.held.digest === undefined) {
      t.wholeAt ??= this.now();   // the NAK schedule asks for META, tick() gives up after metaWaitMs
      return;
    }
    const verified = t.held.verify();
    if (!verified.ok) { this.finish(t, verified.reason, verified.detail); return; }
    // Before inflating: a duplicate costs no inflate, and counts as a duplicate whatever its payload.
    if (this.deliveredVersions.has(t.ver) || this.hooks.isApplied(t.ver)) { this.finish(t, "duplicate", "already applied"); return; }
    const delta = t.held.unpack(verified);
    if (!delta.ok) { this.finish(t, delta.reason, delta.detail); return; }
    this.finish(t, undefined, undefined);
    this.deliveredVersions.set(t.ver, this.now());
    if (t.held.kind === undefined) this.stats.deltasCompleted++;
    const kind = t.held.kind;
    this.hooks.deliver({ version: t.ver, from: t.src, bytes: delta.file, sha256: delta.sha256, metaAt: t.metaAt ?? t.startedAt, ...(kind ? { kind } : {}) });
  }

  /** Closes a transfer; with a reason it counts as rejected (gave_up also counts transfersGaveUp). */
  private finish(t: Transfer, reason: RejectReason | undefined, detail: string | undefined, remember = true): void {
    this.open.delete(t.key);
    t.schedule.close();
    this.inFlightBytes -= t.held.bytes + t.held.parityBytes;
    if (remember) this.finished.set(t.key, this.now());
    if (this.finished.size > this.limits.maxRemembered) this.finished.delete(this.finished.keys().next().value!);
    if (reason === undefined) return;
    bump(this.stats.deltasRejected, reason);
    if (reason === "gave_up") this.stats.transfersGaveUp++;
    this.hooks.event(reason === "gave_up" ? "gave-up" : "delta-rejected", {
      version: t.ver, from: t.src, reason, detail, have: t.held.count, total: t.held.total, naks: t.schedule.naks });
  }

  /** Housekeeping: expiry, the course schedule's NAKs, give-ups. Called every tickMs. */
  tick(): void {
    const now = this.now();
    const tm = this.timings;
    for (const t of [...this.open.values()]) {
      if (now - t.lastActivity >= tm.transferIdleMs) { this.finish(t, "stale", `idle ${now - t.lastActivity} ms`); continue; }
      if (t.wholeAt !== undefined && now - t.wholeAt >= tm.metaWaitMs) { this.finish(t, "gave_up", `all chunks but no META sha256 after ${tm.metaWaitMs} ms`); continue; }
      const gaveUp = this.scheduleOf(t).tick(t.lastActivity);
      if (gaveUp !== undefined) this.finish(t, "gave_up", gaveUp);
    }
    for (const [k, at] of this.finished) if (now - at > tm.rememberMs) this.finished.delete(k);
    for (const [k, at] of this.deliveredVersions) if (now - at > tm.rememberMs) this.deliveredVersions.delete(k);
  }

  list(): TransferInfo[] {
    return [...this.open.values()].map((t) => ({ version: t.ver, from: t.src, have: t.held.count, total: t.held.total,
      bytes: t.held.bytes, tracked: t.schedule.tracked, startedAt: t.startedAt, metaAt: t.metaAt }));
  }

  get bytesInFlight(): number {
    return this.inFlightBytes;
  }
}
