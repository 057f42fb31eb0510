// A UDP relay between two processes on loopback whose callback decides, per datagram and
// direction, whether it gets through: the loss the interop tests need without root.
//
//   process A ──▶ sideA (A's peer address for B) ──[drop?]──▶ B
//   process B ──▶ sideB (B's peer address for A) ──[drop?]──▶ A
//
// Each side forwards from the other side's socket, so every reply path (NAKs, unicast resends to
// the datagram's source) stays inside the relay.

import { createSocket, type Socket } from "node:dgram";

const RELAY_RCVBUF_BYTES = 4 << 20;

export type Direction = "toA" | "toB";
export type DropFn = (datagram: Buffer, dir: Direction) => boolean;

export interface LossyProxyOptions {
  /** Where A and B really listen. */
  a: { host: string; port: number };
  b: { host: string; port: number };
  drop: DropFn;
}

export class LossyProxy {
  readonly stats = { toA: 0, toB: 0, droppedToA: 0, droppedToB: 0 };

  private constructor(private readonly sideA: Socket, private readonly sideB: Socket) {}

  /** Port A should send to to reach B (B's stand-in). */
  get portForA(): number { return this.sideB.address().port; }
  /** Port B should send to to reach A (A's stand-in). */
  get portForB(): number { return this.sideA.address().port; }

  static async start(opts: LossyProxyOptions): Promise<LossyProxy> {
    const bind = (): Promise<Socket> => new Promise((resolve, reject) => {
      const s = createSocket("udp4");
      s.once("error", reject);
      s.bind(0, "127.0.0.1", () => {
        // Course senders burst ~600 KB unpaced: without room the relay itself would lose chunks.
        // (Capped by net.core.rmem_max; CI raises it to 4 MiB.)
        s.setRecvBufferSize(RELAY_RCVBUF_BYTES);
        resolve(s);
      });
    });
    const sideA = await bind();   // A's stand-in: B sends here, it forwards to A
    const sideB = await bind();   // B's stand-in: A sends here, it forwards to B
    const p = new LossyProxy(sideA, sideB);
    sideB.on("message", (msg) => p.relay(msg, "toB", sideA, opts.b, opts.drop));
    sideA.on("message", (msg) => p.relay(msg, "toA", sideB, opts.a, opts.drop));
    return p;
  }

  private relay(msg: Buffer, dir: Direction, via: Socket, to: { host: string; port: number }, drop: DropFn): void {
    this.stats[dir]++;
    if (drop(msg, dir)) {
      this.stats[dir === "toA" ? "droppedToA" : "droppedToB"]++;
      return;
    }
    via.send(msg, to.port, to.host);
  }

  async close(): Promise<void> {
    await Promise.all([this.sideA, this.sideB].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** MODEL_CHUNK idx of a course datagram (either dialect), or null. */
export function chunkIdx(datagram: Buffer): number | null {
  const s = datagram.toString("latin1");
  if (!s.includes("MODEL_CHUNK")) return null;
  const m = /[|;]idx=(\d+)[;|]/.exec(s);
  return m ? Number(m[1]) : null;
}

/** Drops the first copy of each listed chunk idx going in one direction; the resend passes. */
export function dropFirstCopies(idx: Iterable<number>, dir: Direction): DropFn {
  const pending = new Set(idx);
  return (d, which) => {
    if (which !== dir) return false;
    const i = chunkIdx(d);
    return i !== null && pending.delete(i);
  };
}

/** Drops every chunk going in one direction whose idx is listed, every time (a sender that never repairs). */
export function dropAlways(idx: Iterable<number>, dir: Direction): DropFn {
  const set = new Set(idx);
  return (d, which) => {
    if (which !== dir) return false;
    const i = chunkIdx(d);
    return i !== null && set.has(i);
  };
}
