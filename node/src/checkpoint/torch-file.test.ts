// Reading torch.save files safely, and writing ones PyTorch reads back exactly.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { repoRoot, courseFixture } from "../../../test/support/paths.js";
import { readTorchStateDict, writeTorchStateDict } from "./torch-file.js";
import { readZip, writeZip } from "./zip.js";
import { CheckpointError } from "./errors.js";
import { loadStateDict } from "./read.js";
import type { StateDict } from "./tensor.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("ckpt-");

const course = (f: string) => courseFixture(f);
const tmp = () => scratch();
const TORCH_DTYPE = { f32: "float32", f16: "float16", bf16: "bfloat16" };

function torchView(file: string) {
  return JSON.parse(execFileSync("/usr/bin/python3", [join(repoRoot(), "test", "torch", "ckpt_roundtrip.py"), file], { encoding: "utf8" }));
}

function assertTorchSees(file: string, sd: StateDict) {
  const seen = torchView(file);
  assert.deepEqual(seen.keys, [...sd.keys()]);
  for (const [k, t] of sd) {
    const want = { dtype: TORCH_DTYPE[t.dtype], shape: t.shape, sha256: createHash("sha256").update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).digest("hex") };
    assert.deepEqual(seen.tensors[k], want, k);
  }
  return seen;
}

test("the course's base.pt loads: every tiny-gpt2 key, fp32, lm_head tied to wte", () => {
  const sd = loadStateDict(course("base.pt"));
  assert.equal(sd.size, 2 + 2 * 12 + 2 + 1);
  assert.deepEqual(sd.get("transformer.wte.weight")!.shape, [50257, 2]);
  assert.deepEqual([...sd.get("lm_head.weight")!.data], [...sd.get("transformer.wte.weight")!.data]);
  assert.deepEqual([...sd.get("transformer.h.0.ln_1.weight")!.data], [1, 1]);
});

test("both real course deltas load as fp16 with the keys the course sent", () => {
  assert.deepEqual([...loadStateDict(course("delta_v1764009046.pt")).keys()], ["transformer.wte.weight", "lm_head.weight"]);
  const d = loadStateDict(course("delta_v1764008499.pt"));
  assert.equal(d.size, 7);
  for (const t of d.values()) assert.equal(t.dtype, "f16");
});

test("what we read is what torch reads, tensor for tensor", { skip: needs("torch") }, () => {
  for (const f of ["base.pt", "delta_v1764008499.pt"]) assertTorchSees(course(f), loadStateDict(course(f)));
});

test("views torch saves with storage offsets and strides, sharing one storage, fp16 and bf16, read as torch reads them", { skip: needs("torch") }, () => {
  // base.pt holds only whole, contiguous storages: this file has the layouts a fine-tuning script's
  // state dict can carry (slices, transposes, a column, strided fp16, bf16, a 0-d tensor).
  const file = join(tmp(), "views.pt");
  execFileSync("/usr/bin/python3", [join(repoRoot(), "test", "torch", "views_fixture.py"), file]);
  const sd = readTorchStateDict(readFileSync(file), file);
  const seen = assertTorchSees(file, sd);
  assert.deepEqual(sd.get("transposed")!.shape, [3, 4]);
  assert.deepEqual(sd.get("column_1")!.shape, [4]);
  assert.deepEqual(sd.get("scalar")!.shape, []);
  // torch itself sees these as views of one storage; we give each its own contiguous copy.
  for (const k of ["rows_from_1", "column_1", "transposed"]) assert.ok(seen.shared.some(([a, b]: string[]) => a === "base" && b === k), k);
});

test("a state dict we write is read back by torch.load(weights_only=True) exactly, tied storage shared", { skip: needs("torch") }, () => {
  const sd = loadStateDict(course("base.pt"));
  sd.set("extra.bf16", { dtype: "bf16", shape: [2, 3], data: Uint16Array.of(0x3f80, 0xbf80, 0, 1, 0x7f7f, 0x4000) });
  sd.set("extra.scalar", { dtype: "f32", shape: [], data: Float32Array.of(3.5) });
  const file = join(tmp(), "out.pt");
  writeFileSync(file, writeTorchStateDict(sd, { sharedStorage: { "lm_head.weight": "transformer.wte.weight" } }));
  const seen = assertTorchSees(file, sd);
  assert.deepEqual(seen.shared, [["transformer.wte.weight", "lm_head.weight"]]);
  assert.deepEqual([...readTorchStateDict(readFileSync(file), file)].map(([k]) => k), [...sd.keys()]);
});

test("zip entries are 64-byte aligned, as torch writes them, and survive a round trip", () => {
  const bytes = writeZip([["a/data.pkl", Uint8Array.of(1, 2, 3)], ["a/data/0", new Uint8Array(100).fill(7)]]);
  const entries = readZip(bytes, "x.zip");
  assert.deepEqual([...entries.get("a/data/0")!], new Array(100).fill(7));
  const data0 = Buffer.from(bytes).indexOf(Buffer.alloc(100, 7));
  assert.equal(data0 % 64, 0);
});

function expectProblem(bytes: Uint8Array, pattern: RegExp) {
  assert.throws(() => readTorchStateDict(bytes, "bad.pt"), (e) => e instanceof CheckpointError && e.file === "bad.pt" && pattern.test(e.message), String(pattern));
}

test("a truncated or corrupted file is refused with a reason, naming the file", () => {
  const good = readFileSync(course("delta_v1764009046.pt"));
  expectProblem(good.subarray(0, good.length - 100), /zip|truncated|end-of-central/);
  expectProblem(good.subarray(0, 5000), /zip|truncated/);
  const flipped = Uint8Array.from(good);
  flipped[3000] ^= 0xff; // inside the storage of wte
  expectProblem(flipped, /CRC/);
  expectProblem(Buffer.from("hello, not a checkpoint"), /not a torch.save/);
});

test("a pickle naming any other global — os.system — is refused before anything runs", () => {
  const evil = Buffer.concat([Buffer.from([0x80, 2]), Buffer.from("cos\nsystem\n"), Buffer.from([0x58, 4, 0, 0, 0]), Buffer.from("echo"), Buffer.from([0x85, 0x52, 0x2e])]);
  expectProblem(writeZip([["archive/data.pkl", evil], ["archive/version", Buffer.from("3\n")]]), /forbidden global "os.system"/);
});

test("pickle opcodes outside torch's state-dict subset are refused with their offset", () => {
  const inst = Buffer.concat([Buffer.from([0x80, 2, 0x7d]), Buffer.from("i__builtin__\neval\n"), Buffer.from([0x2e])]);
  expectProblem(writeZip([["archive/data.pkl", inst]]), /opcode 0x69 is not allowed at byte 3/);
});

test("a view whose strides reach past its storage is refused", () => {
  const sd: StateDict = new Map([["w", { dtype: "f32", shape: [4], data: Float32Array.of(1, 2, 3, 4) }]]);
  const ok = writeTorchStateDict(sd);
  const entries = readZip(ok, "x");
  const pkl = Buffer.from(entries.get("archive/data.pkl")!);
  // numel in the persistent id (BININT1 4) → 2: the storage now claims 2 elements but holds 4 bytes' worth... of 16.
  const i = pkl.indexOf(Buffer.from([0x4b, 4, 0x74, 0x51]));
  pkl[i + 1] = 2;
  expectProblem(writeZip([...entries].map(([k, v]) => [k, k.endsWith("data.pkl") ? pkl : v])), /holds 16 bytes, expected 8/);
});
