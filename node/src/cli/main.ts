#!/usr/bin/env node
// fleet-node's entry point: wires the commands and turns errors into exit codes (0 ok, 1 failure,
// 2 usage). The commands live one per file beside it.

import { Command, CommanderError } from "commander";
import { UsageError } from "../node/options.js";
import { identityCommand } from "./identity.js";
import { modelCommand } from "./model.js";
import { configureRun } from "./run.js";

export function buildProgram(): Command {
  const program = new Command("fleet-node")
    .description("A DeltaFleet node: answers questions with tiny GPT-2, learns corrections, and shares them with its peers as deltas over UDP")
    .showHelpAfterError("(fleet-node --help lists every flag)")
    .exitOverride()
    // `model` subcommands have a --model of their own: program options stop at the subcommand.
    .enablePositionalOptions();
  configureRun(program, async () => (await import("../node/wiring.js")).realDeps);
  program.addCommand(modelCommand());
  program.addCommand(identityCommand());
  // Usage mistakes in any subcommand reach main() too (exit 2), not commander's own exit(1).
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const c of all(program)) c.exitOverride();
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version" ? 0 : 2;
      return;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`fleet-node: ${e.problems.join("\nfleet-node: ")}\n(fleet-node --help lists every flag)\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`fleet-node: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}

await main();
