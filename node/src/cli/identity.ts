// `fleet-node identity --state-dir DIR --id ID`: this node's roster line, `<ID> <base64 public
// key>`, creating the key in DIR (identity.key) when it has none. The same line on every run, so an
// enrolment playbook can collect it as often as it runs; the node's own start creates the same key.

import { Command } from "commander";
import { resolve } from "node:path";
import { UsageError } from "../node/options.js";
import { IdentityError, loadOrCreateIdentity, rosterLine } from "../trust/keys.js";
import { isNodeId, NODE_ID_RULE } from "../util/ids.js";

export function identityCommand(): Command {
  return new Command("identity")
    .description("print this node's roster line (<node-id> <base64 Ed25519 public key>), creating its key in the state folder if missing")
    .requiredOption("--state-dir <dir>", "the node's state folder (its key is <dir>/identity.key)")
    .requiredOption("--id <node-id>", "the node's id, as it runs (fleet-node <node-id>)")
    .addHelpText("after", `
The line goes into the fleet's roster file (--roster); the private key never leaves the folder.

Example:
  fleet-node identity --state-dir ./state/Pi-1 --id Pi-1 >> roster.txt`)
    .exitOverride()
    .action((o: { stateDir: string; id: string }) => {
      if (!isNodeId(o.id)) throw new UsageError([`--id ${JSON.stringify(o.id)}: a node id is ${NODE_ID_RULE}`]);
      try {
        process.stdout.write(rosterLine(o.id, loadOrCreateIdentity(resolve(o.stateDir))) + "\n");
      } catch (e) {
        if (!(e instanceof IdentityError) && !(e as NodeJS.ErrnoException).code) throw e;
        process.stderr.write(`fleet-node identity: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
