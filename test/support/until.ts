// Waiting in tests: poll a condition until it holds or a deadline passes, and say what was awaited
// (and the probe's last error) when it never held.

/** Thrown by a probe when waiting longer cannot help (the process it asks has exited): ends the wait at once. */
export class StopWaiting extends Error {}

/**
 * The probe's first value that is neither undefined nor false. A probe that throws is asked again
 * (a node not listening yet), unless it throws StopWaiting.
 */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (e instanceof StopWaiting) throw e;
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
