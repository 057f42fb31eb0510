// `fleetctl demo` as a program: a LocalFleet of fleet-node processes on loopback, the check that
// `fleetctl check` runs on real Pis (teach one, wait for every other to merge, compare digests,
// ask another), and the progress view fed by the nodes' own log lines. What the demo adds to the
// check is only what a first-time user wants to see: the stages, an answer before and after, and
// the merge times the nodes measured.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDefaultModel, type PresetName } from "../../../node/src/model/default-model.js";
import { LocalFleet, type LocalNode } from "../../../node/src/node/local-fleet.js";
import { FleetError } from "../errors.js";
import { progressTo, type Io } from "../io.js";
import { runCheck } from "../nodes/check.js";
import { ask, counter, getStatus, type NodeAddress, type NodeStatus } from "../nodes/client.js";
import { waitUntil } from "../wait.js";
import { ProgressView } from "./progress-view.js";
import { runLessons } from "./lessons-run.js";
import type { DemoNodeReport, DemoReport } from "./report.js";

export const DEMO_NODES = 3;
export const DEMO_MIN_NODES = 2;
export const DEMO_MAX_NODES = 9;
export const DEMO_QUESTION = "What is 2+2";
export const DEMO_ANSWER = "4";
export const DEMO_TIMEOUT_S = 120;
/** Discovery takes one round trip; a node that has not heard its peers by then still gets the
 * delta (static peers), only in the course's text framing instead of binary. */
const DISCOVERY_WAIT_MS = 5_000;
/** On loopback a merge takes a few hundred ms: polling faster than `check`'s default keeps the
 * view and the merge times close to what happened. */
const POLL_MS = 100;

export interface DemoOptions {
  count: number;
  question: string;
  answer: string;
  timeoutMs: number;
  keep: boolean;
  /** After the story, teach this many lessons across the nodes and report recall (0: none). */
  lessons: number;
  /** The model every node starts from (fleet-node --preset). */
  preset: PresetName;
}

export async function runDemo(o: DemoOptions, io: Io, quiet: boolean): Promise<DemoReport> {
  ensureModel(o.preset);
  const root = await mkdtemp(join(tmpdir(), "deltafleet-demo-"));
  const fleet = await LocalFleet.start({ count: o.count, root, extraArgs: ["--preset", o.preset] });
  const view = new ProgressView(io, fleet.nodes.map((n) => n.id), quiet);
  const [teacher, asked] = [fleet.nodes[0]!, fleet.nodes[1]!];
  const logs = followLogs(fleet, teacher, view);
  try {
    view.line(`Starting ${o.count} nodes on loopback (state in ${root})`);
    const deadline = Date.now() + o.timeoutMs;
    await Promise.all(fleet.nodes.map(async (n) => {
      // Stopping ends every other node's wait when one of them failed.
      await ready(n, deadline, () => (logs.stopping ? "was stopped" : logs.problems.get(n.id)));
      view.set(n.id, "ready");
    }));
    await waitUntil(async () => (await Promise.all(fleet.nodes.map((n) => getStatus(address(n), 2_000)))).every((s) => s.peers.length >= o.count - 1), {
      deadline: Math.min(deadline, Date.now() + DISCOVERY_WAIT_MS),
      everyMs: POLL_MS,
    });

    const before = await ask(address(asked), o.question).catch(() => undefined);
    view.line(`${asked.id} answers "${o.question}" with "${before?.answer ?? "?"}"; teaching ${teacher.id} "${o.answer}"`);
    view.set(teacher.id, "training");
    const latest = new Map<string, NodeStatus>();
    const check = await runCheck({
      nodes: fleet.nodes.map(address),
      teacher: teacher.id,
      asker: asked.id,
      question: o.question,
      answer: o.answer,
      mergeTimeoutMs: o.timeoutMs,
      teachTimeoutMs: o.timeoutMs,
      pollMs: POLL_MS,
      onStatus: (n, s) => {
        latest.set(n.nodeId, s);
        showTransfer(view, n.nodeId, s, logs.version);
      },
      wontMerge: (n) => logs.problems.get(n.nodeId),
    });
    view.done();

    const c = (id: string, ...names: string[]): number | null => counter(latest.get(id)?.counters, ...names);
    const sum = (name: string): number => fleet.nodes.reduce((a, n) => a + (c(n.id, name) ?? 0), 0);
    const nodes = fleet.nodes.map((n, i): DemoNodeReport => {
      const m = check.nodes[i]!;
      const merge = logs.merged.get(n.id);
      const problem = logs.problems.get(n.id) ?? m.whyNot;
      return {
        id: n.id, role: i === 0 ? "teacher" : "receiver", merged: m.merged,
        metaToMergeMs: merge ? Math.round(merge.latencyMs) : null,
        sinceBroadcastMs: merge && logs.announcedAt !== undefined ? merge.at - logs.announcedAt : null,
        digest: m.digest, fragmentsReceived: c(n.id, "fragmentsReceived"), naksSent: c(n.id, "naksSent"),
        ...(problem ? { problem } : {}),
      };
    });
    // The lessons run starts from a fleet that agrees; each teach waits for one log again.
    const lessons = o.lessons > 0 && check.ok
      ? await runLessons({ nodes: fleet.nodes.map(address), count: o.lessons, timeoutMs: o.timeoutMs, pollMs: POLL_MS * 5, say: progressTo(io, quiet) })
      : undefined;
    return {
      ok: check.ok, failures: check.failures,
      question: o.question, answer: o.answer,
      version: check.teach.version, bytes: check.teach.bytes, fragments: check.teach.chunks,
      retransmits: sum("retransmits"), naks: sum("naksSent"),
      loss: check.teach.loss, learned: check.teach.learned, digestsEqual: check.digestsAgree,
      askedNode: asked.id, answerBefore: before?.answer ?? null, answerAfter: check.ask?.answer ?? null,
      nodes, stateDir: o.keep ? root : null,
      ...(lessons ? { lessons } : {}),
    };
  } finally {
    view.done();
    logs.stopping = true;
    await fleet.stop();
    if (!o.keep) await rm(root, { recursive: true, force: true });
  }
}

