// Runs Debian's `prometheus` binary on a setup folder and talks to its HTTP API. Prometheus is a
// daemon, not a command that finishes, so it is spawned here rather than through exec.ts. It fails
// with FleetErrors whose code says whether Prometheus is missing or would not run.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { FleetError } from "../errors.js";
import { waitUntil } from "../wait.js";

export interface PrometheusOptions {
  configFile: string;
  dataDir: string;
  /** host:port for the web UI and API. */
  listen: string;
  /** Where stdout/stderr go; Prometheus logs a lot. */
  logFile: string;
  binary?: string;
  /** Keep running after this process exits (`fleetctl monitor up`); stop it by pid. */
  detach?: boolean;
}

export interface RunningPrometheus {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startPrometheus(o: PrometheusOptions, readyTimeoutMs = 20_000): Promise<RunningPrometheus> {
  mkdirSync(o.dataDir, { recursive: true });
  const log = openSync(o.logFile, "a");
  const child = spawn(
    o.binary ?? "prometheus",
    [
      `--config.file=${o.configFile}`,
      `--storage.tsdb.path=${o.dataDir}`,
      `--web.listen-address=${o.listen}`,
      "--web.enable-lifecycle",
      // Keep a control machine's disk in check: a classroom needs days, not months.
      "--storage.tsdb.retention.time=15d",
    ],
    { stdio: ["ignore", log, log], detached: true },
  );
  if (o.detach) child.unref();
  const url = `http://${o.listen}`;
  const running: RunningPrometheus = {
    url,
    process: child,
    stop: () => stopProcess(child),
  };
  // A missing binary shows up as an "error" event, not an exit: remembered so the wait stops at once.
  let spawnFailure: NodeJS.ErrnoException | undefined;
  child.once("error", (e) => (spawnFailure = e));
  const ready = await waitUntil(async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok, {
    deadline: Date.now() + readyTimeoutMs,
    everyMs: 200,
    abandon: () => (spawnFailure ? "could not start" : child.exitCode !== null || child.signalCode !== null ? "exited" : undefined),
  });
  if (ready.done) return running;
  if (spawnFailure?.code === "ENOENT") {
    throw new FleetError("TOOL_MISSING", `prometheus is not installed (${spawnFailure.message})`, { suggestion: "apt-get install prometheus", detail: { tool: "prometheus" } });
  }
  if (spawnFailure) throw new FleetError("COMMAND_FAILED", `could not start prometheus: ${spawnFailure.message}`);
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new FleetError("COMMAND_FAILED", `prometheus exited with ${child.exitCode ?? child.signalCode}; see ${o.logFile}`, { suggestion: `is ${o.listen} free? (--listen)` });
  }
  await running.stop();
  throw new FleetError("TIMEOUT", `prometheus did not become ready on ${url} within ${readyTimeoutMs} ms; see ${o.logFile}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(t);
}

export interface QueryResult {
  status: "success" | "error";
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }> };
}

/** An instant query (`/api/v1/query`) or, with `rangeSeconds`, a range query ending now. */
export async function queryPrometheus(url: string, expr: string, rangeSeconds?: number): Promise<QueryResult> {
  const now = Date.now() / 1000;
  const params = new URLSearchParams({ query: expr });
  let path = "/api/v1/query";
  if (rangeSeconds) {
    path = "/api/v1/query_range";
    params.set("start", String(now - rangeSeconds));
    params.set("end", String(now));
    params.set("step", "1");
  }
  const r = await fetch(`${url}${path}?${params}`);
  return (await r.json()) as QueryResult;
}

export function dataDirOf(setupDir: string): string {
  return join(setupDir, "data");
}
