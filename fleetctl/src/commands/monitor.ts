// `fleetctl monitor up|down`: Prometheus (Debian's package) and, where its image is present,
// Grafana (a container) on the control machine, pointed at the fleet in the inventory.

import { Command, Option } from "commander";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { FleetError } from "../errors.js";
import { run } from "../exec.js";
import { emit, processIo, type Io } from "../io.js";
import { fleetRepoRoot } from "../paths.js";
import { writePrometheusSetup } from "../monitor/prometheus-setup.js";
import { startPrometheus } from "../monitor/prometheus-process.js";
import { writeFileAtomic } from "../../../node/src/util/atomic-write.js";
import { actionWith, flag, hostPort, port } from "./options.js";
import { inventoryFrom, inventoryOption, withInventory } from "./playbook-options.js";

const GRAFANA_CONTAINER = "deltafleet-grafana";
/** Grafana 10 provisions the dashboard JSON as committed (schemaVersion 38). */
const DEFAULT_GRAFANA_IMAGE = "grafana/grafana:10.4.2";

const monitorUpOptions = z.object({ ...inventoryOption, listen: hostPort, grafanaPort: port, grafanaImage: z.string(), dir: z.string(), json: flag });
const monitorDownOptions = z.object({ dir: z.string(), json: flag });

function defaultDir(): string {
  return join(process.env.XDG_STATE_HOME ?? join(homedir(), ".local", "state"), "deltafleet", "monitor");
}

interface MonitorReport {
  prometheus: { url: string; pid: number; targets: number; dir: string; reused: boolean };
  grafana: { url: string; image: string } | { missing: string; hint: string };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runningPid(dir: string): number | undefined {
  const file = join(dir, "prometheus.pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8"));
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
}

async function startGrafana(image: string, port: number, prometheusUrl: string): Promise<MonitorReport["grafana"]> {
  const root = fleetRepoRoot();
  const inspect = await run("docker", ["image", "inspect", image], { timeoutMs: 20_000 }).catch((e) => e as FleetError);
  if (inspect instanceof FleetError || inspect.exitCode !== 0) {
    return {
      missing: image,
      hint: `Grafana is not installed here (no ${image} image${inspect instanceof FleetError ? ", no docker" : ""}). On a machine with internet: docker pull ${image}, then docker save | docker load it here and run this again — or import grafana/dashboards/deltafleet.json into any Grafana 10+ with a Prometheus datasource at ${prometheusUrl}.`,
    };
  }
  await run("docker", ["rm", "-f", GRAFANA_CONTAINER], { timeoutMs: 30_000 });
  const r = await run(
    "docker",
    [
      "run", "-d", "--name", GRAFANA_CONTAINER, "--restart", "unless-stopped", "--network", "host",
      "-e", `GF_SERVER_HTTP_PORT=${port}`, "-e", `PROMETHEUS_URL=${prometheusUrl}`,
      "-e", "GF_AUTH_ANONYMOUS_ENABLED=true", "-e", "GF_AUTH_ANONYMOUS_ORG_ROLE=Viewer",
      "-v", `${join(root, "grafana", "provisioning")}:/etc/grafana/provisioning:ro`,
      "-v", `${join(root, "grafana", "dashboards")}:/var/lib/grafana/dashboards/deltafleet:ro`,
      image,
    ],
    { timeoutMs: 60_000 },
  );
  if (r.exitCode !== 0) throw new FleetError("COMMAND_FAILED", `could not start Grafana: ${r.stderr.trim()}`, { suggestion: `is port ${port} free? (--grafana-port)` });
  return { url: `http://127.0.0.1:${port}/d/deltafleet-overview`, image };
}

/** Removes the Grafana container `monitor up` started; false when there was none (or no Docker). */
async function removeGrafana(): Promise<boolean> {
  const found = await run("docker", ["container", "inspect", "--format", "{{.Id}}", GRAFANA_CONTAINER], { timeoutMs: 30_000 }).catch(() => undefined);
  if (found?.exitCode !== 0) return false;
  return (await run("docker", ["rm", "-f", GRAFANA_CONTAINER], { timeoutMs: 30_000 })).exitCode === 0;
}

export function monitorCommand(io: Io = processIo): Command {
  const monitor = new Command("monitor").description("Prometheus and Grafana for the fleet, on this machine");

  const up = withInventory(monitor.command("up"))
    .description("scrape every node in the inventory with Prometheus (and start Grafana where its image is present); prints the URLs")
    .addOption(new Option("--listen <host:port>", "Prometheus web address").default("0.0.0.0:9090"))
    .addOption(new Option("--grafana-port <port>", "Grafana web port").default(3000))
    .addOption(new Option("--grafana-image <image>", "Grafana image to run").default(DEFAULT_GRAFANA_IMAGE))
    .addOption(new Option("--dir <folder>", "where the configuration and data live").default(defaultDir()))
    .option("--json", "print the result as JSON");
  actionWith(up, monitorUpOptions, async (o) => {
    const inv = await inventoryFrom(o);
    mkdirSync(o.dir, { recursive: true });
    const targets = inv.hosts.map((h) => ({ address: `${h.address}:${h.httpPort}`, node: h.nodeId }));
    // Prometheus re-reads the targets file by itself: a running one only needs it rewritten.
    const configFile = writePrometheusSetup({ dir: o.dir, sourceDir: join(fleetRepoRoot(), "prometheus"), targets });
    const [host, listenPort] = o.listen.split(":") as [string, string];
    const localUrl = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${listenPort}`;
    let pid = runningPid(o.dir);
    const reused = pid !== undefined;
    if (pid === undefined) {
      const prom = await startPrometheus({ configFile, dataDir: join(o.dir, "data"), listen: o.listen, logFile: join(o.dir, "prometheus.log"), detach: true });
      pid = prom.process.pid!;
      writeFileAtomic(join(o.dir, "prometheus.pid"), String(pid));
    } else {
      await fetch(`${localUrl}/-/reload`, { method: "POST" }).catch(() => undefined);
    }
    const grafana = await startGrafana(o.grafanaImage, o.grafanaPort, localUrl);
    const report: MonitorReport = { prometheus: { url: localUrl, pid, targets: targets.length, dir: o.dir, reused }, grafana };
    emit(io, o.json, report, (r) =>
      [
        `Prometheus ${r.prometheus.url} (pid ${r.prometheus.pid}${r.prometheus.reused ? ", already running: targets refreshed" : ""}) scraping ${r.prometheus.targets} nodes`,
        "url" in r.grafana ? `Grafana    ${r.grafana.url}` : `Grafana    not started: ${r.grafana.hint}`,
        "",
      ].join("\n"),
    );
  });

  const down = monitor
    .command("down")
    .description("stop the Prometheus and Grafana that `monitor up` started")
    .addOption(new Option("--dir <folder>", "where monitor up put its files").default(defaultDir()))
    .option("--json", "print the result as JSON");
  actionWith(down, monitorDownOptions, async (o) => {
    const pid = runningPid(o.dir);
    if (pid !== undefined) process.kill(pid, "SIGTERM");
    rmSync(join(o.dir, "prometheus.pid"), { force: true });
    const report = { prometheusStopped: pid ?? null, grafanaRemoved: await removeGrafana() };
    emit(io, o.json, report, (r) => `Prometheus ${r.prometheusStopped ? `stopped (pid ${r.prometheusStopped})` : "was not running"}; Grafana ${r.grafanaRemoved ? "removed" : "was not running"}\n`);
  });
  return monitor;
}
