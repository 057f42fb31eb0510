// A systematic Reed–Solomon erasure code over GF(2^8): k data symbols (equal-length byte strings,
// shorter ones zero-padded) stay as they are, and parity symbol s (k ≤ s < 256) is row s of the
// generator times them; any k of the symbols give back the data. Generator: the Vandermonde matrix
// V[r][j] = r^j (r = 0..255, distinct field elements) times the inverse of its top k×k square, the
// construction of Backblaze's JavaReedSolomon and klauspost/reedsolomon. Any k rows of V are
// independent (a Vandermonde matrix of distinct points), so any k rows of V·Vtop⁻¹ are: every k
// symbols decode. Row s depends only on k and s, not on how many parity symbols there will be, so a
// sender can make parity symbol s of a block on demand, as many as its receivers turn out to need.

import { gfDiv, gfMul, gfMulAddInto, gfPow } from "./gf256.js";

/** Symbol indices (data and parity together) are field elements: at most 256 per block. */
export const RS_MAX_SYMBOLS = 256;

type Matrix = Uint8Array[];

/** Gauss–Jordan inverse of a square matrix; undefined when singular (never for rows of the generator). */
function invert(m: Matrix): Matrix | undefined {
  const n = m.length;
  const a = m.map((row) => Uint8Array.from(row));
  const inv = Array.from({ length: n }, (_, i) => { const r = new Uint8Array(n); r[i] = 1; return r; });
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && a[pivot]![col] === 0) pivot++;
    if (pivot === n) return undefined;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    [inv[col], inv[pivot]] = [inv[pivot]!, inv[col]!];
    const scale = gfDiv(1, a[col]![col]!);
    for (let j = 0; j < n; j++) { a[col]![j] = gfMul(a[col]![j]!, scale); inv[col]![j] = gfMul(inv[col]![j]!, scale); }
    for (let r = 0; r < n; r++) {
      const f = a[r]![col]!;
      if (r === col || f === 0) continue;
      gfMulAddInto(a[r]!, a[col]!, f);
      gfMulAddInto(inv[r]!, inv[col]!, f);
    }
  }
  return inv;
}

const vandermondeRow = (r: number, k: number): Uint8Array => Uint8Array.from({ length: k }, (_, j) => gfPow(r, j));

/** Vtop⁻¹ per k: k×k bytes each, at most 256 of them (a sender uses one or two k). */
const topInverse = new Map<number, Matrix>();
/** Generator rows per (k, s): k bytes each, made on first use. */
const rows = new Map<number, Uint8Array>();

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k >= RS_MAX_SYMBOLS) throw new RangeError(`reed-solomon: k must be 1..${RS_MAX_SYMBOLS - 1}, not ${k}`);
}

/** Row s of the systematic generator for k data symbols: the coefficients of parity symbol s. */
export function generatorRow(k: number, s: number): Uint8Array {
  checkK(k);
  if (!Number.isInteger(s) || s < 0 || s >= RS_MAX_SYMBOLS) throw new RangeError(`reed-solomon: symbol index must be 0..${RS_MAX_SYMBOLS - 1}, not ${s}`);
  if (s < k) { const r = new Uint8Array(k); r[s] = 1; return r; }
  const key = k * RS_MAX_SYMBOLS + s;
  let row = rows.get(key);
  if (!row) {
    let ti = topInverse.get(k);
    if (!ti) topInverse.set(k, (ti = invert(Array.from({ length: k }, (_, r) => vandermondeRow(r, k)))!));
    const v = vandermondeRow(s, k);
    row = new Uint8Array(k);
    for (let j = 0; j < k; j++) if (v[j]) gfMulAddInto(row, ti[j]!, v[j]!);
    rows.set(key, row);
  }
  return row;
}

/**
 * Parity symbol s (k ≤ s < 256) of the k data symbols, `len` bytes (data symbols shorter than len
 * count as zero-padded: the last chunk of a transfer).
 */
export function encodeParity(data: readonly Uint8Array[], s: number, len: number): Buffer {
  const k = data.length;
  if (s < k) throw new RangeError(`reed-solomon: parity symbols are ${k}..${RS_MAX_SYMBOLS - 1}, not ${s}`);
  const row = generatorRow(k, s);
  const out = Buffer.alloc(len);
  for (let j = 0; j < k; j++) gfMulAddInto(out, data[j]!, row[j]!);
  return out;
}

/**
 * The data symbols `want` (indices < k) from any k symbols held (index → bytes; data and parity,
 * shorter ones zero-padded to len). Undefined when fewer than k are held. Costs a k×k inverse plus
 * want.length × k × len table lookups.
 */
export function recover(k: number, held: ReadonlyMap<number, Uint8Array>, want: readonly number[], len: number): Map<number, Buffer> | undefined {
  checkK(k);
  if (held.size < k) return undefined;
  // Data symbols first: their rows are unit vectors, so the fewer parity rows, the less work.
  const use = [...held.keys()].sort((a, b) => a - b).slice(0, k);
  const inv = invert(use.map((s) => generatorRow(k, s)));
  if (!inv) return undefined;   // cannot happen for distinct indices < 256 (any k rows are independent)
  const out = new Map<number, Buffer>();
  for (const j of want) {
    if (!Number.isInteger(j) || j < 0 || j >= k) throw new RangeError(`reed-solomon: data symbols are 0..${k - 1}, not ${j}`);
    const d = Buffer.alloc(len);
    for (let r = 0; r < k; r++) gfMulAddInto(d, held.get(use[r]!)!, inv[j]![r]!);
    out.set(j, d);
  }
  return out;
}
