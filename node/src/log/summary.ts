// What a node tells its peers about the set of entries it holds, small enough to ride in every
// PEER_SYNC: the count and a hash of the sorted names (equal summaries: nothing to do), and per
// author the count, highest seq, highest contiguous seq, the gaps below it and a short hash — so a
// mismatch points at the authors to ask about, and often at the very entries missing.

import { createHash } from "node:crypto";
import { entryName, parseEntryName, type EntryId } from "./entry.js";

/** Gaps are listed only for authors missing at most this many seqs below their highest. */
export const GAP_LIST_MAX_MISSING = 64;
/** At most this many gap ranges are listed per author; `more` says some were left out. */
export const GAP_RANGES_MAX = 8;
/** An encoded summary past this is refused unread. */
export const SUMMARY_MAX_CHARS = 16 * 1024;

export interface AuthorSummary {
  author: string;
  count: number;
  /** Highest seq held. */
  top: number;
  /** Every seq 1..upTo is held (0: not seq 1). */
  upTo: number;
  /**
   * Missing seqs between upTo and top as [from, to] ranges; "sparse" when too many are missing to
   * list — a course author's seqs are unix seconds, so it always is.
   */
  gaps: Array<[number, number]> | "sparse";
  /** Some gap ranges beyond GAP_RANGES_MAX were left out. */
  more: boolean;
  /** First 8 hex digits of the sha256 of the author's sorted names. */
  hash: string;
}

export interface LogSummary {
  count: number;
  /** sha256 over the sorted entry names (setHash). */
  hash: string;
  /** Sorted by author. */
  authors: AuthorSummary[];
}

/** Sorted by code unit: names are ASCII, so this is byte order on every platform. */
function sortNames(names: Iterable<string>): string[] {
  return [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function hashSorted(sorted: readonly string[]): string {
  const h = createHash("sha256");
  for (const n of sorted) h.update(`${n}\n`);
  return h.digest("hex");
}

/** sha256 of the sorted, de-duplicated names, each followed by "\n": the set's identity. */
export function setHash(names: Iterable<string>): string {
  return hashSorted(sortNames(names));
}

export function summarize(ids: Iterable<EntryId>): LogSummary {
  const names = sortNames([...ids].map(entryName));
  const byAuthor = new Map<string, { names: string[]; seqs: Set<number> }>();
  for (const n of names) {
    const id = parseEntryName(n)!;
    let a = byAuthor.get(id.author);
    if (!a) byAuthor.set(id.author, (a = { names: [], seqs: new Set() }));
    a.names.push(n);
    a.seqs.add(id.seq);
  }
  const authors = [...byAuthor.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((author) => {
    const { names: own, seqs } = byAuthor.get(author)!;
    const sorted = [...seqs].sort((a, b) => a - b);
    const top = sorted[sorted.length - 1]!;
    let upTo = 0;
    while (seqs.has(upTo + 1)) upTo++;
    const missing = top - upTo - sorted.filter((s) => s > upTo).length;
    let gaps: AuthorSummary["gaps"] = "sparse";
    let more = false;
    if (upTo === top) gaps = [];
    else if (missing <= GAP_LIST_MAX_MISSING) {
      gaps = [];
      for (let s = upTo + 1; s < top; s++) {
        if (seqs.has(s)) continue;
        const from = s;
        while (s + 1 < top && !seqs.has(s + 1)) s++;
        if (gaps.length === GAP_RANGES_MAX) {
          more = true;
          break;
        }
        gaps.push([from, s]);
      }
    }
    return { author, count: own.length, top, upTo, gaps, more, hash: hashSorted(own).slice(0, 8) };
  });
  return { count: names.length, hash: hashSorted(names), authors };
}

// The text form: `<count>.<hash>` then `,<author>:<count>:<top>:<upTo>:<hash8>:<gaps>` per author,
// gaps being empty, `*` (sparse) or ranges `a-b` / `a` joined by `.`, with a trailing `+` when
// more were left out. Only [A-Za-z0-9._-] and `.:,*+`: no `|`, `;` or `=`, which the course wire
// splits on, so it can be one value of a PEER_SYNC body.

export function encodeSummary(s: LogSummary): string {
  const parts = [`${s.count}.${s.hash}`];
  for (const a of s.authors) {
    const gaps = a.gaps === "sparse" ? "*" : a.gaps.map(([f, t]) => (f === t ? `${f}` : `${f}-${t}`)).join(".") + (a.more ? "+" : "");
    parts.push(`${a.author}:${a.count}:${a.top}:${a.upTo}:${a.hash}:${gaps}`);
  }
  return parts.join(",");
}

const HEAD = /^(0|[1-9][0-9]{0,15})\.([0-9a-f]{64})$/;
const AUTHOR = /^([A-Za-z0-9._-]{1,128}):([1-9][0-9]{0,15}):([1-9][0-9]{0,15}):(0|[1-9][0-9]{0,15}):([0-9a-f]{8}):(\*|[0-9.-]*\+?)$/;
const RANGE = /^([1-9][0-9]{0,15})(?:-([1-9][0-9]{0,15}))?$/;

/** A summary from a peer's text, or null when it is not one we would have written. */
export function decodeSummary(text: string): LogSummary | null {
  if (text.length > SUMMARY_MAX_CHARS) return null;
  const [head, ...rest] = text.split(",");
  const h = HEAD.exec(head!);
  if (!h) return null;
  const count = Number(h[1]);
  const authors: AuthorSummary[] = [];
  let total = 0;
  for (const part of rest) {
    const m = AUTHOR.exec(part);
    if (!m) return null;
    const [, author, n, top, upTo, hash, g] = m as unknown as [string, string, string, string, string, string, string];
    const a: AuthorSummary = { author, count: Number(n), top: Number(top), upTo: Number(upTo), gaps: "sparse", more: false, hash };
    if (![a.count, a.top, a.upTo].every(Number.isSafeInteger) || a.upTo > a.top || a.count < a.upTo) return null;
    const prev = authors[authors.length - 1];
    if (prev && !(prev.author < author)) return null;
    if (g !== "*") {
      a.more = g.endsWith("+");
      const body = a.more ? g.slice(0, -1) : g;
      const gaps: Array<[number, number]> = [];
      let after = a.upTo + 1; // the first seq a gap may start at
      for (const r of body === "" ? [] : body.split(".")) {
        const rm = RANGE.exec(r);
        if (!rm) return null;
        const from = Number(rm[1]);
        const to = rm[2] === undefined ? from : Number(rm[2]);
        if (!(from >= after && to >= from && to < a.top) || gaps.length === GAP_RANGES_MAX) return null;
        gaps.push([from, to]);
        after = to + 2;
      }
      // Below top, seq upTo + 1 is missing by definition: the first gap starts there.
      if (a.upTo < a.top ? gaps[0]?.[0] !== a.upTo + 1 : gaps.length > 0 || a.more) return null;
      a.gaps = gaps;
    }
    total += a.count;
    authors.push(a);
  }
  if (total !== count) return null;
  return { count, hash: h[2]!, authors };
}
