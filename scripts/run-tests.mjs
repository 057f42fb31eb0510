#!/usr/bin/env node
// Runs the compiled tests with Node's test runner. `unit` (npm test): every *.test.js except the
// Docker fleet ones; `fleet` (npm run test:fleet): *.fleet.test.js. Extra arguments filter paths.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const [mode = "unit", ...filters] = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".test.js")) files.push(p);
  }
})("dist");
const isFleet = (f) => f.endsWith(".fleet.test.js");
const chosen = files
  .filter((f) => (mode === "fleet" ? isFleet(f) : !isFleet(f)))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (chosen.length === 0) {
  console.error(`no ${mode} test files found under dist/ (did the build run?)`);
  process.exit(1);
}
// The fleet tests share one Docker engine and build on each other's image cache: one at a time.
const concurrency = mode === "fleet" ? ["--test-concurrency=1"] : [];
const r = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...concurrency, ...chosen], { stdio: "inherit" });
process.exit(r.status ?? 1);
