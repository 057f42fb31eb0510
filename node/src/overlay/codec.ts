// Every byte the overlay puts on or takes off the wire, in one place: the course's two text dialects
// (V=1 and Sprint 6.2, see docs/course-wire.md) and DeltaFleet's binary chunk framing.
// decode() never throws: bad input gives { ok: false, reason } and the caller counts the reason.

import { crc32 } from "node:zlib";
import { isWireToken } from "../util/ids.js";

// ---- wire constants ---------------------------------------------------------------------------

/** Largest UDP payload that fits one Ethernet frame: 1500 MTU - 20 IPv4 header - 8 UDP header. */
export const ETHERNET_UDP_PAYLOAD_BYTES = 1472;
/** Course receivers read with recvfrom(65535); IPv4 UDP cannot carry more than this anyway. */
export const MAX_DATAGRAM_BYTES = 65_507;
/** Seq numbers wrap below this so a chunk header never grows past its budgeted digits. */
export const SEQ_LIMIT = 10_000_000_000;
/** Digits budgeted for TS in a header: unix ms has 13 digits until the year 2286. */
const TS_DIGITS = 13;
/** Per-packet number limits (counts beyond these are hostile, not large). */
export const MAX_CHUNKS_ON_WIRE = 1_000_000;
export const MAX_SIZE_ON_WIRE = 2 ** 40;
/** The course receiver sends at most 25 idx per NAK; we follow that in plain lists for course peers. */
export const COURSE_NAK_MAX_IDX = 25;
/**
 * Pieces (`a-b` ranges and plain idx) one NAK or REPAIRED may list; more is a hostile packet. Ours
 * fit one 1,472-byte datagram (at most ~736 pieces), course NAKs list at most 25 idx. Budget: decoding
 * one costs O(pieces) and holds at most this many ranges, whatever idx they span: ranges are never
 * expanded on decode, only by the sender of the transfer, clipped to the chunks it has (IdxRanges.below).
 */
export const MAX_NAK_PIECES = 1_024;

// Binary framing (DeltaFleet peers only). First byte 0xDF: not '[' (0x5B) nor 'V' (0x56), so both
// course parsers reject it, but it is not UTF-8: never sent where a Sprint 6.2 listener could hear.
export const BIN_MAGIC = 0xdf;
export const BIN_VERSION = 1;
export const BIN_TYPE_CHUNK = 1;
/** magic, version, type, srcLen | src | seq u32 | verLen | ver | idx u32 | total u32 | data | crc32 u32 */
export const BIN_FIXED_OVERHEAD_BYTES = 4 + 4 + 1 + 4 + 4 + 4;
/**
 * A repair symbol (coded repair, DeltaFleet binary transfers only; fec/reed-solomon.ts): parity
 * symbol `symbol` of block `block` of the transfer's chunks. magic, version, type, srcLen | src |
 * seq u32 | verLen | ver | block u32 | k u8 | symbol u8 | tailLen u16 | payload | crc32 u32.
 * The same 8 bytes after ver as a chunk's idx and total, so a symbol as long as a chunk fits the
 * same datagram. The payload is as long as the block's longest chunk (a shorter last chunk counts as
 * zero-padded); `tailLen` is the length of the transfer's last chunk, so a recovered last chunk is
 * cut right without META. The transfer's total is not carried: the receiver checks k against it.
 */
export const BIN_TYPE_REPAIR = 2;
export const BIN_REPAIR_FIXED_OVERHEAD_BYTES = BIN_FIXED_OVERHEAD_BYTES;
/**
 * Chunks per coded block: block b holds chunks 32b .. 32b+31 (the last block fewer). A block's
 * parity symbols answer the worst receiver's holes in it, so bigger blocks share more (at 5 % loss,
 * receivers' holes rarely fall in the same 8 chunks, often in the same 32); but a receiver decodes
 * at k × holes × chunk bytes table lookups (32 × 32 × 1,419: ~5 ms worst, a whole block lost) and the
 * sender encodes a symbol at k × chunk bytes (~0.2–0.4 ms at 32). 32 keeps both small, fits k in a
 * byte, and leaves 224 parity symbol indices per block (k + parity ≤ 256), more than any loss rate
 * the overlay recovers from needs, so a block never runs out of fresh symbols in practice.
 */
export const FEC_BLOCK_CHUNKS = 32;
/** The chunks of block `block` of a `total`-chunk transfer: [first, first + k). */
export function fecBlock(block: number, total: number): { first: number; k: number } {
  const first = block * FEC_BLOCK_CHUNKS;
  return { first, k: Math.max(0, Math.min(FEC_BLOCK_CHUNKS, total - first)) };
}

