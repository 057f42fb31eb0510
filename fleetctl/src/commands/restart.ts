import { Command } from "commander";
import { processIo, type Io } from "../io.js";
import { playbookAction, withPlaybookOptions, type FleetOptions } from "./playbook-options.js";

/** `fleetctl restart`: restarts the running node containers. */
export function restartCommand(io: Io = processIo): Command {
  return withPlaybookOptions(new Command("restart"))
    .description("restart the node on every Pi")
    .action(async (opts: FleetOptions) => {
      await playbookAction(io, "restart", opts);
    });
}
