// Issue 11's proof on a namespace LAN: three enrolled nodes (a roster of their own keys) and an
// attacker's host flooding them — 10,000 datagrams from 200 sockets on 8 addresses: METAs of ever
// new transfers, chunks claiming 65,536 chunks, NAK storms for the version it overheard, a real
// node's id forged, CONTROL requests — while Pi-1 is taught. Pi-2 and Pi-3 hold the lesson within
// 30 s, no node passes 200 MB, /health answers within 1 s throughout, and the teacher sends the
// attacker at most twice the bytes it got from it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeEntry } from "../../../test/support/e2e-harness.js";
import { Lan } from "../../../test/support/netlab.js";
import { needs } from "../../../test/support/needs.js";
import { JsonProcess } from "../../../test/support/procs.js";

const FLOOD_JS = fileURLToPath(new URL("../../../test/support/lan-flood.js", import.meta.url));
const HTTP = 8477;
const NODES = 3;
const ATTACKER = 3;
const ALIASES = 7;   // plus its own address: 8 source addresses
const RSS_LIMIT = 200 << 20;

interface Sample { ms: number; code: number }

test("three enrolled nodes under a 10,000-datagram flood from another host: the lesson spreads within 30 s, memory and /health stay bounded, the attacker gets ≤ 2× what it sent",
  { skip: needs("root"), timeout: 240_000 }, async (t) => {
    const lan = await Lan.create({ hosts: NODES + 1, rateMbit: 100 });
    const dir = mkdtempSync(join(tmpdir(), "flood-lan-"));
    const procs: JsonProcess[] = [];
    t.after(async () => {
      await Promise.all(procs.map((p) => p.stop()));
      await lan.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const ids = ["Pi-1", "Pi-2", "Pi-3"];
    // Enrolment as Ansible does it: each node's identity line, all of them the fleet's roster.
    const lines = ids.map((id) => execFileSync(process.execPath, [nodeEntry(), "identity", "--state-dir", join(dir, id), "--id", id], { encoding: "utf8" }).trim());
    const roster = join(dir, "roster");
    writeFileSync(roster, lines.join("\n") + "\n");
    for (let i = 0; i < NODES; i++) {
      const argv = [nodeEntry(), ids[i]!, "--bind", "eth0", "--http", `0.0.0.0:${HTTP}`, "--roster", roster,
        "--state-dir", join(dir, ids[i]!), "--log-format", "json"];
      procs.push(new JsonProcess(ids[i]!, lan.spawn(i, process.execPath, argv)));
    }
    const get = async (i: number, path: string): Promise<string> => lan.exec(i, "curl", ["-s", "-m", "5", `http://127.0.0.1:${HTTP}${path}`]);
    const status = async (i: number) => JSON.parse(await get(i, "/status")) as { digest: string; peers: Array<{ ours: boolean }>; applied: Array<{ version: string }> };
    const until = async (what: string, pred: () => Promise<boolean>, ms: number): Promise<void> => {
      const end = Date.now() + ms;
      for (;;) {
        if (await pred().catch(() => false)) return;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await until("every node to know the two others", async () => {
      for (let i = 0; i < NODES; i++) if ((await status(i)).peers.filter((p) => p.ours).length < 2) return false;
      return true;
    }, 60_000);

    // The watchers: /health of every node every 250 ms, RSS every second, for the whole flood.
    const health: Sample[][] = ids.map(() => []);
    let maxRss = 0;
    let watching = true;
    const watch = (async () => {
      let tick = 0;
      while (watching) {
        await Promise.all(ids.map(async (_, i) => {
          const t0 = Date.now();
          const out = await lan.exec(i, "curl", ["-s", "-m", "1", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${HTTP}/health`]).catch(() => "0");
          health[i]!.push({ ms: Date.now() - t0, code: Number(out) });
          if (tick % 4 === 0) {
            const m = /^process_resident_memory_bytes (\d+)/m.exec(await get(i, "/metrics").catch(() => ""));
            if (m) maxRss = Math.max(maxRss, Number(m[1]));
          }
        }));
        tick++;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    const from = [lan.host(ATTACKER).ip];
    for (let k = 0; k < ALIASES; k++) {
      const ip = `10.99.0.${100 + k}`;
      await lan.exec(ATTACKER, "ip", ["addr", "add", `${ip}/24`, "dev", "eth0"]);
      from.push(ip);
    }
    const flood = new JsonProcess("attacker", lan.spawn(ATTACKER, process.execPath, [FLOOD_JS,
      "--targets", ids.map((_, i) => lan.host(i).ip).join(","), "--from", from.join(","), "--teacher", lan.host(0).ip,
      "--forge", "Pi-1", "--count", "10000", "--sockets", "200", "--seconds", "30"]));
    procs.push(flood);
    await new Promise((r) => setTimeout(r, 1_000));

    const t0 = Date.now();
    const taught = JSON.parse(await lan.exec(0, "curl", ["-s", "-m", "60", "-H", "Content-Type: application/json",
      "--data", JSON.stringify({ question: "What is the capital of France", answer: "Paris" }), `http://127.0.0.1:${HTTP}/teach`])) as { version: string };
    assert.match(taught.version, /^Pi-1~1~/);
    await until("Pi-2 and Pi-3 to hold the lesson", async () => (await status(1)).applied.some((a) => a.version === taught.version)
      && (await status(2)).applied.some((a) => a.version === taught.version), 30_000);
    const spreadMs = Date.now() - t0;
    const done = await flood.waitEv("flood_done", () => true, 60_000);
    watching = false;
    await watch;

    const digests = await Promise.all(ids.map(async (_, i) => (await status(i)).digest));
    assert.equal(new Set(digests).size, 1, `one digest: ${digests.map((d) => d.slice(0, 12)).join(" ")}`);
    const worst = health.map((h) => Math.max(...h.map((s) => s.ms)));
    const failed = health.map((h) => h.filter((s) => s.code !== 200).length);
    t.diagnostic(`flood ${JSON.stringify(done)}; lesson on every node ${spreadMs} ms after the teach began; max RSS ${(maxRss / 2 ** 20).toFixed(0)} MB; /health worst ${worst.join("/")} ms over ${health[0]!.length} polls`);
    assert.ok(Number(done.sent) >= 10_000, `the attacker sent ${done.sent}`);
    assert.ok(maxRss < RSS_LIMIT, `RSS reached ${(maxRss / 2 ** 20).toFixed(0)} MB`);
    assert.deepEqual(failed, [0, 0, 0], "/health failed to answer within 1 s");
    assert.ok(Number(done.fromTeacher) <= 2 * Number(done.sentToTeacher), `the teacher sent the attacker ${done.fromTeacher} B for ${done.sentToTeacher} B`);
  });