/** A binary frame carries the sender's SEQ modulo this (u32); it wraps, so compare with seqBefore. */
export const BIN_SEQ_MODULUS = 2 ** 32;

/**
 * Our range NAKs carry `heard=<u32>`: the SEQ of the last binary chunk the receiver got from that
 * sender. A sender that resent a chunk with a later SEQ knows the NAK crossed the resend on the wire
 * and need not send it again (course senders ignore the key; course receivers never send it).
 */
export const NAK_HEARD_KEY = "heard";

/**
 * META keys for a payload sent deflated (DeltaFleet receivers only: a transfer is deflated only when
 * every destination takes binary frames, so no course node is sent one): `enc=deflate` says the
 * reassembled bytes (whose sha256 is `sha256`) are raw DEFLATE, and `rawsha256` is the sha256 of the
 * delta file they inflate to. A receiver that knows no such `enc` drops the META.
 */
export const META_ENC_KEY = "enc";
export const META_RAW_SHA_KEY = "rawsha256";
export const ENC_DEFLATE = "deflate";

/** Capability keys we add to a V=1 PEER_SYNC body; course nodes ignore unknown keys. */
export const CAP_KEY = "df";
export const CAP_VALUE = "1";

/**
 * What a DeltaFleet node says about itself beside `df=1` in its V=1 PEER_SYNC (the node program
 * fills it: e.g. `log=<count>.<set hash>`), and the small key/value bodies of CONTROL datagrams.
 * Keys and values are restricted so they never hold the wire's separators (`|`, `;`, `=`) and a
 * hostile peer cannot make us keep much: at most SAYS_MAX_KEYS keys of SAYS_MAX_VALUE_CHARS.
 */
export const SAYS_KEY = /^[a-z][a-z0-9]{0,15}$/;
export const SAYS_VALUE = /^[A-Za-z0-9._:,*+~-]{1,1024}$/;
export const SAYS_MAX_KEYS = 16;
export const SAYS_MAX_VALUE_CHARS = 1024;
/** PEER_SYNC keys of the wire itself, never part of what a node says. */
const SYNC_OWN_KEYS = new Set(["ip", "port", CAP_KEY]);

/**
 * META key naming what a DeltaFleet-only transfer carries (`kind=entry`, `kind=index`): absent, the
 * transfer is a delta file any course node could merge. Transfers with a kind go only where binary
 * frames or unicast to our own nodes go (Router.payloadPlan), never to a course node.
 */
export const META_KIND_KEY = "kind";
export const KIND_VALUE = /^[a-z][a-z0-9-]{0,31}$/;

export const TYPES = ["PEER_SYNC", "PING", "PONG", "MODEL_META", "MODEL_CHUNK", "CHUNK_NAK", "REPAIRED", "CONTROL", "REPAIR_SYMBOL"] as const;
/**
 * CONTROL (V=1 text, DeltaFleet only, unicast to one of our nodes): `kind=<k>` and a few more
 * key/values (SAYS_KEY / SAYS_VALUE), the node program's requests to a peer (what entries it
 * holds, send me these). Course nodes never get one, and would drop an unknown TYPE.
 */
/**
 * REPAIRED (V=1 text, DeltaFleet only: sent where binary frames go, so no course node hears it):
 * `ver=<v>;ranges=<idx resent since the last one>`, broadcast after a batch of resends nothing
 * follows. Datagrams arrive in order, so a receiver still missing a listed chunk it asked for lost
 * that resend and asks again at once, instead of one repair round trip later.
 */
export const REPAIRED_MAX_RANGES_CHARS = 1_000;
export type PacketType = (typeof TYPES)[number];
export type Dialect = "v1" | "sprint62";
export type Framing = Dialect | "binary";

// ---- packets -----------------------------------------------------------------------------------

export interface Header { framing: Framing; src: string; seq: number; ts: number }
export type Body =
  /** says: what a DeltaFleet node tells about itself (V=1 only; SAYS_KEY / SAYS_VALUE). */
  | { type: "PEER_SYNC"; ip?: string; port?: number; ours: boolean; says?: Record<string, string> }
  | { type: "PING"; t0: number }
  | { type: "PONG"; t0: number }
  | { type: "MODEL_META"; ver: string; chunks: number; size?: number; sha256?: string; enc?: typeof ENC_DEFLATE; rawSha256?: string; kind?: string }
  | { type: "MODEL_CHUNK"; ver: string; idx: number; total: number; data: Uint8Array }
  /** missing: course plain list or our ranges, expanded; wantMeta: our receivers asking for META. */
  /**
   * missing: a course plain list as sent; ranges (decoded only): everything asked for, plain list and
   * our `ranges=` together, unexpanded. wantMeta: our receivers asking for META.
   */
  | { type: "CHUNK_NAK"; ver: string; missing: number[]; ranges?: IdxRanges; wantMeta: boolean; heard?: number }
  /** idx: the resent chunks (encoding: a list; decoded: IdxRanges, unexpanded). */
  | { type: "REPAIRED"; ver: string; idx: readonly number[] | IdxRanges }
  | { type: "CONTROL"; kind: string; body: Record<string, string> }
  /** A coded repair symbol (binary only, BIN_TYPE_REPAIR): parity symbol `symbol` (≥ k) of chunk block `block`. */
  | { type: "REPAIR_SYMBOL"; ver: string; block: number; k: number; symbol: number; tailLen: number; data: Uint8Array };
