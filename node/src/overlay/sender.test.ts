// Repair at the sender on a fake clock and a fake wire: NAKs pooled into one broadcast resend per
// chunk, NAKs that crossed a resend on the wire (told by their `heard` SEQ) not answered twice, the
// last chunk repeated so lost tails show at once, chunks not yet sent left to the first pass.

import { test } from "node:test";
import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import { decode } from "./codec.js";
import { Sender, type Dest, type RepairSymbol, type SenderTimings, type SendPlan } from "./sender.js";
import { recover } from "./fec/reed-solomon.js";
import { newStats } from "./stats.js";
import { FakeClock } from "../../../test/support/fake-clock.js";

const TIMINGS: SenderTimings = { retentionMs: 60_000, repairCoalesceMs: 2, progressLogMs: 60_000, repairHoldMs: 250, repairHoldBlindMs: 10 };
const BROADCAST: Dest = { address: "10.0.0.255", port: 5000, framing: "binary", broadcast: true };
/** Receivers as a NAK names them (binary: they read binary frames). */
const rx = (n: number): Dest => ({ address: `10.0.0.${n}`, port: 5000, framing: "binary", broadcast: false });
/** The receivers a delta is meant for (they get a repair allowance), as their NAKs come from. */
const AUDIENCE = [rx(1), rx(2), rx(3), { address: "127.0.0.1", port: 5001 }].map((d) => `${d.address}:${d.port}`);
const BINARY: SendPlan = { sizing: ["binary"], dests: [BROADCAST], audience: AUDIENCE };

interface Sent { kind: string; idx: number; to: string; seq: number }

/** `coded`: the wire sends repair symbols (as the overlay's does); without, NAKs get resends only. */
function rig(o: { coded?: boolean } = {}) {
  const clock = new FakeClock();
  const stats = newStats();
  const sent: Sent[] = [];
  const symbols: RepairSymbol[] = [];
  const announced: string[] = [];
  let seq = 0;
  /** A first pass stops before this idx until release() (to NAK while it runs). */
  let holdAt = Infinity;
  let release = (): void => {};
  const s = new Sender({
    nodeId: "s",
    maxDatagramBytes: 200,   // small chunks: a 1,500-byte delta is 10 binary ones
    sendMeta: async () => { seq++; },
    sendChunk: async (d, _t, idx, kind) => {
      if (kind === "first" && idx === holdAt) await new Promise<void>((r) => { release = r; });
      sent.push({ kind, idx, to: d.broadcast ? "*" : `${d.address}`, seq: ++seq });
      if (kind === "repair") stats.retransmits++;   // as the overlay counts
      return seq;
    },
    ...(o.coded ? { sendRepairSymbol: async (d: Dest, _t: unknown, sym: RepairSymbol) => {
      symbols.push(sym);
      sent.push({ kind: "symbol", idx: sym.block, to: d.broadcast ? "*" : d.address, seq: ++seq });
      stats.repairSymbols++;
      return seq;
    } } : {}),
    sendRepaired: async (d, _t, idx) => { sent.push({ kind: `repaired ${idx.join(",")}`, idx: -1, to: d.broadcast ? "*" : d.address, seq: ++seq }); },
    canBroadcast: (f) => (f === "binary" ? BROADCAST : undefined),
    hearsBroadcast: (d) => d.port === BROADCAST.port,
    event: (ev, f) => { if (ev === "announced") announced.push(f.version as string); },
  }, TIMINGS, stats, clock);
  const seqOf = (kind: string, idx: number): number => sent.find((x) => x.kind === kind && x.idx === idx)!.seq;
  /** Lets the coalescing window run out and the repair loop finish. */
  const window = async (): Promise<void> => { clock.advance(TIMINGS.repairCoalesceMs); for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); };
  return { s, clock, stats, sent, symbols, announced, seqOf, window, hold: (i: number) => { holdAt = i; }, release: () => release() };
}

// Incompressible (deflate would shrink a regular pattern to one chunk between DeltaFleet nodes).
const delta = randomBytes(1500);

test("NAKs from several receivers for one chunk inside the window give one broadcast resend", async () => {
  const g = rig();
  const d = await g.s.send(delta, BINARY);
  assert.ok(d.chunks >= 8, `${d.chunks} chunks`);
  const heard = g.seqOf("first", 4);   // each heard chunk 4, so knows 3 was lost
  for (const n of [1, 2, 3]) g.s.onNak(d.version, [3], false, rx(n), heard);
  await g.window();
  assert.deepEqual(g.sent.filter((x) => x.kind === "repair"), [{ kind: "repair", idx: 3, to: "*", seq: g.seqOf("repair", 3) }]);
  assert.equal(g.stats.retransmits, 1);
});

