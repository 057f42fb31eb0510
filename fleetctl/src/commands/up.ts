import { Command } from "commander";
import { processIo, type Io } from "../io.js";
import { playbookAction, withPlaybookOptions, type FleetOptions } from "./playbook-options.js";

/** `fleetctl up`: provisions what is missing, then runs the node on every Pi and waits until it
 * answers ready. A second run changes nothing. */
export function upCommand(io: Io = processIo): Command {
  return withPlaybookOptions(new Command("up"))
    .description("provision what is missing, then start the node on every Pi and wait until it is ready")
    .action(async (opts: FleetOptions) => {
      await playbookAction(io, "up", opts);
    });
}