export type Packet = Header & Body;

/** Why decode() refuses a datagram; each is a datagram drop reason (stats.ts DROP_REASONS). */
export const DECODE_FAILURES = [
  "empty", "oversize", "not_utf8", "malformed", "crc", "version", "no_src", "bad_src",
  "unknown_type", "bad_number", "bad_ver", "bad_base64", "bad_sha", "bad_enc", "idx_range", "nak_range",
  // a repair symbol whose k, symbol index or lengths do not fit its block (codec decodeRepair)
  "bad_repair",
] as const;
export type DecodeFailure = (typeof DECODE_FAILURES)[number];
export type Decoded = { ok: true; packet: Packet } | { ok: false; reason: DecodeFailure };

const fail = (reason: DecodeFailure): Decoded => ({ ok: false, reason });

// ---- decoding ----------------------------------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true });
const DECIMAL = /^[0-9]{1,16}$/;
const HEX64 = /^[0-9a-f]{64}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/** Any datagram in any of our framings, auto-detected by its first byte. */
export function decode(buf: Uint8Array): Decoded {
  if (buf.length === 0) return fail("empty");
  if (buf.length > MAX_DATAGRAM_BYTES) return fail("oversize");
  if (buf[0] === BIN_MAGIC) return decodeBinary(buf);
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    return fail("not_utf8");
  }
  if (text.startsWith("[")) return decodeSprint62(text);
  if (text.startsWith("V=")) return decodeV1(text);
  return fail("malformed");
}

function decimal(s: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (s === undefined || !DECIMAL.test(s)) return undefined;
  const n = Number(s);
  return n <= max ? n : undefined;
}

/** `k=v;k=v`, each split on its first `=`; pieces without `=` skipped (as the course does). */
export function parseKv(body: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of body.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && !m.has(part.slice(0, eq))) m.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return m;
}

function decodeV1(text: string): Decoded {
  const f = new Map<string, string>();
  for (const part of text.split("|")) {
    const eq = part.indexOf("=");
    if (eq > 0 && !f.has(part.slice(0, eq))) f.set(part.slice(0, eq), part.slice(eq + 1));
  }
  if (f.get("V") !== "1") return fail("version");
  const src = f.get("SRC");
  if (!src) return fail("no_src");
  if (!isWireToken(src)) return fail("bad_src");
  const seq = decimal(f.get("SEQ")) ?? 0;
  const ts = decimal(f.get("TS")) ?? 0;
  const type = f.get("TYPE");
  if (!type) return fail("malformed");
  const kv = parseKv(f.get("BODY") ?? "");
  const head: Header = { framing: "v1", src, seq, ts };
  switch (type) {
    case "PEER_SYNC": {
      const ip = kv.get("ip");
      const ours = kv.get(CAP_KEY) === CAP_VALUE;
      const says = ours ? saysOf(kv, SYNC_OWN_KEYS) : undefined;
      return ok(head, { type, ip: ip && IPV4.test(ip) ? ip : undefined, port: decimal(kv.get("port"), 65535),
        ours, ...(says && Object.keys(says).length > 0 ? { says } : {}) });
    }
    case "PING":
    case "PONG": {
      const t0 = decimal(kv.get("t0"));
      return t0 === undefined ? fail("bad_number") : ok(head, { type, t0 });
    }
    case "MODEL_META":
    case "MODEL_CHUNK":
      return decodeModelBody(head, type, kv);
    case "CHUNK_NAK":
      return decodeNak(head, kv);
    case "REPAIRED": {
      const ver = kv.get("ver");
      if (!ver || !isWireToken(ver)) return fail("bad_ver");
      const idx = IdxRanges.parse(kv.get("ranges") ?? "", []);
      return idx ? ok(head, { type, ver, idx }) : fail("nak_range");
    }
    case "CONTROL": {
      const kind = kv.get(META_KIND_KEY);
      if (!kind || !KIND_VALUE.test(kind)) return fail("malformed");
      return ok(head, { type, kind, body: saysOf(kv, new Set([META_KIND_KEY])) });
    }
    default:
      return fail("unknown_type");
  }
}

