// A pickle reader for exactly what torch.save of a state dict emits — nothing more. It is a stack
// machine over a fixed set of opcodes; GLOBAL may only name the handful of torch/collections
// callables below, and those are interpreted here, never looked up or executed. Anything else
// stops the load with the opcode, its offset and the file named: a .pt file is code in pickle
// form, and a peer on the LAN must not be able to run any of it on our nodes.

import { CheckpointError } from "./errors.js";
import type { DType } from "./tensor.js";

/** A persistent reference to one raw storage of the archive (`archive/data/<key>`). */
export interface StorageRef {
  kind: "storage";
  dtype: DType;
  key: string;
  numel: number;
}

/** What `_rebuild_tensor_v2` describes: a strided view of a storage. */
export interface TensorRef {
  kind: "tensor";
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

interface GlobalRef {
  kind: "global";
  name: string;
}

const STORAGE_DTYPES: Record<string, DType> = {
  "torch.FloatStorage": "f32",
  "torch.HalfStorage": "f16",
  "torch.BFloat16Storage": "bf16",
};

const CALLABLES = new Set([
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
  ...Object.keys(STORAGE_DTYPES),
]);

const MARK = Symbol("mark");

// Opcode names for error messages.
const OPNAMES: Record<number, string> = {
  0x80: "PROTO", 0x7d: "EMPTY_DICT", 0x5d: "EMPTY_LIST", 0x29: "EMPTY_TUPLE", 0x28: "MARK", 0x2e: "STOP",
  0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x94: "MEMOIZE", 0x68: "BINGET", 0x6a: "LONG_BINGET", 0x63: "GLOBAL",
  0x51: "BINPERSID", 0x52: "REDUCE", 0x74: "TUPLE", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3",
  0x4a: "BININT", 0x4b: "BININT1", 0x4d: "BININT2", 0x8a: "LONG1", 0x88: "NEWTRUE", 0x89: "NEWFALSE",
  0x4e: "NONE", 0x58: "BINUNICODE", 0x8c: "SHORT_BINUNICODE", 0x73: "SETITEM", 0x75: "SETITEMS",
  0x61: "APPEND", 0x65: "APPENDS", 0x62: "BUILD", 0x47: "BINFLOAT", 0x95: "FRAME",
};

/** Reads a torch state-dict pickle into a Map of key → TensorRef (or nested values). */
export function unpickleStateDict(bytes: Uint8Array, file: string): Map<string, unknown> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const fail = (problem: string, at = p) => new CheckpointError(file, `pickle: ${problem} at byte ${at}`, "only state dicts saved by torch.save are accepted");
  const need = (n: number) => {
    if (p + n > bytes.length) throw fail("truncated");
  };
  const pop = () => {
    if (stack.length === 0) throw fail("stack underflow");
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw fail("MARK missing");
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const text = (n: number) => {
    need(n);
    const s = Buffer.from(bytes.subarray(p, p + n)).toString("utf8");
    p += n;
    return s;
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) throw fail("unterminated GLOBAL");
    const s = Buffer.from(bytes.subarray(p, end)).toString("utf8");
    p = end + 1;
    return s;
  };
  const setItems = (target: unknown, items: unknown[], at: number) => {
    if (!(target instanceof Map)) throw fail("SETITEM on something that is not a dict", at);
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };

