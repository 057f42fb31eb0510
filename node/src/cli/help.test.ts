// `fleet-node --help` states each flag's default and variable. A default that is a value must be
// the one the node uses: given as the flag or as the variable, it changes nothing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ENV, resolveNodeOptions, type RawNodeOptions } from "../node/options.js";
import { repoRoot } from "../../../test/support/paths.js";

/** Flags whose default is a value the node could be given, and the option it sets. */
const VALUE_DEFAULTS: Record<string, keyof RawNodeOptions> = {
  "--port": "port", "--bind": "bind", "--dialect": "dialect", "--http": "http", "--state-dir": "stateDir",
  "--merge-weight": "mergeWeight", "--rate": "rate", "--log-level": "logLevel", "--preset": "preset",
};
/** Flags whose default is a description (nothing, or something derived at start-up). */
const DESCRIBED_DEFAULTS: Record<string, keyof RawNodeOptions> = {
  "--broadcast": "broadcast", "--peer": "peer", "--model": "model", "--log-format": "logFormat", "--log-file": "logFile",
  "--api-token-file": "apiTokenFile", "--roster": "roster", "--accept-unsigned": "acceptUnsigned",
};

function statedDefaults(): Map<string, { value: string; env: string }> {
  const bin = JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")).bin["fleet-node"] as string;
  const help = execFileSync(process.execPath, [join(repoRoot(), bin), "--help"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const options = help.slice(help.indexOf("\nOptions:"), help.indexOf("\nCommands:"));
  // Commander wraps a flag's text onto indented lines: join them back.
  const entries = options.split(/\n(?=  -)/).map((e) => e.replace(/\s*\n\s+/g, " ").trim());
  const out = new Map<string, { value: string; env: string }>();
  for (const e of entries) {
    const flag = /^(--[a-z-]+)/.exec(e)?.[1];
    if (!flag || flag === "--help") continue;
    const m = /\(default: (.+?); env (FLEET_[A-Z_]+)[^)]*\)$/.exec(e);
    assert.ok(m, `${flag} does not state its default and variable: ${e}`);
    out.set(flag, { value: m[1]!, env: m[2]! });
  }
  return out;
}

test("--help states a default and the variable for every flag, and the variable is the one read", () => {
  const stated = statedDefaults();
  assert.deepEqual([...stated.keys()].sort(), Object.keys({ ...VALUE_DEFAULTS, ...DESCRIBED_DEFAULTS }).sort());
  for (const [flag, { env }] of stated) assert.equal(env, ENV[VALUE_DEFAULTS[flag] ?? DESCRIBED_DEFAULTS[flag]!], flag);
});

test("every default --help states as a value is the one the node uses", () => {
  const id = "Pi-1";
  const none = resolveNodeOptions(id, {}, {}, false);
  for (const [flag, { value }] of statedDefaults()) {
    const key = VALUE_DEFAULTS[flag];
    if (!key) continue;
    const given = value.replace("<node-id>", id);
    assert.deepEqual(resolveNodeOptions(id, { [key]: given }, {}, false), none, `${flag} ${given}, the stated default, is not the default`);
    assert.deepEqual(resolveNodeOptions(id, {}, { [ENV[key]]: given }, false), none, `${ENV[key]}=${given}, the stated default, is not the default`);
  }
});