/** The keys and values of a body that a node may say (SAYS_KEY / SAYS_VALUE), at most SAYS_MAX_KEYS; the rest ignored. */
function saysOf(kv: Map<string, string>, skip: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of kv) {
    if (skip.has(k) || !SAYS_KEY.test(k) || !SAYS_VALUE.test(v)) continue;
    if (++n > SAYS_MAX_KEYS) break;
    out[k] = v;
  }
  return out;
}

function decodeSprint62(text: string): Decoded {
  const bar = text.lastIndexOf("|");
  if (bar < 0) return fail("malformed");
  const head = text.slice(0, bar);
  if (text.slice(bar + 1) !== crcHex(head)) return fail("crc");
  const parts = splitN(head, "|", 6);
  if (parts.length !== 7 || !parts[0]!.endsWith("]")) return fail("malformed");
  const type = parts[0]!.slice(1, -1);
  const src = parts[1]!;
  if (!src) return fail("no_src");
  if (!isWireToken(src)) return fail("bad_src");
  const h: Header = { framing: "sprint62", src, seq: decimal(parts[2]) ?? 0, ts: decimal(parts[3]) ?? 0 };
  const body = parts[6]!;
  const items = body.split(",");
  switch (type) {
    case "PEER_SYNC": {
      if (items.length < 2) return fail("malformed");
      const port = decimal(items[1], 65535);
      return ok(h, { type, ip: IPV4.test(items[0]!) ? items[0] : undefined, port, ours: false });
    }
    case "PING": {
      const t0 = decimal(items[1]);
      return t0 === undefined ? fail("bad_number") : ok(h, { type, t0 });
    }
    case "PONG": {
      const t0 = decimal(items[2]);
      return t0 === undefined ? fail("bad_number") : ok(h, { type, t0 });
    }
    case "MODEL_META":
    case "MODEL_CHUNK":
      return decodeModelBody(h, type, parseKv(body));
    case "CHUNK_NAK":
      return decodeNak(h, parseKv(body));   // not course Sprint 6.2, but harmless to understand
    default:
      return fail("unknown_type");
  }
}

function decodeModelBody(h: Header, type: "MODEL_META" | "MODEL_CHUNK", kv: Map<string, string>): Decoded {
  const ver = kv.get("ver");
  if (!ver || !isWireToken(ver)) return fail("bad_ver");
  if (type === "MODEL_META") {
    const chunks = decimal(kv.get("chunks"), MAX_CHUNKS_ON_WIRE);
    if (chunks === undefined || chunks < 1) return fail("bad_number");
    const sizeText = kv.get("size");
    const size = sizeText === undefined ? undefined : decimal(sizeText, MAX_SIZE_ON_WIRE);
    if (sizeText !== undefined && size === undefined) return fail("bad_number");
    const sha = kv.get("sha256");
    if (sha && !HEX64.test(sha)) return fail("bad_sha");
    const kindText = kv.get(META_KIND_KEY);
    if (kindText !== undefined && (!KIND_VALUE.test(kindText) || !sha)) return fail("malformed");
    const kind = kindText === undefined ? {} : { kind: kindText };
    const enc = kv.get(META_ENC_KEY);
    if (enc === undefined) return ok(h, { type, ver, chunks, size, sha256: sha ? sha.toLowerCase() : undefined, ...kind });
    if (enc !== ENC_DEFLATE) return fail("bad_enc");
    const rawSha = kv.get(META_RAW_SHA_KEY);
    if (!sha || !rawSha || !HEX64.test(rawSha)) return fail("bad_sha");
    return ok(h, { type, ver, chunks, size, sha256: sha.toLowerCase(), enc, rawSha256: rawSha.toLowerCase(), ...kind });
  }
  const idx = decimal(kv.get("idx"), MAX_CHUNKS_ON_WIRE);
  const total = decimal(kv.get("total"), MAX_CHUNKS_ON_WIRE);
  if (idx === undefined || total === undefined || total < 1) return fail("bad_number");
  if (idx >= total) return fail("idx_range");
  const b64 = kv.get("b64") ?? "";
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) return fail("bad_base64");
  return ok(h, { type, ver, idx, total, data: new Uint8Array(Buffer.from(b64, "base64")) });
}

