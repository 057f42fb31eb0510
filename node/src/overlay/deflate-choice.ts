// Whether a payload goes deflated, decided before the first datagram leaves. Deflating a whole
// payload just to learn that it does not compress is the largest cost before the first send: 44-58 ms
// of a 2 MB incompressible transfer's 224 ms (bench:overlay-profile, node/src/overlay/README.md).
// A few windows spread over the payload tell that for a few per cent of it; only a payload whose
// windows compress is deflated whole, and the whole then decides.

import { deflateRawSync } from "node:zlib";

/**
 * A delta goes deflated when that saves at least this share of its bytes. A classroom teach's delta
 * (dense fp16 of the blocks, 104,670 B) deflates by 10-12 %, some just under a tenth: at 0.1 those
 * went as they were, 102.2 KB on the wire against 94.4 KB deflated (bench:lessons). Inflating
 * 100 KB costs a receiver well under a millisecond; 7 datagrams fewer are worth it.
 */
export const DEFLATE_MIN_SAVING = 0.05;
/** Below this size the whole payload is the sample: deflating it costs about as much as sampling. */
const SAMPLE_FROM_BYTES = 128 * 1024;
const WINDOWS = 8;
const WINDOW_BYTES = 8 * 1024;

/**
 * The payload deflated, when that saves DEFLATE_MIN_SAVING; undefined otherwise. Windows compress
 * a little worse than the whole (each starts without a dictionary), so they need only half the
 * saving: a payload at the threshold is still deflated whole and judged on the whole.
 */
export function deflateIfWorth(file: Uint8Array): Uint8Array | undefined {
  if (file.length >= SAMPLE_FROM_BYTES && windowsSaving(file) < DEFLATE_MIN_SAVING / 2) return undefined;
  const deflated = deflateRawSync(file);
  return deflated.length <= file.length * (1 - DEFLATE_MIN_SAVING) ? deflated : undefined;
}

/** The share of bytes deflate saves on WINDOWS windows spread evenly over `file` (≥ SAMPLE_FROM_BYTES). */
function windowsSaving(file: Uint8Array): number {
  const step = Math.floor((file.length - WINDOW_BYTES) / (WINDOWS - 1));
  let raw = 0;
  let packed = 0;
  for (let k = 0; k < WINDOWS; k++) {
    const w = file.subarray(k * step, k * step + WINDOW_BYTES);
    raw += w.length;
    packed += deflateRawSync(w).length;
  }
  return 1 - packed / raw;
}
