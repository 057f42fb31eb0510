import { Command, Option } from "commander";
import { z } from "zod";
import { emit, processIo, progressTo, table, type Io } from "../io.js";
import { DEFAULT_SIM_IMAGE, simNodeImage } from "../image/arch.js";
import { simDown, simUp } from "../sim/sim.js";
import { actionWith, flag, wholeNumber } from "./options.js";

export const DEFAULT_SIM_NETWORK = "deltafleet-sim";

/** How many Pis `sim up` starts when -n is not given. */
export const SIM_COUNT = 3;
/** More would be more containers with a Docker engine each than one machine carries well. */
const SIM_MAX_COUNT = 32;

const simUpOptions = z.object({
  count: wholeNumber(1, SIM_MAX_COUNT),
  inventory: z.string({ error: "sim up needs a file to write the simulated fleet's inventory to" }),
  image: z.string(),
  nodeImage: z.string(),
  network: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "is not a docker network name"),
  user: z.string(),
  json: flag,
});
const simDownOptions = z.object({ inventory: z.string().optional(), network: z.string(), json: flag });

/** `fleetctl sim up|down`: a fleet of simulated Pis on this machine, for trying the playbooks. */
export function simCommand(io: Io = processIo): Command {
  const sim = new Command("sim").description("a simulated Pi fleet on this machine (containers with sshd and Docker inside)");
  const up = sim
    .command("up")
    .description("start N simulated Pis on their own bridge network and write their inventory")
    .addOption(new Option("-n, --count <n>", "how many Pis").default(SIM_COUNT))
    .option("-i, --inventory <file>", "where to write the inventory")
    .option("--image <tag>", "the simulated-Pi image", process.env.FLEET_SIM_IMAGE ?? DEFAULT_SIM_IMAGE)
    .option("--node-image <tag>", "the node image the Pis will run (this machine's architecture)", process.env.FLEET_NODE_IMAGE ?? simNodeImage())
    .option("--network <name>", "the docker network (and name prefix)", DEFAULT_SIM_NETWORK)
    .option("--user <name>", "the SSH user on the simulated Pis", "root")
    .option("--json", "print what was started as JSON");
  actionWith(up, simUpOptions, async (opts) => {
    const r = await simUp({
      count: opts.count,
      inventory: opts.inventory,
      image: opts.image,
      nodeImage: opts.nodeImage,
      network: opts.network,
      sshUser: opts.user,
      onStep: progressTo(io, opts.json),
    });
    emit(io, opts.json, r, (d) =>
      "\n" + table(["HOST", "ADDRESS", "CONTAINER"], d.hosts.map((h) => [h.name, h.address, h.container])) +
      `\ninventory written to ${d.inventory}\nnext: fleetctl up -i ${opts.inventory}\n`,
    );
  });
  const down = sim
    .command("down")
    .description("remove the simulated Pis and their network (and the inventory, if given)")
    .option("-i, --inventory <file>", "the inventory sim up wrote (removed with its key)")
    .option("--network <name>", "the docker network of the sim", DEFAULT_SIM_NETWORK)
    .option("--json", "print what was removed as JSON");
  actionWith(down, simDownOptions, async (opts) => {
    const r = await simDown({ network: opts.network, inventory: opts.inventory });
    emit(io, opts.json, r, (d) => `removed ${d.removedContainers.length} simulated Pi(s)${d.removedNetwork ? ` and network ${d.network}` : ""}\n`);
  });
  return sim;
}
