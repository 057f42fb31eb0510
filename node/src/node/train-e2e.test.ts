// A training job over three real fleet-node processes on loopback: POST /train on one node runs
// three FedAvg rounds over the shipped quiz, each round one entry every node applies — so all end
// on one digest — and the loss over the data set after round 3 is below the loss before round 1.

import { test } from "node:test";
import assert from "node:assert/strict";
import { testScope } from "../../../test/support/scope.js";
import { fleetSpecs, NodeProc, until } from "../../../test/support/e2e-harness.js";
import type { TrainStatus } from "../train/wire.js";

test("three nodes: a 3-round FedAvg job over the quiz finishes, every node reports it done and one digest, and the loss fell", { timeout: 120_000 }, async (t) => {
  const scope = testScope(t);
  const specs = await fleetSpecs(3, await scope.dir("fleet-train-e2e-"));
  const nodes = specs.map((s) => scope.proc(new NodeProc(s)));
  await Promise.all(nodes.map((n) => n.ready()));
  const [a] = nodes as [NodeProc];
  await until("Pi-1 hears both peers", async () => (await a.status()).peers.length === 2);
  assert.deepEqual(await a.get("/train"), { ...(await a.get<TrainStatus>("/train")), job: null, state: "idle" });

  const started = await fetch(`${a.url}/train`, { method: "POST", body: JSON.stringify({ dataset: "quiz", rounds: 3, mode: "fedavg", stragglerTimeoutS: 20, overlap: 0.1 }) });
  assert.equal(started.status, 202);
  const { job, state } = await started.json() as { job: string; state: string };
  assert.equal(state, "running");
  const again = await fetch(`${a.url}/train`, { method: "POST", body: JSON.stringify({ dataset: "quiz", rounds: 1, stragglerTimeoutS: 5 }) });
  assert.equal(again.status, 409, "a second job while one runs");

  const done = await until("the job is done", async () => {
    const s = await a.get<TrainStatus>("/train");
    if (s.state === "failed") throw new Error(`job failed: ${s.error}`);
    return s.state === "done" && s;
  }, 100_000, 250);
  t.diagnostic(`FedAvg: ${done.endedAt! - done.startedAt!} ms for 3 rounds; loss ${done.lossBefore} → ${done.loss.join(" → ")}; bytes per round ${done.bytes.join(", ")}`);
  assert.equal(done.job, job);
  assert.deepEqual(done.members, ["Pi-1", "Pi-2", "Pi-3"]);
  assert.deepEqual(done.stragglers, []);
  assert.equal(done.loss.length, 3);
  assert.equal(done.bytes.length, 3);
  assert.ok(done.bytes.every((b) => b > 0));
  assert.ok(done.lossBefore !== null && done.loss[2]! < done.lossBefore, `loss ${done.lossBefore} → ${done.loss.join(", ")}`);

  // Every node applied the same three round entries and reports the job as the coordinator last told it.
  for (const n of nodes) {
    await until(`${n.name} holds the rounds`, async () => {
      const s = await n.status();
      return done.entries.every((e) => s.applied.some((x) => x.version === e));
    });
    await until(`${n.name} knows the job is done`, async () => (await n.get<TrainStatus>("/train")).state === "done");
  }
  const digests = new Set(await Promise.all(nodes.map(async (n) => (await n.status()).digest)));
  assert.equal(digests.size, 1, `digests ${[...digests].join(", ")}`);
  // The coordinator's metrics: three rounds timed, three members in the last, no straggler, the loss.
  const metrics = await (await fetch(`${a.url}/metrics`)).text();
  assert.match(metrics, /^fleet_job_round_seconds_count 3$/m);
  assert.match(metrics, /^fleet_job_participants 3$/m);
  assert.match(metrics, /^fleet_job_stragglers_total 0$/m);
  assert.equal(Number(/^fleet_job_loss (\S+)$/m.exec(metrics)?.[1]).toFixed(4), done.loss[2]!.toFixed(4));
  const seen = await nodes[1]!.get<TrainStatus>("/train");
  assert.deepEqual({ job: seen.job, loss: seen.loss, coordinator: seen.coordinator }, { job, loss: done.loss, coordinator: "Pi-1" });
});

