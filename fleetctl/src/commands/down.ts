import { Command } from "commander";
import { processIo, type Io } from "../io.js";
import { playbookAction, withPlaybookOptions, type FleetOptions } from "./playbook-options.js";

/** `fleetctl down`: stops and removes the node containers; image, model and state stay. */
export function downCommand(io: Io = processIo): Command {
  return withPlaybookOptions(new Command("down"))
    .description("stop and remove the node on every Pi (its image, model and learned state stay)")
    .action(async (opts: FleetOptions) => {
      await playbookAction(io, "down", opts);
    });
}
