import { Command, Option } from "commander";
import { FleetError } from "../errors.js";
import { emit, processIo, progressTo, table, type Io } from "../io.js";
import { fleetRepoRoot } from "../paths.js";
import { archTag, DEFAULT_NODE_IMAGE, DEFAULT_SIM_IMAGE, parseArches } from "../image/arch.js";
import { buildImages } from "../image/build.js";
import { smokeImage } from "../image/smoke.js";

interface BuildCli { arch: string; tag: string; sim?: boolean; simTag: string; json?: boolean }
interface SmokeCli { arch: string; image?: string; timeout: string; json?: boolean }

/** `fleetctl image build|smoke`: the node image for the Pis (and amd64), built offline if need be. */
export function imageCommand(io: Io = processIo): Command {
  const image = new Command("image").description("build the node image (arm64 for the Pis, amd64) and try it");
  image
    .command("build")
    .description("build the node image for each --arch (base images are built here when Docker Hub cannot be reached)")
    .option("--arch <archs>", "arm64, amd64, a comma list, or all", "arm64")
    .option("--tag <tag>", "tag of the first --arch's image (each also gets <tag>-<arch>)", DEFAULT_NODE_IMAGE)
    .option("--sim", "also build the simulated-Pi image for this machine (fleetctl sim up)")
    .option("--sim-tag <tag>", "tag of the simulated-Pi image", DEFAULT_SIM_IMAGE)
    .option("--json", "print what was built as JSON")
    .action(async (opts: BuildCli) => {
      const arches = parseArches(opts.arch);
      const built = await buildImages({
        root: fleetRepoRoot(), arches, tag: opts.tag, sim: opts.sim ? { tag: opts.simTag } : undefined,
        onStep: progressTo(io, Boolean(opts.json)),
      });
      emit(io, Boolean(opts.json), { images: built }, (d) =>
        "\n" + table(["IMAGE", "ARCH", "SIZE", "BASE", "BUILD", "TAGS"], d.images.map((b) => [
          b.kind, b.arch, `${(b.sizeBytes / 1e6).toFixed(0)} MB`, b.base.source, `${(b.buildMs / 1000).toFixed(0)} s`, b.tags.join(" "),
        ])) + `\nnext: fleetctl image smoke --arch ${arches[0]}\n`,
      );
    });
  image
    .command("smoke")
    .description("run the image (under qemu for another architecture): /health, /ready, one generated answer, /metrics, Docker's healthcheck")
    .option("--arch <arch>", "arm64 or amd64", "arm64")
    .option("--image <tag>", "the image to try (default: the --arch image of fleetctl image build)")
    .addOption(new Option("--timeout <s>", "how long the whole check may take").default("300"))
    .option("--json", "print the result as JSON")
    .action(async (opts: SmokeCli) => {
      const arches = parseArches(opts.arch);
      if (arches.length !== 1) throw new FleetError("USAGE", `--arch ${opts.arch}: smoke one architecture at a time`);
      const timeoutS = Number(opts.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new FleetError("USAGE", `--timeout ${opts.timeout} is not a positive number of seconds`);
      const arch = arches[0]!;
      const r = await smokeImage({
        image: opts.image ?? archTag(DEFAULT_NODE_IMAGE, arch), arch, timeoutMs: timeoutS * 1000,
        onStep: progressTo(io, Boolean(opts.json)),
      });
      emit(io, Boolean(opts.json), r, (d) =>
        `\n${d.image} (${d.arch}) works: ready after ${(d.readyMs / 1000).toFixed(1)} s, answered ${JSON.stringify(d.answer)} in ${d.askMs} ms, ` +
        `${d.metricFamilies} fleet_ metric families, healthy after ${(d.healthyMs / 1000).toFixed(1)} s\n`,
      );
    });
  return image;
}
