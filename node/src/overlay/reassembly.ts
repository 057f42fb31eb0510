// One incoming delta's chunks and what its META says they must add up to, and the checks before it
// is handed on: bounds, the sha256 of the bytes as sent, and for a deflated payload, inflating within
// bounds and the sha256 of what it inflates to. Never delivers unverified: no sha256, no bytes.
// The in-order prefix is hashed and copied into one buffer as it grows, so completion has no
// whole-payload copy or hash left to do (README "Where the time goes", 3).

import { createHash, type Hash } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import { ENC_DEFLATE, FEC_BLOCK_CHUNKS, fecBlock } from "./codec.js";
import { recover } from "./fec/reed-solomon.js";
import type { RejectReason } from "./stats.js";
import { sha256Hex } from "../util/sha256.js";

export interface MetaFacts { chunks: number; size?: number; sha256?: string; enc?: typeof ENC_DEFLATE; rawSha256?: string; kind?: string }

export interface Refusal { ok: false; reason: Extract<RejectReason, "bounds" | "sha" | "decode">; detail: string }

/**
 * The NAK budget: a transfer's NAK schedule keeps state for, and asks for, only idx below
 * NAK_HORIZON_BASE + NAK_HORIZON_PER_CHUNK × chunks held (and below its total). What a transfer costs
 * then grows with the chunks that arrive, not with the count a datagram claims: one 1.7 KB chunk
 * claiming 65,536 chunks used to cost 65,535 gaps, re-asked every few ms; now at most 256 + 8, and
 * each such datagram costs about what 4 real chunks do (bench/overlay/flood.ts). A real transfer
 * (chunks in idx order, under 7/8 of them lost) stays below the horizon; one that lost more than its
 * first 256 chunks in a row asks for them in steps as they come, and completes all the same.
 */
export const NAK_HORIZON_BASE = 256;
export const NAK_HORIZON_PER_CHUNK = 8;

/** What a NAK schedule reads of a transfer: which chunks are held. */
export interface Holding {
  readonly total: number | undefined;
  /** One past the highest idx a NAK may ask for now (see NAK_HORIZON_BASE). */
  readonly horizon: number;
  /** Chunks held. */
  readonly count: number;
  has(idx: number): boolean;
  /** Every chunk is held but no META gave a sha256: only META is missing. */
  readonly awaitingDigest: boolean;
}

/**
 * The bytes of the chunks placed so far, end to end, in a buffer that grows as they come: never to a
 * size a datagram merely claims, only to twice what was placed (capped at `limit`), so a transfer's
 * buffer stays within 2 × the bytes it holds, and a META's size is reached without a last doubling.
 * Growing by doubling copies each byte about once more over the transfer, spread over its chunks,
 * instead of a fresh whole-payload copy (and its page faults) after the last one.
 */
class PlacedBytes {
  private buf: Buffer = Buffer.alloc(0);
  length = 0;

  append(data: Uint8Array, limit: number): void {
    const need = this.length + data.length;
    if (need > this.buf.length) this.grow(need, limit);
    this.buf.set(data, this.length);
    this.length = need;
  }

  private grow(need: number, limit: number): void {
    // need <= limit: the receiver refuses a chunk past the transfer's limit before it is added.
    const bigger = Buffer.allocUnsafeSlow(Math.max(need, Math.min(limit, 2 * this.buf.length)));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }

  /** `len` placed bytes from `offset` (a view: valid until the next append). */
  view(offset: number, len: number): Uint8Array {
    return this.buf.subarray(offset, offset + len);
  }

