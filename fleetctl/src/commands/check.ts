import { Command } from "commander";
import { FleetError, usageError } from "../errors.js";
import { emit, processIo, progressTo, table, type Io } from "../io.js";
import { runCheck, type CheckReport } from "../nodes/check.js";
import { inventoryFrom, withInventory } from "./playbook-options.js";

interface CheckCliOptions {
  inventory?: string;
  teacher?: string;
  asker?: string;
  question?: string;
  answer?: string;
  timeout: string;
  json?: boolean;
}

/** `fleetctl check`: the end-to-end test on the running fleet. Exit 0 only if every node merged
 * the taught version, all digests agree and another node answers as the teacher does. */
export function checkCommand(io: Io = processIo): Command {
  return withInventory(new Command("check"))
    .description("teach one node a fresh QA pair, wait for every node to merge it, compare models, ask another node")
    .option("--teacher <node>", "the node to teach (default: the first in the inventory)")
    .option("--asker <node>", "the node to ask afterwards (default: the first other node)")
    .option("--question <text>", "the question to teach (default: a fresh one)")
    .option("--answer <text>", "its answer (with --question)")
    .option("--timeout <seconds>", "how long every node gets to merge", "120")
    .option("--json", "print the report as JSON")
    .action(async (opts: CheckCliOptions) => {
      const timeoutS = Number(opts.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw usageError(`--timeout ${opts.timeout} is not a positive number of seconds`);
      if ((opts.question === undefined) !== (opts.answer === undefined)) throw usageError("--question and --answer go together");
      const inv = await inventoryFrom(opts);
      const report = await runCheck({
        nodes: inv.hosts.map((h) => ({ host: h.name, nodeId: h.nodeId, address: h.address, httpPort: h.httpPort })),
        teacher: opts.teacher,
        asker: opts.asker,
        question: opts.question,
        answer: opts.answer,
        mergeTimeoutMs: timeoutS * 1000,
        onStep: progressTo(io, Boolean(opts.json)),
      });
      emit(io, Boolean(opts.json), report, formatCheck);
      if (!report.ok) {
        throw new FleetError("CHECK_FAILED", `check failed:\n  ${report.failures.join("\n  ")}`, {
          suggestion: "`fleetctl status` shows each node; `fleetctl logs` shows why a delta was rejected",
          reported: Boolean(opts.json),
        });
      }
    });
}

export function formatCheck(r: CheckReport): string {
  const rows = r.nodes.map((n) => [n.nodeId, n.host, n.role, n.merged ? "yes" : "NO", n.mergeMs === null ? "-" : String(n.mergeMs), n.digest ? n.digest.slice(0, 12) : "-"]);
  let out = "\n" + table(["NODE", "HOST", "ROLE", "MERGED", "MS AFTER TEACH", "DIGEST"], rows);
  out += `\nteach: ${Math.round(r.teach.trainMs)} ms training, ${r.teach.roundTripMs} ms round trip, ${r.teach.bytes} bytes in ${r.teach.chunks} fragments\n`;
  if (r.ask) out += `ask ${r.ask.nodeId}: "${r.ask.answer}" in ${Math.round(r.ask.ms)} ms (${r.ask.matches ? "same as the teacher" : `teacher: "${r.ask.expected}"`})\n`;
  out += `digests ${r.digestsAgree ? "agree" : "DISAGREE"}; ${r.ok ? "check passed" : "check FAILED"} in ${r.totalMs} ms\n`;
  return out;
}
