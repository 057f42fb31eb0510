// The entry store: an entry is visible only once its delta and its record are durable; whatever a
// crash or a damaged disk leaves is set aside and reported, never loaded; a full disk is a typed
// error that leaves the store as it was.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { TINY_GPT2 } from "../engine/config.js";
import { sha256Hex } from "../util/sha256.js";
import { needs } from "../../../test/support/needs.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { randomDelta } from "../../../test/support/random-deltas.js";
import { entryName, type Entry } from "./entry.js";
import { ENTRIES_DIR, EntryStore, SET_ASIDE_DIR, StoreError, type Writer } from "./store.js";
import { writeFileAtomicAsync } from "../util/atomic-write.js";

const scratch = tempDirs("log-store-");
const BASE = "w1-0123456789abcdef0123456789abcdef";

function made(seq: number, bytes = 1000): { entry: Entry; file: Uint8Array } {
  const file = new Uint8Array(bytes).map((_, i) => (i * 31 + seq * 7) & 0xff);
  return { entry: { author: "pi-1", seq, sha256: sha256Hex(file), kind: "teach", base: BASE, lesson: { question: `q${seq}?`, answer: "a" } }, file };
}

test("an added entry is visible, survives a reopen, and adding it again changes nothing", async () => {
  const dir = scratch();
  const store = await EntryStore.open(dir);
  const a = made(1);
  assert.equal(await store.add(a.entry, a.file), "added");
  assert.equal(await store.add(a.entry, a.file), "present");
  assert.deepEqual(store.names(), [entryName(a.entry)]);
  const again = await EntryStore.open(dir);
  assert.deepEqual(again.entries(), [a.entry]);
  assert.deepEqual(again.setAside, []);
  assert.ok(Buffer.from(await again.readDelta(entryName(a.entry))).equals(a.file));
});

test("a delta that does not match its entry's sha256, or an invalid entry, is refused before anything is written", async () => {
  const dir = scratch();
  const store = await EntryStore.open(dir);
  const a = made(1);
  await assert.rejects(store.add(a.entry, made(2).file), (e) => e instanceof StoreError && e.reason === "mismatch");
  await assert.rejects(store.add({ ...a.entry, kind: "course" }, a.file), (e) => e instanceof StoreError && e.reason === "invalid");
  assert.deepEqual(readdirSync(join(dir, ENTRIES_DIR)), []);
  assert.equal(store.size, 0);
});

test("what crashes and damage leave is set aside with the reason, never loaded, and the good entries load", async () => {
  const dir = scratch();
  const store = await EntryStore.open(dir);
  const good = [1, 2, 3, 4, 5, 6].map((s) => made(s));
  for (const g of good) await store.add(g.entry, g.file);
  const ed = join(dir, ENTRIES_DIR);
  const n = (i: number) => entryName(good[i]!.entry);
  // A write killed half-way: a temporary file with half the bytes.
  writeFileSync(join(ed, `.${n(0)}.delta.4242.1764000000000.tmp`), good[0]!.file.subarray(0, 500));
  // Killed between the delta and its record.
  const orphan = made(7);
  writeFileSync(join(ed, `${entryName(orphan.entry)}.delta`), orphan.file);
  // A record cut short (written by something that was not atomic).
  truncateSync(join(ed, `${n(1)}.json`), 40);
  // A delta whose bytes changed on disk (same length), and one cut short.
  const flipped = readFileSync(join(ed, `${n(2)}.delta`));
  flipped[10] = flipped[10]! ^ 1;
  writeFileSync(join(ed, `${n(2)}.delta`), flipped);
  truncateSync(join(ed, `${n(3)}.delta`), 999);
  // A record that holds another entry than its file name says.
  writeFileSync(join(ed, `${n(4)}.json`), readFileSync(join(ed, `${n(5)}.json`)));
  writeFileSync(join(ed, "notes.txt"), "hello");

  const opened = await EntryStore.open(dir);
  assert.deepEqual(opened.names(), [n(0), n(5)]);
  const reasons = Object.fromEntries(opened.setAside.map((s) => [s.file, s.reason]));
  assert.match(reasons[`.${n(0)}.delta.4242.1764000000000.tmp`]!, /write that did not finish/);
  assert.match(reasons[`${entryName(orphan.entry)}.delta`]!, /delta without its record/);
  assert.match(reasons[`${n(1)}.json`]!, /unreadable or truncated/);
  assert.match(reasons[`${n(1)}.delta`]!, /its record was refused/);
  assert.match(reasons[`${n(2)}.json`]!, /sha256 is/);
  assert.match(reasons[`${n(3)}.json`]!, /999 bytes, its record says 1000/);
  assert.match(reasons[`${n(4)}.json`]!, /not the one its file is named for/);
  assert.match(reasons["notes.txt"]!, /not a file the store writes/);
  assert.equal(opened.setAside.length, 11);
  assert.equal(readdirSync(join(dir, SET_ASIDE_DIR)).length, 11);
  assert.deepEqual(readdirSync(ed).sort(), [n(0), n(5)].flatMap((x) => [`${x}.delta`, `${x}.json`]).sort());
  const third = await EntryStore.open(dir);
  assert.deepEqual(third.setAside, []);
  assert.deepEqual(third.names(), [n(0), n(5)]);
});

