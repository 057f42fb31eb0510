// Overlays on loopback with real UDP sockets: the real 404 KB course delta arrives bit-exact at
// every peer, also through scripted loss, NAK loss, reordering and duplication; repairs several
// peers need go out once; the course's quirks (chunk before META, senders that ignore NAKs, Sprint
// 6.2 listeners) are met as the spec asks.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import { decode, encodeText, type Body } from "./codec.js";
import { Overlay, type DeltaArrival, type OverlayOptions, type OverlayTimings } from "./overlay.js";
import { COURSE_META_COPIES } from "./sender.js";
import { REJECT_REASONS } from "./stats.js";
import { FakeClock } from "../../../test/support/fake-clock.js";
import { FaultyTransport, seeded, type FaultFn } from "../../../test/support/faulty-transport.js";
import { courseFixture } from "../../../test/support/paths.js";
import { until as poll } from "../../../test/support/until.js";

const COURSE_DELTA = readFileSync(courseFixture("delta_v1764008499.pt"));
// Incompressible bytes of the course delta's size: a real delta between DeltaFleet nodes goes
// deflated in a few datagrams, and the repair tests need hundreds of chunks to lose.
const DELTA = (() => {
  const rnd = seeded(1764008499);
  return Buffer.from(Uint8Array.from({ length: COURSE_DELTA.length }, () => Math.floor(rnd() * 256)));
})();
const DELTA_SHA = createHash("sha256").update(DELTA).digest("hex");
const FAST: Partial<OverlayTimings> = {
  binaryAfterMs: 0, syncIntervalMs: 200, tickMs: 20, nakQuietMs: 80, repairQuietMs: 40, nakBackoffMs: 60, nakBackoffMaxMs: 200, nakMaxRounds: 5,
  metaWaitMs: 600, repairCoalesceMs: 40,
};
const LO = "127.0.0.1";

interface Node { ov: Overlay; got: DeltaArrival[]; events: Array<[string, Record<string, unknown>]>; faults?: FaultyTransport }

async function freePorts(n: number): Promise<number[]> {
  const socks = await Promise.all(Array.from({ length: n }, () => bindRaw(0)));
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

function bindRaw(port: number, address = LO): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: "udp4", reuseAddr: true });
    s.once("error", reject);
    s.bind(port, address, () => resolve(s));
  });
}

async function start(t: TestContext, o: Partial<OverlayOptions> & { nodeId: string; port: number }, fate?: FaultFn): Promise<Node> {
  const node: Node = { ov: undefined as unknown as Overlay, got: [], events: [] };
  node.ov = await Overlay.start({
    bindAddress: LO,
    ...o,
    timings: { ...FAST, ...o.timings },
    onDelta: async (d) => { node.got.push(d); },
    onEvent: (ev, f) => node.events.push([ev, f]),
    transport: fate ? FaultyTransport.factory(fate, (f) => { node.faults = f; }) : undefined,
  });
  t.after(() => node.ov.close());
  return node;
}

const until = (what: string, cond: () => boolean, timeoutMs = 15_000): Promise<true> => poll(what, () => cond(), timeoutMs, 10);

/** n overlays on distinct loopback ports, each listing all the others as static peers. */
async function mesh(t: TestContext, n: number, fates: Array<FaultFn | undefined> = []): Promise<Node[]> {
  const ports = await freePorts(n);
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) {
    nodes.push(await start(t, { nodeId: `n${i}`, port: ports[i]!, peers: ports.filter((_, j) => j !== i).map((p) => `${LO}:${p}`) }, fates[i]));
  }
  await until("everyone to know everyone", () => nodes.every((x) => x.ov.peers().length === n - 1));
  return nodes;
}

function assertExact(node: Node): void {
  assert.equal(node.got.length, 1, `${node.ov.nodeId} got ${node.got.length} deltas`);
  assert.equal(node.got[0]!.sha256, DELTA_SHA);
  assert.ok(Buffer.from(node.got[0]!.bytes).equals(DELTA), `${node.ov.nodeId}: bytes differ`);
}

const chunkIdx = (c: Parameters<FaultFn>[0]): number | undefined => (c.packet?.type === "MODEL_CHUNK" ? c.packet.idx : undefined);

test("between DeltaFleet nodes the course's sparse 404 KB delta goes deflated in a few chunks and arrives as the exact file", async (t) => {
  const [a, b] = await mesh(t, 2);
  const sent = await a!.ov.sendDelta(COURSE_DELTA);
  await until("the receiver", () => b!.got.length === 1);
  assert.equal(sent.enc, "deflate");
  assert.ok(sent.wireBytes < COURSE_DELTA.length / 50 && sent.chunks <= 5, `${sent.wireBytes} B in ${sent.chunks} chunks`);
  assert.ok(Buffer.from(b!.got[0]!.bytes).equals(COURSE_DELTA), "the inflated file differs");
  assert.equal(b!.got[0]!.sha256, createHash("sha256").update(COURSE_DELTA).digest("hex"), "the delivered sha256 is the file's");
  assert.equal(sent.sha256, b!.got[0]!.sha256);
  // Incompressible bytes go as they are.
  const plain = await a!.ov.sendDelta(DELTA);
  assert.equal(plain.enc, undefined);
  assert.equal(plain.wireBytes, DELTA.length);
});