  /** The placed bytes; copied only when the buffer outgrew them (no META size to stop at). */
  take(): Uint8Array {
    return this.length === this.buf.length ? this.buf : Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** What a repair symbol did (addParity). */
export type ParityFate =
  | { fate: "held" }
  | { fate: "recovered"; chunks: Array<{ idx: number; data: Uint8Array }>; freed: number }
  | { fate: "useless" | "bad_repair" };

export class Reassembly implements Holding {
  total: number | undefined;
  size: number | undefined;
  /** META's sha256 of the bytes as sent. */
  digest: string | undefined;
  /** From META: the bytes are the delta deflated, and rawDigest is the delta's sha256. */
  private enc: typeof ENC_DEFLATE | undefined;
  private rawDigest: string | undefined;
  /** From META: what a DeltaFleet-only transfer carries (codec META_KIND_KEY); undefined for a delta file. */
  kind: string | undefined;
  bytes = 0;
  /** Chunks that came ahead of a gap (idx >= placed), until the prefix reaches them. */
  private readonly parts = new Map<number, Uint8Array>();
  /** Chunks 0..placed-1, hashed (sha256 of the bytes as sent) and copied as the in-order prefix grows. */
  private readonly hash: Hash = createHash("sha256");
  private readonly prefix = new PlacedBytes();
  private placed = 0;
  /**
   * Coded repair: parity symbols held per block (symbol index -> bytes), only while the block still
   * misses more chunks than it holds symbols (more could not help): at most one per missing chunk.
   */
  private readonly parity = new Map<number, Map<number, Uint8Array>>();
  /** Bytes of the parity symbols held (the receiver counts them in flight beside `bytes`). */
  parityBytes = 0;
  /** The transfer's last chunk's length, as repair symbols say (cuts a decoded last chunk). */
  private tailLen: number | undefined;

  /** `maxBytes`: what one transfer may hold, and what a deflated one may inflate to. */
  constructor(private readonly maxBytes: number) {}

  /** Takes in a META; a drop reason when it contradicts the one before (the META is then ignored). */
  meta(m: MetaFacts): "total_changed" | "meta_changed" | undefined {
    if (this.total !== undefined && this.total !== m.chunks) return "total_changed";
    if (this.digest !== undefined && m.sha256 !== undefined && this.digest !== m.sha256) return "meta_changed";
    this.total = m.chunks;
    if (this.digest === undefined && m.sha256 !== undefined) {
      this.digest = m.sha256;
      this.enc = m.enc;
      this.rawDigest = m.rawSha256;
      this.kind = m.kind;
    }
    this.size ??= m.size;
    return undefined;
  }

  /** Bytes this transfer may hold: the overall bound, or META's size when it gave one. */
  get limit(): number {
    return Math.min(this.maxBytes, this.size ?? Infinity);
  }

  get count(): number {
    return this.placed + this.parts.size;
  }

  get horizon(): number {
    return Math.min(this.total ?? 0, NAK_HORIZON_BASE + NAK_HORIZON_PER_CHUNK * this.count);
  }

  has(idx: number): boolean {
    return idx < this.placed || this.parts.has(idx);
  }

  /** A chunk not held before (the caller checked has() and limit). */
  add(idx: number, total: number, data: Uint8Array): void {
    this.total = total;
    this.bytes += data.length;
    if (idx === this.placed) this.place(data);
    else this.parts.set(idx, data);
    this.placeWaiting();
  }

  /** Hashes and copies the next chunk of the prefix (from the datagram, which is then let go). */
  private place(data: Uint8Array): void {
    this.hash.update(data);
    this.prefix.append(data, this.limit);
    this.placed++;
  }

  /** Places the chunks that came ahead of a gap the last chunk filled. */
  private placeWaiting(): void {
    for (let next = this.parts.get(this.placed); next !== undefined; next = this.parts.get(this.placed)) {
      this.parts.delete(this.placed);
      this.place(next);
    }
  }

  /** Parity symbols held for a block: that many of its missing chunks need not be asked for. */
  parityHeld(block: number): number {
    return this.parity.get(block)?.size ?? 0;
  }

  /** The bytes of a held chunk (placed ones from the prefix: each before the last is `chunkLen` long). */
  private chunk(idx: number, chunkLen: number): Uint8Array | undefined {
    if (idx < this.placed) return this.prefix.view(idx * chunkLen, idx === this.total! - 1 ? this.prefix.length - idx * chunkLen : chunkLen);
    return this.parts.get(idx);
  }

  /**
   * A repair symbol of `block` (fec/reed-solomon.ts; codec BIN_TYPE_REPAIR). Held while the block's
   * chunks and symbols are fewer than its k; once they reach k, here or when a chunk comes
   * (decodeBlockOf), the missing chunks are decoded and the block's symbols let go. Needs the
   * transfer's total (any chunk or META gives it): the symbol's k must be its block's.
   */
  addParity(block: number, k: number, symbol: number, tailLen: number, data: Uint8Array): ParityFate {
    const total = this.total;
    if (total === undefined) return { fate: "useless" };
    const b = fecBlock(block, total);
    if (b.k !== k) return { fate: "bad_repair" };
    let missing = 0;
    for (let i = b.first; i < b.first + k; i++) if (!this.has(i)) missing++;
    let held = this.parity.get(block);
    if (missing === 0 || held?.has(symbol) || (held?.size ?? 0) >= missing) return { fate: "useless" };
    if (held && held.values().next().value!.length !== data.length) return { fate: "bad_repair" };   // symbols of one block are one length
    if (!held) this.parity.set(block, (held = new Map()));
    held.set(symbol, data);
    this.parityBytes += data.length;
    this.tailLen ??= tailLen;
    return this.decodeBlock(block) ?? { fate: "held" };
  }

  /** After a chunk came: its block's symbols may now complete it. */
  decodeBlockOf(idx: number): ParityFate | undefined {
    const block = Math.floor(idx / FEC_BLOCK_CHUNKS);
    return this.parity.has(block) ? this.decodeBlock(block) : undefined;
  }

  /**
   * The block's missing chunks, decoded once its chunks and symbols reach k (cut to their length: the
   * symbols' for all but the transfer's last chunk, `tailLen` for it); the caller adds them as if
   * received. Its symbols are let go then (`freed` bytes), or when no chunk is missing any more.
   */
  private decodeBlock(block: number): ParityFate | undefined {
    const held = this.parity.get(block);
    const total = this.total;
    if (!held || total === undefined) return undefined;
    const b = fecBlock(block, total);
    const missing: number[] = [];
    for (let i = b.first; i < b.first + b.k; i++) if (!this.has(i)) missing.push(i);
    if (missing.length > held.size) return undefined;
    let freed = 0;
    for (const d of held.values()) freed += d.length;
    this.parity.delete(block);
    this.parityBytes -= freed;
    if (missing.length === 0) return { fate: "recovered", chunks: [], freed };
    // k symbols: the chunks held (a view each; the last chunk shorter, counted as zero-padded) and the parity.
    const len = held.values().next().value!.length;
    const symbols = new Map<number, Uint8Array>(held);
    for (let i = b.first; i < b.first + b.k; i++) {
      const c = this.has(i) ? this.chunk(i, len) : undefined;
      if (c) symbols.set(i - b.first, c);
    }
    const got = recover(b.k, symbols, missing.map((i) => i - b.first), len);
    if (!got) return { fate: "recovered", chunks: [], freed };   // cannot happen: k distinct symbols always decode
    return { fate: "recovered", freed, chunks: missing.map((idx) => ({ idx, data: got.get(idx - b.first)!.subarray(0, idx === total - 1 ? this.tailLen ?? len : len) })) };
  }

  get whole(): boolean {
    return this.count === this.total;
  }

  get awaitingDigest(): boolean {
    return this.whole && this.digest === undefined;
  }

  /** The bytes as sent, once whole and META's size and sha256 match them. */
  verify(): { ok: true; wire: Uint8Array; sha256: string } | Refusal {
    // Whole means every idx < total is held (codec refuses idx >= total), so all are placed.
    if (this.placed !== this.total) return refuse("bounds", `placed ${this.placed} of ${this.total} chunks`);
    const wire = this.prefix.take();
    if (this.size !== undefined && wire.length !== this.size) return refuse("bounds", `reassembled ${wire.length} B, META says ${this.size}`);
    const sha = this.hash.digest("hex");
    if (sha !== this.digest) return refuse("sha", `sha256 ${sha.slice(0, 12)} != META ${this.digest?.slice(0, 12)}`);
    return { ok: true, wire, sha256: sha };
  }

  /** The delta itself: the verified bytes, or what they inflate to when META said they are deflated. */
  unpack(v: { wire: Uint8Array; sha256: string }): { ok: true; file: Uint8Array; sha256: string } | Refusal {
    if (this.enc !== ENC_DEFLATE) return { ok: true, file: v.wire, sha256: v.sha256 };
    let file: Uint8Array;
    // Bounded like any transfer: a few KB that inflate to gigabytes stop at maxBytes.
    try {
      file = inflateRawSync(v.wire, { maxOutputLength: this.maxBytes });
    } catch (e) {
      return refuse("decode", `deflated payload does not inflate: ${(e as Error).message}`);
    }
    const sha = sha256Hex(file);
    if (sha !== this.rawDigest) return refuse("sha", `inflated sha256 ${sha.slice(0, 12)} != META ${this.rawDigest?.slice(0, 12)}`);
    return { ok: true, file, sha256: sha };
  }
}

const refuse = (reason: Refusal["reason"], detail: string): Refusal => ({ ok: false, reason, detail });
