// One measured delivery on the namespace LAN: host 0 sends `file`, hosts 1..n receive it.
// Every system (ours, UFTP, the course's Python node) is measured the same way: from the sender's
// first announcement (MODEL_META / ANNOUNCE) to the moment the last receiver reports the verified
// file, and the bytes host 0's interface transmitted meanwhile (Ethernet headers included).

import type { Lan } from "../../test/support/netlab.js";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { arrivedAt, waitForFile, type Event, type JsonProcess } from "../../test/support/procs.js";

export interface TrialSpec {
  lan: Lan;
  /** Receivers are hosts 1..n. */
  n: number;
  file: string;
  bytes: number;
  sha256: string;
  /** Scratch folder for this trial (receivers write below it). */
  dir: string;
  timeoutMs: number;
}

export interface TrialResult {
  ok: boolean;
  /** First announcement → last receiver verified, ms. */
  ms: number;
  /** Bytes host 0 put on the wire from just before the sender started until all were done. */
  txBytes: number;
  /** Why it failed, or notes (repairs, NAKs). */
  note: string;
}

export type System = (spec: TrialSpec) => Promise<TrialResult>;

export function failed(note: string): TrialResult {
  return { ok: false, ms: NaN, txBytes: NaN, note };
}

export interface JsonSystem {
  /** Starts the receiver on host i (1..n) writing verified files to outDir. */
  receiver(spec: TrialSpec, i: number, outDir: string): JsonProcess;
  /** Resolves once a started receiver listens. */
  ready(p: JsonProcess): Promise<unknown>;
  sender(spec: TrialSpec): JsonProcess;
  isAnnounce(e: Event): boolean;
  isComplete(e: Event, sha256: string): boolean;
  /** Wall-clock ms of an event: its own timestamp if it carries one, else when its line arrived. */
  timeOf?(e: Event): number;
}

/** Measures a system whose processes print JSON events (ours, the course peer). */
export async function measureJson(spec: TrialSpec, sys: JsonSystem): Promise<TrialResult> {
  const { lan, n } = spec;
  const time = sys.timeOf ?? arrivedAt;
  const receivers: JsonProcess[] = [];
  let sender: JsonProcess | undefined;
  try {
    for (let i = 1; i <= n; i++) receivers.push(sys.receiver(spec, i, `${spec.dir}/r${i}`));
    await Promise.all(receivers.map((r) => sys.ready(r)));
    const before = await lan.counters(0);
    sender = sys.sender(spec);
    const announce = await sender.waitFor("its announcement", sys.isAnnounce, 15_000);
    const done = await Promise.all(receivers.map((r) =>
      r.waitFor("the verified delta", (e) => sys.isComplete(e, spec.sha256), spec.timeoutMs)));
    await new Promise((r) => setTimeout(r, 300));   // let trailing datagrams be counted too
    const after = await lan.counters(0);
    for (let i = 1; i <= n; i++) {
      const path = await waitForFile(`${spec.dir}/r${i}`, spec.sha256, 5_000, receivers[i - 1]);
      const got = await readFile(path);
      if (createHash("sha256").update(got).digest("hex") !== spec.sha256) return failed(`r${i}: bytes differ`);
    }
    const last = Math.max(...done.map(time));
    return { ok: true, ms: last - time(announce), txBytes: after.txBytes - before.txBytes, note: "" };
  } catch (e) {
    return failed((e as Error).message.split("\n").slice(0, 3).join(" | "));
  } finally {
    await Promise.all([sender, ...receivers].map((p) => p?.stop(1000)));
  }
}
