// The body of POST /train (docs/contracts.md), checked whole before a job starts: the data set by
// path, by the name of one shipped in the repository's data/ folder, or inline as "data" (what
// fleetctl train sends, so the file need not be on the coordinator's disk).

import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DATASET_MAX_BYTES, parseJsonl, parsePairs, type Pair } from "../train/dataset.js";
import type { TrainMode } from "../train/wire.js";
import { ROUNDS_MAX, STRAGGLER_TIMEOUT_MAX_S, type TrainRequest } from "./train-job.js";

/** The data sets shipped with the node (data/*.jsonl), found from this compiled file: dist/node/src/node/ → the package root. */
export const DATA_DIR = fileURLToPath(new URL("../../../../data/", import.meta.url));
/** A POST /train body may carry the data set: up to the data set's own cap. */
export const TRAIN_BODY_LIMIT_BYTES = DATASET_MAX_BYTES + 64 * 1024;

const KEYS = new Set(["dataset", "data", "rounds", "mode", "stragglerTimeoutS", "overlap"]);
const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export class TrainRequestError extends Error {
  readonly code = "TRAIN_BAD_REQUEST";
}

/** The request, or a TrainRequestError saying what is wrong with it. */
export function parseTrainRequest(body: Record<string, unknown>, dataDir = DATA_DIR): TrainRequest {
  const bad = (m: string): never => { throw new TrainRequestError(m); };
  const extra = Object.keys(body).filter((k) => !KEYS.has(k));
  if (extra.length) bad(`unknown field "${extra[0]}"; POST /train takes ${[...KEYS].join(", ")}`);
  const { dataset, data, rounds, mode = "fedavg", stragglerTimeoutS, overlap = 0 } = body;
  if ((dataset === undefined) === (data === undefined)) bad('give the data set as "dataset" (a path or a shipped name such as "quiz") or as "data" (an array of {"question", "answer"}), one of the two');
  let pairs: Pair[] | string;
  if (data !== undefined) pairs = parsePairs(data, '"data"');
  else {
    if (typeof dataset !== "string" || dataset.trim() === "") return bad('"dataset" must be a path or a name');
    const file = NAME.test(dataset) ? `${dataDir}${dataset}.jsonl` : dataset;
    if (!existsSync(file) || !statSync(file).isFile()) return bad(`data set ${dataset}: no file ${file} on this node${NAME.test(dataset) ? " (shipped names are the files of data/ without .jsonl)" : ""}`);
    if (statSync(file).size > DATASET_MAX_BYTES) return bad(`data set ${file} is ${statSync(file).size} bytes; the limit is ${DATASET_MAX_BYTES}`);
    pairs = parseJsonl(readFileSync(file, "utf8"), file);
  }
  if (typeof pairs === "string") return bad(pairs);
  if (typeof rounds !== "number" || !Number.isInteger(rounds) || rounds < 1 || rounds > ROUNDS_MAX) bad(`"rounds" must be an integer from 1 to ${ROUNDS_MAX}`);
  if (mode !== "fedavg" && mode !== "gossip") bad('"mode" must be "fedavg" or "gossip"');
  if (typeof stragglerTimeoutS !== "number" || !(stragglerTimeoutS > 0 && stragglerTimeoutS <= STRAGGLER_TIMEOUT_MAX_S)) bad(`"stragglerTimeoutS" must be a number of seconds, above 0 and at most ${STRAGGLER_TIMEOUT_MAX_S}`);
  if (typeof overlap !== "number" || !(overlap >= 0 && overlap <= 1)) bad('"overlap" must be a number from 0 to 1 (the share of a shard added from the next one)');
  return { pairs, rounds: rounds as number, mode: mode as TrainMode, stragglerTimeoutS: stragglerTimeoutS as number, overlap: overlap as number };
}
