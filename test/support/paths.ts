// Where tests find the repository and its fixtures, wherever the build landed.

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder holding package.json, found by walking up from this compiled file. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("repoRoot: no package.json above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** A real file from a course Pi (`test/fixtures/course/`: base.pt and two deltas; see its README). */
export function courseFixture(name: string): string {
  return join(repoRoot(), "test", "fixtures", "course", name);
}
