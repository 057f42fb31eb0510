// The fleet log of one node: the entries it holds on disk and their exact sum, from which its
// weights are derived. The one owner of "what does this node hold": the node program asks it
// before a merge, for /status and the metrics, and for what to tell and send its peers.
//
//   <dir>/entries/       the store (store.ts): durable before visible
//   <dir>/checkpoints/   compaction (checkpoint.ts): the exact sum of a named set, one file
//
// An entry counts only once the store holds it on disk; only then is it added to the sum. A write
// that fails (ENOSPC, EMFILE, EIO) leaves store and sum as they were and throws a LedgerError
// "write": the weights derived after it are the weights before it.

import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointError } from "../checkpoint/errors.js";
import { readTorchStateDict } from "../checkpoint/torch-file.js";
import type { Params } from "../engine/params.js";
import { baseIdentity } from "./base-id.js";
import { encodeBundle } from "./bundle.js";
import { checkpointFileName, loadCheckpoint, makeCheckpoint, saveCheckpoint, type Checkpoint } from "./checkpoint.js";
import { entryName, type Entry, type Lesson } from "./entry.js";
import { ExactSum, SumError, type CheckedDelta, type SumRejectReason } from "./exact-sum.js";
import { EntryStore, StoreError, type SetAside, type Writer } from "./store.js";
import { setHash, summarize, type LogSummary } from "./summary.js";

export const CHECKPOINT_DIR = "checkpoints";
/** Start-up compacts when more entries than this lie outside the newest checkpoint. */
export const COMPACT_AFTER = 256;

export type LedgerRefusal = "decode" | "base" | SumRejectReason | "write";

export class LedgerError extends Error {
  constructor(
    readonly reason: LedgerRefusal,
    message: string,
    /** For "write": the errno code (ENOSPC, EMFILE, …). */
    readonly code?: string,
  ) {
    super(message);
    this.name = "LedgerError";
  }
}

export interface LedgerOptions {
  dir: string;
  /** The base model; never changed. */
  base: Params;
  writer?: Writer;
  compactAfter?: number;
  /**
   * Derive what a node starting on this folder would hold, changing nothing (store.ts readOnly):
   * nothing is set aside or compacted, the problems say what the node would set aside, add() refuses.
   */
  readOnly?: boolean;
}

export interface HeldLesson extends Lesson {
  author: string;
  seq: number;
  at?: number;
}

export class Ledger {
  /** Problems open() met (entries set aside, a checkpoint not used), for /status and the log. */
  readonly problems: string[] = [];
  /** The base models of entries open() did not hold because they were made on another (a node started on the wrong --model). */
  readonly otherBases = new Set<string>();
  private cachedSet: string | undefined;

  private constructor(
    private readonly store: EntryStore,
    private readonly sum: ExactSum,
    readonly base: Params,
    readonly baseId: string,
  ) {}

  static async open(o: LedgerOptions): Promise<Ledger> {
    const baseId = baseIdentity(o.base);
    const cpDir = join(o.dir, CHECKPOINT_DIR);
    const readOnly = o.readOnly ?? false;
    if (!readOnly) await mkdir(cpDir, { recursive: true });
    const aside = readOnly ? "set aside when the node starts" : "set aside";
    const problems: string[] = [];
    // The checkpoint of the largest set on this base is the starting sum; the entries it covers are
    // only length-checked at open (their sum is in it), the rest are hashed and added.
    let best: Checkpoint | undefined;
    for (const f of (await readdir(cpDir).catch(absentIsEmpty)).filter((n) => n.endsWith(".dfsum"))) {
      try {
        const cp = await loadCheckpoint(join(cpDir, f), o.base.config);
        if (cp.base !== baseId) { problems.push(`${f}: a checkpoint of another base model (${cp.base}), not used`); continue; }
        if (!best || cp.names.length > best.names.length) best = cp;
      } catch (e) {
        problems.push(`${f}: ${(e as Error).message}; not used`);
      }
    }
    const covered = new Set(best?.names ?? []);
    const store = await EntryStore.open(o.dir, { verify: (n) => !covered.has(n), writer: o.writer, readOnly });
    for (const s of store.setAside) problems.push(`entries/${s.file}: ${s.reason}; ${aside}`);
    if (best && !best.names.every((n) => store.has(n))) {
      problems.push(`checkpoint ${checkpointFileName(best.set)}: names entries the store no longer holds; summing the entries instead`);
      best = undefined;
    }
    const sum = best ? best.sum : new ExactSum(o.base.config);
    const ledger = new Ledger(store, sum, o.base, baseId);
    ledger.problems.push(...problems);
    const inSum = new Set(best?.names ?? []);
    for (const name of store.names()) {
      if (inSum.has(name)) continue;
      const entry = store.get(name)!;
      try {
        if (entry.base !== baseId) throw new LedgerError("base", `made on base ${entry.base}, this node's is ${baseId}`);
        const bytes = await store.readDelta(name);
        sum.add(ledger.check(entry, bytes));
      } catch (e) {
        // Held but not summable: it must not be reported as held either.
        if (e instanceof LedgerError && e.reason === "base") ledger.otherBases.add(entry.base);
        await store.drop(name, (e as Error).message);
        ledger.problems.push(`entries/${name}: ${(e as Error).message}; ${aside}`);
      }
    }
    const outside = store.size - inSum.size;
    if (!readOnly && outside > (o.compactAfter ?? COMPACT_AFTER)) await ledger.compact().catch((e: Error) => ledger.problems.push(`compaction failed: ${e.message}`));
    return ledger;
  }

