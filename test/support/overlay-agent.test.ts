// The agent process: what other processes (netlab's namespace tests, bench/sync) rely on. Two agents
// on loopback, one sends a real course delta, the other writes it bit-exact to --out; JSON events on
// stdout; SIGTERM exits 0 after a stats line.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createSocket } from "node:dgram";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { courseFixture } from "./paths.js";

const AGENT = fileURLToPath(new URL("./overlay-agent.js", import.meta.url));
const DELTA = courseFixture("delta_v1764008499.pt");

interface Proc { child: ChildProcess; events: Array<Record<string, unknown>>; exit: Promise<number | null> }

function run(args: string[]): Proc {
  const child = spawn(process.execPath, [AGENT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const events: Array<Record<string, unknown>> = [];
  let buf = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    buf += s;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      events.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  return { child, events, exit: new Promise((r) => child.once("exit", (code) => r(code))) };
}

async function waitEv(p: Proc, ev: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = p.events.find((e) => e.ev === ev);
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`no ${ev}; events: ${JSON.stringify(p.events).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function freePorts(n: number): Promise<number[]> {
  const socks = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createSocket>>((r) => {
    const s = createSocket("udp4");
    s.bind(0, "127.0.0.1", () => r(s));
  })));
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

test("agent: --send to a peer that writes the verified delta to --out; JSON events; clean SIGTERM; --quiet keeps the milestones", { timeout: 30_000 }, async (t) => {
  const out = await mkdtemp(join(tmpdir(), "agent-"));
  t.after(() => rm(out, { recursive: true, force: true }));
  const [pa, pb] = await freePorts(2);
  const rx = run(["--id", "rx", "--port", String(pb), "--bind", "127.0.0.1", "--peer", `127.0.0.1:${pa}`, "--out", out, "--fast", "--quiet"]);
  t.after(() => { rx.child.kill("SIGKILL"); });
  await waitEv(rx, "ready");
  const tx = run(["--id", "tx", "--port", String(pa), "--bind", "127.0.0.1", "--peer", `127.0.0.1:${pb}`, "--send", DELTA, "--fast"]);
  t.after(() => { tx.child.kill("SIGKILL"); });
  const bytes = await readFile(DELTA);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const got = await waitEv(rx, "delta-received");
  assert.equal(got.sha256, sha);
  assert.equal(got.from, "tx");
  assert.equal(typeof got.ms, "number");
  // What receiving it cost this process: meta -> delta-received.
  const meta = await waitEv(rx, "meta");
  assert.ok(typeof got.cpuUs === "number" && typeof meta.cpuUs === "number" && got.cpuUs >= meta.cpuUs);
  assert.ok(!rx.events.some((e) => e.ev === "nak"), "--quiet prints no per-NAK events");
  const done = await waitEv(tx, "send-done");
  assert.equal(done.version, got.version);
  const files = await readdir(out);
  assert.deepEqual(files, [`${String(got.version)}.pt`]);
  assert.ok((await readFile(join(out, files[0]!))).equals(bytes));
  for (const p of [rx, tx]) {
    p.child.kill("SIGTERM");
    assert.equal(await p.exit, 0);
    assert.ok(p.events.some((e) => e.ev === "stats"), "no stats line before exit");
  }
});
