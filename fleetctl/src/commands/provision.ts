import { Command } from "commander";
import { processIo, type Io } from "../io.js";
import { playbookAction, withPlaybookOptions, type FleetOptions } from "./playbook-options.js";

/** `fleetctl provision`: Docker Engine, the node image and the model on every Pi. */
export function provisionCommand(io: Io = processIo): Command {
  return withPlaybookOptions(new Command("provision"))
    .description("install Docker on the Pis and give them the node image and model (changes only what is missing)")
    .action(async (opts: FleetOptions) => {
      await playbookAction(io, "provision", opts);
    });
}
