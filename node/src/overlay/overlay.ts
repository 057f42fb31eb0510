// The UDP overlay: one socket, delta send/receive with repair, wired to discovery (discovery.ts) and
// to the one place that decides who gets what in which framing (router.ts). Deltas are opaque bytes;
// the node program decodes and merges them in onDelta.

import type { RemoteInfo } from "node:dgram";
import type { Logger } from "pino";
import { BIN_SEQ_MODULUS, COURSE_NAK_MAX_IDX, decode, KIND_VALUE, encodeBinaryChunk, encodeRepairSymbol, isBinaryFrom, encodeText, ETHERNET_UDP_PAYLOAD_BYTES, nakRanges, SEQ_LIMIT,
  type Body, type Dialect, type Packet } from "./codec.js";
import { REAL_CLOCK, type Clock, type Timer } from "./clock.js";
import { Discovery, type DiscoveryTimings } from "./discovery.js";
import { resolveAddresses } from "./netif.js";
import { MAX_PEERS, PeerTable, type PeerInfo } from "./peers.js";
import { burstBytesFor, RateLimiter, type SendClass } from "./rate-limiter.js";
import { Receiver, type Completed, type NakRequest, type ReceiverLimits, type ReceiverTimings, type TransferInfo } from "./receiver.js";
import { Router, textDialect } from "./router.js";
import { Sender, type Dest, type OutgoingInfo, type RepairSymbol, type SentDelta, type SenderTimings } from "./sender.js";
import { bump, newStats, rejectReason, type OverlayStats } from "./stats.js";
import { UdpTransport, type Transport, type UdpTransportOptions } from "./transport.js";
import { isNodeId, NODE_ID_RULE } from "../util/ids.js";

export const DEFAULT_PORT = 5000;

export interface OverlayTimings extends ReceiverTimings, SenderTimings, DiscoveryTimings {
  /** Housekeeping period: course-schedule NAK checks, give-ups, expiry, liveness (fleet repair has its own timers). */
  tickMs: number;
  /**
   * No binary frames before we have listened this long: course nodes PEER_SYNC every 5 s, and a
   * Sprint 6.2 one we have not heard yet would die on a binary broadcast.
   */
  binaryAfterMs: number;
}

export const DEFAULT_TIMINGS: OverlayTimings = {
  syncIntervalMs: 5_000,
  pingAfterMs: 15_000,
  pruneAfterMs: 30_000,
  tickMs: 100,
  binaryAfterMs: 11_000,
  // Course senders (their own schedule): a 404 KB delta takes ~0.2 s; nothing for 0.5 s is the end.
  nakQuietMs: 500,
  repairQuietMs: 150,
  nakBackoffMs: 500,
  nakBackoffMaxMs: 4_000,
  // 0.5 + 0.5 + 1 + 2 + 4 × 4 s: a sender that never repairs is given up ~20 s after its last chunk.
  nakMaxRounds: 8,
  metaWaitMs: 10_000,
  transferIdleMs: 60_000,
  rememberMs: 10 * 60_000,
  retentionMs: 120_000,
  progressLogMs: 1_000,
  // DeltaFleet senders. A LAN round trip is well under 1 ms; what a repair waits for is the sender's
  // pooling window and its paced queue, so the re-ask wait is measured (NAK -> resend) per transfer.
  // A gap is NAKed when the next chunk shows it; gaps found within 2 ms of a NAK share the next one
  // (at 20 % loss a gap shows every ~0.6 ms at line rate: ~17 NAKs per receiver per pass, not ~60).
  nakBatchMs: 2,
  // Re-asks cost one small datagram and the sender drops those that crossed a resend (repairHoldMs),
  // so asking early is cheap and asking late is what makes a repair round slow.
  reaskMinMs: 4,
  reaskInitialMs: 10,
  // At line rate chunks come every 0.12 ms; 10 ms without one past the highest means the rest of the
  // pass was lost (a stalled sender just ignores a NAK for chunks it has not sent yet).
  tailQuietMs: 10,
  repairGiveUpMs: 20_000,
  // 2 ms pools the NAKs that several receivers send for one loss (they see the same next chunk at
  // the same time) into one broadcast resend, and costs a repair only 2 ms.
  repairCoalesceMs: 2,
  // While a receiver hears anything, its `heard` SEQ tells a lost copy (heard past it) from one still
  // on its way, however far a loaded box lags (8 receivers on 2 cores lag by tens of ms): the hold is
  // only a backstop. A repair batch ends with a repeat so a receiver that lost a resend hears past it;
  // one that has heard nothing for a tail quiet NAKs blind, and a blind NAK only waits for copies
  // younger than 10 ms.
  repairHoldMs: 1_000,
  repairHoldBlindMs: 10,
};

