// What onDelta answers decides how a delivered delta is counted: a delta the node already held is a
// duplicate, not one more applied (fleet_deltas_merged_total would count merges that never ran).

import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { Overlay } from "./overlay.js";

const LO = "127.0.0.1";

async function freePort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, LO, () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("a delta onDelta reports as already held counts as a duplicate, not as applied", async (t) => {
  const [pa, pb] = [await freePort(), await freePort()];
  let answer: "applied" | "duplicate" = "duplicate";
  let delivered = 0;
  const timings = { binaryAfterMs: 0, syncIntervalMs: 200, tickMs: 20 };
  const a = await Overlay.start({ nodeId: "a", port: pa, bindAddress: LO, peers: [`${LO}:${pb}`], timings });
  t.after(() => a.close());
  const b = await Overlay.start({
    nodeId: "b", port: pb, bindAddress: LO, peers: [`${LO}:${pa}`], timings,
    onDelta: async () => { delivered++; return answer; },
  });
  t.after(() => b.close());
  await until("the two to meet", () => a.peers().length === 1 && b.peers().length === 1);

  const first = await a.sendDelta(Buffer.from("a delta b holds already"));
  await until("the first delivery", () => delivered === 1 && b.stats.deltasApplied + b.stats.deltasRejected.duplicate === 1);
  assert.equal(b.stats.deltasApplied, 0);
  assert.equal(b.stats.deltasRejected.duplicate, 1);
  assert.equal(first.chunks >= 1, true);

  answer = "applied";
  const second = await a.sendDelta(Buffer.from("a delta b merges"));
  await until("the second delivery", () => delivered === 2 && b.stats.deltasApplied + b.stats.deltasRejected.duplicate === 2);
  assert.equal(b.stats.deltasApplied, 1);
  assert.equal(b.stats.deltasRejected.duplicate, 1);
  assert.notEqual(second.version, first.version);
});