function decodeNak(h: Header, kv: Map<string, string>): Decoded {
  const ver = kv.get("ver");
  if (!ver || !isWireToken(ver)) return fail("bad_ver");
  const missing: number[] = [];
  // Course: comma-separated decimals, anything else skipped.
  for (const piece of (kv.get("missing") ?? "").split(",")) {
    const n = decimal(piece.trim(), MAX_CHUNKS_ON_WIRE);
    if (n === undefined) continue;
    if (missing.length >= MAX_NAK_PIECES) return fail("nak_range");
    missing.push(n);
  }
  // Ours: `ranges=a-b,c,...` (course senders ignore the key).
  const ranges = IdxRanges.parse(kv.get("ranges") ?? "", missing);
  if (!ranges) return fail("nak_range");
  const heardText = kv.get(NAK_HEARD_KEY);
  const heard = heardText === undefined ? undefined : decimal(heardText, BIN_SEQ_MODULUS - 1);
  if (heardText !== undefined && heard === undefined) return fail("bad_number");
  return ok(h, { type: "CHUNK_NAK", ver, missing, ranges, wantMeta: kv.get("meta") === "1", ...(heard === undefined ? {} : { heard }) });
}

/**
 * A set of chunk idx kept as sorted, disjoint ranges: what a NAK or REPAIRED asks about, at a cost
 * bounded by its text (MAX_NAK_PIECES), not by the idx it spans. `ranges=0-999999` is one range; only
 * below() expands it, and only up to the bound its caller gives (the chunks a transfer has).
 */
export class IdxRanges {
  /** lo[i]..hi[i] inclusive, ascending, neither overlapping nor adjacent. */
  private constructor(private readonly lo: number[], private readonly hi: number[]) {}

  /**
   * `a-b,c,...` plus single idx `extra`, merged; undefined when malformed or more than
   * MAX_NAK_PIECES pieces in all.
   */
  static parse(text: string, extra: readonly number[]): IdxRanges | undefined {
    const pairs: Array<[number, number]> = extra.map((i) => [i, i]);
    for (const piece of text.split(",")) {
      if (!piece) continue;
      if (pairs.length >= MAX_NAK_PIECES) return undefined;
      const [a, b] = piece.split("-", 2);
      const lo = decimal(a, MAX_CHUNKS_ON_WIRE);
      const hi = b === undefined ? lo : decimal(b, MAX_CHUNKS_ON_WIRE);
      if (lo === undefined || hi === undefined || hi < lo) return undefined;
      pairs.push([lo, hi]);
    }
    return IdxRanges.merge(pairs);
  }

  /** The ranges of a list of idx (any order, duplicates allowed). */
  static of(idx: Iterable<number>): IdxRanges {
    return IdxRanges.merge([...idx].map((i): [number, number] => [i, i]));
  }

  private static merge(pairs: Array<[number, number]>): IdxRanges {
    pairs.sort((x, y) => x[0] - y[0]);
    const lo: number[] = [], hi: number[] = [];
    for (const [a, b] of pairs) {
      const last = hi.length - 1;
      if (last >= 0 && a <= hi[last]! + 1) hi[last] = Math.max(hi[last]!, b);
      else { lo.push(a); hi.push(b); }
    }
    return new IdxRanges(lo, hi);
  }

  /** Ranges held (what this costs, whatever it spans). */
  get pieces(): number {
    return this.lo.length;
  }

  has(idx: number): boolean {
    let a = 0, b = this.lo.length - 1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (idx < this.lo[m]!) b = m - 1;
      else if (idx > this.hi[m]!) a = m + 1;
      else return true;
    }
    return false;
  }

  /** Each idx below `end`, ascending, once: at most `end` of them, however much the ranges span. */
  *below(end: number): Generator<number> {
    for (let r = 0; r < this.lo.length && this.lo[r]! < end; r++) {
      for (let i = this.lo[r]!, last = Math.min(this.hi[r]!, end - 1); i <= last; i++) yield i;
    }
  }

  /** `0-5,9`: the wire text. */
  toString(): string {
    return this.lo.map((a, r) => (a === this.hi[r] ? String(a) : `${a}-${this.hi[r]}`)).join(",");
  }
}

/** SRC, SEQ and VER of a binary frame and where its body starts; one object reused, since every receiver decodes every chunk on the LAN. */
const head = { src: "", seq: 0, ver: "", end: 0 };

/** Reads the head shared by chunk and repair frames into `head`; `body` bytes must follow VER before the CRC. */
function readBinaryHead(b: Buffer, body: number): DecodeFailure | undefined {
  let o = 3;
  const srcLen = b[o++]!;
  if (o + srcLen + 4 + 1 > b.length - 4) return "malformed";
  head.src = b.toString("latin1", o, o + srcLen);
  o += srcLen;
  if (!isWireToken(head.src)) return "bad_src";
  head.seq = b.readUInt32BE(o); o += 4;
  const verLen = b[o++]!;
  if (o + verLen + body > b.length - 4) return "malformed";
  head.ver = b.toString("latin1", o, o + verLen);
  o += verLen;
  if (!isWireToken(head.ver)) return "bad_ver";
  head.end = o;
  return undefined;
}

