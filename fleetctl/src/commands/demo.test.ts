// `fleetctl demo` end to end: three real fleet-node processes, a teach on Pi-1, every node merges,
// one digest, a report; plain progress lines when not on a terminal; usage errors exit 2.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Command } from "commander";
import { memoryIo } from "../io.js";
import { reportError } from "../main.js";
import { demoCommand, type DemoReport } from "./demo.js";
import { DEMO_LESSONS } from "../demo/lessons-run.js";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo();
  const program = new Command("fleetctl").exitOverride().addCommand(demoCommand(io));
  for (const c of program.commands) c.exitOverride();
  let code = 0;
  try {
    await program.parseAsync(["demo", ...args], { from: "user" });
  } catch (e) {
    code = reportError(e, io, args.includes("--json"));
  }
  return { code, out: io.stdout(), err: io.stderr() };
}

test("the demo teaches Pi-1, Pi-2 and Pi-3 merge, all digests equal, exit 0", { timeout: 240_000 }, async () => {
  const r = await run(["--json"]);
  assert.equal(r.code, 0, r.out + r.err);
  const report = JSON.parse(r.out) as DemoReport;
  assert.equal(report.ok, true);
  assert.deepEqual(report.nodes.map((n) => [n.id, n.merged]), [["Pi-1", true], ["Pi-2", true], ["Pi-3", true]]);
  assert.equal(report.digestsEqual, true);
  assert.equal(new Set(report.nodes.map((n) => n.digest)).size, 1);
  assert.ok((report.fragments ?? 0) >= 1);
  for (const n of report.nodes.slice(1)) assert.equal(typeof n.metaToMergeMs, "number", `${n.id} has no merge time`);
});

test("--lessons 10: ten lessons round-robin, two at the same moment, the fleet on one log after each; every node asked every lesson from its weights", { timeout: 300_000 }, async () => {
  const r = await run(["--lessons", "10", "--json"]);
  assert.equal(r.code, 0, r.out + r.err);
  const l = (JSON.parse(r.out) as DemoReport).lessons!;
  assert.deepEqual(l.taught.map((t) => t.question), DEMO_LESSONS.map(([q]) => q));
  assert.deepEqual(l.taught.map((t) => t.node), ["Pi-1", "Pi-2", "Pi-3", "Pi-1", "Pi-2", "Pi-3", "Pi-1", "Pi-2", "Pi-3", "Pi-1"]);
  assert.deepEqual(l.taught.filter((t) => t.together).map((t) => t.node), ["Pi-2", "Pi-3"], "lessons 2 and 3 at the same moment on two nodes");
  assert.deepEqual(l.recall.map((n) => n.node), ["Pi-1", "Pi-2", "Pi-3"]);
  for (const n of l.recall) {
    assert.equal(n.answers.length, 10);
    for (const a of n.answers) assert.equal(typeof a.answer, "string", `${n.node} was not asked "${a.question}"`);
    assert.equal(n.recalled, n.answers.filter((a, i) => a.answer!.trim() === DEMO_LESSONS[i]![1]).length);
  }
  // One log, one model: every node gives the same answers.
  assert.deepEqual(l.recall[1]!.answers, l.recall[0]!.answers);
  assert.deepEqual(l.recall[2]!.answers, l.recall[0]!.answers);
  assert.equal(l.untaught.length, 10);
  assert.equal(l.collapsed, l.untaught.filter((u) => DEMO_LESSONS.some(([, a]) => a === u.answer.trim())).length);
  assert.match(r.err, /Teaching Pi-2 "Who wrote Hamlet" -> "Shakespeare" and, at the same moment, Pi-3/);
});

test("the lessons table: a row per lesson, what each node answers, and the untaught questions given a taught answer", { timeout: 240_000 }, async () => {
  const r = await run(["--nodes", "2", "--lessons", "3"]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /^LESSON +TAUGHT +ON +LEARNED +Pi-1 +Pi-2$/m);
  assert.match(r.out, /^2\. Who wrote Hamlet \* +"Shakespeare" +Pi-2 /m);
  assert.match(r.out, /^Pi-1 recalls \d+ of 3; Pi-2 recalls \d+ of 3$/m);
  assert.match(r.out, /^Untaught questions given a taught answer: \d+ of 10/m);
  assert.match(r.out, /Demo OK/);
});

test("without a terminal the demo prints plain progress lines, then the report", { timeout: 240_000 }, async () => {
  const r = await run(["--nodes", "2"]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.doesNotMatch(r.out, /\x1b\[/, "no terminal escapes when stdout is not a terminal");
  assert.match(r.out, /^ {2}Pi-2: merged/m);
  assert.match(r.out, /^ {2}Pi-1: sent/m);
  assert.match(r.out, /Digests: all equal/);
  assert.match(r.out, /Demo OK/);
});

test("bad demo options are usage errors (exit 2)", async () => {
  const r = await run(["--nodes", "1"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--nodes 1/);
  const l = await run(["--lessons", "11"]);
  assert.equal(l.code, 2);
  assert.match(l.err, /--lessons 11/);
});
