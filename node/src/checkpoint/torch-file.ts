// torch.save files of state dicts: a zip of `<prefix>/data.pkl` (the dict, see unpickle.ts) and
// `<prefix>/data/<key>` raw little-endian storages. Reading materialises every tensor contiguous
// in its stored dtype; writing produces what torch.save produces, readable by
// `torch.load(f, weights_only=True)`.

import { CheckpointError } from "./errors.js";
import { unpickleStateDict, type TensorRef } from "./unpickle.js";
import { readZip, writeZip } from "./zip.js";
import { numel, type DType, type StateDict, type Tensor } from "./tensor.js";

const ELEMENT_BYTES: Record<DType, number> = { f32: 4, f16: 2, bf16: 2 };

export function isTorchZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

export function readTorchStateDict(bytes: Uint8Array, file: string): StateDict {
  if (!isTorchZip(bytes)) {
    throw new CheckpointError(file, "not a torch.save zip archive", "legacy (torch < 1.6) files: re-save with a newer torch");
  }
  const entries = readZip(bytes, file);
  const pkl = [...entries.keys()].find((k) => k.endsWith("/data.pkl") && k.split("/").length === 2);
  if (!pkl) throw new CheckpointError(file, "no <prefix>/data.pkl in the archive", "not a torch.save file");
  const prefix = pkl.slice(0, -"data.pkl".length);
  const order = readByteOrder(entries.get(`${prefix}byteorder`));
  if (order !== "little") throw new CheckpointError(file, `storages are ${order}-endian`, "save it on a little-endian machine");
  const dict = unpickleStateDict(entries.get(pkl)!, file);
  const sd: StateDict = new Map();
  for (const [key, value] of dict) {
    if (typeof key !== "string") throw new CheckpointError(file, "a state-dict key is not a string");
    const ref = value as TensorRef;
    if (ref?.kind !== "tensor") throw new CheckpointError(file, `"${key}" is not a tensor`);
    const raw = entries.get(`${prefix}data/${ref.storage.key}`);
    if (!raw) throw new CheckpointError(file, `storage ${ref.storage.key} of "${key}" is missing from the archive`);
    sd.set(key, materialise(ref, raw, key, file));
  }
  return sd;
}

function readByteOrder(b: Uint8Array | undefined): string {
  // Archives from before torch 2.1 have no byteorder record and are little-endian.
  return b ? Buffer.from(b).toString("utf8").trim() : "little";
}

/** A contiguous copy of the strided view `ref` describes over the raw storage bytes. */
function materialise(ref: TensorRef, raw: Uint8Array, key: string, file: string): Tensor {
  const { dtype } = ref.storage;
  const esize = ELEMENT_BYTES[dtype];
  if (raw.length !== ref.storage.numel * esize) {
    throw new CheckpointError(file, `storage ${ref.storage.key} of "${key}" holds ${raw.length} bytes, expected ${ref.storage.numel * esize}`);
  }
  const n = numel(ref.shape);
  // Highest element the view touches must lie inside the storage.
  let last = ref.offset;
  for (let d = 0; d < ref.shape.length; d++) last += (ref.shape[d]! - 1) * ref.stride[d]!;
  if (n > 0 && last >= ref.storage.numel) {
    throw new CheckpointError(file, `"${key}" reaches element ${last} of a storage of ${ref.storage.numel}`);
  }
  // Copy into an aligned buffer: zip entries need not be 4-byte aligned in memory.
  const src = new Uint8Array(raw).buffer;
  const all = dtype === "f32" ? new Float32Array(src) : new Uint16Array(src);
  const out = dtype === "f32" ? new Float32Array(n) : new Uint16Array(n);
  let contiguous = true;
  for (let d = ref.shape.length - 1, expect = 1; d >= 0; d--) {
    if (ref.shape[d] !== 1 && ref.stride[d] !== expect) contiguous = false;
    expect *= ref.shape[d]!;
  }
  if (contiguous) out.set(all.subarray(ref.offset, ref.offset + n));
  else {
    const idx = new Array(ref.shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      let off = ref.offset;
      for (let d = 0; d < idx.length; d++) off += idx[d] * ref.stride[d]!;
      out[i] = all[off]!;
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < ref.shape[d]!) break;
        idx[d] = 0;
      }
    }
  }
  return { dtype, shape: [...ref.shape], data: out };
}

// ---- writing ----------------------------------------------------------------------------------

const STORAGE_CLASS: Record<DType, string> = { f32: "FloatStorage", f16: "HalfStorage", bf16: "BFloat16Storage" };

class PickleWriter {
  private parts: number[] = [];
  op(...bytes: number[]) {
    this.parts.push(...bytes);
  }
  global(module: string, name: string) {
    this.op(0x63, ...Buffer.from(`${module}\n${name}\n`));
  }
  str(s: string) {
    const b = Buffer.from(s, "utf8");
    this.op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24, ...b);
  }
  int(v: number) {
    if (v >= 0 && v < 256) this.op(0x4b, v);
    else if (v >= 0 && v < 65536) this.op(0x4d, v & 0xff, v >> 8);
    else if (v >= -(2 ** 31) && v < 2 ** 31) this.op(0x4a, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
    else throw new Error(`pickle writer: integer ${v} out of range`);
  }
  tuple(values: number[]) {
    if (values.length === 0) return this.op(0x29);
    this.op(0x28);
    for (const v of values) this.int(v);
    this.op(0x74);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function contiguousStrides(shape: number[]): number[] {
  const s = new Array(shape.length);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

export interface TorchWriteOptions {
  /** key → key it shares a storage with (torch's tied weights); written once, referenced twice. */
  sharedStorage?: Record<string, string>;
  /** The archive's folder name; torch uses the file's stem. */
  prefix?: string;
}

export function writeTorchStateDict(sd: StateDict, opts: TorchWriteOptions = {}): Uint8Array {
  const prefix = opts.prefix ?? "archive";
  const w = new PickleWriter();
  const storageOf = new Map<string, string>();
  const storages: Array<[string, Uint8Array]> = [];
  w.op(0x80, 2);
  w.global("collections", "OrderedDict");
  w.op(0x29, 0x52, 0x28); // () REDUCE MARK
  for (const [key, t] of sd) {
    const shared = opts.sharedStorage?.[key];
    let storageKey = shared !== undefined ? storageOf.get(shared) : undefined;
    if (storageKey === undefined) {
      storageKey = String(storages.length);
      storages.push([storageKey, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]);
    }
    storageOf.set(key, storageKey);
    w.str(key);
    w.global("torch._utils", "_rebuild_tensor_v2");
    w.op(0x28, 0x28); // MARK (args) MARK (persistent id)
    w.str("storage");
    w.global("torch", STORAGE_CLASS[t.dtype]);
    w.str(storageKey);
    w.str("cpu");
    w.int(t.data.length);
    w.op(0x74, 0x51); // TUPLE BINPERSID
    w.int(0);
    w.tuple(t.shape);
    w.tuple(contiguousStrides(t.shape));
    w.op(0x89); // requires_grad False
    w.global("collections", "OrderedDict");
    w.op(0x29, 0x52, 0x74, 0x52); // () REDUCE (hooks) TUPLE REDUCE
  }
  w.op(0x75, 0x2e); // SETITEMS STOP
  const entries: Array<[string, Uint8Array]> = [[`${prefix}/data.pkl`, w.bytes()], [`${prefix}/byteorder`, Buffer.from("little")]];
  for (const [k, b] of storages) entries.push([`${prefix}/data/${k}`, b]);
  entries.push([`${prefix}/version`, Buffer.from("3\n")]);
  return writeZip(entries);
}
