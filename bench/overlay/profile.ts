// bench:overlay-profile — where a large transfer's time goes (issue 14, first bullet). A 2 MB
// incompressible payload (seeded, the same bytes every run) from one Overlay to N = 1 and 3 Overlay
// receivers on one shared loopback port (broadcast 127.255.255.255), no loss; every node is a child
// process (bench/overlay/profile-roles.ts), so each one's CPU, profile and syscalls are its own.
// The floor, measured in the same run: a bare dgram socket sending the same datagrams (binary frames
// of the same sizes, encoded beforehand) back to back to N bare sockets that only count them. Between
// floor and overlay, three rungs that each add one thing an overlay node does: the sender bound to
// the receivers' port (so it reads back its own broadcasts, as every overlay node does); then also
// paced by the overlay's RateLimiter; then its receivers also decode every datagram (codec.ts, CRC-32).
//
// Per N it prints, for each rung and the overlay, and the overlay against the floor: wall time until
// the last receiver holds the verified payload (floor: its last datagram) and that over the wire-time limit at the link rate; CPU µs per
// datagram on the sender and on a receiver (process.cpuUsage, the idle rate taken off); syscalls per
// datagram (strace -c attached for one transfer, if strace is installed: `apt-get install strace`,
// used by this bench only); RcvbufErrors in /proc/net/snmp; pacing: the first pass's achieved rate
// against the configured one; the whole-payload steps (sha256, the deflate attempt, the receiver's
// concat; inflate on a payload that deflates) timed inside the transfers, as shares of the CPU; the top 10 functions by self
// time on the sender and a receiver (node --cpu-prof in a separate pass, only samples inside the
// transfers).
//
//   npm run bench:overlay-profile [-- --n 1,3 --runs 3 --bytes 2097152 --link-mbit 100 --sparse --no-strace --no-prof --prof-n 1]

import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ETHERNET_UDP_PAYLOAD_BYTES } from "../../node/src/overlay/codec.js";
import { DEFAULT_RATE_BYTES_PER_SEC } from "../../node/src/overlay/overlay.js";
import { burstBytesFor } from "../../node/src/overlay/rate-limiter.js";
import { freeUdpPorts } from "../../test/support/procs.js";
import { summarise, type ProfileSummary } from "./cpuprofile.js";
import { hasStrace, StraceWindow, udpCounters, type SyscallCounts } from "./kernel-counters.js";
import type { Mark, Role, RoleOptions, SendTimes, Spent, InflateCost } from "./profile-roles.js";

const ROLES_JS = fileURLToPath(new URL("./profile-roles.js", import.meta.url));
const BROADCAST = "127.255.255.255";
const SEED = 0x9e3779b9;
const TRIAL_TIMEOUT_MS = 30_000;
/** Sampling interval: finer than the default 1 ms (a transfer is ~0.2 s), coarse enough not to double the CPU. */
const PROFILE_INTERVAL_US = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One child process running a role, asked over IPC. */
class Proc {
  private next = 1;
  private readonly waiting = new Map<number, (m: Record<string, unknown>) => void>();
  readonly delivered: number[] = [];
  idleUsPerMs = 0;
  private constructor(readonly child: ChildProcess) {
    child.on("message", (m: Record<string, unknown>) => {
      if (m.type === "delivered") this.delivered.push(m.atUs as number);
      const w = this.waiting.get(m.id as number);
      if (w) { this.waiting.delete(m.id as number); w(m); }
    });
  }

  static async start(role: Role, o: RoleOptions, execArgv: string[] = []): Promise<Proc> {
    const child = fork(ROLES_JS, [role, JSON.stringify(o)], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (c) => reject(new Error(`${role} ${o.id} exited ${c} before it was ready`)));
    });
    return new Proc(child);
  }

  ask<T>(cmd: string): Promise<T> {
    const id = this.next++;
    return new Promise((resolve) => { this.waiting.set(id, (m) => resolve(m as T)); this.child.send({ id, cmd }); });
  }

  mark(): Promise<Mark> { return this.ask<Mark>("mark"); }

  async exit(): Promise<void> {
    const gone = new Promise<void>((r) => this.child.once("exit", () => r()));
    await this.ask("exit");
    await gone;
  }
}

