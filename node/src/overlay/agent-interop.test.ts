// Our overlay agent against the Python course peer, real processes on loopback (unicast peers on
// distinct ports): both directions, both dialects, both real course deltas, bit-exact; repairs in
// both directions through CHUNK_NAK; and a bounded, reported give-up on a sender that never repairs.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { courseFixture } from "../../../test/support/paths.js";
import { LossyProxy, dropAlways, dropFirstCopies } from "../../../test/support/lossy-proxy.js";
import { AGENT_JS, evName, freeUdpPorts, sha256, startAgent, startCoursePeer, waitForFile, type JsonProcess } from "../../../test/support/procs.js";

const DELTAS = ["delta_v1764008499.pt", "delta_v1764009046.pt"].map((f) => courseFixture(f));
const DELTA = DELTAS[1]!;
/** The course peer with NAK timings cut from 3 s / 2 s so the suite stays short. */
// PEER_SYNC each second: our agent sends once it has heard a peer, and a course node says hello
// only every 5 s.
const FAST = { nakQuietS: 0.3, nakCheckS: 0.1, syncEveryS: 1, bind: "127.0.0.1", s62ChunkGapS: 0.0005, s62MetaWaitS: 0.2 };
const LOCAL = "127.0.0.1";

type T = { after: (f: () => Promise<void>) => void };

async function scratch(t: T): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "agent-interop-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function stopAll(t: T, ...ps: JsonProcess[]): void {
  t.after(async () => { await Promise.all(ps.map((p) => p.stop())); });
}

function agentBuilt(): void {
  assert.ok(existsSync(AGENT_JS()), `overlay agent not built at ${AGENT_JS()} (test/support/overlay-agent.ts)`);
}

async function started(p: JsonProcess): Promise<void> {
  await p.waitEv("ready", () => true, 10_000);
}

for (const dialect of ["v1", "sprint62"] as const) {
  test(`our agent receives both real course deltas from the course peer bit-exact (${dialect})`,
    { skip: needs("python3"), timeout: 60_000 }, async (t) => {
      agentBuilt();
      const out = await scratch(t);
      const [pa, pb] = await freeUdpPorts(2);
      const agent = startAgent({ id: "ours", port: pb!, bind: LOCAL, dialect, peers: [`${LOCAL}:${pa}`], out });
      stopAll(t, agent);
      await started(agent);
      const py = startCoursePeer({ ...FAST, id: "Pi-1", port: pa!, dialect, peers: [`${LOCAL}:${pb}`], sendAfterS: 0.3,
        extra: DELTAS.flatMap((f) => ["--send", f]) });
      stopAll(t, py);
      for (const f of DELTAS) await waitForFile(out, sha256(await readFile(f)), 30_000, agent);
    });

  test(`the course peer receives our delta bit-exact (${dialect})`, { skip: needs("python3"), timeout: 60_000 }, async (t) => {
    agentBuilt();
    const out = await scratch(t);
    const [pa, pb] = await freeUdpPorts(2);
    const py = startCoursePeer({ ...FAST, id: "Pi-1", port: pa!, dialect, peers: [`${LOCAL}:${pb}`], out });
    stopAll(t, py);
    await py.waitEv("listening");
    const agent = startAgent({ id: "ours", port: pb!, bind: LOCAL, dialect, peers: [`${LOCAL}:${pa}`], send: DELTA });
    stopAll(t, agent);
    const done = await py.waitEv("complete", () => true, 45_000);
    assert.equal(done.verified, true, "the course peer merged without a sha256: META must come before any CHUNK");
    assert.equal(done.sha256, sha256(await readFile(DELTA)));
    assert.equal(sha256(await readFile(String(done.path))), done.sha256);
    assert.equal(py.count("sha_mismatch") + py.count("bad_packet") + py.count("listener_dead"), 0, py.tail());
    assert.equal(py.count("chunk_first"), 0, "a chunk reached the course peer before its META");
  });
}

test("chunks the course peer sent that were lost: our agent NAKs them and its resends complete the file (V=1)",
  { skip: needs("python3"), timeout: 60_000 }, async (t) => {
    agentBuilt();
    const out = await scratch(t);
    const [pa, pb] = await freeUdpPorts(2);
    const lost = [0, 11, 250, 555];   // 403973 B / 727 = 556 chunks: first, early, middle, last
    const proxy = await LossyProxy.start({ a: { host: LOCAL, port: pa! }, b: { host: LOCAL, port: pb! }, drop: dropFirstCopies(lost, "toB") });
    t.after(() => proxy.close());
    const agent = startAgent({ id: "ours", port: pb!, bind: LOCAL, peers: [`${LOCAL}:${proxy.portForB}`], out });
    stopAll(t, agent);
    await started(agent);
    const py = startCoursePeer({ ...FAST, id: "Pi-1", port: pa!, peers: [`${LOCAL}:${proxy.portForA}`], send: DELTA, ver: "v1764009046", sendAfterS: 0.3 });
    stopAll(t, py);
    await waitForFile(out, sha256(await readFile(DELTA)), 45_000, agent);
    const asked = new Set(py.events.filter((e) => evName(e) === "nak_received").flatMap((e) => e.missing as number[]));
    for (const i of lost) assert.ok(asked.has(i), `chunk ${i} was lost but our agent never NAKed it (asked for ${[...asked].join(",")})`);
    assert.equal(proxy.stats.droppedToB, lost.length);
  });

