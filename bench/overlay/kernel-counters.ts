// What the kernel says about a run: UDP counters from /proc/net/snmp (datagrams dropped because a
// socket's receive buffer was full), and system calls of a running process counted by strace,
// attached by pid for just the window measured (start-up would swamp a 2 MB transfer's figures).

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

export interface UdpCounters { inDatagrams: number; rcvbufErrors: number; inErrors: number }

/** This network namespace's UDP counters (every socket in it, so a busy neighbour shows up too). */
export function udpCounters(): UdpCounters {
  const lines = readFileSync("/proc/net/snmp", "utf8").split("\n").filter((l) => l.startsWith("Udp:"));
  const keys = lines[0]!.split(/\s+/).slice(1);
  const vals = lines[1]!.split(/\s+/).slice(1).map(Number);
  const get = (k: string): number => vals[keys.indexOf(k)] ?? NaN;
  return { inDatagrams: get("InDatagrams"), rcvbufErrors: get("RcvbufErrors"), inErrors: get("InErrors") };
}

export function hasStrace(): boolean {
  return spawnSync("strace", ["-V"], { stdio: "ignore" }).status === 0;
}

export interface SyscallCounts { total: number; bySyscall: Map<string, number> }

/** `strace -c -f -p pid` from now until stop(): every thread of the process (libuv's pool too). */
export class StraceWindow {
  private constructor(private readonly proc: ChildProcess, private readonly out: string) {}

  static async attach(pid: number, out: string): Promise<StraceWindow> {
    const proc = spawn("strace", ["-c", "-f", "-p", String(pid), "-o", out], { stdio: ["ignore", "ignore", "pipe"] });
    // strace says "Process N attached" once it holds the threads: only then does the window open.
    await new Promise<void>((resolve, reject) => {
      let err = "";
      proc.stderr!.on("data", (d: Buffer) => { err += d.toString(); if (/attached/.test(err)) resolve(); });
      proc.once("exit", (c) => reject(new Error(`strace exited ${c}: ${err.trim()}`)));
    });
    return new StraceWindow(proc, out);
  }

  async stop(): Promise<SyscallCounts> {
    const done = new Promise<void>((r) => this.proc.once("exit", () => r()));
    this.proc.kill("SIGINT");
    await done;
    return parseStraceSummary(readFileSync(this.out, "utf8"));
  }
}

/** The `-c` table: "% time seconds usecs/call calls [errors] syscall" rows, then "total". */
export function parseStraceSummary(text: string): SyscallCounts {
  const bySyscall = new Map<string, number>();
  let total = 0;
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^[\d.]+$/.test(f[0]!)) continue;
    const name = f[f.length - 1]!;
    const calls = Number(f[3]);
    if (name === "total") total = calls;
    else bySyscall.set(name, calls);
  }
  return { total, bySyscall };
}
