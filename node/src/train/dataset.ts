// A training data set: question/answer pairs, from a JSONL file (one {"question", "answer"} object
// a line) or from a request's JSON array. Untrusted either way: every pair is checked, and the set
// is capped so that no shard can exceed the round recipe's step count (engine/teach.ts
// ROUND_RECIPE), which is what the round entry's trust bound assumes.

import { ROUND_RECIPE } from "../engine/teach.js";

export interface Pair {
  question: string;
  answer: string;
}

/** At most this many pairs: a shard is at most the whole set, and one Adam step per pair stays within ROUND_RECIPE. */
export const DATASET_MAX_PAIRS = ROUND_RECIPE.maxSteps;
/** Longest question or answer: a teach's limit (node/src/node/http-api.ts TEXT_LIMIT_CHARS). */
export const PAIR_MAX_CHARS = 1000;
/** A data set file or request body bigger than this is refused before parsing. */
export const DATASET_MAX_BYTES = 1 << 20;

/** The pairs of a JSONL text (blank lines skipped), or why it is not a data set; `where` names the source in errors. */
export function parseJsonl(text: string, where = "data set"): Pair[] | string {
  if (text.length > DATASET_MAX_BYTES) return `${where} is ${text.length} characters; the limit is ${DATASET_MAX_BYTES}`;
  const out: unknown[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    try {
      out.push(JSON.parse(line));
    } catch (e) {
      return `${where} line ${i + 1} is not JSON (${(e as Error).message}); each line holds {"question": "...", "answer": "..."}`;
    }
  }
  return parsePairs(out, where);
}

/** Pairs from untrusted JSON (a request's "data"), or why not. */
export function parsePairs(v: unknown, where = "data"): Pair[] | string {
  if (!Array.isArray(v)) return `${where} must be an array of {"question", "answer"} objects`;
  if (v.length === 0) return `${where} holds no pairs`;
  if (v.length > DATASET_MAX_PAIRS) return `${where} holds ${v.length} pairs; the limit is ${DATASET_MAX_PAIRS} (one Adam step per pair, ROUND_RECIPE)`;
  const out: Pair[] = [];
  for (let i = 0; i < v.length; i++) {
    const p = v[i] as Record<string, unknown> | null;
    if (!p || typeof p !== "object" || Array.isArray(p)) return `${where} item ${i + 1} is not an object`;
    const extra = Object.keys(p).filter((k) => k !== "question" && k !== "answer");
    if (extra.length) return `${where} item ${i + 1} has an unknown field ${JSON.stringify(extra[0])} (a pair holds question and answer)`;
    for (const k of ["question", "answer"] as const) {
      const s = p[k];
      if (typeof s !== "string" || s.trim() === "") return `${where} item ${i + 1}: ${k} must be non-empty text`;
      if (s.length > PAIR_MAX_CHARS) return `${where} item ${i + 1}: ${k} is ${s.length} characters; the limit is ${PAIR_MAX_CHARS}`;
    }
    out.push({ question: (p.question as string).trim(), answer: (p.answer as string).trim() });
  }
  return out;
}
