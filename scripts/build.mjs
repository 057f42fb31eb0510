#!/usr/bin/env node
// `npm run build`: a fresh dist/ from the TypeScript sources and the page's static files, with package.json's bins executable.
// tsc writes files 0644; npx marks a bin executable only when it first links it, so without the
// chmod every rebuild after the first left `npx fleet-node` answering "Permission denied".
import { chmodSync, cpSync, readFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
rmSync(join(root, "dist"), { recursive: true, force: true });
// The package exports no bin path; node_modules/.bin/tsc is its link, as `npm run` would use.
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const r = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.json")], { stdio: "inherit", cwd: root });
if (r.status !== 0) process.exit(r.status ?? 1);
// The classroom page is plain HTML, CSS and ES modules, served as written: no bundler, nothing for a user to build.
cpSync(join(root, "node", "src", "node", "page"), join(root, "dist", "node", "src", "node", "page"), { recursive: true });
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
for (const bin of Object.values(pkg.bin ?? {})) chmodSync(join(root, bin), 0o755);
