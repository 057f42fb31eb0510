// The entries a node holds, in a folder: durable before visible. An entry counts only once its
// delta file and its record are both on disk, and what the store reports is what is on its disk.
//
//   entries/<name>.delta   the delta file, byte for byte as made or received (its sha256 is in the name)
//   entries/<name>.json    {"bytes": <delta length>, "entry": <the entry's canonical encoding>, "sig"?: <its author's signature>}
//   set-aside/             whatever open() found and refused, moved here and reported, never loaded
//
// An add writes the delta, then the record, each atomically (temporary file, fsync, rename, fsync
// of the folder): the record is the commit. A crash before it leaves a delta without a record, or a
// temporary file; open() sets those aside. A failed write (ENOSPC, EIO) removes what the add wrote
// and throws a StoreError: the store is as it was.

import { readFileSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomicAsync } from "../util/atomic-write.js";
import { sha256Hex } from "../util/sha256.js";
import { encodeEntry, entryName, ENTRY_MAX_BYTES, parseEntry, parseEntryName, type Entry } from "./entry.js";

export const ENTRIES_DIR = "entries";
export const SET_ASIDE_DIR = "set-aside";
const DELTA_EXT = ".delta";
/** An Ed25519 signature is 64 bytes: 88 base64 characters; anything of base64 up to 512 is kept as it came. */
const SIG = /^[A-Za-z0-9+/]{4,512}={0,2}$/;
const RECORD_EXT = ".json";

export type StoreErrorReason = "no_space" | "io" | "mismatch" | "invalid" | "damaged" | "absent";

export class StoreError extends Error {
  constructor(
    readonly reason: StoreErrorReason,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "StoreError";
  }
}

/** A file open() refused, and why. */
export interface SetAside {
  file: string;
  reason: string;
}

/** Writes a whole file durably, or throws and leaves nothing at `path`. */
export type Writer = (path: string, data: Uint8Array) => Promise<void>;

export interface OpenOptions {
  /**
   * Which entries' delta files open() hashes (default: all). The others are checked by length only:
   * the entries a checkpoint covers are not read at start-up; readDelta hashes them when asked.
   */
  verify?: (name: string) => boolean;
  writer?: Writer;
  /**
   * Read the folder without changing it (`fleet-node model ask` on a node's state folder, which the
   * node may be running on): what would be set aside is reported in setAside but stays where it is,
   * and add() refuses.
   */
  readOnly?: boolean;
}

function ioError(what: string, e: unknown): StoreError {
  const code = (e as NodeJS.ErrnoException).code;
  const reason = code === "ENOSPC" || code === "EDQUOT" ? "no_space" : "io";
  return new StoreError(reason, `${what}: ${reason === "no_space" ? "no space left on the device" : (e as Error).message}`, code);
}

