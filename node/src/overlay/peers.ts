// The peer table: who we heard, where they are, which dialect they speak, what they announced.

import type { Dialect } from "./codec.js";

/** Versions remembered per peer (what it announced), newest last. */
const ANNOUNCED_KEEP = 16;
/** Peers held at once: forged SRCs must not grow the table (or our PEER_SYNC answers) without end. */
export const MAX_PEERS = 256;

export interface PeerInfo {
  id: string;
  address: string;
  port: number;
  dialect: Dialect;
  /** A DeltaFleet node (advertised in PEER_SYNC): takes binary chunks and range NAKs. */
  ours: boolean;
  firstSeenMs: number;
  lastSeenMs: number;
  rttMs: number | undefined;
  pinged: boolean;
  announced: string[];
}

export class PeerTable {
  private readonly byId = new Map<string, PeerInfo>();

  /** Refreshes (or adds) a peer from a packet; "new" when added, "full" when the table had no room. */
  touch(id: string, address: string, port: number, dialect: Dialect, now: number, ours?: boolean): "new" | "known" | "full" {
    const p = this.byId.get(id);
    if (!p) {
      if (this.byId.size >= MAX_PEERS) return "full";
      this.byId.set(id, { id, address, port, dialect, ours: ours ?? false, firstSeenMs: now, lastSeenMs: now,
        rttMs: undefined, pinged: false, announced: [] });
      return "new";
    }
    p.address = address;
    p.port = port;
    p.dialect = dialect;
    if (ours !== undefined) p.ours = ours;
    p.lastSeenMs = now;
    p.pinged = false;
    return "known";
  }

  get(id: string): PeerInfo | undefined {
    return this.byId.get(id);
  }

  announced(id: string, ver: string): void {
    const p = this.byId.get(id);
    if (!p || p.announced.includes(ver)) return;
    p.announced.push(ver);
    if (p.announced.length > ANNOUNCED_KEEP) p.announced.shift();
  }

  /** Peers silent for at least afterMs are removed and returned. */
  prune(now: number, afterMs: number): PeerInfo[] {
    const gone = [...this.byId.values()].filter((p) => now - p.lastSeenMs >= afterMs);
    for (const p of gone) this.byId.delete(p.id);
    return gone;
  }

  /** Does any peer match (without copying the table, as list() does)? */
  some(pred: (p: Readonly<PeerInfo>) => boolean): boolean {
    for (const p of this.byId.values()) if (pred(p)) return true;
    return false;
  }

  list(): PeerInfo[] {
    return [...this.byId.values()].map((p) => ({ ...p, announced: [...p.announced] }));
  }

  get size(): number {
    return this.byId.size;
  }
}
