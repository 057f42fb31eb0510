// A fleet of fleet-node processes on this machine: loopback, distinct UDP ports, each node given
// the others as --peer, HTTP on free ports, JSON logs parsed line by line for whoever watches
// (`fleetctl demo`, bench/node). Nothing here is test-only: the demo is what a new user runs first.

import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { EventEmitter } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The compiled fleet-node entry of this build (dist/node/src/cli/main.js); FLEET_NODE_ENTRY overrides. */
export function fleetNodeEntry(): string {
  return process.env.FLEET_NODE_ENTRY ?? fileURLToPath(new URL("../cli/main.js", import.meta.url));
}

export type LogEvent = Record<string, unknown> & { ev?: string; msg?: string };

export interface LocalNode {
  id: string;
  udpPort: number;
  httpPort: number;
  stateDir: string;
  url: string;
  proc: ChildProcess;
  /** Last lines of stderr and non-JSON stdout, for error messages. */
  tail: string[];
}

export interface LocalFleetOptions {
  count: number;
  /** Folder holding each node's state folder. */
  root: string;
  idPrefix?: string;
  entry?: string;
  /** More flags for every node (e.g. --log-level debug). */
  extraArgs?: string[];
  env?: Record<string, string>;
}

export class LocalFleet extends EventEmitter<{ log: [LocalNode, LogEvent]; exit: [LocalNode, number | null, string | null] }> {
  private constructor(readonly nodes: LocalNode[]) { super(); }

  static async start(o: LocalFleetOptions): Promise<LocalFleet> {
    const udp = await freePorts("udp", o.count);
    const http = await freePorts("tcp", o.count);
    const entry = o.entry ?? fleetNodeEntry();
    const nodes: LocalNode[] = [];
    const fleet = new LocalFleet(nodes);
    for (let i = 0; i < o.count; i++) {
      const id = `${o.idPrefix ?? "Pi-"}${i + 1}`;
      const stateDir = join(o.root, id);
      const args = [entry, id, "--port", String(udp[i]), "--bind", "127.0.0.1",
        ...udp.filter((_, j) => j !== i).flatMap((p) => ["--peer", `127.0.0.1:${p}`]),
        "--http", `127.0.0.1:${http[i]}`, "--state-dir", stateDir, "--log-format", "json", ...(o.extraArgs ?? [])];
      const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...o.env } });
      const node: LocalNode = { id, udpPort: udp[i]!, httpPort: http[i]!, stateDir, url: `http://127.0.0.1:${http[i]}`, proc, tail: [] };
      const keep = (line: string): void => { node.tail.push(line); if (node.tail.length > 30) node.tail.shift(); };
      lines(proc.stdout!, (line) => {
        let e: unknown;
        try { e = JSON.parse(line); } catch { keep(line); return; }
        if (e && typeof e === "object") fleet.emit("log", node, e as LogEvent);
      });
      lines(proc.stderr!, keep);
      proc.once("exit", (code, sig) => fleet.emit("exit", node, code, sig));
      nodes.push(node);
    }
    return fleet;
  }

  /** SIGTERM to all, SIGKILL after graceMs to any still running. */
  async stop(graceMs = 5_000): Promise<void> {
    await Promise.all(this.nodes.map((n) => stopProcess(n.proc, graceMs)));
  }
}

export async function stopProcess(p: ChildProcess, graceMs: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(t);
}

function lines(stream: NodeJS.ReadableStream, onLine: (l: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (s: string) => {
    rest += s;
    let i: number;
    while ((i = rest.indexOf("\n")) >= 0) {
      const l = rest.slice(0, i).trim();
      rest = rest.slice(i + 1);
      if (l) onLine(l);
    }
  });
}

/** n ports that were free a moment ago (bound to 0, read, closed). */
export async function freePorts(kind: "udp" | "tcp", n: number): Promise<number[]> {
  const open = (): Promise<{ port: number; close: () => Promise<void> }> => new Promise((resolve, reject) => {
    if (kind === "udp") {
      const s = createSocket("udp4");
      s.once("error", reject);
      s.bind(0, "127.0.0.1", () => resolve({ port: s.address().port, close: () => new Promise((r) => s.close(() => r())) }));
    } else {
      const s = createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => resolve({ port: (s.address() as AddressInfo).port, close: () => new Promise((r) => s.close(() => r())) }));
    }
  });
  const held = await Promise.all(Array.from({ length: n }, open));
  await Promise.all(held.map((h) => h.close()));
  return held.map((h) => h.port);
}
