import type { Command } from "commander";
import { processIo, type Io } from "../io.js";
import { playbookCommand } from "./playbook-options.js";

/** `fleetctl down`: stops and removes the node containers; image, model and state stay. */
export function downCommand(io: Io = processIo): Command {
  return playbookCommand(io, "down", "stop and remove the node on every Pi (its image, model and learned state stay)");
}
