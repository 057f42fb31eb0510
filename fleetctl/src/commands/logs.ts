import { Command } from "commander";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { runPlaybook } from "../ansible/playbook.js";
import { usageError } from "../errors.js";
import { emit, processIo, type Io } from "../io.js";
import { inventoryFrom, limitFrom, withInventory } from "./playbook-options.js";

interface LogsOptions {
  inventory?: string;
  limit?: string;
  lines: string;
  out?: string;
  json?: boolean;
}

export interface NodeLog {
  host: string;
  log: string;
}

/** `fleetctl logs`: the latest lines of every node's log, host by host. */
export function logsCommand(io: Io = processIo): Command {
  return withInventory(new Command("logs"))
    .description("show the latest log lines of the node on every Pi")
    .option("-l, --limit <hosts>", "only these hosts (comma-separated host names or node ids)")
    .option("-n, --lines <n>", "lines per node", "200")
    .option("-o, --out <dir>", "also write each node's log to <dir>/<host>.log")
    .option("--json", "print the logs as JSON")
    .action(async (opts: LogsOptions) => {
      const lines = Number(opts.lines);
      if (!Number.isInteger(lines) || lines < 1) throw usageError(`--lines ${opts.lines} is not a positive whole number`);
      const inv = await inventoryFrom(opts);
      const limit = limitFrom(inv, opts.limit);
      const extraVars: Record<string, unknown> = { fleet_node_logs_lines: lines };
      if (opts.out) {
        const dir = resolve(opts.out);
        mkdirSync(dir, { recursive: true });
        extraVars.fleet_node_logs_dest = dir;
      }
      const summary = await runPlaybook({ playbook: "logs", inventory: inv.file, io, quiet: true, limit, extraVars });
      const logs: NodeLog[] = summary.hosts.map((h) => ({
        host: h.host,
        log: h.tasks.find((t) => t.output !== undefined)?.output ?? "",
      }));
      emit(io, Boolean(opts.json), { logs }, (d) =>
        d.logs.map((l) => `==> ${l.host} <==\n${l.log}${l.log.endsWith("\n") || l.log === "" ? "" : "\n"}`).join("\n"),
      );
    });
}