test("three overlays: 404 KB reach both others bit-exact in binary frames, one copy each", async (t) => {
  const [a, b, c] = await mesh(t, 3);
  const sent = await a!.ov.sendDelta(DELTA);
  await until("both receivers", () => b!.got.length === 1 && c!.got.length === 1);
  assertExact(b!);
  assertExact(c!);
  assert.equal(b!.got[0]!.version, sent.version);
  assert.equal(b!.got[0]!.from, "n0");
  assert.ok(sent.chunkBytes > 1400, `binary chunks carry ${sent.chunkBytes} B (base64 would carry ~1020)`);
  // One copy per static peer; repairs only for what the kernel dropped under a loaded machine.
  assert.equal(a!.ov.stats.fragmentsSent, 2 * sent.chunks, "one copy per static peer");
  assert.ok(a!.ov.stats.retransmits < sent.chunks / 4, `${a!.ov.stats.retransmits} retransmits on loopback`);
  assert.equal(b!.ov.stats.deltasCompleted, 1);
  assert.deepEqual(b!.ov.peers().find((p) => p.id === "n0")?.announced, [sent.version]);
});

test("lost first fragment, 20 % seeded loss, every third NAK lost: NAK repair completes bit-exact", async (t) => {
  const rnd = seeded(7);
  let firstDropped = false;
  let naks = 0;
  const lossy: FaultFn = (c) => {
    if (c.dir === "in" && chunkIdx(c) === 0 && !firstDropped) { firstDropped = true; return "drop"; }
    if (c.dir === "in" && chunkIdx(c) !== undefined && rnd() < 0.2) return "drop";
    if (c.dir === "out" && c.packet?.type === "CHUNK_NAK" && ++naks % 3 === 0) return "drop";
    return "pass";
  };
  const [a, b] = await mesh(t, 2, [undefined, lossy]);
  await a!.ov.sendDelta(DELTA);
  await until("the lossy receiver", () => b!.got.length === 1, 30_000);
  assertExact(b!);
  assert.ok(firstDropped && b!.faults!.faults.dropped > 10, `only ${b!.faults!.faults.dropped} dropped`);
  assert.ok(b!.ov.stats.naksSent >= 1 && a!.ov.stats.naksReceived >= 1);
  assert.ok(a!.ov.stats.retransmits >= b!.faults!.faults.dropped - naks, "every lost chunk was resent");
  assert.ok(b!.events.some(([ev]) => ev === "nak"));
  assert.ok(a!.events.some(([ev]) => ev === "repaired"));
});

test("reordered and duplicated datagrams: bit-exact, duplicates counted and harmless", async (t) => {
  const rnd = seeded(11);
  const shuffle: FaultFn = (c) => {
    if (c.dir !== "in" || chunkIdx(c) === undefined) return "pass";
    const r = rnd();
    return r < 0.15 ? "dup" : r < 0.5 ? { delayMs: Math.floor(rnd() * 30) } : "pass";
  };
  const [a, b] = await mesh(t, 2, [undefined, shuffle]);
  await a!.ov.sendDelta(DELTA);
  await until("the receiver", () => b!.got.length === 1, 20_000);
  await new Promise((r) => setTimeout(r, 100));   // late copies after completion
  assertExact(b!);
  const dropped = b!.ov.stats.datagramsDropped;
  assert.ok((dropped.duplicate ?? 0) + (dropped.late ?? 0) >= b!.faults!.faults.duplicated - 1,
    `dup ${b!.faults!.faults.duplicated}, counted ${JSON.stringify(dropped)}`);
  assert.ok(b!.faults!.faults.delayed > 10);
});

test("a loopback fleet on ONE shared port (reuse + broadcast 127.255.255.255): chunks several peers lost are resent once, by broadcast", async (t) => {
  const [port] = await freePorts(1);
  const lost = new Set([0, 5, 6, 7, 100, 200]);
  // Each receiver drops the first copy of each lost idx (its own memory per closure).
  const makeDrop = (): FaultFn => {
    const had = new Set<number>();
    return (c) => {
      const i = chunkIdx(c);
      if (c.dir === "in" && i !== undefined && lost.has(i) && !had.has(i)) { had.add(i); return "drop"; }
      return "pass";
    };
  };
  const common = { port: port!, bindAddress: "0.0.0.0", broadcastAddress: "127.255.255.255" };
  const a = await start(t, { ...common, nodeId: "s" });
  const b = await start(t, { ...common, nodeId: "r1" }, makeDrop());
  const c = await start(t, { ...common, nodeId: "r2" }, makeDrop());
  await until("discovery by broadcast", () => [a, b, c].every((x) => x.ov.peers().length === 2));
  const sent = await a.ov.sendDelta(DELTA);
  await until("both receivers", () => b.got.length === 1 && c.got.length === 1, 20_000);
  assertExact(b);
  assertExact(c);
  assert.equal(a.ov.stats.retransmits, lost.size, `${lost.size} chunks lost at both receivers: each resent once, not once per NAK`);
  assert.equal(a.ov.stats.fragmentsSent, sent.chunks, "one broadcast copy for all");
});

