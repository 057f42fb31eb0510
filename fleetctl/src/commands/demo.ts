// `fleetctl demo`: the first thing to run on a fresh machine. Starts a fleet of three fleet-node
// processes on loopback, teaches Pi-1 a corrected answer, shows the delta going out in fragments and
// every other node receiving, verifying and merging it, asks Pi-2, and reports. Exit 0 only when
// every node merged and all hold the same model.

import { Command, Option } from "commander";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDefaultModel } from "../../../node/src/model/default-model.js";
import { LocalFleet, type LocalNode } from "../../../node/src/node/local-fleet.js";
import { FleetError, usageError } from "../errors.js";
import { emit, processIo, table, type Io } from "../io.js";
import { ask, counter, getStatus, teach, type NodeAddress, type NodeStatus } from "../nodes/client.js";

interface DemoOptions { nodes: string; question: string; answer: string; timeout: string; keep?: boolean; json?: boolean }

type Stage = "starting" | "ready" | "training" | "sending" | "sent" | "receiving" | "verified" | "merged" | "rejected" | "failed";

interface NodeView { id: string; stage: Stage; have?: number; total?: number; note?: string }

export interface DemoNodeReport {
  id: string;
  role: "teacher" | "receiver";
  merged: boolean;
  /** META seen → merged, as the node measured it. */
  metaToMergeMs: number | null;
  /** From the teacher announcing the delta to this node's merge line, as the demo saw them. */
  sinceBroadcastMs: number | null;
  digest: string | null;
  fragmentsReceived: number | null;
  naksSent: number | null;
  problem?: string;
}

export interface DemoReport {
  ok: boolean;
  question: string;
  answer: string;
  version: string | null;
  bytes: number | null;
  fragments: number | null;
  retransmits: number;
  naks: number;
  loss: number | null;
  learned: boolean | null;
  digestsEqual: boolean;
  askedNode: string;
  answerBefore: string | null;
  answerAfter: string | null;
  nodes: DemoNodeReport[];
  stateDir: string | null;
}

export function demoCommand(io: Io = processIo): Command {
  return new Command("demo")
    .description("run a fleet of three nodes on this machine, teach one a correction and watch the others merge it")
    .addOption(new Option("--nodes <n>", "how many nodes (2-9)").default("3"))
    .addOption(new Option("--question <text>", "the question Pi-1 is corrected on").default("What is 2+2"))
    .addOption(new Option("--answer <text>", "the corrected answer").default("4"))
    .addOption(new Option("--timeout <s>", "give up on start-up or merges after this many seconds").default("120"))
    .option("--keep", "keep the nodes' state folders (printed at the end)")
    .option("--json", "print the report as JSON")
    .action(async (opts: DemoOptions) => {
      const count = Number(opts.nodes);
      if (!Number.isInteger(count) || count < 2 || count > 9) throw usageError(`--nodes ${opts.nodes} must be a whole number from 2 to 9`);
      const timeoutMs = Number(opts.timeout) * 1000;
      if (!(timeoutMs > 0)) throw usageError(`--timeout ${opts.timeout} must be a positive number of seconds`);
      if (!opts.question.trim() || !opts.answer.trim()) throw usageError("--question and --answer must not be empty");
      const report = await runDemo({ count, question: opts.question, answer: opts.answer, timeoutMs, keep: Boolean(opts.keep) }, io, Boolean(opts.json));
      emit(io, Boolean(opts.json), report, formatReport);
      if (!report.ok) {
        const missing = report.nodes.filter((n) => n.role === "receiver" && !n.merged).map((n) => n.id);
        throw new FleetError("CHECK_FAILED", missing.length ? `${missing.join(", ")} did not merge the delta` : "the nodes hold different models after merging", {
          suggestion: "run again with --keep and read the nodes' logs in the printed state folder; `fleet-node <id> --log-level debug` shows every packet stage",
          reported: true,
        });
      }
    });
}

interface RunOptions { count: number; question: string; answer: string; timeoutMs: number; keep: boolean }

