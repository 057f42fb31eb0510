// The node's state folder: the weights it holds (a torch .pt baseline), the versions it applied, and
// the delta files it received. A restart from it gives the same weights and never re-applies a
// delta, whatever instant a crash (or kill -9) hit:
//
//   state.json         manifest: baseline file + its sha256 + applied versions, checksummed
//   state.prev.json    the manifest before the last commit (fallback when state.json is bad)
//   baseline-<n>.pt    weights of generation n (the current one and the previous one are kept)
//   carry-<n>.f32      what fp16 rounding kept out of the deltas this node taught, owed to its next
//                      teach (float32 little-endian, params layout); written when it changes
//   deltas/<ver>.pt    delta files as received or taught (newest DELTA_FILES_KEPT kept)
//
// A commit writes the new baseline first, then the manifest in one atomic rename: weights and the
// applied log change together or not at all. A manifest whose checksum, baseline file or sha256
// does not hold is reported and the previous one is used.

import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { writeFileAtomicAsync as writeFileAtomic } from "../util/atomic-write.js";
import { sha256File, sha256Hex } from "../util/sha256.js";
import { isWireToken } from "../util/ids.js";
import { AppliedLog, type AppliedEntry } from "./applied-log.js";

export const MANIFEST = "state.json";
export const PREV_MANIFEST = "state.prev.json";
export const DELTA_DIR = "deltas";
/** Received delta files kept for inspection and re-sending; older ones are pruned. */
export const DELTA_FILES_KEPT = 32;
const MANIFEST_FORMAT = 1;

export interface ManifestBody {
  format: number;
  generation: number;
  baseline: string;
  baselineSha256: string;
  nodeId: string;
  savedAt: number;
  applied: AppliedEntry[];
  /** The carry file and its sha256, when the node has taught. */
  carry?: string;
  carrySha256?: string;
}

export interface Saver {
  saveBaseline(file: string): Promise<void>;
  carry?(): Float32Array | undefined;
}

export interface Candidate {
  /** Which manifest it came from. */
  manifest: string;
  baselineFile: string;
  /** The verified carry file, if the manifest names one and it holds. */
  carryFile?: string;
  /** Why the manifest's carry file is not used (missing, damaged). */
  carryProblem?: string;
  body: ManifestBody;
}

export interface StateDirOptions {
  dir: string;
  nodeId: string;
  logger: Logger;
  /** Test hook (FLEET_TEST_SAVE_PAUSE_MS): pause between writing a baseline and committing it. */
  savePauseMs?: number;
}

export class StateDir {
  readonly dir: string;
  /** Problems found when opening (corrupt manifest, missing or damaged baseline), for /status and logs. */
  readonly problems: string[] = [];
  /**
   * The versions the weights in memory hold: the only record of them. The manifest saves a copy
   * with the baseline it describes; the two differ only while a save has failed.
   */
  readonly applied = new AppliedLog();
  private body: ManifestBody | undefined;
  /** The weights in memory are ahead of the saved baseline (a commit did not finish). */
  private behind = false;
  private readonly log: Logger;
  /** Whether state.json is good and becomes state.prev.json on the next commit (a bad one never does). */
  private rotate = false;
  /** The carry last written, so a commit that did not teach reuses its file. */
  private savedCarry: Float32Array | undefined;

  private constructor(private readonly opts: StateDirOptions) {
    this.dir = opts.dir;
    this.log = opts.logger.child({ mod: "state" });
  }

  /** Creates the folder if needed and reads what is there (nothing is trusted until verified). */
  static async open(opts: StateDirOptions): Promise<StateDir> {
    await mkdir(join(opts.dir, DELTA_DIR), { recursive: true });
    const s = new StateDir(opts);
    await s.removeTemporaries();
    return s;
  }

