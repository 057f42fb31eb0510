// Outgoing deltas: version ids, chunking, META first (repeated for course peers, and once more
// halfway through, except to Sprint 6.2), the chunk cache for repair, and NAK answers coalesced so a
// chunk several peers miss goes out once.

import { randomBytes } from "node:crypto";
import { chunkRawBytes, ENC_DEFLATE, FEC_BLOCK_CHUNKS, fecBlock, IdxRanges, nakRanges, REPAIRED_MAX_RANGES_CHARS, seqBefore, type Framing } from "./codec.js";
import { encodeParity, RS_MAX_SYMBOLS } from "./fec/reed-solomon.js";
import { REAL_CLOCK, type Clock, type Timer } from "./clock.js";
import { deflateIfWorth } from "./deflate-choice.js";
import { RepairBudget } from "./repair-budget.js";
import { bump, type OverlayStats } from "./stats.js";
import { sha256Hex } from "../util/sha256.js";
import { toToken } from "../util/ids.js";

/** METAs a course-format destination gets before the first chunk (see send()). */
export const COURSE_META_COPIES = 3;

/**
 * A Sprint 6.2 receiver rebuilds its buffer with empty parts on every META and has no NAK: a META
 * after its first chunk throws away what it holds for good. It gets META only before the chunks.
 */
const metaOnlyUpFront = (d: Dest): boolean => d.framing === "sprint62";

/** Where a datagram goes and in which framing. */
export interface Dest {
  address: string;
  port: number;
  framing: Framing;
  /** Broadcast destinations reach every peer of that framing at once. */
  broadcast: boolean;
}

export interface SendPlan {
  /** Framing that sets the chunk size (binary only when every destination is a DeltaFleet node). */
  sizing: Framing[];
  dests: Dest[];
  /** The receivers ("ip:port", as their NAKs come from) this delta is meant for: they get a repair allowance (repair-budget.ts). */
  audience?: string[];
}

export interface SenderTimings {
  /** Chunks stay cached for repair this long after the last send for the transfer. */
  retentionMs: number;
  /** NAKs for one version arriving within this window are answered together. */
  repairCoalesceMs: number;
  /**
   * A NAK for a chunk sent (or resent) to its asker less than this long ago, from a receiver that
   * had not yet heard anything sent after it (its `heard` SEQ is older), crossed that copy on the
   * wire: not resent. Past this, or once the receiver heard later frames, the copy was lost.
   */
  repairHoldMs: number;
  /**
   * The same for a NAK without `heard` (course receivers; ours when their last NAK brought nothing at
   * all, so their SEQ says nothing): only a copy this fresh may still be on its way.
   */
  repairHoldBlindMs: number;
  /** While a first pass lasts longer than this, a "sending" n/N line is logged this often. */
  progressLogMs: number;
}

export interface SenderWire {
  nodeId: string;
  maxDatagramBytes: number;
  /** Paced, counted send of one packet of this transfer (META or CHUNK) to dest. */
  sendMeta(dest: Dest, t: OutgoingInfo): Promise<void>;
  /** Resolves with the datagram's SEQ modulo 2^32 (what a binary frame carries). */
  sendChunk(dest: Dest, t: OutgoingInfo, idx: number, kind: "first" | "repeat" | "repair"): Promise<number>;
  /**
   * Coded repair (binary broadcast transfers): one repair symbol (codec BIN_TYPE_REPAIR); resolves
   * with its SEQ modulo 2^32. Absent: NAKs are answered with resends only.
   */
  sendRepairSymbol?(dest: Dest, t: OutgoingInfo, s: RepairSymbol): Promise<number>;
  /** A REPAIRED marker (codec) listing idx resent by broadcast since the last one. */
  sendRepaired(dest: Dest, t: OutgoingInfo, idx: number[]): Promise<void>;
  /** May this repair go out by broadcast in this framing now (no Sprint 6.2 listener for binary)? */
  canBroadcast(framing: Framing): Dest | undefined;
  /** Does our broadcast reach this receiver (it listens on our port)? Else it gets unicast copies only. */
  hearsBroadcast(d: Dest): boolean;
  /** With a roster: is the peer at this source ("ip:port") a member (it may share the repair pool)? */
  isMemberSource?: (source: string) => boolean;
  event(ev: string, fields: Record<string, unknown>): void;
}

