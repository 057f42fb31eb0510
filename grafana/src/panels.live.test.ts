// Every panel of the dashboard shows data from a real fleet: three fleet-node processes taught,
// merging and trained for a round, scraped by a real Prometheus (Debian's package) with the shipped config and rules.
// Each panel query, read out of the dashboard JSON with its variables substituted, goes through
// Prometheus's HTTP API; an error or an empty answer fails the test, so a renamed metric can never
// leave a panel silently blank.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { freePorts, LocalFleet } from "../../node/src/node/local-fleet.js";
import { needs } from "../../test/support/needs.js";
import { repoRoot } from "../../test/support/paths.js";
import { writePrometheusSetup } from "../../fleetctl/src/monitor/prometheus-setup.js";
import { queryPrometheus, startPrometheus } from "../../fleetctl/src/monitor/prometheus-process.js";
import { DASHBOARD_FILE } from "./build.js";
import { panelQueries, substitute } from "./queries.js";
import { tempDirs } from "../../test/support/temp-dirs.js";

const scratch = tempDirs("panels-live-");

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const post = (url: string, body: object) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);

test("every dashboard panel returns data from Prometheus scraping a live, learning fleet", { skip: needs("promtool"), timeout: 180_000 }, async (t) => {
  const root = scratch();
  const fleet = await LocalFleet.start({ count: 3, root, env: { FLEET_MODEL_CACHE: join(root, "models") } });
  t.after(() => fleet.stop());
  for (const n of fleet.nodes) await until(`${n.id} ready`, 60_000, async () => ((await fetch(`${n.url}/ready`)).ok ? true : undefined));

  const [port] = await freePorts("tcp", 1);
  const configFile = writePrometheusSetup({
    dir: join(root, "prometheus"),
    sourceDir: join(repoRoot(), "prometheus"),
    targets: fleet.nodes.map((n) => ({ address: `127.0.0.1:${n.httpPort}`, node: n.id })),
    scrapeInterval: "1s",
  });
  const prom = await startPrometheus({ configFile, dataDir: join(root, "prometheus", "data"), listen: `127.0.0.1:${port}`, logFile: join(root, "prometheus.log") });
  t.after(() => prom.stop());

  // Teach and merge traffic: two corrections from Pi-1, each merged by Pi-2 and Pi-3.
  for (const [question, answer] of [["What is 2+2", "4"], ["Who wrote Hamlet", "Shakespeare"]]) {
    const taught = await post(`${fleet.nodes[0]!.url}/teach`, { question, answer });
    assert.ok(taught.version, JSON.stringify(taught));
    for (const n of fleet.nodes.slice(1)) {
      await until(`${n.id} merging ${taught.version}`, 30_000, async () => {
        const s = (await (await fetch(`${n.url}/status`)).json()) as { applied: Array<{ version: string }> };
        return s.applied.some((a) => a.version === taught.version) ? true : undefined;
      });
    }
    await new Promise((r) => setTimeout(r, 3000)); // a few scrapes after each event, for rate()
  }
  // A one-round training job over a few pairs, for the Training row.
  const data = [["What is 3+3", "6"], ["What colour is the sky", "blue"], ["What is 5+5", "10"], ["Who painted the Mona Lisa", "Leonardo"],
    ["What is the capital of Italy", "Rome"], ["What is 9-4", "5"]].map(([question, answer]) => ({ question, answer }));
  const job = await post(`${fleet.nodes[0]!.url}/train`, { data, rounds: 1, mode: "fedavg", stragglerTimeoutS: 20 });
  assert.equal(job.state, "running", JSON.stringify(job));
  await until("the training job done", 60_000, async () => {
    const s = (await (await fetch(`${fleet.nodes[0]!.url}/train`)).json()) as { state: string; error?: string };
    if (s.state === "failed") throw new Error(s.error);
    return s.state === "done" ? true : undefined;
  });
  await new Promise((r) => setTimeout(r, 3000));
  await until("three targets up", 20_000, async () => {
    const r = await queryPrometheus(prom.url, 'sum(up{job="deltafleet"})');
    return r.data?.result[0]?.value?.[1] === "3" ? true : undefined;
  });

  const dashboard = JSON.parse(readFileSync(join(repoRoot(), DASHBOARD_FILE), "utf8"));
  const queries = panelQueries(dashboard, { node: ".*", instance: ".*", rateInterval: "30s" });
  assert.ok(queries.length >= 20, `${queries.length} queries`);
  const empty: string[] = [];
  for (const q of queries) {
    const r = await queryPrometheus(prom.url, q.expr, q.instant ? undefined : 60);
    assert.equal(r.status, "success", `${q.title} (${q.refId}): ${r.error} — ${q.expr}`);
    const points = r.data!.result.reduce((n, s) => n + (s.values?.length ?? (s.value ? 1 : 0)), 0);
    if (points === 0) empty.push(`${q.title} (${q.refId}): ${q.expr}`);
  }
  assert.deepEqual(empty, [], "panels with no data");

  // The node and instance variables offer the label values of their source series
  // (label_values(<series>, <label>)): every node must appear there under its id and address, or
  // picking it would narrow every panel to nothing.
  const offered: Record<string, string[]> = {};
  for (const v of dashboard.templating.list as Array<{ name: string; type: string; definition?: string }>) {
    if (v.type !== "query") continue;
    const m = /^label_values\((.+), (\w+)\)$/.exec(v.definition ?? "");
    assert.ok(m, `variable ${v.name}: ${v.definition} is not label_values(<series>, <label>)`);
    const r = await queryPrometheus(prom.url, substitute(m[1]!, { node: ".*", instance: ".*", rateInterval: "30s" }));
    assert.equal(r.status, "success", `variable ${v.name}: ${r.error}`);
    offered[v.name] = [...new Set(r.data!.result.map((s) => s.metric[m[2]!]).filter((x): x is string => x !== undefined))].sort();
  }
  assert.deepEqual(offered.node, fleet.nodes.map((n) => n.id).sort());
  assert.deepEqual(offered.instance, fleet.nodes.map((n) => `127.0.0.1:${n.httpPort}`).sort());

  // The digests agree after the merges: the overview's headline number is 1.
  const distinct = await queryPrometheus(prom.url, "fleet:digests:distinct");
  assert.equal(distinct.data?.result[0]?.value?.[1], "1");
});