export async function runDemo(o: RunOptions, io: Io, quiet: boolean): Promise<DemoReport> {
  await ensureModel();
  const root = await mkdtemp(join(tmpdir(), "deltafleet-demo-"));
  const fleet = await LocalFleet.start({ count: o.count, root });
  const view = new ProgressView(io, fleet.nodes.map((n) => n.id), quiet);
  const addr = (n: LocalNode): NodeAddress => ({ host: n.id, nodeId: n.id, address: "127.0.0.1", httpPort: n.httpPort });
  const [teacher, asked] = [fleet.nodes[0]!, fleet.nodes[1]!];
  let announcedAt: number | undefined;
  let version: string | undefined;
  const mergedAt = new Map<string, { at: number; latencyMs: number }>();
  const problems = new Map<string, string>();
  let stopping = false;

  fleet.on("log", (n, e) => {
    const ev = String(e.ev ?? "");
    if (n === teacher) {
      if (ev === "announced") { announcedAt = Date.now(); version = String(e.version); view.set(n.id, "sending", { total: Number(e.chunks), note: `${e.bytes} bytes` }); }
      else if (ev === "sent") view.set(n.id, "sent", { have: Number(e.chunks), total: Number(e.chunks) });
      return;
    }
    if (version !== undefined && e.version !== undefined && e.version !== version) return;
    if (ev === "meta") view.set(n.id, "receiving", { total: Number(e.chunks), have: 0 });
    else if (ev === "verified") view.set(n.id, "verified", { note: `sha256 ${String(e.sha256).slice(0, 12)}…` });
    else if (ev === "merged") {
      mergedAt.set(n.id, { at: Date.now(), latencyMs: Number(e.latencyMs) });
      view.set(n.id, "merged", { note: `${Number(e.latencyMs).toFixed(0)} ms after META` });
    } else if (ev === "rejected" || ev === "delta-rejected" || ev === "gave-up") {
      problems.set(n.id, `${ev}: ${String(e.reason ?? e.detail ?? "")}`);
      view.set(n.id, "rejected", { note: String(e.reason ?? ev) });
    }
  });
  fleet.on("exit", (n, code, sig) => {
    if (!stopping) { problems.set(n.id, `exited (${code ?? sig}): ${n.tail.slice(-3).join(" | ")}`); view.set(n.id, "failed", { note: `exited ${code ?? sig}` }); }
  });

  try {
    view.line(`Starting ${o.count} nodes on loopback (state in ${root})`);
    const deadline = Date.now() + o.timeoutMs;
    await Promise.all(fleet.nodes.map(async (n) => {
      await waitFor(`${n.id} to be ready`, deadline, async () => (await fetch(n.url + "/ready")).status === 200, () => n.tail);
      view.set(n.id, "ready");
    }));
    // Discovery takes one round trip; a node that has not heard its peers yet still gets the delta
    // (static peers), only in the course's text framing instead of binary.
    await waitFor("peers to find each other", Math.min(deadline, Date.now() + 5_000), async () =>
      (await Promise.all(fleet.nodes.map((n) => getStatus(addr(n), 2_000)))).every((s) => s.peers.length >= o.count - 1), () => []).catch(() => undefined);

    const before = await ask(addr(asked), o.question).catch(() => undefined);
    view.line(`${asked.id} answers "${o.question}" with "${before?.answer ?? "?"}"; teaching ${teacher.id} "${o.answer}"`);
    view.set(teacher.id, "training");
    const taught = await teach(addr(teacher), o.question, o.answer, o.timeoutMs);
    version = taught.version;
    view.set(teacher.id, "sent", { have: taught.chunks, total: taught.chunks, note: `${taught.bytes} bytes, loss ${taught.loss.toFixed(3)}` });

    const receivers = fleet.nodes.slice(1);
    const poll = setInterval(() => void Promise.all(receivers.map(async (n) => {
      if (mergedAt.has(n.id)) return;
      const s = await getStatus(addr(n), 1_000).catch(() => undefined);
      const tr = (s?.transfers as Array<{ version: string; have: number; total?: number }> | undefined)?.find((x) => x.version === version);
      if (tr) view.set(n.id, "receiving", { have: tr.have, total: tr.total });
    })), 150);
    try {
      await waitFor("every node to merge", deadline, async () => receivers.every((n) => mergedAt.has(n.id) || problems.has(n.id)), () => []).catch(() => undefined);
    } finally {
      clearInterval(poll);
    }

    const statuses = await Promise.all(fleet.nodes.map((n) => getStatus(addr(n), 5_000).catch(() => undefined)));
    const after = await ask(addr(asked), o.question).catch(() => undefined);
    view.done();
    const digests = statuses.map((s) => s?.digest ?? null);
    const digestsEqual = digests.every((d) => d !== null && d === digests[0]);
    const c = (s: NodeStatus | undefined, ...k: string[]): number | null => counter(s?.counters, ...k);
    const nodes: DemoNodeReport[] = fleet.nodes.map((n, i) => {
      const m = mergedAt.get(n.id);
      const s = statuses[i];
      return {
        id: n.id, role: i === 0 ? "teacher" : "receiver",
        merged: i === 0 ? true : Boolean(s?.applied.some((a) => a.version === version)),
        metaToMergeMs: m ? Math.round(m.latencyMs) : null,
        sinceBroadcastMs: m && announcedAt !== undefined ? m.at - announcedAt : null,
        digest: digests[i] ?? null,
        fragmentsReceived: c(s, "fragmentsReceived"), naksSent: c(s, "naksSent"),
        ...(problems.has(n.id) ? { problem: problems.get(n.id) } : {}),
      };
    });
    const sum = (k: string): number => statuses.reduce((a, s) => a + (c(s, k) ?? 0), 0);
    return {
      ok: nodes.every((n) => n.merged) && digestsEqual,
      question: o.question, answer: o.answer,
      version: taught.version, bytes: taught.bytes, fragments: taught.chunks,
      retransmits: sum("retransmits"), naks: sum("naksSent"),
      loss: taught.loss, learned: taught.learned, digestsEqual,
      askedNode: asked.id, answerBefore: before?.answer ?? null, answerAfter: after?.answer ?? null,
      nodes, stateDir: o.keep ? root : null,
    };
  } finally {
    view.done();
    stopping = true;
    await fleet.stop();
    if (!o.keep) await rm(root, { recursive: true, force: true });
  }
}