  get size(): number { return this.store.size; }
  has(name: string): boolean { return this.store.has(name); }
  get(name: string): Entry | undefined { return this.store.get(name); }
  /** Sorted. */
  names(): string[] { return this.store.names(); }
  entries(): Entry[] { return this.store.entries(); }
  sig(name: string): string | undefined { return this.store.sig(name); }
  get setAside(): readonly SetAside[] { return this.store.setAside; }

  /** setHash of the names held: equal on two nodes exactly when they hold the same entries. */
  get set(): string {
    return (this.cachedSet ??= setHash(this.store.names()));
  }

  summary(): LogSummary {
    return summarize(this.store.entries());
  }

  /** The lessons of the teach entries held, oldest first (by the author's time, then name). */
  lessons(): HeldLesson[] {
    return this.store.entries()
      .filter((e) => e.kind === "teach" && e.lesson)
      .map((e) => ({ question: e.lesson!.question, answer: e.lesson!.answer, author: e.author, seq: e.seq, ...(e.at !== undefined ? { at: e.at } : {}) }))
      .sort((a, b) => (a.at ?? 0) - (b.at ?? 0) || (a.author < b.author ? -1 : a.author > b.author ? 1 : a.seq - b.seq));
  }

  /** The next sequence number for entries by `author`: one past the highest held. */
  nextSeq(author: string): number {
    let top = 0;
    for (const e of this.store.entries()) if (e.author === author && e.seq > top) top = e.seq;
    return top + 1;
  }

  /**
   * The whole delta checked against this node's model before anything is kept: made on our base,
   * a torch file, every tensor a parameter of ours in fp16, every value finite (ExactSum.check).
   */
  check(entry: Entry, delta: Uint8Array): CheckedDelta {
    if (entry.base !== this.baseId) throw new LedgerError("base", `entry ${entryName(entry)} was made on base model ${entry.base}; this node's is ${this.baseId}`);
    let sd;
    try {
      sd = readTorchStateDict(delta, "delta");
    } catch (e) {
      if (e instanceof CheckpointError) throw new LedgerError("decode", `entry ${entryName(entry)}: ${e.problem}`);
      throw e;
    }
    try {
      return this.sum.check(sd);
    } catch (e) {
      if (e instanceof SumError) throw new LedgerError(e.reason, `entry ${entryName(entry)}: ${e.message}`);
      throw e;
    }
  }

  /**
   * Keeps an entry: on disk first (durable), then in the sum. "present" when already held (the same
   * name is the same entry: a replay under another transfer version changes nothing).
   */
  async add(entry: Entry, delta: Uint8Array, opts: { sig?: string; checked?: CheckedDelta } = {}): Promise<"added" | "present"> {
    const name = entryName(entry);
    if (this.store.has(name)) return "present";
    const checked = opts.checked ?? this.check(entry, delta);
    let r: "added" | "present";
    try {
      r = await this.store.add(entry, delta, opts.sig);
    } catch (e) {
      if (e instanceof StoreError && (e.reason === "no_space" || e.reason === "io")) throw new LedgerError("write", e.message, e.code);
      throw e;
    }
    if (r === "added") {
      try {
        this.sum.add(checked);
      } catch (e) {
        // Only an overflow past 2^53 units can land here; the entry must not stay held unsummed.
        await this.store.drop(name, (e as Error).message);
        throw e instanceof SumError ? new LedgerError(e.reason, e.message) : e;
      }
      this.cachedSet = undefined;
    }
    return r;
  }

  /** The weights: base + mergeWeight · (exact sum of every entry held), see exact-sum.ts. */
  derive(mergeWeight = 1): Params {
    return this.sum.derive(this.base, mergeWeight);
  }

  /** An entry held, as a bundle to send a peer (its delta file re-read and checked against its sha256). */
  async bundle(name: string): Promise<Uint8Array> {
    const entry = this.store.get(name);
    if (!entry) throw new LedgerError("decode", `no entry ${name} held`);
    const delta = await this.store.readDelta(name);
    const sig = this.store.sig(name);
    return encodeBundle({ entry, delta, ...(sig === undefined ? {} : { sig }) });
  }

  /**
   * Writes the checkpoint of everything held (the same bytes on every node holding the same set) and
   * removes older ones: start-up then reads one sum and hashes only the entries after it.
   */
  async compact(): Promise<string> {
    const cp = makeCheckpoint(this.baseId, this.store.names(), this.sum);
    const dir = join(this.store.dir, CHECKPOINT_DIR);
    const file = await saveCheckpoint(dir, cp);
    const keep = checkpointFileName(cp.set);
    for (const f of await readdir(dir)) if (f.endsWith(".dfsum") && f !== keep) await rm(join(dir, f), { force: true });
    return file;
  }
}

/** A state folder that never held a checkpoint has no checkpoints/ folder (read-only opens do not make it). */
function absentIsEmpty(e: NodeJS.ErrnoException): string[] {
  if (e.code === "ENOENT") return [];
  throw e;
}
