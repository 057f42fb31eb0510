import { Command, Option } from "commander";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { runPlaybook } from "../ansible/playbook.js";
import { emit, processIo, type Io } from "../io.js";
import { actionWith, flag, hostList, wholeNumber } from "./options.js";
import { inventoryFrom, inventoryOption, limitFrom, withInventory, withLimit } from "./playbook-options.js";

/** Lines per node when -n is not given. */
export const LOG_LINES = 200;

const logsOptions = z.object({ ...inventoryOption, limit: hostList.optional(), lines: wholeNumber(1), out: z.string().optional(), json: flag });

export interface NodeLog {
  host: string;
  log: string;
}

/** `fleetctl logs`: the latest lines of every node's log, host by host. */
export function logsCommand(io: Io = processIo): Command {
  const cmd = withLimit(withInventory(new Command("logs")))
    .description("show the latest log lines of the node on every Pi")
    .addOption(new Option("-n, --lines <n>", "lines per node").default(LOG_LINES))
    .option("-o, --out <dir>", "also write each node's log to <dir>/<host>.log")
    .option("--json", "print the logs as JSON");
  return actionWith(cmd, logsOptions, async (o) => {
    const inv = await inventoryFrom(o);
    const extraVars: Record<string, unknown> = { fleet_node_logs_lines: o.lines };
    if (o.out) {
      const dir = resolve(o.out);
      mkdirSync(dir, { recursive: true });
      extraVars.fleet_node_logs_dest = dir;
    }
    const summary = await runPlaybook({ playbook: "logs", inventory: inv.file, io, quiet: true, limit: limitFrom(inv, o.limit), extraVars });
    const logs: NodeLog[] = summary.hosts.map((h) => ({
      host: h.host,
      log: h.tasks.find((t) => t.output !== undefined)?.output ?? "",
    }));
    emit(io, o.json, { logs }, (d) =>
      d.logs.map((l) => `==> ${l.host} <==\n${l.log}${l.log.endsWith("\n") || l.log === "" ? "" : "\n"}`).join("\n"),
    );
  });
}
