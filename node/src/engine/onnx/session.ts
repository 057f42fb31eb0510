// GPT-2 generation on onnxruntime-node: the LogitsStepper over the graph of graph.ts.

import "./no-telemetry.js";
import * as ort from "onnxruntime-node";
import type { Params } from "../params.js";
import { paramSpecs } from "../params.js";
import type { LogitsStepper } from "../decoder.js";
import { buildDecoderGraph, pastName, presentName } from "./graph.js";

export class OnnxDecoder implements LogitsStepper {
  private past: Map<string, ort.Tensor> = new Map();
  private pos = 0;
  private readonly weights: Record<string, ort.Tensor>;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly params: Params,
  ) {
    // Tensors over the live parameter views: a merge into params.flat is seen by the next run.
    this.weights = {};
    for (const s of paramSpecs(params.config)) {
      this.weights[s.key] = new ort.Tensor("float32", params.flat.subarray(s.offset, s.offset + s.size), s.shape);
    }
    this.reset();
  }

  static async create(params: Params): Promise<OnnxDecoder> {
    const session = await ort.InferenceSession.create(buildDecoderGraph(params.config), {
      // One thread: a Pi has four cores and the node has other work; tiny-gpt2 gains nothing from more.
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
    return new OnnxDecoder(session, params);
  }

  get length(): number {
    return this.pos;
  }

  reset(): void {
    const { n_layer, n_head, n_embd } = this.params.config;
    const empty = () => new ort.Tensor("float32", new Float32Array(0), [1, n_head, 0, n_embd / n_head]);
    this.past = new Map();
    for (let l = 0; l < n_layer; l++) for (const kind of ["key", "value"] as const) this.past.set(pastName(l, kind), empty());
    this.pos = 0;
  }

  /** Logits (S, V) of every fed position, flat. */
  async feedAll(tokens: readonly number[]): Promise<Float32Array> {
    const S = tokens.length;
    if (this.pos + S > this.params.config.n_positions) throw new Error(`context full: the model takes at most ${this.params.config.n_positions} positions`);
    const ids = new ort.Tensor("int64", BigInt64Array.from(tokens, (t) => BigInt(t)), [1, S]);
    const positions = new ort.Tensor("int64", BigInt64Array.from({ length: S }, (_, i) => BigInt(this.pos + i)), [1, S]);
    const feeds: Record<string, ort.Tensor> = { input_ids: ids, position_ids: positions, ...this.weights };
    for (const [name, t] of this.past) feeds[name] = t;
    const out = await this.session.run(feeds);
    const { n_layer } = this.params.config;
    for (let l = 0; l < n_layer; l++) {
      for (const kind of ["key", "value"] as const) this.past.set(pastName(l, kind), out[presentName(l, kind)]!);
    }
    this.pos += S;
    return out.logits!.data as Float32Array;
  }

  async feed(tokens: readonly number[]): Promise<Float32Array> {
    const all = await this.feedAll(tokens);
    const V = this.params.config.vocab_size;
    return all.subarray(all.length - V);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
