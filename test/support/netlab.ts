// A throw-away LAN of network namespaces for overlay tests and benchmarks (needs root).
//
//   host ns "<tag>-h<i>":  eth0 10.99.0.<i+1>/24  ──veth──  p<i>  ┐
//                                                             br0  (in its own ns "<tag>-br")
// Every link is rate limited in both directions with tbf (netem does not exist in the CI kernel);
// loss is injected at a receiver with an iptables `statistic` DROP rule in its INPUT chain, so
// broadcast and unicast datagrams are lost alike, after they crossed the wire. The bridge lives in
// its own namespace and nothing touches the root namespace, so parallel LANs (same addresses) never
// clash. Namespace names carry the creating pid: `cleanupStaleLans()` removes those whose creator
// died, and every LAN is removed on close() and at process exit.

import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

export const LAN_SUBNET_PREFIX = "10.99.0";        // private /24, the same in every LAN (isolated)
export const LAN_BROADCAST = `${LAN_SUBNET_PREFIX}.255`;
export const DEFAULT_RATE_MBIT = 100;
const TBF_BURST_BYTES = 32 * 1024;                  // ≥ rate/HZ at 100 Mbit/s for any HZ ≥ 100
const TBF_LATENCY_MS = 50;                          // queue bound; UDP sockets block before it fills
const NS_PATTERN = /^nl([0-9a-z]+)x[0-9a-f]+-(?:br|h\d+)$/;

export interface LanOptions {
  hosts: number;
  /** Link rate of every host's port, both directions (tbf); 0 for unlimited. */
  rateMbit?: number;
}

export interface LanHost {
  index: number;
  ns: string;
  ip: string;
  ifname: "eth0";
}

export interface IfaceCounters {
  txBytes: number;
  txPackets: number;
  rxBytes: number;
  rxPackets: number;
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run("ip", args);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`netlab: ip ${args.join(" ")} failed: ${(err.stderr || err.message).trim()} ` +
      `(needs root, iproute2 and a kernel with veth/bridge/netns)`);
  }
}

async function nsExec(ns: string, cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run("ip", ["netns", "exec", ns, cmd, ...args]);
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`netlab: in ${ns}: ${cmd} ${args.join(" ")} failed: ${(err.stderr || err.message).trim()}`);
  }
}

function listNamespaces(): string[] {
  const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  return out.split("\n").map((l) => l.split(" ")[0]!).filter(Boolean);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes the namespaces of LANs whose creating process is gone (a crashed run). Returns them. */
export function cleanupStaleLans(): string[] {
  const stale = listNamespaces().filter((ns) => {
    const m = NS_PATTERN.exec(ns);
    return m !== null && !alive(parseInt(m[1]!, 36));
  });
  for (const ns of stale) deleteNs(ns);
  return stale;
}

function deleteNs(ns: string): void {
  // Processes left inside (a crashed run's agents) would keep the namespace alive unseen.
  try {
    const pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split("\n").filter(Boolean);
    for (const pid of pids) {
      try { process.kill(Number(pid), "SIGKILL"); } catch { /* gone already */ }
    }
  } catch {
    // no such namespace
  }
  try {
    execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  } catch {
    // already gone
  }
}

const openLans = new Set<Lan>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const lan of openLans) lan.closeSync();
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      for (const lan of openLans) lan.closeSync();
      process.kill(process.pid, sig);
    });
  }
}

export class Lan {
  readonly tag: string;
  readonly hosts: LanHost[];
  readonly bridgeNs: string;
  readonly broadcast = LAN_BROADCAST;
  readonly rateMbit: number;
  private readonly children = new Set<ChildProcess>();
  private closed = false;

  private constructor(tag: string, hosts: LanHost[], rateMbit: number) {
    this.tag = tag;
    this.hosts = hosts;
    this.bridgeNs = `${tag}-br`;
    this.rateMbit = rateMbit;
  }

