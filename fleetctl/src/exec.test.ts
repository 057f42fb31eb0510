import { test } from "node:test";
import assert from "node:assert/strict";
import { FleetError } from "./errors.js";
import { execLog, run } from "./exec.js";

test("arguments reach the program as given, with no shell in between", async () => {
  const args = ["-e", "console.log(JSON.stringify(process.argv.slice(1)))", "a b", "$(echo no)", "; rm -rf /"];
  const r = await run(process.execPath, args, { timeoutMs: 10_000 });
  assert.equal(r.exitCode, 0);
  assert.deepEqual(JSON.parse(r.stdout), ["a b", "$(echo no)", "; rm -rf /"]);
  assert.deepEqual(execLog.at(-1)!.args, args);
});

test("the child sees only the explicit environment", async () => {
  process.env.FLEETCTL_TEST_SECRET = "leak";
  try {
    const r = await run(process.execPath, ["-e", "console.log(process.env.FLEETCTL_TEST_SECRET ?? 'none', process.env.GIVEN)"], {
      timeoutMs: 10_000,
      env: { GIVEN: "yes" },
    });
    assert.equal(r.stdout, "none yes");
  } finally {
    delete process.env.FLEETCTL_TEST_SECRET;
  }
});

test("a program that runs too long is stopped and says so", async () => {
  const r = await run(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { timeoutMs: 300 });
  assert.equal(r.timedOut, true);
  assert.notEqual(r.exitCode, 0);
});

test("output arrives line by line while the program runs", async () => {
  const lines: string[] = [];
  await run(process.execPath, ["-e", "process.stdout.write('one\\ntw'); setTimeout(() => process.stdout.write('o\\nthree'), 50)"], {
    timeoutMs: 10_000,
    onStdoutLine: (l) => lines.push(l),
  });
  assert.deepEqual(lines, ["one", "two", "three"]);
});

test("a program that is not installed is a TOOL_MISSING error naming it", async () => {
  await assert.rejects(run("fleetctl-no-such-tool", [], { timeoutMs: 5_000 }), (e: FleetError) => e.code === "TOOL_MISSING" && /fleetctl-no-such-tool/.test(e.message));
});
