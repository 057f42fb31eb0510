// bench/overlay/stall.ts — does a multi-megabyte transfer stall what else a node does? (issue 14)
//
// Four overlay processes on one loopback port: `big` sends one large incompressible payload (14 MB
// by default: a dense delta of a 128-wide GPT-2), `small` sends a 4 kB payload every 100 ms (a
// teach's entry going by), `beacon` only takes part in discovery, and `rx` receives everything and
// serves GET /health over HTTP, as a node does. Measured at rx, in one run, the same window with
// and without the large transfer: each small payload's time from send to delivery, /health's
// latency (polled every 25 ms by this script), rx's event-loop delay, and the longest silence of
// the beacon (how stale discovery gets; it says PEER_SYNC every 200 ms). Printed as loaded / baseline ratios, medians over runs.
//
//   npm run build && node dist/bench/overlay/stall.js [--bytes 14000000] [--runs 3] [--smalls 20]

import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_RATE_BYTES_PER_SEC, Overlay } from "../../node/src/overlay/overlay.js";
import { freeUdpPorts } from "../../test/support/procs.js";

type Role = "rx" | "big" | "small" | "beacon";
interface RoleOptions { port: number; broadcast: string; rate: number; bytes: number }

const hrUs = (): number => Number(process.hrtime.bigint() / 1000n);
const SMALL_BYTES = 4096;
const BEACON_SYNC_MS = 200;

// ---- the child processes ----------------------------------------------------------------------

async function role(name: Role, o: RoleOptions): Promise<void> {
  const delivered: Array<{ from: string; index: number; atUs: number }> = [];
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  let beaconSeenMs = 0;
  let beaconGapMs = 0;
  const ov = await Overlay.start({
    nodeId: name, port: o.port, bindAddress: "0.0.0.0", broadcastAddress: o.broadcast, rateBytesPerSec: o.rate,
    // The beacon says PEER_SYNC every 200 ms (nodes: every 5 s), so a window of seconds sees its gaps.
    timings: { binaryAfterMs: 0, ...(name === "beacon" ? { syncIntervalMs: BEACON_SYNC_MS } : {}) },
    onDelta: async (d) => { delivered.push({ from: d.from, index: d.bytes.length === SMALL_BYTES ? Buffer.from(d.bytes).readUInt32BE(0) : -1, atUs: hrUs() }); },
  });
  // The beacon's PEER_SYNCs as rx heard them: lastSeenMs is stamped on arrival, checked every 20 ms.
  const watch = name === "rx" ? setInterval(() => {
    const seen = ov.peers().find((p) => p.id === "beacon")?.lastSeenMs;
    if (seen === undefined || seen === beaconSeenMs) return;
    if (beaconSeenMs) beaconGapMs = Math.max(beaconGapMs, seen - beaconSeenMs);
    beaconSeenMs = seen;
  }, 20) : undefined;
  const http = name === "rx" ? createServer((_q, res) => { res.writeHead(200, { "content-type": "application/json" }); res.end('{"ok":true}'); }) : undefined;
  if (http) await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));

  const handlers: Record<string, (m: Record<string, unknown>) => Promise<unknown> | unknown> = {
    peers: () => ({ peers: ov.peers().map((p) => p.id) }),
    window: () => { loop.reset(); delivered.length = 0; beaconGapMs = 0; return {}; },
    report: () => ({
      loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6, beaconGapMs,
      delivered: [...delivered], httpPort: http ? (http.address() as AddressInfo).port : 0,
    }),
    send: async () => {
      const t0Us = hrUs();
      await ov.sendDelta(randomBytes(o.bytes));
      return { t0Us, doneUs: hrUs() };
    },
    burst: async (m: Record<string, unknown>) => {
      const sent: Array<{ index: number; atUs: number }> = [];
      for (let i = 0; i < Number(m.count); i++) {
        const p = randomBytes(SMALL_BYTES);
        p.writeUInt32BE(i, 0);
        sent.push({ index: i, atUs: hrUs() });
        void ov.sendDelta(p);
        await new Promise((r) => setTimeout(r, Number(m.everyMs)));
      }
      return { sent };
    },
    exit: async () => { clearInterval(watch); http?.close(); await ov.close(); return {}; },
  };
  process.on("message", (m: Record<string, unknown>) => void (async () => {
    const reply = await handlers[m.cmd as string]!(m);
    process.send!({ id: m.id, ...(reply as object) });
    if (m.cmd === "exit") process.exit(0);
  })());
  process.send!({ type: "ready" });
}

