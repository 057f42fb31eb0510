// The node image's build context, staged from this checkout: the compiled node program, the
// production dependencies installed from the lockfile (npm's cache makes it offline), and ONNX
// Runtime's native binaries for the target architecture only (the package ships every OS and CPU:
// 288 MB, of which a Pi needs 25).

import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
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
  const pruned = pruneUnloadedFiles(join(app, "node_modules"));
  step(`removed ${pruned.files} files no running program loads (${(pruned.bytes / 1e6).toFixed(1)} MB: sources, types, maps, docs, tests)`);
}

/** Folders of an npm package a running program never loads (pino's docs, bintrees' tests, ...). */
const UNLOADED_DIRS = new Set(["test", "tests", "__tests__", "example", "examples", "docs"]);
/** Node 20 loads .js, .cjs, .mjs, .json and .node; TypeScript sources and declarations, source maps and Markdown are for people and editors. */
const UNLOADED_FILE = /\.(?:[cm]?ts|map|md|markdown)$/i;
/** Licences stay whatever their extension: the image redistributes the packages. */
const LICENCE = /^(?:licen[cs]e|copying|notice)/i;

/**
 * Removes what the packages ship for their developers: the Pi image's size budget (250 MB) is
 * spent on what runs. Returns how many files and bytes went.
 */
export function pruneUnloadedFiles(nodeModules: string): { files: number; bytes: number } {
  const gone = { files: 0, bytes: 0 };
  // "modules": a node_modules folder (its folders are packages or @scopes); "scope": an @scope
  // folder; "package": inside a package. Only inside a package is `test` a folder of tests.
  const visit = (dir: string, kind: "modules" | "scope" | "package"): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (kind === "package" && UNLOADED_DIRS.has(entry.name)) {
          const size = treeSize(path);
          gone.files += size.files;
          gone.bytes += size.bytes;
          rmSync(path, { recursive: true, force: true });
        } else if (kind === "package" && entry.name === "node_modules") visit(path, "modules");
        else if (kind === "modules" && entry.name.startsWith("@")) visit(path, "scope");
        else visit(path, "package");
      } else if (entry.isFile() && kind === "package" && UNLOADED_FILE.test(entry.name) && !LICENCE.test(entry.name)) {
        gone.files++;
        gone.bytes += statSync(path).size;
        rmSync(path);
      }
    }
  };
  visit(nodeModules, "modules");
  return gone;
}

function treeSize(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return { files, bytes };
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
