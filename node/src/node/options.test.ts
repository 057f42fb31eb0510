// Settings: flags over FLEET_* variables over defaults; every bad value named at once.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveNodeOptions, UsageError } from "./options.js";

test("defaults are the course's port, a loopback HTTP API and ./state/<id>", () => {
  const o = resolveNodeOptions("Pi-1", {}, {}, false);
  assert.equal(o.port, 5000);
  assert.deepEqual(o.http, { host: "127.0.0.1", port: 8477 });
  assert.match(o.stateDir, /state\/Pi-1$/);
  assert.equal(o.dialect, "v1");
  assert.equal(o.logFormat, "json");
  assert.equal(o.mergeWeight, 1);
});

test("FLEET_* variables apply, flags win over them, and empty variables count as unset", () => {
  const env = { FLEET_NODE_ID: "Pi-9", FLEET_PORT: "5001", FLEET_PEER: "10.0.0.2:5000, 10.0.0.3:5000", FLEET_HTTP: "0.0.0.0:9000", FLEET_RATE: "500k", FLEET_DIALECT: "" };
  const o = resolveNodeOptions(undefined, { port: "5002" }, env, false);
  assert.equal(o.nodeId, "Pi-9");
  assert.equal(o.port, 5002);
  assert.deepEqual(o.peers, [{ host: "10.0.0.2", port: 5000 }, { host: "10.0.0.3", port: 5000 }]);
  assert.deepEqual(o.http, { host: "0.0.0.0", port: 9000 });
  assert.equal(o.rateBytesPerSec, 500_000);
  assert.equal(o.dialect, "v1");
  assert.deepEqual(resolveNodeOptions("a", { peer: ["127.0.0.1:7"] }, env, false).peers, [{ host: "127.0.0.1", port: 7 }]);
});

test("every bad value is reported at once, naming its flag", () => {
  assert.throws(() => resolveNodeOptions("Pi|1", { port: "70000", dialect: "v2", peer: ["nohost"], http: "x:y", mergeWeight: "-1", rate: "fast", bind: "no-such-if0", logFormat: "xml" }, {}, false),
    (e: unknown) => {
      assert.ok(e instanceof UsageError);
      const text = e.problems.join("\n");
      for (const flag of ["node id", "--port", "--dialect", "--peer", "--http", "--merge-weight", "--rate", "--bind", "--log-format"]) assert.ok(text.includes(flag), `${flag} not named in:\n${text}`);
      return true;
    });
  assert.throws(() => resolveNodeOptions(undefined, {}, {}, false), /missing <node-id>/);
});

test("--api-token-file or FLEET_API_TOKEN_FILE gives the token; a file that cannot guard it stops start-up", () => {
  const dir = mkdtempSync(join(tmpdir(), "fleet-opts-"));
  try {
    const good = join(dir, "token");
    writeFileSync(good, "k3Xq9vT2mZ8pL4rW7yB1nC6dF0gH5jA\n", { mode: 0o600 });
    assert.equal(resolveNodeOptions("Pi-1", {}, {}, false).apiToken, undefined);
    assert.equal(resolveNodeOptions("Pi-1", { apiTokenFile: good }, {}, false).apiToken, "k3Xq9vT2mZ8pL4rW7yB1nC6dF0gH5jA");
    assert.equal(resolveNodeOptions("Pi-1", {}, { FLEET_API_TOKEN_FILE: good }, false).apiToken, "k3Xq9vT2mZ8pL4rW7yB1nC6dF0gH5jA");
    const open = join(dir, "open");
    writeFileSync(open, "k3Xq9vT2mZ8pL4rW7yB1nC6dF0gH5jA\n");
    chmodSync(open, 0o644);
    assert.throws(() => resolveNodeOptions("Pi-1", { apiTokenFile: open }, {}, false), (e: unknown) => e instanceof UsageError && /--api-token-file: .*readable by every user/.test(e.message));
    assert.throws(() => resolveNodeOptions("Pi-1", { apiTokenFile: join(dir, "none") }, {}, false), /--api-token-file: cannot read/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--roster (FLEET_ROSTER) turns trust on; --accept-unsigned (FLEET_ACCEPT_UNSIGNED=1) needs it", () => {
  const off = resolveNodeOptions("Pi-1", {}, {}, false);
  assert.equal(off.roster, undefined);
  assert.equal(off.acceptUnsigned, false);
  const on = resolveNodeOptions("Pi-1", {}, { FLEET_ROSTER: "fleet-roster", FLEET_ACCEPT_UNSIGNED: "1" }, false);
  assert.match(on.roster!, /^\/.*fleet-roster$/, "resolved to an absolute path");
  assert.equal(on.acceptUnsigned, true);
  assert.equal(resolveNodeOptions("Pi-1", { roster: "r", acceptUnsigned: true }, {}, false).acceptUnsigned, true);
  assert.equal(resolveNodeOptions("Pi-1", { roster: "r" }, { FLEET_ACCEPT_UNSIGNED: "0" }, false).acceptUnsigned, false);
  assert.throws(() => resolveNodeOptions("Pi-1", { acceptUnsigned: true }, {}, false), /--accept-unsigned needs --roster/);
  assert.throws(() => resolveNodeOptions("Pi-1", { roster: "r" }, { FLEET_ACCEPT_UNSIGNED: "yes" }, false), /FLEET_ACCEPT_UNSIGNED=yes: must be 1/);
});

test("--preset (FLEET_PRESET) picks the model to start from, tiny-gpt2 unless told; one model source only", () => {
  assert.equal(resolveNodeOptions("Pi-1", {}, {}, false).preset, "tiny-gpt2");
  assert.equal(resolveNodeOptions("Pi-1", {}, { FLEET_PRESET: "classroom" }, false).preset, "classroom");
  assert.equal(resolveNodeOptions("Pi-1", { preset: "tiny-gpt2" }, { FLEET_PRESET: "classroom" }, false).preset, "tiny-gpt2");
  assert.throws(() => resolveNodeOptions("Pi-1", { preset: "huge" }, {}, false), (e: unknown) => e instanceof UsageError && /--preset huge: must be one of tiny-gpt2, classroom/.test(e.message));
  assert.throws(() => resolveNodeOptions("Pi-1", { preset: "classroom", model: "/m" }, {}, false), (e: unknown) => e instanceof UsageError && /both name the model to start from/.test(e.message));
  // Ansible leaves FLEET_PRESET empty when it mounts a model folder: empty counts as unset.
  assert.equal(resolveNodeOptions("Pi-1", {}, { FLEET_PRESET: "", FLEET_MODEL: "/model" }, false).model, "/model");
});