/** The embedded default model is built on first use; build it once here rather than in three nodes at once. */
async function ensureModel(): Promise<void> {
  if (process.env.FLEET_NODE_ENTRY) return;   // another fleet-node build brings its own model
  ensureDefaultModel();
}

async function waitFor(what: string, deadline: number, probe: () => Promise<boolean>, tail: () => string[]): Promise<void> {
  for (;;) {
    try { if (await probe()) return; } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      const t = tail();
      throw new FleetError("TIMEOUT", `timed out waiting for ${what}${t.length ? `; last output:\n  ${t.slice(-5).join("\n  ")}` : ""}`, {
        suggestion: "raise --timeout on a slow machine; a port clash or a missing build (npm run build) also stops nodes from starting",
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const STAGE_TEXT: Record<Stage, string> = {
  starting: "starting", ready: "ready", training: "training", sending: "sending", sent: "sent",
  receiving: "receiving", verified: "verified", merged: "merged", rejected: "REJECTED", failed: "FAILED",
};

/** One line per node, redrawn in place on a terminal; plain lines, one per change, otherwise. */
class ProgressView {
  private readonly rows: NodeView[];
  private drawn = 0;
  private last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(private readonly io: Io, ids: string[], private readonly quiet: boolean) {
    this.rows = ids.map((id) => ({ id, stage: "starting" }));
  }

  line(text: string): void {
    if (this.quiet) return;
    if (this.io.isTty) { this.erase(); this.io.out(text + "\n"); this.draw(); } else this.io.out(text + "\n");
  }

  set(id: string, stage: Stage, extra: Partial<NodeView> = {}): void {
    const r = this.rows.find((x) => x.id === id);
    if (!r) return;
    Object.assign(r, { stage, ...extra });
    if (this.quiet || this.finished) return;
    if (this.io.isTty) { this.timer ??= setTimeout(() => { this.timer = undefined; this.erase(); this.draw(); }, 50); return; }
    // Plain lines: one per stage change (receiving progress only at its start, to stay concise).
    const text = `  ${r.id}: ${this.describe(r)}`;
    const key = stage;
    if (this.last.get(id) === key) return;
    this.last.set(id, key);
    this.io.out(text + "\n");
  }

  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.quiet && this.io.isTty) { this.erase(); this.draw(); }
  }

  private describe(r: NodeView): string {
    const frac = r.total ? ` ${r.have ?? 0}/${r.total} fragments` : "";
    return `${STAGE_TEXT[r.stage]}${r.stage === "receiving" || r.stage === "sending" || r.stage === "sent" ? frac : ""}${r.note ? ` (${r.note})` : ""}`;
  }

  private erase(): void {
    if (this.drawn) this.io.out(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    for (const r of this.rows) {
      const bar = r.stage === "receiving" && r.total ? ` [${"#".repeat(Math.round(20 * (r.have ?? 0) / r.total)).padEnd(20, ".")}]` : "";
      this.io.out(`  ${r.id.padEnd(6)} ${this.describe(r)}${bar}\n`);
    }
    this.drawn = this.rows.length;
  }
}

export function formatReport(r: DemoReport): string {
  const ms = (v: number | null): string => (v === null ? "-" : `${v} ms`);
  const rows = r.nodes.map((n) => [
    n.id, n.role === "teacher" ? "taught" : n.merged ? "yes" : "NO", ms(n.metaToMergeMs), ms(n.sinceBroadcastMs),
    n.fragmentsReceived === null ? "-" : String(n.fragmentsReceived), n.digest ? n.digest.slice(0, 12) : "-",
  ]);
  let out = `\nTaught ${r.nodes[0]?.id}: "${r.question}" -> "${r.answer}" (loss ${r.loss?.toFixed(4) ?? "-"}, learned: ${r.learned ? "yes" : "no"})\n`;
  out += `Delta ${r.version}: ${r.bytes} bytes in ${r.fragments} fragments; retransmits ${r.retransmits}, NAKs ${r.naks}\n\n`;
  out += table(["NODE", "MERGED", "META->MERGE", "SINCE BROADCAST", "FRAGMENTS IN", "DIGEST"], rows);
  for (const n of r.nodes) if (n.problem) out += `  ${n.id}: ${n.problem}\n`;
  out += `\nDigests: ${r.digestsEqual ? "all equal - one fleet, one model" : "DIFFER"}\n`;
  out += `${r.askedNode} answers "${r.question}": before "${r.answerBefore ?? "?"}", after "${r.answerAfter ?? "?"}"\n`;
  if (r.stateDir) out += `State folders kept in ${r.stateDir}\n`;
  out += r.ok ? "Demo OK: every node merged the correction.\n" : "Demo FAILED.\n";
  return out;
}
