// A training job over a running fleet, as fleetctl drives it: the data set read here and sent in
// the POST /train body (the file need not be on any Pi), the coordinator polled for progress, then
// every node asked for its digest — a finished job leaves one model on every live node.

import { FleetError } from "../errors.js";
import type { Pair } from "../../../node/src/train/dataset.js";
import type { TrainStatus } from "../../../node/src/train/wire.js";
import { getStatus, getTrain, postTrain, type NodeAddress } from "./client.js";

export interface TrainOptions {
  nodes: NodeAddress[];
  /** The node that coordinates (default: the first of nodes). */
  coordinator?: string | undefined;
  pairs: Pair[];
  rounds: number;
  mode: "fedavg" | "gossip";
  stragglerTimeoutS: number;
  overlap: number;
  /** How long the whole job may take, and then the digests to agree. */
  timeoutMs: number;
  onStep?: (line: string) => void;
  pollMs?: number;
}

export interface TrainReport {
  ok: boolean;
  job: string;
  coordinator: string;
  mode: string;
  state: TrainStatus["state"];
  rounds: number;
  pairs: number;
  members: string[];
  stragglers: TrainStatus["stragglers"];
  lossBefore: number | null;
  loss: number[];
  bytes: number[];
  entries: string[];
  seconds: number;
  /** Each node's digest after the job (null: it did not answer). */
  digests: Record<string, string | null>;
  digestsAgree: boolean;
  error?: string;
}

export async function runTrain(o: TrainOptions): Promise<TrainReport> {
  const step = o.onStep ?? (() => undefined);
  const coord = o.coordinator === undefined ? o.nodes[0] : o.nodes.find((n) => n.nodeId === o.coordinator || n.host === o.coordinator);
  if (!coord) throw new FleetError("USAGE", `no node ${o.coordinator} in the inventory`, { suggestion: "name a node id or host of the inventory with --coordinator" });
  const t0 = Date.now();
  const started = await postTrain(coord, { data: o.pairs, rounds: o.rounds, mode: o.mode, stragglerTimeoutS: o.stragglerTimeoutS, overlap: o.overlap });
  step(`job ${started.job} started on ${coord.nodeId}: ${o.pairs.length} pairs, ${o.rounds} rounds, ${o.mode}, straggler timeout ${o.stragglerTimeoutS} s`);
  let s: TrainStatus;
  let shown = -1;
  let round = 0;
  for (;;) {
    s = await getTrain(coord);
    if (s.round !== round && s.state === "running") { round = s.round; step(`round ${round}/${s.rounds}: ${s.members.length} members training`); }
    for (let r = shown + 1; r < s.loss.length; r++) {
      const left = s.stragglers.filter((x) => x.round === r + 1).map((x) => x.node);
      step(`round ${r + 1}/${s.rounds} averaged: loss ${s.loss[r]!.toFixed(3)}${r === 0 && s.lossBefore !== null ? ` (before: ${s.lossBefore.toFixed(3)})` : ""}, ${kb(s.bytes[r]!)}${left.length ? `, left out: ${left.join(", ")}` : ""}`);
      shown = r;
    }
    if (s.state !== "running") break;
    if (Date.now() - t0 > o.timeoutMs) throw new FleetError("TIMEOUT", `job ${started.job} still running after ${Math.round(o.timeoutMs / 1000)} s (round ${s.round} of ${s.rounds})`, { suggestion: "give it longer with --timeout; `fleetctl logs` shows each node's rounds" });
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
  // The last round's entry may still be on its way to some node: wait for one digest, a while.
  let digests: Record<string, string | null> = {};
  const until = Date.now() + Math.min(60_000, Math.max(5_000, o.timeoutMs - (Date.now() - t0)));
  for (;;) {
    digests = Object.fromEntries(await Promise.all(o.nodes.map(async (n) => [n.nodeId, await getStatus(n).then((x) => x.digest, () => null)] as const)));
    const live = Object.values(digests).filter((d) => d !== null);
    if (s.state !== "done" || (live.length > 0 && new Set(live).size === 1) || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const live = Object.values(digests).filter((d) => d !== null);
  const digestsAgree = live.length > 0 && new Set(live).size === 1;
  return {
    ok: s.state === "done" && digestsAgree, job: started.job, coordinator: coord.nodeId, mode: s.mode, state: s.state, rounds: s.rounds, pairs: o.pairs.length,
    members: s.members, stragglers: s.stragglers, lossBefore: s.lossBefore, loss: s.loss, bytes: s.bytes, entries: s.entries,
    seconds: Math.round((Date.now() - t0) / 100) / 10, digests, digestsAgree, ...(s.error ? { error: s.error } : {}),
  };
}

function kb(n: number): string { return `${Math.round(n / 1024)} kB`; }
