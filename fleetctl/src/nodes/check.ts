// The assignment's end-to-end test against a running fleet: teach one node a fresh QA pair, wait
// until every other node merged that version, check they all hold the same weights, and ask
// another node the question. Each step is timed per node. Merging the taught entry is not all:
// a node that missed an earlier one is behind, and the check names what it lacks of the fleet's log.
// Last, each node says how many of the fleet's lessons its weights recall (recall.ts): reported,
// never a failure.

import { randomBytes } from "node:crypto";
import { FleetError } from "../errors.js";
import { waitUntil } from "../wait.js";
import { ask, getLog, getRecall, getStatus, teach, type NodeAddress, type NodeStatus } from "./client.js";
import { compareLogs, describeLack, type FleetLog, type NodeLog } from "./fleet-log.js";
import { recallOf, type NodeRecall } from "./recall.js";

/** How long every node gets to merge when nobody says otherwise. */
export const MERGE_TIMEOUT_S = 120;
/** How long a node gets to answer its newest lessons (at most 12 short generations; a Pi in a teach waits for it). */
const RECALL_TIMEOUT_MS = 30_000;

export interface CheckOptions {
  nodes: NodeAddress[];
  /** Node id (or host) to teach; default the first. */
  teacher?: string;
  /** Node id (or host) to ask; default the first node that is not the teacher. */
  asker?: string;
  question?: string;
  answer?: string;
  /** How long every node gets to merge the taught version. */
  mergeTimeoutMs: number;
  /** How long the teacher may take to train and send (its /teach answers when it has sent). */
  teachTimeoutMs?: number;
  pollMs?: number;
  /** How long a node gets to answer the fleet's lessons from its weights (it asks itself a bounded number). */
  recallTimeoutMs?: number;
  /** Progress for people, one line per step. */
  onStep?: (line: string) => void;
  /** Every /status read, as read: a caller showing progress needs no polling of its own. */
  onStatus?: (node: NodeAddress, status: NodeStatus) => void;
  /** Why a node will not merge, when the caller knows before the timeout does (its log said it
   * rejected the delta, its process exited): the wait for that node ends there. */
  wontMerge?: (node: NodeAddress) => string | undefined;
}

export interface NodeMerge {
  nodeId: string;
  host: string;
  role: "teacher" | "peer";
  merged: boolean;
  /** From the teach request being sent to this node listing the version as applied (polled). */
  mergeMs: number | null;
  digest: string | null;
  /** Why it did not merge. */
  whyNot?: string;
  /** Entries the other nodes hold and this one does not, after the merge wait; null when its
   * GET /log did not answer. */
  lacking: string[] | null;
  /** The fleet's lessons as this node's weights answer them at the end of the check; null when unknown. */
  recall: NodeRecall | null;
  /** Why its recall is unknown (a node from before GET /lessons?recall=1, or one not answering). */
  recallUnknown?: string;
}

export interface CheckReport {
  ok: boolean;
  failures: string[];
  question: string;
  answer: string;
  teacher: string;
  teach: { version: string; roundTripMs: number; trainMs: number; bytes: number; chunks: number; loss: number; learned: boolean; answer: string };
  nodes: NodeMerge[];
  digestsAgree: boolean;
  digests: string[];
  /** The union of the entries the checked nodes hold after the merge wait. */
  log: { entries: number; set: string };
  ask: { nodeId: string; answer: string; expected: string; matches: boolean; ms: number; roundTripMs: number } | null;
  totalMs: number;
}

const ANSWERS = ["kiwi", "amber", "delta", "falcon", "cobalt", "maple", "quartz", "tulip"];

/** A QA pair no node has seen: the question carries a random word. */
export function freshQa(): { question: string; answer: string } {
  const nonce = randomBytes(4).toString("hex");
  return { question: `What is the check word ${nonce}?`, answer: ANSWERS[parseInt(nonce.slice(0, 2), 16) % ANSWERS.length]! };
}

