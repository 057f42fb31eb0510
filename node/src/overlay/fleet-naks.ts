// The NAK schedule for DeltaFleet senders. They send chunks in idx order and pool NAKs into one
// broadcast resend per chunk, so a gap is asked for the moment a later chunk shows it lost (during
// the first pass, too), each missing chunk is asked again one repair round trip later, and a lost
// tail is asked for after a short quiet. Driven by one-shot timers of its own; the housekeeping
// tick only gives up on a sender that went away and catches a transfer that turned fleet late.

import type { Timer } from "./clock.js";
import { FEC_BLOCK_CHUNKS, type IdxRanges } from "./codec.js";
import { Arrivals, type ChunkFate, type NakSchedule, type ScheduleContext } from "./nak-schedule.js";

export interface FleetNakTimings {
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
  /** Ceiling of the re-ask wait. */
  nakBackoffMaxMs: number;
}

/** NAKs into silence re-asked after one RTO before the waits start doubling (reaskAt). */
const SILENT_NAKS_AT_RTO = 3;
/** Socket reads before a blind NAK, at most (libuv reads up to 32 datagrams a round). */
const MAX_DRAIN_ROUNDS = 16;

/** When we last asked for something, and how often. */
interface Asked { at: number; times: number }

/** What may be asked for now or later, and when; or when to look at an unfinished first pass again. */
type Candidate =
  | { kind: "chunk"; idx: number; at: number }
  | { kind: "meta"; at: number }
  | { kind: "tail-check"; at: number };

/** The repair round trip (NAK -> resend), smoothed, and its variation, as TCP keeps its RTT. */
class RepairRtt {
  private srtt: number | undefined;
  private rttvar = 0;

  sample(ms: number): void {
    if (this.srtt === undefined) { this.srtt = ms; this.rttvar = ms / 2; return; }
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
    this.srtt = 0.875 * this.srtt + 0.125 * ms;
  }

  /**
   * How long to wait for a resend before asking again: the repair round trip plus one rttvar. Less
   * margin than TCP's 4 rttvar: an early re-ask costs one small datagram, since the sender sees from
   * `heard` that it crossed the resend and does not send again (on bench:sync, 2 rttvar made runs at
   * 5-20 % loss ~10 ms slower, on 4 runs each, for no fewer bytes).
   */
  rto(t: FleetNakTimings): number {
    return this.srtt === undefined ? t.reaskInitialMs : Math.max(t.reaskMinMs, this.srtt + this.rttvar);
  }
}

export class FleetNaks implements NakSchedule {
  readonly kind = "fleet";
  naks: number;
  readonly arrivals: Arrivals;
  /** Missing idx below the frontier (and the NAK horizon): certainly lost. */
  private readonly gaps = new Set<number>();
  /** Idx below this were looked at for gaps; it follows min(frontier, horizon) as chunks arrive. */
  private scanned = 0;
  private readonly asked = new Map<number, Asked>();
  private metaAsked: Asked | undefined;
  private lastNakAt = -Infinity;
  /** NAKs in a row after which nothing at all came from the sender: re-ask waits double with it. */
  private silentNaks = 0;
  private heardSinceNak: boolean;
  /** Reads done before the pending blind NAK, and arrivals.count when the last one began (reads go on while it rises). */
  private drainRounds = 0;
  private drainCount = 0;
  private readonly rtt = new RepairRtt();
  private timer: Timer | undefined;
  private timerAt = Infinity;
  private closed = false;

