// Reassembly rules on a fake clock: bounds, idempotent duplicates, totals and sizes that do not add
// up, NAK schedule with backoff and a bounded give-up, never delivering without a matching sha256.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Receiver, type Completed, type NakRequest, type ReceiverLimits, type ReceiverTimings } from "./receiver.js";
import { newStats } from "./stats.js";

const LIMITS: ReceiverLimits = { maxChunksPerTransfer: 100, maxTransferBytes: 1000, maxInFlightBytes: 1500, maxTransfers: 2, maxRemembered: 10 };
const TIMINGS: ReceiverTimings = { nakQuietMs: 100, repairQuietMs: 30, nakBackoffMs: 100, nakBackoffMaxMs: 400, nakMaxRounds: 4, metaWaitMs: 500, transferIdleMs: 5000, rememberMs: 60_000 };

function rig(applied: string[] = []) {
  let now = 1_000_000;
  const stats = newStats();
  const delivered: Completed[] = [];
  const naks: Array<NakRequest & { at: number }> = [];
  const events: string[] = [];
  const r = new Receiver(LIMITS, TIMINGS, stats, {
    deliver: (c) => delivered.push(c),
    nak: (n) => naks.push({ ...n, at: now }),
    isApplied: (v) => applied.includes(v),
    event: (ev) => events.push(ev),
  }, () => now);
  const advance = (ms: number, step = 10): void => { for (let t = 0; t < ms; t += step) { now += step; r.tick(); } };
  return { r, stats, delivered, naks, events, advance, get now() { return now; } };
}

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const chunk = (ver: string, idx: number, total: number, data: Uint8Array, src = "s") => ({ src, ver, idx, total, data });

test("chunks in any order, duplicated, complete once META's sha256 matches; the bytes are exact", () => {
  const g = rig();
  const file = bytes(250);
  const parts = [file.subarray(0, 100), file.subarray(100, 200), file.subarray(200)];
  g.r.onChunk(chunk("v", 2, 3, parts[2]!), "1.1.1.1", 5000, "v1");
  g.r.onChunk(chunk("v", 0, 3, parts[0]!), "1.1.1.1", 5000, "v1");
  g.r.onChunk(chunk("v", 0, 3, parts[0]!), "1.1.1.1", 5000, "v1");
  g.r.onChunk(chunk("v", 1, 3, parts[1]!), "1.1.1.1", 5000, "v1");
  assert.equal(g.delivered.length, 0, "delivered before META gave a sha256");
  g.r.onMeta({ src: "s", ver: "v", chunks: 3, size: 250, sha256: sha(file) }, "1.1.1.1", 5000, "v1");
  assert.equal(g.delivered.length, 1);
  assert.deepEqual(g.delivered[0]!.bytes, Buffer.from(file));
  assert.equal(g.stats.datagramsDropped.duplicate, 1);
  g.r.onChunk(chunk("v", 1, 3, parts[1]!), "1.1.1.1", 5000, "v1");
  assert.equal(g.stats.datagramsDropped.late, 1, "a late duplicate must not open a new buffer");
  assert.deepEqual(g.r.list(), []);
});

test("a total that changes, a size that does not add up, a wrong sha256, an applied version: refused and counted", () => {
  const g = rig(["done"]);
  g.r.onMeta({ src: "s", ver: "a", chunks: 2, size: 150, sha256: sha(bytes(150)) }, "1.1.1.1", 5000, "v1");
  g.r.onChunk(chunk("a", 0, 3, bytes(100)), "1.1.1.1", 5000, "v1");
  assert.equal(g.stats.datagramsDropped.total_changed, 1);
  g.r.onChunk(chunk("a", 0, 2, bytes(100)), "1.1.1.1", 5000, "v1");
  g.r.onChunk(chunk("a", 1, 2, bytes(100)), "1.1.1.1", 5000, "v1");   // 200 B > META size 150
  assert.equal(g.stats.deltasRejected.bounds, 1);
  g.r.onMeta({ src: "s", ver: "b", chunks: 1, sha256: sha(bytes(10, 7)) }, "1.1.1.1", 5000, "v1");
  g.r.onChunk(chunk("b", 0, 1, bytes(10)), "1.1.1.1", 5000, "v1");
  assert.equal(g.stats.deltasRejected.sha, 1);
  g.r.onChunk(chunk("done", 0, 1, bytes(10)), "1.1.1.1", 5000, "v1");
  assert.equal(g.stats.datagramsDropped.applied, 1);
  assert.equal(g.delivered.length, 0);
  assert.equal(g.r.bytesInFlight, 0);
});

test("a transfer with a META is not evicted for bare chunks of a new version", () => {
  const g = rig();
  g.r.onMeta({ src: "s", ver: "real", chunks: 5, size: 500 }, "1.1.1.1", 5000, "v1");
  g.r.onChunk(chunk("junk1", 0, 9, bytes(1)), "6.6.6.6", 5000, "v1");
  g.advance(500);
  g.r.onChunk(chunk("junk2", 0, 9, bytes(1)), "6.6.6.6", 5000, "v1");
  assert.deepEqual(g.r.list().map((t) => t.version).sort(), ["junk2", "real"]);
  g.advance(500);
  g.r.onChunk(chunk("junk3", 0, 9, bytes(1)), "6.6.6.6", 5000, "v1");
  assert.deepEqual(g.r.list().map((t) => t.version).sort(), ["junk3", "real"]);
});

