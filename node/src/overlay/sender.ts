// Outgoing deltas: version ids, chunking, META first (and once more before the last chunk), the
// chunk cache for repair, and NAK answers coalesced so a chunk several peers miss goes out once.

import { createHash, randomBytes } from "node:crypto";
import { chunkRawBytes, type Framing } from "./codec.js";
import { bump, type OverlayStats } from "./stats.js";

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
}

export interface SenderTimings {
  /** Chunks stay cached for repair this long after the last send for the transfer. */
  retentionMs: number;
  /** NAKs for one version arriving within this window are answered together. */
  repairCoalesceMs: number;
  /** While a first pass lasts longer than this, a "sending" n/N line is logged this often. */
  progressLogMs: number;
}

export interface SenderWire {
  nodeId: string;
  maxDatagramBytes: number;
  /** Paced, counted send of one packet of this transfer (META or CHUNK) to dest. */
  sendMeta(dest: Dest, t: OutgoingInfo): Promise<void>;
  sendChunk(dest: Dest, t: OutgoingInfo, idx: number, retransmit: boolean): Promise<void>;
  /** May this repair go out by broadcast in this framing now (no Sprint 6.2 listener for binary)? */
  canBroadcast(framing: Framing): Dest | undefined;
  event(ev: string, fields: Record<string, unknown>): void;
}

export interface OutgoingInfo {
  version: string;
  sha256: string;
  size: number;
  chunks: Uint8Array[];
}

interface Outgoing extends OutgoingInfo {
  lastActivity: number;
  /** Chunks below this went out once; a NAK for the rest only means the receiver got ahead of us. */
  firstPassDone: number;
  /** idx -> requesters (by address:port) collected in the current coalescing window. */
  pending: Map<number, Map<string, Dest>>;
  wantMeta: Map<string, Dest>;
  timer: NodeJS.Timeout | undefined;
}

export interface SentDelta { version: string; bytes: number; chunks: number; sha256: string; chunkBytes: number }

export class Sender {
  private readonly out = new Map<string, Outgoing>();
  private lastStamp = 0;

  constructor(private readonly wire: SenderWire, private readonly timings: SenderTimings, private readonly stats: OverlayStats,
    private readonly now: () => number = Date.now) {}

  /**
   * A version id that never collides: sender id, a millisecond stamp that only moves forward in this
   * process, the content's sha256 prefix and random bits against a clock set back across restarts.
   */
  newVersion(sha256: string): string {
    const stamp = Math.max(this.now(), this.lastStamp + 1);
    this.lastStamp = stamp;
    const id = this.wire.nodeId.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 40);
    return `d${stamp}-${id}-${sha256.slice(0, 8)}${randomBytes(2).toString("hex")}`;
  }

  async send(bytes: Uint8Array, plan: SendPlan): Promise<SentDelta> {
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const version = this.newVersion(sha256);
    const raw = Math.min(...plan.sizing.map((f) => chunkRawBytes(f, this.wire.nodeId, version, bytes.length, this.wire.maxDatagramBytes)));
    const chunks: Uint8Array[] = [];
    for (let o = 0; o < bytes.length || chunks.length === 0; o += raw) chunks.push(bytes.subarray(o, Math.min(o + raw, bytes.length)));
    const t: Outgoing = { version, sha256, size: bytes.length, chunks, lastActivity: this.now(), firstPassDone: 0, pending: new Map(),
      wantMeta: new Map(), timer: undefined };
    this.out.set(version, t);
    this.stats.deltasAnnounced++;
    this.wire.event("announced", { version, bytes: bytes.length, chunks: chunks.length, chunkBytes: raw, sha256,
      dests: plan.dests.map((d) => `${d.framing}:${d.address}:${d.port}`) });
    for (const d of plan.dests) await this.wire.sendMeta(d, t);
    // Chunks interleaved across destinations so all receivers progress together.
    const half = Math.floor(chunks.length / 2);
    let progressAt = this.now() + this.timings.progressLogMs;
    for (let i = 0; i < chunks.length; i++) {
      // META again before the last chunk: a receiver that missed the first still verifies, and none
      // can have completed yet (a META after completion would restart a course receiver's buffer).
      if (i === half && chunks.length > 1) for (const d of plan.dests) await this.wire.sendMeta(d, t);
      for (const d of plan.dests) await this.wire.sendChunk(d, t, i, false);
      t.firstPassDone = i + 1;
      t.lastActivity = this.now();
      // A big delta at a slow rate, or unicast to many course peers, takes seconds: say how far it is.
      if (t.lastActivity >= progressAt && i + 1 < chunks.length) {
        this.wire.event("sending", { version, sent: i + 1, total: chunks.length, dests: plan.dests.length });
        progressAt = t.lastActivity + this.timings.progressLogMs;
      }
    }
    this.wire.event("sent", { version, chunks: chunks.length, bytes: bytes.length, dests: plan.dests.length });
    return { version, bytes: bytes.length, chunks: chunks.length, sha256, chunkBytes: raw };
  }

  /** A CHUNK_NAK from `from` (its framing decides how the resend is encoded). */
  onNak(ver: string, missing: number[], wantMeta: boolean, from: Dest): void {
    const t = this.out.get(ver);
    if (!t) { bump(this.stats.datagramsDropped, "nak_unknown_version"); return; }
    const key = `${from.address}:${from.port}`;
    if (wantMeta) t.wantMeta.set(key, from);
    for (const i of missing) {
      // Not sent yet (a receiver NAKs after a stall of ours): the first pass will bring it.
      if (i < 0 || i >= t.firstPassDone) continue;
      let who = t.pending.get(i);
      if (!who) t.pending.set(i, (who = new Map()));
      who.set(key, from);
    }
    t.lastActivity = this.now();
    t.timer ??= setTimeout(() => void this.repair(t), this.timings.repairCoalesceMs);
  }

  private async repair(t: Outgoing): Promise<void> {
    t.timer = undefined;
    const pending = t.pending;
    const metas = t.wantMeta;
    t.pending = new Map();
    t.wantMeta = new Map();
    for (const d of metas.values()) await this.wire.sendMeta(d, t);
    let sent = 0, broadcasts = 0;
    const peers = new Set<string>();
    for (const [idx, who] of [...pending].sort((a, b) => a[0] - b[0])) {
      const framings = new Set([...who.values()].map((d) => d.framing));
      // Only binary repairs are broadcast: a course node that already completed this version would
      // take a text chunk as the start of a new, unverified buffer and NAK the whole file again.
      const bc = who.size >= 2 && framings.size === 1 && framings.has("binary") ? this.wire.canBroadcast("binary") : undefined;
      if (bc) {
        await this.wire.sendChunk(bc, t, idx, true);
        sent++; broadcasts++;
      } else {
        for (const d of who.values()) { await this.wire.sendChunk(d, t, idx, true); sent++; }
      }
      for (const k of who.keys()) peers.add(k);
    }
    t.lastActivity = this.now();
    if (sent || metas.size) this.wire.event("repaired", { version: t.version, chunks: pending.size, sent, broadcasts, peers: peers.size, metas: metas.size });
  }

  /** Forgets transfers past retention. */
  tick(): void {
    const now = this.now();
    for (const [v, t] of this.out) {
      if (now - t.lastActivity > this.timings.retentionMs && !t.timer) this.out.delete(v);
    }
  }

  cached(): number {
    return this.out.size;
  }

  close(): void {
    for (const t of this.out.values()) if (t.timer) clearTimeout(t.timer);
    this.out.clear();
  }
}