test("coded repair: three receivers on one port lose DIFFERENT chunks; the sender's repair datagrams are about the worst receiver's loss, not the sum", async (t) => {
  const [port] = await freePorts(1);
  // Receiver j loses the first copy of three chunks in every block of 32 (FEC_BLOCK_CHUNKS), each
  // receiver different ones: resends would be 3 × 3 a block, parity symbols 3 (one fills a
  // different hole at each receiver).
  const holes = [[1, 2, 3], [10, 11, 12], [20, 21, 22]];
  const makeDrop = (mine: number[]): FaultFn => {
    const had = new Set<number>();
    return (c) => {
      const i = chunkIdx(c);
      if (c.dir === "in" && i !== undefined && mine.includes(i % 32) && !had.has(i)) { had.add(i); return "drop"; }
      return "pass";
    };
  };
  const common = { port: port!, bindAddress: "0.0.0.0", broadcastAddress: "127.255.255.255" };
  const a = await start(t, { ...common, nodeId: "s" });
  const rs: Node[] = [];
  for (let j = 0; j < holes.length; j++) rs.push(await start(t, { ...common, nodeId: `r${j + 1}` }, makeDrop(holes[j]!)));
  await until("discovery by broadcast", () => [a, ...rs].every((x) => x.ov.peers().length === rs.length));
  const sent = await a.ov.sendDelta(DELTA);
  await until("every receiver", () => rs.every((r) => r.got.length === 1), 20_000);
  for (const r of rs) assertExact(r);
  const lostBy = rs.map((r) => r.faults!.faults.dropped);
  const worst = Math.max(...lostBy), sum = lostBy.reduce((x, y) => x + y, 0);
  const repairs = a.ov.stats.retransmits + a.ov.stats.repairSymbols;
  t.diagnostic(`chunks ${sent.chunks}, lost per receiver ${lostBy.join("/")}, repairs ${repairs} (${a.ov.stats.repairSymbols} symbols, ${a.ov.stats.retransmits} resends), ` +
    `recovered ${rs.map((r) => r.ov.stats.chunksRecovered).join("/")}`);
  assert.ok(a.ov.stats.repairSymbols > 0, "no repair symbol went out");
  assert.ok(rs.every((r) => r.ov.stats.chunksRecovered > 0), "a receiver decoded nothing");
  // Exactly the worst loss on a quiet box (27 of 27/27/27); a busy one resends a little more, as for plain resends.
  assert.ok(repairs <= 1.5 * worst && repairs < 0.6 * sum, `${repairs} repair datagrams for a worst loss of ${worst} (sum ${sum})`);
  assert.equal(a.ov.stats.fragmentsSent, sent.chunks, "one broadcast copy for all");
});

/** A raw UDP socket playing a course node, for the quirks the spec lists. */
async function coursePeer(t: TestContext): Promise<{ sock: Socket; port: number; got: Buffer[]; send: (d: "v1" | "sprint62", b: Body, to: number, src?: string) => Promise<void> }> {
  const sock = await bindRaw(0);
  t.after(() => new Promise<void>((r) => sock.close(() => r())));
  const got: Buffer[] = [];
  sock.on("message", (m) => got.push(m));
  let seq = 0;
  const send = (d: "v1" | "sprint62", b: Body, to: number, src = "Pi-1"): Promise<void> =>
    new Promise((r) => sock.send(encodeText(d, { src, seq: ++seq }, b, { ownIp: LO, ownPort: sock.address().port }), to, LO, () => r()));
  return { sock, port: sock.address().port, got, send };
}

function courseChunks(bytes: Uint8Array, size = 727): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += size) out.push(bytes.subarray(o, o + size));
  return out;
}

test("course sender: CHUNK before META still completes once META (with sha256) arrives; never delivered unverified", async (t) => {
  const [port] = await freePorts(1);
  const n = await start(t, { nodeId: "ours", port: port! });
  const py = await coursePeer(t);
  const chunks = courseChunks(DELTA);
  for (let i = 0; i < chunks.length; i++) await py.send("v1", { type: "MODEL_CHUNK", ver: "v1764008499", idx: i, total: chunks.length, data: chunks[i]! }, port!);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(n.got.length, 0, "delivered before any sha256 was known");
  await py.send("v1", { type: "MODEL_META", ver: "v1764008499", size: DELTA.length, chunks: chunks.length, sha256: DELTA_SHA }, port!);
  await until("delivery", () => n.got.length === 1);
  assertExact(n);
  // Without META at all: given up after metaWaitMs, never delivered.
  for (let i = 0; i < chunks.length; i++) await py.send("v1", { type: "MODEL_CHUNK", ver: "v2", idx: i, total: chunks.length, data: chunks[i]! }, port!);
  await until("give-up", () => n.events.some(([ev, f]) => ev === "gave-up" && f.version === "v2"));
  assert.equal(n.got.length, 1);
  assert.ok(py.got.some((m) => /TYPE=CHUNK_NAK\|.*ver=v2/.test(m.toString())), "never asked the sender for META");
});

