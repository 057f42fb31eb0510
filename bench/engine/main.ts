#!/usr/bin/env node
// Engine speed, as ratios against baselines measured in the same run:
//   • one course fine-tune step (fwd + bwd + clip + SGD on the 12-token text): ours vs PyTorch;
//   • greedy generation of 6 tokens with a KV cache: TypeScript vs ONNX Runtime vs PyTorch.
// PyTorch (Debian python3-torch, 1 thread) runs when /usr/bin/python3 can import torch.
//
//   npm run bench:engine [-- --repeats 200]

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { loadModel } from "../../node/src/model/load.js";
import { backward, createWorkspace, forward, loss, nextTokenTargets } from "../../node/src/engine/gpt2.js";
import { viewParams } from "../../node/src/engine/params.js";
import { clipGradNorm, sgdStep } from "../../node/src/engine/optim.js";
import { TsDecoder } from "../../node/src/engine/decoder.js";
import { OnnxDecoder } from "../../node/src/engine/onnx/session.js";
import { generate } from "../../node/src/engine/generate.js";
import { repoRoot, courseFixture } from "../../test/support/paths.js";

const TOKENS = [48, 25, 1867, 318, 362, 10, 17, 198, 32, 25, 604, 198];
const repeats = Number(process.argv[process.argv.indexOf("--repeats") + 1] ?? 0) || 200;
const BASE_PT = courseFixture("base.pt");

async function median(fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const { params } = loadModel(BASE_PT);
const grads = viewParams(params.config);
const ws = createWorkspace(params, TOKENS.length);
const { targets, weights } = nextTokenTargets(TOKENS);
const step = await median(() => {
  grads.flat.fill(0);
  forward(params, TOKENS, ws);
  loss(params, ws, targets, weights);
  backward(params, grads, TOKENS, ws);
  clipGradNorm(grads.flat, 1);
  sgdStep(params.flat, grads.flat, 1e-6);
});
const prompt = TOKENS.slice(0, 10);
const ts = new TsDecoder(params);
const onnx = await OnnxDecoder.create(params);
const genTs = await median(() => generate(ts, prompt, { maxNewTokens: 6, stopIds: [] }));
const genOnnx = await median(() => generate(onnx, prompt, { maxNewTokens: 6, stopIds: [] }));

let torch: { finetune_step_ms: number; generate6_ms: number } | undefined;
try {
  torch = JSON.parse(execFileSync("/usr/bin/python3", [join(repoRoot(), "test", "torch", "bench_reference.py"), BASE_PT, String(repeats)], { encoding: "utf8" }));
} catch {
  console.log("(PyTorch not available: install python3-torch for the baseline column)");
}

const row = (what: string, ms: number, base?: number, baseName = "PyTorch") =>
  console.log(`${what.padEnd(44)} ${ms.toFixed(3).padStart(8)} ms${base ? `   ${baseName} ${base.toFixed(3)} ms   ratio ours/${baseName} ${(ms / base).toFixed(2)}` : ""}`);
console.log(`engine benchmark, tiny-gpt2 on the course's base.pt, median of ${repeats}`);
row("course fine-tune step (12 tokens)", step, torch?.finetune_step_ms);
row("greedy 6 tokens, TypeScript + KV cache", genTs, torch?.generate6_ms);
row("greedy 6 tokens, ONNX Runtime + KV cache", genOnnx, torch?.generate6_ms);
console.log(`tokens/s: TypeScript ${(6000 / genTs).toFixed(0)}, ONNX Runtime ${(6000 / genOnnx).toFixed(0)}${torch ? `, PyTorch ${(6000 / torch.generate6_ms).toFixed(0)}` : ""}; ONNX/TypeScript time ratio ${(genOnnx / genTs).toFixed(2)}`);
await onnx.close();