export interface OutgoingInfo {
  version: string;
  /** sha256 and size of the bytes on the wire (the delta file, or it deflated). */
  sha256: string;
  size: number;
  chunks: Uint8Array[];
  /** Set when the wire bytes are the delta deflated; rawSha256 is then the file's sha256. */
  enc?: typeof ENC_DEFLATE;
  rawSha256?: string;
  /** What a DeltaFleet-only transfer carries (META kind=); undefined for a delta file. */
  kind?: string;
}

/** Parity symbol `symbol` of chunk block `block` (k chunks), `data` as long as the block's longest chunk. */
export interface RepairSymbol { block: number; k: number; symbol: number; tailLen: number; data: Uint8Array }

interface Outgoing extends OutgoingInfo {
  lastActivity: number;
  /** Chunks below this went out once; a NAK for the rest only means the receiver got ahead of us. */
  firstPassDone: number;
  /** idx -> requesters (by address:port) collected in the current coalescing window. */
  pending: Map<number, Map<string, Dest>>;
  /** idx -> SEQ of its latest broadcast copy when first asked for in this window (-1: none). */
  pendingSince: Map<number, number>;
  /** Repair loops still sending (windows can overlap when a batch is long). */
  repairing: number;
  /** The first pass is still going out (its chunks give receivers later SEQs anyway). */
  sending: boolean;
  wantMeta: Map<string, Dest>;
  timer: Timer | undefined;
  /** idx -> last copy sent, per destination ("*" for broadcast): SEQ and when. */
  copies: Map<number, Map<string, { seq: number; at: number }>>;
  /** The first pass went by binary broadcast: every repair may too (it costs one datagram either way). */
  broadcast: boolean;
  /** idx broadcast as repairs since the last REPAIRED marker. */
  unmarked: number[];
  /** Every destination takes binary frames: blocks may be repaired with parity symbols. */
  binary: boolean;
  /**
   * Coded repair: per receiver (its node id: receivers sharing one port send from one address) the
   * idx it asked for in the current window, and the `heard` of its latest NAK (undefined: blind).
   */
  pendingBy: Map<string, { idx: Set<number>; heard: number | undefined }>;
  /** block -> parity symbols broadcast for it: the next fresh index is k + sent.length. */
  symbols: Map<number, Array<{ seq: number; at: number }>>;
}

/** A REPAIRED marker goes out twice: two small datagrams, lost together at 20 % loss 4 % of the time. */
const REPAIRED_COPIES = 2;

const BROADCAST_KEY = "*";
const destKey = (d: Dest): string => (d.broadcast ? BROADCAST_KEY : `${d.address}:${d.port}`);

/** `bytes` and `sha256` describe the delta file; `wireBytes` what went into chunks (less when deflated). */
export interface SentDelta { version: string; bytes: number; chunks: number; sha256: string; chunkBytes: number; wireBytes: number; enc?: typeof ENC_DEFLATE }


/**
 * A chunk's datagram as the repair budget counts it, never less than it is: text carries base64 and
 * a header naming the sender and version; either framing less than 96 bytes of fixed fields.
 */
function resendCost(nodeId: string, t: OutgoingInfo, data: Uint8Array, framing: Framing): number {
  const payload = framing === "binary" ? data.length : Math.ceil(data.length / 3) * 4;
  return payload + 2 * (nodeId.length + t.version.length) + 96;
}

export class Sender {
  private readonly out = new Map<string, Outgoing>();
  private readonly budget: RepairBudget;
  private lastStamp = 0;

  constructor(private readonly wire: SenderWire, private readonly timings: SenderTimings, private readonly stats: OverlayStats,
    private readonly clock: Clock = REAL_CLOCK) {
    this.budget = new RepairBudget(wire.isMemberSource);
  }

  private now(): number {
    return this.clock.now();
  }

  /**
   * A version id that never collides: sender id, a millisecond stamp that only moves forward in this
   * process, the content's sha256 prefix and random bits against a clock set back across restarts.
   */
  newVersion(sha256: string): string {
    const stamp = Math.max(this.now(), this.lastStamp + 1);
    this.lastStamp = stamp;
    const id = toToken(this.wire.nodeId, 40);
    return `d${stamp}-${id}-${sha256.slice(0, 8)}${randomBytes(2).toString("hex")}`;
  }

