// `fleetctl demo`: the first thing to run on a fresh machine. Starts a fleet of fleet-node
// processes on loopback, teaches Pi-1 a corrected answer, shows the delta going out in fragments
// and every other node receiving, verifying and merging it, asks Pi-2, and reports. Exit 0 only
// when every node merged and all hold the same model.

import { Command, Option } from "commander";
import { z } from "zod";
import { FleetError } from "../errors.js";
import { emit, processIo, type Io } from "../io.js";
import { formatReport } from "../demo/report.js";
import { DEMO_ANSWER, DEMO_MAX_NODES, DEMO_MIN_NODES, DEMO_NODES, DEMO_QUESTION, DEMO_TIMEOUT_S, runDemo } from "../demo/run-demo.js";
import { DEMO_LESSONS } from "../demo/lessons-run.js";
import { actionWith, flag, LONG_WAIT_MAX_S, preset, presetOption, seconds, text, timeoutOption, wholeNumber } from "./options.js";

export type { DemoReport } from "../demo/report.js";

const demoOptions = z.object({
  nodes: wholeNumber(DEMO_MIN_NODES, DEMO_MAX_NODES),
  question: text,
  answer: text,
  timeout: seconds(LONG_WAIT_MAX_S),
  keep: flag,
  json: flag,
  lessons: wholeNumber(0, DEMO_LESSONS.length),
  preset,
});

export function demoCommand(io: Io = processIo): Command {
  const cmd = new Command("demo")
    .description(`run a fleet of ${DEMO_NODES} nodes on this machine, teach one a correction and watch the others merge it`)
    .addOption(new Option("--nodes <n>", `how many nodes (${DEMO_MIN_NODES}-${DEMO_MAX_NODES})`).default(DEMO_NODES))
    .addOption(new Option("--question <text>", "the question Pi-1 is corrected on").default(DEMO_QUESTION))
    .addOption(new Option("--answer <text>", "the corrected answer").default(DEMO_ANSWER))
    .addOption(timeoutOption("give up on start-up, teaching or merges after this long", DEMO_TIMEOUT_S))
    .addOption(new Option("--lessons <n>", `then teach n lessons (0-${DEMO_LESSONS.length}) across the nodes and print what each recalls`).default(0))
    .addOption(presetOption("the model every node starts from"))
    .option("--keep", "keep the nodes' state folders (printed at the end)")
    .option("--json", "print the report as JSON");
  return actionWith(cmd, demoOptions, async (o) => {
    const report = await runDemo({ count: o.nodes, question: o.question, answer: o.answer, timeoutMs: o.timeout * 1000, keep: o.keep, lessons: o.lessons, preset: o.preset }, io, o.json);
    emit(io, o.json, report, formatReport);
    if (!report.ok) {
      throw new FleetError("CHECK_FAILED", `demo failed:\n  ${report.failures.join("\n  ")}`, {
        suggestion: "run again with --keep and read the nodes' logs in the printed state folder; `fleet-node <id> --log-level debug` shows every packet stage",
        reported: true,
      });
    }
  });
}
