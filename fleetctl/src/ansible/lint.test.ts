// The playbooks and roles in ansible/ pass ansible-lint's production profile with no rule skipped,
// and every playbook parses. Idempotence on real (simulated) Pis is fleet.fleet.test.ts's job.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { ansibleDir } from "../paths.js";

function lintMissing(): string | false {
  if (process.env.FLEET_REQUIRE_ALL === "1") return false;
  try {
    execFileSync("ansible-lint", ["--version"], { stdio: "ignore", timeout: 30_000 });
    return false;
  } catch {
    return "needs ansible-lint (apt-get install ansible-lint)";
  }
}

test("ansible-lint passes with the production profile", { skip: needs("ansible") || lintMissing() }, () => {
  const r = spawnSync("ansible-lint", ["--nocolor"], { cwd: ansibleDir(), encoding: "utf8", timeout: 180_000, env: { ...process.env, ANSIBLE_DEPRECATION_WARNINGS: "False" } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /Passed with production profile/);
});

test("no lint rule is skipped", () => {
  const cfg = readFileSync(join(ansibleDir(), ".ansible-lint"), "utf8");
  assert.doesNotMatch(cfg, /^\s*(skip_list|warn_list)\s*:/m);
  assert.match(cfg, /^profile: production$/m);
});

for (const playbook of ["provision", "up", "down", "restart", "logs", "roster"]) {
  test(`${playbook}.yml parses against the example inventory`, { skip: needs("ansible") }, () => {
    const dir = ansibleDir();
    const r = spawnSync("ansible-playbook", ["--syntax-check", "-i", join(dir, "inventory/hosts.yml"), join(dir, `${playbook}.yml`)], {
      cwd: dir,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, ANSIBLE_CONFIG: join(dir, "ansible.cfg") },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
}