/** n receivers of one kind on one fresh port, listening. */
async function receivers(kind: "overlay" | "raw", n: number, o: RoleOptions, prof?: (who: string) => string[]): Promise<Proc[]> {
  const rx: Proc[] = [];
  for (let i = 0; i < n; i++) rx.push(await Proc.start(`${kind}-rx`, { ...o, id: `r${i}` }, prof?.(`r${i}`)));
  return rx;
}

/** Every node must know (and, by its PEER_SYNC, trust) every other before the transfer. */
async function discovered(all: Proc[]): Promise<void> {
  const end = Date.now() + 15_000;
  while ((await Promise.all(all.map((p) => p.mark()))).some((m) => m.peers < all.length - 1)) {
    if (Date.now() > end) throw new Error("overlay nodes did not find each other in 15 s");
    await sleep(20);
  }
}

/** Each process's CPU rate while nothing is sent (housekeeping timers), taken off every trial. */
async function idleRates(all: Proc[]): Promise<void> {
  const m0 = await Promise.all(all.map((p) => p.mark()));
  await sleep(500);
  const m1 = await Promise.all(all.map((p) => p.mark()));
  all.forEach((p, i) => { p.idleUsPerMs = (m1[i]!.cpuUs - m0[i]!.cpuUs) / ((m1[i]!.hrUs - m0[i]!.hrUs) / 1000); });
}

interface Trial {
  wallMs: number;
  preSendMs: number;
  firstPassMs: number;
  firstPassBytes: number;
  txDatagrams: number;
  txCpuUs: number;
  rxDatagrams: number;
  /** Per receiver, idle taken off. */
  rxCpuUs: number[];
  rxPerDatagramUs: number;
  txPerDatagramUs: number;
  rcvbufErrors: number;
  ownReadBack: number;
  retransmits: number;
  naks: number;
  /** Whole-payload steps during the transfer (overlay only): sender's, and receiver r0's. */
  txSpent: Spent;
  rxSpent: Spent;
  /** µs windows of the monotonic clock, for the CPU profiles. */
  txWindow: [number, number];
  rxWindow: [number, number];
}

const NO_SPENT: Spent = { sha256Us: 0, deflateUs: 0, inflateUs: 0, concatUs: 0 };
function spentBetween(a: Mark, b: Mark): Spent {
  const x = a.spent ?? NO_SPENT, y = b.spent ?? NO_SPENT;
  return { sha256Us: y.sha256Us - x.sha256Us, deflateUs: y.deflateUs - x.deflateUs, inflateUs: y.inflateUs - x.inflateUs, concatUs: y.concatUs - x.concatUs };
}

const busy = (p: Proc, a: Mark, b: Mark): number => Math.max(0, b.cpuUs - a.cpuUs - p.idleUsPerMs * (b.hrUs - a.hrUs) / 1000);

interface Fleet { tx: Proc; rx: Proc[] }

