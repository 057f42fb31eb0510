// The option rules every command shares, and the one unit of --timeout.

import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import { needs } from "../../../test/support/needs.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { fakeInventoryYaml, startFakeFleet } from "../../../test/support/fleetctl/fake-nodes.js";
import { memoryIo } from "../io.js";
import { buildProgram, runCli } from "../main.js";
import { STATUS_TIMEOUT_S } from "../nodes/fleet-status.js";
import { MERGE_TIMEOUT_S } from "../nodes/check.js";
import { SMOKE_TIMEOUT_S } from "../image/smoke.js";
import { DEMO_TIMEOUT_S } from "../demo/run-demo.js";
import { DASHBOARD_TIMEOUT_S } from "./dashboard.js";
import { TRAIN_TIMEOUT_S } from "./train.js";
import { seconds, wholeNumber } from "./options.js";

delete process.env.FLEET_INVENTORY;
const tmp = tempDirs("fleetctl-options-");

const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
const path = (c: Command): string => (c.parent?.parent ? `${path(c.parent)} ${c.name()}` : c.name());

test("a time is seconds, with or without its unit; milliseconds only when written so", () => {
  const s = seconds(60);
  assert.equal(s.parse("5"), 5);
  assert.equal(s.parse(5), 5);
  assert.equal(s.parse("1.5"), 1.5);
  assert.equal(s.parse("30s"), 30);
  assert.equal(s.parse("500ms"), 0.5);
  for (const bad of ["0", "-1", "five", "", "5 minutes", "0ms"]) assert.equal(s.safeParse(bad).success, false, bad);
});

test("a bare time above the limit is refused as the milliseconds it most likely is", () => {
  const r = seconds(60).safeParse("5000");
  assert.equal(r.success, false);
  assert.match(r.error!.issues[0]!.message, /the unit is seconds \(for milliseconds write 5000ms\)/);
  assert.equal(seconds(60).safeParse("61s").success, false);
});

test("whole numbers are whole and in range", () => {
  const n = wholeNumber(2, 9);
  assert.equal(n.parse("3"), 3);
  for (const bad of ["1", "10", "2.5", "three", ""]) assert.equal(n.safeParse(bad).success, false, bad);
  assert.equal(z.object({ n }).safeParse({}).success, false, "missing is not a number");
});

test("every --timeout is in seconds, and its help shows the default the command uses", () => {
  const io = memoryIo();
  const expected: Record<string, number> = { status: STATUS_TIMEOUT_S, check: MERGE_TIMEOUT_S, demo: DEMO_TIMEOUT_S, "image smoke": SMOKE_TIMEOUT_S,
    dashboard: DASHBOARD_TIMEOUT_S, train: TRAIN_TIMEOUT_S };
  const seen: Record<string, number> = {};
  for (const c of all(buildProgram(io))) {
    const t = c.options.find((o) => o.long === "--timeout");
    if (!t) continue;
    assert.equal(t.flags, "--timeout <seconds>", path(c));
    seen[path(c)] = t.defaultValue as number;
    assert.match(c.helpInformation(), new RegExp(`\\(default: ${t.defaultValue} s\\)`), path(c));
  }
  assert.deepEqual(seen, expected);
});

test("usage mistakes on any command exit 2 and name the flag and the value", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["demo", "--nodes", "1"], /--nodes 1: is not a whole number from 2 to 9/],
    [["demo", "--timeout", "soon"], /--timeout soon: is not a time in seconds/],
    [["demo", "--question", " "], /--question  : must not be empty/],
    [["check", "-i", "x.yml", "--timeout", "0"], /--timeout 0: must be more than 0 seconds/],
    [["check", "-i", "x.yml", "--question", "only"], /--question and --answer go together/],
    [["status", "-i", "x.yml", "--timeout", "5000"], /--timeout 5000: would be 5000 seconds.*write 5000ms/],
    [["status", "-i", "x.yml", "--limit", ","], /--limit ,: names no hosts/],
    [["logs", "-i", "x.yml", "-n", "zero"], /--lines zero: is not a whole number of at least 1/],
    [["sim", "up", "-n", "0", "-i", "x.yml"], /--count 0: is not a whole number from 1 to 32/],
    [["sim", "up"], /--inventory: sim up needs a file/],
    [["sim", "up", "-i", "x.yml", "--network", "-bad"], /--network -bad: is not a docker network name/],
    [["image", "smoke", "--timeout", "7200"], /--timeout 7200: would be 7200 seconds/],
    [["monitor", "up", "-i", "x.yml", "--listen", "9090"], /--listen 9090: is not host:port/],
    [["monitor", "up", "-i", "x.yml", "--grafana-port", "70000"], /--grafana-port 70000: is not a port/],
  ];
  for (const [argv, says] of cases) {
    const io = memoryIo();
    assert.equal(await runCli(argv, io), 2, argv.join(" "));
    assert.match(io.stderr(), says, argv.join(" "));
  }
});

test("status --timeout takes seconds, and milliseconds when they say so", { skip: needs("ansible") }, async (t) => {
  const fleet = await startFakeFleet({ count: 2 });
  t.after(() => fleet.close());
  const inv = join(tmp(), "hosts.yml");
  writeFileSync(inv, fakeInventoryYaml(fleet));
  for (const timeout of ["5", "2.5s", "5000ms"]) {
    const io = memoryIo();
    assert.equal(await runCli(["status", "-i", inv, "--timeout", timeout, "--json"], io), 0, `${timeout}: ${io.stderr()}`);
    assert.equal(JSON.parse(io.stdout()).up, 2);
  }
});
