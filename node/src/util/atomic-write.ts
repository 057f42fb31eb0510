// State files are replaced whole or not at all: write a temporary file beside the target, fsync
// it, rename it over the target, fsync the folder. A crash leaves the old file or the new one.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

function tmpName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse to fsync a directory; the rename is still atomic there.
  }
}

/** `mode` applies from the file's creation on: a secret (0o600) is never readable by others, not even briefly. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tmpName(path);
  try {
    const fd = openSync(tmp, "w", mode);
    try {
      const buf = typeof data === "string" ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(dirname(path));
}

export async function writeFileAtomicAsync(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tmpName(path);
  try {
    const fh = await open(tmp, "w", 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  syncDir(dirname(path));
}
