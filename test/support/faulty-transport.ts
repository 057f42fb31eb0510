// A real UDP transport whose callback decides, per datagram and direction, what happens to it:
// pass, drop, duplicate or delay (delays reorder). The repair logic's harness: packets still cross
// real sockets on loopback, only their fate is scripted.

import type { RemoteInfo } from "node:dgram";
import { decode, type Packet } from "../../node/src/overlay/codec.js";
import { UdpTransport, type BroadcastListener, type Transport, type UdpTransportOptions } from "../../node/src/overlay/transport.js";

export type Fate = "pass" | "drop" | "dup" | { delayMs: number };
export type Direction = "in" | "out";

/** What the callback sees: the raw bytes and, when they decode, the packet. */
export interface FaultContext { dir: Direction; buf: Uint8Array; packet: Packet | undefined; n: number }
export type FaultFn = (c: FaultContext) => Fate;

export interface FaultStats { passed: number; dropped: number; duplicated: number; delayed: number }

export class FaultyTransport implements Transport {
  readonly faults: FaultStats = { passed: 0, dropped: 0, duplicated: 0, delayed: 0 };
  private n = 0;

  private constructor(private readonly inner: Transport, private readonly fate: FaultFn) {}

  /** A factory for OverlayOptions.transport. */
  static factory(fate: FaultFn, keep?: (t: FaultyTransport) => void): (o: UdpTransportOptions) => Promise<Transport> {
    return async (o) => {
      const t = new FaultyTransport(await UdpTransport.open(o), fate);
      keep?.(t);
      return t;
    };
  }

  private decide(dir: Direction, buf: Uint8Array): Fate {
    const d = decode(buf);
    const f = this.fate({ dir, buf, packet: d.ok ? d.packet : undefined, n: this.n++ });
    if (f === "pass") this.faults.passed++;
    else if (f === "drop") this.faults.dropped++;
    else if (f === "dup") this.faults.duplicated++;
    else this.faults.delayed++;
    return f;
  }

  async send(buf: Uint8Array, port: number, address: string): Promise<void> {
    const f = this.decide("out", buf);
    if (f === "drop") return;
    if (f === "dup") { await this.inner.send(buf, port, address); return this.inner.send(buf, port, address); }
    if (f !== "pass") { const t = setTimeout(() => void this.inner.send(buf, port, address).catch(() => {}), f.delayMs); t.unref(); return; }
    return this.inner.send(buf, port, address);
  }

  onMessage(fn: (buf: Buffer, rinfo: RemoteInfo) => void): void {
    this.inner.onMessage((buf, rinfo) => {
      const f = this.decide("in", buf);
      if (f === "drop") return;
      if (f === "pass") return fn(buf, rinfo);
      if (f === "dup") { fn(buf, rinfo); return fn(buf, rinfo); }
      setTimeout(() => fn(buf, rinfo), f.delayMs).unref();
    });
  }

  address(): { address: string; port: number } {
    return this.inner.address();
  }

  bufferSizes(): { recvBufferBytes: number; sendBufferBytes: number } | undefined {
    return this.inner.bufferSizes?.();
  }

  broadcastListener(): BroadcastListener | undefined {
    return this.inner.broadcastListener?.();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Deterministic uniform [0, 1) from a seed: the same losses on every run. */
export { seededRandom as seeded } from "../../node/src/util/seeded-random.js";