  /** Verified manifests, newest first: each names a baseline whose sha256 matches. */
  async candidates(): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const name of [MANIFEST, PREV_MANIFEST]) {
      const c = await this.readCandidate(name);
      if (typeof c === "string") {
        if (c !== "absent") this.report(`${name}: ${c}`);
      } else {
        if (c.carryProblem) this.report(`${name}: ${c.carryProblem}`);
        out.push(c);
      }
    }
    return out;
  }

  /** Makes a verified candidate the state in memory (after the model loaded from it). */
  adopt(c: Candidate): void {
    this.body = c.body;
    this.rotate = c.manifest === MANIFEST;
    this.applied.replace(c.body.applied);
  }

  /** Records a load failure of a candidate's baseline (the engine could not read it). */
  report(problem: string): void {
    this.problems.push(problem);
    this.log.warn({ ev: "state_problem", problem, dir: this.dir }, "state problem, falling back");
  }

  get generation(): number { return this.body?.generation ?? 0; }
  get baselineFile(): string | undefined { return this.body ? join(this.dir, this.body.baseline) : undefined; }

  /**
   * Records `entry` (a delta just merged into the weights) in the applied log, then saves the
   * weights as the next baseline with the log. The log keeps the entry even when the save fails:
   * the weights in memory hold the delta, and the next commit saves both.
   * Callers hold the model lock: nothing may change the weights during the save.
   */
  async commit(model: Saver, entry?: AppliedEntry): Promise<void> {
    if (entry) this.applied.add(entry);
    this.behind = true;
    const generation = this.generation + 1;
    const baseline = `baseline-${generation}.pt`;
    const file = join(this.dir, baseline);
    await model.saveBaseline(file);
    const baselineSha256 = await sha256File(file);
    if (this.opts.savePauseMs) {
      this.log.info({ ev: "save_paused", generation, ms: this.opts.savePauseMs }, "test hook: baseline written, manifest not yet");
      await new Promise((r) => setTimeout(r, this.opts.savePauseMs));
    }
    const applied = this.applied.entries();
    const body: ManifestBody = {
      format: MANIFEST_FORMAT, generation, baseline, baselineSha256,
      nodeId: this.opts.nodeId, savedAt: Date.now(), applied, ...(await this.saveCarry(model, generation)),
    };
    if (this.rotate && existsSync(join(this.dir, MANIFEST))) await rename(join(this.dir, MANIFEST), join(this.dir, PREV_MANIFEST));
    await writeFileAtomic(join(this.dir, MANIFEST), encodeManifest(body));
    this.rotate = true;
    const previous = this.body?.baseline;
    this.body = body;
    this.behind = false;
    await this.pruneWeights(new Set([baseline, ...(previous ? [previous] : [])]));
    this.log.debug({ ev: "state_saved", generation, baseline, sha256: baselineSha256, applied: applied.length }, "state saved");
  }

  /**
   * Records `entry` in the applied log and saves the log without a new baseline (the weights already
   * hold it: a teach committed its weights before the broadcast gave the version a name). When the
   * saved baseline is behind the weights, only the next commit may save the log: a manifest must
   * never list a version its baseline lacks.
   */
  async recordApplied(entry: AppliedEntry): Promise<void> {
    if (!this.body) throw new Error("state: recordApplied before any commit (commit the weights first)");
    this.applied.add(entry);
    if (this.behind) return;
    const body: ManifestBody = { ...this.body, applied: this.applied.entries(), savedAt: Date.now() };
    await writeFileAtomic(join(this.dir, MANIFEST), encodeManifest(body));
    this.body = body;
  }

  /** Marks the carry the adopted candidate's model was given as already on disk. */
  adoptCarry(carry: Float32Array): void { this.savedCarry = carry; }

  private async saveCarry(model: Saver, generation: number): Promise<Pick<ManifestBody, "carry" | "carrySha256">> {
    const carry = model.carry?.();
    if (!carry) return {};
    if (carry === this.savedCarry && this.body?.carry) return { carry: this.body.carry, carrySha256: this.body.carrySha256 };
    const name = `carry-${generation}.f32`;
    const bytes = new Uint8Array(carry.buffer, carry.byteOffset, carry.byteLength);
    await writeFileAtomic(join(this.dir, name), bytes);
    this.savedCarry = carry;
    return { carry: name, carrySha256: sha256Hex(bytes) };
  }

  /** Keeps a delta file (received or taught); the oldest beyond DELTA_FILES_KEPT are removed. */
  async keepDelta(version: string, bytes: Uint8Array): Promise<string | undefined> {
    if (!isWireToken(version)) return undefined;   // never a path from the wire
    const file = join(this.dir, DELTA_DIR, `${version}.pt`);
    await writeFileAtomic(file, bytes);
    await this.pruneDeltas();
    return file;
  }

  private async readCandidate(name: string): Promise<Candidate | string> {
    const path = join(this.dir, name);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ENOENT" ? "absent" : `unreadable (${(e as Error).message})`;
    }
    const body = decodeManifest(text);
    if (typeof body === "string") return body;
    const baselineFile = join(this.dir, body.baseline);
    if (!existsSync(baselineFile)) return `baseline ${body.baseline} is missing`;
    const sha = await sha256File(baselineFile);
    if (sha !== body.baselineSha256) return `baseline ${body.baseline} is damaged (sha256 ${sha.slice(0, 12)}…, manifest says ${body.baselineSha256.slice(0, 12)}…)`;
    if (!body.carry) return { manifest: name, baselineFile, body };
    // A lost carry costs only rounding dust on the next teach: report it, keep the weights.
    const carryFile = join(this.dir, body.carry);
    const carrySha = existsSync(carryFile) ? await sha256File(carryFile) : undefined;
    if (carrySha === body.carrySha256) return { manifest: name, baselineFile, carryFile, body };
    return { manifest: name, baselineFile, body, carryProblem: `carry ${body.carry} is ${carrySha ? "damaged" : "missing"}; the next teach starts without it` };
  }

  /** Baselines and carries of the current and the previous manifest stay; older ones go. */
  private async pruneWeights(keep: Set<string>): Promise<void> {
    // The previous manifest's files are the fallback if the current ones are damaged.
    const prev = await this.readCandidate(PREV_MANIFEST).catch(() => "absent");
    for (const body of [this.body, typeof prev === "string" ? undefined : prev.body]) {
      if (body) keep.add(body.baseline);
      if (body?.carry) keep.add(body.carry);
    }
    for (const name of await readdir(this.dir)) {
      if (/^(baseline-\d+\.pt|carry-\d+\.f32)$/.test(name) && !keep.has(name)) await rm(join(this.dir, name), { force: true });
    }
  }

  private async pruneDeltas(): Promise<void> {
    const dir = join(this.dir, DELTA_DIR);
    const files = await Promise.all((await readdir(dir)).filter((n) => n.endsWith(".pt")).map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })));
    files.sort((a, b) => a.t - b.t);
    for (const f of files.slice(0, Math.max(0, files.length - DELTA_FILES_KEPT))) await rm(join(dir, f.n), { force: true });
  }

  /** Temporaries left by a crash mid-write (ours and the engine's) are garbage. */
  private async removeTemporaries(): Promise<void> {
    for (const d of [this.dir, join(this.dir, DELTA_DIR)]) {
      for (const name of await readdir(d)) {
        if (name.endsWith(".tmp") || /\.tmp[.-]/.test(name)) await rm(join(d, name), { force: true });
      }
    }
  }
}

