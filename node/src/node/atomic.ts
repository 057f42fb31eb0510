// State files are written so that a crash at any instant leaves either the old file or the new one,
// never a torn one: write a temporary beside it, fsync, rename over, fsync the folder.

import { createHash } from "node:crypto";
import { open, rename, rm, readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, "w", 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, file);
  await fsyncDir(dirname(file));
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try { await fh.sync(); } catch { /* some filesystems refuse fsync on a folder; the rename still happened */ } finally { await fh.close(); }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export async function sha256File(file: string): Promise<string> {
  return sha256Hex(await readFile(file));
}
