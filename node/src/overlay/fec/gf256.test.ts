// GF(2^8) is a field: the axioms over every element (pairs in full, triples on a seeded sample),
// inverses, and the products and powers Backblaze's JavaReedSolomon checks against its Python
// prototype (src/test/java/com/backblaze/erasure/GaloisTest.java, testWithPythonAnswers).

import { test } from "node:test";
import assert from "node:assert/strict";
import { gfDiv, gfInv, gfMul, gfMulAddInto, gfPow } from "./gf256.js";
import { seededRandom } from "../../util/seeded-random.js";

test("multiplication is commutative, has 1 as identity and 0 as absorbing element, and every a ≠ 0 has an inverse", () => {
  for (let a = 0; a < 256; a++) {
    assert.equal(gfMul(a, 1), a);
    assert.equal(gfMul(a, 0), 0);
    for (let b = 0; b < 256; b++) assert.equal(gfMul(a, b), gfMul(b, a));
    if (a === 0) continue;
    assert.equal(gfMul(a, gfInv(a)), 1, `inverse of ${a}`);
    for (let b = 1; b < 256; b++) assert.equal(gfMul(gfDiv(a, b), b), a);
  }
  assert.throws(() => gfDiv(1, 0), /division by zero/);
});

test("multiplication is associative and distributes over addition (XOR)", () => {
  const rnd = seededRandom(11);
  for (let n = 0; n < 200_000; n++) {
    const a = Math.floor(rnd() * 256), b = Math.floor(rnd() * 256), c = Math.floor(rnd() * 256);
    assert.equal(gfMul(a, gfMul(b, c)), gfMul(gfMul(a, b), c));
    assert.equal(gfMul(a, b ^ c), gfMul(a, b) ^ gfMul(a, c));
  }
});

test("2 generates the multiplicative group: its 255 powers are every non-zero element once", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 255; i++) seen.add(gfPow(2, i));
  assert.equal(seen.size, 255);
  assert.ok(!seen.has(0));
  assert.equal(gfPow(2, 8), 0x1d);   // x^8 = x^4 + x^3 + x^2 + 1 under 0x11d
});

test("products and powers match Backblaze JavaReedSolomon's GaloisTest (Python answers)", () => {
  assert.equal(gfMul(3, 4), 12);
  assert.equal(gfMul(7, 7), 21);
  assert.equal(gfMul(23, 45), 41);
  assert.equal(gfPow(2, 2), 4);
  assert.equal(gfPow(5, 20), 235);
  assert.equal(gfPow(13, 7), 43);
  for (let a = 0; a < 256; a++) {
    let p = 1;
    for (let n = 0; n < 256; n++) { assert.equal(gfPow(a, n), p); p = gfMul(p, a); }
  }
});

test("mulAddInto adds c times a (zero-padded) symbol into another", () => {
  const dst = Uint8Array.from([1, 2, 3, 4]);
  gfMulAddInto(dst, Uint8Array.from([5, 6]), 7);
  assert.deepEqual([...dst], [1 ^ gfMul(7, 5), 2 ^ gfMul(7, 6), 3, 4]);
});
