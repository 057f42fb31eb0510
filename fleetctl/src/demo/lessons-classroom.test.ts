// A class's lessons on the classroom preset (issue 12): three real nodes taught ten lessons
// round-robin — two of them on two nodes at the same moment, multi-word answers among them — and
// then every node's weights, asked offline from its state folder by `fleet-node model ask`, answer
// all ten exactly. The answers come from the weights a node derives from the entries it holds, not
// from what the node said over HTTP.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { memoryIo } from "../io.js";
import { DEMO_LESSONS } from "./lessons-run.js";
import { runDemo } from "./run-demo.js";
import { repoRoot } from "../../../test/support/paths.js";

const FLEET_NODE = join(repoRoot(), "dist", "node", "src", "cli", "main.js");

function askOffline(stateDir: string, question: string): { answer: string; digest: string } {
  const r = spawnSync(process.execPath, [FLEET_NODE, "model", "ask", "--model", stateDir, "--json", question], { encoding: "utf8" });
  assert.equal(r.status, 0, `model ask --model ${stateDir}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { answer: string; digest: string };
}

test("classroom: ten lessons round-robin on three nodes, two at once, and every node's state folder answers all ten", { timeout: 1_200_000 }, async (t) => {
  const report = await runDemo({ count: 3, question: "What is 2+2", answer: "4", timeoutMs: 600_000, keep: true, lessons: 10, preset: "classroom" }, memoryIo(), true);
  t.after(() => rm(report.stateDir!, { recursive: true, force: true }));
  assert.equal(report.ok, true, report.failures.join("\n"));
  const l = report.lessons!;
  assert.deepEqual(l.taught.filter((x) => x.together).map((x) => x.node), ["Pi-2", "Pi-3"]);
  t.diagnostic(`taught: ${l.taught.map((x) => `${x.answer} ${x.learned ? "learned" : "NOT learned"} in ${x.steps} steps, ${(x.ms / 1000).toFixed(1)} s, ${x.bytes} B`).join("; ")}`);
  t.diagnostic(`untaught questions given a taught answer: ${l.collapsed} of ${l.untaught.length}: ${l.untaught.filter((u) => u.taughtAnswerOf).map((u) => `${u.question} -> ${u.answer}`).join("; ")}`);

  const digests = new Set<string>();
  for (const node of ["Pi-1", "Pi-2", "Pi-3"]) {
    const dir = join(report.stateDir!, node);
    const wrong: string[] = [];
    for (const [question, answer] of DEMO_LESSONS) {
      const a = askOffline(dir, question);
      digests.add(a.digest);
      if (a.answer !== answer) wrong.push(`${question} -> "${a.answer}" (taught "${answer}")`);
    }
    assert.deepEqual(wrong, [], `${node}'s state folder`);
  }
  assert.equal(digests.size, 1, "the three state folders hold one model");
});
