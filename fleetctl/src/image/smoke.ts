// `fleetctl image smoke`: the node image run for real (under qemu for a foreign architecture): it
// starts, answers /health, becomes ready, generates an answer with ONNX Runtime, serves metrics,
// and Docker's own HEALTHCHECK calls it healthy. Traffic stays on loopback.

import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FleetError } from "../errors.js";
import type { PresetName } from "../../../node/src/model/default-model.js";
import { nativeArch, type Arch } from "./arch.js";
import { docker, dockerOk, imageArch, requireEngine } from "../docker.js";
import { raspberryPiCpuinfo } from "./emulated-cpuinfo.js";
import { waitUntil } from "../wait.js";

/** How long a smoke run may take when nobody says otherwise: enough for a start under qemu. */
export const SMOKE_TIMEOUT_S = 300;

export interface SmokeOptions {
  image: string;
  arch: Arch;
  /** The model the node runs (FLEET_PRESET); presets other than the default are made at its first start. */
  preset?: PresetName;
  timeoutMs: number;
  onStep?: (line: string) => void;
}

export interface SmokeResult {
  image: string;
  arch: Arch;
  preset: PresetName;
  /** Milliseconds from `docker run` to each milestone. */
  healthMs: number;
  readyMs: number;
  healthyMs: number;
  askMs: number;
  answer: string;
  fingerprint: string;
  metricFamilies: number;
}

export async function smokeImage(o: SmokeOptions): Promise<SmokeResult> {
  const step = o.onStep ?? (() => {});
  const preset = o.preset ?? "tiny-gpt2";
  await requireEngine();
  const arch = await imageArch(o.image);
  if (arch === undefined) throw new FleetError("IMAGE_FAILED", `there is no image ${o.image}`, { suggestion: `fleetctl image build --arch ${o.arch}` });
  if (arch !== o.arch) throw new FleetError("IMAGE_FAILED", `${o.image} is built for ${arch}, not ${o.arch}`, { suggestion: `fleetctl image build --arch ${o.arch}` });

  const [http, udp] = [await freeTcpPort(), await freeUdpPort()];
  const name = `deltafleet-smoke-${o.arch}-${process.pid}`;
  const t0 = Date.now();
  const deadline = t0 + o.timeoutMs;
  const emulated = o.arch !== nativeArch();
  const scratch = emulated ? mkdtempSync(join(tmpdir(), "deltafleet-smoke-")) : undefined;
  const cpuinfo = scratch && join(scratch, "cpuinfo");
  if (cpuinfo) writeFileSync(cpuinfo, raspberryPiCpuinfo());
  step(`starting ${o.image} (${preset}) as ${name} (HTTP 127.0.0.1:${http}, UDP ${udp}${emulated ? ", under qemu with a Pi 4's /proc/cpuinfo" : ""})`);
  try {
    await dockerOk([
      "run", "--detach", "--name", name, "--platform", `linux/${o.arch}`, "--network", "host",
      ...(cpuinfo ? ["--volume", `${cpuinfo}:/proc/cpuinfo:ro`] : []),
      "--env", `FLEET_NODE_ID=smoke-${o.arch}`, "--env", `FLEET_HTTP=127.0.0.1:${http}`, "--env", `FLEET_PORT=${udp}`,
      "--env", "FLEET_BIND=127.0.0.1", "--env", "FLEET_BROADCAST=127.255.255.255", "--env", `FLEET_PRESET=${preset}`,
      o.image,
    ], `starting the ${o.arch} node`, { code: "IMAGE_FAILED" });
    const base = `http://127.0.0.1:${http}`;
    const healthMs = await until(deadline, "/health", async () => (await get(`${base}/health`)).ok, name) - t0;
    step(`/health answered after ${healthMs} ms`);
    const readyMs = await until(deadline, "/ready", async () => (await get(`${base}/ready`)).ok, name) - t0;
    step(`/ready after ${readyMs} ms`);
    const a0 = Date.now();
    const asked = await fetch(`${base}/ask`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ question: "What is 2+2" }), signal: AbortSignal.timeout(120_000) });
    const ask = (await asked.json()) as { answer?: unknown; raw?: unknown };
    const askMs = Date.now() - a0;
    if (!asked.ok || typeof ask.answer !== "string" || typeof ask.raw !== "string" || ask.raw.length === 0) {
      throw new FleetError("IMAGE_FAILED", `POST /ask did not generate an answer (HTTP ${asked.status}: ${JSON.stringify(ask).slice(0, 200)})`);
    }
    step(`/ask answered ${JSON.stringify(ask.answer)} in ${askMs} ms`);
    const status = (await (await get(`${base}/status`)).json()) as { fingerprint?: string };
    const metrics = await (await get(`${base}/metrics`)).text();
    const families = new Set([...metrics.matchAll(/^# TYPE (fleet_\w+)/gm)].map((m) => m[1]));
    if (families.size === 0) throw new FleetError("IMAGE_FAILED", "GET /metrics has no fleet_ metrics");
    const healthyMs = await until(deadline, "Docker's HEALTHCHECK to report healthy", async () =>
      (await dockerOk(["inspect", "--format", "{{.State.Health.Status}}", name], "reading the health status", { code: "IMAGE_FAILED" })) === "healthy", name) - t0;
    step(`Docker reports it healthy after ${healthyMs} ms`);
    return { image: o.image, arch: o.arch, preset, healthMs, readyMs, healthyMs, askMs, answer: ask.answer, fingerprint: status.fingerprint ?? "", metricFamilies: families.size };
  } finally {
    await docker(["rm", "--force", "--volumes", name], { timeoutMs: 60_000 });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

async function get(url: string): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(10_000) });
}

/** When probe first says true; a container that died ends the wait with its log. */
async function until(deadline: number, what: string, probe: () => Promise<boolean>, container: string): Promise<number> {
  const gone = async (): Promise<string | undefined> => {
    const state = await docker(["inspect", "--format", "{{.State.Status}}", container], { timeoutMs: 30_000 });
    return state.exitCode !== 0 || state.stdout.trim() === "exited" ? "stopped" : undefined;
  };
  const r = await waitUntil(probe, { deadline, everyMs: 500, abandon: gone });
  if (r.done) return r.at;
  if (r.abandoned) throw new FleetError("IMAGE_FAILED", `the node container stopped before ${what}${await logTail(container)}`);
  throw new FleetError("IMAGE_FAILED", `no ${what} in time${await logTail(container)}`, { suggestion: "a larger --timeout for images under emulation" });
}

async function logTail(container: string): Promise<string> {
  const r = await docker(["logs", "--tail", "20", container], { timeoutMs: 30_000 }).catch(() => undefined);
  const text = r ? `${r.stdout}\n${r.stderr}`.trim() : "";
  return text ? `; its last log lines:\n${text}` : "";
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.on("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}
