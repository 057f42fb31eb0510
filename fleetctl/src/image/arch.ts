// The CPU architectures the node image is built for, in Docker's names, and how other tools name them.

export type Arch = "amd64" | "arm64";
export const ARCHES: readonly Arch[] = ["amd64", "arm64"];

/** The architectures "arm64", "amd64", "amd64,arm64" or "all" names (all: this machine's first),
 * or the part of `spec` that names none. */
export function readArches(spec: string): { arches: Arch[] } | { unknown: string } {
  if (spec === "all") return { arches: [...ARCHES].sort((a, b) => Number(b === nativeArch()) - Number(a === nativeArch())) };
  const out: Arch[] = [];
  for (const part of spec.split(",").map((s) => s.trim())) {
    if (!(ARCHES as readonly string[]).includes(part)) return { unknown: part };
    if (!out.includes(part as Arch)) out.push(part as Arch);
  }
  return { arches: out };
}

/** This machine's architecture in Docker's name; undefined for one we build no image for. */
export function nativeArch(nodeArch: string = process.arch): Arch | undefined {
  return nodeArch === "x64" ? "amd64" : nodeArch === "arm64" ? "arm64" : undefined;
}

/** ONNX Runtime's (and Node's) name for it: the CPU folder of onnxruntime-node/bin/napi-vN/linux. */
export function nodeArchName(arch: Arch): "x64" | "arm64" {
  return arch === "amd64" ? "x64" : "arm64";
}

/** The per-architecture tag beside a plain one: deltafleet/node:latest → deltafleet/node:latest-arm64. */
export function archTag(tag: string, arch: Arch): string {
  const colon = tag.lastIndexOf(":");
  return colon > tag.lastIndexOf("/") ? `${tag}-${arch}` : `${tag}:latest-${arch}`;
}

/** The node image as `fleetctl image build` tags it, and the simulated Pi's. */
export const DEFAULT_NODE_IMAGE = "deltafleet/node:latest";
export const DEFAULT_SIM_IMAGE = "deltafleet/pi-sim:latest";

/** What simulated Pis run: they are containers of this machine, so the image of its architecture. */
export function simNodeImage(arch: Arch = nativeArch() ?? "amd64"): string {
  return archTag(DEFAULT_NODE_IMAGE, arch);
}
