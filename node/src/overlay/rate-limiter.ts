// Token bucket pacing for everything the overlay sends, so a burst of chunks does not overflow
// the receivers' socket buffers (a Pi's default rmem is ~200 KB: about 180 chunks).

export interface RateLimiterOptions {
  /** Sustained rate; 0 or Infinity disables pacing. */
  bytesPerSec: number;
  /** Bucket depth: how much may leave back to back after a pause. */
  burstBytes: number;
}

export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RateLimiterOptions) {
    this.tokens = opts.burstBytes;
  }

  /** Resolves when `bytes` may be sent; callers are served in call order. */
  take(bytes: number): Promise<void> {
    const { bytesPerSec, burstBytes } = this.opts;
    if (!(bytesPerSec > 0) || !Number.isFinite(bytesPerSec)) return Promise.resolve();
    const next = this.chain.then(async () => {
      for (;;) {
        const now = performance.now();
        this.tokens = Math.min(burstBytes, this.tokens + ((now - this.last) / 1000) * bytesPerSec);
        this.last = now;
        if (this.tokens >= bytes || this.tokens >= burstBytes) {
          this.tokens -= bytes;
          return;
        }
        const waitMs = ((bytes - this.tokens) / bytesPerSec) * 1000;
        await new Promise((r) => setTimeout(r, Math.max(1, waitMs)));
      }
    });
    this.chain = next;
    return next;
  }
}
