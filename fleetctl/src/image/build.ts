// `fleetctl image build`: the node image for each architecture asked for (docker/node/Dockerfile
// on a staged context), and the simulated-Pi image for this machine (docker/pi-sim/).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FleetError } from "../errors.js";
import { run } from "../exec.js";
import { archTag, nativeArch, type Arch } from "./arch.js";
import { DEBIAN_BASE, NODE_BASE, pointBaseAt, type BaseChoice } from "./base.js";
import { dockerOk, requireEngine } from "../docker.js";
import { stageNodeContext } from "./stage.js";

export interface BuiltImage {
  kind: "node" | "pi-sim";
  arch: Arch;
  /** Every tag the image got. */
  tags: string[];
  id: string;
  sizeBytes: number;
  base: BaseChoice;
  buildMs: number;
}

export interface BuildOptions {
  root: string;
  arches: Arch[];
  /** The plain tag; it names the image of the first architecture. Each also gets `<tag>-<arch>`. */
  tag: string;
  sim?: { tag: string };
  onStep?: (line: string) => void;
}

export async function buildImages(o: BuildOptions): Promise<BuiltImage[]> {
  const step = o.onStep ?? (() => {});
  await requireEngine();
  const out: BuiltImage[] = [];
  for (const [i, arch] of o.arches.entries()) {
    const tags = i === 0 ? [archTag(o.tag, arch), o.tag] : [archTag(o.tag, arch)];
    out.push(await buildNodeImage(o.root, arch, tags, step));
  }
  if (o.sim) out.push(await buildSimImage(o.root, o.sim.tag, step));
  return out;
}

async function buildNodeImage(root: string, arch: Arch, tags: string[], step: (l: string) => void): Promise<BuiltImage> {
  const t0 = Date.now();
  step(`[node ${arch}] base image`);
  const base = await pointBaseAt(NODE_BASE, arch, root, step);
  const ctx = mkdtempSync(join(tmpdir(), `deltafleet-image-${arch}-`));
  try {
    step(`[node ${arch}] staging the build context`);
    await stageNodeContext({ root, arch, dir: ctx, onStep: (l) => step(`[node ${arch}] ${l}`) });
    step(`[node ${arch}] docker build${arch === nativeArch() ? "" : " (under qemu: slower)"}`);
    await dockerOk(
      [
        "build", "--platform", `linux/${arch}`,
        "--file", join(root, "docker", "node", "Dockerfile"),
        "--build-arg", `VERSION=${packageVersion(root)}`,
        "--build-arg", `REVISION=${await gitRevision(root)}`,
        ...tags.flatMap((t) => ["--tag", t]),
        ctx,
      ],
      `building the node image for ${arch}`,
      { code: "IMAGE_FAILED", timeoutMs: 3_600_000, onLine: (l) => { if (/^Step \d+\/\d+/.test(l)) step(`[node ${arch}]   ${l}`); } },
    );
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  return { kind: "node", arch, tags, base, buildMs: Date.now() - t0, ...(await inspect(tags[0]!, arch)) };
}

async function buildSimImage(root: string, tag: string, step: (l: string) => void): Promise<BuiltImage> {
  const arch = nativeArch();
  if (!arch) throw new FleetError("IMAGE_FAILED", `a simulated Pi runs on amd64 or arm64 machines, this one is ${process.arch}`);
  const t0 = Date.now();
  step(`[pi-sim ${arch}] base image`);
  const base = await pointBaseAt(DEBIAN_BASE, arch, root, step);
  step(`[pi-sim ${arch}] docker build (apt installs sshd, Python and Docker from Debian's mirror)`);
  await dockerOk(["build", "--platform", `linux/${arch}`, "--tag", tag, join(root, "docker", "pi-sim")], "building the simulated-Pi image",
    { code: "IMAGE_FAILED", timeoutMs: 1_800_000, onLine: (l) => { if (/^Step \d+\/\d+/.test(l)) step(`[pi-sim ${arch}]   ${l}`); } });
  return { kind: "pi-sim", arch, tags: [tag], base, buildMs: Date.now() - t0, ...(await inspect(tag, arch)) };
}

async function inspect(tag: string, arch: Arch): Promise<{ id: string; sizeBytes: number }> {
  const [id, size, built] = (await dockerOk(["image", "inspect", "--format", "{{.Id}} {{.Size}} {{.Architecture}}", tag], `inspecting ${tag}`, { code: "IMAGE_FAILED" })).split(" ");
  if (built !== arch) throw new FleetError("IMAGE_FAILED", `${tag} came out as ${built}, not ${arch}`);
  return { id: id!, sizeBytes: Number(size) };
}

function packageVersion(root: string): string {
  return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
}

async function gitRevision(root: string): Promise<string> {
  const r = await run("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, timeoutMs: 10_000 }).catch(() => undefined);
  return r?.exitCode === 0 ? r.stdout.trim() : "unknown";
}
