import type { Command } from "commander";
import { processIo, type Io } from "../io.js";
import { playbookCommand } from "./playbook-options.js";

/** `fleetctl provision`: Docker Engine, the node image and the model on every Pi. */
export function provisionCommand(io: Io = processIo): Command {
  return playbookCommand(io, "provision", "install Docker on the Pis and give them the node image and model (changes only what is missing)");
}
