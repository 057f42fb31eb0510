// The wire codec: course datagrams exactly as the spec writes them decode to what they say, our
// encodings round-trip in every framing, chunks fit one Ethernet frame, and no input makes decode throw.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chunkRawBytes, decode, encodeBinaryChunk, encodeRepairSymbol, encodeText, fecBlock, FEC_BLOCK_CHUNKS, ETHERNET_UDP_PAYLOAD_BYTES, IdxRanges, MAX_NAK_PIECES, nakRanges, SEQ_LIMIT, seqBefore,
  type Body, type Packet } from "./codec.js";
import { seeded } from "../../../test/support/faulty-transport.js";

const SHA = "0acba2bd5fd426c4b47a8934afee57e961568757674dab75e30ce8cf1ac2dbef";

function ok(text: string | Uint8Array): Packet {
  const d = decode(typeof text === "string" ? Buffer.from(text) : text);
  assert.ok(d.ok, `did not decode (${d.ok ? "" : d.reason}): ${String(text).slice(0, 120)}`);
  return d.packet;
}

function reason(text: string | Uint8Array): string {
  const d = decode(typeof text === "string" ? Buffer.from(text) : text);
  assert.equal(d.ok, false, `decoded but should not: ${String(text).slice(0, 120)}`);
  return d.ok ? "" : d.reason;
}

test("course V=1 datagrams decode as the spec describes them", () => {
  const sync = ok("V=1|SRC=Pi-1|SEQ=1|TYPE=PEER_SYNC|TS=1764008499000|BODY=ip=127.0.0.1;port=5000");
  assert.deepEqual(sync, { framing: "v1", src: "Pi-1", seq: 1, ts: 1764008499000, type: "PEER_SYNC", ip: "127.0.0.1", port: 5000, ours: false });
  assert.deepEqual(ok("V=1|SRC=Pi-1|SEQ=2|TYPE=PING|TS=1|BODY=t0=1764008499000"), { framing: "v1", src: "Pi-1", seq: 2, ts: 1, type: "PING", t0: 1764008499000 });
  const meta = ok(`V=1|SRC=Pi-1|SEQ=3|TYPE=MODEL_META|TS=1|BODY=ver=v1764008499;size=409477;chunks=564;sha256=${SHA}`);
  assert.deepEqual({ ...meta }, { framing: "v1", src: "Pi-1", seq: 3, ts: 1, type: "MODEL_META", ver: "v1764008499", size: 409477, chunks: 564, sha256: SHA });
  const chunk = ok("V=1|SRC=Pi-1|SEQ=4|TYPE=MODEL_CHUNK|TS=1|BODY=ver=v1764008499;idx=563;total=564;b64=UEsDBA==");
  assert.equal(chunk.type, "MODEL_CHUNK");
  if (chunk.type === "MODEL_CHUNK") assert.deepEqual([...chunk.data], [0x50, 0x4b, 3, 4]);
  const nak = ok("V=1|SRC=Pi-1|SEQ=5|TYPE=CHUNK_NAK|TS=1|BODY=ver=1764008499-0acba2bd;missing=3,x,17,,4");
  assert.deepEqual(nak.type === "CHUNK_NAK" && nak.missing, [3, 17, 4], "non-numbers in missing are skipped, as the course does");
  // Unknown body keys are ignored, which is how capabilities ride along.
  const ours = ok("V=1|SRC=n2|SEQ=9|TYPE=PEER_SYNC|TS=1|BODY=ip=10.0.0.2;port=5000;df=1;future=x");
  assert.equal(ours.type === "PEER_SYNC" && ours.ours, true);
});

test("course Sprint 6.2 datagrams (CRC computed by Python's zlib) decode; a flipped byte fails the CRC", () => {
  const sync = ok("[PEER_SYNC]|Pi-2|3|1764008499000|0|3|10.122.0.12,5000|d8511981");
  assert.deepEqual(sync, { framing: "sprint62", src: "Pi-2", seq: 3, ts: 1764008499000, type: "PEER_SYNC", ip: "10.122.0.12", port: 5000, ours: false });
  const meta = ok(`[MODEL_META]|Pi-2|4|1764008499100|0|3|ver=v1764008499;size=409477;chunks=564;sha256=${SHA}|3609ffa0`);
  assert.equal(meta.type === "MODEL_META" && meta.chunks, 564);
  const chunk = ok("[MODEL_CHUNK]|Pi-2|5|1764008499200|0|3|ver=v1764008499;idx=0;total=564;b64=UEsDBA==|bd338b24");
  assert.equal(chunk.type === "MODEL_CHUNK" && chunk.data.length, 4);
  const pong = ok("[PONG]|Pi-2|6|1764008499300|0|3|10.122.0.12,ok,1764008499299|26c04b94");
  assert.equal(pong.type === "PONG" && pong.t0, 1764008499299);
  assert.equal(reason("[PEER_SYNC]|Pi-2|3|1764008499000|0|3|10.122.0.13,5000|d8511981"), "crc");
});

