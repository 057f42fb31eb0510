// Discovery and liveness as the course does them: PEER_SYNC every syncIntervalMs (and at once to a
// peer heard for the first time), PING a peer silent pingAfterMs, forget it after pruneAfterMs; the
// peer table kept from every packet heard.

import type { RemoteInfo } from "node:dgram";
import type { Body, Dialect, Packet } from "./codec.js";
import type { Clock } from "./clock.js";
import type { PeerTable } from "./peers.js";
import { textDialect, type Router } from "./router.js";
import { bump, type OverlayStats } from "./stats.js";

export interface DiscoveryTimings {
  /** PEER_SYNC period (course: 5 s); also sent at once to a newly heard peer. */
  syncIntervalMs: number;
  /** PING a peer silent this long (course: 15 s). */
  pingAfterMs: number;
  /** Forget a peer silent this long (course: 30 s). */
  pruneAfterMs: number;
}

export interface DiscoveryWire {
  /** Paced, counted send of one control packet (never throws: failures are counted). */
  send(dialect: Dialect, body: Body, address: string, port: number): void;
  event(ev: string, fields: Record<string, unknown>): void;
}

export interface DiscoveryOptions {
  table: PeerTable;
  router: Router;
  /** The dialect we speak. */
  dialect: Dialect;
  timings: DiscoveryTimings;
  stats: OverlayStats;
  wire: DiscoveryWire;
  clock: Clock;
  /** What we say about ourselves in every V=1 PEER_SYNC to DeltaFleet nodes (OverlayOptions.says). */
  says?: () => Record<string, string>;
}

export class Discovery {
  constructor(private readonly o: DiscoveryOptions) {}

  /**
   * PEER_SYNC in our dialect to broadcast and static peers, in theirs to peers of the other dialect,
   * and by unicast to peers our broadcast does not reach.
   */
  sync(): void {
    const { router, dialect, wire } = this.o;
    const body: Body = { type: "PEER_SYNC", ours: dialect === "v1", says: this.says() };
    const bc = router.broadcastDest(dialect);
    if (bc) wire.send(dialect, body, bc.address, bc.port);
    for (const s of router.statics) wire.send(dialect, body, s.address, s.port);
    for (const p of this.o.table.list()) {
      if (router.isStatic(p)) continue;
      if (p.dialect !== dialect) wire.send(p.dialect, { ...body, ours: false }, p.address, p.port);
      else if (!router.hearsBroadcast(p)) wire.send(dialect, body, p.address, p.port);
    }
  }

  /**
   * Every packet refreshes its sender's entry; PEER_SYNC, PING and PONG end here (true), the rest goes
   * on to the transfers. Packets that may not speak for their SRC end here too, dropped and counted:
   * a known SRC from another source than the one it is bound to (forged_src), a NAK from a SRC never
   * heard before (nak_unknown_peer: a NAK introduces no one, and is answered only for peers).
   */
  heard(p: Packet, rinfo: RemoteInfo): boolean {
    const { table, wire, stats } = this.o;
    const now = this.o.clock.now();
    const dialect = textDialect(p.framing);
    const source = `${rinfo.address}:${rinfo.port}`;
    if (!table.bound(p.src, source, now, this.o.timings.pingAfterMs)) { bump(stats.datagramsDropped, "forged_src"); return true; }
    const known = table.get(p.src);
    if (!known && p.type === "CHUNK_NAK") { bump(stats.datagramsDropped, "nak_unknown_peer"); return true; }
    let address = rinfo.address;
    let port = rinfo.port;
    if (p.framing === "sprint62") {
      // Sprint 6.2 names its address in PEER_SYNC; its other packets keep what we know. The body is
      // believed only for the host the datagram came from (a node may listen on another port than
      // it sends from): an address it names elsewhere would make us unicast deltas to a stranger.
      if (p.type === "PEER_SYNC" && p.ip && p.port) {
        if (p.ip === rinfo.address) port = p.port;
        else stats.addressesIgnored++;
      } else if (known && known.source === source) { address = known.address; port = known.port; }
    }
    const ours = p.type === "PEER_SYNC" && p.framing === "v1" ? p.ours : p.framing === "binary" ? true : undefined;
    const seen = table.touch(p.src, address, port, dialect, now, ours, source);
    if (seen === "full") this.o.stats.peersRefused++;   // the packet itself is still handled
    if (seen === "new") {
      wire.event("peer", { id: p.src, address: `${address}:${port}`, dialect, ours: ours ?? false });
      // Answer at once so discovery takes one round trip, not one sync period.
      wire.send(dialect, { type: "PEER_SYNC", ours: dialect === "v1", says: this.says() }, address, port);
    }
    switch (p.type) {
      case "PEER_SYNC":
        if (p.ours) table.said(p.src, p.says ?? {});
        return true;
      case "PING":
        // Echo t0: the asker's RTT is then exact (the course sends its own clock; both parse).
        wire.send(dialect, { type: "PONG", t0: p.t0 }, address, port);
        return true;
      case "PONG": {
        const rtt = now - p.t0;
        const peer = table.get(p.src);
        if (peer && rtt >= 0 && rtt < this.o.timings.pingAfterMs) peer.rttMs = rtt;
        return true;
      }
      case "MODEL_META":
        table.announced(p.src, p.ver);
        return false;
      default:
        return false;
    }
  }

  private says(): Record<string, string> | undefined {
    if (this.o.dialect !== "v1" || !this.o.says) return undefined;
    try {
      return this.o.says();
    } catch (e) {
      this.o.wire.event("says-failed", { error: (e as Error).message });
      return undefined;
    }
  }

  /** Forgets peers silent pruneAfterMs, PINGs those silent pingAfterMs (once until heard again). */
  tick(): void {
    const { table, timings, wire } = this.o;
    const now = this.o.clock.now();
    for (const p of table.prune(now, timings.pruneAfterMs)) wire.event("peer-pruned", { id: p.id });
    for (const p of table.list()) {
      if (!p.pinged && now - p.lastSeenMs >= timings.pingAfterMs) {
        table.get(p.id)!.pinged = true;
        wire.send(p.dialect, { type: "PING", t0: now }, p.address, p.port);
      }
    }
  }
}
