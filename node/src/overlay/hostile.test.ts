// 10,000 hostile datagrams at a running overlay while a real delta is in flight to it: random bytes,
// mutated course packets, huge counts, negative idx, bad base64, wrong sha256, oversized chunks,
// floods of versions and forged SRC. The overlay stays up, its buffers stay inside their bounds,
// the counters say what was dropped and why, and the real delta still arrives bit-exact.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { Overlay, type DeltaArrival } from "./overlay.js";
import { MAX_PEERS } from "./peers.js";
import { seeded } from "../../../test/support/faulty-transport.js";
import { claimingChunk, HOSTILE_DROP_REASONS, hostileDatagrams, metaFlood } from "../../../test/support/hostile-datagrams.js";
import { NAK_HORIZON_BASE, NAK_HORIZON_PER_CHUNK } from "./reassembly.js";

// Incompressible bytes of a course delta's size: between DeltaFleet nodes a real (sparse) delta
// goes deflated in a few datagrams, and the flood must land while a long transfer is open.
const DELTA = (() => {
  const rnd = seeded(9);
  return Buffer.from(Uint8Array.from({ length: 403_973 }, () => Math.floor(rnd() * 256)));
})();
const LO = "127.0.0.1";
const LIMITS = { maxTransfers: 8, maxInFlightBytes: 2 << 20, maxTransferBytes: 1 << 20, maxChunksPerTransfer: 4096 };
const HOSTILE = 10_000;

function bindRaw(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, LO, () => resolve(s));
  });
}

