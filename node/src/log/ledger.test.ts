// One node's fleet log: what it holds on disk is what it sums, a reopen (with or without a
// checkpoint) gives the same weights, anything that cannot be summed is refused before it is kept,
// and a bundle carries an entry between nodes only with the delta its sha256 names.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { writeTorchStateDict } from "../checkpoint/torch-file.js";
import type { StateDict } from "../checkpoint/tensor.js";
import { viewParams, type Params } from "../engine/params.js";
import { loadModel } from "../model/load.js";
import { sha256Hex } from "../util/sha256.js";
import { courseFixture } from "../../../test/support/paths.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { decodeBundle, encodeBundle } from "./bundle.js";
import { entryName, type Entry } from "./entry.js";
import { CHECKPOINT_DIR, Ledger, LedgerError } from "./ledger.js";
import type { Writer } from "./store.js";
import { writeFileAtomicAsync } from "../util/atomic-write.js";

const scratch = tempDirs("log-ledger-");
const { params: BASE } = loadModel(courseFixture("base.pt"));
const digest = (p: Params): string => sha256Hex(new Uint8Array(p.flat.buffer, p.flat.byteOffset, p.flat.byteLength));
const f16 = (...halves: number[]) => ({ dtype: "f16" as const, shape: [halves.length], data: Uint16Array.from(halves) });

/** A small teach-like delta on one 2-value tensor of tiny-gpt2. */
function delta(k: number): Uint8Array {
  return writeTorchStateDict(new Map([[`transformer.h.${k % 2}.ln_1.bias`, f16(0x2000 + k, 0xa000 + k)]]) as StateDict);
}

function teachEntry(ledger: Ledger, author: string, seq: number, bytes: Uint8Array): Entry {
  return { author, seq, sha256: sha256Hex(bytes), kind: "teach", base: ledger.baseId, lesson: { question: `q${seq}`, answer: `a${seq}` }, at: 1000 + seq };
}

test("an empty log derives the base; entries added in any order derive the same weights, also after a reopen", async () => {
  const dirA = scratch();
  const dirB = scratch();
  const a = await Ledger.open({ dir: dirA, base: BASE });
  assert.equal(digest(a.derive()), digest(BASE));
  const b = await Ledger.open({ dir: dirB, base: BASE });
  const items = [1, 2, 3, 4, 5].map((k) => ({ bytes: delta(k), entry: teachEntry(a, k % 2 ? "Pi-1" : "Pi-2", k, delta(k)) }));
  for (const it of items) await a.add(it.entry, it.bytes);
  for (const it of [...items].reverse()) await b.add(it.entry, it.bytes);
  assert.equal(a.set, b.set);
  assert.equal(digest(a.derive()), digest(b.derive()));
  assert.notEqual(digest(a.derive()), digest(BASE));
  const again = await Ledger.open({ dir: dirA, base: BASE });
  assert.equal(digest(again.derive()), digest(a.derive()));
  assert.deepEqual(again.lessons().map((l) => l.question), ["q1", "q2", "q3", "q4", "q5"]);
  assert.equal(again.nextSeq("Pi-1"), 6);
  assert.equal(await again.add(items[0]!.entry, items[0]!.bytes), "present", "the same name is the same entry");
});

test("start-up compacts a long log into one checkpoint, and starting from it gives the same bits", async () => {
  const dir = scratch();
  const l = await Ledger.open({ dir, base: BASE });
  for (let k = 1; k <= 6; k++) await l.add(teachEntry(l, "Pi-1", k, delta(k)), delta(k));
  const want = digest(l.derive());
  const compacted = await Ledger.open({ dir, base: BASE, compactAfter: 3 });
  assert.equal((await readdir(join(dir, CHECKPOINT_DIR))).length, 1, "one checkpoint of the whole set");
  assert.equal(digest(compacted.derive()), want);
  const fromCheckpoint = await Ledger.open({ dir, base: BASE, compactAfter: 3 });
  assert.equal(digest(fromCheckpoint.derive()), want);
  await fromCheckpoint.add(teachEntry(l, "Pi-1", 7, delta(7)), delta(7));
  assert.notEqual(digest(fromCheckpoint.derive()), want);
});

