// fleetctl train: the data set read here and sent in the request, progress as rounds finish, a
// report (table or --json) ending with every node's digest; usage mistakes exit 2 before any node is asked.

import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { testScope } from "../../../test/support/scope.js";
import { fleetSpecs, NodeProc, until } from "../../../test/support/e2e-harness.js";
import { memoryIo } from "../io.js";
import { runCli } from "../main.js";

test("usage mistakes exit 2 with the flag and what it must be: rounds, overlap, a data set that is missing or not JSONL", async (t) => {
  const dir = await testScope(t).dir("fleetctl-train-");
  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, '{"question": "q?", "answer": "a"}\nnot json\n');
  const cases: Array<[string[], RegExp]> = [
    [["--dataset", "data/quiz.jsonl", "--rounds", "0"], /--rounds.*is not a whole number from 1 to 100/],
    [["--dataset", "data/quiz.jsonl", "--rounds", "2", "--overlap", "3"], /--overlap.*is not a share from 0 to 1/],
    [["--dataset", join(dir, "none.jsonl"), "--rounds", "2"], /cannot read the data set/],
    [["--dataset", bad, "--rounds", "2"], /bad.jsonl line 2 is not JSON/],
  ];
  for (const [args, re] of cases) {
    const io = memoryIo();
    assert.equal(await runCli(["train", "-i", join(dir, "hosts.yml"), ...args], io), 2, args.join(" "));
    assert.match(io.stderr(), re);
  }
});

test("two real nodes: train --json runs the rounds, prints progress on stderr and a report with the loss per round and one digest", { skip: needs("ansible"), timeout: 120_000 }, async (t) => {
  const scope = testScope(t);
  const dir = await scope.dir("fleetctl-train-");
  const specs = await fleetSpecs(2, dir, "pi-");
  const nodes = specs.map((s) => scope.proc(new NodeProc(s)));
  await Promise.all(nodes.map((n) => n.ready()));
  await until("pi-1 hears pi-2", async () => (await nodes[0]!.status()).peers.length === 1);
  const inv = join(dir, "hosts.yml");
  writeFileSync(inv, ["all:", "  children:", "    pis:", "      hosts:", ...specs.flatMap((s) => [`        ${s.id}:`, "          ansible_host: 127.0.0.1", `          fleet_node_id: ${s.id}`, `          fleet_node_http_port: ${s.http}`])].join("\n") + "\n");
  const data = join(dir, "small.jsonl");
  writeFileSync(data, ["What is 2+2?|4", "What is the capital of France?|Paris", "What is 3+5?|8", "How many legs does a spider have?|8", "What colour is the sky?|blue", "What do bees make?|honey"]
    .map((l) => JSON.stringify({ question: l.split("|")[0], answer: l.split("|")[1] })).join("\n") + "\n");
  const io = memoryIo();
  assert.equal(await runCli(["train", "-i", inv, "--dataset", data, "--rounds", "2", "--straggler-timeout", "20", "--json"], io), 0, io.stderr());
  const r = JSON.parse(io.stdout());
  assert.equal(r.ok, true);
  assert.equal(r.state, "done");
  assert.equal(r.coordinator, "pi-1");
  assert.deepEqual(r.members, ["pi-1", "pi-2"]);
  assert.equal(r.loss.length, 2);
  assert.equal(r.pairs, 6);
  assert.equal(r.digestsAgree, true);
  assert.equal(new Set(Object.values(r.digests)).size, 1);
  assert.match(io.stderr(), /job j\S+ started on pi-1: 6 pairs, 2 rounds, fedavg/);
  assert.match(io.stderr(), /round 2\/2 averaged: loss \d+\.\d{3}/);
});
