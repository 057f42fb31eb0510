// A fleet with a Python course-dialect node in it (test/course-peer/course_peer.py, standing in for
// the course's prompt_node.py): our node merges a real course delta the course peer sends, and the
// course peer receives and verifies the delta our node broadcasts after a teach. Both dialects.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { freeUdpPorts, sha256, startCoursePeer } from "../../../test/support/procs.js";
import { needs } from "../../../test/support/needs.js";
import { courseFixture } from "../../../test/support/paths.js";
import { testScope } from "../../../test/support/scope.js";
import { freeTcpPorts, NodeProc, until, type NodeStatusBody } from "../../../test/support/e2e-harness.js";

const COURSE_DELTA = courseFixture("delta_v1764009046.pt");
const FAST = { nakQuietS: 0.3, nakCheckS: 0.1, bind: "127.0.0.1", s62ChunkGapS: 0.0005, s62MetaWaitS: 0.2 };

for (const dialect of ["v1", "sprint62"] as const) {
  test(`a course peer in the fleet (${dialect}): we merge its real delta, it verifies ours`, { skip: needs("python3"), timeout: 120_000 }, async (t) => {
    const scope = testScope(t);
    const dir = await scope.dir("fleet-course-");
    const [ours, theirs] = await freeUdpPorts(2);
    const [http] = await freeTcpPorts(1);
    const node = scope.proc(new NodeProc({ id: "Pi-1", udp: ours!, http: http!, stateDir: join(dir, "Pi-1"), peers: [theirs!], extra: ["--dialect", dialect] }));
    await node.ready();
    const py = startCoursePeer({ ...FAST, id: "Pi-C", port: theirs!, dialect, peers: [`127.0.0.1:${ours}`], out: join(dir, "rx"),
      sendAfterS: 0.5, extra: ["--send", COURSE_DELTA, "--ver", "v1764009046"] });
    scope.proc(py);
    await py.waitEv("listening");

    const before = await node.status();
    // A course delta is an entry named by its sender, the unix seconds in its version and its sha256.
    const courseEntry = new RegExp(`^Pi-C~1764009046~${sha256(await readFile(COURSE_DELTA))}$`);
    await until("our node merging the course delta", async () => (await node.status()).applied.some((a) => courseEntry.test(a.version)), 60_000);
    const merged = await node.waitEv("merged", (e) => e.transfer === "v1764009046");
    assert.equal(merged.from, "Pi-C");
    const after: NodeStatusBody = await node.status();
    assert.notEqual(after.digest, before.digest, "a course delta is tiny but not all zero in fp16: the weights must change");

    const r = await node.post<{ version: string; courseTransfer: string }>("/teach", { question: "What is 2+2", answer: "4" });
    const done = await py.waitEv("complete", (e) => e.ver === r.courseTransfer, 60_000);
    assert.equal(done.verified, true, "the course peer must verify our delta's sha256 (META before any chunk)");
    const ourDelta = await readFile(join(dir, "Pi-1", "entries", `${r.version}.delta`));
    assert.equal(done.sha256, sha256(ourDelta));
    assert.equal(py.count("sha_mismatch") + py.count("bad_packet") + py.count("listener_dead"), 0, py.tail());
  });
}
