#!/usr/bin/env node
// Writes the dashboards as the JSON Grafana provisions: `node dist/grafana/src/build.js`.
// The JSON is committed (reviewed in diffs); dashboard.test.ts fails when it drifts from this code.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { dashboard } from "./dashboard.js";
import { repoRoot } from "../../test/support/paths.js";

export const DASHBOARD_FILE = join("grafana", "dashboards", "deltafleet.json");

export function dashboardText(): string {
  return JSON.stringify(dashboard(), null, 2) + "\n";
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = join(repoRoot(), DASHBOARD_FILE);
  writeFileSync(file, dashboardText());
  console.log(`wrote ${file}`);
}
