// What `fleetctl demo` found, as data (--json) and as the table people read at the end.

import { table } from "../io.js";
import type { LessonsReport } from "./lessons-run.js";

export interface DemoNodeReport {
  id: string;
  role: "teacher" | "receiver";
  merged: boolean;
  /** META seen → merged, as the node measured it. */
  metaToMergeMs: number | null;
  /** From the teacher announcing the delta to this node's merge line, as the demo saw them. */
  sinceBroadcastMs: number | null;
  digest: string | null;
  fragmentsReceived: number | null;
  naksSent: number | null;
  problem?: string;
}

export interface DemoReport {
  ok: boolean;
  /** What went wrong, one line each (empty when ok). */
  failures: string[];
  question: string;
  answer: string;
  version: string | null;
  bytes: number | null;
  fragments: number | null;
  retransmits: number;
  naks: number;
  loss: number | null;
  learned: boolean | null;
  digestsEqual: boolean;
  askedNode: string;
  answerBefore: string | null;
  answerAfter: string | null;
  nodes: DemoNodeReport[];
  stateDir: string | null;
  /** With --lessons: what each node recalls of the lessons taught after the story. */
  lessons?: LessonsReport;
}

export function formatReport(r: DemoReport): string {
  const ms = (v: number | null): string => (v === null ? "-" : `${v} ms`);
  const rows = r.nodes.map((n) => [
    n.id, n.role === "teacher" ? "taught" : n.merged ? "yes" : "NO", ms(n.metaToMergeMs), ms(n.sinceBroadcastMs),
    n.fragmentsReceived === null ? "-" : String(n.fragmentsReceived), n.digest ? n.digest.slice(0, 12) : "-",
  ]);
  let out = `\nTaught ${r.nodes[0]?.id}: "${r.question}" -> "${r.answer}" (loss ${r.loss?.toFixed(4) ?? "-"}, learned: ${r.learned ? "yes" : "no"})\n`;
  out += `Delta ${r.version}: ${r.bytes} bytes in ${r.fragments} fragments; retransmits ${r.retransmits}, NAKs ${r.naks}\n\n`;
  out += table(["NODE", "MERGED", "META->MERGE", "SINCE BROADCAST", "FRAGMENTS IN", "DIGEST"], rows);
  for (const n of r.nodes) if (n.problem) out += `  ${n.id}: ${n.problem}\n`;
  out += `\nDigests: ${r.digestsEqual ? "all equal - one fleet, one model" : "DIFFER"}\n`;
  out += `${r.askedNode} answers "${r.question}": before "${r.answerBefore ?? "?"}", after "${r.answerAfter ?? "?"}"\n`;
  if (r.lessons) out += formatLessons(r.lessons);
  if (r.stateDir) out += `State folders kept in ${r.stateDir}\n`;
  out += r.ok ? "Demo OK: every node merged the correction.\n" : "Demo FAILED.\n";
  return out;
}

/** The recall table: a row per lesson, a column per node ("yes", or what the node answers instead). */
export function formatLessons(l: LessonsReport): string {
  const nodes = l.recall.map((r) => r.node);
  const quote = (a: string | null): string => (a === null ? "(not asked)" : `"${a}"`);
  const rows = l.taught.map((t, i) => [
    `${i + 1}. ${t.question}${t.together ? " *" : ""}`, `"${t.answer}"`, t.node, t.learned ? `yes, ${t.steps} step${t.steps === 1 ? "" : "s"}` : `no (${t.steps} steps)`,
    ...l.recall.map((r) => (r.answers[i]!.recalled ? "yes" : quote(r.answers[i]!.answer))),
  ]);
  let out = `\nLessons: ${l.taught.length} taught round-robin (* = two taught at the same moment), then every node asked from its own weights\n\n`;
  out += table(["LESSON", "TAUGHT", "ON", "LEARNED", ...nodes], rows);
  out += "\n" + l.recall.map((r) => `${r.node} recalls ${r.recalled} of ${l.taught.length}`).join("; ") + "\n";
  const hits = l.untaught.filter((u) => u.taughtAnswerOf !== null);
  out += `Untaught questions given a taught answer: ${l.collapsed} of ${l.untaught.length}${hits.length ? ": " + hits.map((u) => `"${u.question}" -> "${u.answer}"`).join(", ") : ""}\n`;
  return out;
}
