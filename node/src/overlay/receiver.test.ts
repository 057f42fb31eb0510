// Reassembly rules on a fake clock: bounds, idempotent duplicates, totals and sizes that do not add
// up, NAK schedules (the course's for course senders, the fast one for DeltaFleet senders) with
// backoff and a bounded give-up, never delivering without a matching sha256.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import { Receiver, type Completed, type NakRequest, type ReceiverLimits, type ReceiverTimings } from "./receiver.js";
import { NAK_HORIZON_BASE, NAK_HORIZON_PER_CHUNK } from "./reassembly.js";
import { FEC_BLOCK_CHUNKS } from "./codec.js";
import { encodeParity } from "./fec/reed-solomon.js";
import { newStats } from "./stats.js";
import { FakeClock } from "../../../test/support/fake-clock.js";

const LIMITS: ReceiverLimits = { maxChunksPerTransfer: 100, maxTransferBytes: 1000, maxInFlightBytes: 1500, maxTransfers: 2, maxTransfersPerSource: 8, maxRemembered: 10 };
const TIMINGS: ReceiverTimings = { nakQuietMs: 100, repairQuietMs: 30, nakBackoffMs: 100, nakBackoffMaxMs: 400, nakMaxRounds: 4, metaWaitMs: 500, transferIdleMs: 5000, rememberMs: 60_000,
  nakBatchMs: 2, reaskMinMs: 4, reaskInitialMs: 10, tailQuietMs: 20, repairGiveUpMs: 3000 };

