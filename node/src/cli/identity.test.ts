// `fleet-node identity` prints the roster line the enrolment playbook collects: one line, the same
// every time, and the key the node itself then uses.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../../test/support/paths.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { loadOrCreateIdentity } from "../trust/keys.js";

const tmp = tempDirs("fleet-identity-");
const bin = join(repoRoot(), JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")).bin["fleet-node"] as string);
const run = (...args: string[]) => spawnSync(process.execPath, [bin, "identity", ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

test("prints exactly `<id> <base64 key>` and a newline, creates identity.key 0600, and prints the same line again", () => {
  const dir = join(tmp(), "Pi-1");
  const first = run("--state-dir", dir, "--id", "Pi-1");
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /^Pi-1 [A-Za-z0-9+/]{43}=\n$/);
  assert.equal(statSync(join(dir, "identity.key")).mode & 0o777, 0o600);
  const second = run("--id", "Pi-1", "--state-dir", dir);
  assert.equal(second.stdout, first.stdout);
  assert.equal(first.stdout, `Pi-1 ${loadOrCreateIdentity(dir).publicB64}\n`, "the key the node loads is the one printed");
});

test("bad flags exit 2 with a message and create nothing", () => {
  const dir = tmp();
  for (const args of [["--id", "Pi-1"], ["--state-dir", dir], ["--state-dir", dir, "--id", "Pi 1"], ["--state-dir", dir, "--id", "Pi-1", "--bogus"]]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.notEqual(r.stderr.trim(), "");
  }
  assert.equal(statSync(join(dir, "identity.key"), { throwIfNoEntry: false }), undefined);
});

test("a state folder whose identity.key is not a key: exit 1, the file kept", () => {
  const dir = tmp();
  run("--state-dir", dir, "--id", "Pi-1");
  const file = join(dir, "identity.key");
  writeFileSync(file, "garbage");
  const r = run("--state-dir", dir, "--id", "Pi-1");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /identity\.key is not a private key/);
  assert.equal(readFileSync(file, "utf8"), "garbage");
});
