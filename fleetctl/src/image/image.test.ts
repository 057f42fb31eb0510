// The pure parts of `fleetctl image`: architecture names, tags, what the image ships, and the
// /proc/cpuinfo an emulated Pi is shown.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { FleetError } from "../errors.js";
import { archTag, nativeArch, readArches } from "./arch.js";
import { memoryIo } from "../io.js";
import { runCli } from "../main.js";
import { raspberryPiCpuinfo } from "./emulated-cpuinfo.js";
import { pruneNativeBinaries, pruneUnloadedFiles, shippedFile } from "./stage.js";

const scratch = tempDirs("deltafleet-prune-");

test("--arch takes arm64, amd64, a comma list without repeats, or all with this machine's first", () => {
  assert.deepEqual(readArches("arm64"), { arches: ["arm64"] });
  assert.deepEqual(readArches("amd64, arm64,amd64"), { arches: ["amd64", "arm64"] });
  const all = readArches("all");
  assert.ok("arches" in all);
  assert.deepEqual([...all.arches].sort(), ["amd64", "arm64"]);
  if (nativeArch()) assert.equal(all.arches[0], nativeArch());
  assert.deepEqual(readArches("arm64,armv7"), { unknown: "armv7" });
  assert.deepEqual(readArches(""), { unknown: "" });
});

test("an unknown --arch is a usage error naming it", async () => {
  const io = memoryIo();
  assert.equal(await runCli(["image", "build", "--arch", "armv7"], io), 2);
  assert.match(io.stderr(), /--arch armv7: armv7 is not one of amd64, arm64 \(or all\)/);
  assert.equal(await runCli(["image", "smoke", "--arch", "all"], io), 2);
  assert.match(io.stderr(), /--arch all: smoke one architecture at a time/);
  assert.equal(await runCli(["image", "smoke", "--preset", "gpt-4"], io), 2);
  assert.match(io.stderr(), /--preset gpt-4: .*is not a preset: tiny-gpt2, classroom/);
});

test("each architecture's image gets its own tag beside the plain one", () => {
  assert.equal(archTag("deltafleet/node:latest", "arm64"), "deltafleet/node:latest-arm64");
  assert.equal(archTag("deltafleet/node", "amd64"), "deltafleet/node:latest-amd64");
  assert.equal(archTag("registry.lan:5000/deltafleet/node", "arm64"), "registry.lan:5000/deltafleet/node:latest-arm64");
  assert.equal(nativeArch("x64"), "amd64");
  assert.equal(nativeArch("arm64"), "arm64");
  assert.equal(nativeArch("ia32"), undefined);
});

test("the image ships the program, not its tests or test helpers", () => {
  assert.equal(shippedFile(join("cli", "main.js")), true);
  assert.equal(shippedFile(join("overlay", "codec.test.js")), false);
});

test("only the target's ONNX Runtime binary is kept; a target without one is an error", () => {
  const nm = scratch();
  const bin = join(nm, "onnxruntime-node", "bin", "napi-v6");
  for (const p of ["linux/x64", "linux/arm64", "darwin/arm64", "win32/x64"]) mkdirSync(join(bin, p), { recursive: true });
  const removed = pruneNativeBinaries(nm, "arm64").sort();
  assert.deepEqual(removed, [join("onnxruntime-node", "bin", "napi-v6", "darwin", "arm64"), join("onnxruntime-node", "bin", "napi-v6", "linux", "x64"), join("onnxruntime-node", "bin", "napi-v6", "win32", "x64")].sort());
  assert.ok(existsSync(join(bin, "linux", "arm64")));
  assert.ok(!existsSync(join(bin, "darwin")), "an emptied OS folder goes too");
  assert.throws(() => pruneNativeBinaries(nm, "amd64"), (e: unknown) => e instanceof FleetError && /no linux\/x64 binary/.test(e.message));
});

test("the packages' sources, types, maps, docs and tests leave the image; code, JSON, native addons and licences stay", () => {
  const nm = scratch();
  const files: Record<string, boolean> = {
    "pino/pino.js": true, "pino/package.json": true, "pino/pino.d.ts": false, "pino/README.md": false, "pino/LICENSE": true,
    "pino/docs/api.md": false, "pino/test/basic.test.js": false, "pino/lib/tools.js": true, "pino/lib/tools.js.map": false,
    "zod/src/index.ts": false, "zod/v4/index.cjs": true, "zod/v4/index.d.cts": false, "zod/LICENSE.md": true,
    "@huggingface/tokenizers/index.js": true, "@huggingface/tokenizers/tokenizers.linux-x64-gnu.node": true,
    "@huggingface/tokenizers/examples/demo.js": false,
    // A package that happens to be called "test", and one nested under another package's node_modules.
    "test/index.js": true, "pino-pretty/node_modules/sonic-boom/index.js": true, "pino-pretty/node_modules/sonic-boom/test/a.js": false,
  };
  for (const [p, _] of Object.entries(files)) {
    mkdirSync(join(nm, p, ".."), { recursive: true });
    writeFileSync(join(nm, p), "x".repeat(10));
  }
  const gone = pruneUnloadedFiles(nm);
  for (const [p, kept] of Object.entries(files)) assert.equal(existsSync(join(nm, p)), kept, `${p} ${kept ? "stays" : "goes"}`);
  const removed = Object.values(files).filter((k) => !k).length;
  assert.deepEqual(gone, { files: removed, bytes: removed * 10 });
});

test("an emulated Pi is shown a Cortex-A72 per host CPU, as a Raspberry Pi 4 reports them", () => {
  const text = raspberryPiCpuinfo(4);
  assert.deepEqual([...text.matchAll(/^processor\t: (\d+)$/gm)].map((m) => Number(m[1])), [0, 1, 2, 3]);
  assert.equal([...text.matchAll(/^CPU part\t: 0xd08$/gm)].length, 4);
  assert.equal([...text.matchAll(/^CPU implementer\t: 0x41$/gm)].length, 4, "ARM Ltd., which ONNX Runtime's cpuinfo looks for");
  assert.match(text, /^Model\t\t: Raspberry Pi 4/m);
  assert.equal([...raspberryPiCpuinfo(0).matchAll(/^processor/gm)].length, 1, "never no CPU at all");
});