test("course sender that ignores NAKs: NAKs of at most 25 plain idx, then a bounded give-up, counted", async (t) => {
  const [port] = await freePorts(1);
  const n = await start(t, { nodeId: "ours", port: port! });
  const py = await coursePeer(t);
  const chunks = courseChunks(DELTA);
  await py.send("v1", { type: "PEER_SYNC", ours: false }, port!);
  await py.send("v1", { type: "MODEL_META", ver: "v9", size: DELTA.length, chunks: chunks.length, sha256: DELTA_SHA }, port!);
  for (let i = 0; i < chunks.length; i++) {
    if (i % 10 !== 3) await py.send("v1", { type: "MODEL_CHUNK", ver: "v9", idx: i, total: chunks.length, data: chunks[i]! }, port!);
  }
  const started = Date.now();
  await until("give-up", () => n.ov.stats.transfersGaveUp === 1);
  assert.ok(Date.now() - started < 5_000);
  assert.equal(n.ov.stats.deltasRejected.gave_up, 1);
  assert.equal(n.got.length, 0);
  assert.deepEqual(n.ov.transfers(), []);
  assert.equal(n.ov.bytesInFlight, 0, "the abandoned buffer was freed");
  const naks = py.got.map((m) => decode(m)).flatMap((d) => (d.ok && d.packet.type === "CHUNK_NAK" ? [d.packet] : []));
  assert.ok(naks.length >= 2);
  for (const k of naks) {
    assert.ok(k.missing.length > 0 && k.missing.length <= 25, `a NAK to a course node listed ${k.missing.length} idx`);
    for (const i of k.missing) assert.equal(i % 10, 3);
  }
});

test("a Sprint 6.2 peer is known: it gets well-formed Sprint 6.2 text, never a binary datagram", async (t) => {
  const [port] = await freePorts(1);
  // What left our socket, recorded on its way out: Sprint 6.2 has no repair, so on a busy machine the
  // peer's socket may drop a few of a burst, and what it got alone cannot say every chunk was sent.
  const chunksOut = new Map<string, Set<number>>();
  const record: FaultFn = (c) => {
    if (c.dir === "out" && c.packet?.type === "MODEL_CHUNK") {
      const f = chunksOut.get(c.packet.framing) ?? new Set<number>();
      chunksOut.set(c.packet.framing, f.add(c.packet.idx));
    }
    return "pass";
  };
  const n = await start(t, { nodeId: "ours", port: port! }, record);
  const s62 = await coursePeer(t);
  await s62.send("sprint62", { type: "PEER_SYNC", ip: LO, port: s62.port, ours: false }, port!, "Pi-62");
  await until("the Sprint 6.2 peer in the table", () => n.ov.peers().some((p) => p.id === "Pi-62" && p.dialect === "sprint62"));
  const sent = await n.ov.sendDelta(DELTA);
  assert.deepEqual([...chunksOut.keys()], ["sprint62"], "every chunk went out as Sprint 6.2 text, none as a binary frame");
  assert.equal(chunksOut.get("sprint62")!.size, sent.chunks);
  await until("chunks at the Sprint 6.2 peer", () => s62.got.some((m) => m.toString().startsWith("[MODEL_CHUNK]")));
  await new Promise((r) => setTimeout(r, 300)); // the rest of the burst lands
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  for (const m of s62.got) {
    assert.doesNotThrow(() => utf8.decode(m), "a non-UTF-8 datagram would kill a Sprint 6.2 listener");
    const d = decode(m);
    assert.ok(d.ok && d.packet.framing === "sprint62", `not Sprint 6.2: ${m.toString().slice(0, 60)}`);
  }
  assert.ok(s62.got[0]!.toString().startsWith("[PEER_SYNC]") || s62.got.some((m) => m.toString().startsWith("[MODEL_META]")));
  const firstMeta = s62.got.findIndex((m) => m.toString().startsWith("[MODEL_META]"));
  const firstChunk = s62.got.findIndex((m) => m.toString().startsWith("[MODEL_CHUNK]"));
  assert.ok(firstMeta >= 0 && firstMeta < firstChunk, "META must come before the first CHUNK");
  for (const m of s62.got) assert.ok(m.length <= 1472, `${m.length}-byte datagram`);
});

