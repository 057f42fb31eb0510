import { Command } from "commander";
import { z } from "zod";
import { FleetError } from "../errors.js";
import { emit, processIo, progressTo, table, type Io } from "../io.js";
import { MERGE_TIMEOUT_S, runCheck, type CheckReport } from "../nodes/check.js";
import { nodeAddressOf } from "../nodes/client.js";
import { describeRecall } from "../nodes/recall.js";
import { selectHosts } from "../inventory.js";
import { actionWith, flag, hostList, LONG_WAIT_MAX_S, seconds, text, timeoutOption } from "./options.js";
import { inventoryFrom, inventoryOption, withInventory, withLimit } from "./playbook-options.js";

const checkOptions = z
  .object({
    ...inventoryOption,
    limit: hostList.optional(),
    teacher: z.string().optional(),
    asker: z.string().optional(),
    question: text.optional(),
    answer: text.optional(),
    timeout: seconds(LONG_WAIT_MAX_S),
    json: flag,
  })
  .refine((o) => (o.question === undefined) === (o.answer === undefined), "--question and --answer go together");

/** `fleetctl check`: the end-to-end test on the running fleet (or the nodes of -l). Exit 0 only if
 * every node merged the taught version, none lacks an entry another holds, all digests agree and
 * another node answers as the teacher does. How many lessons each node recalls is reported, and
 * fails nothing. */
export function checkCommand(io: Io = processIo): Command {
  const cmd = withLimit(withInventory(new Command("check")))
    .description("teach one node a fresh QA pair, wait for every node to merge it, compare logs and models, ask another node, report each node's recall of the lessons")
    .option("--teacher <node>", "the node to teach (default: the first in the inventory)")
    .option("--asker <node>", "the node to ask afterwards (default: the first other node)")
    .option("--question <text>", "the question to teach (default: a fresh one)")
    .option("--answer <text>", "its answer (with --question)")
    .addOption(timeoutOption("how long every node gets to merge", MERGE_TIMEOUT_S))
    .option("--json", "print the report as JSON");
  return actionWith(cmd, checkOptions, async (o) => {
    const inv = await inventoryFrom(o);
    const report = await runCheck({
      nodes: selectHosts(inv, o.limit).map(nodeAddressOf),
      teacher: o.teacher,
      asker: o.asker,
      question: o.question,
      answer: o.answer,
      mergeTimeoutMs: o.timeout * 1000,
      onStep: progressTo(io, o.json),
    });
    emit(io, o.json, report, formatCheck);
    if (!report.ok) throw checkFailed(report, o.json);
  });
}

/** The error a failed check ends with: every failure, one per line. */
function checkFailed(r: CheckReport, reported: boolean): FleetError {
  return new FleetError("CHECK_FAILED", `check failed:\n  ${r.failures.join("\n  ")}`, {
    suggestion: "`fleetctl status` shows each node; `fleetctl logs` shows why a delta was rejected",
    reported,
  });
}

export function formatCheck(r: CheckReport): string {
  const log = (l: string[] | null) => (l === null ? "-" : l.length === 0 ? "converged" : `lacks ${l.length}`);
  const rows = r.nodes.map((n) => [n.nodeId, n.host, n.role, n.merged ? "yes" : "NO", n.mergeMs === null ? "-" : String(n.mergeMs), n.digest ? n.digest.slice(0, 12) : "-", log(n.lacking)]);
  let out = "\n" + table(["NODE", "HOST", "ROLE", "MERGED", "MS AFTER TEACH", "DIGEST", "LOG"], rows);
  out += `\nteach: ${Math.round(r.teach.trainMs)} ms training, ${r.teach.roundTripMs} ms round trip, ${r.teach.bytes} bytes in ${r.teach.chunks} fragments\n`;
  if (r.ask) out += `ask ${r.ask.nodeId}: "${r.ask.answer}" in ${Math.round(r.ask.ms)} ms (${r.ask.matches ? "same as the teacher" : `teacher: "${r.ask.expected}"`})\n`;
  for (const n of r.nodes) out += n.recall ? `${describeRecall(n.nodeId, n.recall)}\n` : `${n.nodeId}: recall unknown${n.recallUnknown ? ` (${n.recallUnknown})` : ""}\n`;
  out += `digests ${r.digestsAgree ? "agree" : "DISAGREE"}; ${r.ok ? "check passed" : "check FAILED"} in ${r.totalMs} ms\n`;
  return out;
}
