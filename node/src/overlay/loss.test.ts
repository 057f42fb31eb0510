// On a namespace LAN (100 Mbit/s links), one agent broadcasts the real 404 KB course delta to three
// agents that lose 0, 5, 20 and 40 % of every datagram arriving at them: every receiver ends up
// with the exact bytes, and the sender puts far less than one copy per receiver on the wire.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { courseFixture } from "../../../test/support/paths.js";
import { Lan } from "../../../test/support/netlab.js";
import { sha256, startAgent, startCoursePeer, waitForFile, type JsonProcess } from "../../../test/support/procs.js";

const DELTA = courseFixture("delta_v1764009046.pt");
const RECEIVERS = 3;
const PORT = 5000;
/**
 * One copy on the wire, over the payload: a V=1 MODEL_CHUNK carries 1,023 raw bytes in a datagram of
 * at most 1,469 B, plus 42 B of Ethernet, IP and UDP headers (1.48x; bench:sync measures 1.49x).
 * (A just-started agent sends course text: binary frames wait for binaryAfterMs of listening.)
 */
const ONE_COPY_FACTOR = 1.6;

const skip = needs("root");
let lan: Lan;
let dir: string;

before(async () => {
  if (skip) return;
  lan = await Lan.create({ hosts: RECEIVERS + 1 });
  dir = await mkdtemp(join(tmpdir(), "lan-loss-"));
});
after(async () => {
  if (skip) return;
  await lan.close();
  await rm(dir, { recursive: true, force: true });
});