export const DEFAULT_LIMITS: ReceiverLimits = {
  maxChunksPerTransfer: 65_536,
  maxTransferBytes: 32 << 20,
  maxInFlightBytes: 64 << 20,
  maxTransfers: 32,
  maxTransfersPerSource: 4,
  maxRemembered: 4_096,
};

/**
 * 12 MB/s of UDP payload (96 Mbit/s): line rate of 100 Mbit/s Ethernet, for DeltaFleet receivers. A full 1,472-byte datagram
 * takes 1,538 bytes of wire time (UDP 8 + IP 20 + Ethernet 14 + FCS 4 + preamble 8 + gap 12), so the
 * wire carries at most 12.5 MB/s × 1472 / 1538 = 11.96 MB/s of payload. Slower leaves the link idle
 * (at the old 4 MB/s a 404 KB delta took 100 ms instead of 35); faster only queues in our own qdisc.
 * No receiver can be sent more than its link carries; what keeps its socket from overflowing while
 * its event loop is busy is SO_RCVBUF (SOCKET_BUFFER_BYTES). Wi-Fi carries less, and broadcasts at a
 * low basic rate: there, set --rate (e.g. 2 MB/s).
 */
export const DEFAULT_RATE_BYTES_PER_SEC = 12_000_000;
/**
 * Course nodes read with a Python loop that parses and base64-decodes every datagram, behind the
 * kernel's default 208 KB buffer (~150 text chunks): text chunks stay at 4 MB/s (32 Mbit/s), which
 * such a loop keeps up with; what it drops waits for the course's 3-5 s NAK.
 */
export const COURSE_RATE_BYTES_PER_SEC = 4_000_000;
/**
 * 4 MB asked for both ways: ~330 ms of line rate buffered, through any GC pause or merge. The kernel
 * caps it at net.core.rmem_max (Raspberry Pi OS: 208 KB, ~90 full datagrams or ~11 ms of line rate;
 * raise it with sysctl for larger deltas); the "ready" event reports what the socket really got.
 */
const SOCKET_BUFFER_BYTES = 4 << 20;
/** Course NAK lists: at most this many 25-idx datagrams per round (the rest next round). */
const COURSE_NAK_DATAGRAMS_PER_ROUND = 4;

export interface DeltaArrival { version: string; from: string; bytes: Uint8Array; sha256: string; metaAt: number }
/** A DeltaFleet-only transfer, reassembled and verified: `kind` says what its bytes are (META kind=). */
export interface PayloadArrival extends DeltaArrival { kind: string }

