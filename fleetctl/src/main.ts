#!/usr/bin/env node
// fleetctl: runs a DeltaFleet on Raspberry Pis (or a simulated fleet on this machine). This file
// only wires: a program factory (tests build a fresh tree with exitOverride()) and the one place
// errors become messages and exit codes (0 ok, 1 failure, 2 usage).

import { Command, CommanderError } from "commander";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { checkCommand } from "./commands/check.js";
import { dashboardCommand } from "./commands/dashboard.js";
import { demoCommand } from "./commands/demo.js";
import { downCommand } from "./commands/down.js";
import { imageCommand } from "./commands/image.js";
import { logsCommand } from "./commands/logs.js";
import { monitorCommand } from "./commands/monitor.js";
import { provisionCommand } from "./commands/provision.js";
import { restartCommand } from "./commands/restart.js";
import { rosterCommand } from "./commands/roster.js";
import { simCommand } from "./commands/sim.js";
import { statusCommand } from "./commands/status.js";
import { trainCommand } from "./commands/train.js";
import { upCommand } from "./commands/up.js";
import { errorJson, FleetError } from "./errors.js";
import { EXAMPLES, examplesHelp } from "./examples.js";
import { processIo, type Io } from "./io.js";

export function buildProgram(io: Io = processIo): Command {
  const program = new Command("fleetctl")
    .description("run a DeltaFleet: provision Raspberry Pis with Ansible, start and check the nodes")
    .version("0.1.0")
    .showSuggestionAfterError()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  for (const cmd of [
    demoCommand(io),
    provisionCommand(io),
    upCommand(io),
    downCommand(io),
    restartCommand(io),
    statusCommand(io),
    dashboardCommand(io),
    logsCommand(io),
    checkCommand(io),
    trainCommand(io),
    rosterCommand(io),
    simCommand(io),
    imageCommand(io),
    monitorCommand(io),
  ]) {
    program.addCommand(cmd);
  }
  // Every subcommand reports usage mistakes through the same edge as everything else.
  for (const c of allCommands(program)) {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
    const examples = EXAMPLES[commandPath(c)];
    if (examples) c.addHelpText("after", examplesHelp(examples));
  }
  return program;
}

/** A command and every command below it. */
export function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}

/** "sim up" for `fleetctl sim up`; "" for fleetctl itself. */
export function commandPath(c: Command): string {
  return c.parent ? [commandPath(c.parent), c.name()].filter(Boolean).join(" ") : "";
}

/** Parses argv and runs the command; resolves with the exit code instead of exiting. */
export async function runCli(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    return reportError(e, io, argv.includes("--json"));
  }
}

export function reportError(e: unknown, io: Io, json: boolean): number {
  if (e instanceof CommanderError) {
    // Help and --version end up here as "errors" with exit code 0.
    if (e.exitCode === 0) return 0;
    return 2;
  }
  if (e instanceof FleetError) {
    if (json && !e.reported) io.out(JSON.stringify(errorJson(e), null, 2) + "\n");
    io.err(`fleetctl: ${e.message}\n`);
    if (e.suggestion) io.err(`  → ${e.suggestion}\n`);
    return e.exitCode;
  }
  io.err(`fleetctl: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 1;
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  process.exitCode = await runCli(process.argv.slice(2));
}