  /** `kind`: a DeltaFleet-only payload (the plan must hold only our nodes: Router.payloadPlan). */
  async send(file: Uint8Array, plan: SendPlan, kind?: string): Promise<SentDelta> {
    const fileSha256 = sha256Hex(file);
    const version = this.newVersion(fileSha256);
    const binary = plan.dests.length > 0 && plan.dests.every((d) => d.framing === "binary");
    // Only DeltaFleet receivers inflate: a course node is sent the file as it is.
    // Deltas are sparse fp16 (the course's change 8 of 100,514 embedding values; ours hold mostly
    // zeros where Adam's step rounded away): 404 KB course deltas deflate to 3-4 KB, ours of 214 KB
    // to about 2 KB, so 213 datagrams become 2.
    const deflated = binary ? deflateIfWorth(file) : undefined;
    const enc = deflated ? ENC_DEFLATE : undefined;
    const bytes = deflated ?? file;
    const sha256 = enc ? sha256Hex(bytes) : fileSha256;
    const raw = Math.min(...plan.sizing.map((f) => chunkRawBytes(f, this.wire.nodeId, version, bytes.length, this.wire.maxDatagramBytes)));
    const chunks: Uint8Array[] = [];
    for (let o = 0; o < bytes.length || chunks.length === 0; o += raw) chunks.push(bytes.subarray(o, Math.min(o + raw, bytes.length)));
    const t: Outgoing = { version, sha256, size: bytes.length, chunks, enc, rawSha256: enc ? fileSha256 : undefined, kind, lastActivity: this.now(), firstPassDone: 0, pending: new Map(),
      wantMeta: new Map(), timer: undefined, copies: new Map(), pendingSince: new Map(), repairing: 0, sending: true, unmarked: [], broadcast: binary && plan.dests.some((d) => d.broadcast),
      binary, pendingBy: new Map(), symbols: new Map() };
    this.out.set(version, t);
    const copy = chunks.reduce((n, c) => n + resendCost(this.wire.nodeId, t, c, binary ? "binary" : "v1"), 0);
    // A payload is for our members only: with a roster, strangers do not share its repair pool.
    this.budget.open(version, plan.audience ?? [], copy, kind !== undefined);
    this.stats.deltasAnnounced++;
    this.wire.event("announced", { version, bytes: file.length, wireBytes: bytes.length, enc, chunks: chunks.length, chunkBytes: raw, sha256: fileSha256,
      dests: plan.dests.map((d) => `${d.framing}:${d.address}:${d.port}`) });
    // A course receiver that misses META and then gets a chunk builds a buffer without the sha256,
    // which a later META never fills in: it merges unverified (spec: "Always send META first (and
    // repeat it)"). Its only safeguard is a META arriving before the first chunk, so text
    // destinations get several up front: all lost with probability p^3 (0.8 % at 20 % loss), not p.
    // Our own receivers ask for a lost META in their NAK and need one.
    for (const d of plan.dests) {
      for (let k = d.framing === "binary" ? 1 : COURSE_META_COPIES; k > 0; k--) await this.wire.sendMeta(d, t);
    }
    // Chunks interleaved across destinations so all receivers progress together.
    const half = Math.floor(chunks.length / 2);
    let progressAt = this.now() + this.timings.progressLogMs;
    for (let i = 0; i < chunks.length; i++) {
      // META again halfway: one of ours that missed the first does not have to ask for it, and none
      // can have completed yet (a V=1 course receiver takes a META after completion as a new buffer;
      // before it, first wins). Never to Sprint 6.2 (metaOnlyUpFront).
      if (i === half && chunks.length > 1) for (const d of plan.dests) if (!metaOnlyUpFront(d)) await this.wire.sendMeta(d, t);
      for (const d of plan.dests) this.sentCopy(t, i, d, await this.wire.sendChunk(d, t, i, "first"));
      t.firstPassDone = i + 1;
      t.lastActivity = this.now();
      // A big delta at a slow rate, or unicast to many course peers, takes seconds: say how far it is.
      if (t.lastActivity >= progressAt && i + 1 < chunks.length) {
        this.wire.event("sending", { version, sent: i + 1, total: chunks.length, dests: plan.dests.length });
        progressAt = t.lastActivity + this.timings.progressLogMs;
      }
    }
    // The last chunk once more (binary only: a course receiver would take a copy after completion as
    // a new buffer). Senders go in idx order, so a receiver holding the last chunk knows every gap at
    // once; without it, a lost tail is only noticed after tailQuietMs. One datagram buys that for all
    // but the p² of receivers that lose both copies.
    if (binary) for (const d of plan.dests) this.sentCopy(t, chunks.length - 1, d, await this.wire.sendChunk(d, t, chunks.length - 1, "repeat"));
    t.sending = false;
    this.wire.event("sent", { version, chunks: chunks.length, bytes: bytes.length, dests: plan.dests.length });
    return { version, bytes: file.length, chunks: chunks.length, sha256: fileSha256, chunkBytes: raw, wireBytes: bytes.length, enc };
  }