// ---- the driver ---------------------------------------------------------------------------------

class Proc {
  private next = 0;
  private readonly waiting = new Map<number, (v: Record<string, unknown>) => void>();
  private constructor(readonly child: ChildProcess) {
    child.on("message", (m: Record<string, unknown>) => { const w = this.waiting.get(m.id as number); if (w) { this.waiting.delete(m.id as number); w(m); } });
  }
  static async start(name: Role, o: RoleOptions): Promise<Proc> {
    const child = fork(fileURLToPath(import.meta.url), ["--role", name, JSON.stringify(o)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (c) => reject(new Error(`bench/stall: ${name} exited (${c}) before it was ready`)));
    });
    return new Proc(child);
  }
  call<T = Record<string, unknown>>(cmd: string, extra: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise((r) => { this.waiting.set(id, r as (v: Record<string, unknown>) => void); this.child.send({ id, cmd, ...extra }); });
  }
}

interface Window {
  smallMs: number[];
  lostSmalls: number;
  healthMs: number[];
  loopP99Ms: number;
  loopMaxMs: number;
  beaconGapMs: number;
  bigMs?: number;
}

const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

async function pollHealth(port: number, until: () => boolean): Promise<number[]> {
  const out: number[] = [];
  while (!until()) {
    const t = performance.now();
    try { await (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5_000) })).text(); out.push(performance.now() - t); }
    catch { out.push(5_000); }
    await new Promise((r) => setTimeout(r, 25));
  }
  return out;
}

