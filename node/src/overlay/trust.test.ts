// Hostile traffic buys bounded work and moves nothing: on loopback sockets the tests own, an attacker
// NAKing a taught version gets at most 2 bytes back per byte it sends; 250 forged Sprint 6.2
// PEER_SYNCs naming 250 addresses make the teacher send nothing to them; a forged SRC=Pi-1 from
// another address does not redirect the NAKs meant for Pi-1.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { encodeText, nakRanges, type Body, type Dialect } from "./codec.js";
import { Overlay, type OverlayOptions } from "./overlay.js";
import { UdpTransport, type Transport, type UdpTransportOptions } from "./transport.js";
import { seeded } from "../../../test/support/faulty-transport.js";
import { freeUdpPorts } from "../../../test/support/procs.js";

const LO = "127.0.0.1";
const FAST = { binaryAfterMs: 0, syncIntervalMs: 60_000, tickMs: 20, nakQuietMs: 80, repairQuietMs: 40, nakBackoffMs: 60, nakBackoffMaxMs: 200, metaWaitMs: 600 };
// Incompressible, so a DeltaFleet teacher does not deflate it into a datagram or two.
const DELTA = (() => {
  const rnd = seeded(77);
  return Buffer.from(Uint8Array.from({ length: 120_000 }, () => Math.floor(rnd() * 256)));
})();

/** A socket the test owns, counting what it sends and what reaches it. */
interface Raw { sock: Socket; port: number; got: Buffer[]; bytesIn(): number; bytesOut: number; send(d: Dialect, src: string, b: Body, to: number, ranges?: string): Promise<void> }

async function raw(t: TestContext): Promise<Raw> {
  const sock = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, LO, () => r()));
  t.after(() => new Promise<void>((r) => sock.close(() => r())));
  const got: Buffer[] = [];
  sock.on("message", (m) => got.push(m));
  let seq = 0;
  const me: Raw = {
    sock, port: sock.address().port, got, bytesOut: 0,
    bytesIn: () => got.reduce((n, m) => n + m.length, 0),
    send: (d, src, b, to, ranges) => {
      const buf = encodeText(d, { src, seq: ++seq }, b, { ownIp: LO, ownPort: me.port, ranges });
      me.bytesOut += buf.length;
      return new Promise((r) => sock.send(buf, to, LO, () => r()));
    },
  };
  return me;
}

/** A UDP port free on loopback now (the shared helper, one at a time). */
const freePort = async (): Promise<number> => (await freeUdpPorts(1, LO))[0]!;

/** Every destination the overlay sends to, recorded before the socket sends it. */
function recording(sentTo: string[]): (o: UdpTransportOptions) => Promise<Transport> {
  return async (o) => {
    const inner = await UdpTransport.open(o);
    return {
      send: (buf, port, address) => { sentTo.push(`${address}:${port}`); return inner.send(buf, port, address); },
      onMessage: (fn) => inner.onMessage(fn),
      address: () => inner.address(),
      bufferSizes: () => inner.bufferSizes?.(),
      broadcastListener: () => inner.broadcastListener?.(),
      close: () => inner.close(),
    };
  };
}

async function overlay(t: TestContext, o: Partial<OverlayOptions> & { nodeId: string }): Promise<Overlay> {
  const ov = await Overlay.start({ port: await freePort(), bindAddress: LO, broadcastAddress: "none", ...o, timings: { ...FAST, ...o.timings } });
  t.after(() => ov.close());
  return ov;
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await settle(5);
  }
}

/** A teacher with one honest receiver (a static peer), after it sent DELTA to it. */
async function teacher(t: TestContext, extra: Partial<OverlayOptions> = {}): Promise<{ ov: Overlay; version: string; chunks: number }> {
  const rxPort = await freePort();
  const ov = await overlay(t, { nodeId: "Pi-1", peers: [`${LO}:${rxPort}`], ...extra });
  const rx = await overlay(t, { nodeId: "Pi-2", port: rxPort, peers: [`${LO}:${ov.port}`] });
  await until("the teacher to know its receiver", () => ov.peers().length > 0 && rx.peers().length > 0);
  const sent = await ov.sendDelta(DELTA);
  return { ov, version: sent.version, chunks: sent.chunks };
}

