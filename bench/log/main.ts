#!/usr/bin/env node
// bench/log — what a long fleet log costs, as ratios against baselines measured in the same run:
//   • holding and deriving N entries (course-sized fp16 deltas) with the exact sum, against the
//     plain fp32 sequential merge the node does today (mergeDelta per delta, in arrival order):
//     the maths alone (deltas parsed in memory) and from disk (store open + read + parse + merge);
//   • start-up from a compaction checkpoint of all but the last 10 entries, against replaying all N.
// The from-disk phases each run in a fresh process, so each one's peak RSS (VmHWM) is its own; a
// process that only loads the base model is the floor they are measured above.
//
//   npm run bench:log [-- --entries 1000 --runs 3 --density 0.5 --json]

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readTorchStateDict } from "../../node/src/checkpoint/torch-file.js";
import type { StateDict } from "../../node/src/checkpoint/tensor.js";
import { mergeDelta } from "../../node/src/engine/delta.js";
import { viewParams, type Params } from "../../node/src/engine/params.js";
import { loadModel } from "../../node/src/model/load.js";
import { baseIdentity } from "../../node/src/log/base-id.js";
import { loadCheckpoint, makeCheckpoint, saveCheckpoint } from "../../node/src/log/checkpoint.js";
import { entryName, type Entry } from "../../node/src/log/entry.js";
import { ExactSum } from "../../node/src/log/exact-sum.js";
import { EntryStore } from "../../node/src/log/store.js";
import { sha256Hex } from "../../node/src/util/sha256.js";
import { courseFixture } from "../../test/support/paths.js";
import { randomDelta } from "../../test/support/random-deltas.js";

const { values: opts } = parseArgs({
  options: {
    entries: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    density: { type: "string", default: "0.5" },
    json: { type: "boolean", default: false },
    phase: { type: "string" },
    dir: { type: "string" },
  },
});
const N = Number(opts.entries);
const RUNS = Number(opts.runs);
const DENSITY = Number(opts.density);
/** Entries a checkpoint leaves out: what arrived after the last compaction. */
const TAIL = 10;
const MERGE_WEIGHT = 1;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const digest = (p: Params): string => sha256Hex(new Uint8Array(p.flat.buffer, p.flat.byteOffset, p.flat.byteLength)).slice(0, 16);

function vmHwmMb(): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface PhaseResult {
  ms: number;
  hwmMb: number;
  digest: string;
}

/** One start-up, in this (fresh) process: from the state folder to derived weights. */
async function phase(name: string, dir: string): Promise<PhaseResult> {
  const { params: base } = loadModel(courseFixture("base.pt"));
  const t0 = performance.now();
  let weights: Params = base;
  if (name === "fp32-replay") {
    const store = await EntryStore.open(dir);
    weights = viewParams(base.config, Float32Array.from(base.flat));
    // Arrival order; a node merging in fp32 depends on it (the store's sorted order stands in).
    for (const n of store.names()) mergeDelta(weights, readTorchStateDict(await store.readDelta(n), n), MERGE_WEIGHT);
  } else if (name === "exact-replay") {
    const store = await EntryStore.open(dir);
    const sum = new ExactSum(base.config);
    for (const n of store.names()) sum.add(readTorchStateDict(await store.readDelta(n), n));
    weights = sum.derive(base, MERGE_WEIGHT);
  } else if (name === "exact-checkpoint") {
    const cpFile = readFileSync(join(dir, "checkpoint-name"), "utf8");
    const cp = await loadCheckpoint(join(dir, cpFile), base.config);
    const covered = new Set(cp.names);
    // Covered entries are checked by length at open, not re-hashed: that is what compaction buys.
    const store = await EntryStore.open(dir, { verify: (n) => !covered.has(n) });
    const sum = cp.sum;
    for (const n of store.names()) if (!covered.has(n)) sum.add(readTorchStateDict(await store.readDelta(n), n));
    weights = sum.derive(base, MERGE_WEIGHT);
  } else if (name !== "floor") throw new Error(`bench/log: no phase ${name}`);
  return { ms: performance.now() - t0, hwmMb: vmHwmMb(), digest: digest(weights) };
}

function runPhase(name: string, dir: string): PhaseResult {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--phase", name, "--dir", dir], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench/log: phase ${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as PhaseResult;
}

/** The maths alone, deltas already parsed: N adds + one derive, against N fp32 merges. */
function mathsInMemory(base: Params, pool: StateDict[]): { exactMs: number; fp32Ms: number; deriveMs: number } {
  const t0 = performance.now();
  const sum = new ExactSum(base.config);
  for (let i = 0; i < N; i++) sum.add(pool[i % pool.length]!);
  const t1 = performance.now();
  sum.derive(base, MERGE_WEIGHT);
  const t2 = performance.now();
  const fp32 = viewParams(base.config, Float32Array.from(base.flat));
  for (let i = 0; i < N; i++) mergeDelta(fp32, pool[i % pool.length]!, MERGE_WEIGHT);
  const t3 = performance.now();
  return { exactMs: t2 - t0, deriveMs: t2 - t1, fp32Ms: t3 - t2 };
}

