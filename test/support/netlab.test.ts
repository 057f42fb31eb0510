// The namespace LAN itself: it carries broadcast between hosts, loses what it is told to lose, and
// leaves no namespace behind — not even when the process that built it is killed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { needs } from "./needs.js";
import { courseFixture } from "./paths.js";
import { Lan, cleanupStaleLans } from "./netlab.js";
import { sha256, startCoursePeer, waitForFile } from "./procs.js";
import { readFileSync } from "node:fs";

const DELTA = courseFixture("delta_v1764009046.pt");

function namespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").map((l) => l.split(" ")[0]!).filter(Boolean);
}

test("a course peer's broadcast delta crosses the LAN to two lossy receivers, and close() removes every namespace",
  { skip: needs("root", "python3"), timeout: 60_000 }, async (t) => {
    const lan = await Lan.create({ hosts: 3 });
    t.after(() => lan.close());
    const out = await mkdtemp(join(tmpdir(), "netlab-"));
    t.after(() => rm(out, { recursive: true, force: true }));
    await lan.setLoss(1, 0.2);
    await lan.setLoss(2, 0.2);
    const fast = { nakQuietS: 0.3, nakCheckS: 0.1, broadcast: lan.broadcast, port: 5000 };
    const rx = [1, 2].map((i) => startCoursePeer({ ...fast, id: `rx${i}`, out: join(out, `rx${i}`) }, (c, a) => lan.spawn(i, c, a)));
    const tx = startCoursePeer({ ...fast, id: "tx", send: DELTA, ver: "v1764009046", sendAfterS: 0.5 }, (c, a) => lan.spawn(0, c, a));
    await Promise.all(rx.map((r) => r.waitEv("listening")));
    const sha = sha256(readFileSync(DELTA));
    await Promise.all(rx.map((r, k) => waitForFile(join(out, `rx${k + 1}`), sha, 30_000, r)));
    for (const r of rx) assert.ok(r.count("nak_sent") > 0, `${r.name} lost nothing at 20 % loss?`);
    assert.ok(await lan.dropped(1) > 0 && await lan.dropped(2) > 0, "the loss rules dropped nothing");
    const c = await lan.counters(0);
    assert.ok(c.txBytes > readFileSync(DELTA).length, "the sender's interface counted less than the file");
    await tx.stop();
    await lan.close();
    const left = namespaces().filter((n) => n.startsWith(lan.tag));
    assert.deepEqual(left, []);
  });

test("namespaces of a LAN whose creator was killed are removed by cleanupStaleLans()",
  { skip: needs("root"), timeout: 30_000 }, async () => {
    const netlab = fileURLToPath(new URL("./netlab.js", import.meta.url));
    const child = spawn(process.execPath, ["--input-type=module", "-e",
      `const m = await import(${JSON.stringify(netlab)}); const l = await m.Lan.create({ hosts: 2 }); console.log(l.tag); setInterval(() => {}, 1000);`],
    { stdio: ["ignore", "pipe", "inherit"] });
    const tag = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding("utf8").once("data", (s: string) => resolve(s.trim()));
      child.once("exit", (code) => reject(new Error(`LAN builder exited ${code}`)));
    });
    assert.equal(namespaces().filter((n) => n.startsWith(tag)).length, 3);
    child.kill("SIGKILL");   // no exit hook runs: the crash we clean up after
    await new Promise((r) => child.once("exit", r));
    const removed = cleanupStaleLans();
    assert.equal(removed.filter((n) => n.startsWith(tag)).length, 3);
    assert.deepEqual(namespaces().filter((n) => n.startsWith(tag)), []);
  });