async function trial(kind: "overlay" | "raw", f: Fleet, expect: number): Promise<Trial> {
  const u0 = udpCounters();
  const r0 = await Promise.all(f.rx.map((p) => p.mark()));
  const t0 = await f.tx.mark();
  const delivered0 = f.rx.map((p) => p.delivered.length);
  const times = await f.tx.ask<SendTimes>("send");
  const end = Date.now() + TRIAL_TIMEOUT_MS;
  let lastRx: Mark[] = [];
  if (kind === "overlay") {
    while (f.rx.some((p, i) => p.delivered.length === delivered0[i])) {
      if (Date.now() > end) throw new Error("overlay: not every receiver completed within 30 s");
      await sleep(2);
    }
  } else {
    // Bare receivers: done when each has them all, or nothing more came for 100 ms (the rest was dropped).
    let prev = -1, quietSince = Date.now();
    for (;;) {
      lastRx = await Promise.all(f.rx.map((p) => p.mark()));
      // A sender on the receivers' port also reads back every datagram it sent: that is its cost too.
      const tx = await f.tx.mark();
      const got = lastRx.reduce((s, m, i) => s + m.datagramsReceived - r0[i]!.datagramsReceived, 0) + tx.ownReadBack - t0.ownReadBack;
      if (got >= expect * (f.rx.length + (tx.ownReadBack > 0 ? 1 : 0))) break;
      if (got !== prev) { prev = got; quietSince = Date.now(); } else if (Date.now() - quietSince > 100) break;
      await sleep(5);
    }
  }
  const t1 = await f.tx.mark();
  const r1 = await Promise.all(f.rx.map((p) => p.mark()));
  const u1 = udpCounters();
  const doneUs = kind === "overlay" ? Math.max(...f.rx.map((p) => p.delivered.at(-1)!)) : Math.max(...r1.map((m) => m.lastAtUs!));
  const rxCpuUs = f.rx.map((p, i) => busy(p, r0[i]!, r1[i]!));
  const rxDatagrams = r1.reduce((s, m, i) => s + m.datagramsReceived - r0[i]!.datagramsReceived, 0) / f.rx.length;
  const txDatagrams = t1.datagramsSent - t0.datagramsSent;
  const txCpuUs = busy(f.tx, t0, t1);
  return {
    wallMs: (doneUs - times.t0Us) / 1000,
    preSendMs: (times.announcedUs - times.t0Us) / 1000,
    firstPassMs: (times.sentUs - times.announcedUs) / 1000,
    firstPassBytes: times.bytesAtSent - t0.bytesSent,
    txDatagrams, txCpuUs, rxDatagrams, rxCpuUs,
    rxPerDatagramUs: rxCpuUs.reduce((a, b) => a + b, 0) / f.rx.length / Math.max(1, rxDatagrams),
    txPerDatagramUs: txCpuUs / Math.max(1, txDatagrams),
    rcvbufErrors: u1.rcvbufErrors - u0.rcvbufErrors,
    ownReadBack: t1.ownReadBack - t0.ownReadBack,
    retransmits: t1.retransmits - t0.retransmits,
    naks: r1.reduce((s, m, i) => s + m.naks - r0[i]!.naks, 0),
    txSpent: spentBetween(t0, t1),
    rxSpent: spentBetween(r0[0]!, r1[0]!),
    txWindow: [times.t0Us, t1.hrUs],
    rxWindow: [r0[0]!.hrUs, r1[0]!.hrUs],
  };
}

function medianOf(ts: Trial[], k: keyof Trial): number {
  const xs = ts.map((t) => t[k] as number).sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
}

/** Syscalls of one transfer on the sender and the first receiver. */
async function syscalls(kind: "overlay" | "raw", f: Fleet, expect: number, dir: string): Promise<{ tx: SyscallCounts; rx: SyscallCounts; t: Trial }> {
  const stx = await StraceWindow.attach(f.tx.child.pid!, join(dir, `${kind}-tx.strace`));
  const srx = await StraceWindow.attach(f.rx[0]!.child.pid!, join(dir, `${kind}-rx.strace`));
  const t = await trial(kind, f, expect);
  return { tx: await stx.stop(), rx: await srx.stop(), t };
}

const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : "-");
const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : "-");
const pct = (a: number, b: number): string => (b > 0 ? `${((a / b) * 100).toFixed(1)} %` : "-");

function topSyscalls(c: SyscallCounts, per: number, k = 5): string {
  return [...c.bySyscall].sort((a, b) => b[1] - a[1]).slice(0, k).map(([s, n]) => `${s} ${(n / per).toFixed(2)}`).join(", ");
}

