// SHA-256 in hex: state-folder checksums, and the overlay's file and wire-byte hashes.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export async function sha256File(file: string): Promise<string> {
  return sha256Hex(await readFile(file));
}