test("hard bounds: chunks per transfer, bytes per transfer, bytes in flight, transfers in flight", () => {
  const g = rig();
  g.r.onChunk(chunk("huge", 0, 101, bytes(1)), "1.1.1.1", 5000, "v1");
  assert.equal(g.stats.datagramsDropped.bounds, 1, "more chunks than maxChunksPerTransfer");
  g.r.onMeta({ src: "s", ver: "fat", chunks: 2, size: 5000 }, "1.1.1.1", 5000, "v1");
  assert.equal(g.stats.datagramsDropped.bounds, 2, "META size over maxTransferBytes");
  g.r.onChunk(chunk("x", 0, 9, bytes(900)), "1.1.1.1", 5000, "v1");
  g.r.onChunk(chunk("y", 0, 9, bytes(500)), "1.1.1.1", 5000, "v1");
  g.r.onChunk(chunk("y", 1, 9, bytes(500)), "1.1.1.1", 5000, "v1");
  assert.equal(g.stats.datagramsDropped.in_flight_full, 1);
  assert.ok(g.r.bytesInFlight <= LIMITS.maxInFlightBytes);
  g.r.onChunk(chunk("z", 0, 9, bytes(1)), "1.1.1.1", 5000, "v1");
  assert.equal(g.stats.datagramsDropped.transfers_full, 1, "a third transfer while two are busy");
  g.advance(450);   // both idle for 4 NAK quiet periods: the longest idle one may be evicted
  g.r.onChunk(chunk("z", 0, 9, bytes(1)), "1.1.1.1", 5000, "v1");
  assert.equal(g.r.list().length, 2);
  assert.equal(g.stats.deltasRejected.stale, 1);
  g.r.onChunk(chunk("z", 1, 9, bytes(1)), "6.6.6.6", 5000, "v1");
  assert.equal(g.stats.datagramsDropped.forged_src, 1, "a chunk for an open transfer from another address");
});

test("NAKs after the quiet period, backing off; a sender that never repairs is given up in bounded time", () => {
  const g = rig();
  g.r.onMeta({ src: "s", ver: "v", chunks: 10, size: 1000, sha256: "0".repeat(64) }, "1.1.1.1", 5000, "v1");
  for (const i of [0, 1, 2, 4, 5]) g.r.onChunk(chunk("v", i, 10, bytes(100)), "1.1.1.1", 5000, "v1");
  const start = g.now;
  g.advance(5000);
  assert.deepEqual(g.naks[0]!.missing, [3, 6, 7, 8, 9]);
  assert.equal(g.naks[0]!.at - start, TIMINGS.nakQuietMs + 10, "quiet period, confirmed at the next tick");
  const gaps = g.naks.slice(1).map((n, i) => n.at - g.naks[i]!.at);
  assert.deepEqual(gaps, [100, 200, 400], "backoff doubles up to nakBackoffMaxMs");
  assert.equal(g.naks.length, TIMINGS.nakMaxRounds);
  assert.equal(g.stats.deltasRejected.gave_up, 1);
  assert.deepEqual(g.events.filter((e) => e === "gave-up"), ["gave-up"]);
  assert.equal(g.r.bytesInFlight, 0);
});

test("with the last chunk in, the gaps are NAKed after the short repair quiet", () => {
  const g = rig();
  g.r.onMeta({ src: "s", ver: "v", chunks: 4, size: 400, sha256: "0".repeat(64) }, "1.1.1.1", 5000, "v1");
  for (const i of [0, 3]) g.r.onChunk(chunk("v", i, 4, bytes(100)), "1.1.1.1", 5000, "v1");
  const start = g.now;
  g.advance(200);
  assert.equal(g.naks[0]!.at - start, TIMINGS.repairQuietMs + 10);
  assert.deepEqual(g.naks[0]!.missing, [1, 2]);
});

test("progress after a NAK resets the rounds; all chunks but no META: ask for META, then give up, never deliver", () => {
  const g = rig();
  for (let i = 0; i < 3; i++) g.r.onChunk(chunk("v", i, 4, bytes(10)), "1.1.1.1", 5000, "v1");
  g.advance(130);
  assert.equal(g.naks.length, 1);
  assert.equal(g.naks[0]!.wantMeta, true);
  g.r.onChunk(chunk("v", 3, 4, bytes(10)), "1.1.1.1", 5000, "v1");
  g.advance(2000);
  assert.ok(g.naks.slice(1).every((n) => n.missing.length === 0 && n.wantMeta), "asks for META only");
  assert.equal(g.stats.deltasRejected.gave_up, 1);
  assert.equal(g.delivered.length, 0);
});
