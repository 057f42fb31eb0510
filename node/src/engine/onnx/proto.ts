// Just enough protobuf to write an ONNX ModelProto (onnx/onnx.proto3 field numbers), so the graph
// is generated here rather than exported by Python tooling we cannot ship to a Pi.

const enc = new TextEncoder();

class Writer {
  private chunks: number[] = [];
  private push(...b: number[]) {
    for (const x of b) this.chunks.push(x);
  }
  varint(v: number | bigint) {
    let n = BigInt.asUintN(64, BigInt(v));
    while (n >= 0x80n) {
      this.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.push(Number(n));
  }
  tag(field: number, wire: number) {
    this.varint((field << 3) | wire);
  }
  int(field: number, v: number | bigint) {
    this.tag(field, 0);
    this.varint(v);
  }
  bytes(field: number, b: Uint8Array) {
    this.tag(field, 2);
    this.varint(b.length);
    for (let i = 0; i < b.length; i++) this.chunks.push(b[i]!);
  }
  string(field: number, s: string) {
    this.bytes(field, enc.encode(s));
  }
  float(field: number, f: number) {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, f, true);
    this.push(...b);
  }
  message(field: number, m: Uint8Array) {
    this.bytes(field, m);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

export const FLOAT = 1;
export const INT64 = 7;

export type AttrValue = number | number[] | { float: number } | { tensor: Uint8Array };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

function attribute(name: string, v: AttrValue): Uint8Array {
  const w = new Writer();
  w.string(1, name);
  if (typeof v === "number") {
    w.int(3, v);
    w.int(20, 2); // INT
  } else if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    w.int(20, 7); // INTS
  } else if ("float" in v) {
    w.float(2, v.float);
    w.int(20, 1); // FLOAT
  } else {
    w.message(5, v.tensor);
    w.int(20, 4); // TENSOR
  }
  return w.finish();
}

function node(n: NodeSpec, index: number): Uint8Array {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.op}_${index}`);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  return w.finish();
}

export function tensorProto(name: string, dataType: number, dims: number[], raw: Uint8Array): Uint8Array {
  const w = new Writer();
  for (const d of dims) w.int(1, d);
  w.int(2, dataType);
  w.string(8, name);
  w.bytes(9, raw);
  return w.finish();
}

export function floatTensor(name: string, dims: number[], values: number[] | Float32Array): Uint8Array {
  const f = Float32Array.from(values);
  return tensorProto(name, FLOAT, dims, new Uint8Array(f.buffer));
}

export function int64Tensor(name: string, dims: number[], values: number[]): Uint8Array {
  const b = new BigInt64Array(values.map((v) => BigInt(v)));
  return tensorProto(name, INT64, dims, new Uint8Array(b.buffer));
}

/** A graph input or output: element type and shape, each dim a size or a symbolic name. */
export interface ValueSpec {
  name: string;
  elemType: number;
  dims: Array<number | string>;
}

function valueInfo(v: ValueSpec): Uint8Array {
  const shape = new Writer();
  for (const d of v.dims) {
    const dim = new Writer();
    if (typeof d === "number") dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim.finish());
  }
  const tensorType = new Writer();
  tensorType.int(1, v.elemType);
  tensorType.message(2, shape.finish());
  const type = new Writer();
  type.message(1, tensorType.finish());
  const w = new Writer();
  w.string(1, v.name);
  w.message(2, type.finish());
  return w.finish();
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers: Uint8Array[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  opset: number;
}

export function modelProto(g: GraphSpec): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => graph.message(1, node(n, i)));
  graph.string(2, g.name);
  for (const t of g.initializers) graph.message(5, t);
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  const opset = new Writer();
  opset.string(1, "");
  opset.int(2, g.opset);
  const model = new Writer();
  model.int(1, 8); // IR version 8 (ONNX 1.13+), what opset 17 needs
  model.string(2, "deltafleet");
  model.message(7, graph.finish());
  model.message(8, opset.finish());
  return model.finish();
}
