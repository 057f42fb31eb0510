// The real fleet-node binary, several processes on loopback: a teach over HTTP reaches every node,
// which all end on one digest; restarts keep the entries (and so the weights); kill -9 in the middle
// of saving an entry, or a damaged entry file, leaves a node that restarts on the weights of what it
// holds and then fetches the rest from its peers; promtool accepts the live /metrics page.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readdir, truncate } from "node:fs/promises";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { testScope } from "../../../test/support/scope.js";
import { fleetSpecs, nodeEntry, NodeProc, until, type NodeSpec, type NodeStatusBody } from "../../../test/support/e2e-harness.js";

type T = { after: (f: () => Promise<void> | void) => void };

function scratch(t: T): Promise<string> {
  return testScope(t).dir("fleet-e2e-");
}

function launch(t: T, spec: NodeSpec): NodeProc {
  return testScope(t).proc(new NodeProc(spec));
}

async function fleet(t: T, n: number): Promise<NodeProc[]> {
  const specs = await fleetSpecs(n, await scratch(t));
  const nodes = specs.map((s) => launch(t, s));
  await Promise.all(nodes.map((p) => p.ready()));
  return nodes;
}

const applied = (s: NodeStatusBody, version: string): boolean => s.applied.some((a) => a.version === version);

test("three nodes: a teach over HTTP is merged by the other two and all report one digest", { timeout: 120_000 }, async (t) => {
  const [a, b, c] = await fleet(t, 3) as [NodeProc, NodeProc, NodeProc];
  const before = await b.status();
  const r = await a.post<{ version: string; bytes: number; chunks: number; loss: number; learned: boolean }>("/teach", { question: "What is 2+2", answer: "4" });
  assert.ok(r.chunks >= 1 && r.bytes > 0, JSON.stringify(r));
  for (const n of [b, c]) await until(`${n.name} merged ${r.version}`, async () => applied(await n.status(), r.version));
  const [sa, sb, sc] = await Promise.all([a.status(), b.status(), c.status()]);
  assert.notEqual(sb.digest, before.digest, "the merge did not change the weights");
  assert.equal(sb.digest, sa.digest, "Pi-2 differs from the teacher");
  assert.equal(sc.digest, sa.digest, "Pi-3 differs from the teacher");
  assert.deepEqual(sb.applied.map((x) => [x.version, x.from]), [[r.version, "Pi-1"]]);
  // Each stage the course shows is one log line.
  await a.waitEv("broadcast", (e) => e.version === r.version);
  for (const n of [b, c]) {
    await n.waitEv("verified", (e) => e.entry === r.version);
    await n.waitEv("merged", (e) => e.version === r.version && e.from === "Pi-1");
  }
  const ask = await b.post<{ answer: string }>("/ask", { question: "What is 2+2" });
  assert.equal(typeof ask.answer, "string");
});

test("a node restarted from its state folder has the same weights and entries, and merges only new ones", { timeout: 120_000 }, async (t) => {
  const dir = await scratch(t);
  const specs = await fleetSpecs(2, dir);
  const a = launch(t, specs[0]!);
  let b = launch(t, specs[1]!);
  await Promise.all([a.ready(), b.ready()]);
  const r1 = await a.post<{ version: string }>("/teach", { question: "What is 2+2", answer: "4" });
  await until("merge", async () => applied(await b.status(), r1.version));
  const kept = await b.status();
  assert.equal(await b.stop(), 0, "SIGTERM should stop the node cleanly with exit code 0");
  b = launch(t, specs[1]!);
  await b.ready();
  const back = await b.status();
  assert.equal(back.digest, kept.digest);
  assert.deepEqual(back.applied, kept.applied);
  assert.deepEqual(back.stateProblems, []);
  const r2 = await a.post<{ version: string }>("/teach", { question: "What is the capital of France", answer: "Paris" });
  await until("second merge", async () => applied(await b.status(), r2.version));
  const after = await b.status();
  assert.deepEqual(after.applied.map((x) => x.version), [r1.version, r2.version]);
  assert.equal(after.digest, (await a.status()).digest);
});

