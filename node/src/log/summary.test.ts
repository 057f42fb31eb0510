// The set summary: one hash for "same set?", and per author enough to see which entries differ —
// in a text that fits a PEER_SYNC body and decodes only when it is one we would have written.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { entryName, type EntryId } from "./entry.js";
import { decodeSummary, encodeSummary, GAP_RANGES_MAX, setHash, summarize } from "./summary.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const id = (author: string, seq: number, tag = ""): EntryId => ({ author, seq, sha256: sha(`${author}/${seq}${tag}`) });

test("the set hash is sha256 over the sorted names, each ending in a newline, whatever the order or repeats", () => {
  const ids = [id("pi-2", 1), id("pi-1", 2), id("pi-1", 1)];
  const names = ids.map(entryName);
  const sorted = [...names].sort();
  assert.equal(setHash(names), sha(sorted.map((n) => `${n}\n`).join("")));
  assert.equal(setHash([...names].reverse().concat(names[0]!)), setHash(names));
  assert.equal(summarize(ids).hash, setHash(names));
  assert.equal(setHash([]), sha(""));
});

test("per author: count, highest seq, highest contiguous seq and the gaps between them", () => {
  const ids = [1, 2, 3, 5, 6, 9].map((s) => id("pi-1", s)).concat([id("pi-2", 1), id("pi-2", 2), id("pi-3", 2)]);
  const s = summarize(ids);
  assert.equal(s.count, 9);
  assert.deepEqual(s.authors.map(({ hash: _h, ...a }) => a), [
    { author: "pi-1", count: 6, top: 9, upTo: 3, gaps: [[4, 4], [7, 8]], more: false },
    { author: "pi-2", count: 2, top: 2, upTo: 2, gaps: [], more: false },
    { author: "pi-3", count: 1, top: 2, upTo: 0, gaps: [[1, 1]], more: false },
  ]);
  assert.equal(s.authors[0]!.hash, setHash([1, 2, 3, 5, 6, 9].map((n) => entryName(id("pi-1", n)))).slice(0, 8));
});

test("an author with too many missing seqs to list (a course node's unix seconds) is sparse; past the range cap, more is said", () => {
  const course = summarize([id("pi-course", 1764008499), id("pi-course", 1764009046)]);
  assert.equal(course.authors[0]!.gaps, "sparse");
  const holes = summarize(Array.from({ length: 20 }, (_, i) => id("pi-1", 2 * i + 1)));
  assert.equal((holes.authors[0]!.gaps as unknown[]).length, GAP_RANGES_MAX);
  assert.equal(holes.authors[0]!.more, true);
});

test("two entries of one author with one seq (and different files) are both counted", () => {
  const s = summarize([id("pi-1", 1, "a"), id("pi-1", 1, "b")]);
  assert.equal(s.count, 2);
  assert.equal(s.authors[0]!.count, 2);
  assert.equal(s.authors[0]!.top, 1);
});

test("a summary round-trips through its text, which has no | ; or = for the course wire to split on", () => {
  const ids = [1, 2, 3, 5, 6, 9].map((s) => id("pi-1", s)).concat([id("pi-course", 1764008499), id("p.2_x-y", 1)]);
  for (const extra of [[], Array.from({ length: 20 }, (_, i) => id("pi-9", 2 * i + 1))]) {
    const s = summarize([...ids, ...extra]);
    const text = encodeSummary(s);
    assert.doesNotMatch(text, /[|;=\s]/);
    assert.deepEqual(decodeSummary(text), s);
  }
  assert.deepEqual(decodeSummary(encodeSummary(summarize([]))), summarize([]));
});

test("the summary of 30 authors, 200 entries each with a few gaps, fits in one datagram", (t) => {
  const ids: EntryId[] = [];
  for (let a = 0; a < 30; a++) for (let s = 1; s <= 200; s++) if (s % 97 !== 0) ids.push(id(`pi-node-${String(a).padStart(2, "0")}`, s));
  const text = encodeSummary(summarize(ids));
  t.diagnostic(`30 authors, ${ids.length} entries: ${text.length} bytes`);
  assert.ok(text.length < 1400, `${text.length} bytes`);
});

test("text that is not a summary we would write decodes to null", () => {
  const good = encodeSummary(summarize([1, 2, 4].map((s) => id("pi-1", s))));
  const [head, author] = good.split(",") as [string, string];
  const f = author.split(":");
  const bad = [
    "",
    "x",
    `${head}`, // count 3 but no authors
    `${head},${author},${author}`, // author twice
    `${head.replace(/^3/, "4")},${author}`, // counts disagree
    `${head},${[f[0], f[1], f[2], "3", f[4], f[5]].join(":")}`, // upTo past a gap
    `${head},${[f[0], f[1], f[2], f[3], f[4], "5"].join(":")}`, // gap at or past top
    `${head},${[f[0], f[1], f[2], f[3], f[4], ""].join(":")}`, // upTo < top with no gap
    `${head},${[f[0], f[1], f[2], f[3], "XYZ", f[5]].join(":")}`,
    `${head},pi|1:${f.slice(1).join(":")}`,
    "0." + "0".repeat(64) + ",".repeat(20_000),
  ];
  for (const b of bad) assert.equal(decodeSummary(b), null, b.slice(0, 80));
  assert.notEqual(decodeSummary(good), null);
});
