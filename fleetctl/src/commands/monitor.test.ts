// `fleetctl monitor up|down` with a real Prometheus: targets from the inventory, labelled with
// the node ids; a second `up` refreshes targets of the running one; `down` stops it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { freePorts } from "../../../node/src/node/local-fleet.js";
import { runCli } from "../main.js";
import { memoryIo } from "../io.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { createServer } from "node:net";
import { FleetError } from "../errors.js";
import { startPrometheus } from "../monitor/prometheus-process.js";

const scratch = tempDirs("monitor-");

function inventory(dir: string, hosts: Array<[string, string]>): string {
  const file = join(dir, `hosts-${hosts.length}.yml`);
  const lines = hosts.map(([name, id], i) => `        ${name}:\n          ansible_host: 127.0.0.${i + 1}\n          fleet_node_id: ${id}\n`);
  writeFileSync(file, `all:\n  children:\n    pis:\n      hosts:\n${lines.join("")}`);
  return file;
}

/** The active targets once there are `n` of them (file SD is read shortly after start-up). */
async function targets(url: string, n: number): Promise<Array<{ labels: Record<string, string> }>> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const r = (await (await fetch(`${url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ labels: Record<string, string> }> } };
    if (r.data.activeTargets.length === n || Date.now() > deadline) return r.data.activeTargets;
    await new Promise((res) => setTimeout(res, 250));
  }
}

test("monitor up scrapes every inventory node under its id; up again refreshes; down stops Prometheus", { skip: needs("promtool", "ansible"), timeout: 90_000 }, async () => {
  const dir = scratch();
  const [port] = await freePorts("tcp", 1);
  const common = ["--dir", join(dir, "state"), "--listen", `127.0.0.1:${port}`, "--grafana-image", "deltafleet/no-such-grafana:0", "--json"];
  const io = memoryIo();
  const code = await runCli(["monitor", "up", "-i", inventory(dir, [["pi-a", "Pi-1"], ["pi-b", "Pi-2"]]), ...common], io);
  assert.equal(code, 0, io.stderr());
  const report = JSON.parse(io.stdout());
  assert.equal(report.prometheus.targets, 2);
  assert.match(report.grafana.hint, /not installed here/);
  const url = report.prometheus.url;
  try {
    assert.deepEqual((await targets(url, 2)).map((t) => `${t.labels.node}@${t.labels.instance}`).sort(), ["Pi-1@127.0.0.1:8477", "Pi-2@127.0.0.2:8477"]);
    const io2 = memoryIo();
    assert.equal(await runCli(["monitor", "up", "-i", inventory(dir, [["pi-a", "Pi-1"], ["pi-b", "Pi-2"], ["pi-c", "Pi-3"]]), ...common], io2), 0, io2.stderr());
    assert.equal(JSON.parse(io2.stdout()).prometheus.reused, true);
    assert.equal((await targets(url, 3)).length, 3);
  } finally {
    const io3 = memoryIo();
    assert.equal(await runCli(["monitor", "down", "--dir", join(dir, "state"), "--json"], io3), 0, io3.stderr());
    assert.equal(typeof JSON.parse(io3.stdout()).prometheusStopped, "number");
  }
  await new Promise((r) => setTimeout(r, 1000));
  await assert.rejects(fetch(`${url}/-/ready`));
});

test("a Prometheus that will not run is a failure to start, not a missing install, wherever its folder is", { skip: needs("promtool", "ansible"), timeout: 60_000 }, async (t) => {
  // The folder's name once decided the error code: its path was in the message, the code a regex on it.
  const dir = join(scratch(), "install");
  mkdirSync(dir);
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
  t.after(() => busy.close());
  const port = (busy.address() as { port: number }).port;
  const io = memoryIo();
  const code = await runCli(["monitor", "up", "-i", inventory(dir, [["pi-a", "Pi-1"]]), "--dir", join(dir, "state"), "--listen", `127.0.0.1:${port}`, "--json"], io);
  assert.equal(code, 1);
  assert.equal(JSON.parse(io.stdout()).error.code, "COMMAND_FAILED", io.stderr());
  assert.match(io.stderr(), /prometheus exited/);
});

test("no prometheus binary is a missing tool, said with what to install", async () => {
  const dir = scratch();
  await assert.rejects(
    startPrometheus({ configFile: join(dir, "prometheus.yml"), dataDir: join(dir, "data"), listen: "127.0.0.1:1", logFile: join(dir, "log"), binary: "fleetctl-no-such-prometheus" }),
    (e: unknown) => e instanceof FleetError && e.code === "TOOL_MISSING" && e.suggestion === "apt-get install prometheus",
  );
});