export class EntryStore {
  private readonly index = new Map<string, Entry>();
  /** Signatures as received or made (base64), kept so the entry can be passed on with it. */
  private readonly sigs = new Map<string, string>();
  /** Adds run one at a time: two adds of one entry must not write the same files at once. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly writer: Writer,
    /** What open() refused. */
    readonly setAside: SetAside[],
    readonly readOnly: boolean,
  ) {}

  static async open(dir: string, opts: OpenOptions = {}): Promise<EntryStore> {
    const entriesDir = join(dir, ENTRIES_DIR);
    const readOnly = opts.readOnly ?? false;
    if (!readOnly) await mkdir(entriesDir, { recursive: true });
    else if (!statSync(entriesDir, { throwIfNoEntry: false })?.isDirectory()) throw new StoreError("absent", `${dir} holds no ${ENTRIES_DIR}/ folder: not a node's state folder`);
    const store = new EntryStore(dir, opts.writer ?? writeFileAtomicAsync, [], readOnly);
    const files = new Set(await readdir(entriesDir));
    const verify = opts.verify ?? (() => true);
    const refuse = async (file: string, reason: string) => {
      files.delete(file);
      store.setAside.push({ file, reason });
      await store.moveAside(file);
    };
    for (const file of [...files].sort()) {
      if (!files.has(file) || !file.endsWith(RECORD_EXT)) continue;
      const name = file.slice(0, -RECORD_EXT.length);
      const deltaFile = name + DELTA_EXT;
      const problem = store.checkPair(name, files.has(deltaFile), verify(name));
      if (typeof problem === "string") {
        await refuse(file, problem);
        if (files.has(deltaFile)) await refuse(deltaFile, `its record was refused: ${problem}`);
        continue;
      }
      store.index.set(name, problem);
      files.delete(file);
      files.delete(deltaFile);
    }
    for (const file of [...files].sort()) {
      if (file.endsWith(".tmp")) await refuse(file, "left by a write that did not finish");
      else if (file.endsWith(DELTA_EXT)) await refuse(file, "a delta without its record (an add that did not finish)");
      else await refuse(file, "not a file the store writes");
    }
    return store;
  }

  /**
   * The entry whose files these are, or why they are refused. Synchronous reads: open() reads a
   * thousand small records at start-up, and each async read costs a trip through the thread pool
   * (1,000 records: ~850 ms async, see bench:log).
   */
  private checkPair(name: string, haveDelta: boolean, hash: boolean): Entry | string {
    if (!parseEntryName(name)) return "not named like an entry";
    const recordPath = join(this.dir, ENTRIES_DIR, name + RECORD_EXT);
    let record: { bytes?: unknown; entry?: unknown; sig?: unknown };
    try {
      const raw = readFileSync(recordPath);
      if (raw.length > ENTRY_MAX_BYTES + 64) return `record is ${raw.length} bytes, too long to be one`;
      record = JSON.parse(raw.toString("utf8"));
    } catch (e) {
      return `record is unreadable or truncated (${(e as Error).message})`;
    }
    const entry = parseEntry(record?.entry);
    if (typeof entry === "string") return `record holds no valid entry: ${entry}`;
    if (entryName(entry) !== name) return `record holds entry ${entryName(entry)}, not the one its file is named for`;
    if (record.sig !== undefined && (typeof record.sig !== "string" || !SIG.test(record.sig))) return "record's signature is not base64";
    if (typeof record.sig === "string") this.sigs.set(name, record.sig);
    if (!haveDelta) return "its delta file is missing";
    const bytes = record.bytes;
    const deltaPath = join(this.dir, ENTRIES_DIR, name + DELTA_EXT);
    let size: number;
    try {
      size = statSync(deltaPath).size;
    } catch (e) {
      return `its delta file cannot be read (${(e as Error).message})`;
    }
    if (size !== bytes) return `delta file is ${size} bytes, its record says ${String(bytes)} (truncated?)`;
    if (hash) {
      let sha: string;
      try {
        sha = sha256Hex(readFileSync(deltaPath));
      } catch (e) {
        return `its delta file cannot be read (${(e as Error).message})`;
      }
      if (sha !== entry.sha256) return `delta file's sha256 is ${sha.slice(0, 12)}…, the entry says ${entry.sha256.slice(0, 12)}…`;
    }
    return entry;
  }

  private async moveAside(file: string): Promise<void> {
    if (this.readOnly) return;
    const asideDir = join(this.dir, SET_ASIDE_DIR);
    await mkdir(asideDir, { recursive: true });
    // A timestamp keeps a second refusal of a same-named file from replacing the first.
    await rename(join(this.dir, ENTRIES_DIR, file), join(asideDir, `${Date.now()}-${file}`)).catch(() => undefined);
  }

  get size(): number {
    return this.index.size;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  get(name: string): Entry | undefined {
    return this.index.get(name);
  }

  /** The names held, sorted. */
  names(): string[] {
    return [...this.index.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  entries(): Entry[] {
    return this.names().map((n) => this.index.get(n)!);
  }

  /** The signature kept with an entry, if it came with one. */
  sig(name: string): string | undefined {
    return this.sigs.get(name);
  }

  /**
   * Keeps an entry and its delta file; resolves once both are durable, and only then is the entry
   * visible. "present" when the store already holds it (the same name is the same entry).
   */
  add(entry: Entry, delta: Uint8Array, sig?: string): Promise<"added" | "present"> {
    const run = this.queue.then(() => this.addNow(entry, delta, sig));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async addNow(entry: Entry, delta: Uint8Array, sig: string | undefined): Promise<"added" | "present"> {
    if (this.readOnly) throw new StoreError("io", `${this.dir} was opened read-only; nothing is added to it`);
    const checked = parseEntry(entry);
    if (typeof checked === "string") throw new StoreError("invalid", `not a valid entry: ${checked}`);
    if (sig !== undefined && !SIG.test(sig)) throw new StoreError("invalid", "the signature is not base64");
    const name = entryName(checked);
    if (this.index.has(name)) return "present";
    const sha = sha256Hex(delta);
    if (sha !== checked.sha256) throw new StoreError("mismatch", `delta's sha256 is ${sha.slice(0, 12)}…, the entry says ${checked.sha256.slice(0, 12)}…`);
    const deltaPath = join(this.dir, ENTRIES_DIR, name + DELTA_EXT);
    const recordPath = join(this.dir, ENTRIES_DIR, name + RECORD_EXT);
    try {
      await this.writer(deltaPath, delta);
    } catch (e) {
      throw ioError(`writing the delta of ${name}`, e);
    }
    const sigPart = sig === undefined ? "" : `,"sig":${JSON.stringify(sig)}`;
    const record = `{"bytes":${delta.length},"entry":${new TextDecoder().decode(encodeEntry(checked))}${sigPart}}\n`;
    try {
      await this.writer(recordPath, new TextEncoder().encode(record));
    } catch (e) {
      await rm(deltaPath, { force: true }).catch(() => undefined);
      throw ioError(`writing the record of ${name}`, e);
    }
    this.index.set(name, checked);
    if (sig !== undefined) this.sigs.set(name, sig);
    return "added";
  }

  /** Stops holding an entry: its files are set aside with the reason (a held entry that cannot be used). */
  async drop(name: string, reason: string): Promise<void> {
    if (!this.index.delete(name)) return;
    this.sigs.delete(name);
    for (const f of [name + RECORD_EXT, name + DELTA_EXT]) {
      this.setAside.push({ file: f, reason });
      await this.moveAside(f);
    }
  }

  /** The delta file of an entry held, checked against its sha256; a damaged one is set aside. */
  async readDelta(name: string): Promise<Uint8Array> {
    const entry = this.index.get(name);
    if (!entry) throw new StoreError("absent", `no entry ${name} in the store`);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(this.dir, ENTRIES_DIR, name + DELTA_EXT));
    } catch (e) {
      throw ioError(`reading the delta of ${name}`, e);
    }
    if (sha256Hex(bytes) !== entry.sha256) {
      this.index.delete(name);
      this.sigs.delete(name);
      const reason = "delta file no longer matches its sha256";
      for (const f of [name + RECORD_EXT, name + DELTA_EXT]) {
        this.setAside.push({ file: f, reason });
        await this.moveAside(f);
      }
      throw new StoreError("damaged", `${name}: ${reason}; set aside`);
    }
    return bytes;
  }
}