  private sentCopy(t: Outgoing, idx: number, d: Dest, seq: number): void {
    let c = t.copies.get(idx);
    if (!c) t.copies.set(idx, (c = new Map()));
    c.set(destKey(d), { seq, at: this.now() });
  }

  /** Did a NAK from `key` that heard up to SEQ `heard` cross a copy of idx still on its way to it? */
  private crossed(t: Outgoing, idx: number, key: string, viaBroadcast: boolean, heard: number | undefined, now: number): boolean {
    const c = t.copies.get(idx);
    if (!c) return false;
    const hold = heard === undefined ? this.timings.repairHoldBlindMs : this.timings.repairHoldMs;
    for (const copy of [viaBroadcast ? c.get(BROADCAST_KEY) : undefined, c.get(key)]) {
      if (copy && now - copy.at < hold && (heard === undefined || seqBefore(heard, copy.seq))) return true;
    }
    return false;
  }

  /** A NAK datagram of `bytes` came from `asker` ("ip:port"): it earns that asker repair beyond any allowance (repair-budget.ts). */
  earn(asker: string, bytes: number): void {
    this.budget.earn(asker, bytes);
  }

  /** May `asker` be sent this datagram in repair? Counts a refusal. */
  private afford(t: Outgoing, asker: string, cost: number): boolean {
    if (this.budget.spend(t.version, asker, cost)) return true;
    this.stats.repairsRefused++;
    return false;
  }

  /**
   * A CHUNK_NAK from `from` (its framing decides how the resend is encoded); `heard` as in codec's
   * NAK_HEARD_KEY. Budget: a NAK touches at most the chunks the transfer's first pass has sent, each
   * once, however much its ranges span (`ranges=0-999999` against a 10-chunk transfer: 10).
   */
  onNak(ver: string, missing: readonly number[] | IdxRanges, wantMeta: boolean, from: Dest, heard?: number, node?: string): void {
    const t = this.out.get(ver);
    if (!t) { bump(this.stats.datagramsDropped, "nak_unknown_version"); return; }
    const key = `${from.address}:${from.port}`;
    const viaBroadcast = this.wire.hearsBroadcast(from);
    const now = this.now();
    if (wantMeta) t.wantMeta.set(key, from);
    // Several NAKs of one receiver in a window add up; its latest says what it heard.
    let mine = t.pendingBy.get(node ?? key);
    if (!mine) t.pendingBy.set(node ?? key, (mine = { idx: new Set<number>(), heard }));
    mine.heard = heard;
    // Chunks not sent yet (a receiver NAKs after a stall of ours) are left to the first pass.
    for (const i of (missing instanceof IdxRanges ? missing : IdxRanges.of(missing)).below(t.firstPassDone)) {
      if (this.crossed(t, i, key, viaBroadcast, heard, now)) { this.stats.repairsSkipped++; continue; }
      let who = t.pending.get(i);
      if (!who) { t.pending.set(i, (who = new Map())); t.pendingSince.set(i, t.copies.get(i)?.get(BROADCAST_KEY)?.seq ?? -1); }
      who.set(key, from);
      mine.idx.add(i);
    }
    t.lastActivity = now;
    if (t.pending.size > 0 || t.wantMeta.size > 0) t.timer ??= this.clock.after(this.timings.repairCoalesceMs, () => void this.repair(t));
  }

