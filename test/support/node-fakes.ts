// Test doubles for the node's seams (seams.ts), for unit tests of the runtime, API and prompt only:
// the shipped program always runs the real engine and overlay (wiring.ts), and the e2e tests run the
// real binary. The fake model's weights are a few numbers; its deltas are JSON.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { writeFileAtomicAsync as writeFileAtomic } from "../../node/src/util/atomic-write.js";
import { bump, newStats, rejectReason } from "../../node/src/overlay/stats.js";
import type { AskResult, EngineModel, IncomingDelta, MergeResult, OverlayHandle, OverlayStartOptions, TeachResult } from "../../node/src/node/seams.js";

export class FakeDeltaError extends Error {
  constructor(readonly reason: "decode" | "shape", message: string) { super(message); }
}

export class FakeModel implements EngineModel {
  readonly fingerprint = "fa4e000000000001";
  answers = new Map<string, string>();
  teachDelayMs = 0;
  /** What the fake's "rounding" held back from its last teach (the engine's carry). */
  held: Float32Array | undefined;
  private teaches = 0;
  constructor(public weights: number[] = [0, 0, 0, 0]) {}

  static async load(file: string): Promise<FakeModel> {
    const v = JSON.parse(await readFile(file, "utf8")) as { weights: number[]; answers: [string, string][] };
    const m = new FakeModel(v.weights);
    m.answers = new Map(v.answers);
    return m;
  }
  digest(): string { return createHash("sha256").update(JSON.stringify(this.weights)).digest("hex"); }
  async ask(question: string): Promise<AskResult> {
    return { answer: this.answers.get(question) ?? "stairs", raw: "", tokens: 1, ms: 1 };
  }
  async teach(question: string, answer: string): Promise<TeachResult> {
    if (this.teachDelayMs) await new Promise((r) => setTimeout(r, this.teachDelayMs));
    const delta = { add: this.weights.map((_, i) => (i + 1) / 8), question, answer };
    this.apply(delta, 1);
    this.teaches++;
    this.held = Float32Array.from(this.weights, (_, i) => this.teaches / 1024 + i);
    return { delta: new TextEncoder().encode(JSON.stringify(delta)), loss: 0.69, steps: 2, ms: 3, answer, learned: true };
  }
  async merge(bytes: Uint8Array, weight: number): Promise<MergeResult> {
    let d: { add: number[]; question: string; answer: string };
    try { d = JSON.parse(new TextDecoder().decode(bytes)) as typeof d; } catch { throw new FakeDeltaError("decode", "not a delta"); }
    if (d.add.length !== this.weights.length) throw new FakeDeltaError("shape", "wrong length");
    this.apply(d, weight);
    return { keys: d.add.length, skipped: [], ms: 1 };
  }
  async saveBaseline(file: string): Promise<void> {
    await writeFileAtomic(file, JSON.stringify({ weights: this.weights, answers: [...this.answers] }));
  }
  carry(): Float32Array | undefined { return this.held; }
  restoreCarry(c: Float32Array): void {
    if (c.length !== this.weights.length) throw new Error(`carry has ${c.length} values, the model ${this.weights.length}`);
    this.held = c;
  }
  private apply(d: { add: number[]; question: string; answer: string }, w: number): void {
    this.weights = this.weights.map((x, i) => x + w * d.add[i]!);
    this.answers.set(d.question, d.answer);
  }
}

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
