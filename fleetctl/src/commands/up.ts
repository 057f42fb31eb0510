import type { Command } from "commander";
import { processIo, type Io } from "../io.js";
import { playbookCommand } from "./playbook-options.js";

/** `fleetctl up`: provisions what is missing, then runs the node on every Pi and waits until it
 * answers ready. A second run changes nothing. */
export function upCommand(io: Io = processIo): Command {
  return playbookCommand(io, "up", "provision what is missing, then start the node on every Pi and wait until it is ready");
}