async function window(p: Record<Role, Proc>, smalls: number, withBig: boolean): Promise<Window> {
  await p.rx.call("window");
  const { httpPort } = await p.rx.call<{ httpPort: number }>("report");
  let done = false;
  const health = pollHealth(httpPort, () => done);
  const big = withBig ? p.big.call<{ t0Us: number; doneUs: number }>("send") : undefined;
  await new Promise((r) => setTimeout(r, 100));
  const { sent } = await p.small.call<{ sent: Array<{ index: number; atUs: number }> }>("burst", { count: smalls, everyMs: 100 });
  const b = await big;
  // Every small payload, and the large one, has time to arrive.
  const deadline = Date.now() + 15_000;
  let r: { loopP99Ms: number; loopMaxMs: number; beaconGapMs: number; delivered: Array<{ from: string; index: number; atUs: number }> };
  for (;;) {
    r = await p.rx.call("report");
    const smallsIn = r.delivered.filter((d) => d.from === "small").length;
    const bigIn = r.delivered.some((d) => d.from === "big");
    if ((smallsIn >= smalls && (!withBig || bigIn)) || Date.now() > deadline) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  done = true;
  const healthMs = await health;
  const at = new Map(r.delivered.filter((d) => d.from === "small").map((d) => [d.index, d.atUs]));
  const smallMs = sent.filter((s) => at.has(s.index)).map((s) => (at.get(s.index)! - s.atUs) / 1000);
  const bigAt = r.delivered.find((d) => d.from === "big")?.atUs;
  return {
    smallMs, lostSmalls: sent.length - smallMs.length, healthMs, loopP99Ms: r.loopP99Ms, loopMaxMs: r.loopMaxMs, beaconGapMs: r.beaconGapMs,
    ...(b && bigAt ? { bigMs: (bigAt - b.t0Us) / 1000 } : {}),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    bytes: { type: "string", default: "14000000" },
    runs: { type: "string", default: "3" },
    smalls: { type: "string", default: "20" },
    rate: { type: "string", default: String(DEFAULT_RATE_BYTES_PER_SEC) },
  } });
  const [port] = await freeUdpPorts(1);
  const o: RoleOptions = { port: port!, broadcast: "127.255.255.255", rate: Number(values.rate), bytes: Number(values.bytes) };
  const names: Role[] = ["rx", "big", "small", "beacon"];
  const procs = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await Proc.start(n, o)] as const))) as Record<Role, Proc>;
  try {
    const t0 = Date.now();
    while ((await procs.rx.call<{ peers: string[] }>("peers")).peers.length < 3) {
      if (Date.now() - t0 > 10_000) throw new Error("bench/stall: rx did not hear big, small and beacon within 10 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    const smalls = Number(values.smalls);
    const pairs: Array<{ base: Window; loaded: Window }> = [];
    for (let run = 0; run < Number(values.runs); run++) {
      // Baseline and loaded back to back in each run, so both see the same machine.
      const base = await window(procs, smalls, false);
      const loaded = await window(procs, smalls, true);
      pairs.push({ base, loaded });
      console.log(`run ${run + 1}: large transfer ${loaded.bigMs?.toFixed(0) ?? "not delivered"} ms; small p50 ${quantile(base.smallMs, 0.5).toFixed(1)} → ${quantile(loaded.smallMs, 0.5).toFixed(1)} ms, max ${quantile(base.smallMs, 1).toFixed(1)} → ${quantile(loaded.smallMs, 1).toFixed(1)} ms; /health max ${quantile(base.healthMs, 1).toFixed(1)} → ${quantile(loaded.healthMs, 1).toFixed(1)} ms; loop max ${base.loopMaxMs.toFixed(1)} → ${loaded.loopMaxMs.toFixed(1)} ms; beacon gap ${base.beaconGapMs.toFixed(0)} → ${loaded.beaconGapMs.toFixed(0)} ms; smalls lost ${base.lostSmalls} / ${loaded.lostSmalls}`);
    }
    const med = (f: (w: Window) => number, which: "base" | "loaded"): number => quantile(pairs.map((p) => f(p[which])), 0.5);
    const rows: Array<[string, (w: Window) => number]> = [
      ["small payload, send → delivered, p50 ms", (w) => quantile(w.smallMs, 0.5)],
      ["small payload, send → delivered, max ms", (w) => quantile(w.smallMs, 1)],
      ["GET /health, p99 ms", (w) => quantile(w.healthMs, 0.99)],
      ["GET /health, max ms", (w) => quantile(w.healthMs, 1)],
      ["rx event-loop delay, p99 ms", (w) => w.loopP99Ms],
      ["rx event-loop delay, max ms", (w) => w.loopMaxMs],
      [`longest gap between the beacon's PEER_SYNCs at rx (sent every ${BEACON_SYNC_MS} ms), ms`, (w) => w.beaconGapMs],
    ];
    console.log(`\n${(o.bytes / 1e6).toFixed(1)} MB incompressible at ${(o.rate / 1e6).toFixed(0)} MB/s beside ${smalls} small payloads (every 100 ms), medians of ${pairs.length} runs:\n`);
    console.log("| at rx | without | with the large transfer | ratio |\n|---|---|---|---|");
    for (const [label, f] of rows) {
      const a = med(f, "base");
      const b = med(f, "loaded");
      console.log(`| ${label} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}× |`);
    }
    const bigMs = quantile(pairs.map((p) => p.loaded.bigMs ?? NaN).filter(Number.isFinite), 0.5);
    console.log(`\nlarge transfer send → delivered: ${bigMs.toFixed(0)} ms (${(bigMs / ((o.bytes / o.rate) * 1000)).toFixed(2)}× its time at the pacing rate); small payloads lost: ${pairs.reduce((s, p) => s + p.loaded.lostSmalls + p.base.lostSmalls, 0)}`);
  } finally {
    await Promise.all(Object.values(procs).map((p) => p.call("exit").catch(() => undefined)));
  }
}

const roleAt = process.argv.indexOf("--role");
if (roleAt >= 0) await role(process.argv[roleAt + 1] as Role, JSON.parse(process.argv[roleAt + 2]!) as RoleOptions);
else await main();
