// Per-author counts of what this node admitted and refused, and which authors it ignores.
//
// Only refusals an author's own key vouched for count against it: an entry signed by its member key
// that was refused anyway (out of bounds). Anyone can put a member's id on an unsigned or badly
// signed entry, so those refusals are counted and shown but never held against the member — or an
// attacker could get a member ignored by forging its name. An author with IGNORE_AFTER vouched
// refusals is ignored (its entries refused unread) until the roster gives it another key: a
// re-enrolment. The table is saved to <state-dir>/trust.json atomically on every change that
// matters, so a restart forgives nothing.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";

export const TRUST_FILE = "trust.json";
/** Vouched refusals after which an author is ignored until re-enrolled. */
export const IGNORE_AFTER = 3;
/** Authors tracked at most: unknown authors are free to invent, so the table must not grow with them. */
export const AUTHORS_MAX = 256;

export interface AuthorRecord {
  admitted: number;
  refused: number;
  /** Refusals of entries its key signed: what ignoring counts. */
  vouched: number;
  /** The roster key the vouched refusals were made under (base64); a new key starts afresh. */
  key: string | null;
}

export interface AuthorStatus { id: string; admitted: number; refused: number; ignored: boolean }

export class Reputation {
  private readonly authors = new Map<string, AuthorRecord>();

  private constructor(private readonly file: string | undefined, readonly problems: string[]) {}

  /** The table saved in `stateDir` (a new one when there is none; an unreadable one is reported and started afresh). */
  static open(stateDir: string | undefined): Reputation {
    const file = stateDir === undefined ? undefined : join(stateDir, TRUST_FILE);
    const r = new Reputation(file, []);
    if (!file || !existsSync(file)) return r;
    try {
      const v = JSON.parse(readFileSync(file, "utf8")) as { authors?: Record<string, Partial<AuthorRecord>> };
      for (const [id, a] of Object.entries(v.authors ?? {})) {
        const rec = { admitted: count(a.admitted), refused: count(a.refused), vouched: count(a.vouched), key: typeof a.key === "string" ? a.key : null };
        // Vouched refusals are a member's (the cap never drops them); anyone else's only fill what room is left.
        if (rec.vouched > 0 || r.authors.size < AUTHORS_MAX) r.authors.set(id, rec);
      }
    } catch (e) {
      r.problems.push(`${TRUST_FILE} could not be read (${(e as Error).message}); authors' refusal counts start at zero`);
    }
    return r;
  }

  /** Whether `author`'s entries are refused unread: IGNORE_AFTER vouched refusals under the key it still has. */
  isIgnored(author: string, key: string | undefined): boolean {
    const a = this.authors.get(author);
    return a !== undefined && a.vouched >= IGNORE_AFTER && a.key !== null && a.key === key;
  }

  /** An admitted entry; `member`: its author is on the roster (tracked even when the table is full). */
  admitted(author: string, member: boolean): void {
    const a = this.record(author, member);
    if (a) a.admitted++;
  }

  /** A refusal; `vouchedBy` is the author's member key when its signature was good. */
  refused(author: string, vouchedBy?: string): void {
    const a = this.record(author, vouchedBy !== undefined);
    if (!a) return;
    a.refused++;
    if (vouchedBy !== undefined) {
      if (a.key !== vouchedBy) { a.key = vouchedBy; a.vouched = 0; }
      a.vouched++;
      this.save();
    }
  }

  /** Authors ignored now, given each one's current roster key. */
  ignoredCount(keyOf: (author: string) => string | undefined): number {
    let n = 0;
    for (const id of this.authors.keys()) if (this.isIgnored(id, keyOf(id))) n++;
    return n;
  }

  status(keyOf: (author: string) => string | undefined): AuthorStatus[] {
    return [...this.authors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, a]) => ({ id, admitted: a.admitted, refused: a.refused, ignored: this.isIgnored(id, keyOf(id)) }));
  }

  /** Writes the table (also called at shut-down, for the counts that do not save at once). */
  save(): void {
    if (!this.file) return;
    try {
      writeFileAtomic(this.file, JSON.stringify({ authors: Object.fromEntries(this.authors) }) + "\n");
    } catch (e) {
      this.problems.push(`${TRUST_FILE} could not be saved (${(e as Error).message})`);
    }
  }

  /** An author's record; past AUTHORS_MAX only roster members get one (the roster is the operator's, so bounded). */
  private record(author: string, member: boolean): AuthorRecord | undefined {
    let a = this.authors.get(author);
    if (!a && (member || this.authors.size < AUTHORS_MAX)) this.authors.set(author, (a = { admitted: 0, refused: 0, vouched: 0, key: null }));
    return a;
  }
}

function count(v: unknown): number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}