function decodeBinary(buf: Uint8Array): Decoded {
  if (buf.length < BIN_FIXED_OVERHEAD_BYTES + 2) return fail("malformed");
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.readUInt32BE(b.length - 4) !== (crc32(b.subarray(0, b.length - 4)) >>> 0)) return fail("crc");
  if (b[1] !== BIN_VERSION) return fail("version");
  if (b[2] === BIN_TYPE_REPAIR) return decodeRepair(b);
  if (b[2] !== BIN_TYPE_CHUNK) return fail("unknown_type");
  const bad = readBinaryHead(b, 8);
  if (bad) return fail(bad);
  const { src, seq, ver } = head;
  let o = head.end;
  const idx = b.readUInt32BE(o); o += 4;
  const total = b.readUInt32BE(o); o += 4;
  if (total < 1 || total > MAX_CHUNKS_ON_WIRE) return fail("bad_number");
  if (idx >= total) return fail("idx_range");
  // A view, not a copy: a received datagram has a buffer of its own (node allocates one per message),
  // so holding it in a reassembly map holds no more than the datagram. Copying cost every receiver
  // as much as the CRC, for every chunk on the LAN.
  const data = new Uint8Array(b.buffer, b.byteOffset + o, b.length - 4 - o);
  // Built directly, not through ok(): object spread costs more than the rest of this function, and
  // every receiver runs it for every chunk broadcast on the LAN.
  return { ok: true, packet: { framing: "binary", src, seq, ts: 0, type: "MODEL_CHUNK", ver, idx, total, data } };
}

/**
 * A repair symbol, checked as far as the frame alone allows: a block a transfer can have, k of 1..32
 * (FEC_BLOCK_CHUNKS), a parity symbol index (k..255), a last-chunk length within the payload. That k
 * is the block's own is checked by the receiver against the transfer's total (drop `bad_repair`).
 */
function decodeRepair(b: Buffer): Decoded {
  if (b.length < BIN_REPAIR_FIXED_OVERHEAD_BYTES + 2) return fail("malformed");
  // block, k, symbol, tailLen and at least one payload byte
  const bad = readBinaryHead(b, 8 + 1);
  if (bad) return fail(bad);
  const { src, seq, ver } = head;
  let o = head.end;
  const block = b.readUInt32BE(o); o += 4;
  const k = b[o++]!;
  const symbol = b[o++]!;
  const tailLen = b.readUInt16BE(o); o += 2;
  if (block * FEC_BLOCK_CHUNKS >= MAX_CHUNKS_ON_WIRE) return fail("idx_range");
  const len = b.length - 4 - o;
  if (k < 1 || k > FEC_BLOCK_CHUNKS || symbol < k || tailLen < 1 || tailLen > len) return fail("bad_repair");
  const data = new Uint8Array(b.buffer, b.byteOffset + o, len);
  return { ok: true, packet: { framing: "binary", src, seq, ts: 0, type: "REPAIR_SYMBOL", ver, block, k, symbol, tailLen, data } };
}

/**
 * Is this a binary frame whose SRC is `src` (latin1 bytes)? Lets a node drop its own broadcasts,
 * which Linux loops back to every socket on the port, without decoding them.
 */
export function isBinaryFrom(buf: Uint8Array, src: Uint8Array): boolean {
  if (buf.length < BIN_FIXED_OVERHEAD_BYTES + src.length || buf[0] !== BIN_MAGIC || buf[3] !== src.length) return false;
  for (let i = 0; i < src.length; i++) if (buf[4 + i] !== src[i]) return false;
  return true;
}

function ok(h: Header, body: Body): Decoded {
  return { ok: true, packet: { ...h, ...body } as Packet };
}

function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let from = 0;
  while (out.length < n) {
    const i = s.indexOf(sep, from);
    if (i < 0) break;
    out.push(s.slice(from, i));
    from = i + 1;
  }
  out.push(s.slice(from));
  return out;
}

function crcHex(s: string): string {
  return (crc32(Buffer.from(s, "utf8")) >>> 0).toString(16).padStart(8, "0");
}

// ---- encoding ----------------------------------------------------------------------------------

export interface EncodeHeader { src: string; seq: number; ts?: number }

function fmtKv(kv: Record<string, string | number | undefined>): string {
  return Object.entries(kv).filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => `${k}=${v}`).join(";");
}