test("three nodes: a 3-round gossip job seeded on one node — each node's own round entries, spread peer to peer — ends on one digest, and every node's loss fell", { timeout: 120_000 }, async (t) => {
  const scope = testScope(t);
  const specs = await fleetSpecs(3, await scope.dir("fleet-train-gossip-"));
  const nodes = specs.map((s) => scope.proc(new NodeProc(s)));
  await Promise.all(nodes.map((n) => n.ready()));
  await until("all hear each other", async () => (await Promise.all(nodes.map((n) => n.status()))).every((s) => s.peers.length === 2));
  const [a] = nodes as [NodeProc];
  const started = await fetch(`${a.url}/train`, { method: "POST", body: JSON.stringify({ dataset: "quiz", rounds: 3, mode: "gossip", stragglerTimeoutS: 20 }) });
  assert.equal(started.status, 202);
  const { job } = await started.json() as { job: string };
  const done = await Promise.all(nodes.map((n) => until(`${n.name} done`, async () => {
    const s = await n.get<TrainStatus>("/train");
    if (s.state === "failed") throw new Error(`${n.name}: ${s.error}`);
    return s.state === "done" && s;
  }, 100_000, 250)));
  for (const [k, s] of done.entries()) {
    t.diagnostic(`${nodes[k]!.name}: loss ${s.lossBefore} → ${s.loss.join(" → ")}; digest per round ${s.digests.join(", ")}; stragglers ${JSON.stringify(s.stragglers)}`);
    assert.equal(s.job, job);
    assert.equal(s.mode, "gossip");
    assert.equal(s.coordinator, null, "gossip has no coordinator");
    assert.deepEqual(s.members, ["Pi-1", "Pi-2", "Pi-3"]);
    assert.equal(s.entries.length, 3, "one entry of its own per round");
    assert.ok(s.lossBefore !== null && s.loss[2]! < s.lossBefore, `${nodes[k]!.name}: loss ${s.lossBefore} → ${s.loss.join(", ")}`);
  }
  const all = done.flatMap((s) => s.entries);
  const statuses = await until("every node holds all nine round entries", async () => {
    const ss = await Promise.all(nodes.map((n) => n.status()));
    return ss.every((s) => all.every((e) => s.applied.some((x) => x.version === e))) && ss;
  });
  assert.equal(new Set(statuses.map((s) => s.digest)).size, 1, "one digest once every node holds every entry");
  const unknown = await fetch(`${a.url}/train`, { method: "POST", body: JSON.stringify({ dataset: "quiz", rounds: 1, mode: "gossip", stragglerTimeoutS: 5, extra: 1 }) });
  assert.equal(unknown.status, 400, "a field POST /train does not take");
});

test("the coordinator killed mid-job: the members refuse a second job while it runs, then mark it failed with why, and keep the rounds already made", { timeout: 120_000 }, async (t) => {
  const scope = testScope(t);
  const specs = await fleetSpecs(3, await scope.dir("fleet-train-coord-"));
  // A pause between rounds, so the kill lands after round 1 and before round 2 has anything to lose.
  const nodes = specs.map((s) => scope.proc(new NodeProc({ ...s, env: { FLEET_TEST_ROUND_GAP_MS: "3000" } })));
  await Promise.all(nodes.map((n) => n.ready()));
  const [a, b, c] = nodes as [NodeProc, NodeProc, NodeProc];
  await until("all hear each other", async () => (await Promise.all(nodes.map((n) => n.status()))).every((s) => s.peers.length === 2));
  const started = await fetch(`${a.url}/train`, { method: "POST", body: JSON.stringify({ dataset: "quiz", rounds: 5, stragglerTimeoutS: 30 }) });
  assert.equal(started.status, 202);
  const first = await a.waitEv("round_done", (e) => e.r === 1, 60_000);
  await until("Pi-2 knows the job runs", async () => (await b.get<TrainStatus>("/train")).state === "running");
  const busy = await fetch(`${b.url}/train`, { method: "POST", body: JSON.stringify({ dataset: "quiz", rounds: 1, stragglerTimeoutS: 5 }) });
  assert.equal(busy.status, 409, "a member knows a job runs on the fleet");
  const killedAt = Date.now();
  await a.kill9();
  for (const n of [b, c]) {
    const s = await until(`${n.name} marks the job failed`, async () => {
      const x = await n.get<TrainStatus>("/train");
      return x.state === "failed" && x;
    }, 60_000, 250);
    assert.match(s.error ?? "", /coordinator Pi-1 silent for \d+ s: the job stopped/);
    t.diagnostic(`${n.name}: failed ${Date.now() - killedAt} ms after the coordinator's kill`);
    assert.ok((await n.status()).applied.some((x) => x.version === first.entry), `${n.name} keeps round 1's entry`);
  }
});
