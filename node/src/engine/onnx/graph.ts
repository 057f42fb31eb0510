// The GPT-2 decoder as an ONNX graph (opset 17) with a KV cache, built for any config.
//
// Weights are graph INPUTS, not initializers: a merged delta changes the weights, and with
// initializers every merge would mean re-serialising and re-loading the session (~40 ms and a
// second copy of the weights for tiny-gpt2, far more for larger models); as inputs, the next run
// simply reads the updated Float32Array views. Inputs and outputs follow transformers.js's decoder
// names (input_ids, position_ids, past_key_values.{i}.key/value → logits, present.{i}.key/value).
//
// Shape legend: S new positions, P cached positions, L = P + S, C channels, NH heads, HS = C/NH.

import type { Gpt2Config } from "../config.js";
import { paramSpecs } from "../params.js";
import { FLOAT, INT64, floatTensor, int64Tensor, modelProto, type NodeSpec, type ValueSpec } from "./proto.js";

export const OPSET = 17;

export function pastName(layer: number, kind: "key" | "value"): string {
  return `past_key_values.${layer}.${kind}`;
}

export function presentName(layer: number, kind: "key" | "value"): string {
  return `present.${layer}.${kind}`;
}

export function buildDecoderGraph(config: Gpt2Config): Uint8Array {
  const { n_embd: C, n_head: NH, n_layer: L, vocab_size: V, layer_norm_epsilon: eps } = config;
  const HS = C / NH;
  const nodes: NodeSpec[] = [];
  let counter = 0;
  const tmp = (hint: string) => `${hint}_${counter++}`;
  const op = (type: string, inputs: string[], attrs?: NodeSpec["attrs"], hint = type.toLowerCase()): string => {
    const out = tmp(hint);
    nodes.push({ op: type, inputs, outputs: [out], attrs });
    return out;
  };
  const initializers = [
    int64Tensor("shape_heads", [4], [1, -1, NH, HS]), // (1, S, NH, HS)
    int64Tensor("shape_merge", [3], [1, -1, C]), // (1, S, C)
    int64Tensor("split_qkv", [3], [C, C, C]),
    int64Tensor("axis0", [1], [0]),
    int64Tensor("one_i", [1], [1]),
    int64Tensor("two_i", [1], [2]),
    int64Tensor("three_i", [1], [3]),
    floatTensor("scale", [], [1 / Math.sqrt(HS)]),
    floatTensor("neg_big", [], [-1e9]),
    floatTensor("one_f", [], [1]),
    floatTensor("half_f", [], [0.5]),
    floatTensor("gelu_c", [], [Math.sqrt(2 / Math.PI)]),
    floatTensor("gelu_k", [], [0.044715]),
  ];
  const w = (key: string) => key; // weights are inputs named by their state-dict key

  // Embeddings: (1, S, C)
  let x = op("Add", [op("Gather", [w("transformer.wte.weight"), "input_ids"], { axis: 0 }), op("Gather", [w("transformer.wpe.weight"), "position_ids"], { axis: 0 })]);

  // Causal mask over the whole cache: query i (absolute position P + i) sees keys j <= P + i.
  const S = op("Slice", [op("Shape", ["input_ids"]), "one_i", "two_i"]); // (1) = [S]
  const Lk = op("Add", [op("Slice", [op("Shape", [pastName(0, "key")]), "two_i", "three_i"]), S]); // (1) = [L]
  const ones = op("ConstantOfShape", [op("Concat", [S, Lk], { axis: 0 })], { value: { tensor: floatTensor("v", [1], [1]) } }); // (S, L)
  const P = op("Squeeze", [op("Sub", [Lk, S]), "axis0"]); // () = P
  const visible = op("Trilu", [ones, P], { upper: 0 }); // (S, L) 1 where visible
  const mask = op("Mul", [op("Sub", ["one_f", visible]), "neg_big"]); // (S, L) 0 or -1e9

  const heads = (t: string) => op("Transpose", [op("Reshape", [t, "shape_heads"])], { perm: [0, 2, 1, 3] }); // (1, NH, S, HS)
  const ln = (inp: string, prefix: string) => op("LayerNormalization", [inp, w(`${prefix}.weight`), w(`${prefix}.bias`)], { axis: -1, epsilon: { float: eps } });
  const linear = (inp: string, prefix: string) => op("Add", [op("MatMul", [inp, w(`${prefix}.weight`)]), w(`${prefix}.bias`)]);

  const outputs: ValueSpec[] = [{ name: "logits", elemType: FLOAT, dims: [1, "sequence", V] }];
  for (let l = 0; l < L; l++) {
    const p = `transformer.h.${l}`;
    const qkv = linear(ln(x, `${p}.ln_1`), `${p}.attn.c_attn`); // (1, S, 3C)
    const [q, k, v] = [tmp("q"), tmp("k"), tmp("v")];
    nodes.push({ op: "Split", inputs: [qkv, "split_qkv"], outputs: [q, k, v], attrs: { axis: 2 } });
    const kAll = presentName(l, "key");
    const vAll = presentName(l, "value");
    nodes.push({ op: "Concat", inputs: [pastName(l, "key"), heads(k)], outputs: [kAll], attrs: { axis: 2 } }); // (1, NH, L, HS)
    nodes.push({ op: "Concat", inputs: [pastName(l, "value"), heads(v)], outputs: [vAll], attrs: { axis: 2 } });
    const scores = op("Add", [op("Mul", [op("MatMul", [heads(q), op("Transpose", [kAll], { perm: [0, 1, 3, 2] })]), "scale"]), mask]); // (1, NH, S, L)
    const att = op("Softmax", [scores], { axis: -1 });
    const y = op("Reshape", [op("Transpose", [op("MatMul", [att, vAll])], { perm: [0, 2, 1, 3] }), "shape_merge"]); // (1, S, C)
    x = op("Add", [x, linear(y, `${p}.attn.c_proj`)]);
    const h = linear(ln(x, `${p}.ln_2`), `${p}.mlp.c_fc`); // (1, S, 4C)
    // gelu_new (opset 17 has no Gelu): 0.5·h·(1 + tanh(√(2/π)·(h + 0.044715·h³)))
    const inner = op("Mul", [op("Add", [h, op("Mul", [op("Mul", [op("Mul", [h, h]), h]), "gelu_k"])]), "gelu_c"]);
    const g = op("Mul", [op("Mul", [h, "half_f"]), op("Add", ["one_f", op("Tanh", [inner])])]);
    x = op("Add", [x, linear(g, `${p}.mlp.c_proj`)]);
    outputs.push({ name: kAll, elemType: FLOAT, dims: [1, NH, "total", HS] }, { name: vAll, elemType: FLOAT, dims: [1, NH, "total", HS] });
  }
  const hf = ln(x, "transformer.ln_f"); // (1, S, C)
  nodes.push({ op: "MatMul", inputs: [hf, op("Transpose", [w("transformer.wte.weight")], { perm: [1, 0] })], outputs: ["logits"] }); // (1, S, V)

  const inputs: ValueSpec[] = [
    { name: "input_ids", elemType: INT64, dims: [1, "sequence"] },
    { name: "position_ids", elemType: INT64, dims: [1, "sequence"] },
  ];
  for (let l = 0; l < L; l++) {
    for (const kind of ["key", "value"] as const) inputs.push({ name: pastName(l, kind), elemType: FLOAT, dims: [1, NH, "past", HS] });
  }
  for (const spec of paramSpecs(config)) inputs.push({ name: spec.key, elemType: FLOAT, dims: spec.shape });
  return modelProto({ name: "gpt2_decoder", nodes, initializers, inputs, outputs, opset: OPSET });
}
