// The rooms of node/src stand in layers: a module imports only from its own room and the rooms
// below it, never from test or bench support. A change to a low room (file formats, maths) then
// never has to look upward, and the node image ships no test code.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { repoRoot } from "../../test/support/paths.js";

/** Each room and the rooms it may import from (besides itself), lowest first. */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  checkpoint: ["util"],
  tokenizer: ["util", "checkpoint"],
  engine: ["util", "checkpoint"],
  model: ["util", "checkpoint", "tokenizer", "engine"],
  overlay: ["util"],
  log: ["util", "checkpoint", "engine"],
  trust: ["util", "checkpoint", "engine", "log"],
  train: ["util", "checkpoint", "engine", "log"],
  node: ["util", "checkpoint", "tokenizer", "engine", "model", "overlay", "log", "trust", "train"],
  cli: ["util", "checkpoint", "tokenizer", "engine", "model", "overlay", "node", "log", "trust", "train"],
};
/** Rooms whose tests are held to the same rule: the file formats and the tokenizer sit at the bottom. */
const STRICT_TESTS = new Set(["util", "checkpoint", "tokenizer"]);

const SRC = join(repoRoot(), "node", "src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : name.endsWith(".ts") ? [p] : [];
  });
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => resolve(dirname(file), m[1]!));
}

/** The room a path lies in: node/src/<room>/..., or "outside" for anything beyond node/src. */
function roomOf(path: string): string {
  const rel = relative(SRC, path);
  return rel.startsWith("..") ? "outside" : rel.split(sep)[0]!;
}

test("every module of node/src imports only from its own room and the rooms below it", () => {
  const upward: string[] = [];
  for (const file of sources(SRC)) {
    const room = roomOf(file);
    if (!(room in ALLOWED)) {
      if (!file.endsWith("layers.test.ts")) upward.push(`${relative(SRC, file)}: in no known room (add it to ALLOWED)`);
      continue;
    }
    const isTest = file.endsWith(".test.ts");
    if (isTest && !STRICT_TESTS.has(room)) continue;
    for (const target of relativeImports(file)) {
      const to = roomOf(target);
      if (to === room) continue;
      if (isTest && to === "outside" && relative(repoRoot(), target).startsWith(join("test", "support"))) continue;
      if (!ALLOWED[room]!.includes(to)) upward.push(`${relative(SRC, file)} → ${relative(repoRoot(), target)}`);
    }
  }
  assert.deepEqual(upward, []);
});

test("no production module of node/src imports test or bench support", () => {
  const found: string[] = [];
  for (const file of sources(SRC).filter((f) => !f.endsWith(".test.ts"))) {
    for (const target of relativeImports(file)) if (roomOf(target) === "outside") found.push(`${relative(SRC, file)} → ${relative(repoRoot(), target)}`);
  }
  assert.deepEqual(found, []);
});
