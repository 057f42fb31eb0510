// `fleetctl demo` end to end: three real fleet-node processes, a teach on Pi-1, every node merges,
// one digest, a report; plain progress lines when not on a terminal; usage errors exit 2.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Command } from "commander";
import { memoryIo } from "../io.js";
import { reportError } from "../main.js";
import { demoCommand, type DemoReport } from "./demo.js";

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
});
