// SHA-256 as the state folder uses it: checksums of its manifest and of baseline files.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export async function sha256File(file: string): Promise<string> {
  return sha256Hex(await readFile(file));
}