test("a receiver on another port, which our broadcast does not reach, gets its repairs unicast; a broadcast resend never counts against its NAK", async () => {
  const g = rig();
  const off: Dest = { address: "127.0.0.1", port: 5001, framing: "binary", broadcast: false };
  const d = await g.s.send(delta, { sizing: ["binary"], dests: [BROADCAST, off], audience: AUDIENCE });
  const offSeq = (idx: number): number => g.sent.find((x) => x.kind === "first" && x.idx === idx && x.to === off.address)!.seq;
  g.s.onNak(d.version, [3], false, off, offSeq(4));
  await g.window();
  assert.deepEqual(g.sent.filter((x) => x.kind === "repair").map((x) => [x.idx, x.to]), [[3, off.address]]);
  // Chunk 5 resent by broadcast for a receiver on our port; the one on 5001 asks for it, having
  // heard only up to its own copy of 6 (older than that resend): the resend did not reach it.
  g.s.onNak(d.version, [5], false, rx(1), g.seqOf("first", 6));
  await g.window();
  g.s.onNak(d.version, [5], false, off, offSeq(6));
  await g.window();
  assert.deepEqual(g.sent.filter((x) => x.kind === "repair").map((x) => [x.idx, x.to]), [[3, off.address], [5, "*"], [5, off.address]]);
  assert.equal(g.stats.repairsSkipped, 0);
});

test("a NAK that crossed the resend (heard older than its SEQ) is not answered; one that heard past it is", async () => {
  const g = rig();
  const d = await g.s.send(delta, BINARY);
  g.s.onNak(d.version, [3], false, rx(1), g.seqOf("first", 4));
  await g.window();
  const resend = g.seqOf("repair", 3);
  g.s.onNak(d.version, [3], false, rx(2), g.seqOf("first", 4));   // sent before rx 2 could hear the resend
  await g.window();
  assert.equal(g.stats.retransmits, 1, "the copy on its way answers it");
  assert.equal(g.stats.repairsSkipped, 1);
  g.s.onNak(d.version, [3], false, rx(2), resend + 1);   // heard what came after the resend: it was lost
  await g.window();
  assert.equal(g.stats.retransmits, 2);
});

test("a NAK without heard waits only for a copy younger than repairHoldBlindMs", async () => {
  const g = rig();
  const d = await g.s.send(delta, BINARY);
  g.s.onNak(d.version, [3], false, rx(1), g.seqOf("first", 4));
  await g.window();
  g.s.onNak(d.version, [3], false, rx(1));
  await g.window();
  assert.equal(g.stats.retransmits, 1, "2 ms after the copy: it may be on its way");
  g.clock.advance(TIMINGS.repairHoldBlindMs);
  g.s.onNak(d.version, [3], false, rx(1));
  await g.window();
  assert.equal(g.stats.retransmits, 2);
});

test("during the first pass a NAK is answered at once; one for chunks not sent yet is left to the pass", async () => {
  const g = rig();
  g.hold(6);
  const sending = g.s.send(delta, BINARY);
  await new Promise((r) => setImmediate(r));
  g.s.onNak(g.announced[0]!, [2, 7, 8], false, rx(1), g.seqOf("first", 5));
  await g.window();
  assert.deepEqual(g.sent.filter((x) => x.kind === "repair").map((x) => x.idx), [2], "7 and 8 come with the pass");
  assert.ok(!g.sent.some((x) => x.idx === 7), "the repair went out before the pass reached chunk 7");
  g.release();
  await sending;
  assert.equal(g.sent.filter((x) => x.idx === 7).length, 1);
});

test("a NAK for ranges=0-999999 costs the sender at most the chunks the transfer has", async () => {
  const g = rig();
  const d = await g.s.send(delta, BINARY);
  const nak = decode(Buffer.from(`V=1|SRC=r|SEQ=1|TYPE=CHUNK_NAK|TS=1|BODY=ver=${d.version};ranges=0-999999`));
  assert.ok(nak.ok && nak.packet.type === "CHUNK_NAK" && nak.packet.ranges);
  // Count every idx the sender draws from the NAK: the budget is the transfer's chunks, each once.
  const ranges = nak.packet.ranges;
  let touched = 0;
  const below = ranges.below.bind(ranges);
  ranges.below = function* (end: number) { for (const i of below(end)) { touched++; yield i; } };
  g.s.onNak(d.version, ranges, false, rx(1), g.seqOf("repeat", d.chunks - 1) + 1);
  await g.window();
  assert.equal(touched, d.chunks, `touched ${touched} idx for a ${d.chunks}-chunk transfer`);
  assert.equal(g.sent.filter((x) => x.kind === "repair").length, d.chunks, "every chunk resent once");
});