const address = (n: LocalNode): NodeAddress => ({ host: n.id, nodeId: n.id, address: "127.0.0.1", httpPort: n.httpPort });

/** A preset's model is built on first use; build it once here rather than in three nodes at once. */
function ensureModel(preset: PresetName): void {
  if (process.env.FLEET_NODE_ENTRY) return; // another fleet-node build brings its own model
  ensureDefaultModel(undefined, preset);
}

async function ready(n: LocalNode, deadline: number, problem: () => string | undefined): Promise<void> {
  const r = await waitUntil(async () => (await fetch(n.url + "/ready", { signal: AbortSignal.timeout(2_000) })).status === 200, { deadline, everyMs: 50, abandon: problem });
  if (r.done) return;
  const tail = n.tail.length ? `; last output:\n  ${n.tail.slice(-5).join("\n  ")}` : "";
  throw r.abandoned
    ? new FleetError("NODE_DOWN", `${n.id} ${r.abandoned} before it was ready${tail}`, { suggestion: "a port clash or a missing build (npm run build) stops nodes from starting" })
    : new FleetError("TIMEOUT", `timed out waiting for ${n.id} to be ready${tail}`, { suggestion: "raise --timeout on a slow machine" });
}

interface FleetLogs {
  /** The delta being spread, once the teacher announced it. */
  version: string | undefined;
  announcedAt: number | undefined;
  /** Merge lines: when the demo saw them, and META → merged as the node measured it. */
  merged: Map<string, { at: number; latencyMs: number }>;
  /** Why a node will not merge: it rejected the delta, or its process ended. */
  problems: Map<string, string>;
  /** Set while the fleet is being stopped: exits are expected then. */
  stopping: boolean;
}

/** Turns the nodes' JSON log lines into view stages and what the report needs from them. */
function followLogs(fleet: LocalFleet, teacher: LocalNode, view: ProgressView): FleetLogs {
  const logs: FleetLogs = { version: undefined, announcedAt: undefined, merged: new Map(), problems: new Map(), stopping: false };
  fleet.on("log", (n, e) => {
    const ev = String(e.ev ?? "");
    if (n === teacher) {
      if (ev === "announced") {
        logs.announcedAt = Date.now();
        logs.version = String(e.version);
        view.set(n.id, "sending", { total: Number(e.chunks), note: `${e.bytes} bytes` });
      } else if (ev === "sent") view.set(n.id, "sent", { have: Number(e.chunks), total: Number(e.chunks) });
      return;
    }
    // Receivers log the transfer's version as `transfer` once it is an entry (`version` is then the entry's name).
    const transfer = e.transfer ?? e.version;
    if (logs.version !== undefined && transfer !== undefined && transfer !== logs.version) return;
    if (ev === "meta") view.set(n.id, "receiving", { total: Number(e.chunks), have: 0 });
    else if (ev === "verified") view.set(n.id, "verified", { note: `sha256 ${String(e.sha256).slice(0, 12)}…` });
    else if (ev === "merged") {
      logs.merged.set(n.id, { at: Date.now(), latencyMs: Number(e.latencyMs) });
      view.set(n.id, "merged", { note: `${Number(e.latencyMs).toFixed(0)} ms after META` });
    } else if (ev === "rejected" || ev === "delta-rejected" || ev === "gave-up") {
      logs.problems.set(n.id, `${ev}: ${String(e.reason ?? e.detail ?? "")}`);
      view.set(n.id, "rejected", { note: String(e.reason ?? ev) });
    }
  });
  fleet.on("exit", (n, code, sig) => {
    if (logs.stopping) return;
    logs.problems.set(n.id, `exited (${code ?? sig}): ${n.tail.slice(-3).join(" | ")}`);
    view.set(n.id, "failed", { note: `exited ${code ?? sig}` });
  });
  return logs;
}

/** A receiver's fragment count from its /status, while it is still receiving. */
function showTransfer(view: ProgressView, id: string, s: NodeStatus, version: string | undefined): void {
  const stage = view.stage(id);
  if (version === undefined || (stage !== "ready" && stage !== "receiving")) return;
  const tr = (s.transfers as Array<{ version: string; have: number; total?: number }> | undefined)?.find((x) => x.version === version);
  if (tr) view.set(id, "receiving", { have: tr.have, total: tr.total });
}
