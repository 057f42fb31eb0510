import type { Command } from "commander";
import { processIo, type Io } from "../io.js";
import { playbookCommand } from "./playbook-options.js";

/** `fleetctl restart`: restarts the running node containers. */
export function restartCommand(io: Io = processIo): Command {
  return playbookCommand(io, "restart", "restart the node on every Pi");
}