test("a deflated META names the file's sha256 too; an encoding we do not know is refused", () => {
  const head = "V=1|SRC=n1|SEQ=1|TYPE=MODEL_META|TS=1|BODY=ver=v1;size=9;chunks=1";
  const meta = ok(`${head};sha256=${SHA};enc=deflate;rawsha256=${SHA.toUpperCase()}`);
  assert.equal(meta.type === "MODEL_META" && meta.enc, "deflate");
  assert.equal(meta.type === "MODEL_META" && meta.rawSha256, SHA);
  assert.equal(reason(`${head};sha256=${SHA};enc=zstd;rawsha256=${SHA}`), "bad_enc");
  assert.equal(reason(`${head};sha256=${SHA};enc=deflate`), "bad_sha", "no sha256 for the inflated file");
  assert.equal(reason(`${head};enc=deflate;rawsha256=${SHA}`), "bad_sha", "no sha256 for the wire bytes");
  // A course META (no enc) decodes as before, with no enc key at all.
  assert.deepEqual(Object.keys(ok(`${head};sha256=${SHA}`)).includes("enc"), false);
});

test("every packet type round-trips in both dialects, and chunks also in binary", () => {
  const bodies: Body[] = [
    { type: "PEER_SYNC", ip: "10.0.0.7", port: 5000, ours: false },
    { type: "PING", t0: 1764008499000 },
    { type: "PONG", t0: 1764008499001 },
    { type: "MODEL_META", ver: "d1-n1-abc", size: 10, chunks: 2, sha256: SHA },
    { type: "MODEL_META", ver: "d1-n1-abc", size: 10, chunks: 2, sha256: SHA, enc: "deflate", rawSha256: SHA.replace(/^./, "b") },
    { type: "MODEL_CHUNK", ver: "d1-n1-abc", idx: 1, total: 2, data: new Uint8Array([0, 255, 1, 2, 3]) },
    { type: "CHUNK_NAK", ver: "d1-n1-abc", missing: [0, 1], wantMeta: false },
  ];
  for (const d of ["v1", "sprint62"] as const) {
    for (const b of bodies) {
      const p = ok(encodeText(d, { src: "n1", seq: 42, ts: 7 }, b, { ownIp: "10.0.0.7", ownPort: 5000 }));
      // A decoded NAK also carries what it asks for as ranges (the plain list, merged).
      const ranges = b.type === "CHUNK_NAK" ? { ranges: IdxRanges.of(b.missing) } : {};
      assert.deepEqual({ ...p }, { framing: d, src: "n1", seq: 42, ts: 7, ...b, ...ranges }, `${d} ${b.type}`);
    }
  }
  const bin = ok(encodeBinaryChunk({ src: "n1", seq: 9 }, "d1-n1-abc", 3, 4, new Uint8Array([9, 8, 7])));
  assert.deepEqual({ ...bin }, { framing: "binary", src: "n1", seq: 9, ts: 0, type: "MODEL_CHUNK", ver: "d1-n1-abc", idx: 3, total: 4, data: new Uint8Array([9, 8, 7]) });
  // Our range NAKs: compact both ways.
  assert.equal(nakRanges([0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
  const nak = ok(encodeText("v1", { src: "n1", seq: 1 }, { type: "CHUNK_NAK", ver: "v", missing: [], wantMeta: true }, { ranges: "0-2,5,7-8" }));
  assert.deepEqual(nak.type === "CHUNK_NAK" && [String(nak.ranges), nak.missing, nak.wantMeta], ["0-2,5,7-8", [], true]);
  // ...and say which of the sender's datagrams the receiver heard last (a u32 SEQ of a binary frame).
  const heard = ok(encodeText("v1", { src: "n1", seq: 2 }, { type: "CHUNK_NAK", ver: "v", missing: [], wantMeta: false, heard: 4_294_967_295 }, { ranges: "3" }));
  assert.deepEqual(heard.type === "CHUNK_NAK" && [String(heard.ranges), heard.heard], ["3", 4_294_967_295]);
  assert.equal(reason("V=1|SRC=x|SEQ=1|TYPE=CHUNK_NAK|TS=1|BODY=ver=v;ranges=3;heard=4294967296"), "bad_number", "heard beyond u32");
  const plain = encodeText("v1", { src: "n1", seq: 3 }, { type: "CHUNK_NAK", ver: "v", missing: [1, 2], wantMeta: false, heard: 7 });
  assert.doesNotMatch(plain.toString(), /heard/, "course peers get their plain list, nothing more");
});

test("REPAIRED (ours, V=1) lists resent idx as ranges and round-trips; bad ranges are refused", () => {
  const p = ok(encodeText("v1", { src: "n1", seq: 77, ts: 7 }, { type: "REPAIRED", ver: "d1-n1-abc", idx: [2, 3, 4, 9] }));
  assert.deepEqual({ ...p, idx: String(p.type === "REPAIRED" && p.idx) }, { framing: "v1", src: "n1", seq: 77, ts: 7, type: "REPAIRED", ver: "d1-n1-abc", idx: "2-4,9" });
  assert.match(encodeText("v1", { src: "n1", seq: 1 }, { type: "REPAIRED", ver: "v", idx: [2, 3, 4, 9] }).toString(), /BODY=ver=v;ranges=2-4,9$/);
  assert.equal(reason("V=1|SRC=x|SEQ=1|TYPE=REPAIRED|TS=1|BODY=ver=v;ranges=9-2"), "nak_range");
  assert.equal(reason("V=1|SRC=x|SEQ=1|TYPE=REPAIRED|TS=1|BODY=ver=v;ranges=0-999999999"), "nak_range");
});

test("a NAK's ranges are never expanded on decode: ranges=0-999999 is one range, expanded only below a bound", () => {
  // An 85-byte NAK once became a million-element array (~42 ms CPU each on a receiver's sender).
  const nak = ok("V=1|SRC=x|SEQ=1|TYPE=CHUNK_NAK|TS=1|BODY=ver=v;ranges=0-999999");
  assert.ok(nak.type === "CHUNK_NAK" && nak.ranges);
  assert.equal(nak.ranges.pieces, 1);
  assert.deepEqual(nak.missing, [], "the course's plain list is only what it listed");
  assert.deepEqual([...nak.ranges.below(5)], [0, 1, 2, 3, 4], "expanded only up to what the caller holds");
  assert.equal(nak.ranges.has(999_999), true);
  assert.equal(nak.ranges.has(1_000_000), false);
  // A course plain list and our ranges are one set, merged, each idx once.
  const both = ok("V=1|SRC=x|SEQ=1|TYPE=CHUNK_NAK|TS=1|BODY=ver=v;missing=9,3,3,4;ranges=0-2,8-12,10-11");
  assert.ok(both.type === "CHUNK_NAK" && both.ranges);
  assert.equal(String(both.ranges), "0-4,8-12");
  assert.deepEqual([...both.ranges.below(100)], [0, 1, 2, 3, 4, 8, 9, 10, 11, 12]);
  // The budget on pieces: what decoding costs and holds is bounded by MAX_NAK_PIECES, not the text's idx.
  const pieces = (n: number) => Array.from({ length: n }, (_, i) => 2 * i).join(",");
  assert.ok(ok(`V=1|SRC=x|SEQ=1|TYPE=CHUNK_NAK|TS=1|BODY=ver=v;ranges=${pieces(MAX_NAK_PIECES)}`));
  assert.equal(reason(`V=1|SRC=x|SEQ=1|TYPE=CHUNK_NAK|TS=1|BODY=ver=v;ranges=${pieces(MAX_NAK_PIECES + 1)}`), "nak_range");
  assert.equal(reason(`V=1|SRC=x|SEQ=1|TYPE=CHUNK_NAK|TS=1|BODY=ver=v;missing=${pieces(MAX_NAK_PIECES + 1)}`), "nak_range");
  // REPAIRED alike.
  const rep = ok("V=1|SRC=x|SEQ=1|TYPE=REPAIRED|TS=1|BODY=ver=v;ranges=0-999999");
  assert.ok(rep.type === "REPAIRED" && rep.idx instanceof IdxRanges && rep.idx.pieces === 1);
  assert.equal(String(IdxRanges.of([5, 1, 2, 2, 3])), "1-3,5");
});

test("SEQ order of binary frames survives the u32 wrap", () => {
  assert.equal(seqBefore(5, 6), true);
  assert.equal(seqBefore(6, 5), false);
  assert.equal(seqBefore(7, 7), false);
  assert.equal(seqBefore(4_294_967_295, 2), true, "2 was sent after the wrap");
  assert.equal(seqBefore(2, 4_294_967_295), false);
});

test("chunks sized so the whole datagram fits one Ethernet frame, in every framing, for any count", () => {
  const src = "a-long-node-name.example";
  for (const framing of ["v1", "sprint62", "binary"] as const) {
    for (const size of [1, 1000, 409477, 5_000_000]) {
      const ver = "d1795395485276-a-long-node-name.example-0acba2bd359f";
      const raw = chunkRawBytes(framing, src, ver, size, ETHERNET_UDP_PAYLOAD_BYTES);
      const total = Math.ceil(size / raw);
      const h = { src, seq: SEQ_LIMIT - 1, ts: 9_999_999_999_999 };
      const data = new Uint8Array(raw);
      const worst = framing === "binary"
        ? encodeBinaryChunk(h, ver, total - 1, total, data)
        : encodeText(framing, h, { type: "MODEL_CHUNK", ver, idx: total - 1, total, data });
      assert.ok(worst.length <= ETHERNET_UDP_PAYLOAD_BYTES, `${framing} ${size} B: ${worst.length}-byte datagram`);
      assert.ok(worst.length > ETHERNET_UDP_PAYLOAD_BYTES - (framing === "binary" ? 1 : 4), `${framing}: wastes room (${worst.length})`);
    }
  }
  // The comment's worked example: Pi-1 / v1764008499, 1023 raw bytes.
  assert.equal(chunkRawBytes("v1", "Pi-1", "v1764008499", 409477, 1472), 1023);
});

test("hostile text: huge counts, negative or out-of-range idx, bad base64, bad sha, unsafe ids are refused with a reason", () => {
  const v1 = (body: string, type = "MODEL_CHUNK", src = "x") => `V=1|SRC=${src}|SEQ=1|TYPE=${type}|TS=1|BODY=${body}`;
  assert.equal(reason(v1("ver=v;idx=5;total=5;b64=AAAA")), "idx_range");
  assert.equal(reason(v1("ver=v;idx=-1;total=5;b64=AAAA")), "bad_number");
  assert.equal(reason(v1("ver=v;idx=0;total=99999999999;b64=AAAA")), "bad_number");
  assert.equal(reason(v1("ver=v;idx=0;total=1;b64=AA*A")), "bad_base64");
  assert.equal(reason(v1("ver=v;idx=0;total=1;b64=AAA")), "bad_base64");
  assert.equal(reason(v1("ver=v;chunks=3;sha256=xyz", "MODEL_META")), "bad_sha");
  assert.equal(reason(v1("ver=a b;idx=0;total=1;b64=")), "bad_ver");
  assert.equal(reason(v1("ver=v;ranges=0-999999999", "CHUNK_NAK")), "nak_range");
  assert.equal(reason(v1("x", "HELLO")), "unknown_type");
  assert.equal(reason("V=2|SRC=x|TYPE=PING|BODY=t0=1"), "version");
  assert.equal(reason("V=1|TYPE=PING|BODY=t0=1"), "no_src");
  assert.equal(reason(new Uint8Array([0x56, 0xff, 0xfe])), "not_utf8");
  assert.equal(reason(new Uint8Array(0)), "empty");
  const bin = encodeBinaryChunk({ src: "n1", seq: 1 }, "v", 0, 1, new Uint8Array([1, 2, 3]));
  bin[bin.length - 6]! ^= 1;
  assert.equal(reason(bin), "crc");
});

test("fuzz: 20,000 random and mutated datagrams never make decode throw, and what decodes is sane", () => {
  const rnd = seeded(20261123);
  const seeds: Uint8Array[] = [
    Buffer.from(`V=1|SRC=Pi-1|SEQ=3|TYPE=MODEL_META|TS=1|BODY=ver=v1764008499;size=409477;chunks=564;sha256=${SHA}`),
    Buffer.from("V=1|SRC=Pi-1|SEQ=4|TYPE=MODEL_CHUNK|TS=1|BODY=ver=v1764008499;idx=563;total=564;b64=UEsDBA=="),
    Buffer.from("V=1|SRC=Pi-1|SEQ=5|TYPE=CHUNK_NAK|TS=1|BODY=ver=v;missing=1,2,3;ranges=5-9"),
    Buffer.from("[MODEL_CHUNK]|Pi-2|5|1764008499200|0|3|ver=v1764008499;idx=0;total=564;b64=UEsDBA==|bd338b24"),
    encodeBinaryChunk({ src: "n1", seq: 1 }, "d1-n1", 2, 3, randomBytes(64)),
  ];
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    let buf: Uint8Array;
    if (i % 4 === 0) {
      buf = new Uint8Array(Math.floor(rnd() * 200)).map(() => Math.floor(rnd() * 256));
    } else {
      buf = Uint8Array.from(seeds[i % seeds.length]!);
      const cut = rnd() < 0.3 ? Math.floor(rnd() * buf.length) : buf.length;
      buf = buf.subarray(0, cut);
      for (let k = Math.floor(rnd() * 4); k > 0 && buf.length; k--) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
    }
    const d = decode(buf);
    if (!d.ok) { assert.equal(typeof d.reason, "string"); continue; }
    decoded++;
    const p = d.packet;
    assert.match(p.src, /^[A-Za-z0-9._-]+$/);
    if (p.type === "MODEL_CHUNK") assert.ok(p.idx >= 0 && p.idx < p.total, `idx ${p.idx} total ${p.total}`);
  }
  assert.ok(decoded > 0, "the mutations never left a decodable datagram: the fuzz is not reaching the parsers");
});

test("a repair symbol (binary, coded repair) round-trips, fits a chunk's datagram, and a malformed one is refused with a reason", () => {
  const sym = { ver: "d1-n1-abc", block: 7, k: 32, symbol: 33, tailLen: 5, data: new Uint8Array([1, 2, 3, 4, 5]) };
  const p = ok(encodeRepairSymbol({ src: "n1", seq: 2 ** 32 + 5 }, sym));
  assert.deepEqual({ ...p }, { framing: "binary", src: "n1", seq: 5, ts: 0, type: "REPAIR_SYMBOL", ...sym, tailLen: 5 });
  // A symbol as long as a chunk goes in a datagram exactly as long as the chunk's.
  const raw = chunkRawBytes("binary", "n1", "d1-n1-abc", 2_000_000, ETHERNET_UDP_PAYLOAD_BYTES);
  const chunk = encodeBinaryChunk({ src: "n1", seq: 1 }, "d1-n1-abc", 0, 1410, new Uint8Array(raw));
  const repair = encodeRepairSymbol({ src: "n1", seq: 1 }, { ...sym, tailLen: 1, data: new Uint8Array(raw) });
  assert.equal(repair.length, chunk.length);
  assert.equal(repair.length, ETHERNET_UDP_PAYLOAD_BYTES);
  const bad = (o: Partial<typeof sym>): string => reason(encodeRepairSymbol({ src: "n1", seq: 1 }, { ...sym, tailLen: 3, ...o }));
  assert.equal(bad({ k: 0, symbol: 5 }), "bad_repair");
  assert.equal(bad({ k: FEC_BLOCK_CHUNKS + 1 }), "bad_repair");
  assert.equal(bad({ symbol: 31 }), "bad_repair");              // a data symbol's index: never sent as parity
  assert.equal(bad({ tailLen: 0 }), "bad_repair");
  assert.equal(bad({ tailLen: 6 }), "bad_repair");              // longer than the payload
  assert.equal(bad({ block: 40_000 }), "idx_range");            // past MAX_CHUNKS_ON_WIRE chunks
  assert.equal(bad({ ver: "no way" }), "bad_ver");
  assert.equal(bad({ data: new Uint8Array(0) }), "malformed");  // no payload
  const good = encodeRepairSymbol({ src: "n1", seq: 1 }, { ...sym, tailLen: 3 });
  assert.equal(reason(good.subarray(0, good.length - 1)), "crc");   // cut short
  const flipped = Buffer.from(good);
  flipped[30]! ^= 1;
  assert.equal(reason(flipped), "crc");
  assert.deepEqual(fecBlock(46, 1481), { first: 1472, k: 9 });
  assert.deepEqual(fecBlock(47, 1481), { first: 1504, k: 0 });
});