function printProfile(who: string, s: ProfileSummary): void {
  console.log(`  top 10 by self time, ${who} (${fmt(s.sampledMs)} ms sampled busy, ${fmt(s.idleMs)} ms idle, in ${fmt(s.windowMs)} ms of transfers):`);
  for (const r of s.top) console.log(`    ${fmt(r.ms, 1).padStart(7)} ms  ${pct(r.share, 1).padStart(7)}  ${r.name}${r.via ? `  ← ${r.via}` : ""}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    n: { type: "string", default: "1,3" },
    runs: { type: "string", default: "3" },
    bytes: { type: "string", default: String(2 << 20) },
    "link-mbit": { type: "string", default: "100" },
    rate: { type: "string", default: String(DEFAULT_RATE_BYTES_PER_SEC) },
    // A payload that deflates (sparse, like a delta): the overlay sends it deflated and its receivers
    // inflate it; the floor and rungs still send it as is, so only the overlay's column compares.
    sparse: { type: "boolean", default: false },
    "no-strace": { type: "boolean", default: false },
    "no-prof": { type: "boolean", default: false },
    // One receiver by default: on a 2-core box more processes preempt each other, and a sample is
    // charged to whatever JS was running when the process lost its core.
    "prof-n": { type: "string", default: "1" },
  } });
  const ns = values.n.split(",").map(Number);
  const runs = Number(values.runs);
  const bytes = Number(values.bytes);
  const rate = Number(values.rate);
  const wireMs = (bytes * 8) / (Number(values["link-mbit"]) * 1e6) * 1000;
  const strace = !values["no-strace"] && hasStrace();
  const scratch = mkdtempSync(join(tmpdir(), "overlay-profile-"));
  const o = { broadcast: BROADCAST, bytes, seed: SEED, rateBytesPerSec: rate, instrument: true, sparse: values.sparse };
  console.log(`bench:overlay-profile  ${bytes} B ${values.sparse ? "sparse (deflates; floor and rungs send it as is)" : "incompressible"} (seeded), loopback broadcast, no loss; overlay paced at ${fmt(rate / 1e6, 2)} MB/s;` +
    ` wire-time limit at ${values["link-mbit"]} Mbit/s: ${fmt(wireMs)} ms; median of ${runs}; floor = bare dgram socket, same datagrams, unpaced`);
  if (!strace) console.log(values["no-strace"] ? "syscalls: --no-strace" : "syscalls: not counted (strace is not installed: apt-get install strace)");
  try {
    for (const n of ns) {
      const [rawPort, ovPort] = await freeUdpPorts(2);
      const rawRx = await receivers("raw", n, { ...o, id: "", port: rawPort! });
      const ladder = { floor: {}, readBack: { shared: true }, paced: { shared: true, paced: true } };
      const rungs = Object.fromEntries(await Promise.all(Object.entries(ladder).map(async ([k, extra]) =>
        [k, { tx: await Proc.start("raw-tx", { ...o, id: "s0", port: rawPort!, ...extra }), rx: rawRx }] as const))) as Record<keyof typeof ladder, Fleet>;
      const ovRx = await receivers("overlay", n, { ...o, id: "", port: ovPort! });
      const ovl: Fleet = { tx: await Proc.start("overlay-tx", { ...o, id: "s0", port: ovPort! }), rx: ovRx };
      await discovered([ovl.tx, ...ovRx]);
      const procs = [...rawRx, ...Object.values(rungs).map((f) => f.tx), ovl.tx, ...ovRx];
      await idleRates(procs);
      const ts = { floor: [] as Trial[], readBack: [] as Trial[], paced: [] as Trial[], decode: [] as Trial[], overlay: [] as Trial[] };
      let expect = 0;
      for (let r = 0; r < runs; r++) {   // interleaved, so drift in the machine's load hits all alike
        ts.floor.push(await trial("raw", rungs.floor, expect || Number.MAX_SAFE_INTEGER));
        expect = ts.floor[0]!.txDatagrams;
        ts.readBack.push(await trial("raw", rungs.readBack, expect));
        ts.paced.push(await trial("raw", rungs.paced, expect));
        await Promise.all(rawRx.map((p) => p.ask("decode-on")));
        ts.decode.push(await trial("raw", rungs.paced, expect));
        await Promise.all(rawRx.map((p) => p.ask("decode-off")));
        ts.overlay.push(await trial("overlay", ovl, 0));
        await sleep(100);
      }
      const inflate = await ovRx[0]!.ask<InflateCost>("inflate-cost");
      const sc = strace ? { raw: await syscalls("raw", rungs.floor, expect, scratch), ovl: await syscalls("overlay", ovl, 0, scratch) } : undefined;
      await Promise.all(procs.map((p) => p.exit()));

      const cols = [ts.floor, ts.readBack, ts.paced, ts.decode, ts.overlay];
      const m = (t: Trial[], k: keyof Trial) => medianOf(t, k);
      console.log(`\nN = ${n} receiver${n > 1 ? "s" : ""}  (${fmt(m(ts.overlay, "txDatagrams"), 0)} datagrams sent by the overlay, ${expect} by the floor)`);
      console.log(`  ${"".padEnd(36)}${["floor", "+read-back", "+pacer", "+decode", "overlay"].map((h) => h.padStart(11)).join("")}   overlay/floor`);
      const row = (label: string, xs: number[], d = 1) => console.log(`  ${label.padEnd(36)}${xs.map((x) => fmt(x, d).padStart(11)).join("")}   ${ratio(xs[xs.length - 1]!, xs[0]!)}`);
      const rx0 = (t: Trial[]) => median(t.map((x) => x.rxCpuUs[0]!));
      row("wall ms (to last verified)", cols.map((t) => m(t, "wallMs")));
      row("  over the wire-time limit", cols.map((t) => m(t, "wallMs") / wireMs), 2);
      row("sender CPU µs / datagram sent", cols.map((t) => m(t, "txPerDatagramUs")), 2);
      row("receiver CPU µs / datagram read", cols.map((t) => m(t, "rxPerDatagramUs")), 2);
      row("sender CPU ms per transfer", cols.map((t) => m(t, "txCpuUs") / 1000));
      row("receiver CPU ms per transfer", cols.map((t) => rx0(t) / 1000));
      row("own broadcasts read / datagram sent", cols.map((t) => m(t, "ownReadBack") / m(t, "txDatagrams")), 2);
      row("RcvbufErrors (sum of runs)", cols.map((t) => t.reduce((s, x) => s + x.rcvbufErrors, 0)), 0);
      if (sc) {
        console.log(`  syscalls / datagram (strace -c -f, one transfer each):  floor sender ${fmt(sc.raw.tx.total / sc.raw.t.txDatagrams, 2)}, receiver ${fmt(sc.raw.rx.total / sc.raw.t.rxDatagrams, 2)}; ` +
          `overlay sender ${fmt(sc.ovl.tx.total / sc.ovl.t.txDatagrams, 2)} (${ratio(sc.ovl.tx.total / sc.ovl.t.txDatagrams, sc.raw.tx.total / sc.raw.t.txDatagrams)}), ` +
          `receiver ${fmt(sc.ovl.rx.total / sc.ovl.t.rxDatagrams, 2)} (${ratio(sc.ovl.rx.total / sc.ovl.t.rxDatagrams, sc.raw.rx.total / sc.raw.t.rxDatagrams)})`);
        console.log(`    overlay sender: ${topSyscalls(sc.ovl.tx, sc.ovl.t.txDatagrams)}  | floor: ${topSyscalls(sc.raw.tx, sc.raw.t.txDatagrams, 3)}`);
        console.log(`    overlay receiver: ${topSyscalls(sc.ovl.rx, sc.ovl.t.rxDatagrams)}  | floor: ${topSyscalls(sc.raw.rx, sc.raw.t.rxDatagrams, 3)}`);
        console.log(`    (the strace-slowed overlay transfer: ${fmt(sc.ovl.t.wallMs, 0)} ms, ${sc.ovl.t.rcvbufErrors} RcvbufErrors, ${sc.ovl.t.retransmits} resent)`);
      }
      console.log(`  overlay: resent ${ts.overlay.reduce((s, t) => s + t.retransmits, 0)}, NAKs ${ts.overlay.reduce((s, t) => s + t.naks, 0)} (sum of runs, no loss)`);
      const pacing = (t: Trial[]): number => m(t, "firstPassBytes") / (m(t, "firstPassMs") / 1000);
      const passMs = m(ts.overlay, "firstPassMs");
      console.log(`  pacing (configured ${fmt(rate / 1e6, 2)} MB/s, a ${fmt(burstBytesFor(rate, ETHERNET_UDP_PAYLOAD_BYTES) / 1e3, 1)} kB bucket): ` +
        `overlay's first pass ${fmt(m(ts.overlay, "firstPassBytes") / 1e6, 2)} MB in ${fmt(passMs)} ms = ${fmt(pacing(ts.overlay) / 1e6, 2)} MB/s (${ratio(pacing(ts.overlay), rate)}); ` +
        `the paced bare socket ${fmt(pacing(ts.paced) / 1e6, 2)} MB/s (${ratio(pacing(ts.paced), rate)})`);
      const sp = (t: Trial[], side: "txSpent" | "rxSpent", k: keyof Spent): number => median(t.map((x) => x[side][k]));
      const txCpu0 = m(ts.overlay, "txCpuUs"), rxCpu0 = rx0(ts.overlay);
      console.log(`  in the overlay's transfers (median per transfer, share of that process's CPU): sender sha256 ${fmt(sp(ts.overlay, "txSpent", "sha256Us") / 1000)} ms (${pct(sp(ts.overlay, "txSpent", "sha256Us"), txCpu0)}), ` +
        `deflate ${fmt(sp(ts.overlay, "txSpent", "deflateUs") / 1000)} ms (${pct(sp(ts.overlay, "txSpent", "deflateUs"), txCpu0)}); ` +
        `receiver sha256 ${fmt(sp(ts.overlay, "rxSpent", "sha256Us") / 1000)} ms (${pct(sp(ts.overlay, "rxSpent", "sha256Us"), rxCpu0)}), ` +
        `concat ${fmt(sp(ts.overlay, "rxSpent", "concatUs") / 1000)} ms (${pct(sp(ts.overlay, "rxSpent", "concatUs"), rxCpu0)}), ` +
        `inflate ${fmt(sp(ts.overlay, "rxSpent", "inflateUs") / 1000)} ms (${pct(sp(ts.overlay, "rxSpent", "inflateUs"), rxCpu0)})`);
      const wall = m(ts.overlay, "wallMs"), pre = m(ts.overlay, "preSendMs");
      console.log(`  overlay wall: before the first datagram ${fmt(pre)} ms (${pct(pre, wall)}), first pass ${fmt(passMs)} ms (${pct(passMs, wall)}), ` +
        `after it ${fmt(wall - passMs - pre)} ms (${pct(wall - passMs - pre, wall)})`);
      console.log(`  a payload of this size that deflates (sparse, to ${fmt(inflate.deflatedBytes / 1e3, 1)} kB) would add inflate ${fmt(inflate.inflateUs / 1000)} ms ` +
        `to each receiver (${pct(inflate.inflateUs, rxCpu0)} of its CPU per transfer here)`);
    }

    if (!values["no-prof"]) {
      // A separate pass: the sampling profiler costs CPU of its own, kept out of the figures above.
      const n = Number(values["prof-n"]);
      const dir = join(scratch, "prof");
      const [port] = await freeUdpPorts(1);
      const prof = (who: string): string[] => ["--cpu-prof", "--cpu-prof-dir", join(dir, who), "--cpu-prof-interval", String(PROFILE_INTERVAL_US)];
      const rx = await receivers("overlay", n, { ...o, instrument: false, id: "", port: port! }, prof);
      const ovl: Fleet = { tx: await Proc.start("overlay-tx", { ...o, instrument: false, id: "s0", port: port! }, prof("s0")), rx };
      await discovered([ovl.tx, ...rx]);
      await idleRates([ovl.tx, ...rx]);
      const ts: Trial[] = [];
      for (let r = 0; r < runs; r++) { ts.push(await trial("overlay", ovl, 0)); await sleep(100); }
      await Promise.all([ovl.tx, ...ovl.rx].map((p) => p.exit()));
      const file = (who: string): string => { const d = join(dir, who); return join(d, readdirSync(d).find((f) => f.endsWith(".cpuprofile"))!); };
      console.log(`\nCPU profile (node --cpu-prof, ${PROFILE_INTERVAL_US} µs sampling), N = ${n}, ${runs} transfers; wall ${fmt(medianOf(ts, "wallMs"))} ms median under the profiler`);
      printProfile("sender", summarise(file("s0"), ts.map((t) => t.txWindow)));
      printProfile("receiver r0", summarise(file("r0"), ts.map((t) => t.rxWindow)));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

main().catch((e: Error) => { console.error(e.stack ?? e.message); process.exit(1); });
