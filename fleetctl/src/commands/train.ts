import { Command, Option } from "commander";
import { readFileSync, statSync } from "node:fs";
import { z } from "zod";
import { FleetError } from "../errors.js";
import { emit, processIo, progressTo, table, type Io } from "../io.js";
import { nodeAddressOf } from "../nodes/client.js";
import { runTrain, type TrainReport } from "../nodes/train.js";
import { selectHosts } from "../inventory.js";
import { DATASET_MAX_BYTES, parseJsonl } from "../../../node/src/train/dataset.js";
import { actionWith, flag, hostList, LONG_WAIT_MAX_S, seconds, text, timeoutOption, wholeNumber } from "./options.js";
import { inventoryFrom, inventoryOption, withInventory, withLimit } from "./playbook-options.js";

/** The job's whole run, by default: rounds of a classroom data set take seconds to minutes on Pis. */
export const TRAIN_TIMEOUT_S = 1800;

const trainOptions = z.object({
  ...inventoryOption,
  limit: hostList.optional(),
  dataset: text,
  rounds: wholeNumber(1, 100),
  mode: z.enum(["fedavg", "gossip"]).default("fedavg"),
  stragglerTimeout: seconds(600),
  overlap: z.preprocess((v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v), z.number({ error: "is not a share from 0 to 1" }).min(0, "is not a share from 0 to 1").max(1, "is not a share from 0 to 1")),
  coordinator: z.string().optional(),
  timeout: seconds(LONG_WAIT_MAX_S),
  json: flag,
});

/** `fleetctl train`: a training job over the fleet (POST /train on one node, the data set in the
 * request), its rounds shown as they finish, then every node's digest. Exit 0 only when the job is
 * done and every node that answers holds the same model. */
export function trainCommand(io: Io = processIo): Command {
  const cmd = withLimit(withInventory(new Command("train")))
    .description("train the fleet's model on a data set of question/answer pairs (JSONL): federated rounds coordinated by one node, one model on every node at the end")
    .requiredOption("--dataset <file>", 'JSONL, one {"question": ..., "answer": ...} a line (data/quiz.jsonl is an example)')
    .requiredOption("--rounds <n>", "rounds of one local epoch each (1-100)")
    .addOption(new Option("--mode <mode>", "how updates are combined").choices(["fedavg", "gossip"]).default("fedavg"))
    .addOption(new Option("--straggler-timeout <seconds>", "a round closes this long after it started, with the updates that arrived").default(30, "30 s"))
    .addOption(new Option("--overlap <share>", "share of each shard (0-1) also given to the next member").default(0.1))
    .option("--coordinator <node>", "the node that runs the job (default: the first in the inventory)")
    .addOption(timeoutOption("how long the job may take", TRAIN_TIMEOUT_S))
    .option("--json", "print the report as JSON");
  return actionWith(cmd, trainOptions, async (o) => {
    let size: number;
    try {
      size = statSync(o.dataset).size;
    } catch (e) {
      throw new FleetError("USAGE", `cannot read the data set ${o.dataset}: ${(e as Error).message}`, { suggestion: "give a JSONL file, e.g. --dataset data/quiz.jsonl" });
    }
    if (size > DATASET_MAX_BYTES) throw new FleetError("USAGE", `the data set ${o.dataset} is ${size} bytes; a job takes at most ${DATASET_MAX_BYTES}`);
    const pairs = parseJsonl(readFileSync(o.dataset, "utf8"), o.dataset);
    if (typeof pairs === "string") throw new FleetError("USAGE", pairs, { suggestion: 'each line: {"question": "...", "answer": "..."}' });
    const inv = await inventoryFrom(o);
    const report = await runTrain({
      nodes: selectHosts(inv, o.limit).map(nodeAddressOf), coordinator: o.coordinator, pairs, rounds: o.rounds, mode: o.mode,
      stragglerTimeoutS: o.stragglerTimeout, overlap: o.overlap, timeoutMs: o.timeout * 1000, onStep: progressTo(io, o.json),
    });
    emit(io, o.json, report, formatTrain);
    if (!report.ok) {
      throw new FleetError("CHECK_FAILED", report.state !== "done" ? `job ${report.job} ${report.state}: ${report.error ?? "no reason given"}` : `job ${report.job} done, but the nodes' digests differ`, {
        suggestion: "`fleetctl status` shows each node's digest and what it lacks; `fleetctl logs` shows the rounds", reported: o.json,
      });
    }
  });
}

export function formatTrain(r: TrainReport): string {
  const rows = r.loss.map((l, i) => [String(i + 1), l.toFixed(3), String(r.members.length - r.stragglers.filter((s) => s.round === i + 1).length),
    r.stragglers.filter((s) => s.round === i + 1).map((s) => s.node).join(",") || "-", String(r.bytes[i] ?? "-")]);
  let out = "\n" + table(["ROUND", "LOSS", "AVERAGED", "LEFT OUT", "BYTES"], rows);
  if (r.lossBefore !== null) out += `loss before round 1: ${r.lossBefore.toFixed(3)}\n`;
  out += `job ${r.job} on ${r.coordinator}: ${r.state} in ${r.seconds} s; ${r.pairs} pairs over ${r.members.join(", ")}\n`;
  out += `digests: ${Object.entries(r.digests).map(([n, d]) => `${n} ${d ? d.slice(0, 12) : "down"}`).join(", ")} — ${r.digestsAgree ? "one model" : "DIFFER"}\n`;
  return out;
}