test("entries open() does not hash are hashed when read: a damaged one is then set aside and dropped", async () => {
  const dir = scratch();
  const store = await EntryStore.open(dir);
  const a = made(1);
  await store.add(a.entry, a.file);
  const path = join(dir, ENTRIES_DIR, `${entryName(a.entry)}.delta`);
  const bytes = readFileSync(path);
  bytes[0] = bytes[0]! ^ 0xff;
  writeFileSync(path, bytes);
  const lazy = await EntryStore.open(dir, { verify: () => false });
  assert.deepEqual(lazy.names(), [entryName(a.entry)]);
  await assert.rejects(lazy.readDelta(entryName(a.entry)), (e) => e instanceof StoreError && e.reason === "damaged");
  assert.equal(lazy.size, 0);
  assert.equal(lazy.setAside.length, 2);
  assert.deepEqual((await EntryStore.open(dir)).names(), []);
});

for (const failing of [1, 2]) {
  test(`a full disk while writing the ${failing === 1 ? "delta" : "record"} is a no_space error and leaves the store as it was`, async () => {
    const dir = scratch();
    let calls = 0;
    let failAt = 0; // no failure until set
    const writer: Writer = async (path, data) => {
      if (++calls === failAt) {
        // What the atomic writer leaves after ENOSPC mid-write: nothing (it removes its temporary).
        throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: "ENOSPC" });
      }
      await writeFileAtomicAsync(path, data);
    };
    const store = await EntryStore.open(dir, { writer });
    const a = made(1);
    await store.add(a.entry, a.file);
    calls = 0;
    failAt = failing;
    const b = made(2);
    await assert.rejects(store.add(b.entry, b.file), (e) => e instanceof StoreError && e.reason === "no_space" && e.code === "ENOSPC");
    assert.deepEqual(store.names(), [entryName(a.entry)]);
    assert.deepEqual(readdirSync(join(dir, ENTRIES_DIR)).sort(), [`${entryName(a.entry)}.delta`, `${entryName(a.entry)}.json`]);
    const reopened = await EntryStore.open(dir);
    assert.deepEqual(reopened.names(), [entryName(a.entry)]);
    assert.deepEqual(reopened.setAside, []);
  });
}

