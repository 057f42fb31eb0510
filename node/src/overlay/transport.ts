// The one UDP socket an overlay sends and receives on, behind a small interface so tests can wrap
// it with faults (test/support/faulty-transport.ts) while the packets still cross real sockets.

import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

export interface Transport {
  send(buf: Uint8Array, port: number, address: string): Promise<void>;
  onMessage(fn: (buf: Buffer, rinfo: RemoteInfo) => void): void;
  address(): { address: string; port: number };
  /** What the kernel granted for SO_RCVBUF / SO_SNDBUF (it caps the wish at rmem_max / wmem_max). */
  bufferSizes?(): { recvBufferBytes: number; sendBufferBytes: number } | undefined;
  close(): Promise<void>;
}

export interface UdpTransportOptions {
  port: number;
  bindAddress: string;
  /** Kernel receive buffer wish (capped by net.core.rmem_max). */
  recvBufferBytes: number;
  sendBufferBytes: number;
}

export class UdpTransport implements Transport {
  private constructor(private readonly sock: Socket) {}

  static async open(o: UdpTransportOptions): Promise<UdpTransport> {
    // reuseAddr: a node, a test and a course node may share port 5000 on one host (Linux delivers
    // unicast to one of them, broadcast to all of them).
    const sock = createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      sock.once("error", (e) => reject(new Error(`overlay: cannot bind UDP ${o.bindAddress}:${o.port}: ${e.message} (is --bind an address of this host?)`)));
      sock.bind({ port: o.port, address: o.bindAddress, exclusive: false }, () => resolve());
    });
    sock.setBroadcast(true);
    try { sock.setRecvBufferSize(o.recvBufferBytes); } catch { /* kernel cap: keep the default */ }
    try { sock.setSendBufferSize(o.sendBufferBytes); } catch { /* same */ }
    sock.removeAllListeners("error");
    sock.on("error", () => { /* send errors surface per send(); the socket stays open */ });
    return new UdpTransport(sock);
  }

  send(buf: Uint8Array, port: number, address: string): Promise<void> {
    return new Promise((resolve, reject) => this.sock.send(buf, port, address, (e) => (e ? reject(e) : resolve())));
  }

  onMessage(fn: (buf: Buffer, rinfo: RemoteInfo) => void): void {
    this.sock.on("message", fn);
  }

  bufferSizes(): { recvBufferBytes: number; sendBufferBytes: number } {
    return { recvBufferBytes: this.sock.getRecvBufferSize(), sendBufferBytes: this.sock.getSendBufferSize() };
  }

  address(): { address: string; port: number } {
    const a = this.sock.address();
    return { address: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => { try { this.sock.close(() => resolve()); } catch { resolve(); } });
  }
}
