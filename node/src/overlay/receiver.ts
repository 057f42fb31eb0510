// Reassembly of incoming deltas: one buffer per (sender, version) under hard bounds, NAKs for the
// gaps, give-up in bounded time, sha256 check before delivery.
//
// Two NAK schedules. Course senders (Python, one unicast resend per NAK and no de-duplication) get
// the course's own: after a quiet period, every gap, with backoff. DeltaFleet senders send chunks in
// idx order and pool NAKs into one broadcast resend per chunk, so for them a gap is asked for the
// moment a later chunk shows it lost (during the first pass, too), each missing chunk is asked again
// one repair round trip later, and a lost tail is asked for after a short quiet. One-shot timers
// per transfer drive that schedule; the housekeeping tick only drives the course one and expiry.

import { createHash, type Hash } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import { ENC_DEFLATE, type Framing } from "./codec.js";
import { REAL_CLOCK, type Clock, type Timer } from "./clock.js";
import { bump, type DropReason, type OverlayStats, type RejectReason } from "./stats.js";
import { sha256Hex } from "../util/sha256.js";

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
  // DeltaFleet senders only:
  /** After a NAK, gaps found within this long wait and go out together in the next one. */
  nakBatchMs: number;
  /** Floor of the re-ask wait (above it: the measured repair round trip, srtt + rttvar). */
  reaskMinMs: number;
  /** Re-ask wait before any repair round trip was measured. */
  reaskInitialMs: number;
  /** No chunk beyond the highest for this long (nor the RTO): the rest of the first pass was lost, NAK it. */
  tailQuietMs: number;
  /** NAKing and no new chunk for this long: give up (a sender that went away). */
  repairGiveUpMs: number;
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
  /** From META: the reassembled bytes are the delta deflated, and rawSha256 is the delta's. */
  enc: typeof ENC_DEFLATE | undefined;
  rawSha256: string | undefined;
  /** sha256 of chunks 0..hashed-1, fed as the in-order prefix grows: completion only hashes the rest. */
  hash: Hash;
  hashed: number;
  lastActivity: number;
  rounds: number;
  naks: number;
  /** Quiet was seen at a previous tick: NAK now (a tick after a stall must first read what queued up). */
  armed: boolean;
  nextNakAt: number;
  haveAtLastNak: number;
  completeSince: number | undefined;
  /** Highest idx held; missing idx below it are certainly lost (senders go in idx order). */
  highest: number;
  /** When `highest` last moved: the first pass is still arriving. */
  frontierAt: number;
  /** Datagrams heard for this transfer; before a blind NAK, socket reads go on while it still rises. */
  heardCount: number;
  /** Reads done before the pending blind NAK, and heardCount when the last one began. */
  drainRounds: number;
  drainCount: number;
  /** When a chunk not held before last arrived. */
  progressAt: number;
  /** Missing idx below `highest`. */
  gaps: Set<number>;
  /** idx (-1: META) -> when we last NAKed it and how often. */
  asked: Map<number, { at: number; times: number }>;
  lastNakAt: number;
  /** NAKs in a row after which nothing at all came from the sender: re-ask waits double with it. */
  silentNaks: number;
  heardSinceNak: boolean;
  heard: number | undefined;
  heardAt: number;
  /** Repair round trip (NAK -> resend), smoothed, and its variation. */
  srtt: number | undefined;
  rttvar: number;
  timer: Timer | undefined;
  timerAt: number;
}

export type Outcome = "completed" | "rejected";