// A Sprint 6.2 receiver rebuilds its buffer with empty parts on every META and has no NAK: one META
// after its first chunk and the parts before it are gone for good (docs/course-wire.md).
for (const { who, dialect } of [
  { who: "to a known Sprint 6.2 peer (unicast)", dialect: "v1" as const },
  { who: "from a node speaking Sprint 6.2 (broadcast)", dialect: "sprint62" as const },
]) {
  test(`${who}, every Sprint 6.2 META goes before the first chunk, never between chunks`, async (t) => {
    const out: string[] = [];
    const record: FaultFn = (c) => {
      if (c.dir === "out" && c.packet?.framing === "sprint62" && c.packet.type === "MODEL_META") out.push("META");
      if (c.dir === "out" && c.packet?.framing === "sprint62" && c.packet.type === "MODEL_CHUNK") out.push(`C${c.packet.idx}`);
      return "pass";
    };
    const [port] = await freePorts(1);
    const n = await start(t, { nodeId: "ours", port: port!, dialect, broadcastAddress: dialect === "sprint62" ? "127.255.255.255" : undefined }, record);
    if (dialect === "v1") {
      const s62 = await coursePeer(t);
      await s62.send("sprint62", { type: "PEER_SYNC", ip: LO, port: s62.port, ours: false }, port!, "Pi-62");
      await until("the Sprint 6.2 peer in the table", () => n.ov.peers().some((p) => p.id === "Pi-62"));
    }
    const sent = await n.ov.sendDelta(DELTA);
    assert.ok(sent.chunks > 100, `${sent.chunks} chunks`);
    const first = out.indexOf("C0");
    assert.deepEqual(out.slice(0, first), Array(COURSE_META_COPIES).fill("META"));
    assert.equal(out.filter((x) => x.startsWith("C")).length, sent.chunks, "every chunk once");
    assert.equal(out.lastIndexOf("META"), first - 1, `a META after chunk ${out.slice(0, out.lastIndexOf("META")).filter((x) => x.startsWith("C")).length} would empty a Sprint 6.2 receiver's buffer`);
  });
}

test("an overlay speaking Sprint 6.2 delivers to one speaking V=1 (both dialects heard)", async (t) => {
  const [p1, p2] = await freePorts(2);
  const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`], dialect: "sprint62" });
  const b = await start(t, { nodeId: "b", port: p2!, peers: [`${LO}:${p1}`] });
  await until("discovery", () => a.ov.peers().length === 1 && b.ov.peers().length === 1);
  await a.ov.sendDelta(DELTA);
  await until("delivery", () => b.got.length === 1);
  assertExact(b);
});

test("a delta whose bytes do not match META's sha256 is rejected (sha), never delivered", async (t) => {
  const [port] = await freePorts(1);
  const n = await start(t, { nodeId: "ours", port: port! });
  const py = await coursePeer(t);
  const chunks = courseChunks(DELTA.subarray(0, 5000));
  await py.send("v1", { type: "MODEL_META", ver: "vbad", size: 5000, chunks: chunks.length, sha256: DELTA_SHA }, port!);
  for (let i = 0; i < chunks.length; i++) await py.send("v1", { type: "MODEL_CHUNK", ver: "vbad", idx: i, total: chunks.length, data: chunks[i]! }, port!);
  await until("rejection", () => n.ov.stats.deltasRejected.sha === 1);
  assert.equal(n.got.length, 0);
});

test("a delta onDelta reports as already held counts as a duplicate, not as applied (fleet_deltas_merged_total counts merges that ran)", async (t) => {
  const [p1, p2] = await freePorts(2);
  let answer: "applied" | "duplicate" = "duplicate";
  let delivered = 0;
  const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`] });
  const b = await Overlay.start({ nodeId: "b", port: p2!, bindAddress: LO, peers: [`${LO}:${p1}`], timings: FAST,
    onDelta: async () => { delivered++; return answer; } });
  t.after(() => b.close());
  const counted = () => b.stats.deltasApplied + b.stats.deltasRejected.duplicate;

  const first = await a.ov.sendDelta(Buffer.from("a delta b holds already"));
  await until("the first delivery", () => delivered === 1 && counted() === 1);
  assert.equal(b.stats.deltasApplied, 0);
  assert.equal(b.stats.deltasRejected.duplicate, 1);

  answer = "applied";
  const second = await a.ov.sendDelta(Buffer.from("a delta b merges"));
  assert.notEqual(second.version, first.version);
  await until("the second delivery", () => delivered === 2 && counted() === 2);
  assert.equal(b.stats.deltasApplied, 1);
  assert.equal(b.stats.deltasRejected.duplicate, 1);
});

