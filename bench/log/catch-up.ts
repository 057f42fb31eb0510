#!/usr/bin/env node
// bench/log/catch-up — what it costs a node that missed N entries to catch up, as ratios against
// the first delivery of the same N entries, in one run, on real fleet-node processes on loopback:
//   • first delivery: Pi-1 is taught N lessons one after another; Pi-2 merges each from the teach's
//     broadcast. Time: the sum of Pi-2's delivery latencies (MODEL_META seen → merged, what
//     fleet_delivery_latency_seconds measures); bytes: the UDP bytes Pi-2 received meanwhile.
//   • catch-up: Pi-3 starts with an empty state folder and fetches all N by anti-entropy. Time:
//     from its /ready to holding all N; bytes: the UDP bytes it received until then.
// Both byte counts include the PEER_SYNC chatter of the same span. The teaches go on from the
// first size to the largest, so the largest's first delivery includes the smaller ones'; a fresh
// Pi-3 (stopped in between, so it misses every teach) catches up at each size.
//
//   npm run bench:catchup [-- --sizes 10,100 --json]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fleetSpecs, NodeProc, until } from "../../test/support/e2e-harness.js";

const { values: opts } = parseArgs({
  options: {
    sizes: { type: "string", default: "10,100" },
    json: { type: "boolean", default: false },
  },
});
const SIZES = opts.sizes!.split(",").map(Number).sort((a, b) => a - b);
if (SIZES.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) {
  console.error(`bench/log/catch-up: --sizes takes entry counts in 1..1000, got ${opts.sizes}`);
  process.exit(2);
}
/** However large N, a run stops: teaches and catch-up each get this long per entry. */
const PER_ENTRY_TIMEOUT_MS = 10_000;

/** A metric's value from a node's /metrics page (unlabelled series; 0 when absent). */
async function metric(n: NodeProc, name: string): Promise<number> {
  const text = await (await fetch(`${n.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

interface Delivery { entries: number; ms: number; bytes: number; deltaBytes: number }
interface SizeResult { entries: number; first: Delivery; catchUp: Delivery; timeRatio: number; bytesRatio: number; deltaBytesRatio: number }

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "bench-catchup-"));
  const specs = await fleetSpecs(3, root);
  const [teacher, first] = [new NodeProc(specs[0]!), new NodeProc(specs[1]!)];
  const procs = [teacher, first];
  try {
    await Promise.all(procs.map((p) => p.ready()));
    await until("Pi-1 and Pi-2 hear each other", async () => (await first.status()).peers.some((p) => p.id === "Pi-1"), 30_000);
    const start = { latency: await metric(first, "fleet_delivery_latency_seconds_sum"), bytes: await metric(first, "fleet_bytes_received_total") };
    let taught = 0;
    let deltaBytes = 0;
    const results: SizeResult[] = [];
    for (const n of SIZES) {
      for (; taught < n; taught++) {
        const r = await teacher.post<{ version: string; bytes: number }>("/teach", { question: `What is the catch-up word ${taught}?`, answer: `word ${taught}` });
        deltaBytes += r.bytes;
        await until(`Pi-2 merging ${r.version}`, async () => (await first.status()).applied.some((a) => a.version === r.version), PER_ENTRY_TIMEOUT_MS, 20);
      }
      const firstDelivery: Delivery = {
        entries: n,
        ms: ((await metric(first, "fleet_delivery_latency_seconds_sum")) - start.latency) * 1000,
        bytes: (await metric(first, "fleet_bytes_received_total")) - start.bytes,
        deltaBytes,
      };

      const late = new NodeProc({ ...specs[2]!, stateDir: join(root, `Pi-3-missed-${n}`) });
      procs.push(late);
      await late.ready();
      const t0 = performance.now();
      await until(`Pi-3 holding ${n} entries`, async () => ((await late.get<{ entries: number }>("/log")).entries >= n), n * PER_ENTRY_TIMEOUT_MS, 20);
      const catchUp: Delivery = {
        entries: n,
        ms: performance.now() - t0,
        bytes: await metric(late, "fleet_bytes_received_total"),
        deltaBytes: await metric(late, "fleet_log_fetch_bytes_total"),
      };
      const [a, b] = await Promise.all([teacher.status(), late.status()]);
      if (a.digest !== b.digest) throw new Error(`bench/log/catch-up: Pi-3 holds ${n} entries but not the teacher's weights`);
      await late.stop();
      results.push({
        entries: n, first: firstDelivery, catchUp,
        timeRatio: catchUp.ms / firstDelivery.ms, bytesRatio: catchUp.bytes / firstDelivery.bytes, deltaBytesRatio: catchUp.deltaBytes / firstDelivery.deltaBytes,
      });
    }
    report(results);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(root, { recursive: true, force: true });
  }
}

function report(results: SizeResult[]): void {
  if (opts.json) {
    console.log(JSON.stringify({ bench: "log/catch-up", results }, null, 2));
    return;
  }
  const kb = (b: number) => `${(b / 1024).toFixed(0)} kB`;
  console.log("bench/log/catch-up: a node that missed N entries, against their first delivery (loopback, real nodes)\n");
  console.log("entries  first: ms   UDP in     catch-up: ms   UDP in     time ×  bytes ×  delta bytes ×");
  for (const r of results) {
    console.log(`${String(r.entries).padStart(7)}  ${r.first.ms.toFixed(0).padStart(9)}  ${kb(r.first.bytes).padStart(9)}  ${r.catchUp.ms.toFixed(0).padStart(13)}  ${kb(r.catchUp.bytes).padStart(9)}  ` +
      `${r.timeRatio.toFixed(2).padStart(6)}  ${r.bytesRatio.toFixed(2).padStart(7)}  ${r.deltaBytesRatio.toFixed(2).padStart(13)}`);
  }
  console.log("\nfirst: the sum of Pi-2's META→merged latencies over the teaches, and the UDP bytes it received meanwhile;");
  console.log("catch-up: Pi-3 from /ready with an empty state folder to holding all N, and the UDP bytes it received;");
  console.log("delta bytes: the deltas' own size as taught against what catch-up fetched (fleet_log_fetch_bytes_total).");
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
