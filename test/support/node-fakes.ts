// A test double for the node's overlay seam (seams.ts), for unit tests of the runtime only: an
// in-process LAN where every member hears every other. The shipped program always runs the real
// overlay (wiring.ts), and the e2e tests run the real binary.

import { createHash } from "node:crypto";
import { bump, newStats, rejectReason } from "../../node/src/overlay/stats.js";
import type { IncomingDelta, OverlayHandle, OverlayStartOptions } from "../../node/src/node/seams.js";

/** An in-process "LAN": every overlay started on it hears every other's deltas. */
export class FakeHub {
  private members: FakeOverlay[] = [];
  private seq = 0;
  start = async (o: OverlayStartOptions): Promise<FakeOverlay> => {
    const ov = new FakeOverlay(this, o);
    this.members.push(ov);
    return ov;
  };
  nextVersion(): string { return `v${1764000000 + ++this.seq}`; }
  deliver(from: FakeOverlay, version: string, bytes: Uint8Array): void {
    for (const m of this.members) if (m !== from && !m.closed) void m.receive(version, from.opts.nodeId, bytes);
  }
  deliverPayload(from: FakeOverlay, kind: string, bytes: Uint8Array, to: readonly string[] | undefined): void {
    const version = this.nextVersion();
    for (const m of this.members) {
      if (m === from || m.closed || (to && !to.includes(m.opts.nodeId))) continue;
      const p = { version, from: from.opts.nodeId, kind, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), metaAt: Date.now() };
      void Promise.resolve(m.opts.onPayload?.(p)).catch(() => undefined);
    }
  }
  control(from: FakeOverlay, to: string, kind: string, body: Record<string, string>): boolean {
    const m = this.members.find((x) => x.opts.nodeId === to && !x.closed);
    if (!m) return false;
    setImmediate(() => m.opts.onControl?.(from.opts.nodeId, kind, { ...body }));
    return true;
  }
  /** Every other member as a DeltaFleet peer, with what it says now. */
  peersOf(me: FakeOverlay): Array<{ id: string; address: string; port: number; dialect: string; lastSeenMs: number; ours: boolean; says: Record<string, string> }> {
    return this.members.filter((m) => m !== me && !m.closed).map((m) => ({
      id: m.opts.nodeId, address: "127.0.0.1", port: 0, dialect: "v1", lastSeenMs: Date.now(), ours: true, says: m.opts.says?.() ?? {},
    }));
  }
  leave(m: FakeOverlay): void { this.members = this.members.filter((x) => x !== m); }
}

export class FakeOverlay implements OverlayHandle {
  readonly stats = newStats();
  closed = false;
  constructor(private readonly hub: FakeHub, readonly opts: OverlayStartOptions) {}
  async sendDelta(bytes: Uint8Array): Promise<{ version: string; bytes: number; chunks: number }> {
    const version = this.hub.nextVersion();
    const chunks = Math.ceil(bytes.length / 1000);
    this.stats.fragmentsSent += chunks;
    setImmediate(() => this.hub.deliver(this, version, bytes));
    return { version, bytes: bytes.length, chunks };
  }
  async receive(version: string, from: string, bytes: Uint8Array): Promise<void> {
    if (this.opts.isApplied(version)) { bump(this.stats.deltasRejected, "duplicate"); return; }
    this.stats.deltasCompleted++;
    const d: IncomingDelta = { version, from, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), metaAt: Date.now() - 5 };
    try {
      if ((await this.opts.onDelta(d)) === "duplicate") this.stats.deltasRejected.duplicate = (this.stats.deltasRejected.duplicate ?? 0) + 1;
    } catch (e) {
      bump(this.stats.deltasRejected, rejectReason((e as { reason?: unknown }).reason ?? "decode"));
    }
  }
  async sendPayload(bytes: Uint8Array, o: { kind: string; to?: readonly string[] }): Promise<{ version: string; bytes: number; chunks: number }> {
    setImmediate(() => this.hub.deliverPayload(this, o.kind, bytes, o.to));
    return { version: this.hub.nextVersion(), bytes: bytes.length, chunks: Math.ceil(bytes.length / 1000) };
  }
  async sendControl(to: string, kind: string, body: Record<string, string>): Promise<boolean> {
    return this.hub.control(this, to, kind, body);
  }
  peers(): ReturnType<FakeHub["peersOf"]> { return this.hub.peersOf(this); }
  transfers(): [] { return []; }
  async close(): Promise<void> { this.closed = true; this.hub.leave(this); }
}