/** Body text of a packet in a text dialect (Sprint 6.2 control bodies are comma lists). */
function bodyText(d: Dialect, p: Body, ownIp: string, ownPort: number): string {
  switch (p.type) {
    case "PEER_SYNC":
      return d === "v1"
        ? fmtKv({ ip: p.ip ?? ownIp, port: p.port ?? ownPort, [CAP_KEY]: p.ours ? CAP_VALUE : undefined, ...(p.ours ? checkedSays(p.says) : {}) })
        : `${p.ip ?? ownIp},${p.port ?? ownPort}`;
    case "PING":
      return d === "v1" ? fmtKv({ t0: p.t0 }) : `${ownIp},${p.t0}`;
    case "PONG":
      return d === "v1" ? fmtKv({ t0: p.t0 }) : `${ownIp},ok,${p.t0}`;
    case "MODEL_META":
      return fmtKv({ ver: p.ver, size: p.size, chunks: p.chunks, sha256: p.sha256, [META_ENC_KEY]: p.enc, [META_RAW_SHA_KEY]: p.rawSha256, [META_KIND_KEY]: p.kind });
    case "CONTROL":
      if (!KIND_VALUE.test(p.kind)) throw new Error(`CONTROL kind ${JSON.stringify(p.kind)} is not ${KIND_VALUE}`);
      return fmtKv({ [META_KIND_KEY]: p.kind, ...checkedSays(p.body) });
    case "MODEL_CHUNK":
      return fmtKv({ ver: p.ver, idx: p.idx, total: p.total }) + ";b64=" + Buffer.from(p.data).toString("base64");
    case "CHUNK_NAK":
      return fmtKv({ ver: p.ver, missing: p.missing.join(",") || undefined, meta: p.wantMeta ? "1" : undefined });
    case "REPAIRED":
      return fmtKv({ ver: p.ver, ranges: p.idx instanceof IdxRanges ? p.idx.toString() : nakRanges(p.idx) });
    case "REPAIR_SYMBOL":
      throw new Error("codec: a repair symbol is binary only (encodeRepairSymbol); course peers get plain resends");
  }
}

/** What we say must decode as said: a key or value outside the rules is a bug of ours, thrown. */
function checkedSays(says: Record<string, string> | undefined): Record<string, string> {
  if (!says) return {};
  const keys = Object.keys(says);
  if (keys.length > SAYS_MAX_KEYS) throw new Error(`at most ${SAYS_MAX_KEYS} keys may be said, not ${keys.length}`);
  for (const k of keys) {
    if (!SAYS_KEY.test(k) || SYNC_OWN_KEYS.has(k) || k === META_KIND_KEY) throw new Error(`key ${JSON.stringify(k)} may not be said`);
    if (!SAYS_VALUE.test(says[k]!)) throw new Error(`value of ${k} is not ${SAYS_VALUE}`);
  }
  return says;
}

/**
 * One datagram in a text dialect. ownIp/ownPort fill PEER_SYNC and Sprint 6.2 control bodies.
 * `rangesText` replaces the plain missing list of a NAK for DeltaFleet receivers (see nakRanges).
 */
export function encodeText(d: Dialect, h: EncodeHeader, p: Body, opts: { ownIp?: string; ownPort?: number; ranges?: string } = {}): Buffer {
  const ts = h.ts ?? Date.now();
  let body = bodyText(d, p, opts.ownIp ?? "127.0.0.1", opts.ownPort ?? 5000);
  if (p.type === "CHUNK_NAK" && opts.ranges !== undefined) {
    body = fmtKv({ ver: p.ver, ranges: opts.ranges || undefined, meta: p.wantMeta ? "1" : undefined, [NAK_HEARD_KEY]: p.heard });
  }
  if (d === "v1") return Buffer.from(`V=1|SRC=${h.src}|SEQ=${h.seq}|TYPE=${p.type}|TS=${ts}|BODY=${body}`, "utf8");
  const head = `[${p.type}]|${h.src}|${h.seq}|${ts}|0|3|${body}`;
  return Buffer.from(`${head}|${crcHex(head)}`, "utf8");
}

/** A DeltaFleet binary MODEL_CHUNK (raw payload, CRC-32 trailer). */
export function encodeBinaryChunk(h: EncodeHeader, ver: string, idx: number, total: number, data: Uint8Array): Buffer {
  const src = Buffer.from(h.src, "latin1");
  const v = Buffer.from(ver, "latin1");
  const b = Buffer.allocUnsafe(BIN_FIXED_OVERHEAD_BYTES + src.length + v.length + data.length);
  let o = 0;
  b[o++] = BIN_MAGIC; b[o++] = BIN_VERSION; b[o++] = BIN_TYPE_CHUNK; b[o++] = src.length;
  o += src.copy(b, o);
  b.writeUInt32BE(h.seq >>> 0, o); o += 4;
  b[o++] = v.length;
  o += v.copy(b, o);
  b.writeUInt32BE(idx, o); o += 4;
  b.writeUInt32BE(total, o); o += 4;
  b.set(data, o); o += data.length;
  b.writeUInt32BE(crc32(b.subarray(0, o)) >>> 0, o);
  return b;
}