test("on a real full disk (a 1 MB tmpfs) adds fail with no_space and the store keeps exactly what was added", { skip: needs("root") }, async () => {
  const dir = join(scratch(), "tiny");
  mkdirSync(dir);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
  try {
    const store = await EntryStore.open(dir);
    const added: string[] = [];
    let error: unknown;
    for (let s = 1; s <= 10 && !error; s++) {
      const { file } = randomDelta(TINY_GPT2, s, 0.05);
      const entry: Entry = { author: "pi-1", seq: s, sha256: sha256Hex(file), kind: "round", base: BASE, round: { job: "j1", r: s, members: ["pi-1"] } };
      try {
        await store.add(entry, file);
        added.push(entryName(entry));
      } catch (e) {
        error = e;
      }
    }
    assert.ok(error instanceof StoreError && error.reason === "no_space", `expected no_space, got ${String(error)}`);
    assert.ok(added.length >= 1, "the first add fits");
    assert.deepEqual(store.names(), added.sort());
    assert.deepEqual(readdirSync(join(dir, ENTRIES_DIR)).sort(), added.flatMap((n) => [`${n}.delta`, `${n}.json`]).sort());
    const reopened = await EntryStore.open(dir);
    assert.deepEqual(reopened.names(), added);
    assert.deepEqual(reopened.setAside, []);
  } finally {
    execFileSync("umount", [dir]);
  }
});

test("processes killed while adding leave every entry they reported added intact, and nothing broken visible", async (t) => {
  const dir = scratch();
  const url = (p: string) => pathToFileURL(join(import.meta.dirname, p)).href;
  const reported: number[] = [];
  const seen: string[] = [];
  // The kill lands at a different moment of the next add each time: before, inside or between its writes.
  for (const delayMs of [5, 30, 70]) {
    // Large deltas (8 MB) so that a kill is likely to land inside a write.
    const child = spawn(process.execPath, ["--input-type=module", "-e", `
      import { EntryStore } from ${JSON.stringify(url("store.js"))};
      import { sha256Hex } from ${JSON.stringify(url("../util/sha256.js"))};
      const store = await EntryStore.open(${JSON.stringify(dir)});
      for (let seq = store.size + 1; ; seq++) {
        const file = new Uint8Array(8 << 20).fill(seq & 0xff);
        const entry = { author: "pi-1", seq, sha256: sha256Hex(file), kind: "round", base: ${JSON.stringify(BASE)}, round: { job: "j1", r: seq, members: ["pi-1"] } };
        await store.add(entry, file);
        console.log(seq);
      }`], { stdio: ["ignore", "pipe", "inherit"] });
    for await (const line of createInterface({ input: child.stdout! })) {
      reported.push(Number(line));
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill("SIGKILL");
      break;
    }
    await new Promise((r) => child.once("exit", r));
    const store = await EntryStore.open(dir);
    const seqs = store.entries().map((e) => e.seq);
    for (const s of reported) assert.ok(seqs.includes(s), `entry ${s} was reported added but is not in the store`);
    for (const name of store.names()) await store.readDelta(name); // each hashes to its name
    for (const s of store.setAside) assert.match(s.reason, /did not finish/);
    seen.push(...store.setAside.map((s) => (s.file.endsWith(".tmp") ? "a temporary file" : "a delta without record")));
  }
  t.diagnostic(`${reported.length} kills; set aside: ${seen.join(", ") || "nothing"}`);
});

test("opened read-only, a store reports what it would set aside, moves nothing and takes no entry", async () => {
  const dir = scratch();
  const store = await EntryStore.open(dir);
  const [a, b] = [made(1), made(2)];
  await store.add(a.entry, a.file);
  await store.add(b.entry, b.file);
  const ed = join(dir, ENTRIES_DIR);
  truncateSync(join(ed, `${entryName(b.entry)}.delta`), 10);
  writeFileSync(join(ed, "stray.tmp"), "x");
  const files = readdirSync(ed).sort();

  const ro = await EntryStore.open(dir, { readOnly: true });
  assert.deepEqual(ro.names(), [entryName(a.entry)]);
  assert.deepEqual(ro.setAside.map((s) => s.file).sort(), [`${entryName(b.entry)}.delta`, `${entryName(b.entry)}.json`, "stray.tmp"]);
  await assert.rejects(ro.add(made(3).entry, made(3).file), (e) => e instanceof StoreError && /read-only/.test(e.message));
  assert.deepEqual(readdirSync(ed).sort(), files);
  assert.deepEqual(readdirSync(dir), [ENTRIES_DIR], "no set-aside/ folder made");
  await assert.rejects(EntryStore.open(scratch(), { readOnly: true }), (e) => e instanceof StoreError && e.reason === "absent");
});
