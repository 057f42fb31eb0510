// Who gets what, in which framing: binary DeltaFleet frames, V=1 text or Sprint 6.2 text, per
// destination, decided here and nowhere else (a delta's first pass, a resend, a NAK), and the
// address a datagram really goes to.

import type { Dialect, Framing } from "./codec.js";
import type { Clock } from "./clock.js";
import type { PeerInfo, PeerTable } from "./peers.js";
import type { Dest, SendPlan } from "./sender.js";

export interface HostPort { address: string; port: number }

export interface RouterOptions {
  table: PeerTable;
  /** Our port: broadcasts go to it, so only peers listening on it hear them. */
  port: number;
  ownIp: string;
  /** undefined: broadcasting is off. */
  broadcastAddress: string | undefined;
  /** Static peers (--peer), always sent to by unicast. */
  statics: HostPort[];
  /** The dialect we speak. */
  dialect: Dialect;
  /** Binary frames between DeltaFleet nodes at all (OverlayOptions.binary). */
  binary: boolean;
  /** No binary first pass before we have listened this long (a Sprint 6.2 node may not have spoken yet). */
  binaryAfterMs: number;
  clock: Clock;
  /**
   * The fleet's members (the node's roster), when it has one: DeltaFleet-only payloads go to them
   * and nobody else, and only they are a transfer's audience. Without it, every DeltaFleet peer is.
   */
  isMember?: (id: string) => boolean;
}

/** How a NAK goes to a sender: where, in which dialect, as ranges (DeltaFleet) or course `missing=` lists. */
export interface NakRoute extends HostPort { dialect: Dialect; ranges: boolean }

/** Control packets (META, NAK, REPAIRED) are always text: V=1 where the chunks are binary frames. */
export function textDialect(f: Framing): Dialect {
  return f === "binary" ? "v1" : f;
}

export class Router {
  private readonly startedAt: number;

  constructor(private readonly o: RouterOptions) {
    this.startedAt = o.clock.now();
  }

  /**
   * The one rule for binary frames: only to a DeltaFleet node that speaks V=1, with binary on, and
   * never while a Sprint 6.2 node is known (one non-UTF-8 datagram kills its listener, and a binary
   * broadcast or a resend meant for a neighbour may reach it).
   */
  private takesBinary(p: PeerInfo): boolean {
    return this.o.binary && p.ours && p.dialect === "v1" && !this.o.table.some((q) => q.dialect === "sprint62");
  }

  /** The framing a peer is sent chunks in (resends too). */
  framingFor(p: PeerInfo): Framing {
    return this.takesBinary(p) ? "binary" : p.dialect;
  }

  /**
   * Who gets a delta and how: binary only when every peer we know (and every static peer) takes it,
   * we speak V=1 and have listened binaryAfterMs; otherwise the course's text, V=1 to V=1 peers and
   * Sprint 6.2 to Sprint 6.2 peers. Broadcast where we may, plus unicast to peers it does not reach.
   */
  plan(): SendPlan {
    return this.planFor();
  }

  /** plan(), with the binary broadcast's unicast copies and audience limited to `only` (payloads: the members). */
  private planFor(only?: (p: PeerInfo) => boolean): SendPlan {
    const peers = this.o.table.list();
    const unknown = this.staticsUnknown();
    const dests: Dest[] = [];
    const listened = this.o.clock.now() - this.startedAt >= this.o.binaryAfterMs;
    if (listened && this.o.dialect === "v1" && peers.length > 0 && unknown.length === 0 && peers.every((p) => this.framingFor(p) === "binary")) {
      const to = only ? peers.filter(only) : peers;
      dests.push(...this.reach(this.broadcastDest("binary"), to, "binary"));
      return { sizing: ["binary"], dests: unique(dests), audience: this.audience(to) };
    }
    const v1 = peers.filter((p) => p.dialect === "v1");
    const s62 = peers.filter((p) => p.dialect === "sprint62");
    const sizing = new Set<Framing>();
    if (v1.length > 0 || (this.o.dialect === "v1" && peers.length === 0)) {
      sizing.add("v1");
      dests.push(...this.reach(this.broadcastDest("v1"), v1, "v1"));
    }
    if (s62.length > 0 || (this.o.dialect === "sprint62" && peers.length === 0)) {
      sizing.add("sprint62");
      // Sprint 6.2 senders broadcast only META; we do the same for chunks when it is our dialect.
      const bc = this.o.dialect === "sprint62" ? this.broadcastDest("sprint62") : undefined;
      dests.push(...this.reach(bc, s62, "sprint62"));
    }
    for (const s of unknown) { sizing.add(this.o.dialect); dests.push(unicast(s, this.o.dialect)); }
    if (sizing.size === 0) sizing.add(this.o.dialect);
    return { sizing: [...sizing], dests: unique(dests), audience: this.audience(peers) };
  }

