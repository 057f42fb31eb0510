// The processes bench/overlay/profile.ts measures, one role each, so that each one's
// process.cpuUsage(), CPU profile and syscalls are its own: an Overlay sender or receiver, and the
// floor they are compared with: a bare dgram socket sending the same datagrams, one counting them.
// Driven over the fork IPC channel: the parent sends { id, cmd }, the role answers { id, ... };
// an overlay receiver also posts { type: "delivered" } when it holds the verified payload.
//
//   node dist/bench/overlay/profile-roles.js <overlay-tx|overlay-rx|raw-tx|raw-rx> '<json options>'

import { createSocket } from "node:dgram";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { chunkRawBytes, decode, encodeBinaryChunk, ETHERNET_UDP_PAYLOAD_BYTES, isBinaryFrom } from "../../node/src/overlay/codec.js";
import { Overlay } from "../../node/src/overlay/overlay.js";
import { burstBytesFor, RateLimiter } from "../../node/src/overlay/rate-limiter.js";

export type Role = "overlay-tx" | "overlay-rx" | "raw-tx" | "raw-rx";

export interface RoleOptions {
  id: string;
  port: number;
  broadcast: string;
  bytes: number;
  seed: number;
  rateBytesPerSec: number;
  /**
   * raw-tx: send from a socket bound to the receivers' port, as an overlay node does: Linux then
   * loops every broadcast back to it, and it must read its own datagrams.
   */
  shared?: boolean;
  /** overlay roles: time the whole-payload steps (off for the CPU-profile pass: the profile shows unwrapped code). */
  instrument?: boolean;
  /** raw-tx: pace with the overlay's own RateLimiter at rateBytesPerSec (bucket as the overlay's). */
  paced?: boolean;
  /** Send a payload that deflates (sparsePayload) instead of an incompressible one: the overlay then sends it deflated. */
  sparse?: boolean;
}

/** What every role answers to "mark": its CPU so far, the monotonic clock, and its counters. */
export interface Mark {
  cpuUs: number;
  /** process.hrtime in µs: CLOCK_MONOTONIC, the same clock in every process and in .cpuprofile timestamps. */
  hrUs: number;
  peers: number;
  datagramsSent: number;
  bytesSent: number;
  datagramsReceived: number;
  /** Our own broadcasts read back (every socket on the port hears them) and dropped. */
  ownReadBack: number;
  retransmits: number;
  naks: number;
  /** Raw receiver: when its last datagram came (µs, hrUs clock). */
  lastAtUs?: number;
  /** Overlay roles: the whole-payload steps so far. */
  spent?: Spent;
}

/** A sender's answer to "send": when it was called, when the first and last datagram left. */
export interface SendTimes {
  t0Us: number;
  /** "announced": hashed (and deflate tried), META about to go out. */
  announcedUs: number;
  /** The first pass done (overlay "sent"; raw: the last send callback). */
  sentUs: number;
  /** Bytes and datagrams sent by then (the first pass, META included). */
  bytesAtSent: number;
  datagramsAtSent: number;
}

/**
 * CPU µs spent inside the whole-payload steps during the real transfers: node:zlib's deflateRawSync
 * and inflateRawSync, sha256 (createHash's update and digest) and Buffer.concat of many parts (the
 * receiver joining its chunks). Wrapped on the builtins and pushed to the overlay's ESM imports with
 * syncBuiltinESMExports, so the overlay's code runs unchanged; a concat inside zlib counts as zlib.
 */
export interface Spent { sha256Us: number; deflateUs: number; inflateUs: number; concatUs: number }
const spent: Spent = { sha256Us: 0, deflateUs: 0, inflateUs: 0, concatUs: 0 };

