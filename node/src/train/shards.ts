// Which pairs each member trains on: shares proportional to measured speed (so a slow Pi is not
// the one every round waits for), contiguous ranges in member-id order (the same assignment from
// the same inputs), each extended by `overlap` of its size into the next range — so a pair whose
// node drops out of a round is still seen by a neighbour.

export interface Member {
  id: string;
  /** Training pairs per second as the member measured itself (> 0). */
  speed: number;
}

/** n split proportionally to weights by largest remainder: the sizes sum to n exactly. */
export function shareSizes(n: number, weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const raw = weights.map((w) => (n * w) / total);
  const sizes = raw.map(Math.floor);
  let left = n - sizes.reduce((a, b) => a + b, 0);
  // Ties go to the earlier member, so the split is a function of its inputs alone.
  const order = raw.map((r, i) => ({ i, rem: r - Math.floor(r) })).sort((a, b) => b.rem - a.rem || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    sizes[i]!++;
    left--;
  }
  return sizes;
}

/** Indices 0..n-1 of the data set for each member; overlap 0..1 of a shard's own size is added from the next range, wrapping. */
export function assignShards(n: number, members: readonly Member[], overlap: number): Map<string, number[]> {
  if (!(overlap >= 0 && overlap <= 1)) throw new RangeError(`overlap must be 0..1, got ${overlap}`);
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // An unmeasured or absurd speed counts as the slowest measured one: it still gets a share.
  const known = sorted.map((m) => m.speed).filter((s) => Number.isFinite(s) && s > 0);
  const floor = known.length ? Math.min(...known) : 1;
  const sizes = shareSizes(n, sorted.map((m) => (Number.isFinite(m.speed) && m.speed > 0 ? m.speed : floor)));
  const out = new Map<string, number[]>();
  let start = 0;
  sorted.forEach((m, k) => {
    const size = sizes[k]!;
    const extra = Math.min(n - size, Math.ceil(size * overlap));
    const idx: number[] = [];
    for (let j = 0; j < size + extra; j++) idx.push((start + j) % n);
    out.set(m.id, idx);
    start += size;
  });
  return out;
}