  /**
   * Who gets a DeltaFleet-only payload (META kind=): our own nodes and nobody else, `to` (peer ids)
   * or all of them. The delta's binary broadcast when it is for all and every peer takes binary
   * (one copy for the fleet); else unicast to each, in its framing (V=1 text while a Sprint 6.2 node
   * is known). A static peer not heard yet is not sent one: it may be a course node.
   */
  payloadPlan(to?: readonly string[]): SendPlan {
    const member = this.o.isMember;
    if (!to) {
      const all = this.planFor(member && ((p) => member(p.id)));
      if (all.dests.length > 0 && all.dests.every((d) => d.framing === "binary")) return all;
    }
    const ours = this.o.table.list().filter((p) => p.ours && p.dialect === "v1" && (!to || to.includes(p.id)) && (!member || member(p.id)));
    const dests = unique(ours.map((p) => unicast(p, this.framingFor(p))));
    const sizing: Framing[] = dests.length > 0 && dests.every((d) => d.framing === "binary") ? ["binary"] : ["v1"];
    return { sizing, dests, audience: [...new Set(ours.map((p) => p.source))] };
  }

  /** Where a CONTROL to peer `id` goes: undefined unless it is one of our nodes heard before. */
  controlTo(id: string): HostPort | undefined {
    const p = this.o.table.get(id);
    return p?.ours && p.dialect === "v1" ? { address: p.address, port: p.port } : undefined;
  }

  /** Who a delta is meant for, as their NAKs will come from: the peers we know now and the static ones. */
  private audience(peers: PeerInfo[]): string[] {
    return [...new Set([...peers.map((p) => p.source), ...this.o.statics.map((s) => `${s.address}:${s.port}`)])];
  }

  /** The broadcast, if any, plus unicast to the peers it does not reach. */
  private reach(bc: Dest | undefined, to: PeerInfo[], framing: Framing): Dest[] {
    return [...(bc ? [bc] : []), ...to.filter((p) => !bc || !this.hearsBroadcast(p)).map((p) => unicast(p, framing))];
  }

  /** Broadcast destination for a framing, unless that framing must not be broadcast now. */
  broadcastDest(f: Framing): Dest | undefined {
    if (!this.o.broadcastAddress) return undefined;
    // Binary kills a Sprint 6.2 listener: never broadcast it while one may hear.
    if (f === "binary" && this.o.table.some((p) => p.dialect === "sprint62")) return undefined;
    return { address: this.o.broadcastAddress, port: this.o.port, framing: f, broadcast: true };
  }

  /**
   * Our broadcast goes to our port: a peer listening on another one (a second node on this host,
   * `--port 5001 --peer 127.0.0.1:5000`) is reached by unicast only, however it was found.
   */
  hearsBroadcast(p: { port: number }): boolean {
    return this.o.broadcastAddress !== undefined && p.port === this.o.port;
  }

  /** Where resends for a NAK from `src` go (where the NAK came from, course behaviour) and in which framing. */
  resendTo(src: string, from: HostPort, dialect: Dialect): Dest {
    const peer = this.o.table.get(src);
    return { address: from.address, port: from.port, framing: peer ? this.framingFor(peer) : dialect, broadcast: false };
  }

  /** A NAK to the sender `src` of a transfer we saw from `seen` (in its framing). */
  nakTo(src: string, seen: HostPort & { framing: Framing }): NakRoute {
    const peer = this.o.table.get(src);
    const dialect: Dialect = peer?.dialect ?? textDialect(seen.framing);
    return { address: peer?.address ?? seen.address, port: peer?.port ?? seen.port, dialect, ranges: peer?.ours === true && dialect === "v1" };
  }

  get statics(): readonly HostPort[] {
    return this.o.statics;
  }

  isStatic(p: HostPort): boolean {
    return this.o.statics.some((s) => s.address === p.address && s.port === p.port);
  }

  private staticsUnknown(): HostPort[] {
    const known = this.o.table.list();
    return this.o.statics.filter((s) => !known.some((p) => p.address === s.address && p.port === s.port));
  }

  /**
   * Several nodes sharing one port on one host (SO_REUSEADDR): Linux hands a unicast datagram to
   * only the last socket bound, so a NAK or PONG for a neighbour goes by broadcast instead.
   */
  wireAddress(address: string, port: number): string {
    const b = this.o.broadcastAddress;
    return port === this.o.port && b && (address === this.o.ownIp || address.startsWith("127.")) ? b : address;
  }
}

/**
 * One copy per destination: several SRCs heard from one address (forged, or nodes sharing a port)
 * are one socket, which one copy reaches.
 */
function unique(dests: Dest[]): Dest[] {
  const seen = new Set<string>();
  return dests.filter((d) => {
    const k = `${d.framing} ${d.address}:${d.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function unicast(p: HostPort, framing: Framing): Dest {
  return { address: p.address, port: p.port, framing, broadcast: false };
}
