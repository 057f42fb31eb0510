// What a hostile or broken peer throws at a node: random bytes, real packets truncated or with
// bytes flipped, and crafted ones (huge counts, negative or out-of-range idx, bad base64, forged
// SRC, a file that does not match its META's sha256, floods of versions that try to exhaust the
// receiver's bounds). Seeded, so a failure can be replayed.

import { createHash, randomBytes } from "node:crypto";
import { encodeBinaryChunk, encodeText } from "../../node/src/overlay/codec.js";
import { seeded } from "./faulty-transport.js";

export interface HostileOptions {
  seed: number;
  /** The id of a real sender on the LAN, forged from another address. */
  realSender: string;
  /** The version that sender is sending now, if known (forged chunks aim at it). */
  realVersion: () => string;
}

/** The drop reasons a receiver must have counted after a few thousand of these. */
export const HOSTILE_DROP_REASONS = ["crc", "not_utf8", "bad_base64", "bad_number", "forged_src", "bounds", "idx_range"] as const;

/** The i-th hostile datagram of a seeded stream. */
export function hostileDatagrams(o: HostileOptions): (i: number) => Uint8Array {
  const rnd = seeded(o.seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const sha = createHash("sha256").update("not the data").digest("hex");
  const seeds = [
    encodeText("v1", { src: "Pi-1", seq: 1 }, { type: "MODEL_META", ver: "v1764008499", size: 409477, chunks: 564, sha256: sha }),
    encodeText("v1", { src: "Pi-1", seq: 2 }, { type: "MODEL_CHUNK", ver: "v1764008499", idx: 3, total: 564, data: randomBytes(727) }),
    encodeText("sprint62", { src: "Pi-2", seq: 3 }, { type: "MODEL_CHUNK", ver: "s1", idx: 0, total: 9, data: randomBytes(700) }),
    encodeText("v1", { src: "Pi-1", seq: 4 }, { type: "CHUNK_NAK", ver: o.realVersion(), missing: [1, 2, 3], wantMeta: true }),
    encodeBinaryChunk({ src: "x", seq: 1 }, "b1", 0, 2, randomBytes(1200)),
  ];
  const crafted: Array<() => Uint8Array> = [
    () => Buffer.from(`V=1|SRC=Pi-9|SEQ=1|TYPE=MODEL_CHUNK|TS=1|BODY=ver=v${Math.floor(rnd() * 1e6)};idx=0;total=999999999;b64=AAAA`),
    () => Buffer.from(`V=1|SRC=Pi-9|SEQ=1|TYPE=MODEL_CHUNK|TS=1|BODY=ver=v1;idx=-${Math.floor(rnd() * 9)};total=5;b64=AAAA`),
    () => Buffer.from("V=1|SRC=Pi-9|SEQ=1|TYPE=MODEL_CHUNK|TS=1|BODY=ver=v1;idx=0;total=5;b64=@@@="),
    () => Buffer.from(`V=1|SRC=Pi-9|SEQ=1|TYPE=MODEL_CHUNK|TS=1|BODY=ver=v1;idx=${5 + Math.floor(rnd() * 9)};total=5;b64=AAAA`),
    () => Buffer.from(`V=1|SRC=Pi-9|SEQ=1|TYPE=MODEL_META|TS=1|BODY=ver=big${Math.floor(rnd() * 100)};size=99999999999;chunks=3;sha256=${sha}`),
    () => Buffer.from(`V=1|SRC=p${Math.floor(rnd() * 1e6)}|SEQ=1|TYPE=PEER_SYNC|TS=1|BODY=ip=10.9.9.9;port=5000`),
    // Many versions with fat chunks: tries to exhaust transfer slots and in-flight bytes.
    () => encodeText("v1", { src: `flood${Math.floor(rnd() * 1000)}`, seq: 1 }, { type: "MODEL_CHUNK", ver: `f${Math.floor(rnd() * 1000)}`,
      idx: Math.floor(rnd() * 40), total: 40, data: randomBytes(30_000) }),
    // Forged SRC: the real sender's id and version, from another address.
    () => encodeText("v1", { src: o.realSender, seq: 1 }, { type: "MODEL_CHUNK", ver: o.realVersion(), idx: Math.floor(rnd() * 200), total: 290, data: randomBytes(1000) }),
    () => encodeBinaryChunk({ src: o.realSender, seq: 1 }, o.realVersion(), Math.floor(rnd() * 200), 290, randomBytes(1400)),
    // Wrong sha256: a complete small file that does not match its META.
    () => encodeText("v1", { src: "liar", seq: 1 }, { type: "MODEL_META", ver: "lie", size: 10, chunks: 1, sha256: sha }),
    () => encodeText("v1", { src: "liar", seq: 2 }, { type: "MODEL_CHUNK", ver: "lie", idx: 0, total: 1, data: new Uint8Array(10) }),
  ];
  return (i) => {
    const kind = i % 3;
    if (kind === 0) return randomBytes(1 + Math.floor(rnd() * 1400));
    if (kind === 1) {
      let buf = Uint8Array.from(pick(seeds));
      if (rnd() < 0.5) buf = buf.subarray(0, Math.floor(rnd() * buf.length));
      for (let k = 1 + Math.floor(rnd() * 3); k > 0 && buf.length; k--) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
      return buf;
    }
    return pick(crafted)();
  };
}

/**
 * Well-formed MODEL_META for ever new versions from `sources` SRCs (the slot flood: ~7 KB/s of these
 * filled every transfer slot of a receiver). Each claims a big transfer within the default bounds.
 */
export function metaFlood(sources: number): (i: number) => Uint8Array {
  const sha = createHash("sha256").update("flood").digest("hex");
  return (i) => encodeText("v1", { src: `meta${i % sources}`, seq: i + 1 }, { type: "MODEL_META", ver: `mf${i}`, size: 8 << 20, chunks: 6_000, sha256: sha });
}

/** A 1.7 KB binary chunk of a transfer claiming `claimed` chunks (the NAK-state attack), from SRC big<i>. */
export function claimingChunk(i: number, claimed = 65_536): Uint8Array {
  return encodeBinaryChunk({ src: `big${i}`, seq: i + 1 }, `bc${i}`, i % 2 ? claimed - 1 : 0, claimed, randomBytes(1_650));
}
