// The UDP socket an overlay sends and receives on, behind a small interface so tests can wrap it
// with faults (test/support/faulty-transport.ts) while the packets still cross real sockets. Bound
// to a unicast address, it has a second, receive-only socket on the broadcast address: Linux gives a
// socket bound to a unicast address no broadcasts at all.

import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

export interface Transport {
  send(buf: Uint8Array, port: number, address: string): Promise<void>;
  onMessage(fn: (buf: Buffer, rinfo: RemoteInfo) => void): void;
  address(): { address: string; port: number };
  /** What the kernel granted for SO_RCVBUF / SO_SNDBUF (it caps the wish at rmem_max / wmem_max). */
  bufferSizes?(): { recvBufferBytes: number; sendBufferBytes: number } | undefined;
  /** The broadcast address a second socket listens on (UdpTransportOptions.broadcastAddress), or why it could not. */
  broadcastListener?(): BroadcastListener | undefined;
  close(): Promise<void>;
}

export interface UdpTransportOptions {
  port: number;
  bindAddress: string;
  /** Kernel receive buffer wish (capped by net.core.rmem_max). */
  recvBufferBytes: number;
  sendBufferBytes: number;
  /**
   * Also receive what is sent to this address and the port (for a unicast bindAddress, which hears
   * no broadcasts). A failure to bind it leaves the transport working, unicast only, and is reported
   * by broadcastListener().
   */
  broadcastAddress?: string;
}

export interface BroadcastListener { address: string; error?: string }

export class UdpTransport implements Transport {
  private constructor(private readonly sock: Socket, private readonly bcast: Socket | undefined, private readonly listener: BroadcastListener | undefined) {}

  static async open(o: UdpTransportOptions): Promise<UdpTransport> {
    const sock = await bound(o.bindAddress, o.port, o.recvBufferBytes).catch((e: Error) => {
      throw new Error(`${e.message} (is --bind an address of this host?)`);
    });
    sock.setBroadcast(true);
    try { sock.setSendBufferSize(o.sendBufferBytes); } catch { /* kernel cap: keep the default */ }
    if (!o.broadcastAddress) return new UdpTransport(sock, undefined, undefined);
    try {
      const bcast = await bound(o.broadcastAddress, sock.address().port, o.recvBufferBytes);
      return new UdpTransport(sock, bcast, { address: o.broadcastAddress });
    } catch (e) {
      return new UdpTransport(sock, undefined, { address: o.broadcastAddress, error: (e as Error).message });
    }
  }

  send(buf: Uint8Array, port: number, address: string): Promise<void> {
    return new Promise((resolve, reject) => this.sock.send(buf, port, address, (e) => (e ? reject(e) : resolve())));
  }

  onMessage(fn: (buf: Buffer, rinfo: RemoteInfo) => void): void {
    this.sock.on("message", fn);
    this.bcast?.on("message", fn);
  }

  broadcastListener(): BroadcastListener | undefined {
    return this.listener;
  }

  bufferSizes(): { recvBufferBytes: number; sendBufferBytes: number } {
    return { recvBufferBytes: this.sock.getRecvBufferSize(), sendBufferBytes: this.sock.getSendBufferSize() };
  }

  address(): { address: string; port: number } {
    const a = this.sock.address();
    return { address: a.address, port: a.port };
  }

  async close(): Promise<void> {
    await Promise.all([this.sock, this.bcast].map((s) => new Promise<void>((resolve) => {
      if (!s) return resolve();
      try { s.close(() => resolve()); } catch { resolve(); }
    })));
  }
}

/**
 * A socket bound to address:port. reuseAddr: a node, a test and a course node may share port 5000 on
 * one host (Linux delivers unicast to one of them, broadcast to all of them).
 */
async function bound(address: string, port: number, recvBufferBytes: number): Promise<Socket> {
  const sock = createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", (e) => {
      try { sock.close(); } catch { /* never opened */ }
      reject(new Error(`overlay: cannot bind UDP ${address}:${port}: ${e.message}`));
    });
    sock.bind({ port, address, exclusive: false }, () => resolve());
  });
  try { sock.setRecvBufferSize(recvBufferBytes); } catch { /* kernel cap: keep the default */ }
  sock.removeAllListeners("error");
  sock.on("error", () => { /* send errors surface per send(); the socket stays open */ });
  return sock;
}