function pick(nodes: NodeAddress[], name: string | undefined, what: string): NodeAddress | undefined {
  if (name === undefined) return undefined;
  const n = nodes.find((x) => x.nodeId === name || x.host === name);
  if (!n) throw new FleetError("USAGE", `--${what} ${name} is not a node of this fleet`, { suggestion: `pick one of: ${nodes.map((x) => x.nodeId).join(", ")}` });
  return n;
}

export async function runCheck(o: CheckOptions): Promise<CheckReport> {
  if (o.nodes.length === 0) throw new FleetError("USAGE", "the inventory has no nodes to check");
  const step = o.onStep ?? (() => {});
  const pollMs = o.pollMs ?? 200;
  const started = Date.now();
  const teacher = pick(o.nodes, o.teacher, "teacher") ?? o.nodes[0]!;
  const others = o.nodes.filter((n) => n !== teacher);
  const asker = pick(o.nodes, o.asker, "asker") ?? others[0] ?? teacher;
  const qa = o.question !== undefined && o.answer !== undefined ? { question: o.question, answer: o.answer } : freshQa();

  const status = async (n: NodeAddress): Promise<NodeStatus> => {
    const s = await getStatus(n);
    o.onStatus?.(n, s);
    return s;
  };

  // Every node must be up before anything is taught, or the result says nothing.
  const before = await Promise.allSettled(o.nodes.map(status));
  const down = before.flatMap((r, i) => (r.status === "rejected" ? [`${o.nodes[i]!.nodeId}: ${(r.reason as Error).message}`] : []));
  if (down.length > 0) {
    throw new FleetError("NODE_DOWN", `not every node is up:\n  ${down.join("\n  ")}`, {
      suggestion: "`fleetctl up -i <inventory>` starts them; `fleetctl status` shows the fleet",
    });
  }
  step(`teaching ${teacher.nodeId}: "${qa.question}" → "${qa.answer}"`);
  const t0 = Date.now();
  const taught = await teach(teacher, qa.question, qa.answer, o.teachTimeoutMs);
  const roundTripMs = Date.now() - t0;
  // What the fleet checks is that every node holds what the teacher sent; whether tiny-gpt2 could
  // hold the answer at all is the model's limit, said here so a partial answer is no surprise.
  step(`${teacher.nodeId} taught version ${taught.version} in ${Math.round(taught.ms)} ms (loss ${taught.loss.toFixed(4)}, ${taught.chunks} fragments); ` +
    (taught.learned ? `it answers "${qa.answer}"` : `it answers "${taught.answer}", not yet "${qa.answer}" (the model holds little)`));

  const merges = new Map<NodeAddress, NodeMerge>();
  merges.set(teacher, { nodeId: teacher.nodeId, host: teacher.host, role: "teacher", merged: true, mergeMs: roundTripMs, digest: null, lacking: null, recall: null });
  const deadline = t0 + o.mergeTimeoutMs;
  await Promise.all(
    others.map(async (n) => {
      const m: NodeMerge = { nodeId: n.nodeId, host: n.host, role: "peer", merged: false, mergeMs: null, digest: null, lacking: null, recall: null };
      merges.set(n, m);
      const r = await waitUntil(async () => hasApplied(await status(n), taught.version), { deadline, everyMs: pollMs, abandon: () => o.wontMerge?.(n) });
      if (r.done) {
        m.merged = true;
        m.mergeMs = r.at - t0;
        step(`${n.nodeId} merged ${taught.version} after ${m.mergeMs} ms`);
      } else {
        m.whyNot = r.abandoned ?? `did not merge version ${taught.version} within ${o.mergeTimeoutMs} ms`;
        step(`${n.nodeId} ${m.whyNot}`);
      }
    }),
  );

  const failures: string[] = [];
  for (const m of merges.values()) if (!m.merged) failures.push(`${m.nodeId} ${m.whyNot}`);

  // A node that merged the teach but missed an earlier entry is behind. It may be fetching it
  // still (a Pi just back), so the logs get what is left of the merge wait to agree — unless a
  // node failed already, and waiting could change nothing about the verdict.
  let logs = await readLogs(o.nodes);
  while (failures.length === 0 && [...logs.fleet.lacking.values()].some((l) => l.length > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, pollMs));
    logs = await readLogs(o.nodes);
  }
  for (const u of logs.unknown) step(u);

  // Digests from one fresh round, after every merge and catch-up, so they describe the same moment.
  const after = await Promise.allSettled(o.nodes.map(status));
  after.forEach((r, i) => {
    const m = merges.get(o.nodes[i]!)!;
    if (r.status === "fulfilled") m.digest = r.value.digest;
    else failures.push(`${m.nodeId} stopped answering: ${(r.reason as Error).message}`);
  });
  const fleetLog = logs.fleet;
  for (const [id, lacking] of fleetLog.lacking) {
    const m = [...merges.values()].find((x) => x.nodeId === id)!;
    m.lacking = lacking;
    if (lacking.length > 0) failures.push(describeLack(id, lacking));
  }
  const digests = [...new Set([...merges.values()].map((m) => m.digest ?? ""))];
  const digestsAgree = digests.length === 1 && digests[0] !== "";
  if (!digestsAgree) failures.push(`the nodes hold ${digests.length} different models after the merge`);
  else step(`all ${o.nodes.length} nodes hold model ${digests[0]!.slice(0, 12)}`);

  let asked: CheckReport["ask"] = null;
  if (merges.get(asker)?.merged) {
    const a0 = Date.now();
    const a = await ask(asker, qa.question);
    const roundTripMs = Date.now() - a0;
    // A node holding the teacher's weights answers as the teacher does when asked the same way. The
    // answer /teach reports was generated only as long as the taught answer, so where the model
    // could not learn it, it is a prefix of what /ask says: compare /ask with /ask.
    const expected = asker === teacher ? a.answer : (await ask(teacher, qa.question)).answer;
    asked = { nodeId: asker.nodeId, answer: a.answer, expected, matches: a.answer === expected, ms: a.ms, roundTripMs };
    step(`${asker.nodeId} answers "${a.answer}" (${Math.round(a.ms)} ms)${asked.matches ? "" : `, the teacher answers "${expected}"`}`);
    if (!asked.matches) failures.push(`${asker.nodeId} answers "${a.answer}" where the teacher answers "${expected}"`);
  }

  // What each node remembers, asked last so it is of the weights the check ends on.
  step("asking every node which of the fleet's lessons it recalls");
  const recalls = await Promise.allSettled(o.nodes.map((n) => getRecall(n, o.recallTimeoutMs ?? RECALL_TIMEOUT_MS)));
  recalls.forEach((r, i) => {
    const m = merges.get(o.nodes[i]!)!;
    if (r.status === "fulfilled") m.recall = recallOf(r.value);
    else m.recallUnknown = (r.reason as Error).message;
  });

  return {
    ok: failures.length === 0,
    failures,
    question: qa.question,
    answer: qa.answer,
    teacher: teacher.nodeId,
    teach: { version: taught.version, roundTripMs, trainMs: taught.ms, bytes: taught.bytes, chunks: taught.chunks, loss: taught.loss, learned: taught.learned, answer: taught.answer },
    nodes: o.nodes.map((n) => merges.get(n)!),
    digestsAgree,
    digests: digests.filter(Boolean),
    log: { entries: fleetLog.entries, set: fleetLog.set },
    ask: asked,
    totalMs: Date.now() - started,
  };
}

/** Every node's GET /log compared, read at once; a node whose log did not answer is named in `unknown`. */
async function readLogs(nodes: NodeAddress[]): Promise<{ fleet: FleetLog; unknown: string[] }> {
  const read = await Promise.allSettled(nodes.map((n) => getLog(n)));
  const held = new Map<string, NodeLog>();
  const unknown: string[] = [];
  read.forEach((r, i) => {
    if (r.status === "fulfilled") held.set(nodes[i]!.nodeId, r.value);
    else unknown.push(`${nodes[i]!.nodeId}: its log is unknown: ${(r.reason as Error).message}`);
  });
  return { fleet: compareLogs(held), unknown };
}

function hasApplied(s: NodeStatus, version: string): boolean {
  return Array.isArray(s.applied) && s.applied.some((a) => a.version === version);
}