for (const lossPct of [0, 5, 20, 40]) {
  test(`every receiver gets the delta bit-exact by broadcast at ${lossPct} % loss`, { skip, timeout: 90_000 }, async () => {
    const bytes = await readFile(DELTA);
    const sha = sha256(bytes);
    for (let i = 1; i <= RECEIVERS; i++) await lan.setLoss(i, lossPct / 100);
    const common = { port: PORT, bind: "0.0.0.0", broadcast: lan.broadcast };
    const procs: JsonProcess[] = [];
    try {
      const outs = Array.from({ length: RECEIVERS }, (_, k) => join(dir, `loss${lossPct}-r${k + 1}`));
      for (let i = 1; i <= RECEIVERS; i++) {
        procs.push(startAgent({ ...common, id: `r${i}`, out: outs[i - 1] }, (c, a) => lan.spawn(i, c, a)));
      }
      await Promise.all(procs.map((p) => p.waitEv("ready", () => true, 10_000)));
      const before = await lan.counters(0);
      const sender = startAgent({ ...common, id: "s0", send: DELTA }, (c, a) => lan.spawn(0, c, a));
      procs.push(sender);
      await Promise.all(outs.map((o, k) => waitForFile(o, sha, 60_000, procs[k])));
      const sent = (await lan.counters(0)).txBytes - before.txBytes;
      if (lossPct === 0) {
        // One broadcast copy, not one per receiver: the first pass sent each chunk once. Repairs
        // come on top only when a receiver lost datagrams anyway (a busy machine's full socket
        // buffer), and the wire bound makes room for exactly those.
        await sender.stop();
        const chunks = Number(sender.events.find((e) => e.ev === "sent")?.chunks);
        const st = [...sender.events].reverse().find((e) => e.ev === "stats")?.stats as { fragmentsSent: number; retransmits: number; tailRepeats: number } | undefined;
        assert.ok(st && chunks > 0, `the sender said no "sent" or "stats": ${sender.tail()}`);
        assert.equal(st.fragmentsSent, chunks, "the first pass sent every chunk once (one broadcast copy)");
        const copies = 1 + (st.retransmits + st.tailRepeats) / chunks;
        assert.ok(sent < 2 * ONE_COPY_FACTOR * bytes.length * copies,
          `sender put ${sent} B on the wire for ${RECEIVERS} receivers of ${bytes.length} B (${st.retransmits} resends): not one broadcast copy`);
      }
      if (lossPct >= 20) {
        for (let i = 1; i <= RECEIVERS; i++) assert.ok(await lan.dropped(i) > 0, `host ${i} lost nothing at ${lossPct} %`);
      }
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  });
}

test("coded repair on the LAN at 40 % loss: 400 KB of incompressible bytes reach three agents bit-exact, repaired with parity symbols",
  { skip, timeout: 90_000 }, async (t) => {
    // Incompressible (the course delta deflates to 3 chunks between our nodes): 283 chunks, 9 blocks.
    let x = 0x2545f491;
    const bytes = Uint8Array.from({ length: 400_000 }, () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 24));
    const file = join(dir, "coded-400k.bin");
    await writeFile(file, bytes);
    const sha = sha256(bytes);
    for (let i = 1; i <= RECEIVERS; i++) await lan.setLoss(i, 0.4);
    const common = { port: PORT, bind: "0.0.0.0", broadcast: lan.broadcast };
    const procs: JsonProcess[] = [];
    try {
      const outs = Array.from({ length: RECEIVERS }, (_, k) => join(dir, `coded40-r${k + 1}`));
      for (let i = 1; i <= RECEIVERS; i++) procs.push(startAgent({ ...common, id: `r${i}`, out: outs[i - 1] }, (c, a) => lan.spawn(i, c, a)));
      await Promise.all(procs.map((p) => p.waitEv("ready", () => true, 10_000)));
      const before = await lan.counters(0);
      // binaryAfterMs=0: a just-started agent would send course text for 11 s, and text gets no coded repair.
      const sender = startAgent({ ...common, id: "s0", send: file, extra: ["--timing", "binaryAfterMs=0"] }, (c, a) => lan.spawn(0, c, a));
      procs.push(sender);
      await Promise.all(outs.map((o, k) => waitForFile(o, sha, 60_000, procs[k])));
      const sent = (await lan.counters(0)).txBytes - before.txBytes;
      let symbols = 0, resends = 0;
      sender.count("repaired", (e) => { symbols += Number(e.symbols ?? 0); resends += Number(e.sent ?? 0) - Number(e.symbols ?? 0); return true; });
      t.diagnostic(`sender put ${sent} B on the wire for ${bytes.length} B: ${symbols} repair symbols, ${resends} resends`);
      assert.ok(symbols > 0, `no repair symbol went out (${resends} resends)`);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  });

test("a mixed fleet on the LAN at 20 % loss: two agents and a course node all get our delta bit-exact",
  { skip: skip || needs("python3"), timeout: 90_000 }, async () => {
    const bytes = await readFile(DELTA);
    const sha = sha256(bytes);
    for (let i = 1; i <= RECEIVERS; i++) await lan.setLoss(i, 0.2);
    const common = { port: PORT, bind: "0.0.0.0", broadcast: lan.broadcast };
    const outs = Array.from({ length: RECEIVERS }, (_, k) => join(dir, `mixed-r${k + 1}`));
    const procs: JsonProcess[] = [];
    try {
      procs.push(startAgent({ ...common, id: "r1", out: outs[0] }, (c, a) => lan.spawn(1, c, a)));
      procs.push(startAgent({ ...common, id: "r2", out: outs[1] }, (c, a) => lan.spawn(2, c, a)));
      // The course node with its NAK timers cut tenfold, so repair rounds take 0.3 s, not 3–5 s.
      procs.push(startCoursePeer({ id: "Pi-3", port: PORT, broadcast: lan.broadcast, out: outs[2], nakQuietS: 0.3, nakCheckS: 0.1, syncEveryS: 1 },
        (c, a) => lan.spawn(3, c, a)));
      await Promise.all([procs[0]!.waitEv("ready"), procs[1]!.waitEv("ready"), procs[2]!.waitEv("listening")]);
      procs.push(startAgent({ ...common, id: "s0", send: DELTA }, (c, a) => lan.spawn(0, c, a)));
      await Promise.all(outs.map((o, k) => waitForFile(o, sha, 60_000, procs[k])));
      const course = procs[2]!;
      assert.equal((await course.waitEv("complete")).verified, true);
      assert.equal(course.count("chunk_first") + course.count("stale_buffer") + course.count("sha_mismatch"), 0, course.tail());
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  });
