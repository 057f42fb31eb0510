// The Python course peer (test/course-peer/course_peer.py) is the fixture every interop test leans
// on, so it is pinned down first, against itself: it delivers in both dialects, repairs lost chunks
// through CHUNK_NAK in V=1, and its raw sender (--no-cache) never repairs.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { courseFixture } from "../../../test/support/paths.js";
import { LossyProxy, dropAlways, dropFirstCopies } from "../../../test/support/lossy-proxy.js";
import { freeUdpPorts, sha256, startCoursePeer, waitForFile, type JsonProcess } from "../../../test/support/procs.js";

const DELTA = courseFixture("delta_v1764008499.pt");
const LOCAL_HOST = "127.0.0.1";
const FAST = { nakQuietS: 0.3, nakCheckS: 0.1, bind: LOCAL_HOST };

async function scratch(t: { after: (f: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "course-peer-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function stopAll(t: { after: (f: () => Promise<void>) => void }, ...ps: JsonProcess[]): void {
  t.after(async () => { await Promise.all(ps.map((p) => p.stop())); });
}

for (const dialect of ["v1", "sprint62"] as const) {
  test(`course peer → course peer delivers the real delta bit-exact (${dialect})`, { skip: needs("python3"), timeout: 30_000 }, async (t) => {
    const out = await scratch(t);
    const [pa, pb] = await freeUdpPorts(2);
    const rx = startCoursePeer({ ...FAST, id: "rx", port: pb!, dialect, peers: [`127.0.0.1:${pa}`], out });
    // The sender starts once the receiver listens: a Python start-up slower than sendAfterS (a busy
    // machine) would otherwise lose the META and first chunks before anyone could hear them.
    stopAll(t, rx);
    await rx.waitEv("listening");
    const tx = startCoursePeer({ ...FAST, id: "tx", port: pa!, dialect, peers: [`127.0.0.1:${pb}`], send: DELTA,
      ver: "v1764008499", sendAfterS: 0.3, s62ChunkGapS: 0, s62MetaWaitS: 0.1 });
    stopAll(t, tx);
    const done = await rx.waitEv("complete", (e) => e.ver === "v1764008499");
    assert.equal(done.verified, true);
    assert.equal(sha256(await readFile(await waitForFile(out, sha256(await readFile(DELTA)), 5000))), done.sha256);
  });
}

test("course peer repairs chunks lost on the way through CHUNK_NAK, unicast to the NAK's source", { skip: needs("python3"), timeout: 30_000 }, async (t) => {
  const out = await scratch(t);
  const [pa, pb] = await freeUdpPorts(2);
  const lost = [0, 7, 300, 563];   // first, middle, last chunk (409477 B / 727 = 564 chunks)
  const proxy = await LossyProxy.start({ a: { host: "127.0.0.1", port: pa! }, b: { host: "127.0.0.1", port: pb! }, drop: dropFirstCopies(lost, "toB") });
  t.after(() => proxy.close());
  const rx = startCoursePeer({ ...FAST, id: "rx", port: pb!, peers: [`127.0.0.1:${proxy.portForB}`], out });
  stopAll(t, rx);
  await rx.waitEv("listening");
  const tx = startCoursePeer({ ...FAST, id: "tx", port: pa!, peers: [`127.0.0.1:${proxy.portForA}`], send: DELTA, ver: "v1764008499", sendAfterS: 0.3 });
  stopAll(t, tx);
  const done = await rx.waitEv("complete");
  assert.equal(done.sha256, sha256(await readFile(DELTA)));
  const naked = new Set(rx.events.filter((e) => e.ev === "nak_sent").flatMap((e) => e.missing as number[]));
  for (const i of lost) assert.ok(naked.has(i), `chunk ${i} was dropped but never NAKed`);
  assert.ok(tx.count("nak_received") > 0);
  assert.equal(proxy.stats.droppedToB, lost.length);
});

test("the raw sender (--no-cache) ignores NAKs, so the receiver keeps asking and never completes", { skip: needs("python3"), timeout: 30_000 }, async (t) => {
  const [pa, pb] = await freeUdpPorts(2);
  const proxy = await LossyProxy.start({ a: { host: "127.0.0.1", port: pa! }, b: { host: "127.0.0.1", port: pb! }, drop: dropAlways([5], "toB") });
  t.after(() => proxy.close());
  const rx = startCoursePeer({ ...FAST, id: "rx", port: pb!, peers: [`127.0.0.1:${proxy.portForB}`] });
  const tx = startCoursePeer({ ...FAST, id: "tx", port: pa!, peers: [`127.0.0.1:${proxy.portForA}`], send: DELTA, ver: "v1", sendAfterS: 0.3, noCache: true });
  stopAll(t, rx, tx);
  await tx.waitEv("nak_received", (e) => e.cached === false);
  await rx.waitEv("nak_sent", () => rx.count("nak_sent") >= 2);
  assert.equal(rx.count("complete"), 0);
});

test("junk does not crash the course peer (V=1), while one non-UTF-8 datagram deafens it in Sprint 6.2, as the real node",
  { skip: needs("python3"), timeout: 30_000 }, async (t) => {
    const { createSocket } = await import("node:dgram");
    const [p1, p2] = await freeUdpPorts(2);
    const v1 = startCoursePeer({ ...FAST, id: "v1", port: p1! });
    const s62 = startCoursePeer({ ...FAST, id: "s62", port: p2!, dialect: "sprint62" });
    stopAll(t, v1, s62);
    await Promise.all([v1.waitEv("listening"), s62.waitEv("listening")]);
    const sock = createSocket("udp4");
    t.after(() => new Promise<void>((r) => sock.close(() => r())));
    const junk = [Buffer.from([0xff, 0xfe, 0x00]), "V=1|SRC=x|SEQ=1|TYPE=datagram|TS=1|BODY=", "V=1|SRC=x|SEQ=2|TYPE=MODEL_CHUNK|TS=1|BODY=ver=a;idx=z;total=2;b64=!!",
      "V=1|SRC=x|SEQ=3|TYPE=MODEL_META|TS=1|BODY=ver=a", "V=2|SRC=x|TYPE=PING", "|||||||", ""];
    for (const j of junk) for (const port of [p1!, p2!]) await new Promise<void>((r) => sock.send(j, port, LOCAL_HOST, () => r()));
    const ping = "V=1|SRC=probe|SEQ=9|TYPE=PING|TS=1|BODY=t0=1";
    const pong = new Promise<string>((resolve) => sock.once("message", (m) => resolve(m.toString())));
    sock.send(ping, p1!, LOCAL_HOST);
    assert.match(await pong, /^V=1\|SRC=v1\|.*TYPE=PONG\|.*BODY=t0=\d+$/);
    await s62.waitEv("listener_dead");
    assert.equal(v1.count("listener_dead"), 0);
  });
