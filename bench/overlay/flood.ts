// What hostile traffic costs a receiver, as CPU per datagram against a real delta's chunks, in one
// run: the victim is a child process (its process.cpuUsage is its own), a real sender and the
// attackers' sockets are in this one, all on loopback. Floods: binary chunks claiming 65,536 chunks
// (the NAK-state attack: 32, measured with the second after them when their NAK timers run, then a
// stream of them); NAKs with `ranges=0-999999` for a delta the victim holds (from SRCs it never
// heard: discovery drops those as nak_unknown_peer before the sender; the sender's own bound is in
// sender.test.ts); well-formed META for ever new versions from 200 SRCs on 8 sockets. The idle CPU
// rate (housekeeping) is taken off every phase.
//
//   npm run build && node dist/bench/overlay/flood.js

import { fork, type ChildProcess } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { fileURLToPath } from "node:url";
import { encodeText } from "../../node/src/overlay/codec.js";
import { Overlay } from "../../node/src/overlay/overlay.js";
import { seeded } from "../../test/support/faulty-transport.js";
import { claimingChunk, metaFlood } from "../../test/support/hostile-datagrams.js";
import { freeUdpPorts } from "../../test/support/procs.js";

const LO = "127.0.0.1";
const CLAIMS = 32;
const CLAIM_FLOOD = 2_000;
const NAKS = 1_000;
const METAS = 2_000;

interface Mark { cpuUs: number; received: number; delivered: number; peers: number; rssMb: number; outgoing?: string }

// ---- the victim (child) ------------------------------------------------------------------------

async function victim(port: number, senderPort: number): Promise<void> {
  let delivered = 0;
  const ov = await Overlay.start({ nodeId: "victim", port, bindAddress: LO, peers: [`${LO}:${senderPort}`], timings: { binaryAfterMs: 0 },
    onDelta: async () => { delivered++; } });
  let outgoing: string | undefined;
  process.on("message", (m: string) => {
    void (async () => {
      // A sparse delta (deflates to one chunk): what a NAK flood asks the victim to resend.
      if (m === "send") outgoing = (await ov.sendDelta(new Uint8Array(200_000).fill(1, 0, 50))).version;
      if (m === "close") { await ov.close(); process.exit(0); }
      const u = process.cpuUsage();
      const mark: Mark = { cpuUs: u.user + u.system, received: ov.stats.datagramsReceived, delivered, peers: ov.peers().length,
        rssMb: Math.round(process.memoryUsage().rss / 2 ** 20), outgoing };
      process.send!(mark);
    })();
  });
  process.send!("ready");
}

// ---- the run (parent) --------------------------------------------------------------------------

/** A UDP port free on loopback now (the shared helper, one at a time). */
const freePort = async (): Promise<number> => (await freeUdpPorts(1, LO))[0]!;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ask(child: ChildProcess, m: string): Promise<Mark> {
  return new Promise((resolve) => { child.once("message", (x) => resolve(x as Mark)); child.send(m); });
}

async function main(): Promise<void> {
  const [vp, sp] = [await freePort(), await freePort()];
  const child = fork(fileURLToPath(import.meta.url), ["--victim", String(vp), String(sp)]);
  await new Promise<void>((r) => child.once("message", () => r()));
  const sender = await Overlay.start({ nodeId: "sender", port: sp, bindAddress: LO, peers: [`${LO}:${vp}`], timings: { binaryAfterMs: 0 } });
  const evil: Socket[] = await Promise.all(Array.from({ length: 8 }, async () => {
    const s = createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, LO, () => r()));
    return s;
  }));
  const send = (i: number, buf: Uint8Array) => new Promise<void>((r) => evil[i % evil.length]!.send(buf, vp, LO, () => r()));
  while ((await ask(child, "mark")).peers === 0 || sender.peers().length === 0) await sleep(20);

  // Idle: what housekeeping costs per ms, taken off each phase below.
  let m0 = await ask(child, "mark");
  let t0 = performance.now();
  await sleep(1_000);
  let m1 = await ask(child, "mark");
  const idleUsPerMs = (m1.cpuUs - m0.cpuUs) / (performance.now() - t0);

  const rows: Array<{ phase: string; datagrams: number; usPer: number; rssMb: number }> = [];
  const phase = async (name: string, run: () => Promise<void>, settleMs: number): Promise<void> => {
    m0 = await ask(child, "mark");
    t0 = performance.now();
    await run();
    await sleep(settleMs);
    m1 = await ask(child, "mark");
    const cpu = m1.cpuUs - m0.cpuUs - idleUsPerMs * (performance.now() - t0);
    const n = m1.received - m0.received;
    rows.push({ phase: name, datagrams: n, usPer: Math.max(0, cpu) / Math.max(1, n), rssMb: m1.rssMb });
  };

  // A real delta (incompressible, ~285 binary chunks) from a known peer.
  const rnd = seeded(7);
  const delta = Buffer.from(Uint8Array.from({ length: 403_973 }, () => Math.floor(rnd() * 256)));
  await phase("real delta's chunks", async () => {
    const before = m0.delivered;
    await sender.sendDelta(delta);
    while ((await ask(child, "mark")).delivered === before) await sleep(10);
  }, 100);
  await phase(`${CLAIMS} chunks claiming 65,536 chunks (+1 s of NAK timers)`, async () => {
    for (let i = 0; i < CLAIMS; i++) await send(i, claimingChunk(i));
  }, 1_000);
  await phase(`${CLAIM_FLOOD} more such chunks, back to back`, async () => {
    for (let i = 0; i < CLAIM_FLOOD; i++) await send(i, claimingChunk(CLAIMS + i));
  }, 300);
  const version = (await ask(child, "send")).outgoing!;
  await sleep(200);
  await phase(`${NAKS} NAKs ranges=0-999999 (a 1-chunk delta)`, async () => {
    for (let i = 0; i < NAKS; i++) {
      await send(i, encodeText("v1", { src: `nak${i % 50}`, seq: i + 1 }, { type: "CHUNK_NAK", ver: version, missing: [], wantMeta: false }, { ranges: "0-999999" }));
    }
  }, 300);
  const meta = metaFlood(200);
  await phase(`${METAS} METAs from 200 SRCs on 8 sockets`, async () => {
    for (let i = 0; i < METAS; i++) await send(i, meta(i));
  }, 300);

  const base = rows[0]!.usPer;
  console.log(`victim idle: ${(idleUsPerMs).toFixed(1)} µs CPU per ms (housekeeping; taken off each phase)`);
  console.log("phase | datagrams | CPU µs per datagram | × a real chunk | victim RSS MB");
  for (const r of rows) console.log(`${r.phase} | ${r.datagrams} | ${r.usPer.toFixed(1)} | ${(r.usPer / base).toFixed(2)} | ${r.rssMb}`);
  await ask(child, "close").catch(() => undefined);
  await sender.close();
  for (const s of evil) s.close();
}

if (process.argv[2] === "--victim") void victim(Number(process.argv[3]), Number(process.argv[4]));
else void main();