export interface OverlayOptions {
  nodeId: string;
  port?: number;
  /** IPv4 address or interface name; default 0.0.0.0. */
  bindAddress?: string;
  /** Broadcast address, "none", or undefined to derive it (off when peers are given). */
  broadcastAddress?: string;
  /** Static peers "host:port", always sent to by unicast. */
  peers?: string[];
  /** Dialect we speak (we hear both). */
  dialect?: Dialect;
  /** Use binary chunk framing between DeltaFleet nodes (default true). */
  binary?: boolean;
  /**
   * Coded repair (sender.ts repairCoded): holes of a binary broadcast transfer answered with parity
   * symbols per block. Default on; off, every NAK is answered with resends (bench:sync's "plain").
   */
  codedRepair?: boolean;
  rateBytesPerSec?: number;
  /** Bucket depth; by default a quarter second of the rate (rate-limiter.ts: burstBytesFor). */
  burstBytes?: number;
  maxDatagramBytes?: number;
  logger?: Logger;
  /**
   * Decode and merge; throw an Error with a `reason` of REJECT_REASONS to reject with that reason
   * ("error" otherwise). Resolving with "duplicate" says the node already held it (counted as a
   * rejected duplicate, not applied).
   */
  onDelta?: (d: DeltaArrival) => Promise<"applied" | "duplicate" | void>;
  isApplied?: (version: string) => boolean;
  /** Delivery of a DeltaFleet-only transfer (sendPayload); a throw is logged and counted as rejected. */
  onPayload?: (p: PayloadArrival) => Promise<void> | void;
  /** A CONTROL datagram from one of our nodes heard before (others are dropped: control_unknown_peer). */
  onControl?: (from: string, kind: string, body: Record<string, string>) => void;
  /** What we say about ourselves in each V=1 PEER_SYNC to DeltaFleet nodes (codec SAYS_KEY / SAYS_VALUE). */
  says?: () => Record<string, string>;
  /**
   * Is this sender one of the fleet's (the roster)? Its transfers take the slots; the others share a
   * small pool (ReceiverLimits.maxUntrustedTransfers). Default: a SRC heard in a PEER_SYNC and still in
   * the peer table.
   */
  isTrusted?: (src: string) => boolean;
  /**
   * The fleet's roster, when the node has one: payloads (entries, indexes) go to its members only,
   * only members are a transfer's audience and share its repair pool (anyone else earns repair by
   * the bytes of its NAKs, at most 2×), and isTrusted defaults to it.
   */
  isMember?: (src: string) => boolean;
  /** Every event the overlay logs, as one object (the agent prints them as JSON lines). */
  onEvent?: (ev: string, fields: Record<string, unknown>) => void;
  timings?: Partial<OverlayTimings>;
  limits?: Partial<ReceiverLimits>;
  /** Tests wrap the real socket with faults. */
  transport?: (o: UdpTransportOptions) => Promise<Transport>;
  /** Time for every timer and timestamp (tests: test/support/fake-clock.ts); pacing keeps real time. */
  clock?: Clock;
}

export class Overlay {
  readonly stats: OverlayStats = newStats();
  readonly nodeId: string;
  private readonly nodeIdBytes: Buffer;
  readonly dialect: Dialect;
  readonly port: number;
  readonly ownIp: string;
  readonly broadcastAddress: string | undefined;
  readonly timings: OverlayTimings;
  private readonly clock: Clock;
  private readonly table = new PeerTable();
  private readonly router: Router;
  private readonly discovery: Discovery;
  private readonly limiter: RateLimiter;
  /** Text chunks also pass this one (COURSE_RATE_BYTES_PER_SEC, or the overall rate if lower). */
  private readonly courseLimiter: RateLimiter;
  private readonly receiver: Receiver;
  private readonly sender: Sender;
  private readonly maxDatagramBytes: number;
  private seq = 0;
  private closed = false;
  /** SRCs heard in a PEER_SYNC (the default trust: see OverlayOptions.isTrusted); pruned with the table. */
  private readonly synced = new Set<string>();
  /** The next run of each periodic job (close() cancels them). */
  private readonly loops: Array<{ timer: Timer | undefined }> = [];
  private readonly logger: Logger | undefined;