  private async repair(t: Outgoing): Promise<void> {
    t.timer = undefined;
    const pending = t.pending;
    const since = t.pendingSince;
    const metas = t.wantMeta;
    const heardBy = t.pendingBy;
    t.pending = new Map();
    t.pendingSince = new Map();
    t.wantMeta = new Map();
    t.pendingBy = new Map();
    t.repairing++;
    for (const [k, d] of metas) if (!metaOnlyUpFront(d) && this.afford(t, k, 2 * (this.wire.nodeId.length + t.version.length) + 256)) await this.wire.sendMeta(d, t);
    let sent = 0, broadcasts = 0;
    const peers = new Set<string>();
    const binaryBroadcast = this.wire.canBroadcast("binary");
    // Coded repair first: blocks where parity symbols save datagrams go out as symbols, the rest as resends.
    const coded = binaryBroadcast ? await this.repairCoded(t, pending, heardBy, binaryBroadcast) : { sent: 0, done: new Set<number>() };
    sent += coded.sent; broadcasts += coded.sent;
    // Symbols are named in the REPAIRED marker too, by the holes they answer: a receiver that lost
    // the last of them hears past it and asks again at once, instead of after a re-ask whose `heard`
    // still makes the lost symbol look on its way (repairHoldMs).
    if (coded.sent > 0) for (const i of coded.done) t.unmarked.push(i);   // not spread: a round may answer tens of thousands of holes
    for (const [idx, who] of [...pending].sort((a, b) => a[0] - b[0])) {
      if (coded.done.has(idx)) { for (const k of who.keys()) peers.add(k); continue; }
      const framings = new Set([...who.values()].map((d) => d.framing));
      // Only binary repairs are broadcast: a course node that already completed this version would
      // take a text chunk as the start of a new, unverified buffer and NAK the whole file again.
      // A broadcast transfer broadcasts even a repair one peer asked for: a peer whose NAK for it is
      // still on its way gets it too, and the copy counts against that NAK (see crossed()). Not when
      // an asker listens on another port: the broadcast would not reach it.
      const bc = (who.size >= 2 || t.broadcast) && framings.size === 1 && framings.has("binary") &&
        [...who.values()].every((d) => this.wire.hearsBroadcast(d)) ? binaryBroadcast : undefined;
      // An overlapping repair loop broadcast it after these NAKs came: that copy answers them.
      const copy = bc && t.copies.get(idx)?.get(BROADCAST_KEY);
      if (copy && copy.seq !== since.get(idx)) { this.stats.repairsSkipped++; continue; }
      const data = t.chunks[idx]!;
      if (bc) {
        // One datagram for all askers: the first that can afford it pays.
        if (![...who.keys()].some((k) => this.budget.spend(t.version, k, resendCost(this.wire.nodeId, t, data, "binary")))) { this.stats.repairsRefused++; continue; }
        this.sentCopy(t, idx, bc, await this.wire.sendChunk(bc, t, idx, "repair"));
        t.unmarked.push(idx);
        sent++; broadcasts++;
      } else {
        for (const [k, d] of who) {
          if (!this.afford(t, k, resendCost(this.wire.nodeId, t, data, d.framing))) continue;
          this.sentCopy(t, idx, d, await this.wire.sendChunk(d, t, idx, "repair"));
          sent++;
        }
      }
      for (const k of who.keys()) peers.add(k);
    }
    t.repairing--;
    // Nothing follows these resends: say which went out (REPAIRED). A receiver that lost one of them
    // learns it now rather than one round trip later, and hears a later SEQ, so its NAK is answered
    // at once (see crossed()) instead of waiting out repairHoldMs.
    if (binaryBroadcast && t.unmarked.length > 0 && !t.sending && t.repairing === 0 && t.pending.size === 0) {
      let idx = [...new Set(t.unmarked)].sort((a, b) => a - b);
      t.unmarked = [];
      while (idx.length > 1 && nakRanges(idx).length > REPAIRED_MAX_RANGES_CHARS) idx = idx.slice(Math.floor(idx.length / 2));
      for (let i = 0; i < REPAIRED_COPIES; i++) await this.wire.sendRepaired(binaryBroadcast, t, idx);
    }
    t.lastActivity = this.now();
    if (sent || metas.size) this.wire.event("repaired", { version: t.version, chunks: pending.size, sent, broadcasts, symbols: coded.sent, peers: peers.size, metas: metas.size });
  }

