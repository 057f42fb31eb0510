// The node image as an instructor builds it on a machine with no registry: both architectures from
// stand-in base images made here, the Pi's (arm64) run under qemu. `npm run test:fleet`; needs a
// Docker engine, debootstrap and qemu-user-static with binfmt (scripts/start-dockerd.sh).

import { test } from "node:test";
import assert from "node:assert/strict";
import { needs } from "../../../test/support/needs.js";
import { fleetctl } from "../../../test/support/fleetctl/run-fleetctl.js";
import type { BuiltImage } from "./build.js";
import type { SmokeResult } from "./smoke.js";
import { PRESET_NAMES } from "../../../node/src/model/default-model.js";

const ARM64_TARGET_BYTES = 250e6;
const skip = needs("docker", "debootstrap", "qemu-arm64");

test("fleetctl image build --arch all --sim: a node image per architecture, the Pi's under 250 MB, and the simulated Pi", { skip, timeout: 40 * 60_000 }, async (t) => {
  const r = await fleetctl("image", "build", "--arch", "all", "--sim", "--json");
  assert.equal(r.code, 0, "image build");
  const images = (JSON.parse(r.stdout) as { images: BuiltImage[] }).images;
  for (const i of images) t.diagnostic(`${i.kind} ${i.arch}: ${(i.sizeBytes / 1e6).toFixed(1)} MB, base ${i.base.source}, built in ${(i.buildMs / 1000).toFixed(0)} s`);
  const node = (arch: string) => images.find((i) => i.kind === "node" && i.arch === arch);
  assert.ok(node("amd64") && node("arm64"), "a node image for amd64 and for arm64");
  assert.ok(node("arm64")!.tags.includes("deltafleet/node:latest-arm64"));
  assert.ok(node("arm64")!.sizeBytes <= ARM64_TARGET_BYTES, `arm64 image is ${(node("arm64")!.sizeBytes / 1e6).toFixed(1)} MB`);
  assert.ok(images.some((i) => i.kind === "pi-sim"), "the simulated-Pi image");
});

test("each image starts, is healthy, and generates with ONNX Runtime the answer the other architecture gives, on every preset", { skip, timeout: 20 * 60_000 }, async (t) => {
  for (const preset of PRESET_NAMES) {
    const smoke: Record<string, SmokeResult> = {};
    for (const arch of ["amd64", "arm64"]) {
      const r = await fleetctl("image", "smoke", "--arch", arch, "--preset", preset, "--timeout", "600", "--json");
      assert.equal(r.code, 0, `image smoke --arch ${arch} --preset ${preset}`);
      smoke[arch] = JSON.parse(r.stdout) as SmokeResult;
      t.diagnostic(`${arch} ${preset}: ready after ${smoke[arch]!.readyMs} ms, answered ${JSON.stringify(smoke[arch]!.answer)} in ${smoke[arch]!.askMs} ms`);
    }
    // Both images make the preset from the same seed (tiny-gpt2 at build, classroom at the node's
    // first start) and run greedy decoding on it: the same weights and the same answer, whatever
    // the processor.
    assert.equal(smoke.arm64!.fingerprint, smoke.amd64!.fingerprint, preset);
    assert.match(smoke.arm64!.fingerprint, /\S/);
    assert.equal(smoke.arm64!.answer, smoke.amd64!.answer, preset);
  }
});
