// The weights a node holds: the base model plus the exact sum of the entries in its state folder.
// Start-up, the runtime and `fleet-node model ask --model STATE_DIR` all derive them here, so an
// answer asked offline comes from the very bits the node answers from, and its digest is the one
// the node reports in /status — not from a second implementation that could drift.

import { viewParams } from "../engine/params.js";
import { Ledger, type HeldLesson } from "../log/ledger.js";
import type { Writer } from "../log/store.js";
import type { EngineModel } from "./seams.js";
import { StateFolder } from "./state-folder.js";

/**
 * The fleet log of `dir` on the model's weights as base. The base is a copy the ledger keeps: the
 * model's own buffer becomes base + the log's sum (deriveInto).
 */
export function openLog(model: EngineModel, dir: string, opts: { writer?: Writer; readOnly?: boolean } = {}): Promise<Ledger> {
  const base = viewParams(model.params.config, model.params.flat.slice());
  return Ledger.open({ dir, base, ...opts });
}

/** The model's weights become base + mergeWeight · (exact sum of the entries held); returns their digest. */
export function deriveInto(model: EngineModel, ledger: Ledger, mergeWeight: number): string {
  model.params.flat.set(ledger.derive(mergeWeight).flat);
  return model.digest();
}

export interface HeldWeights {
  /** What /status would report as `digest` for a node started on this folder with this base and merge weight. */
  digest: string;
  entries: number;
  lessons: HeldLesson[];
  /** What the node would set aside or leave unused at start (its /status stateProblems); empty when whole. */
  problems: string[];
  /** The base model's identity (log/base-id.ts), and those of entries made on another base model (not held). */
  baseId: string;
  otherBases: string[];
}

/**
 * Sets `model` (loaded from the node's base model) to the weights a node started on `dir` would
 * hold, reading the folder without changing it: a node may be running on it.
 */
export async function readHeldWeights(model: EngineModel, dir: string, mergeWeight: number): Promise<HeldWeights> {
  const folder = StateFolder.inspect(dir);
  const ledger = await openLog(model, dir, { readOnly: true });
  folder.readCarry(model.params.flat.length);
  const digest = deriveInto(model, ledger, mergeWeight);
  return {
    digest, entries: ledger.size, lessons: ledger.lessons(), problems: [...folder.problems, ...ledger.problems],
    baseId: ledger.baseId, otherBases: [...ledger.otherBases].sort(),
  };
}
