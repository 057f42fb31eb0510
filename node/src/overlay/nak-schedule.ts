// When a receiver asks a sender for what it lost. Two kinds of sender, one schedule each behind this
// interface: course senders (course-naks.ts) resend once per NAK, unicast, so they get the course's
// own schedule; DeltaFleet senders (fleet-naks.ts) send in idx order and pool NAKs into broadcast
// resends, so a gap is asked for the moment it shows.

import type { Clock } from "./clock.js";
import type { IdxRanges } from "./codec.js";
import type { Holding } from "./reassembly.js";

/** What a schedule needs of its transfer and the receiver. */
export interface ScheduleContext {
  readonly held: Holding;
  readonly clock: Clock;
  /**
   * Sends a NAK for these chunks (empty: META only; the receiver adds wantMeta while it lacks a
   * sha256). `heard`: SEQ of the last binary chunk heard, for a DeltaFleet sender.
   */
  nak(missing: number[], heard?: number): void;
}

/** What happened to a chunk datagram of the transfer. */
export type ChunkFate = "held" | "duplicate" | "refused";

/**
 * What came from the sender, and when. Both schedules keep it, so a fleet schedule taking over a
 * course one goes on as if it had run from the start.
 */
export class Arrivals {
  /** Datagrams heard (chunks, held or not, and REPAIRED markers). */
  count = 0;
  /** When the last one came. */
  heardAt: number;
  /** SEQ of the last binary datagram. */
  seq: number | undefined;
  /** When a chunk not held before last came. */
  progressAt: number;
  /** One past the highest idx held: idx below it that are missing were lost (senders go in idx order). */
  frontier = 0;
  /** When `frontier` last moved: the first pass is still arriving. */
  frontierAt: number;

  constructor(now: number) {
    this.heardAt = this.progressAt = this.frontierAt = now;
  }

  heard(seq: number | undefined, now: number): void {
    if (seq !== undefined) this.seq = seq;
    this.heardAt = now;
    this.count++;
  }

  held(idx: number, now: number): void {
    this.progressAt = now;
    if (idx < this.frontier) return;
    this.frontier = idx + 1;
    this.frontierAt = now;
  }
}

export interface NakSchedule {
  readonly kind: "course" | "fleet";
  /** NAKs sent for this transfer so far. */
  readonly naks: number;
  readonly arrivals: Arrivals;
  /** Entries of per-idx state the schedule keeps (the NAK budget: at most 2 × the horizon, reassembly.ts). */
  readonly tracked: number;
  /** A chunk datagram arrived; `seq` is a binary frame's SEQ. Called after the chunk was taken in. */
  onChunk(idx: number, seq: number | undefined, fate: ChunkFate): void;
  /** A sender's REPAIRED marker: the chunks it resent before this datagram. */
  onRepaired(idx: IdxRanges, seq: number): void;
  /** Housekeeping, given when the transfer last heard anything; a reason when the sender is given up. */
  tick(lastActivity: number): string | undefined;
  /** The transfer closed: no wake-up may fire after this. */
  close(): void;
}
