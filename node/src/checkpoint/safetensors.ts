// safetensors: 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
// and byte range, then the raw data. Every range is validated before any tensor is built.

import { CheckpointError } from "./errors.js";
import { numel, type DType, type StateDict } from "./tensor.js";

const TO_DTYPE: Record<string, DType> = { F32: "f32", F16: "f16", BF16: "bf16" };
const FROM_DTYPE: Record<DType, string> = { f32: "F32", f16: "F16", bf16: "BF16" };
const BYTES: Record<DType, number> = { f32: 4, f16: 2, bf16: 2 };
/** A header larger than this is not a model of ours; refuse before parsing it. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function readSafetensors(bytes: Uint8Array, file: string): StateDict {
  if (bytes.length < 8) throw new CheckpointError(file, "too short for a safetensors file");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > bytes.length) {
    throw new CheckpointError(file, `header length ${headerLen} does not fit the file`, "the file is truncated or not safetensors");
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString("utf8"));
  } catch {
    throw new CheckpointError(file, "header is not valid JSON");
  }
  const body = bytes.subarray(8 + headerLen);
  const sd: StateDict = new Map();
  for (const [key, info] of Object.entries(header)) {
    if (key === "__metadata__") continue;
    const dtype = TO_DTYPE[info?.dtype];
    if (!dtype) throw new CheckpointError(file, `tensor "${key}" has dtype ${info?.dtype}`, "only F32, F16 and BF16 are supported");
    const [begin, end] = info.data_offsets ?? [];
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new CheckpointError(file, `tensor "${key}" has a malformed shape`);
    const n = numel(shape);
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin! < 0 || end! > body.length || end! - begin! !== n * BYTES[dtype]) {
      throw new CheckpointError(file, `tensor "${key}" has byte range [${begin}, ${end}) that does not match its shape or the file`);
    }
    const copy = new Uint8Array(body.subarray(begin, end)).buffer;
    sd.set(key, { dtype, shape: [...shape], data: dtype === "f32" ? new Float32Array(copy) : new Uint16Array(copy) });
  }
  return sd;
}

export function writeSafetensors(sd: StateDict, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: "pt", ...metadata } };
  let offset = 0;
  for (const [key, t] of sd) {
    header[key] = { dtype: FROM_DTYPE[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const t of sd.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}
