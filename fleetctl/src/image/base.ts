// The base images the Dockerfiles name (node:20-bookworm-slim, debian:bookworm-slim): pulled from
// Docker Hub where it answers, otherwise built here by docker/base/build-base.sh (Debian's mirror +
// the npm registry's Node binary) and tagged as the official ones for the architecture about to be
// built. One tag names one image in Docker's store, so the tags are re-pointed before every build.

import { join } from "node:path";
import { FleetError } from "../errors.js";
import { run } from "../exec.js";
import type { Arch } from "./arch.js";
import { docker, dockerOk, imageArch } from "../docker.js";

export const NODE_BASE = "node:20-bookworm-slim";
export const DEBIAN_BASE = "debian:bookworm-slim";
const STAND_IN = {
  [NODE_BASE]: (arch: Arch) => `deltafleet/base:node20-bookworm-slim-${arch}`,
  [DEBIAN_BASE]: (arch: Arch) => `deltafleet/base:debian-bookworm-slim-${arch}`,
} as const;

export interface BaseChoice {
  image: string;
  /** "pulled" from a registry, or the "stand-in" built here. */
  source: "pulled" | "stand-in";
}

/** Makes `base` name an image for `arch`: the official one if it can be pulled, else the stand-in. */
export async function pointBaseAt(base: keyof typeof STAND_IN, arch: Arch, root: string, onStep: (l: string) => void): Promise<BaseChoice> {
  const pulled = await docker(["pull", "--quiet", "--platform", `linux/${arch}`, base], { timeoutMs: 300_000 });
  if (pulled.exitCode === 0 && (await imageArch(base)) === arch) return { image: base, source: "pulled" };

  const standIn = STAND_IN[base](arch);
  if ((await imageArch(standIn)) !== arch) {
    onStep(`${base} cannot be pulled here: building a stand-in for ${arch} (Debian's mirror + the npm registry's Node; a few minutes, once)`);
    const r = await run("bash", [join(root, "docker", "base", "build-base.sh"), arch], {
      timeoutMs: 1_800_000,
      onStdoutLine: (l) => onStep(l),
    });
    if (r.exitCode !== 0) {
      throw new FleetError("IMAGE_FAILED", `building the ${arch} base images failed: ${r.stderr.trim().split("\n").slice(-6).join("\n")}`, {
        suggestion: arch === "arm64" ? "arm64 builds need qemu-user-static and binfmt-support (scripts/start-dockerd.sh checks)" : "apt-get install debootstrap; is Debian's mirror reachable?",
      });
    }
  }
  await dockerOk(["tag", standIn, base], `tagging ${standIn} as ${base}`, { code: "IMAGE_FAILED" });
  return { image: standIn, source: "stand-in" };
}