  /**
   * Coded repair, per block of FEC_BLOCK_CHUNKS chunks: one parity symbol fills a different hole at
   * each receiver, so a block whose askers lost different chunks needs as many broadcast symbols as
   * its worst asker lost there, not a resend of each chunk anyone lost. Used where that saves
   * datagrams (the union of holes exceeds the worst asker's) and a broadcast reaches every asker:
   * a binary transfer, every asker one of ours on our port (as for a broadcast resend), fresh symbol
   * indices left (k + symbols ≤ 256). Course peers never get here (their transfers are text).
   * An asker's count is less the symbols broadcast for that block that its NAK crossed (sent after
   * the SEQ it heard, within repairHoldMs; blind within repairHoldBlindMs): they are on their way.
   * Budget: one datagram for all askers, the first that can afford it pays, as for a broadcast resend.
   * Returns the idx answered this way.
   */
  private async repairCoded(t: Outgoing, pending: Map<number, Map<string, Dest>>, by: Map<string, { idx: Set<number>; heard: number | undefined }>, bc: Dest): Promise<{ sent: number; done: Set<number> }> {
    const done = new Set<number>();
    let sent = 0;
    if (!t.binary || !this.wire.sendRepairSymbol) return { sent, done };
    const total = t.chunks.length;
    const blocks = new Map<number, Array<[number, Map<string, Dest>]>>();
    for (const e of pending) {
      const b = Math.floor(e[0] / FEC_BLOCK_CHUNKS);
      let l = blocks.get(b);
      if (!l) blocks.set(b, (l = []));
      l.push(e);
    }
    const now = this.now();
    for (const [block, entries] of [...blocks].sort((a, b) => a[0] - b[0])) {
      // Eligible: every asker one of ours that hears the broadcast (sources, for the budget too).
      const sources = new Set<string>();
      let ours = true;
      for (const [, who] of entries) {
        for (const [k, d] of who) {
          if (d.framing !== "binary" || !this.wire.hearsBroadcast(d)) ours = false;
          sources.add(k);
        }
      }
      // Holes here per receiver, and the SEQ it heard.
      const { first, k } = fecBlock(block, total);
      const askers: Array<{ holes: number; heard: number | undefined }> = [];
      for (const r of by.values()) {
        let holes = 0;
        for (let i = first; i < first + k; i++) if (r.idx.has(i)) holes++;
        if (holes > 0) askers.push({ holes, heard: r.heard });
      }
      if (!ours || !(t.broadcast || askers.length >= 2)) continue;
      const sentBefore = t.symbols.get(block) ?? [];
      // What each asker still needs: its holes here less the symbols on their way to it.
      let need = 0;
      for (const { holes, heard } of askers) {
        const hold = heard === undefined ? this.timings.repairHoldBlindMs : this.timings.repairHoldMs;
        const inFlight = sentBefore.filter((c) => now - c.at < hold && (heard === undefined || seqBefore(heard, c.seq))).length;
        need = Math.max(need, holes - inFlight);
      }
      if (need >= entries.length) continue;   // no saving: resends (no encode, no decode)
      if (k + sentBefore.length + need > RS_MAX_SYMBOLS) continue;   // out of fresh symbols: resends
      for (const [idx] of entries) done.add(idx);
      if (need <= 0) { this.stats.repairsSkipped += entries.length; continue; }
      const data = t.chunks.slice(first, first + k);
      const len = data[0]!.length;
      const tailLen = t.chunks[total - 1]!.length;
      const cost = resendCost(this.wire.nodeId, t, data[0]!, "binary");
      if (!t.symbols.has(block)) t.symbols.set(block, sentBefore);
      for (let n = 0; n < need; n++) {
        if (![...sources].some((a) => this.budget.spend(t.version, a, cost))) { this.stats.repairsRefused++; break; }
        const symbol = k + sentBefore.length;
        const seq = await this.wire.sendRepairSymbol(bc, t, { block, k, symbol, tailLen, data: encodeParity(data, symbol, len) });
        sentBefore.push({ seq, at: this.now() });
        sent++;
      }
    }
    return { sent, done };
  }

  /** Forgets transfers past retention. */
  tick(): void {
    const now = this.now();
    for (const [v, t] of this.out) {
      if (now - t.lastActivity > this.timings.retentionMs && !t.timer) { this.out.delete(v); this.budget.close(v); }
    }
  }

  close(): void {
    for (const [v, t] of this.out) { t.timer?.cancel(); this.budget.close(v); }
    this.out.clear();
  }
}