  private constructor(private readonly transport: Transport, private readonly o: OverlayOptions, addr: { ownIp: string; broadcastAddress: string | undefined }) {
    this.nodeId = o.nodeId;
    this.nodeIdBytes = Buffer.from(o.nodeId, "latin1");
    this.logger = o.logger?.child({ mod: "overlay" });
    this.dialect = o.dialect ?? "v1";
    this.port = transport.address().port;
    this.ownIp = addr.ownIp;
    this.broadcastAddress = addr.broadcastAddress;
    this.timings = { ...DEFAULT_TIMINGS, ...o.timings };
    this.clock = o.clock ?? REAL_CLOCK;
    const rate = o.rateBytesPerSec ?? DEFAULT_RATE_BYTES_PER_SEC;
    this.maxDatagramBytes = o.maxDatagramBytes ?? ETHERNET_UDP_PAYLOAD_BYTES;
    const courseRate = rate > 0 && Number.isFinite(rate) ? Math.min(rate, COURSE_RATE_BYTES_PER_SEC) : rate;
    this.limiter = new RateLimiter({ bytesPerSec: rate, burstBytes: o.burstBytes ?? burstBytesFor(rate, this.maxDatagramBytes) });
    this.courseLimiter = new RateLimiter({ bytesPerSec: courseRate, burstBytes: o.burstBytes ?? burstBytesFor(courseRate, this.maxDatagramBytes) });
    this.router = new Router({ table: this.table, port: this.port, ownIp: this.ownIp, broadcastAddress: this.broadcastAddress,
      statics: (o.peers ?? []).map(parseHostPort), dialect: this.dialect, binary: o.binary ?? true, binaryAfterMs: this.timings.binaryAfterMs, clock: this.clock,
      ...(o.isMember ? { isMember: o.isMember } : {}) });
    this.discovery = new Discovery({ table: this.table, router: this.router, dialect: this.dialect, timings: this.timings, stats: this.stats, clock: this.clock, says: o.says,
      wire: { send: (d, body, address, port) => void this.raw(this.text(d, body), address, port), event: (ev, f) => this.event(ev, f) } });
    this.receiver = new Receiver({ ...DEFAULT_LIMITS, ...o.limits }, this.timings, this.stats, {
      deliver: (c) => void this.deliver(c),
      nak: (r) => void this.sendNak(r),
      isApplied: (v) => o.isApplied?.(v) ?? false,
      isFleet: (src) => this.table.get(src)?.ours ?? false,
      isTrusted: o.isTrusted ?? o.isMember ?? ((src) => this.synced.has(src) && this.table.get(src) !== undefined),
      event: (ev, f) => this.event(ev, f),
    }, this.clock);
    this.sender = new Sender({
      nodeId: this.nodeId,
      maxDatagramBytes: this.maxDatagramBytes,
      sendMeta: (d, t) => this.sendMeta(d, t),
      sendChunk: (d, t, i, kind) => this.sendChunk(d, t, i, kind),
      ...(o.codedRepair === false ? {} : { sendRepairSymbol: async (d: Dest, t: OutgoingInfo, sym: RepairSymbol) => {
        const h = this.header();
        await this.raw(encodeRepairSymbol(h, { ver: t.version, ...sym }), d.address, d.port, "urgent");
        this.stats.repairSymbols++;
        return h.seq % BIN_SEQ_MODULUS;
      } }),
      sendRepaired: async (d, t, idx) => {
        await this.raw(this.text("v1", { type: "REPAIRED", ver: t.version, idx }), d.address, d.port);
        this.stats.repairMarkers++;
      },
      canBroadcast: (f) => this.router.broadcastDest(f),
      hearsBroadcast: (d) => this.router.hearsBroadcast(d),
      ...(o.isMember ? { isMemberSource: (s: string) => this.table.list().some((p) => p.source === s && o.isMember!(p.id)) } : {}),
      event: (ev, f) => this.event(ev, f),
    }, this.timings, this.stats, this.clock);
  }

  static async start(o: OverlayOptions): Promise<Overlay> {
    if (!isNodeId(o.nodeId)) {
      throw new Error(`overlay: node id ${JSON.stringify(o.nodeId)} must be ${NODE_ID_RULE}`);
    }
    const addr = resolveAddresses(o.bindAddress ?? "0.0.0.0", o.broadcastAddress, !(o.peers?.length));
    // Bound to a unicast address (an interface's, or --bind <address>) a socket hears no broadcasts:
    // a second one listens on the broadcast address, or the node would never hear a course node.
    const unicastBind = addr.bindAddress !== "0.0.0.0" && addr.bindAddress !== addr.broadcastAddress;
    const topts: UdpTransportOptions = { port: o.port ?? DEFAULT_PORT, bindAddress: addr.bindAddress,
      recvBufferBytes: SOCKET_BUFFER_BYTES, sendBufferBytes: SOCKET_BUFFER_BYTES,
      broadcastAddress: unicastBind ? addr.broadcastAddress : undefined };
    const transport = await (o.transport ?? UdpTransport.open)(topts);
    const ov = new Overlay(transport, o, addr);
    transport.onMessage((buf, rinfo) => ov.onDatagram(buf, rinfo));
    ov.repeat(ov.timings.syncIntervalMs, () => ov.discovery.sync());
    ov.repeat(ov.timings.tickMs, () => ov.tick());
    const listener = transport.broadcastListener?.();
    if (listener?.error) ov.event("broadcast-unheard", { address: listener.address, port: ov.port, error: listener.error });
    ov.event("ready", { id: ov.nodeId, address: addr.bindAddress, port: ov.port, broadcast: ov.broadcastAddress ?? null,
      hearsBroadcast: !unicastBind || (listener !== undefined && !listener.error),
      peers: o.peers ?? [], dialect: ov.dialect, ownIp: ov.ownIp, ...transport.bufferSizes?.() });
    ov.discovery.sync();
    return ov;
  }

  // ---- public API ------------------------------------------------------------------------------

