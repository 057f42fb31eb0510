// Shards: proportional to speed, every pair assigned, overlap taken from the next range.

import { test } from "node:test";
import assert from "node:assert/strict";
import { assignShards, shareSizes } from "./shards.js";

test("shares follow the weights and always sum to n (largest remainder, ties to the earlier member)", () => {
  assert.deepEqual(shareSizes(100, [1, 1, 2]), [25, 25, 50]);
  assert.deepEqual(shareSizes(10, [1, 1, 1]), [4, 3, 3]);
  assert.deepEqual(shareSizes(7, [3, 1]), [5, 2]);
  for (const n of [1, 13, 138]) assert.equal(shareSizes(n, [0.3, 5, 2.2, 9]).reduce((a, b) => a + b), n);
});

test("without overlap the shards partition the data set, in member-id order whatever order the members came in", () => {
  const a = assignShards(12, [{ id: "pi-3", speed: 1 }, { id: "pi-1", speed: 2 }, { id: "pi-2", speed: 1 }], 0);
  assert.deepEqual([...a.keys()], ["pi-1", "pi-2", "pi-3"]);
  assert.deepEqual(a.get("pi-1"), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(a.get("pi-2"), [6, 7, 8]);
  assert.deepEqual(a.get("pi-3"), [9, 10, 11]);
});

test("overlap adds that share of a shard's size from the next range, wrapping, never more than the whole set", () => {
  const a = assignShards(12, [{ id: "a", speed: 1 }, { id: "b", speed: 1 }, { id: "c", speed: 1 }], 0.5);
  assert.deepEqual(a.get("a"), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(a.get("c"), [8, 9, 10, 11, 0, 1]);
  const all = assignShards(4, [{ id: "a", speed: 1 }], 1);
  assert.deepEqual(all.get("a"), [0, 1, 2, 3]);
  assert.throws(() => assignShards(4, [{ id: "a", speed: 1 }], 1.5), /overlap must be 0..1/);
});

test("a member whose speed is unknown gets the slowest measured member's share, not nothing", () => {
  const a = assignShards(9, [{ id: "a", speed: 4 }, { id: "b", speed: NaN }, { id: "c", speed: 2 }], 0);
  assert.deepEqual([a.get("a")!.length, a.get("b")!.length, a.get("c")!.length], [5, 2, 2]);
});
