// A node's state folder: its fleet log (log/ledger.ts: entries/, checkpoints/) and the teach carry.
// The weights are not saved: they are base + the exact sum of the entries, derived at start-up.
//
//   entries/ checkpoints/   the fleet log (durable before visible)
//   set-aside/              what start-up found and refused, moved here, never loaded
//   carry.f32               what fp16 rounding kept out of the deltas this node taught, owed to its
//                           next teach (float32 little-endian, params layout)
//
// A folder written before the fleet log (state.json, baseline-<n>.pt, deltas/) holds weights that no
// entry names: it is moved under set-aside/ and reported, and the node catches up from its peers.

import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { mkdir, readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { ENTRIES_DIR } from "../log/store.js";
import { writeFileAtomicAsync } from "../util/atomic-write.js";

export const CARRY_FILE = "carry.f32";
const PRE_LOG_FILES = /^(state\.json|state\.prev\.json|baseline-\d+\.pt|carry-\d+\.f32|deltas)$/;

export class StateFolder {
  /** What start-up set aside or could not use, for /status and the log. */
  readonly problems: string[] = [];

  private constructor(readonly dir: string, private readonly log: Logger) {}

  /** A folder a node has run on: its fleet log's entries/ is made at the first start. */
  static holds(dir: string): boolean {
    const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
    return isDir(dir) && isDir(join(dir, ENTRIES_DIR));
  }

  /**
   * The folder as the node would find it at start, read without changing anything (the node may be
   * running on it): what open() would move aside is reported, and stays.
   */
  static inspect(dir: string): StateFolder {
    const f = new StateFolder(dir, pino({ enabled: false }));
    const old = readdirSync(dir).filter((n) => PRE_LOG_FILES.test(n));
    if (old.length > 0) f.report(`a state folder from before the fleet log (${old.join(", ")}): the node moves it under set-aside/ at start and holds none of its weights`);
    return f;
  }

  static async open(dir: string, logger: Logger): Promise<StateFolder> {
    await mkdir(dir, { recursive: true });
    const f = new StateFolder(dir, logger.child({ mod: "state" }));
    await f.setAsidePreLog();
    return f;
  }

  private async setAsidePreLog(): Promise<void> {
    const old = (await readdir(this.dir)).filter((n) => PRE_LOG_FILES.test(n));
    if (old.length === 0) return;
    const to = join(this.dir, "set-aside", `pre-log-${Date.now()}`);
    await mkdir(to, { recursive: true });
    for (const n of old) await rename(join(this.dir, n), join(to, n));
    this.report(`a state folder from before the fleet log (${old.join(", ")}) was moved to ${to}; this node starts from the base model and catches up from its peers`);
  }

  report(problem: string): void {
    this.problems.push(problem);
    this.log.warn({ ev: "state_problem", problem, dir: this.dir }, problem);
  }

  /** The carry saved by the last teach, if it fits a model of `params` values. */
  readCarry(params: number): Float32Array | undefined {
    const file = join(this.dir, CARRY_FILE);
    if (!existsSync(file)) return undefined;
    const b = readFileSync(file);
    if (b.length !== params * 4) {
      this.report(`${CARRY_FILE} holds ${b.length / 4} values, the model ${params}; the next teach starts without it`);
      return undefined;
    }
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }

  async saveCarry(carry: Float32Array | undefined): Promise<void> {
    if (!carry) return;
    await writeFileAtomicAsync(join(this.dir, CARRY_FILE), new Uint8Array(carry.buffer, carry.byteOffset, carry.byteLength));
  }
}
