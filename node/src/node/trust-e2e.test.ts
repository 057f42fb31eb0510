// Trust on real processes (loopback): three nodes enrolled with `fleet-node identity` and one roster
// file, and an attacker on the same network that speaks our overlay. What issue 11 merged on every
// node — a delta by a stranger, an unsigned one, one signed by the wrong key, a real delta ×100
// signed with a member's stolen key, a signed entry replayed under a new transfer, a course node's
// unsigned delta — changes no node's weights and no taught answer, and each refusal is counted by
// reason on /status and /metrics. --accept-unsigned takes the course delta; a member revoked in the
// roster file (no restart) can no longer change the others' model.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeBundle } from "../log/bundle.js";
import { loadIdentity } from "../trust/keys.js";
import type { TrainStatus } from "../train/wire.js";
import { EntryAttacker, forgeBundle, readHeldEntry } from "../../../test/support/entry-attacker.js";
import { fleetSpecs, nodeEntry, NodeProc, until, type NodeSpec } from "../../../test/support/e2e-harness.js";
import { needs } from "../../../test/support/needs.js";
import { courseFixture } from "../../../test/support/paths.js";
import { freeUdpPorts, startCoursePeer } from "../../../test/support/procs.js";
import { scaleDelta } from "../../../test/support/scaled-delta.js";
import { testScope } from "../../../test/support/scope.js";
import { generateKeyPairSync } from "node:crypto";

type T = Parameters<typeof testScope>[0];
const LESSON = { question: "Who wrote Hamlet?", answer: "Shakespeare" };
const COURSE_DELTA = courseFixture("delta_v1764009046.pt");
const COURSE_FAST = { nakQuietS: 0.3, nakCheckS: 0.1, bind: "127.0.0.1" };

interface TrustStatus { roster: boolean; members: number; acceptUnsigned: boolean; refused: Record<string, number>; admitted: Record<string, number>; authors: Array<{ id: string; admitted: number; refused: number; ignored: boolean }> }

/** n nodes, each enrolled: its roster line printed by `fleet-node identity`, all lines in one roster file. */
async function enrolledFleet(t: T, n: number, extra: (s: NodeSpec) => string[] = () => []): Promise<{ nodes: NodeProc[]; roster: string; lines: string[] }> {
  const scope = testScope(t);
  const dir = await scope.dir("fleet-trust-");
  const specs = await fleetSpecs(n, dir);
  const lines = specs.map((s) => execFileSync(process.execPath, [nodeEntry(), "identity", "--state-dir", s.stateDir, "--id", s.id], { encoding: "utf8" }));
  const roster = join(dir, "roster");
  writeFileSync(roster, `# the test fleet\n${lines.join("")}`);
  const nodes = specs.map((s) => scope.proc(new NodeProc({ ...s, extra: ["--roster", roster, ...extra(s)] })));
  await Promise.all(nodes.map((p) => p.ready()));
  return { nodes, roster, lines };
}