const every = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The attacker NAKs the whole file, in ours (ranges) and the course's form (25-idx lists), five times. */
async function nakEverything(evil: Raw, src: string, to: number, version: string, chunks: number): Promise<void> {
  for (let k = 0; k < 5; k++) {
    await evil.send("v1", src, { type: "CHUNK_NAK", ver: version, missing: [], wantMeta: true }, to, nakRanges(every(chunks)));
    for (let i = 0; i < chunks; i += 25) await evil.send("v1", src, { type: "CHUNK_NAK", ver: version, missing: every(chunks).slice(i, i + 25), wantMeta: false }, to);
    await settle(60);
  }
}

test("NAKs for a taught version from a SRC never heard, or forging a peer's SRC from elsewhere, get at most 2 bytes out per byte in", async (t) => {
  const { ov, version, chunks } = await teacher(t);
  const evil = await raw(t);
  await nakEverything(evil, "evil", ov.port, version, chunks);
  await nakEverything(evil, "Pi-2", ov.port, version, chunks);
  await settle(300);
  const ratio = evil.bytesIn() / evil.bytesOut;
  assert.ok(ratio <= 2, `the attacker sent ${evil.bytesOut} B and got ${evil.bytesIn()} B back (${ratio.toFixed(1)}x)`);
  assert.ok(ov.stats.datagramsDropped.nak_unknown_peer > 0 && ov.stats.datagramsDropped.forged_src > 0, `not counted: ${JSON.stringify(ov.stats.datagramsDropped)}`);
});

test("ids introduced after the announce share one repair pool of 2 copies, however many; past it, 2 bytes out per byte in", async (t) => {
  const { ov, version, chunks } = await teacher(t);
  const evil = await Promise.all([raw(t), raw(t), raw(t)]);
  for (const [k, e] of evil.entries()) await e.send("v1", `evil-${k}`, { type: "PEER_SYNC", ours: true }, ov.port);
  await until("the teacher to know them", () => ov.peers().length === 1 + evil.length);
  for (const [k, e] of evil.entries()) await nakEverything(e, `evil-${k}`, ov.port, version, chunks);
  await settle(300);
  const bytesIn = evil.reduce((n, e) => n + e.bytesIn(), 0);
  const bytesOut = evil.reduce((n, e) => n + e.bytesOut, 0);
  // Two copies, counted with every datagram's header: less than 2.5 times the delta.
  assert.ok(bytesIn <= 2.5 * DELTA.length + 2 * bytesOut, `the attackers sent ${bytesOut} B and got ${bytesIn} B back for a ${DELTA.length}-byte delta`);
  assert.ok(ov.stats.repairsRefused > 0, "nothing counted as refused");
});

test("an honest receiver known when the delta was announced still gets its lost chunks resent", async (t) => {
  const { ov, version, chunks } = await teacher(t, { binary: false });
  // A course node that lost every other chunk: its NAKs are answered within its allowance.
  const py = await raw(t);
  await py.send("v1", "Pi-9", { type: "PEER_SYNC", ours: false }, ov.port);
  await until("the teacher to know Pi-9", () => ov.peers().some((p) => p.id === "Pi-9"));
  const second = await ov.sendDelta(DELTA);
  const lost = every(second.chunks).filter((i) => i % 2 === 0);
  await settle(50);   // past repairHoldBlindMs: a course NAK right after a chunk may have crossed it
  for (let i = 0; i < lost.length; i += 25) await py.send("v1", "Pi-9", { type: "CHUNK_NAK", ver: second.version, missing: lost.slice(i, i + 25), wantMeta: false }, ov.port);
  await until("the resends", () => py.got.filter((m) => m.toString().includes(`TYPE=MODEL_CHUNK`) && m.toString().includes(second.version)).length >= second.chunks + lost.length);
  assert.equal(ov.stats.repairsRefused, 0);
  assert.ok(version !== second.version && chunks === second.chunks);
});