  /** Broadcasts (or unicasts, see the plan) a delta; resolves once every chunk went out once. */
  sendDelta(bytes: Uint8Array): Promise<SentDelta> {
    if (this.closed) return Promise.reject(new Error("overlay: sendDelta after close()"));
    return this.sender.send(bytes, this.router.plan());
  }

  /**
   * A DeltaFleet-only transfer (META `kind=`) to our own nodes: `to` (peer ids) by unicast, or all
   * of them (Router.payloadPlan); the same chunking, deflate and NAK repair as a delta. Course nodes
   * never get one. Resolves once every chunk went out once; with nobody to send to, at once (chunks 0).
   */
  sendPayload(bytes: Uint8Array, opts: { kind: string; to?: readonly string[] }): Promise<SentDelta> {
    if (this.closed) return Promise.reject(new Error("overlay: sendPayload after close()"));
    if (!KIND_VALUE.test(opts.kind)) return Promise.reject(new Error(`overlay: payload kind ${JSON.stringify(opts.kind)} is not ${KIND_VALUE}`));
    const plan = this.router.payloadPlan(opts.to);
    if (plan.dests.length === 0) return Promise.resolve({ version: "", bytes: bytes.length, chunks: 0, sha256: "", chunkBytes: 0, wireBytes: 0 });
    this.stats.payloadsSent++;
    return this.sender.send(bytes, plan, opts.kind);
  }

  /** One CONTROL datagram to one of our nodes heard before; false (nothing sent) when `to` is not one. */
  async sendControl(to: string, kind: string, body: Record<string, string>): Promise<boolean> {
    const dest = this.router.controlTo(to);
    if (!dest || this.closed) return false;
    await this.raw(this.text("v1", { type: "CONTROL", kind, body }), dest.address, dest.port);
    this.stats.controlsSent++;
    return true;
  }

  peers(): PeerInfo[] {
    return this.table.list();
  }

  transfers(): TransferInfo[] {
    return this.receiver.list();
  }