/** A DeltaFleet repair symbol (BIN_TYPE_REPAIR; see there for the layout). */
export function encodeRepairSymbol(h: EncodeHeader, p: { ver: string; block: number; k: number; symbol: number; tailLen: number; data: Uint8Array }): Buffer {
  const src = Buffer.from(h.src, "latin1");
  const v = Buffer.from(p.ver, "latin1");
  const b = Buffer.allocUnsafe(BIN_REPAIR_FIXED_OVERHEAD_BYTES + src.length + v.length + p.data.length);
  let o = 0;
  b[o++] = BIN_MAGIC; b[o++] = BIN_VERSION; b[o++] = BIN_TYPE_REPAIR; b[o++] = src.length;
  o += src.copy(b, o);
  b.writeUInt32BE(h.seq >>> 0, o); o += 4;
  b[o++] = v.length;
  o += v.copy(b, o);
  b.writeUInt32BE(p.block, o); o += 4;
  b[o++] = p.k; b[o++] = p.symbol;
  b.writeUInt16BE(p.tailLen, o); o += 2;
  b.set(p.data, o); o += p.data.length;
  b.writeUInt32BE(crc32(b.subarray(0, o)) >>> 0, o);
  return b;
}

/** Is SEQ a sent before b (both u32 as in binary frames; wraps like TCP sequence numbers)? */
export function seqBefore(a: number, b: number): boolean {
  const d = (b - a + BIN_SEQ_MODULUS) % BIN_SEQ_MODULUS;
  return d > 0 && d < BIN_SEQ_MODULUS / 2;
}

/** `0-5,9,11-20`: the shortest text for a sorted list of idx. */
export function nakRanges(sorted: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(",");
}

// ---- chunk sizing ------------------------------------------------------------------------------

/**
 * Raw bytes per chunk so that every MODEL_CHUNK datagram of this transfer fits maxDatagramBytes.
 *
 * Text dialects: the datagram is a fixed header plus the body keys plus base64 of the payload.
 *   V=1:  `V=1|SRC=<src>|SEQ=<10 digits>|TYPE=MODEL_CHUNK|TS=<13 digits>|BODY=ver=<ver>;idx=<d>;total=<d>;b64=`
 *   S6.2: `[MODEL_CHUNK]|<src>|<10 digits>|<13 digits>|0|3|ver=<ver>;idx=<d>;total=<d>;b64=` + `|` + 8 hex
 * with d = digits of the chunk count (idx < total has no more). Base64 turns every 3 raw bytes into 4
 * characters, so raw = floor((max - overhead) / 4) * 3. Example: src "Pi-1", ver "v1764008499",
 * a 409,477-byte delta (401 chunks, 3 digits): V=1 overhead = 44 header + 10 SEQ + 13 TS + 38 body
 * keys = 105 B; (1472 - 105) / 4 = 341 base64 groups = 1023 raw bytes, a datagram of at most 1469 B.
 * (The course's 1024-byte chunks make 1474-byte datagrams: 2 over.)
 * Binary: overhead = 21 fixed bytes + src + ver, payload raw, so raw = max - overhead.
 * The digits of the count depend on raw, so we iterate until they agree.
 */
export function chunkRawBytes(framing: Framing, src: string, ver: string, size: number, maxDatagramBytes: number): number {
  let digits = 1;
  for (;;) {
    let raw: number;
    if (framing === "binary") {
      raw = maxDatagramBytes - BIN_FIXED_OVERHEAD_BYTES - src.length - ver.length;
    } else {
      const seq = String(SEQ_LIMIT - 1).length;
      const keys = `ver=${ver};idx=${"9".repeat(digits)};total=${"9".repeat(digits)};b64=`;
      const overhead = framing === "v1"
        ? `V=1|SRC=${src}|SEQ=|TYPE=MODEL_CHUNK|TS=|BODY=`.length + seq + TS_DIGITS + keys.length
        : `[MODEL_CHUNK]|${src}|||0|3|`.length + seq + TS_DIGITS + keys.length + 1 + 8;
      raw = Math.floor((maxDatagramBytes - overhead) / 4) * 3;
    }
    if (raw < 1) throw new Error(`codec: a ${maxDatagramBytes}-byte datagram leaves no room for chunk data (src ${src}, ver ${ver}); raise maxDatagramBytes`);
    const total = Math.max(1, Math.ceil(size / raw));
    if (String(total - 1).length <= digits && String(total).length <= digits) return raw;
    digits++;
  }
}
