// Where fleetctl finds the repository's ansible/ folder, wherever the build landed.

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function fleetRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("fleetctl: no package.json above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** The playbooks; FLEET_ANSIBLE_DIR points elsewhere (a copy being edited, say). */
export function ansibleDir(): string {
  return process.env.FLEET_ANSIBLE_DIR ?? join(fleetRepoRoot(), "ansible");
}