test("onDelta's rejections are counted by reason; a reason not in REJECT_REASONS counts as error, not as a label of its own", async (t) => {
  const [p1, p2] = await freePorts(2);
  const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`] });
  const verdicts: unknown[] = [Object.assign(new Error("tensor of the wrong shape"), { reason: "shape" }),
    Object.assign(new Error("another model"), { reason: "fingerprint" }), new Error("disk full")];
  const b = await Overlay.start({ nodeId: "b", port: p2!, bindAddress: LO, peers: [`${LO}:${p1}`], timings: FAST,
    onDelta: async () => { throw verdicts.shift(); } });
  t.after(() => b.close());
  for (let i = 0; i < 3; i++) await a.ov.sendDelta(DELTA.subarray(i * 1000, i * 1000 + 900));
  await until("three rejections", () => Object.values(b.stats.deltasRejected).reduce((x, y) => x + y, 0) === 3);
  assert.equal(b.stats.deltasRejected.shape, 1);
  assert.equal(b.stats.deltasRejected.error, 2);
  assert.deepEqual(Object.keys(b.stats.deltasRejected).sort(), [...REJECT_REASONS].sort());
});

test("version ids never collide, even for the same bytes in the same millisecond, and stay course-parseable", async (t) => {
  const [p1, p2] = await freePorts(2);
  const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`] });
  const b = await start(t, { nodeId: "b", port: p2!, peers: [`${LO}:${p1}`] });
  const small = new Uint8Array(100);
  const vs = await Promise.all([a.ov.sendDelta(small), a.ov.sendDelta(small), b.ov.sendDelta(small)]);
  assert.equal(new Set(vs.map((v) => v.version)).size, 3);
  for (const v of vs) assert.match(v.version, /^[A-Za-z0-9._-]+$/);
  await until("both of a's at b", () => b.got.length === 2);
});

test("bound to a unicast address, a node still hears its broadcast address; one it cannot listen on is reported, unicast still works", async (t) => {
  const [p1, p2] = await freePorts(2);
  // Linux gives a socket bound to 127.0.0.1 no 127.255.255.255 broadcasts: a second socket hears them.
  const a = await start(t, { nodeId: "a", port: p1! });
  assert.ok(a.events.some(([ev, f]) => ev === "ready" && f.broadcast === "127.255.255.255" && f.hearsBroadcast === true));
  const course = await coursePeer(t);
  course.sock.setBroadcast(true);
  await new Promise<void>((r) => course.sock.send(encodeText("v1", { src: "Pi-1", seq: 1 }, { type: "PEER_SYNC", ours: false }, { ownIp: LO, ownPort: course.port }),
    p1!, "127.255.255.255", () => r()));
  await until("the broadcast PEER_SYNC heard", () => a.ov.peers().some((p) => p.id === "Pi-1"));
  // Not a broadcast address of this host: the node starts, says it is deaf to broadcasts, and works by unicast.
  const b = await start(t, { nodeId: "b", port: p2!, broadcastAddress: "203.0.113.255", peers: [`${LO}:${p1}`] });
  assert.ok(b.events.some(([ev, f]) => ev === "broadcast-unheard" && f.address === "203.0.113.255" && typeof f.error === "string"));
  assert.ok(b.events.some(([ev, f]) => ev === "ready" && f.hearsBroadcast === false));
  await until("unicast discovery", () => b.ov.peers().some((p) => p.id === "a"));
});

test("a peer found by discovery on another port (--port 5001 --peer <us>) gets our deltas by unicast beside the broadcast, also repairs", async (t) => {
  const [p1, p2] = await freePorts(2);
  let lost = 0;
  const lose: FaultFn = (c) => (c.dir === "in" && c.packet?.type === "MODEL_CHUNK" && c.packet.idx % 40 === 7 && lost < 5 ? (lost++, "drop") : "pass");
  const a = await start(t, { nodeId: "a", port: p1! });   // broadcasts to 127.255.255.255:p1
  const b = await start(t, { nodeId: "b", port: p2!, peers: [`${LO}:${p1}`] }, lose);
  await until("discovery", () => a.ov.peers().some((p) => p.id === "b") && b.ov.peers().some((p) => p.id === "a"));
  const sent = await a.ov.sendDelta(DELTA);
  await until("delivery at the other port", () => b.got.length === 1);
  assertExact(b);
  assert.ok(a.events.some(([ev, f]) => ev === "announced" && f.version === sent.version && (f.dests as string[]).includes(`binary:${LO}:${p2}`)));
  assert.equal(lost, 5);
  assert.ok(a.ov.stats.retransmits >= 5);
  await b.ov.sendDelta(DELTA);
  await until("delivery the other way", () => a.got.length === 1);
  assertExact(a);
});

test("an injected clock drives the overlay's timers: PEER_SYNC each syncIntervalMs, a PING after pingAfterMs of silence, the prune after pruneAfterMs", async (t) => {
  const clock = new FakeClock();
  const [port] = await freePorts(1);
  const course = await coursePeer(t);
  const timings = { syncIntervalMs: 5_000, pingAfterMs: 15_000, pruneAfterMs: 30_000, tickMs: 100 };
  const n = await start(t, { nodeId: "ours", port: port!, peers: [`${LO}:${course.port}`], clock, timings });
  const got = (type: string): number => course.got.filter((m) => { const d = decode(m); return d.ok && d.packet.type === type; }).length;
  await course.send("v1", { type: "PEER_SYNC", ours: false }, port!, "Pi-1");
  // One at start, one answering the newly heard peer; no time has passed on the clock.
  await until("two PEER_SYNCs", () => got("PEER_SYNC") === 2);
  clock.advance(timings.pingAfterMs - 100);
  await until("two more PEER_SYNCs", () => got("PEER_SYNC") === 4);
  assert.equal(got("PING"), 0);
  clock.advance(200);
  await until("a PING", () => got("PING") === 1);
  assert.equal(got("PEER_SYNC"), 5);
  assert.equal(n.ov.peers().length, 1);
  clock.advance(timings.pruneAfterMs - timings.pingAfterMs);
  assert.deepEqual(n.ov.peers(), []);
  assert.ok(n.events.some(([ev, f]) => ev === "peer-pruned" && f.id === "Pi-1"));
});