/** `fleet`: senders the peer table knows as DeltaFleet nodes (the fast schedule). */
/** `trusted`: senders the node trusts (the roster); undefined: all of them (no hook). */
function rig(applied: string[] = [], fleet: string[] = [], limits: ReceiverLimits = LIMITS, trusted?: string[], clock = new FakeClock()) {
  const stats = newStats();
  const delivered: Completed[] = [];
  const naks: Array<NakRequest & { at: number }> = [];
  const events: string[] = [];
  const r = new Receiver(limits, TIMINGS, stats, {
    deliver: (c) => delivered.push(c),
    nak: (n) => naks.push({ ...n, at: clock.now() }),
    isApplied: (v) => applied.includes(v),
    isFleet: (src) => fleet.includes(src),
    ...(trusted ? { isTrusted: (src: string) => trusted.includes(src) } : {}),
    event: (ev) => events.push(ev),
  }, clock);
  /** Time passes in steps (repair timers fire when due within them), the housekeeping tick after each. */
  const advance = (ms: number, step = 10): void => {
    for (let t = 0; t < ms; t += step) { clock.advance(step); r.tick(); }
  };
  return { r, stats, delivered, naks, events, advance, clock, get now() { return clock.now(); } };
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

test("chunks are copied into the transfer's buffer as they come: gaps filled late, with or without META's size, the bytes are exact", () => {
  const g = rig([], [], { ...LIMITS, maxChunksPerTransfer: 100, maxInFlightBytes: 5000 });
  const file = bytes(999, 7);
  const parts = Array.from({ length: 37 }, (_, i) => file.subarray(i * 27, (i + 1) * 27));
  const order = [...parts.keys()].filter((i) => i % 5 !== 0).concat([...parts.keys()].filter((i) => i % 5 === 0).reverse());
  for (const [ver, size] of [["sized", 999], ["unsized", undefined]] as const) {
    g.r.onMeta({ src: "s", ver, chunks: parts.length, size, sha256: sha(file) }, "1.1.1.1", 5000, "binary");
    for (const i of order) g.r.onChunk(chunk(ver, i, parts.length, Uint8Array.from(parts[i]!)), "1.1.1.1", 5000, "binary");
  }
  assert.equal(g.delivered.length, 2);
  for (const d of g.delivered) assert.deepEqual(d.bytes, Buffer.from(file), `${d.version}: the bytes differ`);
  assert.equal(g.r.bytesInFlight, 0);
});

test("a deflated payload is inflated and delivered as the file, checked against the file's sha256", () => {
  const g = rig();
  const file = new Uint8Array(900);   // under the rig's maxTransferBytes, inflated
  file[123] = 7;
  const wire = deflateRawSync(file);
  g.r.onMeta({ src: "s", ver: "z", chunks: 1, size: wire.length, sha256: sha(wire), enc: "deflate", rawSha256: sha(file) }, "1.1.1.1", 5000, "binary");
  g.r.onChunk(chunk("z", 0, 1, wire), "1.1.1.1", 5000, "binary");
  assert.equal(g.delivered.length, 1);
  assert.deepEqual(g.delivered[0]!.bytes, Buffer.from(file));
  assert.equal(g.delivered[0]!.sha256, sha(file), "the delivered sha256 is the file's, not the wire bytes'");
});

test("deflated payloads that inflate to another file, to too much, or not at all are rejected", () => {
  const g = rig();
  const wire = deflateRawSync(new Uint8Array(500));
  const send = (ver: string, w: Uint8Array, rawSha256: string) => {
    g.r.onMeta({ src: "s", ver, chunks: 1, size: w.length, sha256: sha(w), enc: "deflate", rawSha256 }, "1.1.1.1", 5000, "binary");
    g.r.onChunk(chunk(ver, 0, 1, w), "1.1.1.1", 5000, "binary");
  };
  send("other", wire, sha(new Uint8Array(501)));
  assert.equal(g.stats.deltasRejected.sha, 1, "inflates, but not to the file META names");
  // 200 B on the wire, 200 KB inflated: past maxTransferBytes (1000 here) it stops, it does not fill memory.
  const bomb = deflateRawSync(new Uint8Array(200_000));
  send("bomb", bomb, sha(new Uint8Array(200_000)));
  send("junk", Uint8Array.from([0xff, 0xff, 0xff]), sha(new Uint8Array(5)));   // block type 3: not DEFLATE
  assert.equal(g.stats.deltasRejected.decode, 2, "a bomb and bytes that are not DEFLATE");
  assert.equal(g.delivered.length, 0);
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

test("one flooding socket holds at most maxTransfersPerSource transfers: a real sender still gets a slot", () => {
  const g = rig([], [], { ...LIMITS, maxTransfers: 8, maxTransfersPerSource: 2, maxInFlightBytes: 10_000 });
  for (let v = 0; v < 6; v++) g.r.onChunk(chunk(`flood${v}`, 0, 9, bytes(10)), "6.6.6.6", 4000, "v1");
  assert.equal(g.r.list().length, 2);
  assert.equal(g.stats.datagramsDropped.source_full, 4);
  g.r.onMeta({ src: "s", ver: "real", chunks: 1, size: 10, sha256: "0".repeat(64) }, "1.1.1.1", 5000, "v1");
  assert.ok(g.r.list().some((t) => t.version === "real"), "the real sender's transfer is open");
  // Another socket of the flooding host counts on its own: the bound is per socket, not per host.
  g.r.onChunk(chunk("other", 0, 9, bytes(10)), "6.6.6.6", 4001, "v1");
  assert.equal(g.r.list().length, 4);
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

// ---- DeltaFleet senders: chunks come in idx order, resends are pooled, so NAK early and often ----

const FROM = ["1.1.1.1", 5000] as const;
/** A binary frame (only DeltaFleet nodes send them) with its SEQ. */
const frame = (g: ReturnType<typeof rig>, ver: string, idx: number, total: number, seq = 100 + idx): void =>
  g.r.onChunk({ ...chunk(ver, idx, total, bytes(10)), seq }, ...FROM, "binary");
const meta = (g: ReturnType<typeof rig>, ver: string, total: number): void =>
  g.r.onMeta({ src: "s", ver, chunks: total, size: total * 10, sha256: "0".repeat(64) }, ...FROM, "v1");

test("a DeltaFleet sender's gap is NAKed once a later chunk shows it, mid-pass; a course sender's waits for the quiet", () => {
  const g = rig([], ["s"]);
  meta(g, "v", 10);
  for (const i of [0, 1, 3]) frame(g, "v", i, 10);
  g.clock.advance(0);
  assert.equal(g.naks.length, 1, "chunk 3 came, so 2 was lost: no quiet period to wait for");
  assert.deepEqual(g.naks[0]!.missing, [2], "only what is certainly lost, not the rest of the pass");
  assert.equal(g.naks[0]!.heard, 103, "it says what it heard last, so the sender can tell a crossed NAK");
  const course = rig();
  course.r.onMeta({ src: "py", ver: "c", chunks: 10, size: 1000 }, ...FROM, "v1");
  for (const i of [0, 1, 3]) course.r.onChunk(chunk("c", i, 10, bytes(100), "py"), ...FROM, "v1");
  course.advance(TIMINGS.nakQuietMs);
  assert.equal(course.naks.length, 0, "course senders resend once per NAK: they get the course's schedule");
});

test("a sender known as a DeltaFleet node only after its first chunks (PEER_SYNC came late) is served on the fast schedule from then on", () => {
  const fleet: string[] = [];
  const g = rig([], fleet);
  meta(g, "v", 10);
  for (const i of [0, 1, 3]) g.r.onChunk(chunk("v", i, 10, bytes(10)), ...FROM, "v1");
  const t0 = g.now;
  g.advance(5, 5);
  g.clock.advance(0);
  assert.equal(g.naks.length, 0, "a course sender's transfer waits for the quiet period");
  fleet.push("s");
  g.advance(5, 5);
  g.clock.advance(0);
  assert.deepEqual(g.naks.map((n) => [n.at - t0, n.missing]), [[10, [2]]], "the gap it holds is asked for at the next tick");
  g.clock.advance(TIMINGS.tailQuietMs);
  assert.deepEqual(g.naks.slice(0, 2).map((n) => [n.at - t0, n.missing]), [[10, [2]], [TIMINGS.tailQuietMs, [2, 4, 5, 6, 7, 8, 9]]],
    "the lost tail tailQuietMs after the last chunk (long before nakQuietMs), with the gap again one RTO after its NAK");
});

test("a transfer that turns fleet after course NAKs goes on from its first pass: a tail lost long ago is asked for at once", () => {
  const fleet: string[] = [];
  const g = rig([], fleet);
  meta(g, "v", 10);
  for (const i of [0, 1, 3, 4, 5]) g.r.onChunk(chunk("v", i, 10, bytes(10)), ...FROM, "v1");
  g.advance(TIMINGS.nakQuietMs + 10);
  assert.deepEqual(g.naks.map((n) => n.missing), [[2, 6, 7, 8, 9]], "the course schedule's NAK");
  g.r.onChunk(chunk("v", 2, 10, bytes(10)), ...FROM, "v1");   // only 2 comes back
  fleet.push("s");
  g.advance(10);
  g.clock.advance(0);
  assert.deepEqual(g.naks.map((n) => n.missing), [[2, 6, 7, 8, 9], [6, 7, 8, 9]], "the tail at the first fleet wake-up, not tailQuietMs after the resend");
  assert.equal(g.naks[1]!.at - g.naks[0]!.at, 10);
});

test("gaps found within nakBatchMs of a NAK share the next one", () => {
  const g = rig();
  meta(g, "v", 20);
  for (const i of [0, 2]) frame(g, "v", i, 20);
  g.clock.advance(0);
  g.clock.advance(1);
  frame(g, "v", 4, 20);
  g.clock.advance(0);
  frame(g, "v", 6, 20);
  assert.equal(g.naks.length, 1);
  g.clock.advance(TIMINGS.nakBatchMs - 1);
  assert.deepEqual(g.naks.map((n) => n.missing), [[1], [1, 3, 5]], "1 again: a NAK names its blocks' whole need (coded repair counts it)");
  assert.equal(g.naks[1]!.at - g.naks[0]!.at, TIMINGS.nakBatchMs);
});

test("a chunk not resent is asked again one measured repair round trip later, with a floor; waits double only into a long silence", () => {
  const g = rig();
  meta(g, "v", 20);
  for (const i of [0, 2, 3, 5]) frame(g, "v", i, 20);
  g.clock.advance(0);
  const t0 = g.now;
  assert.deepEqual(g.naks[0]!.missing, [1, 4]);
  g.clock.advance(6);
  frame(g, "v", 1, 20, 200);   // a resend 6 ms after the NAK: the repair round trip
  for (let i = 6; i < 20; i++) frame(g, "v", i, 20, 300 + i);
  g.clock.advance(100);
  // First sample: srtt 6, rttvar 3 -> wait 6 + 3 = 9 ms (not reaskInitialMs, not a quiet period)
  assert.equal(g.naks[1]!.at - t0, 9);
  assert.deepEqual(g.naks[1]!.missing, [4]);
  const waits = g.naks.slice(1).map((n, i) => n.at - g.naks[i]!.at);
  assert.deepEqual(waits, [9, 9, 9, 9, 18, 36], "nothing came after the re-asks: three more at one RTO, then each wait doubles");
  const floor = rig();
  meta(floor, "w", 6);
  for (const i of [0, 2, 4, 5]) frame(floor, "w", i, 6);
  floor.clock.advance(0);
  floor.clock.advance(1);
  frame(floor, "w", 1, 6, 400);   // a resend after 1 ms: the next wait is reaskMinMs, not 1 + 0.5
  floor.clock.advance(10);
  assert.equal(floor.naks[1]!.at - floor.naks[0]!.at, TIMINGS.reaskMinMs);
  assert.deepEqual(floor.naks[1]!.missing, [3]);
});

test("a REPAIRED marker listing a chunk we asked for and still lack: its resend was lost, asked again at once", () => {
  const g = rig();
  meta(g, "v", 10);
  for (const i of [0, 1, 3, 4, 5, 6, 7, 8, 9]) frame(g, "v", i, 10);
  g.clock.advance(0);
  assert.deepEqual(g.naks.map((n) => n.missing), [[2]]);
  g.clock.advance(3);
  g.r.onRepaired({ src: "s", ver: "v", idx: [2, 5], seq: 500 }, ...FROM);   // 2 went out before this: lost
  g.clock.advance(0);
  assert.deepEqual(g.naks.map((n) => n.missing), [[2], [2]], "not one repair round trip later");
  assert.equal(g.naks[1]!.at - g.naks[0]!.at, 3);
  assert.equal(g.naks[1]!.heard, 500, "the marker's SEQ: the sender sees the resend was lost, not crossed");
  g.r.onRepaired({ src: "s", ver: "v", idx: [2], seq: 501 }, "6.6.6.6", 5000);
  g.clock.advance(1);
  assert.equal(g.naks.length, 2, "a marker from another address is ignored");
});

test("a lost tail is asked for after tailQuietMs of no new chunk, long before nakQuietMs", () => {
  const g = rig();
  meta(g, "v", 10);
  for (let i = 0; i < 6; i++) frame(g, "v", i, 10);
  g.clock.advance(TIMINGS.tailQuietMs - 1);
  assert.equal(g.naks.length, 0, "chunks may still be on their way");
  g.clock.advance(1);
  assert.deepEqual(g.naks.map((n) => n.missing), [[6, 7, 8, 9]]);
  assert.ok(TIMINGS.tailQuietMs < TIMINGS.nakQuietMs);
});

test("a NAK after a tail quiet of silence leaves out heard: an old SEQ would make the sender hold back", () => {
  const g = rig();
  meta(g, "v", 4);
  for (const i of [0, 2, 3]) frame(g, "v", i, 4);
  g.clock.advance(0);
  g.clock.advance(200);
  assert.ok(g.naks.length >= 3);
  assert.equal(g.naks[0]!.heard, 103);
  const heardAt = g.naks[0]!.at;
  for (const n of g.naks.slice(1)) {
    assert.equal(n.heard, n.at - heardAt >= TIMINGS.tailQuietMs ? undefined : 103, `NAK ${n.at - heardAt} ms after the last datagram`);
  }
});

test("a NAK born of silence waits for the socket to be read: chunks queued behind a stalled receiver are not asked for", () => {
  // Timers run before the socket is read: a receiver that was not scheduled for a tail quiet finds
  // its tail timer due with the sender's datagrams still in its queue. On bench:sync N=8 (9 processes
  // on 2 cores) such NAKs had the sender resend 2.5x the payload at no loss.
  const g = rig([], ["s"], LIMITS, undefined, new FakeClock(1_000_000, true));
  meta(g, "v", 10);
  for (let i = 0; i < 6; i++) frame(g, "v", i, 10);
  g.clock.advance(TIMINGS.tailQuietMs);
  assert.equal(g.naks.length, 0, "the tail timer is due, but the socket is read first");
  for (const i of [6, 7]) frame(g, "v", i, 10);   // what the read found queued
  g.clock.readRound();
  assert.equal(g.naks.length, 0, "the read brought chunks: the pass goes on, nothing to ask for");
  g.clock.advance(TIMINGS.tailQuietMs);
  assert.equal(g.naks.length, 0);
  g.clock.readRound();
  assert.deepEqual(g.naks.map((n) => n.missing), [[8, 9]], "a tail quiet with the socket read empty: the rest was lost");
  // A re-ask is born of silence too.
  g.clock.advance(50);
  assert.equal(g.naks.length, 1, "the re-ask waits for a read");
  frame(g, "v", 8, 10, 120);
  g.clock.readRound();
  g.clock.advance(200);
  g.clock.readRound();
  assert.deepEqual(g.naks.map((n) => n.missing), [[8, 9], [9]], "what the read brought is not asked again");
});

test("coded repair: a NAK names every known hole of each block it asks about, so held symbols never cover all that is asked while the block still lacks chunks", () => {
  // Two holes found 5 ms apart are re-asked 5 ms apart. With one symbol held, a NAK naming only the
  // hole due then was left empty (the symbol covers one hole) every time: the block never completed
  // (bench:sync N=8 20 %: a receiver gave up at 1,376 of 1,410 chunks, NAKing into nothing for 20 s).
  const g = rig([], ["s"], { ...LIMITS, maxInFlightBytes: 5000 });
  const file = bytes(10 * 27, 5);
  const parts = Array.from({ length: 10 }, (_, i) => file.subarray(i * 27, (i + 1) * 27));
  g.r.onMeta({ src: "s", ver: "v", chunks: 10, size: file.length, sha256: sha(file) }, ...FROM, "binary");
  const send = (i: number): void => g.r.onChunk({ ...chunk("v", i, 10, parts[i]!), seq: 100 + i }, ...FROM, "binary");
  for (const i of [0, 2]) send(i);
  g.clock.advance(5);
  for (const i of [3, 5, 6, 7, 8, 9]) send(i);
  g.clock.advance(0);
  assert.deepEqual(g.naks.map((n) => n.missing), [[1], [1, 4]], "the second gap's NAK names the first again: its block's whole need");
  g.r.onRepairSymbol({ src: "s", ver: "v", block: 0, k: 10, symbol: 10, tailLen: 27, data: encodeParity(parts, 10, 27), seq: 110 }, ...FROM);
  const before = g.naks.length;
  g.advance(100, 1);
  const later = g.naks.slice(before);
  assert.ok(later.length > 0, "the block lacks one chunk beyond the symbol held: it is asked for");
  for (const n of later) assert.equal(n.missing.length, 1, `one hole named (two lacking, one symbol held): ${JSON.stringify(n.missing)}`);
  send(later[0]!.missing[0]!);
  assert.equal(g.delivered.length, 1, "the chunk and the symbol complete the block");
  assert.deepEqual(g.delivered[0]!.bytes, Buffer.from(file));
});

test("a DeltaFleet sender that goes away is given up after repairGiveUpMs, its NAKs backing off to nakBackoffMaxMs", () => {
  const g = rig();
  meta(g, "v", 4);
  for (const i of [0, 2, 3]) frame(g, "v", i, 4);
  g.advance(TIMINGS.repairGiveUpMs + 200, 1);
  assert.equal(g.stats.deltasRejected.gave_up, 1);
  assert.equal(g.r.bytesInFlight, 0);
  const waits = g.naks.slice(1).map((n, i) => n.at - g.naks[i]!.at);
  assert.ok(waits.every((w, i) => i === 0 || w >= waits[i - 1]!), `waits only grow: ${waits.join(",")}`);
  assert.equal(Math.max(...waits), TIMINGS.nakBackoffMaxMs);
  assert.equal(g.clock.waiting, 0, "no timer left behind");
});

test("32 chunks each claiming 65,536 chunks: NAK state and NAKs stay within the horizon of what arrived", () => {
  // The attack: one 1.7 KB binary chunk claiming 65,536 chunks cost ~2.3 s CPU and ~70 MB (65,535
  // gaps, re-asked every few ms). The budget: a transfer keeps NAK state for at most
  // NAK_HORIZON_BASE + NAK_HORIZON_PER_CHUNK × chunks held idx, and holds only the bytes that came.
  const limits: ReceiverLimits = { maxChunksPerTransfer: 65_536, maxTransferBytes: 32 << 20, maxInFlightBytes: 64 << 20, maxTransfers: 32, maxTransfersPerSource: 4, maxRemembered: 100 };
  const g = rig([], [], limits);
  const claimed = 65_536;
  let received = 0;
  for (let n = 0; n < 32; n++) {
    const data = bytes(1_400, n);
    received += data.length;
    // Half claim to be the last chunk (every idx below is a gap), half the first (all the rest is a lost tail).
    g.r.onChunk({ ...chunk(`big${n}`, n % 2 ? claimed - 1 : 0, claimed, data, `evil${n}`), seq: n }, `6.6.6.${n % 8}`, 4000, "binary");
  }
  assert.equal(g.r.list().length, 32);
  const perTransfer = NAK_HORIZON_BASE + NAK_HORIZON_PER_CHUNK * 1;
  let maxTracked = 0;
  for (let ms = 0; ms < 300; ms += 5) {
    g.advance(5, 1);
    maxTracked = Math.max(maxTracked, g.r.list().reduce((a, t) => a + t.tracked, 0));
  }
  assert.ok(g.naks.length > 0, "they are still asked about (they might be real)");
  const largest = Math.max(...g.naks.map((n) => n.missing.length));
  assert.ok(largest <= perTransfer, `a NAK listed ${largest} idx (budget ${perTransfer})`);
  // An idx below the horizon may be both a gap and asked for: two entries at most.
  assert.ok(maxTracked <= 2 * 32 * perTransfer, `NAK state of ${maxTracked} entries (budget ${2 * 32 * perTransfer})`);
  assert.ok(g.r.bytesInFlight <= received, `holds ${g.r.bytesInFlight} B of ${received} B received`);
});

test("a real transfer whose first chunks were all lost still completes: the horizon grows with what arrives", () => {
  const limits: ReceiverLimits = { ...LIMITS, maxChunksPerTransfer: 5_000, maxTransferBytes: 5_000, maxInFlightBytes: 5_000 };
  const g = rig([], ["s"], limits);
  const total = 3_000;
  const file = bytes(total);
  g.r.onMeta({ src: "s", ver: "v", chunks: total, size: total, sha256: sha(file) }, "1.1.1.1", 5000, "binary");
  const send = (i: number) => g.r.onChunk({ ...chunk("v", i, total, file.subarray(i, i + 1)), seq: i }, "1.1.1.1", 5000, "binary");
  send(total - 1);   // everything before it was lost
  for (let round = 0; round < 200 && g.delivered.length === 0; round++) {
    const before = g.naks.length;
    g.advance(20, 1);
    for (const n of g.naks.slice(before)) for (const i of n.missing) send(i);
  }
  assert.equal(g.delivered.length, 1, `not delivered: ${JSON.stringify(g.r.list())}`);
  assert.ok(Math.max(...g.naks.map((n) => n.missing.length)) <= NAK_HORIZON_BASE + NAK_HORIZON_PER_CHUNK * total);
});

test("a META flood from 200 unknown sources cannot evict a known peer's transfer, nor keep its next one out", () => {
  // The attack: ~7 KB/s of well-formed MODEL_META from 8 sockets (or 200, or 8 IPs) filled every slot.
  const limits: ReceiverLimits = { maxChunksPerTransfer: 65_536, maxTransferBytes: 32 << 20, maxInFlightBytes: 64 << 20, maxTransfers: 32, maxTransfersPerSource: 4,
    maxRemembered: 100, maxUntrustedTransfers: 4 };
  const g = rig([], ["real"], limits, ["real"]);
  const file = bytes(3_000);
  const part = (i: number) => file.subarray(i * 100, i * 100 + 100);
  const from = ["1.1.1.1", 5000] as const;
  g.r.onMeta({ src: "real", ver: "v1", chunks: 30, size: 3_000, sha256: sha(file) }, ...from, "binary");
  for (let i = 0; i < 15; i++) g.r.onChunk({ ...chunk("v1", i, 30, part(i), "real"), seq: i }, ...from, "binary");
  // The real sender stalls for a second while 200 sources (on 200 addresses) send 5 METAs each.
  let maxUntrusted = 0;
  for (let n = 0; n < 1_000; n++) {
    const src = `x${n % 200}`;
    g.r.onMeta({ src, ver: `f${n}`, chunks: 65_536, size: 1 << 20, sha256: sha(bytes(8, n)) }, `6.6.${n % 200}.1`, 4000, "v1");
    if (n % 10 === 0) g.advance(10);
    maxUntrusted = Math.max(maxUntrusted, g.r.list().filter((t) => t.from !== "real").length);
    if (n === 500) g.r.onMeta({ src: "real", ver: "v2", chunks: 1, size: 3, sha256: sha(bytes(3, 9)) }, ...from, "binary");
  }
  assert.ok(maxUntrusted <= 4, `${maxUntrusted} transfers of unknown senders open at once (pool of 4)`);
  assert.ok(g.stats.transfersEvicted.untrusted > 900, "the pool turned over, counted");
  assert.equal(g.stats.transfersEvicted.trusted, 0);
  assert.deepEqual(g.r.list().filter((t) => t.from === "real").map((t) => t.version).sort(), ["v1", "v2"], "both real transfers are open");
  for (let i = 15; i < 30; i++) g.r.onChunk({ ...chunk("v1", i, 30, part(i), "real"), seq: i }, ...from, "binary");
  g.r.onChunk({ ...chunk("v2", 0, 1, bytes(3, 9), "real"), seq: 30 }, ...from, "binary");
  assert.deepEqual(g.delivered.map((d) => d.version).sort(), ["v1", "v2"], "the real deltas complete");
  assert.deepEqual(g.delivered.find((d) => d.version === "v1")!.bytes, Buffer.from(file));
});

test("the untrusted pool evicts the transfer with least progress; trusted peers share the slots fairly", () => {
  const limits: ReceiverLimits = { ...LIMITS, maxTransfers: 6, maxTransfersPerSource: 8, maxInFlightBytes: 100_000, maxUntrustedTransfers: 2 };
  const g = rig([], [], limits, ["a", "b"]);
  g.r.onChunk(chunk("u1", 0, 9, bytes(10), "u"), "6.6.6.6", 1, "v1");
  g.r.onChunk(chunk("u1", 1, 9, bytes(10), "u"), "6.6.6.6", 1, "v1");
  g.r.onChunk(chunk("u2", 0, 9, bytes(10), "u"), "6.6.6.6", 1, "v1");
  g.r.onChunk(chunk("u3", 0, 9, bytes(10), "u"), "6.6.6.6", 1, "v1");
  assert.deepEqual(g.r.list().map((t) => t.version).sort(), ["u1", "u3"], "u2 (one chunk, older) went; u1 (two chunks) stays");
  // Peer a takes every free slot, then b's newcomers take a's least-progress ones, down to a fair share.
  for (let v = 0; v < 4; v++) g.r.onChunk(chunk(`a${v}`, 0, 9, bytes(10), "a"), "1.1.1.1", 5000, "v1");
  for (let v = 0; v < 4; v++) g.r.onChunk(chunk(`b${v}`, 0, 9, bytes(10), "b"), "2.2.2.2", 5000, "v1");
  const by = (src: string) => g.r.list().filter((t) => t.from === src).length;
  assert.deepEqual([by("a"), by("b"), by("u")], [3, 3, 0], "untrusted ones first, then a's down to a fair share");
  assert.equal(g.stats.datagramsDropped.transfers_full, 1, "b's fourth finds no fair room");
});

test("coded repair: a block's repair symbols stand in for the chunks it lost, placed or ahead of a gap, the last one cut right; NAKs leave out what held symbols cover", () => {
  const g = rig([], ["s"], { ...LIMITS, maxChunksPerTransfer: 100, maxInFlightBytes: 5000, maxTransferBytes: 5000 });
  // 40 chunks of 27 B and a short last one: block 0 holds chunks 0..31, block 1 (k = 8) chunks 32..39.
  const file = bytes(39 * 27 + 5, 3);
  const parts = Array.from({ length: 40 }, (_, i) => file.subarray(i * 27, Math.min((i + 1) * 27, file.length)));
  const sym = (block: number, s: number) => {
    const first = block * FEC_BLOCK_CHUNKS, k = Math.min(FEC_BLOCK_CHUNKS, 40 - first);
    return { src: "s", ver: "v", block, k, symbol: s, tailLen: 5, data: encodeParity(parts.slice(first, first + k), s, 27), seq: 0 };
  };
  g.r.onMeta({ src: "s", ver: "v", chunks: 40, size: file.length, sha256: sha(file) }, "1.1.1.1", 5000, "binary");
  const lost = new Set([0, 5, 31, 33, 39]);   // the placed prefix's first, one ahead of a gap, the block's last; the transfer's last
  for (let i = 0; i < 40; i++) if (!lost.has(i)) g.r.onChunk({ ...chunk("v", i, 40, parts[i]!), seq: i }, "1.1.1.1", 5000, "binary");
  g.r.onRepairSymbol(sym(0, 40), "1.1.1.1", 5000);
  g.advance(5, 1);
  const nak = g.naks.at(-1)!;
  assert.deepEqual(nak.missing.filter((i) => i < 32).length, 2, `block 0 lost 3 and holds a symbol: NAKs 2, not ${JSON.stringify(nak.missing)}`);
  g.r.onRepairSymbol(sym(0, 41), "1.1.1.1", 5000);
  g.r.onRepairSymbol(sym(0, 41), "1.1.1.1", 5000);   // the same symbol again: of no use
  assert.equal(g.stats.datagramsDropped.duplicate, 1);
  g.r.onRepairSymbol(sym(1, 9), "1.1.1.1", 5000);
  assert.equal(g.delivered.length, 0);
  g.r.onRepairSymbol(sym(0, 42), "1.1.1.1", 5000);   // block 0 decodes
  assert.equal(g.stats.chunksRecovered, 3);
  g.r.onRepairSymbol(sym(1, 10), "1.1.1.1", 5000);   // block 1 decodes, last chunk cut to 5 B
  assert.equal(g.stats.chunksRecovered, 5);
  assert.equal(g.delivered.length, 1);
  assert.deepEqual(g.delivered[0]!.bytes, Buffer.from(file));
  assert.equal(g.r.bytesInFlight, 0, "symbols and chunks let go");
});

test("coded repair: a symbol whose k is not its block's is refused (bad_repair); one for no open transfer is counted, never opens one", () => {
  const g = rig([], ["s"]);
  g.r.onRepairSymbol({ src: "s", ver: "none", block: 0, k: 3, symbol: 3, tailLen: 1, data: bytes(10), seq: 1 }, "1.1.1.1", 5000);
  assert.equal(g.stats.datagramsDropped.repair_unknown, 1);
  assert.deepEqual(g.r.list(), []);
  g.r.onChunk({ ...chunk("v", 0, 3, bytes(10)), seq: 1 }, "1.1.1.1", 5000, "binary");
  g.r.onRepairSymbol({ src: "s", ver: "v", block: 0, k: 2, symbol: 2, tailLen: 1, data: bytes(10), seq: 2 }, "1.1.1.1", 5000);
  assert.equal(g.stats.datagramsDropped.bad_repair, 1);
  g.r.onRepairSymbol({ src: "s", ver: "v", block: 0, k: 3, symbol: 3, tailLen: 1, data: bytes(10), seq: 2 }, "9.9.9.9", 5000);
  assert.equal(g.stats.datagramsDropped.forged_src, 1);
});

test("coded repair: a symbol held early completes its block when a later chunk leaves as many holes as symbols; nothing stays in flight", () => {
  const g = rig([], ["s"]);
  const file = bytes(250, 9);
  const parts = [file.subarray(0, 100), file.subarray(100, 200), file.subarray(200)];
  g.r.onMeta({ src: "s", ver: "v", chunks: 3, size: 250, sha256: sha(file) }, "1.1.1.1", 5000, "binary");
  g.r.onChunk({ ...chunk("v", 0, 3, parts[0]!), seq: 1 }, "1.1.1.1", 5000, "binary");
  g.r.onRepairSymbol({ src: "s", ver: "v", block: 0, k: 3, symbol: 3, tailLen: 50, data: encodeParity(parts, 3, 100), seq: 2 }, "1.1.1.1", 5000);
  assert.equal(g.r.bytesInFlight, 200, "a chunk and a symbol held");
  g.r.onChunk({ ...chunk("v", 1, 3, parts[1]!), seq: 3 }, "1.1.1.1", 5000, "binary");   // chunk 2 is decoded: the block is whole
  assert.equal(g.stats.chunksRecovered, 1);
  assert.deepEqual(g.delivered[0]?.bytes, Buffer.from(file));
  assert.equal(g.r.bytesInFlight, 0);
});