async function main(): Promise<void> {
  if (opts.phase) {
    console.log(JSON.stringify(await phase(opts.phase, opts.dir!)));
    return;
  }
  const { params: base } = loadModel(courseFixture("base.pt"));
  const BASE = baseIdentity(base);
  const dir = mkdtempSync(join(tmpdir(), "bench-log-"));
  try {
    // The log: N course-sized deltas from 30 authors, written durably as a node would keep them.
    const store = await EntryStore.open(dir);
    const pool: StateDict[] = [];
    const early = new ExactSum(base.config);
    const earlyNames: string[] = [];
    let deltaBytes = 0;
    let addMs = 0;
    for (let i = 0; i < N; i++) {
      const { delta, file } = randomDelta(base.config, 5000 + i, DENSITY);
      if (pool.length < 20) pool.push(delta);
      const entry: Entry = { author: `pi-${i % 30}`, seq: Math.floor(i / 30) + 1, sha256: sha256Hex(file), kind: "round", base: BASE, round: { job: "bench", r: i + 1, members: [`pi-${i % 30}`] } };
      const t0 = performance.now();
      await store.add(entry, file);
      addMs += performance.now() - t0;
      deltaBytes += file.length;
      if (i < N - TAIL) {
        early.add(delta);
        earlyNames.push(entryName(entry));
      }
    }
    // Compaction: the sum of all but the last TAIL entries, saved under its set's name.
    const tc = performance.now();
    const cpPath = await saveCheckpoint(dir, makeCheckpoint(BASE, earlyNames, early));
    const compactMs = performance.now() - tc;
    const cpBytes = readFileSync(cpPath).length;
    writeFileSync(join(dir, "checkpoint-name"), basename(cpPath));

    const maths = [] as Array<ReturnType<typeof mathsInMemory>>;
    const phases: Record<string, PhaseResult[]> = { floor: [], "fp32-replay": [], "exact-replay": [], "exact-checkpoint": [] };
    for (let r = 0; r < RUNS; r++) {
      maths.push(mathsInMemory(base, pool));
      for (const name of Object.keys(phases)) phases[name]!.push(runPhase(name, dir));
    }
    const ms = (name: string) => median(phases[name]!.map((p) => p.ms));
    const mb = (name: string) => median(phases[name]!.map((p) => p.hwmMb));
    const floor = mb("floor");
    const digests = (name: string) => new Set(phases[name]!.map((p) => p.digest));
    const sameBits = digests("exact-replay").size === 1 && [...digests("exact-replay")][0] === [...digests("exact-checkpoint")][0] && digests("exact-checkpoint").size === 1;
    const m = {
      exactMs: median(maths.map((x) => x.exactMs)),
      fp32Ms: median(maths.map((x) => x.fp32Ms)),
      deriveMs: median(maths.map((x) => x.deriveMs)),
    };
    const params = base.flat.length;
    const result = {
      entries: N,
      density: DENSITY,
      runs: RUNS,
      params,
      deltaKb: deltaBytes / N / 1000,
      durableAddMsPerEntry: addMs / N,
      maths: { ...m, ratio: m.exactMs / m.fp32Ms, heldBytesExact: 8 * params, heldBytesFp32: 4 * params },
      replay: { fp32Ms: ms("fp32-replay"), exactMs: ms("exact-replay"), ratio: ms("exact-replay") / ms("fp32-replay"),
        fp32AboveFloorMb: mb("fp32-replay") - floor, exactAboveFloorMb: mb("exact-replay") - floor },
      startup: { replayMs: ms("exact-replay"), checkpointMs: ms("exact-checkpoint"), ratio: ms("exact-checkpoint") / ms("exact-replay"),
        replayAboveFloorMb: mb("exact-replay") - floor, checkpointAboveFloorMb: mb("exact-checkpoint") - floor,
        checkpointBytes: cpBytes, logBytes: deltaBytes, compactMs, sameBits },
      floorMb: floor,
    };
    if (opts.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const f = (x: number, d = 1) => x.toFixed(d);
    console.log(`bench/log: ${N} course-sized entries (${f(result.deltaKb)} KB .pt each, ${DENSITY * 100}% non-zero), tiny-gpt2 (${params} parameters), medians of ${RUNS} runs`);
    console.log(`  durable add (delta + record, fsynced):  ${f(result.durableAddMsPerEntry, 2)} ms per entry`);
    console.log(`  maths, deltas parsed in memory — ${N} entries held and derived:`);
    console.log(`    fp32 sequential merge (baseline)     ${f(m.fp32Ms)} ms   holds ${f(4 * params / 1024)} KB (the weights)`);
    console.log(`    exact sum + one derive               ${f(m.exactMs)} ms   holds ${f(8 * params / 1024)} KB (the sum)   ×${f(result.maths.ratio, 2)} time  ×2.00 held  (derive alone ${f(m.deriveMs, 2)} ms)`);
    console.log(`  from the state folder (open, hash, read, parse, merge), peak RSS above a bare base-model process (${f(floor)} MB):`);
    console.log(`    fp32 sequential merge (baseline)     ${f(result.replay.fp32Ms)} ms   +${f(result.replay.fp32AboveFloorMb)} MB`);
    console.log(`    exact sum, replaying all ${N}        ${f(result.replay.exactMs)} ms   +${f(result.replay.exactAboveFloorMb)} MB   ×${f(result.replay.ratio, 2)} time`);
    console.log(`  start-up: checkpoint of ${N - TAIL} + the last ${TAIL}, against replaying all ${N} (exact):`);
    console.log(`    replay all (baseline)                ${f(result.startup.replayMs)} ms   +${f(result.startup.replayAboveFloorMb)} MB`);
    console.log(`    checkpoint + ${TAIL}                      ${f(result.startup.checkpointMs)} ms   +${f(result.startup.checkpointAboveFloorMb)} MB   ×${f(result.startup.ratio, 3)} time`);
    console.log(`    checkpoint file ${f(cpBytes / 1e6, 2)} MB against ${f(deltaBytes / 1e6, 1)} MB of deltas; compacting took ${f(compactMs)} ms; same bits as replay: ${sameBits ? "yes" : "NO"}`);
    if (!sameBits) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
