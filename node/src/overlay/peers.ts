// The peer table: who we heard, where they are, which dialect they speak, what they announced.

import type { Dialect } from "./codec.js";

/** Versions remembered per peer (what it announced), newest last. */
const ANNOUNCED_KEEP = 16;
/** Peers held at once: forged SRCs must not grow the table (or our PEER_SYNC answers) without end. */
export const MAX_PEERS = 256;
/**
 * Peers heard from one address (ip:port) at once. One socket is one node, but several nodes may
 * share a port on one host (SO_REUSEADDR) and then send from the same address: a few, not 256
 * forged SRCs from one attacker's socket, each a destination of our deltas.
 */
export const MAX_PEERS_PER_SOURCE = 4;
/** Peers heard from one host (ip) at once: one machine's sockets must not fill the table either. */
export const MAX_PEERS_PER_HOST = 32;

export interface PeerInfo {
  id: string;
  /** Where we send to it (a Sprint 6.2 node's PEER_SYNC may name another port on its host). */
  address: string;
  port: number;
  /** The datagram source ("ip:port") it was first heard from: its SRC is bound there until it goes quiet. */
  source: string;
  dialect: Dialect;
  /** A DeltaFleet node (advertised in PEER_SYNC): takes binary chunks and range NAKs. */
  ours: boolean;
  firstSeenMs: number;
  lastSeenMs: number;
  rttMs: number | undefined;
  pinged: boolean;
  announced: string[];
  /** What a DeltaFleet peer said about itself in its last PEER_SYNC (codec SAYS_*; the node program reads it). */
  says: Record<string, string>;
}

export class PeerTable {
  private readonly byId = new Map<string, PeerInfo>();

  /**
   * Refreshes (or adds) a peer from a packet that came from `source` (ip:port); "new" when added,
   * "full" when the table (or that source's share of it) had no room. Whether the packet may speak
   * for a known id is bound(): callers check it first.
   */
  touch(id: string, address: string, port: number, dialect: Dialect, now: number, ours?: boolean, source = `${address}:${port}`): "new" | "known" | "full" {
    const p = this.byId.get(id);
    if (!p) {
      if (this.byId.size >= MAX_PEERS || !this.roomFor(source)) return "full";
      this.byId.set(id, { id, address, port, source, dialect, ours: ours ?? false, firstSeenMs: now, lastSeenMs: now,
        rttMs: undefined, pinged: false, announced: [], says: {} });
      return "new";
    }
    p.source = source;
    p.address = address;
    p.port = port;
    p.dialect = dialect;
    if (ours !== undefined) p.ours = ours;
    p.lastSeenMs = now;
    p.pinged = false;
    return "known";
  }

  /**
   * May a packet from `source` speak for `id`? A known id is bound to the source it was first heard
   * from until it has been silent quietMs: a forged SRC from elsewhere must not move it (its NAKs,
   * resends and unicasts would follow the forger). After the quiet, a restarted node may rebind.
   */
  bound(id: string, source: string, now: number, quietMs: number): boolean {
    const p = this.byId.get(id);
    return !p || p.source === source || now - p.lastSeenMs >= quietMs;
  }

  private roomFor(source: string): boolean {
    const host = source.slice(0, source.lastIndexOf(":"));
    let fromSource = 0, fromHost = 0;
    for (const p of this.byId.values()) {
      if (p.source === source) fromSource++;
      if (p.source.startsWith(`${host}:`)) fromHost++;
    }
    return fromSource < MAX_PEERS_PER_SOURCE && fromHost < MAX_PEERS_PER_HOST;
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

  /** Replaces what a peer says about itself (each PEER_SYNC says it all). */
  said(id: string, says: Record<string, string>): void {
    const p = this.byId.get(id);
    if (p) p.says = says;
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
    return [...this.byId.values()].map((p) => ({ ...p, announced: [...p.announced], says: { ...p.says } }));
  }

  get size(): number {
    return this.byId.size;
  }
}
