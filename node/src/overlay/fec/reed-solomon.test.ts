// The erasure code: Backblaze JavaReedSolomon's published 5+5 encoding
// (src/test/java/com/backblaze/erasure/ReedSolomonTest.java, testOneEncode: the parity its Python
// prototype computed), decoding from every subset of that code, and a seeded property test: random
// k and m, random symbol lengths (the last data symbol short), any m symbols lost → the exact data.

import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeParity, generatorRow, recover, RS_MAX_SYMBOLS } from "./reed-solomon.js";
import { seededRandom } from "../../util/seeded-random.js";

const bytes = (...b: number[]): Buffer => Buffer.from(b);

test("5 data + 5 parity symbols: the parity Backblaze JavaReedSolomon's testOneEncode asserts", () => {
  const data = [bytes(0, 1), bytes(4, 5), bytes(2, 3), bytes(6, 7), bytes(8, 9)];
  const parity = [5, 6, 7, 8, 9].map((s) => [...encodeParity(data, s, 2)]);
  assert.deepEqual(parity, [[12, 13], [10, 11], [14, 15], [90, 91], [94, 95]]);
});

test("5+5: every subset of up to 5 lost symbols decodes to the data (Backblaze's runEncodeDecode)", () => {
  const data = [bytes(0, 1), bytes(1, 2), bytes(1, 3), bytes(2, 4), bytes(3, 5)];
  const all = [...data, ...[5, 6, 7, 8, 9].map((s) => encodeParity(data, s, 2))];
  let cases = 0;
  for (let lost = 0; lost < 1 << 10; lost++) {
    let n = 0;
    for (let b = lost; b; b >>= 1) n += b & 1;
    if (n > 5) continue;
    const held = new Map<number, Uint8Array>();
    all.forEach((s, i) => { if (!(lost & (1 << i))) held.set(i, s); });
    const got = recover(5, held, [0, 1, 2, 3, 4], 2)!;
    assert.deepEqual([0, 1, 2, 3, 4].map((j) => [...got.get(j)!]), data.map((d) => [...d]), `lost mask ${lost.toString(2)}`);
    cases++;
  }
  assert.equal(cases, 638);   // C(10,0) + ... + C(10,5)
});

test("fewer than k symbols: nothing is recovered", () => {
  const data = [bytes(1), bytes(2), bytes(3)];
  assert.equal(recover(3, new Map([[0, data[0]!], [4, encodeParity(data, 4, 1)]]), [1, 2], 1), undefined);
});

test("property: random k ≤ 64 and m, any m of the k+m symbols lost → the data back exactly (seeded)", () => {
  const rnd = seededRandom(20261205);
  const int = (n: number): number => Math.floor(rnd() * n);
  for (let round = 0; round < 300; round++) {
    const k = 1 + int(64);
    const m = 1 + int(Math.min(32, RS_MAX_SYMBOLS - k));
    const len = 1 + int(300);
    // The last data symbol shorter, as a transfer's last chunk is; it counts as zero-padded.
    const data = Array.from({ length: k }, (_, j) => Buffer.from(Array.from({ length: j === k - 1 ? 1 + int(len) : len }, () => int(256))));
    // Parity from anywhere in k..255: a sender hands out fresh symbol indices round after round.
    const first = k + int(RS_MAX_SYMBOLS - k - m + 1);
    const symbols = new Map<number, Uint8Array>(data.map((d, j) => [j, d]));
    for (let s = first; s < first + m; s++) symbols.set(s, encodeParity(data, s, len));
    const idx = [...symbols.keys()];
    const lose = 1 + int(m);
    for (let i = idx.length - 1; i > 0; i--) { const j = int(i + 1); [idx[i], idx[j]] = [idx[j]!, idx[i]!]; }
    const lost = new Set(idx.slice(0, lose));
    const held = new Map([...symbols].filter(([s]) => !lost.has(s)));
    const want = [...lost].filter((s) => s < k);
    const got = recover(k, held, want, len)!;
    assert.ok(got, `k=${k} m=${m} lost ${lose}`);
    for (const j of want) {
      const exp = Buffer.alloc(len);
      data[j]!.copy(exp);
      assert.deepEqual(got.get(j), exp, `k=${k} m=${m} first=${first}: data symbol ${j}`);
    }
  }
});

test("generator rows: unit vectors for data symbols; out-of-range indices are refused", () => {
  assert.deepEqual([...generatorRow(4, 2)], [0, 0, 1, 0]);
  assert.throws(() => generatorRow(4, 256), /symbol index/);
  assert.throws(() => generatorRow(0, 1), /k must be/);
  assert.throws(() => encodeParity([bytes(1), bytes(2)], 1, 1), /parity symbols/);
});