export function encodeManifest(body: ManifestBody): string {
  const json = JSON.stringify(body);
  return JSON.stringify({ checksum: sha256Hex(json), body: JSON.parse(json) as ManifestBody }, null, 1) + "\n";
}

/** The manifest body, or why it cannot be trusted. */
export function decodeManifest(text: string): ManifestBody | string {
  let v: unknown;
  try { v = JSON.parse(text); } catch { return "not JSON (torn or corrupt write)"; }
  const o = v as { checksum?: unknown; body?: unknown };
  if (!o || typeof o !== "object" || typeof o.checksum !== "string" || !o.body || typeof o.body !== "object") return "not a manifest";
  if (sha256Hex(JSON.stringify(o.body)) !== o.checksum) return "checksum does not match its content";
  const b = o.body as ManifestBody;
  if (b.format !== MANIFEST_FORMAT) return `format ${String(b.format)} is not ${MANIFEST_FORMAT} (written by another version?)`;
  if (typeof b.baseline !== "string" || !/^baseline-\d+\.pt$/.test(b.baseline) || !Array.isArray(b.applied)) return "malformed manifest";
  if (b.carry !== undefined && (typeof b.carry !== "string" || !/^carry-\d+\.f32$/.test(b.carry) || typeof b.carrySha256 !== "string")) return "malformed manifest (carry)";
  return b;
}
