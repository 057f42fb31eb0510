// bench/node — what one fleet-node costs on a Pi: resident memory idle and while merging a delta,
// and start-up time to /ready (fresh state folder and restart from it). Each figure is printed
// against the Pi target (RSS ≤ 150 MB, ready ≤ 3 s) and against a bare Node process measured in the
// same run (the floor no node program can go below).
//
//   node .build/<you>/bench/node/main.js [--runs 3] [--json]
//
// Memory: the kernel's VmRSS (idle, after 2 s) and VmHWM (peak, read after the merge) of the node's
// own pid. Start-up: from spawn to the first HTTP 200 on /ready.

import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fleetNodeEntry, freePorts, LocalFleet, stopProcess, type LocalNode } from "../../node/src/node/local-fleet.js";

const TARGET_RSS_MB = 150;
const TARGET_READY_S = 3;

async function procKb(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const s = await readFile(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(s);
  if (!m) throw new Error(`bench/node: no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

async function waitReady(url: string, t0: number, timeoutMs = 60_000): Promise<number> {
  for (;;) {
    try {
      if ((await fetch(url + "/ready")).status === 200) return performance.now() - t0;
    } catch { /* not listening yet */ }
    if (performance.now() - t0 > timeoutMs) throw new Error(`bench/node: ${url} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A bare Node process: its RSS and its time to answer HTTP are the floor for any node program. */
async function bareNode(): Promise<{ rssMb: number; readyMs: number }> {
  const [port] = await freePorts("tcp", 1);
  const t0 = performance.now();
  const p = spawn(process.execPath, ["-e", `require("http").createServer((q,s)=>s.end("ok")).listen(${port},"127.0.0.1")`], { stdio: "ignore" });
  try {
    const readyMs = await waitReady(`http://127.0.0.1:${port}`, t0);
    await sleep(2000);
    return { rssMb: (await procKb(p.pid!, "VmRSS")) / 1024, readyMs };
  } finally {
    await stopProcess(p, 2000);
  }
}

interface NodeFigures { readyFreshMs: number; readyRestartMs: number; idleRssMb: number; mergePeakRssMb: number }

async function oneRun(): Promise<NodeFigures> {
  const root = await mkdtemp(join(tmpdir(), "bench-node-"));
  let fleet: LocalFleet | undefined;
  try {
    const t0 = performance.now();
    fleet = await LocalFleet.start({ count: 2, root, extraArgs: ["--log-level", "warn"] });
    const [a, b] = fleet.nodes as [LocalNode, LocalNode];
    const readyFreshMs = await waitReady(b.url, t0);
    await waitReady(a.url, t0);
    await sleep(2000);
    const idleRssMb = (await procKb(b.proc.pid!, "VmRSS")) / 1024;
    const r = await fetch(a.url + "/teach", { method: "POST", body: JSON.stringify({ question: "What is 2+2", answer: "4" }) });
    const { version } = await r.json() as { version: string };
    for (const end = Date.now() + 60_000; ;) {
      const s = await (await fetch(b.url + "/status")).json() as { applied: Array<{ version: string }> };
      if (s.applied.some((x) => x.version === version)) break;
      if (Date.now() > end) throw new Error("bench/node: the delta was not merged within 60 s");
      await sleep(20);
    }
    const mergePeakRssMb = (await procKb(b.proc.pid!, "VmHWM")) / 1024;
    await fleet.stop();
    // Restart B alone from its state folder.
    const t1 = performance.now();
    const [http] = await freePorts("tcp", 1);
    const p = spawn(process.execPath, [fleetNodeEntry(), b.id, "--port", String(b.udpPort), "--bind", "127.0.0.1", "--peer", `127.0.0.1:${a.udpPort}`,
      "--http", `127.0.0.1:${http}`, "--state-dir", b.stateDir, "--log-level", "warn"], { stdio: "ignore" });
    try {
      const readyRestartMs = await waitReady(`http://127.0.0.1:${http}`, t1);
      return { readyFreshMs, readyRestartMs, idleRssMb, mergePeakRssMb };
    } finally {
      await stopProcess(p, 5000);
    }
  } finally {
    await fleet?.stop();
    await rm(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, json: { type: "boolean", default: false } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`bench/node: --runs ${values.runs} must be a whole number ≥ 1`);
  const bare = await bareNode();
  const all: NodeFigures[] = [];
  for (let i = 0; i < runs; i++) all.push(await oneRun());
  const pick = (k: keyof NodeFigures): number => median(all.map((f) => f[k]));
  const rows = [
    { what: "RSS idle", unit: "MB", value: pick("idleRssMb"), target: TARGET_RSS_MB, bare: bare.rssMb },
    { what: "RSS peak while merging a delta", unit: "MB", value: pick("mergePeakRssMb"), target: TARGET_RSS_MB, bare: bare.rssMb },
    { what: "ready, fresh state folder", unit: "s", value: pick("readyFreshMs") / 1000, target: TARGET_READY_S, bare: bare.readyMs / 1000 },
    { what: "ready, restart from state", unit: "s", value: pick("readyRestartMs") / 1000, target: TARGET_READY_S, bare: bare.readyMs / 1000 },
  ];
  if (values.json) {
    process.stdout.write(JSON.stringify({ runs, rows, all, bare }, null, 2) + "\n");
    return;
  }
  process.stdout.write(`bench/node: median of ${runs} run(s) on ${process.arch}; target = Pi budget; bare = a Node process serving HTTP, same run\n\n`);
  process.stdout.write(`${"figure".padEnd(32)} ${"value".padStart(10)} ${"target".padStart(8)} ${"value/target".padStart(13)} ${"value/bare".padStart(11)}\n`);
  for (const r of rows) {
    process.stdout.write(`${r.what.padEnd(32)} ${`${r.value.toFixed(r.unit === "s" ? 3 : 1)} ${r.unit}`.padStart(10)} ${`${r.target} ${r.unit}`.padStart(8)} ` +
      `${(r.value / r.target).toFixed(2).padStart(13)} ${(r.value / r.bare).toFixed(2).padStart(11)}\n`);
  }
  process.stdout.write(`\nvalue/target ≤ 1.00 meets the Pi budget (measured here on ${process.arch}; a Pi 4 is slower to start, RSS is similar)\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exitCode = 1;
});