test("a binary transfer's last chunk goes out twice (text: once); resends nothing follows are listed in a REPAIRED marker, sent twice", async () => {
  const g = rig();
  const d = await g.s.send(delta, BINARY);
  const last = d.chunks - 1;
  assert.deepEqual(g.sent.filter((x) => x.idx === last).map((x) => x.kind), ["first", "repeat"]);
  g.s.onNak(d.version, [2, 5], false, rx(1), g.seqOf("repeat", last));
  await g.window();
  assert.deepEqual(g.sent.slice(-4).map((x) => `${x.kind} ${x.to}`), ["repair *", "repair *", "repaired 2,5 *", "repaired 2,5 *"],
    "a receiver that lost resend 5 learns it from the marker, and hears its later SEQ, so its re-ask is answered at once");
  const text = rig();
  const v1: Dest = { ...BROADCAST, framing: "v1" };
  const t = await text.s.send(delta, { sizing: ["v1"], dests: [v1] });
  assert.equal(text.sent.filter((x) => x.idx === t.chunks - 1).length, 1, "a course node takes a copy after completion as a new buffer");
});

test("coded repair: receivers that lost different chunks of a block get as many parity symbols as the worst lost, and they decode", async () => {
  const g = rig({ coded: true });
  const big = randomBytes(6000);   // ~40 chunks: block 0 (k = 32) and block 1 (the rest)
  const d = await g.s.send(big, BINARY);
  assert.ok(d.chunks > 32 && d.chunks < 64, `${d.chunks} chunks`);
  const heard = g.seqOf("first", d.chunks - 1);
  g.s.onNak(d.version, [1, 2], false, rx(1), heard);
  g.s.onNak(d.version, [3, 4], false, rx(2), heard);
  g.s.onNak(d.version, [5], false, rx(3), heard);
  await g.window();
  assert.equal(g.stats.retransmits, 0, "no resends");
  assert.deepEqual(g.symbols.map((x) => [x.block, x.k, x.symbol]), [[0, 32, 32], [0, 32, 33]], "2 symbols (the worst), not 5 resends");
  // Receiver 1's view: every chunk of block 0 but 1 and 2, and the two symbols: exact.
  const chunks = Array.from({ length: d.chunks }, (_, i) => big.subarray(i * d.chunkBytes, (i + 1) * d.chunkBytes));
  const held = new Map<number, Uint8Array>(chunks.slice(0, 32).map((c, i) => [i, c] as [number, Uint8Array]).filter(([i]) => i !== 1 && i !== 2));
  for (const x of g.symbols) held.set(x.symbol, x.data);
  const got = recover(32, held, [1, 2], d.chunkBytes)!;
  assert.deepEqual([got.get(1), got.get(2)], [chunks[1], chunks[2]].map((c) => Buffer.from(c!)));
  // A NAK that crossed the symbols (heard before them) asks for nothing more; one that heard past them, lost them: fresh ones.
  g.s.onNak(d.version, [1, 2], false, rx(1), heard);
  g.s.onNak(d.version, [3], false, rx(2), heard);
  await g.window();
  assert.equal(g.symbols.length, 2);
  assert.ok(g.stats.repairsSkipped >= 2);
  g.s.onNak(d.version, [1, 2], false, rx(1), g.sent.at(-1)!.seq);
  g.s.onNak(d.version, [3], false, rx(2), g.sent.at(-1)!.seq);
  await g.window();
  assert.deepEqual(g.symbols.slice(2).map((x) => x.symbol), [34, 35], "fresh symbol indices: a receiver may hold the old ones");
});

test("coded repair only where it saves datagrams: the same chunks lost everywhere, or one receiver alone on unicast, get resends", async () => {
  const g = rig({ coded: true });
  const d = await g.s.send(randomBytes(6000), BINARY);
  const heard = g.seqOf("first", d.chunks - 1);
  for (const n of [1, 2, 3]) g.s.onNak(d.version, [7, 8], false, rx(n), heard);
  await g.window();
  assert.deepEqual(g.sent.filter((x) => x.kind === "repair").map((x) => [x.idx, x.to]), [[7, "*"], [8, "*"]]);
  assert.equal(g.symbols.length, 0);
});

test("coded repair never reaches a course peer: a text transfer's NAKs are answered with plain resends", async () => {
  const g = rig({ coded: true });
  const course: Dest = { address: "10.0.0.9", port: 5000, framing: "v1", broadcast: true };
  const d = await g.s.send(randomBytes(6000), { sizing: ["v1"], dests: [course], audience: ["10.0.0.7:5000", "10.0.0.8:5000"] });
  g.clock.advance(TIMINGS.repairHoldBlindMs + 1);   // course NAKs carry no heard: past the blind hold, the copies were lost
  g.s.onNak(d.version, [1, 2], false, { address: "10.0.0.7", port: 5000, framing: "v1", broadcast: false });
  g.s.onNak(d.version, [3], false, { address: "10.0.0.8", port: 5000, framing: "v1", broadcast: false });
  await g.window();
  assert.equal(g.symbols.length, 0);
  assert.deepEqual(g.sent.filter((x) => x.kind === "repair").map((x) => x.idx).sort(), [1, 2, 3]);
});