test("refused before anything is kept: another base model, a file that is not a torch delta, a NaN", async () => {
  const dir = scratch();
  const l = await Ledger.open({ dir, base: BASE });
  const d = delta(1);
  const other = { ...teachEntry(l, "Pi-1", 1, d), base: "w1-0123456789abcdef0123456789abcdef" };
  await assert.rejects(l.add(other, d), (e: unknown) => e instanceof LedgerError && e.reason === "base");
  const junk = new TextEncoder().encode("not a torch file");
  await assert.rejects(l.add(teachEntry(l, "Pi-1", 2, junk), junk), (e: unknown) => e instanceof LedgerError && e.reason === "decode");
  const nan = writeTorchStateDict(new Map([["transformer.h.0.ln_1.bias", f16(0x3c00, 0x7e00)]]) as StateDict);
  await assert.rejects(l.add(teachEntry(l, "Pi-1", 3, nan), nan), (e: unknown) => e instanceof LedgerError && e.reason === "not_finite");
  assert.equal(l.size, 0);
  assert.deepEqual(await readdir(join(dir, "entries")), []);
  assert.equal(digest(l.derive()), digest(BASE));
});

test("a write that fails (ENOSPC) throws a write error and leaves the log and the weights as they were", async () => {
  let full = false;
  const writer: Writer = async (path, data) => {
    if (full) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    await writeFileAtomicAsync(path, data);
  };
  const l = await Ledger.open({ dir: scratch(), base: BASE, writer });
  await l.add(teachEntry(l, "Pi-1", 1, delta(1)), delta(1));
  const before = { d: digest(l.derive()), set: l.set };
  full = true;
  await assert.rejects(l.add(teachEntry(l, "Pi-1", 2, delta(2)), delta(2)), (e: unknown) => e instanceof LedgerError && e.reason === "write" && e.code === "ENOSPC");
  assert.deepEqual({ d: digest(l.derive()), set: l.set }, before);
  full = false;
  assert.equal(await l.add(teachEntry(l, "Pi-1", 2, delta(2)), delta(2)), "added", "it fits once there is room");
});

test("a bundle carries an entry, its signature and its delta; a changed byte, an unknown field or a cut header is refused", async () => {
  const l = await Ledger.open({ dir: scratch(), base: BASE });
  const d = delta(3);
  const entry = teachEntry(l, "Pi-3", 1, d);
  await l.add(entry, d, { sig: "A".repeat(86) + "==" });
  const b = decodeBundle(await l.bundle(entryName(entry)));
  assert.ok(typeof b !== "string", String(b));
  assert.deepEqual(b.entry, entry);
  assert.equal(b.sig, "A".repeat(86) + "==", "the signature travels with the entry it came with");
  assert.ok(Buffer.from(b.delta).equals(d));
  const bytes = encodeBundle({ entry, delta: d });
  const flipped = Uint8Array.from(bytes);
  flipped[flipped.length - 1]! ^= 1;
  assert.match(String(decodeBundle(flipped)), /sha256/);
  assert.match(String(decodeBundle(bytes.subarray(0, 12))), /truncated/);
  assert.match(String(decodeBundle(new TextEncoder().encode("PK\u0003\u0004 a course delta"))), /magic/);
  const header = new TextEncoder().encode(JSON.stringify({ entry, extra: 1 }));
  const odd = new Uint8Array(9 + header.length);
  odd.set(new TextEncoder().encode("DFB1\n"));
  new DataView(odd.buffer).setUint32(5, header.length, true);
  odd.set(header, 9);
  assert.match(String(decodeBundle(odd)), /unknown bundle field/);
});

test("the ledger never changes the base it was given", async () => {
  const base = viewParams(BASE.config, Float32Array.from(BASE.flat));
  const before = digest(base);
  const l = await Ledger.open({ dir: scratch(), base });
  await l.add(teachEntry(l, "Pi-1", 1, delta(1)), delta(1));
  l.derive();
  assert.equal(digest(base), before);
});