  /** Bytes held by incomplete incoming transfers (bounded by limits.maxInFlightBytes). */
  get bytesInFlight(): number {
    return this.receiver.bytesInFlight;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.loops) l.timer?.cancel();
    this.sender.close();
    await this.transport.close();
  }

  // ---- sending ---------------------------------------------------------------------------------

  private header(): { src: string; seq: number } {
    this.seq = this.seq + 1 >= SEQ_LIMIT ? 1 : this.seq + 1;
    return { src: this.nodeId, seq: this.seq };
  }

  /** Paced send; a first pass is "bulk", everything else (repairs, NAKs, control) goes before it. */
  private async raw(buf: Uint8Array, address: string, port: number, cls: SendClass = "urgent"): Promise<void> {
    if (this.closed) return;
    address = this.router.wireAddress(address, port);
    await this.limiter.take(buf.length, cls);
    if (this.closed) return;
    try {
      await this.transport.send(buf, port, address);
      this.stats.datagramsSent++;
      this.stats.bytesSent += buf.length;
    } catch (e) {
      this.stats.sendErrors++;
      this.log("warn", "send-failed", { to: `${address}:${port}`, bytes: buf.length, error: (e as Error).message });
    }
  }

  private text(d: Dialect, body: Body, ranges?: string, h = this.header()): Buffer {
    return encodeText(d, h, body, { ownIp: this.ownIp, ownPort: this.port, ranges });
  }

  private sendMeta(d: Dest, t: OutgoingInfo): Promise<void> {
    return this.raw(this.text(textDialect(d.framing), { type: "MODEL_META", ver: t.version, size: t.size, chunks: t.chunks.length, sha256: t.sha256, enc: t.enc, rawSha256: t.rawSha256, kind: t.kind }),
      d.address, d.port, "bulk");
  }

  private async sendChunk(d: Dest, t: OutgoingInfo, idx: number, kind: "first" | "repeat" | "repair"): Promise<number> {
    const data = t.chunks[idx]!;
    const total = t.chunks.length;
    const h = this.header();
    const buf = d.framing === "binary"
      ? encodeBinaryChunk(h, t.version, idx, total, data)
      : this.text(d.framing, { type: "MODEL_CHUNK", ver: t.version, idx, total, data }, undefined, h);
    if (d.framing !== "binary") await this.courseLimiter.take(buf.length, kind === "repair" ? "urgent" : "bulk");
    await this.raw(buf, d.address, d.port, kind === "repair" ? "urgent" : "bulk");
    if (kind === "repair") this.stats.retransmits++;
    else if (kind === "repeat") this.stats.tailRepeats++;
    else this.stats.fragmentsSent++;
    return h.seq % BIN_SEQ_MODULUS;
  }

  private async sendNak(r: NakRequest): Promise<void> {
    const to = this.router.nakTo(r.from, r);
    const body = (missing: number[], wantMeta: boolean): Body => ({ type: "CHUNK_NAK", ver: r.version, missing, wantMeta, heard: r.heard });
    const datagrams: Buffer[] = [];
    if (to.ranges) {
      // One datagram of ranges; what does not fit is asked for next round.
      let list = r.missing;
      let buf = this.text("v1", body([], r.wantMeta), nakRanges(list));
      while (buf.length > this.maxDatagramBytes && list.length > 1) {
        list = list.slice(0, Math.floor(list.length / 2));
        buf = this.text("v1", body([], r.wantMeta), nakRanges(list));
      }
      datagrams.push(buf);
    } else if (r.missing.length === 0) {
      if (to.dialect === "sprint62") return;   // no META request in the course's Sprint 6.2
      datagrams.push(this.text(to.dialect, body([], r.wantMeta)));
    } else {
      for (let i = 0; i < r.missing.length && datagrams.length < COURSE_NAK_DATAGRAMS_PER_ROUND; i += COURSE_NAK_MAX_IDX) {
        datagrams.push(this.text(to.dialect, body(r.missing.slice(i, i + COURSE_NAK_MAX_IDX), false)));
      }
    }
    this.event("nak", { version: r.version, to: r.from, missing: r.missing.length, datagrams: datagrams.length, wantMeta: r.wantMeta });
    for (const d of datagrams) {
      await this.raw(d, to.address, to.port);
      this.stats.naksSent++;
    }
  }

  // ---- receiving -------------------------------------------------------------------------------

  private onDatagram(buf: Buffer, rinfo: RemoteInfo): void {
    try {
      this.stats.datagramsReceived++;
      this.stats.bytesReceived += buf.length;
      // Our own broadcast chunks come back to us (every socket on the port hears a broadcast).
      if (isBinaryFrom(buf, this.nodeIdBytes)) { bump(this.stats.datagramsDropped, "own"); return; }
      const d = decode(buf);
      if (!d.ok) { bump(this.stats.datagramsDropped, d.reason); return; }
      const p = d.packet;
      if (p.src === this.nodeId) { bump(this.stats.datagramsDropped, "own"); return; }
      if (p.type === "PEER_SYNC") this.syncedFrom(p.src);
      if (!this.discovery.heard(p, rinfo)) this.handle(p, rinfo, buf.length);
    } catch (e) {
      // The receive path never throws: a bug here costs one datagram, counted, not the node.
      bump(this.stats.datagramsDropped, "internal_error");
      this.log("error", "receive-error", { error: (e as Error).stack });
    }
  }

  private syncedFrom(src: string): void {
    this.synced.add(src);
    // Forged SRCs must not grow it without end: keep those the (bounded) peer table still knows.
    if (this.synced.size > 2 * MAX_PEERS) for (const s of this.synced) if (s !== src && !this.table.get(s)) this.synced.delete(s);
  }

  /** What discovery left: the transfers. */
  private handle(p: Packet, rinfo: RemoteInfo, bytes: number): void {
    switch (p.type) {
      case "MODEL_META":
        this.receiver.onMeta({ src: p.src, ver: p.ver, chunks: p.chunks, size: p.size, sha256: p.sha256, enc: p.enc, rawSha256: p.rawSha256, kind: p.kind }, rinfo.address, rinfo.port, p.framing);
        return;
      case "CONTROL": {
        // Discovery already dropped a SRC bound elsewhere; a request must also come from one of ours.
        if (!this.table.get(p.src)?.ours) { bump(this.stats.datagramsDropped, "control_unknown_peer"); return; }
        this.stats.controlsReceived++;
        try { this.o.onControl?.(p.src, p.kind, p.body); } catch (e) { this.log("error", "control-error", { from: p.src, kind: p.kind, error: (e as Error).message }); }
        return;
      }
      case "REPAIRED":
        this.receiver.onRepaired({ src: p.src, ver: p.ver, idx: p.idx, seq: p.seq % BIN_SEQ_MODULUS }, rinfo.address, rinfo.port);
        return;
      case "REPAIR_SYMBOL":
        this.receiver.onRepairSymbol({ src: p.src, ver: p.ver, block: p.block, k: p.k, symbol: p.symbol, tailLen: p.tailLen, data: p.data, seq: p.seq }, rinfo.address, rinfo.port);
        return;
      case "MODEL_CHUNK":
        this.stats.fragmentsReceived++;
        this.receiver.onChunk({ src: p.src, ver: p.ver, idx: p.idx, total: p.total, data: p.data, seq: p.seq }, rinfo.address, rinfo.port, p.framing);
        return;
      case "CHUNK_NAK":
        this.stats.naksReceived++;
        // Discovery let through only NAKs from known peers at their bound source.
        this.sender.earn(`${rinfo.address}:${rinfo.port}`, bytes);
        this.sender.onNak(p.ver, p.ranges ?? p.missing, p.wantMeta, this.router.resendTo(p.src, rinfo, textDialect(p.framing)), p.heard, p.src);
        return;
    }
  }

  private async deliver(c: Completed): Promise<void> {
    if (c.kind !== undefined) return this.deliverPayload({ ...c, kind: c.kind });
    const ms = this.clock.now() - c.metaAt;
    this.event("delta-received", { version: c.version, from: c.from, sha256: c.sha256, bytes: c.bytes.length, ms });
    try {
      if ((await this.o.onDelta?.(c)) === "duplicate") {
        bump(this.stats.deltasRejected, "duplicate");
        return;
      }
      this.stats.deltasApplied++;
    } catch (e) {
      const reason = rejectReason((e as { reason?: unknown } | undefined)?.reason);
      bump(this.stats.deltasRejected, reason);
      this.event("delta-rejected", { version: c.version, from: c.from, reason, detail: (e as Error).message });
    }
  }

  private async deliverPayload(c: PayloadArrival): Promise<void> {
    this.event("payload-received", { version: c.version, from: c.from, kind: c.kind, bytes: c.bytes.length, ms: this.clock.now() - c.metaAt });
    if (!this.o.onPayload) { bump(this.stats.datagramsDropped, "payload_unwanted"); return; }
    try {
      await this.o.onPayload(c);
      this.stats.payloadsDelivered++;
    } catch (e) {
      const reason = rejectReason((e as { reason?: unknown } | undefined)?.reason);
      bump(this.stats.deltasRejected, reason);
      this.event("payload-rejected", { version: c.version, from: c.from, kind: c.kind, reason, detail: (e as Error).message });
    }
  }

  // ---- housekeeping ----------------------------------------------------------------------------

  /** Runs fn every ms on the clock until close(); a throw in fn does not stop it. */
  private repeat(ms: number, fn: () => void): void {
    const loop: { timer: Timer | undefined } = { timer: undefined };
    const run = (): void => {
      if (this.closed) return;
      try { fn(); } finally { if (!this.closed) loop.timer = this.clock.after(ms, run); }
    };
    loop.timer = this.clock.after(ms, run);
    this.loops.push(loop);
  }

  private tick(): void {
    try {
      this.receiver.tick();
      this.sender.tick();
      this.discovery.tick();
    } catch (e) {
      this.log("error", "tick-error", { error: (e as Error).stack });
    }
  }

  // ---- logs and events -------------------------------------------------------------------------

  private event(ev: string, fields: Record<string, unknown>): void {
    // A receiver NAKs tens of times per delta at high loss: per-NAK lines are debug, the sender's
    // "repaired" (one per batch) says what the repairs did.
    const level = ev === "gave-up" || ev === "delta-rejected" || ev === "payload-rejected" || ev === "broadcast-unheard" ? "warn" : ev === "nak" ? "debug" : "info";
    this.log(level, ev, fields);
    try { this.o.onEvent?.(ev, fields); } catch { /* a listener's bug is not the overlay's */ }
  }

  private log(level: "debug" | "info" | "warn" | "error", ev: string, fields: Record<string, unknown>): void {
    this.logger?.[level]({ ev, ...fields }, ev);
  }
}

export function parseHostPort(s: string): { address: string; port: number } {
  const m = /^([^:]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw new Error(`overlay: peer ${JSON.stringify(s)} is not host:port (e.g. 10.0.0.7:5000)`);
  return { address: m[1]!, port: Number(m[2]) };
}