test("liveness: a silent peer is PINGed, its PONG gives an RTT; a peer gone quiet is pruned", async (t) => {
  const [p1, p2] = await freePorts(2);
  const timings = { syncIntervalMs: 60_000, pingAfterMs: 150, pruneAfterMs: 800 };
  const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`], timings });
  const b = await start(t, { nodeId: "b", port: p2!, peers: [`${LO}:${p1}`], timings });
  await until("discovery", () => a.ov.peers().length === 1 && b.ov.peers().length === 1);
  await until("an RTT from PING/PONG", () => typeof a.ov.peers()[0]?.rttMs === "number", 5_000);
  assert.ok(a.ov.peers()[0]!.rttMs! >= 0);
  await b.ov.close();
  await until("a prunes b", () => a.events.some(([ev, f]) => ev === "peer-pruned" && f.id === "b"), 5_000);
  assert.deepEqual(a.ov.peers(), []);
});

for (const { framing, binaryAfterMs, upFront } of [
  // A DeltaFleet receiver asks for a lost META in its NAK: one is enough.
  { framing: "binary frames", binaryAfterMs: 0, upFront: 1 },
  // A course receiver that misses META merges unverified: it gets several before any chunk.
  { framing: "course text", binaryAfterMs: 60_000, upFront: COURSE_META_COPIES },
]) {
  test(`in ${framing}, META goes out ${upFront === 1 ? "once" : `${upFront} times`} before any chunk and once more halfway, never after the last chunk (not even with repairs)`, async (t) => {
    const out: string[] = [];
    const [p1, p2] = await freePorts(2);
    let dropped = 0;
    const record: FaultFn = (c) => {
      if (c.dir === "out" && c.packet?.type === "MODEL_META") out.push("META");
      if (c.dir === "out" && c.packet?.type === "MODEL_CHUNK") out.push(`C${c.packet.idx}`);
      return "pass";
    };
    const lose: FaultFn = (c) => (c.dir === "in" && c.packet?.type === "MODEL_CHUNK" && c.packet.idx % 50 === 1 && dropped++ < 6 ? "drop" : "pass");
    const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`], timings: { binaryAfterMs } }, record);
    const b = await start(t, { nodeId: "b", port: p2!, peers: [`${LO}:${p1}`] }, lose);
    await until("discovery", () => a.ov.peers().length === 1 && b.ov.peers().length === 1);
    const sent = await a.ov.sendDelta(DELTA);
    await until("delivery", () => b.got.length === 1, 10_000);
    assertExact(b);
    assert.deepEqual(out.slice(0, upFront + 1), [...Array(upFront).fill("META"), "C0"]);
    const last = out.indexOf(`C${sent.chunks - 1}`);
    assert.equal(out.filter((x) => x === "META").length, upFront + 1);
    assert.ok(out.lastIndexOf("META") < last, "a META after the last chunk re-announces a version receivers may have completed");
    // Repairs may go out during the first pass (a gap is NAKed as soon as a later chunk shows it).
    assert.ok(a.ov.stats.retransmits >= 6 && out.filter((x) => x.startsWith("C")).length >= sent.chunks + 6, "the repairs went out");
  });
}

test("logs go through a pino child { mod: 'overlay' }, one line per stage, not per chunk", async (t) => {
  const { pino } = await import("pino");
  const { Writable } = await import("node:stream");
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
  const logger = pino({ level: "info" }, sink);
  const [p1, p2] = await freePorts(2);
  const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`], logger });
  const b = await start(t, { nodeId: "b", port: p2!, peers: [`${LO}:${p1}`] });
  await until("discovery", () => a.ov.peers().length === 1);
  const sent = await a.ov.sendDelta(DELTA);
  await until("delivery", () => b.got.length === 1);
  const ours = lines.filter((l) => l.mod === "overlay");
  assert.ok(ours.length > 0 && ours.length === lines.length, "every overlay line carries mod: overlay");
  const evs = ours.map((l) => l.ev);
  for (const ev of ["ready", "peer", "announced", "sent"]) assert.ok(evs.includes(ev), `no ${ev} line: ${evs.join(",")}`);
  assert.ok(ours.length < sent.chunks / 10, `${ours.length} log lines for ${sent.chunks} chunks`);
});

test("a first pass that takes a while logs how far it is: sending n/N, rising, then sent", async (t) => {
  const [p1, p2] = await freePorts(2);
  // 1 MB/s: the 409 KB delta takes ~0.4 s, four progress periods of 100 ms.
  const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`], rateBytesPerSec: 1_000_000, timings: { progressLogMs: 100 } });
  const b = await start(t, { nodeId: "b", port: p2!, peers: [`${LO}:${p1}`] });
  await until("discovery", () => a.ov.peers().length === 1);
  const sent = await a.ov.sendDelta(DELTA);
  const progress = a.events.filter(([ev]) => ev === "sending").map(([, f]) => f);
  assert.ok(progress.length >= 2, `${progress.length} progress lines for a ~0.4 s pass`);
  assert.ok(progress.length < sent.chunks / 10, `${progress.length} progress lines: one per period, not per chunk`);
  for (const [i, f] of progress.entries()) {
    assert.equal(f.version, sent.version);
    assert.equal(f.total, sent.chunks);
    assert.ok((f.sent as number) < sent.chunks && (i === 0 || (f.sent as number) > (progress[i - 1]!.sent as number)), JSON.stringify(progress));
  }
  const evs = a.events.map(([ev]) => ev);
  assert.ok(evs.lastIndexOf("sending") < evs.indexOf("sent"), "progress comes before the line that says all were sent");
  await until("delivery", () => b.got.length === 1);
  assertExact(b);
});

