// The README's `npx fleet-node …` and `npx fleetctl …` run the package's bins as files: they must
// stay executable after every `npm run build`, however many times it ran (npm test, demo and the
// benches all rebuild).

import { test } from "node:test";
import assert from "node:assert/strict";
import { accessSync, constants, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../../test/support/paths.js";

const bins: Record<string, string> = JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")).bin;

test("package.json names the two bins", () => {
  assert.deepEqual(Object.keys(bins).sort(), ["fleet-node", "fleetctl"]);
});

for (const [name, path] of Object.entries(bins)) {
  test(`${name}: the built file is executable and answers --help when run as a program`, () => {
    const file = join(repoRoot(), path);
    accessSync(file, constants.X_OK);
    const out = execFileSync(file, ["--help"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.match(out, new RegExp(`^Usage: ${name} `));
  });
}