test("10,000 hostile datagrams during a real transfer: no crash, bounded buffers, every drop counted with its reason", { timeout: 120_000 }, async (t) => {
  const [ra, rb] = [await bindRaw(), await bindRaw()];
  const [pa, pb] = [ra.address().port, rb.address().port];
  await Promise.all([ra, rb].map((s) => new Promise<void>((r) => s.close(() => r()))));
  const got: DeltaArrival[] = [];
  const timings = { binaryAfterMs: 0, syncIntervalMs: 200, tickMs: 20, nakQuietMs: 150, nakBackoffMs: 100, nakBackoffMaxMs: 300, metaWaitMs: 500, transferIdleMs: 2_000 };
  // The real sender is slow (2 s for the delta) so the flood lands in the middle of its transfer.
  const a = await Overlay.start({ nodeId: "sender", port: pa, bindAddress: LO, peers: [`${LO}:${pb}`], timings, rateBytesPerSec: 200_000 });
  const b = await Overlay.start({ nodeId: "victim", port: pb, bindAddress: LO, peers: [`${LO}:${pa}`], timings, limits: LIMITS,
    onDelta: async (d) => { got.push(d); } });
  t.after(() => Promise.all([a.close(), b.close()]).then(() => {}));
  const evil = await bindRaw();
  t.after(() => new Promise<void>((r) => evil.close(() => r())));
  while (b.peers().length === 0 || a.peers().length === 0) await new Promise((r) => setTimeout(r, 10));

  const sending = a.sendDelta(DELTA);
  while (b.transfers().length === 0) await new Promise((r) => setTimeout(r, 5));
  const realVer = b.transfers()[0]!.version;

  const hostile = hostileDatagrams({ seed: 4200, realSender: "sender", realVersion: () => realVer });
  let maxTransfers = 0, maxInFlight = 0;
  const base = b.stats.datagramsReceived;
  for (let i = 0; i < HOSTILE; i++) {
    const buf = hostile(i);
    await new Promise<void>((r) => evil.send(buf, pb, LO, () => r()));
    if (i % 25 === 0) {
      // Let the victim keep up (bounded wait): the point is what it does with them, not UDP loss.
      const until = Date.now() + 200;
      while (b.stats.datagramsReceived < base + i - 50 && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
    }
    if (i % 50 === 0) {
      await new Promise((r) => setImmediate(r));
      maxTransfers = Math.max(maxTransfers, b.transfers().length);
      maxInFlight = Math.max(maxInFlight, b.bytesInFlight);
    }
  }
  await sending;
  const deadline = Date.now() + 30_000;
  while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

  assert.equal(got.length, 1, `the real delta did not arrive: ${JSON.stringify(b.stats)}`);
  assert.ok(Buffer.from(got[0]!.bytes).equals(DELTA), "the real delta arrived corrupted");
  assert.ok(maxTransfers <= LIMITS.maxTransfers, `${maxTransfers} transfers open`);
  assert.ok(maxInFlight <= LIMITS.maxInFlightBytes, `${maxInFlight} B in flight`);
  assert.ok(b.peers().length <= MAX_PEERS && b.stats.peersRefused > 0, `${b.peers().length} peers from forged SRCs`);
  const dropped = b.stats.datagramsDropped;
  for (const reason of HOSTILE_DROP_REASONS) {
    assert.ok((dropped[reason] ?? 0) > 0, `nothing counted as ${reason}: ${JSON.stringify(dropped)}`);
  }
  assert.ok((dropped.transfers_full ?? 0) + (dropped.in_flight_full ?? 0) + (dropped.source_full ?? 0) > 0, `the flood never hit a bound: ${JSON.stringify(dropped)}`);
  assert.equal(b.stats.deltasRejected.sha, 1, "the lying sender's file was not rejected by sha256");
  assert.equal(dropped.internal_error ?? 0, 0, "the receive path threw");
  const totalDropped = Object.values(dropped).reduce((x, y) => x + y, 0);
  assert.ok(totalDropped >= HOSTILE / 2, `only ${totalDropped} of ${HOSTILE} hostile datagrams counted as dropped`);
  // (A few may be lost in the kernel's socket buffer under the flood: UDP, not the overlay.)
  assert.ok(b.stats.datagramsReceived >= HOSTILE * 0.9, `${b.stats.datagramsReceived} datagrams reached the overlay`);
});

test("a META flood from 200 unknown SRCs on 8 sockets, and 32 chunks claiming 65,536 chunks: bounded, and the real delta arrives", { timeout: 120_000 }, async (t) => {
  const [ra, rb] = [await bindRaw(), await bindRaw()];
  const [pa, pb] = [ra.address().port, rb.address().port];
  await Promise.all([ra, rb].map((s) => new Promise<void>((r) => s.close(() => r()))));
  const got: DeltaArrival[] = [];
  const timings = { binaryAfterMs: 0, syncIntervalMs: 200, tickMs: 20 };
  const a = await Overlay.start({ nodeId: "sender", port: pa, bindAddress: LO, peers: [`${LO}:${pb}`], timings, rateBytesPerSec: 400_000 });
  // Default bounds: 32 slots, 4 per socket, a pool of 4 for unknown senders.
  const b = await Overlay.start({ nodeId: "victim", port: pb, bindAddress: LO, peers: [`${LO}:${pa}`], timings, onDelta: async (d) => { got.push(d); } });
  t.after(() => Promise.all([a.close(), b.close()]).then(() => {}));
  const evil = await Promise.all(Array.from({ length: 8 }, () => bindRaw()));
  t.after(() => Promise.all(evil.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => {}));
  while (b.peers().length === 0 || a.peers().length === 0) await new Promise((r) => setTimeout(r, 10));
  const send = (s: Socket, buf: Uint8Array) => new Promise<void>((r) => s.send(buf, pb, LO, () => r()));

  let maxUnknown = 0, maxOverBudget = 0;
  const look = (): void => {
    const open = b.transfers();
    maxUnknown = Math.max(maxUnknown, open.filter((x) => x.from !== "sender").length);
    for (const x of open) maxOverBudget = Math.max(maxOverBudget, x.tracked - 2 * (NAK_HORIZON_BASE + NAK_HORIZON_PER_CHUNK * x.have));
  };
  for (let i = 0; i < 32; i++) await send(evil[i % 8]!, claimingChunk(i));
  // The flood fills the slots before the real delta's META comes, and goes on through it.
  const meta = metaFlood(200);
  let n = 0;
  const flood = async (count: number): Promise<void> => {
    for (const end = n + count; n < end; n++) await send(evil[n % 8]!, meta(n));
    await new Promise((r) => setTimeout(r, 5));
    look();
  };
  await flood(200);
  let done = false;
  const sending = a.sendDelta(DELTA).finally(() => { done = true; });
  while (!done) await flood(20);
  await sending;
  const deadline = Date.now() + 30_000;
  while (got.length === 0 && Date.now() < deadline) { await flood(5); }

  assert.equal(got.length, 1, `the real delta did not arrive: ${JSON.stringify(b.stats)}`);
  assert.ok(Buffer.from(got[0]!.bytes).equals(DELTA), "the real delta arrived corrupted");
  assert.ok(maxUnknown <= 4, `${maxUnknown} transfers of unknown senders open at once (pool of 4)`);
  assert.ok(maxOverBudget <= 0, `a transfer kept ${maxOverBudget} entries of NAK state past its budget`);
  assert.ok(b.stats.transfersEvicted.untrusted > 0 && b.stats.transfersEvicted.trusted === 0, JSON.stringify(b.stats.transfersEvicted));
  assert.equal(b.stats.datagramsDropped.internal_error, 0);
});