function instrumentWholePayloadSteps(): void {
  const require = createRequire(import.meta.url);
  const zlib = require("node:zlib") as Record<string, (...a: unknown[]) => unknown>;
  const crypto = require("node:crypto") as { createHash: (alg: string) => { update: (...a: unknown[]) => unknown; digest: (...a: unknown[]) => unknown } };
  let inside = 0;
  const timedFn = <F extends (...a: never[]) => unknown>(f: F, key: keyof Spent, when: (a: Parameters<F>) => boolean = () => true): F =>
    function (this: unknown, ...a: Parameters<F>) {
      if (inside > 0 || !when(a)) return f.apply(this, a);
      const t = performance.now();
      inside++;
      try { return f.apply(this, a); } finally { inside--; spent[key] += (performance.now() - t) * 1000; }
    } as F;
  zlib.deflateRawSync = timedFn(zlib.deflateRawSync!, "deflateUs");
  zlib.inflateRawSync = timedFn(zlib.inflateRawSync!, "inflateUs");
  const concat = Buffer.concat;
  Buffer.concat = timedFn(concat, "concatUs", (a) => a[0].length > 64);
  const createHash = crypto.createHash;
  crypto.createHash = (alg: string) => {
    const h = createHash(alg);
    if (alg === "sha256") { h.update = timedFn(h.update.bind(h), "sha256Us"); h.digest = timedFn(h.digest.bind(h), "sha256Us"); }
    return h;
  };
  syncBuiltinESMExports();
}

const hrUs = (): number => Number(process.hrtime.bigint() / 1000n);
const cpuUs = (): number => { const u = process.cpuUsage(); return u.user + u.system; };

/** Seeded, so every run sends the same bytes (the LCG of bench/sync's incompressible payload). */
export function seededPayload(bytes: number, seed: number): Buffer {
  let x = seed >>> 0;
  const b = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 24;
  return b;
}

/** A payload that deflates, like a delta: zeros with one seeded byte in a hundred set. */
export function sparsePayload(bytes: number, seed: number): Buffer {
  const sparse = Buffer.alloc(bytes);
  const noise = seededPayload(Math.ceil(bytes / 100), seed);
  for (let i = 0; i < noise.length && i * 100 < bytes; i++) sparse[i * 100] = noise[i]!;
  return sparse;
}

const payloadOf = (o: RoleOptions): Buffer => (o.sparse ? sparsePayload : seededPayload)(o.bytes, o.seed);

/**
 * What inflate would cost a receiver for a payload of this size that does deflate (the default one
 * does not, so its transfers never inflate): the sparse one.
 */
export interface InflateCost { inflateUs: number; deflatedBytes: number }

function inflateCost(bytes: number, seed: number): InflateCost {
  const sparse = sparsePayload(bytes, seed);
  const deflated = deflateRawSync(sparse);
  const xs = Array.from({ length: 5 }, () => { const t = performance.now(); inflateRawSync(deflated); return (performance.now() - t) * 1000; }).sort((a, b) => a - b);
  return { inflateUs: xs[2]!, deflatedBytes: deflated.length };
}

type Handler = (m: Record<string, unknown>) => Promise<unknown> | unknown;

function serve(handlers: Record<string, Handler>): void {
  process.on("message", (m: Record<string, unknown>) => {
    void (async () => {
      const h = handlers[m.cmd as string];
      const reply = h ? await h(m) : { error: `no command ${String(m.cmd)}` };
      process.send!({ id: m.id, ...(reply as object) });
      if (m.cmd === "exit") process.exit(0);
    })();
  });
  process.send!({ type: "ready" });
}

async function overlayRole(role: "overlay-tx" | "overlay-rx", o: RoleOptions): Promise<void> {
  const payload = role === "overlay-tx" ? payloadOf(o) : undefined;
  if (o.instrument) instrumentWholePayloadSteps();
  let times: Partial<SendTimes> = {};
  let ov: Overlay | undefined;
  ov = await Overlay.start({
    nodeId: o.id, port: o.port, bindAddress: "0.0.0.0", broadcastAddress: o.broadcast, rateBytesPerSec: o.rateBytesPerSec,
    timings: { binaryAfterMs: 0 },
    onDelta: async () => { process.send!({ type: "delivered", atUs: hrUs() }); },
    onEvent: (ev) => {
      if (ev === "announced") times.announcedUs = hrUs();
      if (ev === "sent") Object.assign(times, { sentUs: hrUs(), bytesAtSent: ov!.stats.bytesSent, datagramsAtSent: ov!.stats.datagramsSent });
    },
  });
  const mark = (): Mark => ({ cpuUs: cpuUs(), hrUs: hrUs(), peers: ov!.peers().length, datagramsSent: ov!.stats.datagramsSent,
    bytesSent: ov!.stats.bytesSent, datagramsReceived: ov!.stats.datagramsReceived, ownReadBack: ov!.stats.datagramsDropped.own,
    retransmits: ov!.stats.retransmits, naks: ov!.stats.naksSent, spent: { ...spent } });
  serve({
    mark,
    "inflate-cost": () => inflateCost(o.bytes, o.seed),
    send: async () => {
      times = { t0Us: hrUs() };
      await ov!.sendDelta(payload!);
      return times;
    },
    exit: async () => { await ov!.close(); return {}; },
  });
}

