// The TypeScript GPT-2 computes what PyTorch computes: logits, loss and every gradient on the
// course's real base.pt (golden/base-pt-golden.json, written by test/torch/gpt2_reference.py).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModel } from "../model/load.js";
import { needs } from "../../../test/support/needs.js";
import { repoRoot, courseFixture } from "../../../test/support/paths.js";
import { backward, createWorkspace, forward, loss, nextTokenTargets } from "./gpt2.js";
import { paramSpecs, viewParams, type Params } from "./params.js";
import { AdamW, clipGradNorm, sgdStep } from "./optim.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("golden-");

const BASE_PT = courseFixture("base.pt");
const GOLDEN = join(repoRoot(), "test", "fixtures", "golden", "base-pt-golden.json");
const golden = JSON.parse(readFileSync(GOLDEN, "utf8"));
const tokens: number[] = golden.tokens;

/** Relative error ≤ 1e-4, with a floor for values that are themselves near zero. */
function assertClose(actual: number, expected: number, what: string, rel = 1e-4, abs = 1e-7): void {
  const tol = Math.max(abs, rel * Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs PyTorch ${expected} (tolerance ${tol})`);
}

function fresh(): Params {
  return loadModel(BASE_PT).params;
}

function gradsOf(params: Params, answerFrom = 0): { grads: Params; loss: number } {
  const ws = createWorkspace(params, tokens.length);
  forward(params, tokens, ws);
  const { targets, weights } = nextTokenTargets(tokens, answerFrom);
  const l = loss(params, ws, targets, weights);
  const grads = viewParams(params.config);
  backward(params, grads, tokens, ws);
  return { grads, loss: l };
}

function view(p: Params, key: string): Float32Array {
  const s = paramSpecs(p.config).find((x) => x.key === key)!;
  return p.flat.subarray(s.offset, s.offset + s.size);
}

test("logits on the real base.pt match PyTorch", () => {
  const params = fresh();
  const ws = createWorkspace(params, tokens.length);
  const logits = forward(params, tokens, ws);
  const V = params.config.vocab_size;
  golden.logits.values.forEach((row: number[], t: number) =>
    row.forEach((v, j) => assertClose(logits[t * V + golden.logits.columns[j]]!, v, `logits[${t}, ${golden.logits.columns[j]}]`)),
  );
  for (let t = 0; t < tokens.length; t++) {
    const row = logits.subarray(t * V, (t + 1) * V);
    let max = -Infinity, arg = 0;
    row.forEach((v, i) => v > max && ((max = v), (arg = i)));
    let s = 0;
    for (const v of row) s += Math.exp(v - max);
    assertClose(max + Math.log(s), golden.logits.logsumexp[t], `logsumexp[${t}]`);
    assert.equal(arg, golden.logits.argmax[t], `argmax at position ${t}`);
  }
});

test("loss over all tokens and over the answer match PyTorch (10.8320, as the Pi logged)", () => {
  assertClose(gradsOf(fresh()).loss, golden.loss_all, "loss_all");
  assertClose(gradsOf(fresh(), 9).loss, golden.loss_answer, "loss_answer");
});

test("every parameter's gradient matches PyTorch", () => {
  const { grads } = gradsOf(fresh());
  for (const [key, g] of Object.entries<any>(golden.grads)) {
    const v = view(grads, key);
    let n = 0;
    for (const x of v) n += x * x;
    assertClose(Math.sqrt(n), g.norm, `‖grad ${key}‖`);
    g.index.forEach((i: number, j: number) => assertClose(v[i]!, g.value[j], `grad ${key}[${i}]`, 1e-4, 1e-4 * g.norm));
  }
});

test("five steps of the course recipe (SGD 1e-6, clip 1.0) move the weights as PyTorch's do", () => {
  const base = fresh();
  const p = fresh();
  for (let s = 0; s < 5; s++) {
    const { grads } = gradsOf(p);
    clipGradNorm(grads.flat, 1.0);
    sgdStep(p.flat, grads.flat, 1e-6);
  }
  for (const [key, g] of Object.entries<any>(golden.course_sgd_5)) {
    const a = view(p, key), b = view(base, key);
    let n = 0;
    for (let i = 0; i < a.length; i++) n += (a[i]! - b[i]!) ** 2;
    // Changes of ~1e-7 on weights of ~1e-2 sit at float32's resolution: compare at 1 %.
    assertClose(Math.sqrt(n), g.change_norm, `‖Δ ${key}‖`, 1e-2, 1e-9);
  }
});

test("one Adam step on the answer tokens lands where PyTorch's does", () => {
  const p = fresh();
  const { grads } = gradsOf(p, 9);
  new AdamW(p.flat.length, { lr: 0.02 }).step(p.flat, grads.flat);
  for (const [key, s] of Object.entries<any>(golden.adam_1)) {
    const v = view(p, key);
    s.index.forEach((i: number, j: number) => assertClose(v[i]!, s.value[j], `${key}[${i}] after Adam`, 1e-4, 1e-6));
  }
});

test("the committed golden file is what the PyTorch reference writes today", { skip: needs("torch") }, () => {
  const out = join(scratch(), "golden.json");
  execFileSync("/usr/bin/python3", [join(repoRoot(), "test", "torch", "gpt2_reference.py"), BASE_PT, out]);
  const fresh = JSON.parse(readFileSync(out, "utf8"));
  const flat = (o: unknown, path = ""): Array<[string, unknown]> =>
    o !== null && typeof o === "object" ? Object.entries(o).flatMap(([k, v]) => flat(v, `${path}.${k}`)) : [[path, o]];
  const want = new Map(flat(golden));
  for (const [path, v] of flat(fresh)) {
    if (path === ".torch") continue;
    const w = want.get(path);
    if (typeof v === "number" && typeof w === "number") assertClose(v, w, `golden${path}`, 1e-6, 1e-12);
    else assert.deepEqual(v, w, `golden${path}`);
  }
});
