// The node image's build context, staged from this checkout: the compiled node program, the
// production dependencies installed from the lockfile (npm's cache makes it offline), and ONNX
// Runtime's native binaries for the target architecture only (the package ships every OS and CPU:
// 288 MB, of which a Pi needs 25).

import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { FleetError } from "../errors.js";
import { run } from "../exec.js";
import { nodeArchName, type Arch } from "./arch.js";

export interface StageOptions {
  /** The repository: package.json, package-lock.json, .npmrc, dist/, data/ and docker/. */
  root: string;
  arch: Arch;
  /** An empty or absent folder that becomes the context. */
  dir: string;
  onStep?: (line: string) => void;
}

/** Files of dist/node/src the running node never loads: its tests (test support lives outside node/src). */
export function shippedFile(relPath: string): boolean {
  return !/\.test\.js$|\.test\.d\.ts$|\.fleet\.test\.js$/.test(relPath);
}

export async function stageNodeContext(o: StageOptions): Promise<void> {
  const step = o.onStep ?? (() => {});
  const program = join(o.root, "dist", "node", "src");
  if (!existsSync(join(program, "cli", "main.js"))) {
    throw new FleetError("IMAGE_FAILED", `the node program is not built (${relative(process.cwd(), program) || program} has no cli/main.js)`, {
      suggestion: "run `npm run build` first",
    });
  }
  rmSync(o.dir, { recursive: true, force: true });
  const app = join(o.dir, "app");
  mkdirSync(app, { recursive: true });
  for (const f of ["package.json", "package-lock.json", ".npmrc"]) cpSync(join(o.root, f), join(app, f));
  cpSync(program, join(app, "dist", "node", "src"), { recursive: true, filter: (src) => shippedFile(relative(program, src)) });
  // The example data sets: POST /train {"dataset": "quiz"} reads /opt/deltafleet/data/quiz.jsonl (node/src/node/train-request.ts).
  cpSync(join(o.root, "data"), join(app, "data"), { recursive: true });
  cpSync(join(o.root, "docker", "node", "healthcheck.mjs"), join(o.dir, "healthcheck.mjs"));

  step("installing production dependencies from package-lock.json");
  const npm = await run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: app, timeoutMs: 600_000,
  });
  if (npm.exitCode !== 0) {
    throw new FleetError("IMAGE_FAILED", `npm ci for the image failed: ${lastLines(npm.stderr)}`, { suggestion: "is the npm registry (or npm's cache) reachable? does `npm ci` work in the checkout?" });
  }
  const removed = pruneNativeBinaries(join(app, "node_modules"), o.arch);
  step(`kept ONNX Runtime for linux/${nodeArchName(o.arch)} only (removed ${removed.length} other builds)`);
}

/**
 * Removes onnxruntime-node's binaries for other systems and CPUs: bin/napi-v<N>/<os>/<cpu>/ stays
 * only for linux/<the target's cpu>. Returns the folders removed. Throws if the target's binary
 * is not there (an image without it would fail at its first question).
 */
export function pruneNativeBinaries(nodeModules: string, arch: Arch): string[] {
  const bin = join(nodeModules, "onnxruntime-node", "bin");
  if (!existsSync(bin)) throw new FleetError("IMAGE_FAILED", `onnxruntime-node is not installed in ${nodeModules}`);
  const removed: string[] = [];
  let kept = 0;
  for (const napi of readdirSync(bin)) {
    for (const os of readdirSync(join(bin, napi))) {
      for (const cpu of readdirSync(join(bin, napi, os))) {
        const dir = join(bin, napi, os, cpu);
        if (os === "linux" && cpu === nodeArchName(arch)) {
          kept++;
          continue;
        }
        rmSync(dir, { recursive: true, force: true });
        removed.push(relative(nodeModules, dir));
      }
      if (readdirSync(join(bin, napi, os)).length === 0) rmSync(join(bin, napi, os), { recursive: true });
    }
  }
  if (kept === 0) throw new FleetError("IMAGE_FAILED", `onnxruntime-node ships no linux/${nodeArchName(arch)} binary`, { suggestion: "check the onnxruntime-node version in package-lock.json" });
  return removed;
}

function lastLines(s: string, n = 8): string {
  return s.trim().split("\n").slice(-n).join("\n");
}
