import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { courseFixture } from "../../../test/support/paths.js";
import { DEFLATE_MIN_SAVING, deflateIfWorth } from "./deflate-choice.js";

const MB2 = 2 * 1024 * 1024;

test("2 MB of random bytes go as they are: the windows show they do not compress", () => {
  assert.equal(deflateIfWorth(randomBytes(MB2)), undefined);
});

test("a real course delta (404 KB, sparse fp16) goes deflated, and inflates to its exact bytes", () => {
  const file = readFileSync(courseFixture("delta_v1764009046.pt"));
  const d = deflateIfWorth(file);
  assert.ok(d && d.length < file.length / 20, `deflated to ${d?.length} of ${file.length} bytes`);
  assert.deepEqual(inflateRawSync(d), file);
});

test("half random, half zeros in blocks: the windows see the zeros, and the whole is deflated", () => {
  const file = new Uint8Array(MB2);
  for (let o = 0; o < MB2; o += 64 * 1024) if ((o / (64 * 1024)) % 2 === 0) file.set(randomBytes(64 * 1024), o);
  const d = deflateIfWorth(file);
  assert.ok(d && d.length < file.length * 0.6, `deflated to ${d?.length}`);
  assert.deepEqual(inflateRawSync(d), Buffer.from(file));
});

test("a payload under 128 KB is judged on the whole: random goes as it is, zeros deflated", () => {
  assert.equal(deflateIfWorth(randomBytes(100_000)), undefined);
  assert.ok(deflateIfWorth(new Uint8Array(100_000))!.length < 1_000);
});

test("a payload deflate shrinks by 6-7 % goes deflated (a classroom delta saves 10-12 %, some just under a tenth)", () => {
  const file = randomBytes(100_000);
  for (let i = 0; i < file.length; i += 7) file[i] = 0;
  const saving = 1 - deflateRawSync(file).length / file.length;
  assert.ok(saving > DEFLATE_MIN_SAVING && saving < 0.1, `this payload saves ${saving}`);
  assert.ok(deflateIfWorth(file), "deflated");
});

test("a payload that deflate shrinks by only a few per cent goes as it is", () => {
  // Random bytes with every 13th a zero: Huffman coding saves a little, not DEFLATE_MIN_SAVING.
  const file = randomBytes(MB2);
  for (let i = 0; i < MB2; i += 13) file[i] = 0;
  assert.ok(deflateRawSync(file).length > file.length * (1 - DEFLATE_MIN_SAVING), "deflated whole, it saves too little too");
  assert.equal(deflateIfWorth(file), undefined);
});
