// Test-side handles on the two real processes the interop, LAN and bench code drive: the Python
// course peer (test/course-peer/course_peer.py) and our overlay agent (test/support/overlay-agent.ts).
// Both print one JSON object per line on stdout; a JsonProcess keeps them and lets a test wait for
// one that matches, failing with the process's recent output when it does not come.

import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { readdir, readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { repoRoot } from "./paths.js";

export type Event = Record<string, unknown> & { ev?: string; event?: string; type?: string; msg?: string };

/** Name of an event whatever key the emitter uses for it (`ev`, `event`, pino's `msg`). */
export function evName(e: Event): string {
  return String(e.ev ?? e.event ?? e.msg ?? e.type ?? "");
}

const arrivals = new WeakMap<Event, number>();

/** Wall-clock ms (sub-ms precision) at which this process's line reached us. */
export function arrivedAt(e: Event): number {
  const t = arrivals.get(e);
  if (t === undefined) throw new Error("arrivedAt: event did not come from a JsonProcess");
  return t;
}

export class JsonProcess {
  readonly events: Event[] = [];
  readonly stderr: string[] = [];
  private waiters: Array<() => void> = [];
  private exited: Promise<number | null>;

  constructor(readonly name: string, readonly child: ChildProcess) {
    let buf = "";
    child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let e: Event;
        try {
          const v: unknown = JSON.parse(line);
          e = v !== null && typeof v === "object" && !Array.isArray(v) ? v as Event : { ev: "non_json", line };
        } catch {
          e = { ev: "non_json", line };
        }
        arrivals.set(e, performance.timeOrigin + performance.now());
        this.events.push(e);
      }
      this.wake();
    });
    child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      this.stderr.push(s);
      if (this.stderr.length > 200) this.stderr.shift();
    });
    this.exited = new Promise((resolve) => child.once("exit", (code) => { this.wake(); resolve(code); }));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first event (from the start) that matches; rejects after timeoutMs or when the process exits. */
  async waitFor(what: string, pred: (e: Event) => boolean, timeoutMs: number): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  waitEv(name: string, pred: (e: Event) => boolean = () => true, timeoutMs = 20_000): Promise<Event> {
    return this.waitFor(`event "${name}"`, (e) => evName(e) === name && pred(e), timeoutMs);
  }

  count(name: string, pred: (e: Event) => boolean = () => true): number {
    return this.events.filter((e) => evName(e) === name && pred(e)).length;
  }

  tail(n = 15): string {
    const ev = this.events.slice(-n).map((e) => JSON.stringify(e).slice(0, 300));
    return `--- last events of ${this.name}:\n${ev.join("\n")}\n--- stderr:\n${this.stderr.join("").slice(-2000)}`;
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code. */
  async stop(graceMs = 3000): Promise<number | null> {
    if (this.running) {
      this.child.kill("SIGTERM");
      const t = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
      const code = await this.exited;
      clearTimeout(t);
      return code;
    }
    return this.exited;
  }
}

export const COURSE_PEER = (): string => join(repoRoot(), "test", "course-peer", "course_peer.py");
/** The compiled overlay agent beside this build's interop folder. */
export const AGENT_JS = (): string => fileURLToPath(new URL("./overlay-agent.js", import.meta.url));

/** Python for the course peer: stdlib only, so any python3 does. */
export const PYTHON = process.env.FLEET_PYTHON ?? "python3";

export interface Spawner {
  (cmd: string, args: string[]): ChildProcess;
}

export const localSpawner: Spawner = (cmd, args) => spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });

export interface CoursePeerOptions {
  id: string;
  port: number;
  bind?: string;
  broadcast?: string;
  peers?: string[];
  dialect?: "v1" | "sprint62";
  out?: string;
  send?: string;
  ver?: string;
  sendAfterS?: number;
  noCache?: boolean;
  dropIdx?: number[];
  dropFrac?: number;
  seed?: number;
  /** Fast NAK timings for tests: quiet and check interval in seconds. */
  nakQuietS?: number;
  nakCheckS?: number;
  syncEveryS?: number;
  s62ChunkGapS?: number;
  s62MetaWaitS?: number;
  extra?: string[];
}

