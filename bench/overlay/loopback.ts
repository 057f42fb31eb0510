// Figures for the overlay on one machine: one sender, three receivers on one shared loopback port
// (broadcast 127.255.255.255), the real 404 KB course delta, seeded loss on every datagram each
// receiver gets. Prints per loss rate, binary frames against course text (V=1 base64) measured in
// the same run: time until all three hold it verified, bytes the sender put on the wire per delta
// byte, retransmits, NAK datagrams. Default timings (NAK after 500 ms quiet).
//
//   npm run build && node dist/bench/overlay/loopback.js [--loss 0,5,20,40] [--runs 1]

import { readFileSync } from "node:fs";
import { createSocket } from "node:dgram";
import { parseArgs } from "node:util";
import { Overlay } from "../../node/src/overlay/overlay.js";
import { FaultyTransport, seeded } from "../../test/support/faulty-transport.js";
import { courseFixture } from "../../test/support/paths.js";

const DELTA = readFileSync(courseFixture("delta_v1764008499.pt"));
const RECEIVERS = 3;
const CASE_TIMEOUT_MS = 90_000;

interface Row { ms: number; wireRatio: number; datagrams: number; retransmits: number; naks: number }

async function freePort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function trial(lossPct: number, binary: boolean, seed: number): Promise<Row> {
  const port = await freePort();
  const common = { port, bindAddress: "0.0.0.0", broadcastAddress: "127.255.255.255", binary, timings: { binaryAfterMs: 0 } };
  const sender = await Overlay.start({ ...common, nodeId: "s" });
  let done = 0;
  const rx: Overlay[] = [];
  for (let i = 0; i < RECEIVERS; i++) {
    const rnd = seeded(seed * 100 + i);
    rx.push(await Overlay.start({ ...common, nodeId: `r${i}`, onDelta: async () => { done++; },
      transport: FaultyTransport.factory((c) => (c.dir === "in" && rnd() * 100 < lossPct ? "drop" : "pass")) }));
  }
  try {
    const end = Date.now() + 10_000;
    while ([sender, ...rx].some((o) => o.peers().length < RECEIVERS) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const t0 = performance.now();
    await sender.sendDelta(DELTA);
    const deadline = Date.now() + CASE_TIMEOUT_MS;
    while (done < RECEIVERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (done < RECEIVERS) throw new Error(`loss ${lossPct} %: only ${done}/${RECEIVERS} receivers completed`);
    const ms = performance.now() - t0;
    return { ms, wireRatio: sender.stats.bytesSent / DELTA.length, datagrams: sender.stats.datagramsSent,
      retransmits: sender.stats.retransmits, naks: rx.reduce((n, o) => n + o.stats.naksSent, 0) };
  } finally {
    await Promise.all([sender, ...rx].map((o) => o.close()));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { loss: { type: "string", default: "0,5,20,40" }, runs: { type: "string", default: "1" } } });
  const losses = values.loss.split(",").map(Number);
  const runs = Number(values.runs);
  console.log(`404 KB course delta, 1 sender -> ${RECEIVERS} receivers, loopback broadcast, seeded loss per receiver`);
  console.log("loss  framing  ms      wire/delta  datagrams  retransmits  naks   | text/binary: ms   wire");
  for (const loss of losses) {
    const rows: Record<string, Row> = {};
    for (const binary of [false, true]) {
      const all: Row[] = [];
      for (let r = 0; r < runs; r++) all.push(await trial(loss, binary, r + 1));
      const avg = (k: keyof Row): number => all.reduce((n, x) => n + x[k], 0) / all.length;
      rows[binary ? "binary" : "text"] = { ms: avg("ms"), wireRatio: avg("wireRatio"), datagrams: avg("datagrams"), retransmits: avg("retransmits"), naks: avg("naks") };
    }
    for (const f of ["text", "binary"]) {
      const x = rows[f]!;
      const ratio = f === "binary" ? `| ${(rows.text!.ms / x.ms).toFixed(2)}x  ${(rows.text!.wireRatio / x.wireRatio).toFixed(2)}x` : "|";
      console.log(`${String(loss).padStart(3)} %  ${f.padEnd(7)}  ${x.ms.toFixed(0).padStart(6)}  ${x.wireRatio.toFixed(3).padStart(10)}  ${x.datagrams.toFixed(0).padStart(9)}  ${x.retransmits.toFixed(0).padStart(11)}  ${x.naks.toFixed(0).padStart(4)}   ${ratio}`);
    }
  }
}

main().catch((e: Error) => { console.error(e.message); process.exit(1); });
