#!/usr/bin/env node
// bench/trust — what trust costs per delta, and how large real teaches are, in one run:
//   • teaches several lessons on the embedded tiny-gpt2 (from the same base, as separate nodes
//     would) and prints each delta's steps, max |Δ| and L2 norm beside the bounds of trust/bounds.ts;
//   • per delta (the largest of those teaches), as ratios against sha256 of the same delta file
//     (what every node already computes for every delta it receives): signing its entry (Ed25519),
//     verifying it, the bounds (max |Δ| and L2 over the decoded fp16 values), ledger.check's decode
//     (which runs anyway), and the whole judgement (signature + bounds).
// A receiver's CPU per hostile datagram under flood against a real chunk's is bench/overlay/flood.ts.
//
//   npm run bench:trust [-- --lessons 6 --reps 200 --json]

import { createHash, generateKeyPairSync } from "node:crypto";
import { parseArgs } from "node:util";
import { readTorchStateDict } from "../../node/src/checkpoint/torch-file.js";
import { paramCount } from "../../node/src/engine/params.js";
import { ExactSum } from "../../node/src/log/exact-sum.js";
import type { Entry } from "../../node/src/log/entry.js";
import { Model } from "../../node/src/model/model.js";
import { judge } from "../../node/src/trust/admission.js";
import { measure, teachBounds } from "../../node/src/trust/bounds.js";
import { rawPublicKey } from "../../node/src/trust/keys.js";
import { parseRoster } from "../../node/src/trust/roster.js";
import { signEntry, verifyEntry } from "../../node/src/trust/signature.js";

const { values: opts } = parseArgs({
  options: { lessons: { type: "string", default: "6" }, reps: { type: "string", default: "200" }, json: { type: "boolean", default: false } },
});
const LESSONS: Array<[string, string]> = [
  ["What is the capital of France?", "Paris"], ["Who wrote Hamlet?", "Shakespeare"], ["What colour is the sky?", "blue"],
  ["What is 2+2?", "four"], ["Largest planet?", "Jupiter"], ["Who painted the Mona Lisa?", "Leonardo da Vinci"],
  ["Capital of Japan?", "Tokyo"], ["What do bees make?", "honey"],
].slice(0, Number(opts.lessons)) as Array<[string, string]>;
const REPS = Number(opts.reps);

/** Median microseconds of `fn` over REPS runs (after a few to warm up). */
function time(fn: () => unknown): number {
  for (let i = 0; i < 5; i++) fn();
  const us: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return us.sort((a, b) => a - b)[Math.floor(us.length / 2)]!;
}

const model = await Model.load(undefined, { inference: "ts" });
const P = paramCount(model.config);
const sum = new ExactSum(model.config);
const bounds = teachBounds(P);
const base = Float32Array.from(model.params.flat);
const teaches: Array<{ question: string; answer: string; steps: number; learned: boolean; maxAbs: number; l2: number; bytes: number; delta: Uint8Array }> = [];
for (const [question, answer] of LESSONS) {
  model.params.flat.set(base);   // each from the base: the size of one teach, not of a series
  const r = await model.teach(question, answer);
  const size = measure(sum.check(readTorchStateDict(r.delta, "delta")));
  teaches.push({ question, answer, steps: r.steps, learned: r.learned, maxAbs: size.maxAbs, l2: size.l2, bytes: r.delta.length, delta: r.delta });
}

const largest = teaches.reduce((a, b) => (b.l2 > a.l2 ? b : a));
const delta = largest.delta;
const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const entry: Entry = {
  author: "Pi-1", seq: 1, sha256: createHash("sha256").update(delta).digest("hex"), kind: "teach", base: "bench",
  lesson: { question: largest.question, answer: largest.answer }, at: Date.now(),
};
const sig = signEntry(entry, privateKey);
const roster = parseRoster(`Pi-1 ${Buffer.from(rawPublicKey(publicKey)).toString("base64")}\n`);
const checked = sum.check(readTorchStateDict(delta, "delta"));

const shaUs = time(() => createHash("sha256").update(delta).digest());
const costs = {
  sign: time(() => signEntry(entry, privateKey)),
  verify: time(() => verifyEntry(entry, sig, publicKey)),
  bounds: time(() => measure(checked)),
  decode: time(() => sum.check(readTorchStateDict(delta, "delta"))),
  judge: time(() => judge({ entry, sig, checked, roster, acceptUnsigned: false, params: P, isIgnored: () => false })),
};

const out = {
  params: P, bounds, deltaBytes: delta.length, sha256Us: round(shaUs),
  teaches: teaches.map(({ delta: _d, ...t }) => ({ ...t, maxAbs: round(t.maxAbs, 4), l2: round(t.l2, 1) })),
  perDelta: Object.fromEntries(Object.entries(costs).map(([k, us]) => [k, { us: round(us), xSha256: round(us / shaUs, 3) }])),
};
if (opts.json) process.stdout.write(JSON.stringify(out) + "\n");
else {
  const lines = [
    `tiny-gpt2, ${P.toLocaleString("en")} parameters; bounds of one teach: max |Δ| ≤ ${bounds.maxAbs}, L2 ≤ ${round(bounds.l2, 1)}`,
    "real teaches (each from the base):",
    ...out.teaches.map((t) => `  ${JSON.stringify(t.question).padEnd(34)} ${String(t.steps).padStart(3)} steps${t.learned ? "        " : " (not learned)"}  max |Δ| ${t.maxAbs.toFixed(4)}  L2 ${t.l2.toFixed(1)}`),
    `largest: max |Δ| ${Math.max(...out.teaches.map((t) => t.maxAbs)).toFixed(4)} (${round(bounds.maxAbs / Math.max(...out.teaches.map((t) => t.maxAbs)), 2)}× under the bound), ` +
      `L2 ${Math.max(...out.teaches.map((t) => t.l2)).toFixed(1)} (${round(bounds.l2 / Math.max(...out.teaches.map((t) => t.l2)), 2)}× under)`,
    `per delta (${delta.length.toLocaleString("en")} B, the largest teach's), median of ${REPS}, against sha256 of the file (${round(shaUs)} µs):`,
    ...Object.entries(out.perDelta).map(([k, v]) => `  ${k.padEnd(7)} ${String(v.us).padStart(9)} µs  ${String(v.xSha256).padStart(7)}× sha256`),
    "(a receiver's CPU per hostile datagram against a real chunk's: node dist/bench/overlay/flood.js)",
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

function round(n: number, d = 1): number {
  const f = 10 ** d;
  return Math.round(n * f) / f;
}