/** The flags the course peer and our agent share, then whatever `more` adds; `extra` goes last. */
function peerArgs(script: string, o: CommonPeerOptions, more: (opt: (flag: string, v: unknown) => void, a: string[]) => void): string[] {
  const a = [script, "--id", o.id, "--port", String(o.port)];
  const opt = (flag: string, v: unknown): void => { if (v !== undefined) a.push(flag, String(v)); };
  opt("--bind", o.bind);
  opt("--broadcast", o.broadcast);
  for (const p of o.peers ?? []) a.push("--peer", p);
  opt("--dialect", o.dialect);
  more(opt, a);
  opt("--out", o.out);
  opt("--send", o.send);
  a.push(...(o.extra ?? []));
  return a;
}

interface CommonPeerOptions { id: string; port: number; bind?: string; broadcast?: string; peers?: string[]; dialect?: string; out?: string; send?: string; extra?: string[] }

export function coursePeerArgs(o: CoursePeerOptions): string[] {
  return peerArgs(COURSE_PEER(), o, (opt, a) => {
    opt("--ver", o.ver);
    opt("--send-after", o.sendAfterS);
    if (o.noCache) a.push("--no-cache");
    if (o.dropIdx?.length) a.push("--drop-idx", o.dropIdx.join(","));
    opt("--drop-frac", o.dropFrac);
    opt("--seed", o.seed);
    opt("--nak-quiet", o.nakQuietS);
    opt("--nak-check", o.nakCheckS);
    opt("--sync-every", o.syncEveryS);
    opt("--s62-chunk-gap", o.s62ChunkGapS);
    opt("--s62-meta-wait", o.s62MetaWaitS);
  });
}

export function startCoursePeer(o: CoursePeerOptions, spawner: Spawner = localSpawner): JsonProcess {
  return new JsonProcess(`course-peer ${o.id}`, spawner(PYTHON, coursePeerArgs(o)));
}

export interface AgentOptions {
  id: string;
  port: number;
  bind?: string;
  broadcast?: string;
  peers?: string[];
  dialect?: "v1" | "sprint62";
  /** bytes/s */
  rate?: number;
  out?: string;
  send?: string;
  extra?: string[];
}

export function agentArgs(o: AgentOptions): string[] {
  return peerArgs(AGENT_JS(), o, (opt) => opt("--rate", o.rate));
}

export function startAgent(o: AgentOptions, spawner: Spawner = localSpawner): JsonProcess {
  return new JsonProcess(`agent ${o.id}`, spawner(process.execPath, agentArgs(o)));
}

/** n distinct UDP ports that were free a moment ago on addr (bind to 0, read, close). */
export async function freeUdpPorts(n: number, addr = "127.0.0.1"): Promise<number[]> {
  const socks = await Promise.all(Array.from({ length: n }, () => new Promise<Socket>((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, addr, () => resolve(s));
  })));
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Waits until a file with the given sha256 lies in dir (the agent's --out names files its own way,
 * the bytes are what matters). Resolves with its path; rejects with what the dir holds on timeout.
 */
export async function waitForFile(dir: string, sha: string, timeoutMs: number, proc?: JsonProcess): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Map<string, string>();   // name -> sha of files already read, by size+mtime key
  for (;;) {
    let names: string[] = [];
    try { names = await readdir(dir); } catch { /* not created yet */ }
    for (const name of names) {
      if (name.endsWith(".tmp") || name.startsWith(".")) continue;
      const p = join(dir, name);
      try {
        const st = await stat(p);
        if (!st.isFile()) continue;
        const key = `${name}:${st.size}:${st.mtimeMs}`;
        if (!seen.has(key)) seen.set(key, sha256(await readFile(p)));
        if (seen.get(key) === sha) return p;
      } catch { /* being renamed */ }
    }
    if (Date.now() > deadline || (proc && !proc.running)) {
      throw new Error(`no file with sha256 ${sha.slice(0, 12)}… in ${dir} within ${timeoutMs} ms; holds ${[...seen.keys()].join(", ") || "nothing"}` +
        (proc ? "\n" + proc.tail() : ""));
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
