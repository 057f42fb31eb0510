// Downloading a model from a Hugging Face style hub, for users who are online: files live at
// <base>/<repo>/resolve/<revision>/<file>. Downloads resume from a .part file after a cut, and a
// file is only renamed into place once its SHA-256 matches what the hub says (X-Linked-Etag /
// ETag for LFS files) or what the caller expects.

import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointError } from "../checkpoint/errors.js";

export const DEFAULT_HUB_URL = "https://huggingface.co";

/** What a GPT-2 model folder needs; `a|b` takes the first that exists, `?` marks optional files. */
export const HUB_MODEL_FILES = ["config.json", "model.safetensors|pytorch_model.bin", "vocab.json", "merges.txt", "tokenizer.json?", "tokenizer_config.json?"] as const;

export interface FetchOptions {
  baseUrl: string;
  repo: string;
  revision: string;
  /** Names as in HUB_MODEL_FILES. */
  files: readonly string[];
  dir: string;
  /** file → sha256 hex, for files whose hash the hub does not give. */
  expectedSha256?: Record<string, string>;
  /** Where progress goes; a bar when it is a TTY, a line per file otherwise. */
  progress?: NodeJS.WriteStream;
  timeoutMs?: number;
}

export interface FetchedFile {
  file: string;
  bytes: number;
  sha256: string;
  resumed: boolean;
  /** Whether the hash was checked against the hub's or the caller's. */
  verified: boolean;
}

class NotFound extends Error {}

function hubSha(headers: Headers): string | undefined {
  for (const h of ["x-linked-etag", "etag"]) {
    const v = headers.get(h)?.replace(/^W\//, "").replace(/"/g, "");
    if (v && /^[0-9a-f]{64}$/.test(v)) return v;
  }
  return undefined;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

function bar(out: NodeJS.WriteStream | undefined, file: string, done: number, total: number | undefined, final = false): void {
  if (!out) return;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (out.isTTY) {
    const pct = total ? Math.floor((done / total) * 100) : 0;
    const filled = total ? Math.round((done / total) * 30) : 0;
    out.write(`\r${file.padEnd(24)} [${"#".repeat(filled)}${" ".repeat(30 - filled)}] ${String(pct).padStart(3)}% ${mb(done)}/${total ? mb(total) : "?"} MB${final ? "\n" : ""}`);
  } else if (final) out.write(`${file}: ${mb(done)} MB\n`);
}

async function fetchOne(o: FetchOptions, file: string): Promise<FetchedFile> {
  const url = `${o.baseUrl.replace(/\/$/, "")}/${o.repo}/resolve/${o.revision}/${file}`;
  const dest = join(o.dir, file);
  const part = `${dest}.part`;
  const have = existsSync(part) ? statSync(part).size : 0;
  let res: Response;
  try {
    res = await fetch(url, { headers: have ? { Range: `bytes=${have}-` } : {}, signal: AbortSignal.timeout(o.timeoutMs ?? 600_000), redirect: "follow" });
  } catch (e) {
    throw new CheckpointError(url, `cannot reach the hub (${(e as Error).cause ? String((e as Error).cause) : (e as Error).message})`, "check the network, or set --base-url / FLEET_HUB_URL to a mirror");
  }
  if (res.status === 404) throw new NotFound(url);
  if (res.status === 416 && have) {
    // The .part is already whole; fall through to verification.
  } else if (!res.ok) throw new CheckpointError(url, `the hub answered HTTP ${res.status}`);
  const resumed = res.status === 206;
  const expected = o.expectedSha256?.[file] ?? hubSha(res.headers);
  const length = Number(res.headers.get("content-length") ?? NaN);
  const total = Number.isFinite(length) ? length + (resumed ? have : 0) : undefined;
  const fh = await open(part, resumed || res.status === 416 ? "a" : "w");
  let done = resumed ? have : 0;
  try {
    if (res.status !== 416 && res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        await fh.write(chunk);
        done += chunk.length;
        bar(o.progress, file, done, total);
      }
    }
    await fh.sync();
  } catch (e) {
    throw new CheckpointError(url, `download cut after ${done} bytes (${(e as Error).message})`, "run the same command again: it resumes");
  } finally {
    await fh.close();
  }
  const sha256 = await sha256File(part);
  if (expected && sha256 !== expected) {
    rmSync(part, { force: true });
    throw new CheckpointError(url, `sha256 is ${sha256}, the hub says ${expected}`, "the download was corrupted; run it again");
  }
  renameSync(part, dest);
  bar(o.progress, file, statSync(dest).size, total, true);
  return { file, bytes: statSync(dest).size, sha256, resumed, verified: Boolean(expected) };
}

export async function fetchModel(o: FetchOptions): Promise<FetchedFile[]> {
  mkdirSync(o.dir, { recursive: true });
  const out: FetchedFile[] = [];
  for (const spec of o.files) {
    const optional = spec.endsWith("?");
    const choices = spec.replace(/\?$/, "").split("|");
    let got: FetchedFile | undefined;
    for (const file of choices) {
      try {
        got = await fetchOne(o, file);
        break;
      } catch (e) {
        if (!(e instanceof NotFound)) throw e;
      }
    }
    if (got) out.push(got);
    else if (!optional) throw new CheckpointError(`${o.baseUrl}/${o.repo}`, `has none of ${choices.join(", ")} at revision ${o.revision}`);
  }
  return out;
}