/** An open transfer may be evicted for a new one after this many NAK quiet periods of silence. */
const EVICT_IDLE_NAK_PERIODS = 4;
/** NAKs into silence re-asked after one RTO before the waits start doubling (reaskAt). */
const SILENT_NAKS_AT_RTO = 3;
/** Socket reads before a blind NAK, at most (libuv reads up to 32 datagrams a round). */
const MAX_DRAIN_ROUNDS = 16;

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
    if (this.openFrom(address, port) >= this.limits.maxTransfersPerSource) { this.drop("source_full"); return undefined; }
    if (this.open.size >= this.limits.maxTransfers && !this.evictIdle(isMeta)) { this.drop("transfers_full"); return undefined; }
    const now = this.now();
    t = { key, src, ver, address, port, framing, total: undefined, sha256: undefined, enc: undefined, rawSha256: undefined, size: undefined, metaAt: undefined,
      startedAt: now, parts: new Map(), bytes: 0, hash: createHash("sha256"), hashed: 0, lastActivity: now, rounds: 0, naks: 0, armed: false, nextNakAt: 0, haveAtLastNak: 0,
      completeSince: undefined, highest: -1, frontierAt: now, heardCount: 0, drainRounds: 0, drainCount: 0, progressAt: now, gaps: new Set(), asked: new Map(), lastNakAt: -Infinity,
      silentNaks: 0, heardSinceNak: false, heard: undefined, heardAt: now, srtt: undefined, rttvar: 0, timer: undefined, timerAt: Infinity };
    this.open.set(key, t);
    return t;
  }

  private openFrom(address: string, port: number): number {
    let n = 0;
    for (const t of this.open.values()) if (t.address === address && t.port === port) n++;
    return n;
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

  onMeta(p: { src: string; ver: string; chunks: number; size?: number; sha256?: string; enc?: typeof ENC_DEFLATE; rawSha256?: string },
    address: string, port: number, framing: Framing): void {
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
    if (t.sha256 === undefined && p.sha256 !== undefined) {
      t.sha256 = p.sha256;
      t.enc = p.enc;
      t.rawSha256 = p.rawSha256;
    }
    t.size ??= p.size;
    t.lastActivity = this.now();
    if (t.size !== undefined && t.bytes > t.size) { this.finish(t, "bounds", `holds ${t.bytes} B, META says ${t.size}`); return; }
    if (t.parts.size === t.total) this.tryComplete(t);
  }

  /** `seq`: the frame's SEQ, for binary frames (u32). */
  onChunk(p: { src: string; ver: string; idx: number; total: number; data: Uint8Array; seq?: number }, address: string, port: number, framing: Framing): void {
    const t = this.get(p.src, p.ver, address, port, framing, p.total, false);
    if (!t) return;
    if (t.total !== undefined && t.total !== p.total) { this.drop("total_changed"); return; }
    if (framing === "binary" && p.seq !== undefined) t.heard = p.seq;
    // The first datagram after a NAK ends a silence: re-asks go back to one RTO (reaskAt).
    const silenceEnds = t.naks > 0 && !t.heardSinceNak;
    t.heardSinceNak = true;
    t.heardAt = this.now();
    t.heardCount++;
    if (t.parts.has(p.idx)) {
      this.drop("duplicate");
      t.lastActivity = this.now();
      if (silenceEnds && this.fleet(t)) this.fleetPoke(t, true);
      return;
    }
    const len = p.data.length;
    if (t.bytes + len > this.limits.maxTransferBytes || (t.size !== undefined && t.bytes + len > t.size)) {
      this.finish(t, "bounds", `would hold ${t.bytes + len} B (limit ${Math.min(this.limits.maxTransferBytes, t.size ?? Infinity)})`);
      return;
    }
    if (this.inFlightBytes + len > this.limits.maxInFlightBytes) { this.drop("in_flight_full"); return; }
    t.total = p.total;
    t.parts.set(p.idx, p.data);
    t.bytes += len;
    while (t.parts.has(t.hashed)) t.hash.update(t.parts.get(t.hashed++)!);
    this.inFlightBytes += len;
    const now = this.now();
    t.lastActivity = now;
    t.progressAt = now;
    if (t.framing !== "binary" && framing === "binary") t.framing = framing;
    const gapsBefore = t.gaps.size;
    const beyond = p.idx > t.highest;
    if (beyond) {
      for (let i = t.highest + 1; i < p.idx; i++) t.gaps.add(i);
      t.highest = p.idx;
      t.frontierAt = now;
    } else {
      t.gaps.delete(p.idx);
    }
    const asked = t.asked.get(p.idx);
    if (asked) {
      // Karn's rule: only a chunk asked for once times the repair round trip unambiguously, and only
      // one below the frontier is a resend (one beyond it was still on its first pass).
      if (asked.times === 1 && !beyond) this.rttSample(t, now - asked.at);
      t.asked.delete(p.idx);
    }
    if (t.parts.size === t.total) this.tryComplete(t);
    if (this.open.has(t.key) && this.fleet(t)) this.fleetPoke(t, silenceEnds || t.gaps.size > gapsBefore || t.completeSince !== undefined);
  }

  /**
   * A DeltaFleet sender's REPAIRED marker: these idx were resent before it. Datagrams come in order,
   * so one we asked for and still lack was lost: ask again at once (within nakBatchMs).
   */
  onRepaired(p: { src: string; ver: string; idx: number[]; seq: number }, address: string, port: number): void {
    const t = this.open.get(`${p.src}\u0000${p.ver}`);
    if (!t || t.address !== address || t.port !== port || !this.fleet(t)) return;
    const silenceEnds = t.naks > 0 && !t.heardSinceNak;
    t.heard = p.seq;
    t.heardSinceNak = true;
    t.heardAt = this.now();
    t.heardCount++;
    let lost = false;
    for (const i of p.idx) {
      const a = t.asked.get(i);
      // Due at once (still nakBatchMs after our last NAK: the marker comes twice); `times` stays, so
      // the resend that answers this gives no RTT sample. A NAK of ours that crossed the marker on
      // the wire makes this one redundant: the sender sees that from `heard` and skips it.
      if (a && !t.parts.has(i)) { a.at = -Infinity; lost = true; }
    }
    if (lost || silenceEnds) this.fleetPoke(t, true);
  }

  // ---- the DeltaFleet schedule ------------------------------------------------------------------

  private fleet(t: Transfer): boolean {
    return t.framing === "binary" || (this.hooks.isFleet?.(t.src) ?? false);
  }

  private rttSample(t: Transfer, ms: number): void {
    if (t.srtt === undefined) { t.srtt = ms; t.rttvar = ms / 2; return; }
    t.rttvar = 0.75 * t.rttvar + 0.25 * Math.abs(t.srtt - ms);
    t.srtt = 0.875 * t.srtt + 0.125 * ms;
  }

  /**
   * How long to wait for a resend before asking again: the repair round trip plus one rttvar. Less
   * margin than TCP's 4 rttvar: an early re-ask costs one small datagram, since the sender sees from
   * `heard` that it crossed the resend and does not send again (on bench:sync, 2 rttvar made runs at
   * 5-20 % loss ~10 ms slower, on 4 runs each, for no fewer bytes).
   */
  private rto(t: Transfer): number {
    return t.srtt === undefined ? this.timings.reaskInitialMs : Math.max(this.timings.reaskMinMs, t.srtt + t.rttvar);
  }

  /**
   * While the sender answers anything at all the wait stays one RTO; so it does for the first
   * SILENT_NAKS_AT_RTO NAKs into silence (at 20 % loss the last receiver's resend and its repeat are
   * both lost 4 % of the time, with nothing else coming: doubling at once cost runs 100+ ms), then
   * each further one doubles it (a sender that went away is not hammered).
   */
  private reaskAt(t: Transfer, a: { at: number; times: number }, rto: number): number {
    const silent = t.silentNaks + (t.naks > 0 && !t.heardSinceNak ? 1 : 0);
    return a.at + Math.min(rto * 2 ** Math.max(0, silent - SILENT_NAKS_AT_RTO), this.timings.nakBackoffMaxMs);
  }

  /** Chunks (and -1 for META) that may be asked for now or later, each with when. */
  private *fleetCandidates(t: Transfer, now: number): Generator<[number, number]> {
    const rto = this.rto(t);
    const fresh = t.lastNakAt + this.timings.nakBatchMs;
    const at = (i: number): number => { const a = t.asked.get(i); return a ? Math.max(this.reaskAt(t, a, rto), fresh) : fresh; };
    for (const i of t.gaps) yield [i, at(i)];
    if (t.total !== undefined && t.highest < t.total - 1) {
      const tailAt = t.frontierAt + Math.max(this.timings.tailQuietMs, rto);
      if (now < tailAt) yield [-2, tailAt];   // not a chunk: the moment to look at the tail again
      else for (let i = t.highest + 1; i < t.total; i++) yield [i, at(i)];
    }
    if (t.completeSince !== undefined && t.sha256 === undefined) yield [-1, at(-1)];
  }

  private fleetNextAt(t: Transfer, now: number): number {
    let next = Infinity;
    for (const [, at] of this.fleetCandidates(t, now)) next = Math.min(next, at);
    return next;
  }

  /** A chunk arrived: make sure a wake-up is due for what it showed (new gaps go out within nakBatchMs). */
  private fleetPoke(t: Transfer, urgent: boolean): void {
    if (t.timer && !urgent) return;
    this.fleetSchedule(t, this.fleetNextAt(t, this.now()));
  }

  private fleetSchedule(t: Transfer, at: number): void {
    if (at === Infinity) return;
    at = Math.max(at, this.now());   // due already (a gap never asked for): at once
    if (t.timer && t.timerAt <= at) return;
    t.timer?.cancel();
    t.timerAt = at;
    t.timer = this.clock.after(at - this.now(), () => this.fleetWake(t));
  }

  private fleetWake(t: Transfer): void {
    t.timer = undefined;
    t.timerAt = Infinity;
    if (this.open.get(t.key) !== t) return;
    const now = this.now();
    const due: number[] = [];
    let meta = false;
    for (const [i, at] of this.fleetCandidates(t, now)) {
      if (at > now || i === -2) continue;
      if (i === -1) meta = true;
      else due.push(i);
    }
    if (due.length > 0 || meta) {
      // Nothing since our last NAK and for a while: what we heard last is old news (see NakRequest.heard).
      const blind = t.naks > 0 && !t.heardSinceNak && now - t.heardAt >= Math.max(this.timings.tailQuietMs, this.rto(t));
      // But timers run before the socket is read: after a stall of this process (a busy box) the
      // silence may be ours, with the sender's datagrams queued, and a blind NAK would have copies
      // resent that are on their way. Read first (a zero-delay wake comes after the poll phase),
      // round by round while rounds still bring datagrams of this transfer.
      if (blind && t.drainRounds < MAX_DRAIN_ROUNDS && (t.drainRounds === 0 || t.heardCount > t.drainCount)) {
        t.drainRounds++;
        t.drainCount = t.heardCount;
        t.timerAt = now;
        t.timer = this.clock.soon(() => this.fleetWake(t));
        return;
      }
      t.drainRounds = 0;
      due.sort((a, b) => a - b);
      for (const i of meta ? [...due, -1] : due) t.asked.set(i, { at: now, times: (t.asked.get(i)?.times ?? 0) + 1 });
      t.silentNaks = t.naks > 0 && !t.heardSinceNak ? t.silentNaks + 1 : 0;
      t.heardSinceNak = false;
      t.lastNakAt = now;
      t.naks++;
      this.hooks.nak({ from: t.src, address: t.address, port: t.port, framing: t.framing, version: t.ver, missing: due,
        wantMeta: t.sha256 === undefined, heard: blind ? undefined : t.heard });
    }
    this.fleetSchedule(t, this.fleetNextAt(t, now));
  }

  private tryComplete(t: Transfer): void {
    if (t.sha256 === undefined) {
      t.completeSince ??= this.now();   // tick() asks for META, then gives up after metaWaitMs
      return;
    }
    const bytes = Buffer.concat(Array.from({ length: t.total! }, (_, i) => t.parts.get(i)!));
    if (t.size !== undefined && bytes.length !== t.size) { this.finish(t, "bounds", `reassembled ${bytes.length} B, META says ${t.size}`); return; }
    while (t.hashed < t.total!) t.hash.update(t.parts.get(t.hashed++)!);
    const sha = t.hash.digest("hex");
    if (sha !== t.sha256) { this.finish(t, "sha", `sha256 ${sha.slice(0, 12)} != META ${t.sha256.slice(0, 12)}`); return; }
    if (this.deliveredVersions.has(t.ver) || this.hooks.isApplied(t.ver)) { this.finish(t, "duplicate", "already applied"); return; }
    let file: Uint8Array = bytes;
    let fileSha = sha;
    if (t.enc === ENC_DEFLATE) {
      // Bounded like any transfer: a few KB that inflate to gigabytes stop at maxTransferBytes.
      try {
        file = inflateRawSync(bytes, { maxOutputLength: this.limits.maxTransferBytes });
      } catch (e) {
        this.finish(t, "decode", `deflated payload does not inflate: ${(e as Error).message}`);
        return;
      }
      fileSha = sha256Hex(file);
      if (fileSha !== t.rawSha256) { this.finish(t, "sha", `inflated sha256 ${fileSha.slice(0, 12)} != META ${t.rawSha256!.slice(0, 12)}`); return; }
    }
    this.finish(t, undefined, undefined);
    this.deliveredVersions.set(t.ver, this.now());
    this.stats.deltasCompleted++;
    this.hooks.deliver({ version: t.ver, from: t.src, bytes: file, sha256: fileSha, metaAt: t.metaAt ?? t.startedAt });
  }

  /** Closes a transfer; with a reason it counts as rejected (gave_up also counts transfersGaveUp). */
  private finish(t: Transfer, reason: RejectReason | undefined, detail: string | undefined, remember = true): void {
    this.open.delete(t.key);
    t.timer?.cancel();
    t.timer = undefined;
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
      const fleet = this.fleet(t);
      if (t.completeSince !== undefined) {
        if (now - t.completeSince >= tm.metaWaitMs) { this.finish(t, "gave_up", `all chunks but no META sha256 after ${tm.metaWaitMs} ms`); continue; }
        if (!fleet && now >= t.nextNakAt) this.sendNak(t, [], now);
        continue;
      }
      if (fleet) {
        if (t.naks > 0 && now - t.progressAt >= tm.repairGiveUpMs) { this.finish(t, "gave_up", `no new chunk for ${now - t.progressAt} ms of NAKs`); continue; }
        if (!t.timer) this.fleetPoke(t, false);   // became a fleet transfer after its last chunk (PEER_SYNC came late)
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
