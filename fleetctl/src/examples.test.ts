// Every example fleetctl shows, in its --help texts and in the README, works: in any order, any
// number of times. Those that run on one machine run twice, the second time in reverse order: the
// demo (its own fleet of real nodes), status and check (against stand-in nodes). The rest need
// Docker or Pis (sim/fleet.fleet.test.ts runs the Docker ones): each goes through commander and
// its command's option schema, so a flag or value that no longer works fails here.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { needs } from "../../test/support/needs.js";
import { tempDirs } from "../../test/support/temp-dirs.js";
import { fakeInventoryYaml, startFakeFleet } from "../../test/support/fleetctl/fake-nodes.js";
import { dryRun, helpExampleLines, markdownCommandLines, shellWords } from "../../test/support/fleetctl/examples.js";
import { optionsSchema } from "./commands/options.js";
import { memoryIo } from "./io.js";
import { allCommands, buildProgram, commandPath, runCli } from "./main.js";
import { fleetRepoRoot } from "./paths.js";

delete process.env.FLEET_INVENTORY;
const tmp = tempDirs("fleetctl-examples-");
const readme = readFileSync(join(fleetRepoRoot(), "README.md"), "utf8");

async function helpOf(path: string): Promise<string> {
  const io = memoryIo();
  assert.equal(await runCli([...path.split(" ").filter(Boolean), "--help"], io), 0, path);
  return io.stdout();
}

async function examples(): Promise<{ help: string[]; readme: string[] }> {
  const help: string[] = [];
  for (const c of allCommands(buildProgram(memoryIo()))) help.push(...helpExampleLines(await helpOf(commandPath(c))));
  return { help, readme: markdownCommandLines(readme) };
}

/** The argument array of an example, its inventory pointed at `inventory`. */
function argvOf(line: string, inventory?: string): string[] {
  const argv = shellWords(line).slice(1);
  if (inventory) argv.forEach((a, i) => { if (a === "-i" || a === "--inventory") argv[i + 1] = inventory; });
  return argv;
}

const runsHere = (command: string) => (line: string): boolean => argvOf(line)[0] === command;

test("the help texts and the README show examples, the demo first among them", async () => {
  const e = await examples();
  assert.equal(e.help[0], "fleetctl demo");
  assert.ok(e.help.length >= 10, `${e.help.length} help examples`);
  assert.ok(e.readme.includes("fleetctl status -i inventory/hosts.yml"), "the README's fleetctl lines are found");
  assert.ok(e.readme.length >= 10, `${e.readme.length} README lines`);
});

test("every command's options go through a schema", () => {
  const leaves = allCommands(buildProgram(memoryIo())).filter((c) => c.commands.length === 0 && c.name() !== "help");
  assert.ok(leaves.length >= 14);
  for (const c of leaves) assert.ok(optionsSchema(c), `fleetctl ${commandPath(c)} reads its options by hand`);
});

test("every example names a command, flags and values that fleetctl takes", async () => {
  const e = await examples();
  for (const line of new Set([...e.help, ...e.readme])) {
    await assert.doesNotReject(dryRun(argvOf(line)), line);
  }
  // The dry run itself refuses what the CLI refuses.
  await assert.rejects(dryRun(["status", "--timeout", "5000"]), /would be 5000 seconds/);
  await assert.rejects(dryRun(["sim", "up", "--no-such-flag"]), /unknown option/);
});

test("the demo examples run, in any order, any number of times", { timeout: 600_000 }, async () => {
  const e = await examples();
  const demos = [...new Set([...e.help, ...e.readme].filter(runsHere("demo")))];
  assert.ok(demos.length >= 3, demos.join(", "));
  for (const line of [...demos, ...[...demos].reverse()]) {
    const io = memoryIo();
    assert.equal(await runCli(argvOf(line), io), 0, `${line}\n${io.stdout()}${io.stderr()}`);
    if (!line.includes("--json")) assert.match(io.stdout(), /Demo OK/, line);
  }
});

test("`npm run demo` from the README runs the built fleetctl, which exits 0 when done", { timeout: 300_000 }, () => {
  assert.match(readme, /npm ci && npm run demo/);
  const script = (JSON.parse(readFileSync(join(fleetRepoRoot(), "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.demo!;
  assert.match(script, /&& node dist\/fleetctl\/src\/main\.js demo$/);
  // A separate process, so a handle left open after the report (a timer, a socket) shows as a hang.
  const r = spawnSync(process.execPath, [fileURLToPath(new URL("./main.js", import.meta.url)), "demo"], { encoding: "utf8", timeout: 240_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Pi-2 +yes .*\nPi-3 +yes /);
  assert.match(r.stdout, /Pi-2 answers "What is 2\+2": before ".*", after ".*"\nDemo OK/);
});

test("the status and check examples run against a fleet, in any order, any number of times", { skip: needs("ansible"), timeout: 300_000 }, async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 50 });
  t.after(() => fleet.close());
  const inventory = join(tmp(), "hosts.yml");
  writeFileSync(inventory, fakeInventoryYaml(fleet));
  const e = await examples();
  const lines = [...new Set([...e.help, ...e.readme].filter((l) => runsHere("status")(l) || runsHere("check")(l)))];
  assert.ok(lines.some(runsHere("status")) && lines.some(runsHere("check")), lines.join(", "));
  for (const line of [...lines, ...[...lines].reverse()]) {
    const io = memoryIo();
    assert.equal(await runCli(argvOf(line, inventory), io), 0, `${line}\n${io.stdout()}${io.stderr()}`);
  }
});
