// Compaction: the exact sum of a named set of entries in one file, so a node starts from one file
// instead of re-reading every delta, and a long log costs one sum in memory, not N deltas.
//
// The file is a pure function of (base, set of entries): the header lists the sorted names, the
// body is the exact sum (the same integers whatever order the entries were added in), so every
// node that compacts the same set writes the same bytes, under the same name — the set's hash.
// Loading it and adding the entries it does not cover gives the same sum, hence the same weights,
// as adding every entry: integer addition does not care how it was grouped.
//
//   "DFSUM1\n"            magic
//   u32 LE                header length H
//   H bytes               header, UTF-8 JSON: {"base", "params", "count", "set", "names"}
//   zero bytes            up to the next multiple of 8
//   params × f64 LE       the sum, in units of 2⁻²⁴, flat params layout
//   32 bytes              sha256 of everything before (a flipped bit in the sum is still an integer)

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex } from "../util/sha256.js";
import { writeFileAtomicAsync } from "../util/atomic-write.js";
import { isWireToken } from "../util/ids.js";
import type { Gpt2Config } from "../engine/config.js";
import { paramCount } from "../engine/params.js";
import { parseEntryName } from "./entry.js";
import { ExactSum, SumError } from "./exact-sum.js";
import { setHash } from "./summary.js";

const MAGIC = new TextEncoder().encode("DFSUM1\n");
const HEADER_MAX_BYTES = 64 * 1024 * 1024;

export interface Checkpoint {
  /** Identity of the base model the summed entries were made on. */
  base: string;
  /** The names of the entries summed, sorted. */
  names: string[];
  /** setHash(names): the checkpoint's name. */
  set: string;
  sum: ExactSum;
}

export class CheckpointFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "CheckpointFileError";
  }
}

/** The file a checkpoint of the set with this hash is kept in. */
export function checkpointFileName(set: string): string {
  return `sum-${set}.dfsum`;
}

/** A checkpoint of `names` (any order, duplicates ignored) whose exact sum is `sum`. */
export function makeCheckpoint(base: string, names: Iterable<string>, sum: ExactSum): Checkpoint {
  const sorted = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // The caller's sum is copied: the checkpoint must not change when the live sum moves on.
  return { base, names: sorted, set: setHash(sorted), sum: new ExactSum(sum.config, Float64Array.from(sum.units)) };
}

export function encodeCheckpoint(cp: Checkpoint): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ base: cp.base, params: cp.sum.units.length, count: cp.names.length, set: cp.set, names: cp.names }));
  const bodyAt = Math.ceil((MAGIC.length + 4 + header.length) / 8) * 8;
  const n = cp.sum.units.length;
  const out = new Uint8Array(bodyAt + 8 * n + 32);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  writeF64LE(out, bodyAt, cp.sum.units);
  out.set(Buffer.from(sha256Hex(out.subarray(0, bodyAt + 8 * n)), "hex"), bodyAt + 8 * n);
  return out;
}

/** A checkpoint from untrusted bytes, checked whole against the model it is for. */
export function decodeCheckpoint(bytes: Uint8Array, config: Gpt2Config, file = "checkpoint"): Checkpoint {
  const bad = (problem: string) => new CheckpointFileError(file, problem);
  if (bytes.length < MAGIC.length + 4 + 32 || !MAGIC.every((b, i) => bytes[i] === b)) throw bad("not a fleet-log checkpoint (no DFSUM1 magic)");
  const end = bytes.length - 32;
  if (sha256Hex(bytes.subarray(0, end)) !== Buffer.from(bytes.subarray(end)).toString("hex")) throw bad("damaged or truncated (its sha256 does not hold)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = view.getUint32(MAGIC.length, true);
  if (hlen > HEADER_MAX_BYTES || MAGIC.length + 4 + hlen > end) throw bad(`header of ${hlen} bytes does not fit the file`);
  let header: { base?: unknown; params?: unknown; count?: unknown; set?: unknown; names?: unknown };
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + hlen)));
  } catch {
    throw bad("header is not UTF-8 JSON");
  }
  const { base, params, count, set, names } = header ?? {};
  const n = paramCount(config);
  if (params !== n) throw bad(`sums ${String(params)} parameters; this model has ${n}`);
  if (typeof base !== "string" || !isWireToken(base)) throw bad("header names no base model");
  if (!Array.isArray(names) || names.length !== count || !names.every((s) => typeof s === "string" && parseEntryName(s))) throw bad("header's names are not entry names");
  for (let i = 1; i < names.length; i++) if (!(names[i - 1] < names[i])) throw bad("header's names are not sorted and distinct");
  if (set !== setHash(names as string[])) throw bad("header's set hash is not the hash of its names");
  const bodyAt = Math.ceil((MAGIC.length + 4 + hlen) / 8) * 8;
  if (bodyAt + 8 * n !== end) throw bad(`body holds ${end - bodyAt} bytes, expected ${8 * n}`);
  const units = readF64LE(bytes, bodyAt, n);
  let sum: ExactSum;
  try {
    sum = new ExactSum(config, units);
  } catch (e) {
    throw bad(e instanceof SumError ? e.message : String(e));
  }
  return { base, names: names as string[], set, sum };
}

const LITTLE_ENDIAN = new Uint8Array(Float64Array.of(1).buffer)[7] === 0x3f;

function writeF64LE(out: Uint8Array, at: number, values: Float64Array): void {
  if (LITTLE_ENDIAN) out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
  else {
    const view = new DataView(out.buffer, out.byteOffset);
    for (let j = 0; j < values.length; j++) view.setFloat64(at + 8 * j, values[j]!, true);
  }
}

function readF64LE(bytes: Uint8Array, at: number, n: number): Float64Array {
  // A copy (not Buffer#slice, which is a view): file bytes need not be 8-aligned in memory.
  if (LITTLE_ENDIAN) return new Float64Array(new Uint8Array(bytes.subarray(at, at + 8 * n)).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return Float64Array.from({ length: n }, (_, j) => view.getFloat64(at + 8 * j, true));
}

/** Writes the checkpoint atomically into `dir` under its set's name; returns the path. */
export async function saveCheckpoint(dir: string, cp: Checkpoint): Promise<string> {
  const path = join(dir, checkpointFileName(cp.set));
  await writeFileAtomicAsync(path, encodeCheckpoint(cp));
  return path;
}

/** Reads a checkpoint file; its name must be its set's. */
export async function loadCheckpoint(path: string, config: Gpt2Config): Promise<Checkpoint> {
  const cp = decodeCheckpoint(await readFile(path), config, path);
  if (!path.endsWith(checkpointFileName(cp.set))) throw new CheckpointFileError(path, `holds set ${cp.set.slice(0, 12)}…, not the set its name says`);
  return cp;
}