/**
 * The floor: the datagrams an overlay sender puts on the wire for this payload (binary frames of the
 * same sizes), encoded before the clock starts, sent back to back from a bare socket, each send
 * awaited as the overlay's transport does. No pacing, no hashing, no protocol. With `shared` and
 * `paced`, the floor plus one thing an overlay sender does, each measured on its own.
 */
async function rawTx(o: RoleOptions): Promise<void> {
  const sock = createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((r) => sock.bind(o.shared ? o.port : 0, "0.0.0.0", () => r()));
  try { sock.setRecvBufferSize(4 << 20); } catch { /* kernel cap */ }
  const self = Buffer.from(o.id, "latin1");
  let readBack = 0;
  // What the overlay does with its own broadcasts: read, recognise, drop.
  sock.on("message", (buf) => { if (isBinaryFrom(buf, self)) readBack++; });
  const limiter = o.paced ? new RateLimiter({ bytesPerSec: o.rateBytesPerSec, burstBytes: burstBytesFor(o.rateBytesPerSec, ETHERNET_UDP_PAYLOAD_BYTES) }) : undefined;
  sock.setBroadcast(true);
  try { sock.setSendBufferSize(4 << 20); } catch { /* kernel cap */ }
  const payload = payloadOf(o);
  const ver = "d1764000000000-s0-0123456789ab";
  const raw = chunkRawBytes("binary", o.id, ver, payload.length, ETHERNET_UDP_PAYLOAD_BYTES);
  const total = Math.ceil(payload.length / raw);
  const frames = Array.from({ length: total }, (_, i) => encodeBinaryChunk({ src: o.id, seq: i + 1 }, ver, i, total, payload.subarray(i * raw, (i + 1) * raw)));
  let sent = 0, bytes = 0;
  serve({
    mark: (): Mark => ({ cpuUs: cpuUs(), hrUs: hrUs(), peers: 0, datagramsSent: sent, bytesSent: bytes, datagramsReceived: 0, ownReadBack: readBack, retransmits: 0, naks: 0 }),
    send: async (): Promise<SendTimes> => {
      const t0Us = hrUs();
      for (const f of frames) {
        if (limiter) await limiter.take(f.length, "bulk");
        await new Promise<void>((r, j) => sock.send(f, o.port, o.broadcast, (e) => (e ? j(e) : r())));
        sent++; bytes += f.length;
      }
      const sentUs = hrUs();
      return { t0Us, announcedUs: t0Us, sentUs, bytesAtSent: bytes, datagramsAtSent: sent };
    },
    exit: () => { sock.close(); return {}; },
  });
}

/** The floor's receiver: reads and counts; after "decode-on", also decodes each datagram (codec.ts, CRC-32 included). */
async function rawRx(o: RoleOptions): Promise<void> {
  const sock = createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((r) => sock.bind(o.port, "0.0.0.0", () => r()));
  try { sock.setRecvBufferSize(4 << 20); } catch { /* kernel cap */ }
  let received = 0, lastAtUs = 0, decoding = false, bad = 0;
  sock.on("message", (buf) => {
    received++;
    lastAtUs = hrUs();
    if (decoding && !decode(buf).ok) bad++;
  });
  serve({
    "decode-on": () => { decoding = true; return {}; },
    "decode-off": () => { decoding = false; return { bad }; },
    mark: (): Mark => ({ cpuUs: cpuUs(), hrUs: hrUs(), peers: 0, datagramsSent: 0, bytesSent: 0, datagramsReceived: received, ownReadBack: 0, retransmits: 0, naks: 0, lastAtUs }),
    exit: () => { sock.close(); return {}; },
  });
}

const [role, json] = process.argv.slice(2) as [Role, string];
const opts = JSON.parse(json) as RoleOptions;
if (role === "overlay-tx" || role === "overlay-rx") void overlayRole(role, opts);
else if (role === "raw-tx") void rawTx(opts);
else if (role === "raw-rx") void rawRx(opts);
else throw new Error(`profile-roles: no role ${String(role)}`);