test("kill -9 between an entry's delta file and its record: the node restarts on what it holds, then fetches the entry again", { timeout: 180_000 }, async (t) => {
  const dir = await scratch(t);
  const specs = await fleetSpecs(2, dir);
  const a = launch(t, specs[0]!);
  const slow = { ...specs[1]!, env: { FLEET_TEST_SAVE_PAUSE_MS: "3000" } };
  let b = launch(t, slow);
  await Promise.all([a.ready(), b.ready()]);
  // The teacher's digest after k teaches: a receiver holding k entries must hold exactly it.
  const history = [(await a.status()).digest];
  const questions = ["What is 2+2", "What is the capital of France"];
  for (const q of questions) {
    const r = await a.post<{ version: string }>("/teach", { question: q, answer: "4" });
    history.push((await a.status()).digest);
    await b.waitEv("save_paused", (e) => String(e.file).endsWith(".delta") && b.count("verified", (v) => v.entry === r.version) > 0, 30_000);
    await b.kill9();
    b = launch(t, specs[1]!);
    await b.ready();
    const s = await b.status();
    assert.equal(s.digest, history[s.applied.length], `after kill -9, ${s.applied.length} entries but the weights of another set`);
    assert.ok(!applied(s, r.version), "the entry being saved when killed cannot be held: its record was never written");
    assert.match(s.stateProblems.join("\n"), /without its record/, "the half-written entry is set aside and reported");
    await until(`${b.name} to fetch ${r.version} again`, async () => applied(await b.status(), r.version), 30_000);
    assert.equal((await b.status()).digest, history[history.length - 1]);
    await b.stop();
    b = launch(t, slow);
    await b.ready();
  }
});

test("a damaged entry file is set aside and reported; the node starts on what it still holds and fetches it again", { timeout: 120_000 }, async (t) => {
  const dir = await scratch(t);
  const specs = await fleetSpecs(2, dir);
  const a = launch(t, specs[0]!);
  let b = launch(t, specs[1]!);
  await Promise.all([a.ready(), b.ready()]);
  const fresh = (await b.status()).digest;
  const r = await a.post<{ version: string }>("/teach", { question: "What is 2+2", answer: "4" });
  await until("merge", async () => applied(await b.status(), r.version));
  const taught = (await a.status()).digest;
  await a.stop();
  await b.stop();
  await truncate(join(specs[1]!.stateDir, "entries", `${r.version}.delta`), 100);
  b = launch(t, specs[1]!);
  await b.ready();
  const s = await b.status();
  assert.equal(s.digest, fresh, "the weights are those of the entries still held: none");
  assert.deepEqual(s.applied, []);
  assert.match(s.stateProblems.join("\n"), /truncated/);
  assert.ok((await readdir(join(specs[1]!.stateDir, "set-aside"))).some((f) => f.endsWith(".delta")), "the damaged file is kept aside, not deleted");
  const a2 = launch(t, specs[0]!);
  await a2.ready();
  await until("the entry fetched again from the teacher", async () => applied(await b.status(), r.version), 30_000);
  assert.equal((await b.status()).digest, taught);
});

test("promtool check metrics accepts a live node's /metrics page after a teach and a merge", { skip: needs("promtool"), timeout: 120_000 }, async (t) => {
  const [a, b] = await fleet(t, 2) as [NodeProc, NodeProc];
  const r = await a.post<{ version: string }>("/teach", { question: "What is 2+2", answer: "4" });
  await until("merge", async () => applied(await b.status(), r.version));
  for (const n of [a, b]) {
    const text = await (await fetch(n.url + "/metrics")).text();
    const out = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(out.status, 0, `promtool on ${n.name}:\n${out.stdout}${out.stderr}`);
    assert.match(text, new RegExp(`^fleet_model_info\\{node="${n.name}",`, "m"));
  }
  const textB = await (await fetch(b.url + "/metrics")).text();
  assert.match(textB, /^fleet_deltas_merged_total 1$/m);
  assert.match(textB, /^fleet_delivery_latency_seconds_count 1$/m);
  assert.match(await (await fetch(a.url + "/metrics")).text(), /^fleet_teaches_total 1$/m);
});

test("bad flags exit 2 with a message naming the flag; --help documents every flag with its default", () => {
  const bad = spawnSync(process.execPath, [nodeEntry(), "Pi-1", "--port", "99999", "--dialect", "v3"], { encoding: "utf8", stdin: "ignore" } as never);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--port 99999/);
  assert.match(bad.stderr, /--dialect v3/);
  const unknown = spawnSync(process.execPath, [nodeEntry(), "Pi-1", "--frobnicate"], { encoding: "utf8" });
  assert.equal(unknown.status, 2, unknown.stderr);
  assert.match(unknown.stderr, /unknown option '--frobnicate'/);
  const help = execFileSync(process.execPath, [nodeEntry(), "--help"], { encoding: "utf8" });
  for (const f of ["--port", "--bind", "--broadcast", "--peer", "--dialect", "--http", "--state-dir", "--model", "--merge-weight", "--rate", "--log-level", "--log-format", "--api-token-file"]) {
    assert.match(help, new RegExp(`${f} .*\\(default: [^;]+; env FLEET_`, "s"), `${f} undocumented`);
  }
});