  /** Builds the LAN; on any failure removes what it built and rethrows. */
  static async create(opts: LanOptions): Promise<Lan> {
    if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > 200) {
      throw new Error(`netlab: hosts must be an integer in 1..200, got ${opts.hosts}`);
    }
    cleanupStaleLans();
    installExitHook();
    const tag = `nl${process.pid.toString(36)}x${randomBytes(3).toString("hex")}`;
    const hosts: LanHost[] = Array.from({ length: opts.hosts }, (_, i) => ({
      index: i, ns: `${tag}-h${i}`, ip: `${LAN_SUBNET_PREFIX}.${i + 1}`, ifname: "eth0" as const,
    }));
    const lan = new Lan(tag, hosts, opts.rateMbit ?? DEFAULT_RATE_MBIT);
    openLans.add(lan);
    try {
      await lan.build();
    } catch (e) {
      lan.closeSync();
      throw e;
    }
    return lan;
  }

  private async build(): Promise<void> {
    const br = this.bridgeNs;
    await ip("netns", "add", br);
    await ip("-n", br, "link", "add", "br0", "type", "bridge");
    await ip("-n", br, "link", "set", "br0", "up");
    for (const h of this.hosts) {
      await ip("netns", "add", h.ns);
      await ip("link", "add", h.ifname, "netns", h.ns, "type", "veth", "peer", "name", `p${h.index}`, "netns", br);
      await ip("-n", br, "link", "set", `p${h.index}`, "master", "br0");
      await ip("-n", br, "link", "set", `p${h.index}`, "up");
      await ip("-n", h.ns, "link", "set", "lo", "up");
      await ip("-n", h.ns, "addr", "add", `${h.ip}/24`, "broadcast", LAN_BROADCAST, "dev", h.ifname);
      await ip("-n", h.ns, "link", "set", h.ifname, "up");
      // Multicast (UFTP's default transport in the bench) needs a route out of eth0.
      await ip("-n", h.ns, "route", "add", "224.0.0.0/4", "dev", h.ifname);
      if (this.rateMbit > 0) {
        await this.tbf(h.ns, h.ifname);          // host → switch
        await this.tbf(br, `p${h.index}`);       // switch → host
      }
    }
  }

  private async tbf(ns: string, dev: string): Promise<void> {
    await nsExec(ns, "tc", ["qdisc", "replace", "dev", dev, "root", "tbf", "rate", `${this.rateMbit}mbit`,
      "burst", String(TBF_BURST_BYTES), "latency", `${TBF_LATENCY_MS}ms`]);
  }

  host(i: number): LanHost {
    const h = this.hosts[i];
    if (!h) throw new Error(`netlab: no host ${i} (LAN has ${this.hosts.length})`);
    return h;
  }

  /** Drops a random fraction p of every datagram arriving at host i (0 removes the rule). */
  async setLoss(i: number, p: number): Promise<void> {
    if (!(p >= 0 && p < 1)) throw new Error(`netlab: loss must be in [0, 1), got ${p}`);
    const ns = this.host(i).ns;
    await nsExec(ns, "iptables", ["-F", "INPUT"]);
    if (p > 0) {
      await nsExec(ns, "iptables", ["-A", "INPUT", "-p", "udp", "-m", "statistic", "--mode", "random",
        "--probability", String(p), "-j", "DROP"]);
    }
  }

  /** Packets dropped so far by host i's loss rule. */
  async dropped(i: number): Promise<number> {
    const out = await nsExec(this.host(i).ns, "iptables", ["-L", "INPUT", "-v", "-n", "-x"]);
    const line = out.split("\n").find((l) => l.includes("DROP"));
    return line ? Number(line.trim().split(/\s+/)[0]) : 0;
  }

  /** Interface counters of host i's eth0 (bytes include the 14-byte Ethernet header). */
  async counters(i: number): Promise<IfaceCounters> {
    const h = this.host(i);
    const { stdout } = await run("ip", ["-n", h.ns, "-s", "-j", "link", "show", "dev", h.ifname]);
    const s = (JSON.parse(stdout) as Array<{ stats64: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } } }>)[0]!.stats64;
    return { txBytes: s.tx.bytes, txPackets: s.tx.packets, rxBytes: s.rx.bytes, rxPackets: s.rx.packets };
  }

  /** Starts `cmd args` inside host i's namespace; killed on close(). */
  spawn(i: number, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    if (this.closed) throw new Error("netlab: spawn on a closed LAN");
    const child = spawn("ip", ["netns", "exec", this.host(i).ns, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"], ...opts });
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    return child;
  }

  /** Runs `cmd args` inside host i's namespace to completion; returns stdout. */
  exec(i: number, cmd: string, args: string[]): Promise<string> {
    return nsExec(this.host(i).ns, cmd, args);
  }

  async close(): Promise<void> {
    const waits = [...this.children].map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      const t = setTimeout(() => { c.kill("SIGKILL"); }, 2000);
      c.once("exit", () => { clearTimeout(t); resolve(); });
      c.kill("SIGTERM");
    }));
    await Promise.all(waits);
    this.closeSync();
  }

  /** Synchronous teardown for exit hooks: kills children, deletes every namespace of this LAN. */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    openLans.delete(this);
    for (const c of this.children) c.kill("SIGKILL");
    for (const h of this.hosts) deleteNs(h.ns);
    deleteNs(this.bridgeNs);
  }
}

// `node netlab.js cleanup`: removes namespaces left by crashed runs.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href && process.argv[2] === "cleanup") {
  const gone = cleanupStaleLans();
  console.log(JSON.stringify({ removed: gone }));
}
