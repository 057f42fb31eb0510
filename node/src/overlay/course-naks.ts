// The course's NAK schedule, for course senders (Python: one unicast resend per NAK, no pooling):
// after a quiet period, every gap at once, backing off while NAKs bring nothing, then give up.
// Driven by the housekeeping tick only.

import { Arrivals, type ChunkFate, type NakSchedule, type ScheduleContext } from "./nak-schedule.js";

export interface CourseNakTimings {
  /** No chunk for this long: NAK the gaps (course: 3 s). */
  nakQuietMs: number;
  /** After our first NAK: quiet that ends a burst of resends (then the rest is asked for at once). */
  repairQuietMs: number;
  /** Wait after a NAK that brought nothing; doubles each such round up to nakBackoffMaxMs. */
  nakBackoffMs: number;
  nakBackoffMaxMs: number;
  /** NAK rounds without progress before giving up (bounds the wait for a sender that never repairs). */
  nakMaxRounds: number;
}

export class CourseNaks implements NakSchedule {
  readonly kind = "course";
  naks = 0;
  /** NAKs in a row that brought nothing. */
  private rounds = 0;
  /** Quiet was seen at a previous tick: NAK now (a tick after a stall must first read what queued up). */
  private armed = false;
  private nextNakAt = 0;
  private heldAtLastNak = 0;
  readonly arrivals: Arrivals;

  constructor(private readonly ctx: ScheduleContext, private readonly timings: CourseNakTimings) {
    this.arrivals = new Arrivals(ctx.clock.now());
  }

  onChunk(idx: number, seq: number | undefined, fate: ChunkFate): void {
    // Kept only for a fleet schedule that may take over (this one reads the transfer's last activity).
    const now = this.ctx.clock.now();
    this.arrivals.heard(seq, now);
    if (fate === "held") this.arrivals.held(idx, now);
  }

  onRepaired(): void {}   // course senders send none
  /** No idx kept between ticks: a NAK's list is made at the tick, below the horizon. */
  readonly tracked = 0;
  close(): void {}

  tick(lastActivity: number): string | undefined {
    const tm = this.timings;
    const held = this.ctx.held;
    const now = this.ctx.clock.now();
    if (held.awaitingDigest) {
      if (now >= this.nextNakAt) this.nak([], now);
      return undefined;
    }
    // Senders go in idx order: with the last chunk here, or once we have NAKed (resends come as one
    // burst), a shorter quiet tells us the burst is over.
    const quiet = this.naks > 0 || (held.total !== undefined && held.has(held.total - 1)) ? tm.repairQuietMs : tm.nakQuietMs;
    if (held.total === undefined || now - lastActivity < quiet) { this.armed = false; return undefined; }
    // Timers run before the socket is read: after a stall of this process, datagrams that came
    // meanwhile are still queued. Confirm the quiet at the next tick before asking for resends.
    if (!this.armed) { this.armed = true; return undefined; }
    const progressed = this.naks > 0 && held.count > this.heldAtLastNak;
    if (progressed) this.rounds = 0;   // the last NAK brought something: ask for the rest at once
    else if (now < this.nextNakAt) return undefined;
    if (this.rounds >= tm.nakMaxRounds) return `${this.rounds} NAK rounds brought nothing`;
    const missing: number[] = [];
    for (let i = 0; i < held.horizon; i++) if (!held.has(i)) missing.push(i);
    this.nak(missing, now);
    return undefined;
  }

  private nak(missing: number[], now: number): void {
    this.rounds++;
    this.naks++;
    this.heldAtLastNak = this.ctx.held.count;
    this.nextNakAt = now + Math.min(this.timings.nakBackoffMs * 2 ** (this.rounds - 1), this.timings.nakBackoffMaxMs);
    this.ctx.nak(missing);
  }
}
