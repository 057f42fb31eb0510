// Test helper: real fleet-node processes on loopback (distinct UDP ports, --peer lists, HTTP on
// free ports, JSON logs collected), and their HTTP API. Used by the e2e tests and bench/node.

import { spawn } from "node:child_process";
import { join } from "node:path";
import { JsonProcess } from "./procs.js";
import { fleetNodeEntry, freePorts } from "../../node/src/node/local-fleet.js";

/** The compiled fleet-node entry of this build (FLEET_NODE_ENTRY points elsewhere). */
export const nodeEntry = fleetNodeEntry;
export const freeTcpPorts = (n: number): Promise<number[]> => freePorts("tcp", n);

export interface NodeSpec {
  id: string; udp: number; http: number; stateDir: string; peers: number[]; extra?: string[]; env?: Record<string, string>;
  /** The whole command line after the entry, instead of the one built from the fields (the --help examples as printed). */
  argv?: string[];
  cwd?: string;
}

export class NodeProc extends JsonProcess {
  constructor(readonly spec: NodeSpec, entry = nodeEntry()) {
    super(spec.id, spawn(process.execPath, [entry, ...(spec.argv ?? [spec.id, "--port", String(spec.udp), "--bind", "127.0.0.1",
      ...spec.peers.flatMap((p) => ["--peer", `127.0.0.1:${p}`]), "--http", `127.0.0.1:${spec.http}`,
      "--state-dir", spec.stateDir, "--log-format", "json", ...(spec.extra ?? [])])],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...spec.env }, cwd: spec.cwd }));
  }
  get url(): string { return `http://127.0.0.1:${this.spec.http}`; }

  async get<T = Record<string, unknown>>(path: string): Promise<T> {
    const r = await fetch(this.url + path, { signal: AbortSignal.timeout(30_000) });
    const body = await r.json() as T;
    if (!r.ok) throw new Error(`${this.name} GET ${path}: HTTP ${r.status} ${JSON.stringify(body)}`);
    return body;
  }
  async post<T = Record<string, unknown>>(path: string, body: unknown): Promise<T> {
    const r = await fetch(this.url + path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(120_000) });
    const out = await r.json() as T;
    if (!r.ok) throw new Error(`${this.name} POST ${path}: HTTP ${r.status} ${JSON.stringify(out)}`);
    return out;
  }
  /** Polls /ready until 200; fails with the node's output if it exits or takes longer than timeoutMs. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before ready\n${this.tail()}`);
      try {
        const r = await fetch(this.url + "/ready", { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return;
      } catch { /* not listening yet */ }
      if (Date.now() > end) throw new Error(`${this.name} not ready within ${timeoutMs} ms\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  status(): Promise<NodeStatusBody> { return this.get<NodeStatusBody>("/status"); }
  /** SIGKILL, no chance to clean up. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGKILL");
    await exited;
  }
}

export interface NodeStatusBody {
  id: string; fingerprint: string; digest: string; version: string | null;
  applied: Array<{ version: string; from: string; at: number }>;
  peers: Array<{ id: string }>; transfers: unknown[]; counters: Record<string, unknown>;
  stateProblems: string[];
}

/** n node specs on loopback, each peered with all others, state under root/<id>. */
export async function fleetSpecs(n: number, root: string, prefix = "Pi-"): Promise<NodeSpec[]> {
  const udp = await freePorts("udp", n);
  const http = await freePorts("tcp", n);
  return udp.map((u, i) => ({ id: `${prefix}${i + 1}`, udp: u, http: http[i]!, stateDir: join(root, `${prefix}${i + 1}`), peers: udp.filter((_, j) => j !== i) }));
}

export { until } from "./until.js";
