// An entry as it travels between DeltaFleet nodes: its record and its delta file in one payload, so
// a receiver never holds a delta without knowing what it is, or a record without its delta. Course
// nodes never see one (they get the bare delta file); the overlay carries it as a payload of kind
// "entry".
//
//   "DFB1\n"        magic
//   u32 LE          header length H (≤ BUNDLE_HEADER_MAX_BYTES)
//   H bytes         UTF-8 JSON {"entry": <the entry>, "sig"?: <base64 signature of its author>}
//   the rest        the delta file, byte for byte (its sha256 is the entry's)

import { sha256Hex } from "../util/sha256.js";
import { encodeEntry, ENTRY_MAX_BYTES, parseEntry, type Entry } from "./entry.js";

const MAGIC = new TextEncoder().encode("DFB1\n");
/** An entry is at most ENTRY_MAX_BYTES; a signature and the JSON around them fit in 1 KB more. */
export const BUNDLE_HEADER_MAX_BYTES = ENTRY_MAX_BYTES + 1024;
const SIG = /^[A-Za-z0-9+/]{4,512}={0,2}$/;

export interface Bundle {
  entry: Entry;
  sig?: string;
  delta: Uint8Array;
}

export function encodeBundle(b: Bundle): Uint8Array {
  const entry = new TextDecoder().decode(encodeEntry(b.entry));
  const header = new TextEncoder().encode(`{"entry":${entry}${b.sig === undefined ? "" : `,"sig":${JSON.stringify(b.sig)}`}}`);
  const out = new Uint8Array(MAGIC.length + 4 + header.length + b.delta.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  out.set(b.delta, MAGIC.length + 4 + header.length);
  return out;
}

/**
 * A bundle from untrusted bytes, or why it is not one: a valid entry whose sha256 is the delta's.
 * Whether its author may change the model (signature, roster) is the caller's question.
 */
export function decodeBundle(bytes: Uint8Array): Bundle | string {
  const head = MAGIC.length + 4;
  if (bytes.length < head || !MAGIC.every((b, i) => bytes[i] === b)) return "not an entry bundle (no DFB1 magic)";
  const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(MAGIC.length, true);
  if (h > BUNDLE_HEADER_MAX_BYTES) return `bundle header of ${h} bytes; the limit is ${BUNDLE_HEADER_MAX_BYTES}`;
  if (head + h > bytes.length) return "bundle truncated inside its header";
  let v: { entry?: unknown; sig?: unknown };
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(head, head + h))) as typeof v;
  } catch (e) {
    return `bundle header is not UTF-8 JSON (${(e as Error).message})`;
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return "bundle header must be a JSON object";
  const extra = Object.keys(v).filter((k) => k !== "entry" && k !== "sig");
  if (extra.length) return `unknown bundle field ${JSON.stringify(extra[0])}`;
  const entry = parseEntry(v.entry);
  if (typeof entry === "string") return `bundle entry: ${entry}`;
  if (v.sig !== undefined && (typeof v.sig !== "string" || !SIG.test(v.sig))) return "bundle signature is not base64";
  const delta = bytes.subarray(head + h);
  const sha = sha256Hex(delta);
  if (sha !== entry.sha256) return `delta's sha256 is ${sha.slice(0, 12)}…, the entry says ${entry.sha256.slice(0, 12)}…`;
  return { entry, ...(v.sig === undefined ? {} : { sig: v.sig as string }), delta };
}
