// Time for the repair logic, behind a small interface so tests drive it with a fake clock
// (test/support/fake-clock.ts) and assert schedules without waiting for real time.

export interface Timer { cancel(): void }

export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** Runs fn once after ms; background (unref'd): a pending repair timer never keeps a process alive. */
  after(ms: number, fn: () => void): Timer;
  /** Runs fn once this turn's I/O was read (setImmediate: after the poll phase). */
  soon(fn: () => void): Timer;
}

export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  soon(fn) {
    const t = setImmediate(fn);
    t.unref();
    return { cancel: () => clearImmediate(t) };
  },
};
