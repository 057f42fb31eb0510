// The dashboard JSON is something Grafana 10+ provisions, and stays what the code generates.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../test/support/paths.js";
import { dashboard } from "./dashboard.js";
import { DASHBOARD_FILE, dashboardText } from "./build.js";
import { panelQueries } from "./queries.js";
import { SCHEMA_VERSION } from "./config.js";
import { createMetrics } from "../../node/src/node/metrics.js";

type Panel = Record<string, any>;
const dash = dashboard() as { panels: Panel[]; templating: { list: Panel[] }; uid: string; schemaVersion: number };
const panels = dash.panels.filter((p) => p.type !== "row");

test("the committed JSON is exactly what the code generates (run the build script after a change)", () => {
  const committed = readFileSync(join(repoRoot(), DASHBOARD_FILE), "utf8");
  assert.equal(committed, dashboardText());
});

test("it has a stable uid and the schema version Grafana 10 provisions", () => {
  assert.equal(dash.uid, "deltafleet-overview");
  assert.equal(dash.schemaVersion, SCHEMA_VERSION);
  assert.equal(SCHEMA_VERSION, 38);
});

test("panel ids are unique", () => {
  const ids = dash.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
});

test("every panel has the Prometheus datasource, a unit and queries", () => {
  for (const p of panels) {
    assert.deepEqual(p.datasource, { type: "prometheus", uid: "${datasource}" }, p.title);
    assert.ok(typeof p.fieldConfig?.defaults?.unit === "string" && p.fieldConfig.defaults.unit.length > 0, `${p.title}: unit`);
    assert.ok(p.targets.length > 0, `${p.title}: queries`);
    const refIds = p.targets.map((t: Panel) => t.refId);
    assert.equal(new Set(refIds).size, refIds.length, `${p.title}: refIds`);
    for (const t of p.targets) assert.deepEqual(t.datasource, p.datasource, `${p.title}/${t.refId}`);
  }
});

test("panels sit on the 24-column grid without overlapping", () => {
  const cells = new Set<string>();
  for (const p of dash.panels) {
    const { x, y, w, h } = p.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24, `${p.title}: x ${x} w ${w}`);
    for (let i = x; i < x + w; i++)
      for (let j = y; j < y + h; j++) {
        const key = `${i},${j}`;
        assert.ok(!cells.has(key), `${p.title} overlaps at ${key}`);
        cells.add(key);
      }
  }
});

test("every variable a query uses is defined", () => {
  const defined = new Set(dash.templating.list.map((v) => v.name));
  for (const p of panels)
    for (const t of p.targets)
      for (const m of t.expr.matchAll(/\$(\w+)/g)) {
        if (m[1]!.startsWith("__")) continue; // Grafana's built-ins
        assert.ok(defined.has(m[1]!), `${p.title}: $${m[1]} is not a dashboard variable`);
      }
});

test("queries name only metrics the node defines (node/src/node/metrics.ts) or the recording rules record", async () => {
  const metrics = createMetrics(
    { overlayStats: () => undefined, peers: () => 0, transfersInFlight: () => 0, appliedDeltas: () => 0, model: () => undefined },
    { defaults: false },
  );
  const defined = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  const recording = readFileSync(join(repoRoot(), "prometheus", "rules", "recording.yml"), "utf8");
  const recorded = new Set([...recording.matchAll(/record:\s*(\S+)/g)].map((m) => m[1]));
  const queries = panelQueries(dash, { node: ".*", instance: ".*", rateInterval: "1m" });
  for (const q of queries) {
    for (const m of q.expr.matchAll(/\b(fleet[:_][a-z0-9_:]+)/g)) {
      const name = m[1]!.replace(/_(bucket|sum|count)$/, "");
      if (name.includes(":")) assert.ok(recorded.has(name), `${q.title}: ${name} is not recorded`);
      else assert.ok(defined.has(name), `${q.title}: ${name} is not defined in node/src/node/metrics.ts`);
    }
  }
});
