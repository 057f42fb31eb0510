import { Command } from "commander";
import { z } from "zod";
import { emit, processIo, progressTo, table, type Io } from "../io.js";
import { fleetRepoRoot } from "../paths.js";
import { ARCHES, archTag, DEFAULT_NODE_IMAGE, DEFAULT_SIM_IMAGE, readArches, type Arch } from "../image/arch.js";
import { buildImages } from "../image/build.js";
import { SMOKE_TIMEOUT_S, smokeImage } from "../image/smoke.js";
import { actionWith, flag, LONG_WAIT_MAX_S, preset, presetOption, seconds, timeoutOption } from "./options.js";

/** --arch: "arm64", "amd64", a comma list or "all". */
const arches = z.string().transform((spec, ctx): Arch[] => {
  const r = readArches(spec);
  if ("arches" in r) return r.arches;
  ctx.addIssue({ code: "custom", message: `${r.unknown || "(empty)"} is not one of ${ARCHES.join(", ")} (or all)` });
  return z.NEVER;
});

const buildOptions = z.object({ arch: arches, tag: z.string(), sim: flag, simTag: z.string(), json: flag });
const smokeOptions = z.object({
  arch: arches.refine((a) => a.length === 1, "smoke one architecture at a time"),
  image: z.string().optional(),
  preset,
  timeout: seconds(LONG_WAIT_MAX_S),
  json: flag,
});

/** `fleetctl image build|smoke`: the node image for the Pis (and amd64), built offline if need be. */
export function imageCommand(io: Io = processIo): Command {
  const image = new Command("image").description("build the node image (arm64 for the Pis, amd64) and try it");
  const build = image
    .command("build")
    .description("build the node image for each --arch (base images are built here when Docker Hub cannot be reached)")
    .option("--arch <archs>", "arm64, amd64, a comma list, or all", "arm64")
    .option("--tag <tag>", "tag of the first --arch's image (each also gets <tag>-<arch>)", DEFAULT_NODE_IMAGE)
    .option("--sim", "also build the simulated-Pi image for this machine (fleetctl sim up)")
    .option("--sim-tag <tag>", "tag of the simulated-Pi image", DEFAULT_SIM_IMAGE)
    .option("--json", "print what was built as JSON");
  actionWith(build, buildOptions, async (opts) => {
    const built = await buildImages({
      root: fleetRepoRoot(), arches: opts.arch, tag: opts.tag, sim: opts.sim ? { tag: opts.simTag } : undefined,
      onStep: progressTo(io, opts.json),
    });
    emit(io, opts.json, { images: built }, (d) =>
      "\n" + table(["IMAGE", "ARCH", "SIZE", "BASE", "BUILD", "TAGS"], d.images.map((b) => [
        b.kind, b.arch, `${(b.sizeBytes / 1e6).toFixed(0)} MB`, b.base.source, `${(b.buildMs / 1000).toFixed(0)} s`, b.tags.join(" "),
      ])) + `\nnext: fleetctl image smoke --arch ${opts.arch[0]}\n`,
    );
  });
  const smoke = image
    .command("smoke")
    .description("run the image (under qemu for another architecture): /health, /ready, one generated answer, /metrics, Docker's healthcheck")
    .option("--arch <arch>", "arm64 or amd64", "arm64")
    .option("--image <tag>", "the image to try (default: the --arch image of fleetctl image build)")
    .addOption(presetOption("the model the node runs (classroom is made at its first start)"))
    .addOption(timeoutOption("how long the whole check may take", SMOKE_TIMEOUT_S))
    .option("--json", "print the result as JSON");
  actionWith(smoke, smokeOptions, async (opts) => {
    const arch = opts.arch[0]!;
    const r = await smokeImage({
      image: opts.image ?? archTag(DEFAULT_NODE_IMAGE, arch), arch, preset: opts.preset, timeoutMs: opts.timeout * 1000,
      onStep: progressTo(io, opts.json),
    });
    emit(io, opts.json, r, (d) =>
      `\n${d.image} (${d.arch}, ${d.preset}) works: ready after ${(d.readyMs / 1000).toFixed(1)} s, answered ${JSON.stringify(d.answer)} in ${d.askMs} ms, ` +
      `${d.metricFamilies} fleet_ metric families, healthy after ${(d.healthyMs / 1000).toFixed(1)} s\n`,
    );
  });
  return image;
}
