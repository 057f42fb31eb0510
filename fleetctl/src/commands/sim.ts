import { Command } from "commander";
import { usageError } from "../errors.js";
import { emit, processIo, progressTo, table, type Io } from "../io.js";
import { DEFAULT_SIM_IMAGE, simNodeImage } from "../image/arch.js";
import { simDown, simUp } from "../sim/sim.js";

export const DEFAULT_SIM_NETWORK = "deltafleet-sim";

interface SimUpCli {
  count: string;
  inventory?: string;
  image: string;
  nodeImage: string;
  network: string;
  user: string;
  json?: boolean;
}

/** `fleetctl sim up|down`: a fleet of simulated Pis on this machine, for trying the playbooks. */
export function simCommand(io: Io = processIo): Command {
  const sim = new Command("sim").description("a simulated Pi fleet on this machine (containers with sshd and Docker inside)");
  sim
    .command("up")
    .description("start N simulated Pis on their own bridge network and write their inventory")
    .option("-n, --count <n>", "how many Pis", "3")
    .option("-i, --inventory <file>", "where to write the inventory")
    .option("--image <tag>", "the simulated-Pi image", process.env.FLEET_SIM_IMAGE ?? DEFAULT_SIM_IMAGE)
    .option("--node-image <tag>", "the node image the Pis will run (this machine's architecture)", process.env.FLEET_NODE_IMAGE ?? simNodeImage())
    .option("--network <name>", "the docker network (and name prefix)", DEFAULT_SIM_NETWORK)
    .option("--user <name>", "the SSH user on the simulated Pis", "root")
    .option("--json", "print what was started as JSON")
    .action(async (opts: SimUpCli) => {
      const count = Number(opts.count);
      if (!Number.isInteger(count) || count < 1 || count > 32) throw usageError(`-n ${opts.count}: give a whole number of Pis from 1 to 32`);
      if (!opts.inventory) throw usageError("sim up needs --inventory <file> to write the simulated fleet's inventory to");
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(opts.network)) throw usageError(`--network ${opts.network} is not a docker network name`);
      const r = await simUp({
        count,
        inventory: opts.inventory,
        image: opts.image,
        nodeImage: opts.nodeImage,
        network: opts.network,
        sshUser: opts.user,
        onStep: progressTo(io, Boolean(opts.json)),
      });
      emit(io, Boolean(opts.json), r, (d) =>
        "\n" + table(["HOST", "ADDRESS", "CONTAINER"], d.hosts.map((h) => [h.name, h.address, h.container])) +
        `\ninventory written to ${d.inventory}\nnext: fleetctl up -i ${opts.inventory}\n`,
      );
    });
  sim
    .command("down")
    .description("remove the simulated Pis and their network (and the inventory, if given)")
    .option("-i, --inventory <file>", "the inventory sim up wrote (removed with its key)")
    .option("--network <name>", "the docker network of the sim", DEFAULT_SIM_NETWORK)
    .option("--json", "print what was removed as JSON")
    .action(async (opts: { inventory?: string; network: string; json?: boolean }) => {
      const r = await simDown({ network: opts.network, inventory: opts.inventory });
      emit(io, Boolean(opts.json), r, (d) => `removed ${d.removedContainers.length} simulated Pi(s)${d.removedNetwork ? ` and network ${d.network}` : ""}\n`);
    });
  return sim;
}
