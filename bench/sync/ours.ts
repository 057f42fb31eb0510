// DeltaFleet's overlay agent (test/support/overlay-agent.ts) on every host, broadcasting on the LAN.

import { evName, startAgent, type Event } from "../../test/support/procs.js";
import { measureJson, type TrialResult, type TrialSpec } from "./trial.js";

const PORT = 5000;
/** Agent flags that make a just-started sender frame chunks as a long-running node does. */
export const STEADY_STATE = ["--timing", "binaryAfterMs=0"];
/**
 * Every agent leaves out its per-NAK event lines (the agent's --quiet): the bench reads none of them,
 * and on 2 cores printing and parsing them took CPU from the transfer; UFTP runs at its default log
 * level, which logs per file, not per NAK.
 */
export const QUIET = ["--quiet"];

export interface OursOptions {
  dialect?: "v1" | "sprint62";
  /** Sender pacing, bytes/s (the agent's --rate); undefined keeps the agent's default. */
  rate?: number;
  /** More agent flags, e.g. ["--timing", "nakQuietMs=30"] to try other defaults. */
  extra?: string[];
}

/** The agent's events (test/support/overlay-agent.ts): META went out / a verified delta arrived. */
export function isAnnounce(e: Event): boolean {
  return evName(e) === "announced";
}

export function isComplete(e: Event, sha: string): boolean {
  return evName(e) === "delta-received" && e.sha256 === sha;
}

export function runOurs(spec: TrialSpec, opts: OursOptions = {}): Promise<TrialResult> {
  const { lan } = spec;
  const common = { port: PORT, bind: "0.0.0.0", broadcast: lan.broadcast, dialect: opts.dialect, rate: opts.rate, extra: opts.extra };
  return measureJson(spec, {
    receiver: (s, i, out) => startAgent({ ...common, id: `r${i}`, out, extra: [...QUIET, ...(common.extra ?? [])] }, (c, a) => lan.spawn(i, c, a)),
    ready: (p) => p.waitEv("ready", () => true, 10_000),
    // A node teaches after it has been up for a while, so it has long passed binaryAfterMs (11 s of
    // listening for course nodes before binary frames) — a freshly started agent has not, and would
    // measure the course's base64 text instead (1.33x the bytes). No course node is on this LAN.
    sender: (s) => startAgent({ ...common, id: "s0", send: s.file, extra: [...STEADY_STATE, ...QUIET, ...(common.extra ?? [])] }, (c, a) => lan.spawn(0, c, a)),
    isAnnounce,
    isComplete,
    // The agents' own timestamps, as UFTP's are its own log timestamps: "announced" is stamped just
    // before the first META goes out, "delta-received" once the verified file is on disk. When the
    // bench read the line says more about a loaded 2-core box's scheduling of this process.
    timeOf: (e) => e.t as number,
  });
}