  /**
   * `before`: the course schedule of a transfer whose sender turned out to be a DeltaFleet node;
   * this one goes on from its NAK count and what it heard when.
   */
  constructor(private readonly ctx: ScheduleContext, private readonly timings: FleetNakTimings, before?: NakSchedule) {
    this.naks = before?.naks ?? 0;
    this.arrivals = before?.arrivals ?? new Arrivals(ctx.clock.now());
    this.scanGaps();
    // Only our NAKs start a silence (course ones expect none): anything heard at all counts.
    this.heardSinceNak = this.arrivals.count > 0;
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  onChunk(idx: number, seq: number | undefined, fate: ChunkFate): void {
    const silenceEnds = this.heardDatagram(seq);
    if (fate === "refused") return;
    if (fate === "duplicate") { if (silenceEnds) this.poke(true); return; }
    const now = this.now();
    const gapsBefore = this.gaps.size;
    const frontier = this.arrivals.frontier;
    const beyond = idx >= frontier;
    if (!beyond) this.gaps.delete(idx);
    this.arrivals.held(idx, now);
    this.scanGaps();
    const asked = this.asked.get(idx);
    if (asked) {
      // Karn's rule: only a chunk asked for once times the repair round trip unambiguously, and only
      // one below the frontier is a resend (one beyond it was still on its first pass).
      if (asked.times === 1 && !beyond) this.rtt.sample(now - asked.at);
      this.asked.delete(idx);
    }
    this.poke(silenceEnds || this.gaps.size > gapsBefore || this.ctx.held.awaitingDigest);
  }

  /** Datagrams come in order, so a listed chunk we asked for and still lack was lost: ask again at once (within nakBatchMs). */
  onRepaired(idx: IdxRanges, seq: number): void {
    const silenceEnds = this.heardDatagram(seq);
    let lost = false;
    // What we asked for, looked up in the marker: bounded by our own NAKs, not by what it spans.
    for (const [i, a] of this.asked) {
      if (!idx.has(i)) continue;
      // Due at once (still nakBatchMs after our last NAK: the marker comes twice); `times` stays, so
      // the resend that answers this gives no RTT sample. A NAK of ours that crossed the marker on
      // the wire makes this one redundant: the sender sees that from `heard` and skips it.
      if (a && !this.ctx.held.has(i)) { a.at = -Infinity; lost = true; }
    }
    if (lost || silenceEnds) this.poke(true);
  }

  /** NAK state in use: entries for idx kept as gaps and as asked for (each below the horizon, reassembly.ts: at most twice it). */
  get tracked(): number {
    return this.gaps.size + this.asked.size;
  }

  /** Records the gaps up to the frontier, but only below the horizon: the rest waits for chunks to come. */
  private scanGaps(): void {
    const end = Math.min(this.arrivals.frontier, this.ctx.held.horizon);
    for (; this.scanned < end; this.scanned++) if (!this.ctx.held.has(this.scanned)) this.gaps.add(this.scanned);
  }

  tick(): string | undefined {
    if (this.ctx.held.awaitingDigest) return undefined;   // META is asked for by the timers; the receiver bounds the wait
    const now = this.now();
    const quiet = now - this.arrivals.progressAt;
    if (this.naks > 0 && quiet >= this.timings.repairGiveUpMs) return `no new chunk for ${quiet} ms of NAKs`;
    if (!this.timer) this.poke(false);   // became a fleet transfer after its last chunk (PEER_SYNC came late)
    return undefined;
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Any datagram from the sender; true when it ends a silence after our NAK (re-asks go back to one RTO). */
  private heardDatagram(seq: number | undefined): boolean {
    const silenceEnds = this.naks > 0 && !this.heardSinceNak;
    this.heardSinceNak = true;
    this.arrivals.heard(seq, this.now());
    return silenceEnds;
  }

  /**
   * While the sender answers anything at all the wait stays one RTO; so it does for the first
   * SILENT_NAKS_AT_RTO NAKs into silence (at 20 % loss the last receiver's resend and its repeat are
   * both lost 4 % of the time, with nothing else coming: doubling at once cost runs 100+ ms), then
   * each further one doubles it (a sender that went away is not hammered).
   */
  private reaskAt(a: Asked, rto: number): number {
    const silent = this.silentNaks + (this.naks > 0 && !this.heardSinceNak ? 1 : 0);
    return a.at + Math.min(rto * 2 ** Math.max(0, silent - SILENT_NAKS_AT_RTO), this.timings.nakBackoffMaxMs);
  }

  private *candidates(now: number): Generator<Candidate> {
    const rto = this.rtt.rto(this.timings);
    const fresh = this.lastNakAt + this.timings.nakBatchMs;
    const at = (a: Asked | undefined): number => (a ? Math.max(this.reaskAt(a, rto), fresh) : fresh);
    for (const idx of this.gaps) yield { kind: "chunk", idx, at: at(this.asked.get(idx)) };
    const total = this.ctx.held.total;
    const { frontier, frontierAt } = this.arrivals;
    if (total !== undefined && frontier < total) {
      const tailAt = frontierAt + Math.max(this.timings.tailQuietMs, rto);
      if (now < tailAt) yield { kind: "tail-check", at: tailAt };
      else for (let idx = frontier, end = Math.min(total, this.ctx.held.horizon); idx < end; idx++) yield { kind: "chunk", idx, at: at(this.asked.get(idx)) };
    }
    if (this.ctx.held.awaitingDigest) yield { kind: "meta", at: at(this.metaAsked) };
  }

  private nextAt(now: number): number {
    let next = Infinity;
    for (const c of this.candidates(now)) next = Math.min(next, c.at);
    return next;
  }

  /** Something arrived: make sure a wake-up is due for what it showed (new gaps go out within nakBatchMs). */
  private poke(urgent: boolean): void {
    if (this.timer && !urgent) return;
    this.wakeAt(this.nextAt(this.now()));
  }

  private wakeAt(at: number): void {
    if (at === Infinity || this.closed) return;
    at = Math.max(at, this.now());   // due already (a gap never asked for): at once
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.ctx.clock.after(at - this.now(), () => this.wake());
  }

  private wake(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.closed) return;
    const now = this.now();
    const due: number[] = [];
    let meta = false;
    for (const c of this.candidates(now)) {
      if (c.at > now) continue;
      if (c.kind === "chunk") due.push(c.idx);
      else if (c.kind === "meta") meta = true;
    }
    if (due.length > 0 || meta) {
      // Nothing since our last NAK and for a while: what we heard last is old news (see NakRequest.heard).
      const blind = this.naks > 0 && !this.heardSinceNak && now - this.arrivals.heardAt >= Math.max(this.timings.tailQuietMs, this.rtt.rto(this.timings));
      // But timers run before the socket is read: after a stall of this process (a busy box) the
      // silence may be ours, with the sender's datagrams queued, and a NAK born of silence (a blind
      // one, a lost tail, a re-ask) would have copies resent that are on their way. Read first (a
      // zero-delay wake comes after the poll phase), round by round while rounds still bring
      // datagrams of this transfer. Gaps seen for the first time need no read: a later chunk came.
      const ofSilence = blind || due.some((i) => i >= this.arrivals.frontier || this.asked.has(i));
      if (ofSilence && this.drainRounds < MAX_DRAIN_ROUNDS && (this.drainRounds === 0 || this.arrivals.count > this.drainCount)) {
        this.drainRounds++;
        this.drainCount = this.arrivals.count;
        this.timerAt = now;
        this.timer = this.ctx.clock.soon(() => this.wake());
        return;
      }
      this.drainRounds = 0;
      this.withBlockMates(due);
      due.sort((a, b) => a - b);
      for (const i of due) this.asked.set(i, { at: now, times: (this.asked.get(i)?.times ?? 0) + 1 });
      if (meta) this.metaAsked = { at: now, times: (this.metaAsked?.times ?? 0) + 1 };
      this.silentNaks = this.naks > 0 && !this.heardSinceNak ? this.silentNaks + 1 : 0;
      this.heardSinceNak = false;
      this.lastNakAt = now;
      this.naks++;
      this.ctx.nak(due, blind ? undefined : this.arrivals.seq);
    }
    this.wakeAt(this.nextAt(now));
  }

  /**
   * Adds to `due` every other known gap of the coded-repair blocks it touches. The receiver leaves
   * out of a NAK as many of a block's holes as it holds symbols for it (receiver.ts nak()), and
   * counts them against what the NAK names: naming only the holes due now could leave none (a
   * block missing 3 with 2 symbols held, 2 of the 3 due: nothing asked, ever), and tells a sender
   * answering with symbols less than the block lacks.
   */
  private withBlockMates(due: number[]): void {
    const blocks = new Set(due.map((i) => Math.floor(i / FEC_BLOCK_CHUNKS)));
    const listed = new Set(due);
    for (const g of this.gaps) if (!listed.has(g) && blocks.has(Math.floor(g / FEC_BLOCK_CHUNKS))) due.push(g);
  }
}
