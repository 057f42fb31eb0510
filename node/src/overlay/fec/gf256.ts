// Arithmetic in GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d) and generator 2, the
// field Backblaze's JavaReedSolomon, klauspost/reedsolomon and zfec's Reed–Solomon codes use, so
// their published vectors check ours. Addition is XOR; multiplication goes through log/exp tables,
// and bulk work (a coefficient times a whole symbol) through one 256-entry row of a product table.

/** The field's reducing polynomial, with its x^8 term. */
export const GF_POLY = 0x11d;

/** EXP[i] = 2^i, doubled in length so EXP[LOG[a] + LOG[b]] needs no modulo. */
const EXP = new Uint8Array(510);
/** LOG[a] for a ≠ 0 (LOG[0] is unused: 0 has no logarithm). */
const LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++) {
  EXP[i] = EXP[i + 255] = x;
  LOG[x] = i;
  x <<= 1;
  if (x & 0x100) x ^= GF_POLY;
}

/**
 * MUL[(c << 8) | x] = c·x: 64 KB, so a symbol times a coefficient is one table lookup per byte
 * (the hot loop of encode and decode), not two logs and an exp with a zero test.
 */
const MUL = new Uint8Array(256 * 256);
for (let c = 1; c < 256; c++) for (let x = 1; x < 256; x++) MUL[(c << 8) | x] = EXP[LOG[c]! + LOG[x]!]!;

export function gfMul(a: number, b: number): number {
  return MUL[(a << 8) | b]!;
}

/** a / b; b must not be 0 (a caller bug: thrown). */
export function gfDiv(a: number, b: number): number {
  if (b === 0) throw new RangeError("gf256: division by zero");
  return a === 0 ? 0 : EXP[LOG[a]! + 255 - LOG[b]!]!;
}

export function gfInv(a: number): number {
  return gfDiv(1, a);
}

/** a^n for n ≥ 0 (0^0 = 1, as the Vandermonde rows need). */
export function gfPow(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return EXP[(LOG[a]! * n) % 255]!;
}

/**
 * dst[i] ^= c·src[i] for i < src.length: a shorter src is a symbol zero-padded to dst's length
 * (the last chunk of a transfer).
 */
export function gfMulAddInto(dst: Uint8Array, src: Uint8Array, c: number): void {
  if (c === 0) return;
  const n = Math.min(src.length, dst.length);
  if (c === 1) { for (let i = 0; i < n; i++) dst[i]! ^= src[i]!; return; }
  const row = MUL.subarray(c << 8, (c << 8) + 256);
  for (let i = 0; i < n; i++) dst[i]! ^= row[src[i]!]!;
}
