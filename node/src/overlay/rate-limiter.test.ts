import { test } from "node:test";
import assert from "node:assert/strict";
import { burstBytesFor, MAX_BURST_BYTES, RateLimiter } from "./rate-limiter.js";

const DATAGRAM = 1472;

test("the bucket holds a quarter second of the rate, at least one datagram, at most 64 KB", () => {
  assert.equal(burstBytesFor(1_000, DATAGRAM), DATAGRAM);
  assert.equal(burstBytesFor(25_000, DATAGRAM), 6_250);
  assert.equal(burstBytesFor(200_000, DATAGRAM), 50_000);
  assert.equal(burstBytesFor(12_000_000, DATAGRAM), MAX_BURST_BYTES);
  assert.equal(burstBytesFor(Infinity, DATAGRAM), MAX_BURST_BYTES);
  assert.equal(burstBytesFor(0, DATAGRAM), MAX_BURST_BYTES);
});

test("at 1 kB/s a full bucket lets one datagram go at once; the next waits for its bytes", async () => {
  const limiter = new RateLimiter({ bytesPerSec: 1_000, burstBytes: burstBytesFor(1_000, DATAGRAM) });
  const gone: number[] = [];
  for (let i = 0; i < 3; i++) void limiter.take(1_400).then(() => gone.push(i));
  await new Promise((r) => setTimeout(r, 300));
  // The second needs 1,400 − 72 bytes more: 1.3 s at this rate.
  assert.deepEqual(gone, [0]);
});

test("urgent sends go before queued bulk ones", async () => {
  const limiter = new RateLimiter({ bytesPerSec: 100_000, burstBytes: 1_000 });
  const order: string[] = [];
  const all = [limiter.take(1_000, "bulk").then(() => order.push("bulk 1")), limiter.take(1_000, "bulk").then(() => order.push("bulk 2")),
    limiter.take(1_000, "urgent").then(() => order.push("urgent"))];
  await Promise.all(all);
  assert.deepEqual(order, ["bulk 1", "urgent", "bulk 2"]);
});

test("without a rate nothing waits", async () => {
  const limiter = new RateLimiter({ bytesPerSec: 0, burstBytes: 1 });
  await Promise.all(Array.from({ length: 100 }, () => limiter.take(10_000)));
});
