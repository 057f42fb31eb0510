// A clock that only moves when a test says so: timers fire in due order inside advance(), so a test
// reads a repair schedule exactly (which NAK, when) without sleeping.

import type { Clock, Timer } from "../../node/src/overlay/clock.js";

interface Pending { at: number; order: number; fn: () => void; live: boolean }

export class FakeClock implements Clock {
  private t: number;
  private order = 0;
  private pending: Pending[] = [];

  /** soon() callbacks held for the next readRound() (heldReads), in order. */
  private reads: Pending[] = [];

  /**
   * `heldReads`: soon() waits for readRound(), as a real "after the socket is read" callback waits
   * for the event loop's poll phase; a test delivers the datagrams that were queued in between.
   */
  constructor(start = 1_000_000, private readonly heldReads = false) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): Timer {
    const p: Pending = { at: this.t + Math.max(0, ms), order: this.order++, fn, live: true };
    this.pending.push(p);
    return { cancel: () => { p.live = false; } };
  }

  /** No I/O to read on a fake clock: due at once (unless heldReads). */
  soon(fn: () => void): Timer {
    if (!this.heldReads) return this.after(0, fn);
    const p: Pending = { at: this.t, order: this.order++, fn, live: true };
    this.reads.push(p);
    return { cancel: () => { p.live = false; } };
  }

  /** heldReads: the poll phase is over; runs the soon() callbacks waiting for it. */
  readRound(): void {
    const due = this.reads;
    this.reads = [];
    for (const p of due) if (p.live) { p.live = false; p.fn(); }
  }

  /** Moves time forward by ms, firing every timer that falls due (also ones set by fired timers). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.pending = this.pending.filter((p) => p.live);
      const next = this.pending.filter((p) => p.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      next.live = false;
      next.fn();
    }
    this.t = end;
  }

  /** Timers still waiting (tests check that nothing is left scheduled after a transfer closed). */
  get waiting(): number {
    return this.pending.filter((p) => p.live).length + this.reads.filter((p) => p.live).length;
  }
}
