// What every command that runs a playbook shares: its options, their schema, and the run itself.

import { Command, Option } from "commander";
import { z } from "zod";
import { formatSummary, runPlaybook, type PlaybookName, type PlaybookSummary } from "../ansible/playbook.js";
import { usageError } from "../errors.js";
import { loadInventory, selectHosts, type Inventory } from "../inventory.js";
import { emit, type Io } from "../io.js";
import { actionWith, flag, hostList } from "./options.js";

/** -i/--inventory as every command that reads the fleet takes it. */
export const inventoryOption = { inventory: z.string().optional() };

export const playbookOptions = z.object({ ...inventoryOption, limit: hostList.optional(), verbose: flag, json: flag });
export type FleetOptions = z.output<typeof playbookOptions>;

/** -i/--inventory (or FLEET_INVENTORY) on a command. */
export function withInventory(cmd: Command): Command {
  return cmd.addOption(new Option("-i, --inventory <file>", "the fleet's Ansible inventory").env("FLEET_INVENTORY"));
}

export function withLimit(cmd: Command): Command {
  return cmd.option("-l, --limit <hosts>", "only these hosts (comma-separated host names or node ids)");
}

/** A command that runs `playbook` on the fleet and prints the per-host summary. */
export function playbookCommand(io: Io, playbook: PlaybookName, description: string): Command {
  const cmd = withLimit(withInventory(new Command(playbook)))
    .description(description)
    .option("-v, --verbose", "show Ansible's own output instead of the per-host progress")
    .option("--json", "print the per-host summary as JSON");
  return actionWith(cmd, playbookOptions, async (o) => {
    await playbookAction(io, playbook, o);
  });
}

/** The inventory a command was given, read and checked; a usage error when none was given. */
export async function inventoryFrom(opts: { inventory?: string }): Promise<Inventory> {
  if (!opts.inventory) {
    throw usageError("no inventory given", "pass -i <inventory.yml> (or set FLEET_INVENTORY); ansible/inventory/hosts.yml shows the format");
  }
  return loadInventory(opts.inventory);
}

/** Ansible's --limit for the hosts named (host names or node ids); undefined for all. */
export function limitFrom(inv: Inventory, names: string[] | undefined): string[] | undefined {
  return names === undefined ? undefined : selectHosts(inv, names).map((h) => h.name);
}

/** Runs the playbook and prints the summary; FleetErrors go to the caller. */
export async function playbookAction(io: Io, playbook: PlaybookName, opts: FleetOptions, extraVars?: Record<string, unknown>): Promise<PlaybookSummary> {
  const inv = await inventoryFrom(opts);
  const summary = await runPlaybook({
    playbook,
    inventory: inv.file,
    io,
    verbose: opts.verbose,
    quiet: opts.json,
    limit: limitFrom(inv, opts.limit),
    extraVars,
  });
  emit(io, opts.json, summary, formatSummary);
  return summary;
}