  for (;;) {
    need(1);
    const at = p;
    const op = bytes[p++]!;
    switch (op) {
      case 0x80: // PROTO
        need(1);
        if (bytes[p]! > 5) throw fail(`pickle protocol ${bytes[p]}`);
        p += 1;
        break;
      case 0x95: // FRAME: a length prefix only
        need(8);
        p += 8;
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x2e: { // STOP
        const result = pop();
        if (!(result instanceof Map)) throw fail("the pickle is not a dict of tensors", at);
        return result as Map<string, unknown>;
      }
      case 0x71: // BINPUT
        need(1);
        memo.set(bytes[p++]!, stack[stack.length - 1]);
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(dv.getUint32(p, true), stack[stack.length - 1]);
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, stack[stack.length - 1]);
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        let idx: number;
        if (op === 0x68) {
          need(1);
          idx = bytes[p++]!;
        } else {
          need(4);
          idx = dv.getUint32(p, true);
          p += 4;
        }
        if (!memo.has(idx)) throw fail(`memo ${idx} missing`, at);
        stack.push(memo.get(idx));
        break;
      }
      case 0x63: { // GLOBAL
        const name = `${line()}.${line()}`;
        if (!CALLABLES.has(name)) throw fail(`forbidden global "${name}"`, at);
        stack.push({ kind: "global", name } satisfies GlobalRef);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) throw fail("persistent id is not a storage", at);
        const [, type, key, , numel] = pid as [string, GlobalRef, string, string, number];
        const dtype = type?.kind === "global" ? STORAGE_DTYPES[type.name] : undefined;
        if (!dtype) throw fail(`storage type ${type?.kind === "global" ? type.name : "?"} is not float32/float16/bfloat16`, at);
        if (typeof key !== "string" || !Number.isSafeInteger(numel) || numel < 0) throw fail("malformed storage reference", at);
        stack.push({ kind: "storage", dtype, key, numel } satisfies StorageRef);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop() as GlobalRef;
        if (fn?.kind !== "global" || !Array.isArray(args)) throw fail("REDUCE of something that is not an allowed callable", at);
        stack.push(call(fn.name, args, (m) => fail(m, at)));
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85:
        stack.push([pop()]);
        break;
      case 0x86: {
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x4a: // BININT
        need(4);
        stack.push(dv.getInt32(p, true));
        p += 4;
        break;
      case 0x4b: // BININT1
        need(1);
        stack.push(bytes[p++]!);
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(dv.getUint16(p, true));
        p += 2;
        break;
      case 0x8a: { // LONG1: little-endian two's complement
        need(1);
        const n = bytes[p++]!;
        need(n);
        if (n > 7) throw fail("integer too large", at);
        let v = 0;
        for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[p + i]!;
        if (n > 0 && bytes[p + n - 1]! & 0x80) v -= 2 ** (8 * n);
        p += n;
        stack.push(v);
        break;
      }
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4e:
        stack.push(null);
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(dv.getFloat64(p, false));
        p += 8;
        break;
      case 0x58: { // BINUNICODE
        need(4);
        const n = dv.getUint32(p, true);
        p += 4;
        stack.push(text(n));
        break;
      }
      case 0x8c: { // SHORT_BINUNICODE
        need(1);
        const n = bytes[p++]!;
        stack.push(text(n));
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(stack[stack.length - 1], [k, v], at);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(stack[stack.length - 1], items, at);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        const list = stack[stack.length - 1];
        if (!Array.isArray(list)) throw fail("APPEND to something that is not a list", at);
        list.push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = stack[stack.length - 1];
        if (!Array.isArray(list)) throw fail("APPENDS to something that is not a list", at);
        list.push(...items);
        break;
      }
      case 0x62: // BUILD: OrderedDict's instance state (torch's `_metadata`); not needed for weights
        pop();
        break;
      default:
        throw fail(`opcode ${OPNAMES[op] ?? `0x${op.toString(16)}`} is not allowed`, at);
    }
  }
}

function call(name: string, args: unknown[], fail: (m: string) => Error): unknown {
  switch (name) {
    case "collections.OrderedDict":
      if (args.length !== 0) throw fail("OrderedDict with arguments");
      return new Map();
    case "torch._utils._rebuild_tensor_v2": {
      const [storage, offset, shape, stride] = args as [StorageRef, number, number[], number[]];
      if (storage?.kind !== "storage") throw fail("_rebuild_tensor_v2 without a storage");
      const ints = (a: unknown) => Array.isArray(a) && a.every((x) => Number.isSafeInteger(x) && x >= 0);
      if (!Number.isSafeInteger(offset) || offset < 0 || !ints(shape) || !ints(stride) || shape.length !== stride.length) {
        throw fail("_rebuild_tensor_v2 with a malformed offset, size or stride");
      }
      return { kind: "tensor", storage, offset, shape, stride } satisfies TensorRef;
    }
    case "torch._utils._rebuild_parameter": {
      const t = args[0] as TensorRef;
      if (t?.kind !== "tensor") throw fail("_rebuild_parameter without a tensor");
      return t;
    }
    default:
      throw fail(`${name} cannot be called`);
  }
}
