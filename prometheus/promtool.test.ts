// The shipped Prometheus configuration and rules are what promtool accepts, and every alert's
// unit test (prometheus/tests/alerts.test.yml) passes: each fires when it should and stays silent
// when it should.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../test/support/needs.js";
import { repoRoot } from "../test/support/paths.js";

const dir = join(repoRoot(), "prometheus");
const promtool = (...args: string[]) => {
  const r = spawnSync("promtool", args, { cwd: dir, encoding: "utf8" });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

test("promtool check config accepts prometheus.yml and its rule files", { skip: needs("promtool") }, () => {
  const r = promtool("check", "config", "prometheus.yml");
  assert.equal(r.code, 0, r.out);
});

test("promtool check rules accepts the recording and alerting rules", { skip: needs("promtool") }, () => {
  const r = promtool("check", "rules", "rules/recording.yml", "rules/alerts.yml");
  assert.equal(r.code, 0, r.out);
});

test("promtool test rules: every alert has a firing and a silent case, and all pass", { skip: needs("promtool") }, () => {
  const alerts = [...readFileSync(join(dir, "rules", "alerts.yml"), "utf8").matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
  const tests = readFileSync(join(dir, "tests", "alerts.test.yml"), "utf8");
  for (const a of alerts) {
    const cases = [...tests.matchAll(new RegExp(`alertname: ${a}\\n\\s+exp_alerts:(.*)`, "g"))].map((m) => m[1]!.trim());
    assert.ok(cases.includes("[]"), `${a} has no case where it stays silent`);
    assert.ok(cases.includes(""), `${a} has no case where it fires`);
  }
  const r = promtool("test", "rules", "tests/alerts.test.yml");
  assert.equal(r.code, 0, r.out);
});
