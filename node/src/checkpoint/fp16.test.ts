// fp16 conversion rounds exactly as torch's .half() does.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { floatToHalf, halfToFloat, fromBFloat16 } from "./fp16.js";
import { needs } from "../../../test/support/needs.js";
import { repoRoot } from "../../../test/support/paths.js";
import { readTorchStateDict, writeTorchStateDict } from "./torch-file.js";
import { seededRandom } from "../util/seeded-random.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("fp16-");

test("every one of the 65536 halves survives widening and narrowing (NaNs stay NaN)", () => {
  for (let h = 0; h < 65536; h++) {
    const f = halfToFloat(h);
    if (Number.isNaN(f)) assert.ok(Number.isNaN(halfToFloat(floatToHalf(f))));
    else assert.equal(floatToHalf(f), h, `half 0x${h.toString(16)}`);
  }
});

test("ties round to even, tiny values to subnormals or zero, huge ones to infinity", () => {
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // halfway between 1 and the next half: even (1)
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02); // halfway, odd below: up
  assert.equal(floatToHalf(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(floatToHalf(2 ** -25), 0x0000); // exactly half of it: ties to even (0)
  assert.equal(floatToHalf(1.5 * 2 ** -25), 0x0001);
  assert.equal(floatToHalf(65520), 0x7c00); // rounds past the largest half
  assert.equal(floatToHalf(-65504), 0xfbff);
  assert.equal(floatToHalf(-0), 0x8000);
  assert.deepEqual([...fromBFloat16(Uint16Array.of(0x3f80, 0xc000))], [1, -2]);
});

test("random floats of every magnitude narrow exactly as torch's .half()", { skip: needs("torch") }, () => {
  const rnd = seededRandom(3);
  const values = new Float32Array(20000).map(() => (rnd() - 0.5) * 2 ** Math.floor(rnd() * 50 - 30));
  const dir = scratch();
  writeFileSync(join(dir, "in.pt"), writeTorchStateDict(new Map([["x", { dtype: "f32", shape: [values.length], data: values }]])));
  execFileSync("/usr/bin/python3", [join(repoRoot(), "test", "torch", "half_reference.py"), join(dir, "in.pt"), join(dir, "out.pt")]);
  const torchHalf = readTorchStateDict(readFileSync(join(dir, "out.pt")), "out.pt").get("x")!.data;
  values.forEach((v, i) => assert.equal(floatToHalf(v), torchHalf[i], `${v}`));
});