test("the course peer loses our chunks, NAKs us, and our resends complete its file (V=1)",
  { skip: needs("python3"), timeout: 60_000 }, async (t) => {
    agentBuilt();
    const out = await scratch(t);
    const [pa, pb] = await freeUdpPorts(2);
    const lost = [0, 1, 2, 100, 101];   // our chunk size is ours to choose: only low idx are sure to exist
    const py = startCoursePeer({ ...FAST, id: "Pi-1", port: pa!, peers: [`${LOCAL}:${pb}`], out, dropIdx: lost, dropFrac: 0.03 });
    stopAll(t, py);
    await py.waitEv("listening");
    const agent = startAgent({ id: "ours", port: pb!, bind: LOCAL, peers: [`${LOCAL}:${pa}`], send: DELTA });
    stopAll(t, agent);
    const done = await py.waitEv("complete", () => true, 45_000);
    assert.equal(done.sha256, sha256(await readFile(DELTA)));
    assert.equal(done.verified, true);
    const naked = new Set(py.events.filter((e) => evName(e) === "nak_sent").flatMap((e) => e.missing as number[]));
    for (const i of lost) assert.ok(naked.has(i), `the course peer never NAKed chunk ${i}`);
    // A chunk of a completed version would open a new, unverified buffer in a course node.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(py.count("stale_buffer"), 0, "our agent sent chunks after the course peer completed");
  });

test("a raw course sender that ignores NAKs: our agent gives up in bounded time and says so",
  { skip: needs("python3"), timeout: 60_000 }, async (t) => {
    agentBuilt();
    const out = await scratch(t);
    const [pa, pb] = await freeUdpPorts(2);
    const proxy = await LossyProxy.start({ a: { host: LOCAL, port: pa! }, b: { host: LOCAL, port: pb! }, drop: dropAlways([5, 77], "toB") });
    t.after(() => proxy.close());
    // --fast: the agent's test timings (give-up ~6 s after the last chunk instead of ~24 s).
    const agent = startAgent({ id: "ours", port: pb!, bind: LOCAL, peers: [`${LOCAL}:${proxy.portForB}`], out, extra: ["--fast"] });
    stopAll(t, agent);
    await started(agent);
    const py = startCoursePeer({ ...FAST, id: "Pi-1", port: pa!, peers: [`${LOCAL}:${proxy.portForA}`], send: DELTA, ver: "v1764009046", sendAfterS: 0.3, noCache: true });
    stopAll(t, py);
    await py.waitEv("nak_received", (e) => e.cached === false, 30_000);
    const gaveUp = await agent.waitEv("gave-up", (e) => e.version === "v1764009046", 50_000);
    assert.ok(Number(gaveUp.have) < Number(gaveUp.total), `gave up holding every chunk: ${JSON.stringify(gaveUp)}`);
    assert.equal(agent.count("delta-received"), 0);
    assert.deepEqual((await readdir(out).catch(() => [])).filter((f) => !f.startsWith(".")), [], "a file was written for an incomplete delta");
  });

test("course chunks of 4096 raw bytes (IP-fragmented datagrams) reach our agent bit-exact",
  { skip: needs("python3"), timeout: 60_000 }, async (t) => {
    agentBuilt();
    const out = await scratch(t);
    const [pa, pb] = await freeUdpPorts(2);
    const agent = startAgent({ id: "ours", port: pb!, bind: LOCAL, peers: [`${LOCAL}:${pa}`], out });
    stopAll(t, agent);
    await started(agent);
    const py = startCoursePeer({ ...FAST, id: "Pi-1", port: pa!, peers: [`${LOCAL}:${pb}`], send: DELTA, ver: "v1764009046",
      sendAfterS: 0.3, extra: ["--chunk-size", "4096"] });
    stopAll(t, py);
    await waitForFile(out, sha256(await readFile(DELTA)), 30_000, agent);
  });

test("a course delta whose META was lost is never written unverified: our agent gives up and says why",
  { skip: needs("python3"), timeout: 60_000 }, async (t) => {
    agentBuilt();
    const out = await scratch(t);
    const [pa, pb] = await freeUdpPorts(2);
    const dropMeta = (d: Buffer, dir: string): boolean => dir === "toB" && d.toString("latin1").includes("TYPE=MODEL_META");
    const proxy = await LossyProxy.start({ a: { host: LOCAL, port: pa! }, b: { host: LOCAL, port: pb! }, drop: dropMeta });
    t.after(() => proxy.close());
    const agent = startAgent({ id: "ours", port: pb!, bind: LOCAL, peers: [`${LOCAL}:${proxy.portForB}`], out, extra: ["--fast"] });
    stopAll(t, agent);
    await started(agent);
    const py = startCoursePeer({ ...FAST, id: "Pi-1", port: pa!, peers: [`${LOCAL}:${proxy.portForA}`], send: DELTA, ver: "v1764009046", sendAfterS: 0.3 });
    stopAll(t, py);
    const gaveUp = await agent.waitEv("gave-up", (e) => e.version === "v1764009046", 40_000);
    assert.match(String(gaveUp.detail), /meta|sha/i);
    assert.equal(agent.count("delta-received"), 0);
    assert.deepEqual((await readdir(out).catch(() => [])).filter((f) => !f.startsWith(".")), []);
    assert.ok(proxy.stats.droppedToB >= 1);
  });
