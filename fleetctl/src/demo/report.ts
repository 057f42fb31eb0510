// What `fleetctl demo` found, as data (--json) and as the table people read at the end.

import { table } from "../io.js";

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
  if (r.stateDir) out += `State folders kept in ${r.stateDir}\n`;
  out += r.ok ? "Demo OK: every node merged the correction.\n" : "Demo FAILED.\n";
  return out;
}