test("250 forged Sprint 6.2 PEER_SYNCs naming 250 addresses: the teacher sends nothing to them, one copy to the forger", async (t) => {
  const sentTo: string[] = [];
  const port = await freePort();
  const ov = await overlay(t, { nodeId: "Pi-1", port, transport: recording(sentTo) });
  const evil = await raw(t);
  const named = every(250).map((i) => `10.77.${i >> 8}.${(i & 255) + 1}:5000`);
  for (let i = 0; i < named.length; i++) {
    const [ip, p] = named[i]!.split(":");
    // Sprint 6.2 PEER_SYNC body: ip,port (encodeText takes them from its options).
    const buf = encodeText("sprint62", { src: `s62-${i}`, seq: i + 1 }, { type: "PEER_SYNC", ours: false }, { ownIp: ip, ownPort: Number(p) });
    evil.bytesOut += buf.length;
    await new Promise<void>((r) => evil.sock.send(buf, port, LO, () => r()));
  }
  await until("the forger heard", () => ov.peers().length > 0);
  await settle(100);
  const sent = await ov.sendDelta(DELTA);
  await settle(200);
  const toNamed = sentTo.filter((d) => named.includes(d));
  assert.equal(toNamed.length, 0, `${toNamed.length} datagrams to addresses a forged body named, e.g. ${toNamed.slice(0, 3).join(", ")}`);
  assert.ok(ov.stats.addressesIgnored >= 250, `${ov.stats.addressesIgnored} bodies ignored`);
  const chunksToEvil = evil.got.filter((m) => m.toString().startsWith("[MODEL_CHUNK]")).length;
  assert.ok(chunksToEvil <= sent.chunks, `${chunksToEvil} chunks to the forger's one socket for a ${sent.chunks}-chunk delta`);
  assert.ok(ov.peers().length <= 4 && ov.stats.peersRefused > 0, `${ov.peers().length} peers from one socket`);
});

test("a forged SRC=Pi-1 PEER_SYNC from another address does not redirect Pi-2's NAKs for Pi-1's transfer", async (t) => {
  const pi1 = await raw(t);
  const evil = await raw(t);
  const pi2 = await overlay(t, { nodeId: "Pi-2" });
  await pi1.send("v1", "Pi-1", { type: "PEER_SYNC", ours: false }, pi2.port);
  await until("Pi-2 to know Pi-1", () => pi2.peers().some((p) => p.id === "Pi-1"));
  await evil.send("v1", "Pi-1", { type: "PEER_SYNC", ours: false }, pi2.port);
  await settle(50);
  // Pi-1 sends a 3-chunk delta and chunk 1 is lost: Pi-2 NAKs it, to Pi-1.
  const parts = [Buffer.from("aaaa"), Buffer.from("bbbb"), Buffer.from("cccc")];
  const { createHash } = await import("node:crypto");
  const sha256 = createHash("sha256").update(Buffer.concat(parts)).digest("hex");
  await pi1.send("v1", "Pi-1", { type: "MODEL_META", ver: "v1764000000", size: 12, chunks: 3, sha256 }, pi2.port);
  for (const i of [0, 2]) await pi1.send("v1", "Pi-1", { type: "MODEL_CHUNK", ver: "v1764000000", idx: i, total: 3, data: parts[i]! }, pi2.port);
  const isNak = (m: Buffer): boolean => m.toString().includes("TYPE=CHUNK_NAK");
  await until("Pi-2's NAK", () => pi1.got.some(isNak) || evil.got.some(isNak));
  await settle(100);
  assert.equal(evil.got.filter(isNak).length, 0, "a NAK went to the forger");
  assert.ok(pi1.got.some(isNak));
  assert.equal(pi2.peers().find((p) => p.id === "Pi-1")?.port, pi1.port, "Pi-1 moved to the forger's address");
  assert.equal(pi2.stats.datagramsDropped.forged_src, 1);
});

test("a Sprint 6.2 node naming its own host in PEER_SYNC is sent to at the port it names; an id rebinds only after it went quiet", async (t) => {
  const ov = await overlay(t, { nodeId: "Pi-1", timings: { pingAfterMs: 300 } });
  const s62 = await raw(t);
  const listening = await raw(t);
  // Sends from one socket, listens on another of the same host (the body's ip is the datagram's).
  const buf = encodeText("sprint62", { src: "Pi-62", seq: 1 }, { type: "PEER_SYNC", ours: false }, { ownIp: LO, ownPort: listening.port });
  await new Promise<void>((r) => s62.sock.send(buf, ov.port, LO, () => r()));
  await until("Pi-62 known", () => ov.peers().some((p) => p.id === "Pi-62"));
  assert.equal(ov.peers().find((p) => p.id === "Pi-62")?.port, listening.port);
  // A node restarted on another port is itself again once its old address has been quiet.
  const moved = await raw(t);
  await moved.send("sprint62", "Pi-62", { type: "PEER_SYNC", ours: false }, ov.port);
  await settle(50);
  assert.equal(ov.stats.datagramsDropped.forged_src, 1, "taken from another source while the first was heard");
  await settle(300);
  await moved.send("sprint62", "Pi-62", { type: "PEER_SYNC", ours: false }, ov.port);
  await until("Pi-62 rebound", () => ov.peers().find((p) => p.id === "Pi-62")?.port === moved.port);
});
