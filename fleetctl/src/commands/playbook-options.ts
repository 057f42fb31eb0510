// What every command that runs a playbook shares: its options, their checks, and the run itself.

import { Command, Option } from "commander";
import { formatSummary, runPlaybook, type PlaybookName, type PlaybookSummary } from "../ansible/playbook.js";
import { usageError } from "../errors.js";
import { loadInventory, selectHosts, type Inventory } from "../inventory.js";
import { emit, type Io } from "../io.js";

export interface FleetOptions {
  inventory?: string;
  limit?: string;
  verbose?: boolean;
  json?: boolean;
}

/** -i/--inventory (or FLEET_INVENTORY) on a command. */
export function withInventory(cmd: Command): Command {
  return cmd.addOption(new Option("-i, --inventory <file>", "the fleet's Ansible inventory").env("FLEET_INVENTORY"));
}

export function withPlaybookOptions(cmd: Command): Command {
  return withInventory(cmd)
    .option("-l, --limit <hosts>", "only these hosts (comma-separated host names or node ids)")
    .option("-v, --verbose", "show Ansible's own output instead of the per-host progress")
    .option("--json", "print the per-host summary as JSON");
}

/** The inventory a command was given, read and checked; a usage error when none was given. */
export async function inventoryFrom(opts: FleetOptions): Promise<Inventory> {
  if (!opts.inventory) {
    throw usageError("no inventory given", "pass -i <inventory.yml> (or set FLEET_INVENTORY); ansible/inventory/hosts.yml shows the format");
  }
  return loadInventory(opts.inventory);
}

export function limitFrom(inv: Inventory, limit: string | undefined): string[] | undefined {
  if (limit === undefined) return undefined;
  const names = limit.split(",").map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw usageError("--limit names no hosts", "e.g. --limit pi-1,pi-2");
  return selectHosts(inv, names).map((h) => h.name);
}

/** Checks the options, runs the playbook, prints the summary; FleetErrors go to the caller. */
export async function playbookAction(io: Io, playbook: PlaybookName, opts: FleetOptions, extraVars?: Record<string, unknown>): Promise<PlaybookSummary> {
  const inv = await inventoryFrom(opts);
  const limit = limitFrom(inv, opts.limit);
  const summary = await runPlaybook({
    playbook,
    inventory: inv.file,
    io,
    verbose: opts.verbose,
    quiet: opts.json,
    limit,
    extraVars,
  });
  emit(io, Boolean(opts.json), summary, formatSummary);
  return summary;
}