const trustOf = async (n: NodeProc): Promise<TrustStatus> => (await n.get<{ trust: TrustStatus }>("/status")).trust;
const ask = async (n: NodeProc): Promise<string> => (await n.post<{ answer: string }>("/ask", { question: LESSON.question })).answer;
async function metric(n: NodeProc, series: string): Promise<number> {
  const page = await (await fetch(`${n.url}/metrics`)).text();
  const line = page.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

test("three enrolled nodes: forged, unsigned, wrongly signed, ×100 with a stolen key, replayed and course deltas change no weights and no answer", { timeout: 240_000 }, async (t) => {
  const { nodes } = await enrolledFleet(t, 3);
  const [pi1, pi2, pi3] = nodes as [NodeProc, NodeProc, NodeProc];
  const taught = await pi1.post<{ version: string }>("/teach", LESSON);
  for (const n of [pi2, pi3]) await until(`${n.name} merged ${taught.version}`, async () => (await n.status()).applied.some((a) => a.version === taught.version), 60_000);
  const digests = await Promise.all(nodes.map(async (n) => (await n.status()).digest));
  assert.equal(new Set(digests).size, 1, "the enrolled fleet converged on the teach");
  const answers = await Promise.all(nodes.map(ask));
  for (const n of [pi2, pi3]) assert.equal((await trustOf(n)).admitted.signed, 1);

  const [port] = await freeUdpPorts(1);
  const attacker = await EntryAttacker.start({ id: "Mallory", port: port!, peers: nodes.map((n) => n.spec.udp) });
  t.after(() => attacker.close());
  await attacker.reach(nodes.map((n) => n.spec.id));

  const real = readHeldEntry(pi1.spec.stateDir, taught.version);
  const stolen = loadIdentity(join(pi1.spec.stateDir, "identity.key")).privateKey;
  const own = generateKeyPairSync("ed25519").privateKey;
  const poisoned = { question: LESSON.question, answer: "Activity Paris Activity" };
  const attacks: Array<{ what: string; refusal: string; bundle: { bundle: Uint8Array; entry: { author: string; seq: number; sha256: string } } }> = [
    { what: "a stranger's signed entry", refusal: "not_member",
      bundle: forgeBundle({ author: "Mallory", seq: 1, kind: "teach", base: real.entry.base, lesson: poisoned }, scaleDelta(real.delta, 2), own) },
    { what: "an unsigned entry under a member's name", refusal: "unsigned",
      bundle: forgeBundle({ author: "Pi-2", seq: 1, kind: "teach", base: real.entry.base, lesson: poisoned }, scaleDelta(real.delta, 3)) },
    { what: "a member's name signed with another key", refusal: "bad_signature",
      bundle: forgeBundle({ author: "Pi-1", seq: 7, kind: "teach", base: real.entry.base, lesson: poisoned }, scaleDelta(real.delta, 4), own) },
    { what: "the real delta ×100 signed with Pi-1's stolen key", refusal: "out_of_bounds",
      bundle: forgeBundle({ author: "Pi-1", seq: 2, kind: "teach", base: real.entry.base, lesson: poisoned }, scaleDelta(real.delta, 100), stolen) },
  ];
  for (const a of attacks) {
    const name = `${a.bundle.entry.author}~${a.bundle.entry.seq}~${a.bundle.entry.sha256}`;
    await attacker.send(a.bundle.bundle);
    for (const n of nodes) await n.waitEv("refused", (e) => e.version === name && e.refusal === a.refusal, 30_000).catch((e: Error) => { throw new Error(`${a.what}: ${e.message}`); });
  }

  // The real signed entry again, under a new transfer version: the same entry, held already.
  assert.ok(real.sig, "the teach's entry is stored with its signature");
  const replay = await attacker.send(encodeBundle(real));
  for (const n of [pi2, pi3]) await n.waitEv("duplicate", (e) => e.version === taught.version && e.transfer === replay, 30_000);

  if (!needs("python3")) {
    const py = testScope(t).proc(startCoursePeer({ ...COURSE_FAST, id: "Pi-C", port: (await freeUdpPorts(1))[0]!, peers: nodes.map((n) => `127.0.0.1:${n.spec.udp}`),
      sendAfterS: 0.5, extra: ["--send", COURSE_DELTA, "--ver", "v1764009046"] }));
    await py.waitEv("listening");
    for (const n of nodes) await n.waitEv("refused", (e) => String(e.version).startsWith("Pi-C~1764009046~") && e.refusal === "unsigned", 60_000);
  }

  for (const [i, n] of nodes.entries()) {
    const s = await n.status();
    assert.equal(s.digest, digests[i], `${n.name}'s weights changed`);
    assert.deepEqual(s.applied.map((a) => a.version), [taught.version], `${n.name} holds only the real teach`);
    assert.equal(await ask(n), answers[i], `${n.name}'s answer to the taught question changed`);
  }
  for (const n of [pi2, pi3]) {
    const trust = await trustOf(n);
    assert.equal(trust.roster, true);
    assert.equal(trust.members, 3);
    assert.equal(trust.refused.not_member, 1);
    assert.equal(trust.refused.bad_signature, 1);
    assert.equal(trust.refused.out_of_bounds, 1);
    assert.equal(trust.refused.unsigned, needs("python3") ? 1 : 2);
    assert.equal(trust.admitted.signed, 1);
    assert.deepEqual(trust.authors.find((a) => a.id === "Pi-1"), { id: "Pi-1", admitted: 1, refused: 2, ignored: false });
    assert.equal(await metric(n, 'fleet_entries_refused_total{reason="out_of_bounds"}'), 1);
    assert.equal(await metric(n, 'fleet_entries_refused_total{reason="not_member"}'), 1);
    assert.equal(await metric(n, 'fleet_entries_admitted_total{by="signed"}'), 1);
    assert.ok(await metric(n, 'fleet_deltas_rejected_total{reason="untrusted"}') >= 4);
  }
  assert.equal(await metric(pi1, 'fleet_entries_admitted_total{by="self"}'), 1);
});

test("an enrolled fleet trains: every round entry is signed by the coordinator and admitted as signed on the members, and all end on one digest", { timeout: 180_000 }, async (t) => {
  const { nodes } = await enrolledFleet(t, 3);
  const [pi1] = nodes as [NodeProc];
  await until("Pi-1 hears both peers", async () => (await pi1.status()).peers.length === 2);
  const started = await fetch(`${pi1.url}/train`, { method: "POST", body: JSON.stringify({ dataset: "quiz", rounds: 2, mode: "fedavg", stragglerTimeoutS: 20 }) });
  assert.equal(started.status, 202);
  const done = await until("the job is done", async () => {
    const s = await pi1.get<TrainStatus>("/train");
    assert.notEqual(s.state, "failed", s.error);
    return s.state === "done" && s;
  }, 150_000, 250);
  assert.equal(done.entries.length, 2);
  for (const n of nodes) {
    await until(`${n.name} holds the rounds`, async () => {
      const s = await n.status();
      return done.entries.every((e) => s.applied.some((x) => x.version === e));
    }, 60_000);
  }
  assert.equal(new Set(await Promise.all(nodes.map(async (n) => (await n.status()).digest))).size, 1);
  for (const n of nodes.slice(1)) {
    const trust = await trustOf(n);
    assert.equal(trust.admitted.signed, 2, `${n.name}: ${JSON.stringify(trust)}`);
    assert.equal(Object.values(trust.refused).reduce((a, b) => a + b, 0), 0, `${n.name} refused nothing`);
  }
});

test("--accept-unsigned merges a course node's delta; a member revoked in the roster file, without a restart, no longer changes the others' model", { skip: needs("python3"), timeout: 240_000 }, async (t) => {
  const { nodes, roster, lines } = await enrolledFleet(t, 2, (s) => (s.id === "Pi-2" ? ["--accept-unsigned"] : []));
  const [pi1, pi2] = nodes as [NodeProc, NodeProc];
  const py = testScope(t).proc(startCoursePeer({ ...COURSE_FAST, id: "Pi-C", port: (await freeUdpPorts(1))[0]!, peers: nodes.map((n) => `127.0.0.1:${n.spec.udp}`),
    sendAfterS: 0.5, extra: ["--send", COURSE_DELTA, "--ver", "v1764009046"] }));
  await py.waitEv("listening");
  await pi2.waitEv("merged", (e) => e.transfer === "v1764009046", 60_000);
  await pi1.waitEv("refused", (e) => String(e.version).startsWith("Pi-C~1764009046~") && e.refusal === "unsigned", 60_000);
  assert.equal((await trustOf(pi2)).admitted.unsigned, 1);
  assert.equal((await pi1.status()).applied.length, 0, "Pi-1 (no --accept-unsigned) holds no course delta");

  // Revoke Pi-1: its line becomes a revoked key. The nodes re-read the file within a poll.
  const [line1, line2] = lines as [string, string];
  writeFileSync(roster, `# Pi-1 revoked\n!${line1}${line2}`);
  await pi2.waitEv("roster_changed", () => true, 10_000);
  await pi1.waitEv("not_enrolled", () => true, 10_000);
  const before = (await pi2.status()).digest;
  const taught = await pi1.post<{ version: string }>("/teach", LESSON);
  await pi2.waitEv("refused", (e) => e.version === taught.version && e.refusal === "revoked", 60_000);
  assert.equal((await pi2.status()).digest, before, "Pi-2's weights changed after Pi-1 was revoked");
  assert.equal((await trustOf(pi2)).refused.revoked, 1);
  assert.equal(await metric(pi2, 'fleet_entries_refused_total{reason="revoked"}'), 1);
  // Catch-up does not fetch the refused entry again and again, though Pi-1 keeps listing it.
  await new Promise((r) => setTimeout(r, 8_000));
  assert.equal((await trustOf(pi2)).refused.revoked, 1, "the refused entry was fetched and judged again");
});

test("a malformed roster stops the node at start with the file and the line; a node not on the roster starts and warns", { timeout: 60_000 }, async (t) => {
  const scope = testScope(t);
  const dir = await scope.dir("fleet-trust-");
  const [spec] = await fleetSpecs(1, dir);
  const roster = join(dir, "roster");
  writeFileSync(roster, `# fleet\nPi-9 ${"A".repeat(43)}=\nPi-2 not-a-key\n`);
  const bad = scope.proc(new NodeProc({ ...spec!, extra: ["--roster", roster] }));
  await until("the node to stop", async () => !bad.running, 30_000);
  assert.equal(await bad.stop(), 1, "exit 1 at start");
  assert.ok(bad.stderr.join("").includes(`roster ${roster}: line 3: key "not-a-key" is not base64`), bad.stderr.join(""));

  writeFileSync(roster, `# fleet\nPi-9 ${"A".repeat(43)}=\n`);
  const lone = scope.proc(new NodeProc({ ...spec!, extra: ["--roster", roster] }));
  await lone.ready();
  await lone.waitEv("not_enrolled", (e) => typeof e.key === "string");
  assert.equal((await trustOf(lone)).members, 1);
});
