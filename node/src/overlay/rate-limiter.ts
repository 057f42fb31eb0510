// Token bucket pacing for everything the overlay sends, so a burst of chunks does not overflow
// the receivers' socket buffers (a Pi's default rmem is ~200 KB: about 90 full datagrams).
// Two classes: urgent sends (repairs, NAKs, control) go before queued first-pass chunks. The bytes
// are the same either way; served first, a repair's round trip is short and steady, and receivers
// time their re-asks by it.

export interface RateLimiterOptions {
  /** Sustained rate; 0 or Infinity disables pacing. */
  bytesPerSec: number;
  /** Bucket depth: how much may leave back to back after a pause. */
  burstBytes: number;
}

export type SendClass = "urgent" | "bulk";

/** The deepest bucket: ~45 full datagrams, half of what a Pi's default socket buffer holds. */
export const MAX_BURST_BYTES = 64 * 1024;
/** How much of the sustained rate may leave back to back. */
const BURST_SECONDS = 0.25;

/**
 * The bucket depth for a rate: a quarter second of it, at least one datagram, at most
 * MAX_BURST_BYTES. A fixed 64 KB bucket would let `--rate 1k` (a slow radio link) put 64 s of its
 * traffic on the air at once, which is the very burst the user asked us to avoid.
 */
export function burstBytesFor(bytesPerSec: number, datagramBytes: number): number {
  if (!(bytesPerSec > 0) || !Number.isFinite(bytesPerSec)) return MAX_BURST_BYTES;
  return Math.min(MAX_BURST_BYTES, Math.max(datagramBytes, Math.round(bytesPerSec * BURST_SECONDS)));
}

interface Waiter { bytes: number; go: () => void }

export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  private readonly urgent: Waiter[] = [];
  private readonly bulk: Waiter[] = [];
  private pumping = false;

  constructor(private readonly opts: RateLimiterOptions) {
    this.tokens = opts.burstBytes;
  }

  /** Resolves when `bytes` may be sent; urgent callers first, each class in call order. */
  take(bytes: number, cls: SendClass = "bulk"): Promise<void> {
    const { bytesPerSec } = this.opts;
    if (!(bytesPerSec > 0) || !Number.isFinite(bytesPerSec)) return Promise.resolve();
    return new Promise((go) => {
      (cls === "urgent" ? this.urgent : this.bulk).push({ bytes, go });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const { bytesPerSec, burstBytes } = this.opts;
      for (;;) {
        const q = this.urgent.length > 0 ? this.urgent : this.bulk;
        const w = q[0];
        if (!w) return;
        const now = performance.now();
        this.tokens = Math.min(burstBytes, this.tokens + ((now - this.last) / 1000) * bytesPerSec);
        this.last = now;
        if (this.tokens >= w.bytes || this.tokens >= burstBytes) {
          this.tokens -= w.bytes;
          q.shift();
          w.go();
          continue;
        }
        const waitMs = ((w.bytes - this.tokens) / bytesPerSec) * 1000;
        await new Promise((r) => setTimeout(r, Math.max(1, waitMs)));
      }
    } finally {
      this.pumping = false;
    }
  }
}
