import { test } from "node:test";
import assert from "node:assert/strict";
import { readSafetensors, writeSafetensors } from "./safetensors.js";
import { CheckpointError } from "./errors.js";
import type { StateDict } from "./tensor.js";

test("safetensors round-trips f32, f16 and bf16 tensors with 8-byte aligned data", () => {
  const sd: StateDict = new Map([
    ["a", { dtype: "f32", shape: [2, 2], data: Float32Array.of(1, -2, 3.5, 0) }],
    ["b", { dtype: "f16", shape: [3], data: Uint16Array.of(0x3c00, 0, 0x7bff) }],
    ["c", { dtype: "bf16", shape: [], data: Uint16Array.of(0x3f80) }],
  ]);
  const bytes = writeSafetensors(sd);
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0);
  assert.deepEqual(readSafetensors(bytes, "m.safetensors"), sd);
});

test("a header whose ranges do not fit the data is refused, naming the tensor", () => {
  const bytes = writeSafetensors(new Map([["w", { dtype: "f32", shape: [4], data: new Float32Array(4) }]]));
  assert.throws(() => readSafetensors(bytes.subarray(0, bytes.length - 4), "m.safetensors"), (e) => e instanceof CheckpointError && /"w"/.test(e.message));
  assert.throws(() => readSafetensors(Uint8Array.of(255, 255, 255, 255, 0, 0, 0, 0, 1), "m.safetensors"), CheckpointError);
});
