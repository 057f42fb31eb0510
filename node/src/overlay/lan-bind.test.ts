// On Linux a socket bound to a unicast address receives no broadcasts. A node bound to an interface
// (--bind eth0) or to its own address must still hear the LAN: course nodes announce themselves and
// send their deltas only by broadcast. On a namespace LAN, an agent bound each way hears a course
// node's PEER_SYNC and gets its broadcast delta and another agent's, bit-exact.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { courseFixture } from "../../../test/support/paths.js";
import { Lan } from "../../../test/support/netlab.js";
import { sha256, startAgent, startCoursePeer, waitForFile, type JsonProcess } from "../../../test/support/procs.js";

const [OURS_DELTA, COURSE_DELTA] = ["delta_v1764009046.pt", "delta_v1764008499.pt"].map((f) => courseFixture(f)) as [string, string];
const PORT = 5000;

const skip = needs("root") || needs("python3");
let lan: Lan;
let dir: string;

before(async () => {
  if (skip) return;
  lan = await Lan.create({ hosts: 3 });
  dir = await mkdtemp(join(tmpdir(), "lan-bind-"));
});
after(async () => {
  if (skip) return;
  await lan.close();
  await rm(dir, { recursive: true, force: true });
});

for (const how of ["interface", "address"] as const) {
  test(`bound to its ${how} (--bind ${how === "interface" ? "eth0" : "<own address>"}), a node hears the LAN's broadcasts: a course node's and an agent's deltas arrive`,
    { skip, timeout: 60_000 }, async () => {
      const bind = how === "interface" ? lan.host(0).ifname : lan.host(0).ip;
      const out = join(dir, how);
      const procs: JsonProcess[] = [];
      try {
        const rx = startAgent({ id: "r0", port: PORT, bind, out, extra: ["--fast"] }, (c, a) => lan.spawn(0, c, a));
        procs.push(rx);
        const ready = await rx.waitEv("ready", () => true, 10_000);
        assert.equal(ready.broadcast, lan.broadcast, "the broadcast address comes from the bound interface");
        assert.equal(ready.hearsBroadcast, true);
        procs.push(startAgent({ id: "s1", port: PORT, bind: "0.0.0.0", broadcast: lan.broadcast, send: OURS_DELTA, extra: ["--fast"] },
          (c, a) => lan.spawn(1, c, a)));
        // The course node never unicasts to a peer it did not hear a NAK or PING from: all rx gets
        // from it comes by broadcast.
        procs.push(startCoursePeer({ id: "Pi-C", port: PORT, broadcast: lan.broadcast, send: COURSE_DELTA, ver: "v1764008499",
          sendAfterS: 1, syncEveryS: 1, nakQuietS: 0.3, nakCheckS: 0.1 }, (c, a) => lan.spawn(2, c, a)));
        await rx.waitEv("peer", (e) => e.id === "Pi-C", 10_000);
        for (const f of [COURSE_DELTA, OURS_DELTA]) await waitForFile(out, sha256(await readFile(f)), 30_000, rx);
      } finally {
        await Promise.all(procs.map((p) => p.stop()));
      }
    });
}