test("before binaryAfterMs of listening, even an all-DeltaFleet fleet gets course text (a Sprint 6.2 node may not have spoken yet)", async (t) => {
  const [p1, p2] = await freePorts(2);
  const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`], timings: { binaryAfterMs: 60_000 } });
  const b = await start(t, { nodeId: "b", port: p2!, peers: [`${LO}:${p1}`] });
  await until("discovery", () => a.ov.peers().length === 1 && a.ov.peers()[0]!.ours);
  const sent = await a.ov.sendDelta(DELTA);
  assert.ok(sent.chunkBytes < 1100, `${sent.chunkBytes}-byte chunks: binary before binaryAfterMs`);
  await until("delivery", () => b.got.length === 1);
  assertExact(b);
});

test("a gap is NAKed and repaired while the first pass still runs (chunks go in idx order: a later one shows the loss)", async (t) => {
  const [p1, p2] = await freePorts(2);
  const order: string[] = [];
  const record: FaultFn = (c) => {
    if (c.dir === "out" && c.packet?.type === "MODEL_CHUNK") order.push(`C${c.packet.idx}`);
    if (c.dir === "in" && c.packet?.type === "CHUNK_NAK") order.push("NAK");
    return "pass";
  };
  let dropped = false;
  const lose: FaultFn = (c) => (c.dir === "in" && chunkIdx(c) === 3 && !dropped ? ((dropped = true), "drop") : "pass");
  // 1 MB/s: the pass takes ~0.4 s, so "before it ends" is not a race against the clock.
  const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`], rateBytesPerSec: 1_000_000 }, record);
  const b = await start(t, { nodeId: "b", port: p2!, peers: [`${LO}:${p1}`] }, lose);
  await until("discovery", () => a.ov.peers().length === 1 && b.ov.peers().length === 1);
  const sent = await a.ov.sendDelta(DELTA);
  await until("delivery", () => b.got.length === 1);
  assertExact(b);
  const last = order.indexOf(`C${sent.chunks - 1}`);
  assert.ok(dropped && order.indexOf("NAK") >= 0 && order.indexOf("NAK") < last, "the NAK came after the last chunk: it waited for the pass to end");
  assert.ok(order.lastIndexOf("C3") < last, "chunk 3 was resent after the pass");
});

test("a lost last chunk: its repeat completes the file without a NAK; both copies lost: asked for after tailQuietMs, not nakQuietMs", async (t) => {
  for (const lostCopies of [1, 2]) {
    const [p1, p2] = await freePorts(2);
    let lost = 0;
    const loseLast: FaultFn = (c) =>
      c.dir === "in" && c.packet?.type === "MODEL_CHUNK" && c.packet.idx === c.packet.total - 1 && lost < lostCopies ? (lost++, "drop") : "pass";
    // A quiet period of 10 minutes: a receiver that waited for it would never finish this test. The
    // tail's quiet period is 1 s, not the default 10 ms, so a busy machine that delays the repeat a
    // few ms behind the last chunk cannot make a NAK the repeat would have made unnecessary.
    const timings = { nakQuietMs: 600_000, repairQuietMs: 600_000, tailQuietMs: 1_000 };
    const a = await start(t, { nodeId: "a", port: p1!, peers: [`${LO}:${p2}`], timings });
    const b = await start(t, { nodeId: "b", port: p2!, peers: [`${LO}:${p1}`], timings }, loseLast);
    await until("discovery", () => a.ov.peers().length === 1 && b.ov.peers().length === 1);
    await a.ov.sendDelta(DELTA);
    await until(`delivery with ${lostCopies} copies of the last chunk lost`, () => b.got.length === 1);
    assertExact(b);
    assert.equal(lost, lostCopies);
    assert.equal(a.ov.stats.tailRepeats, 1);
    if (lostCopies === 1) assert.equal(b.ov.stats.naksSent, 0, "the repeat was enough");
    else assert.ok(b.ov.stats.naksSent >= 1 && a.ov.stats.retransmits >= 1, "the tail was NAKed and resent");
    await a.ov.close();
    await b.ov.close();
  }
});
