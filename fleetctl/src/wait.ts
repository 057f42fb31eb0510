// Waiting for something outside this process to become true (a node ready, an sshd greeting,
// Prometheus answering, a delta merged): one polling loop for every command. The caller says what
// ends the wait early (the process it waits for died) and turns the outcome into its own error,
// because what went wrong and what to do about it differ from one wait to the next.

export interface WaitOptions {
  /** Give up once Date.now() passes this. */
  deadline: number;
  /** Pause between probes. */
  everyMs: number;
  /** Asked after each probe that was not true: a reason why it never will be (stops the wait). */
  abandon?: () => string | undefined | Promise<string | undefined>;
}

export type WaitOutcome =
  | { done: true; /** Date.now() when the probe first said true. */ at: number }
  | { done: false; /** Why it was abandoned; undefined when the deadline passed. */ abandoned: string | undefined };

/** Probes until it says true, the deadline passes or `abandon` gives a reason. A probe that throws
 * counts as "not yet": what is being waited for is usually not listening yet. */
export async function waitUntil(probe: () => boolean | Promise<boolean>, o: WaitOptions): Promise<WaitOutcome> {
  for (;;) {
    if (await Promise.resolve().then(probe).catch(() => false)) return { done: true, at: Date.now() };
    const abandoned = await o.abandon?.();
    if (abandoned !== undefined) return { done: false, abandoned };
    if (Date.now() >= o.deadline) return { done: false, abandoned: undefined };
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(o.everyMs, o.deadline - Date.now()))));
  }
}
