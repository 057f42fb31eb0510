// Whether the nodes hold the same fleet log, from each node's GET /log: the union of the entries
// any of them holds, and per node what it still lacks. Weights are a pure function of the entry set,
// so equal sets is what "converged" means; the names say which teach a lagging node is missing.

import { parseEntryName } from "../../../node/src/log/entry.js";
import { setHash } from "../../../node/src/log/summary.js";

/** A node's log as GET /log reports it (docs/contracts.md). */
export interface NodeLog {
  base: string;
  entries: number;
  set: string;
  names: string[];
}

export interface FleetLog {
  /** How many distinct entries the nodes hold between them. */
  entries: number;
  /** setHash of the union: what every node's `set` is once the fleet has converged. */
  set: string;
  /** Per node id, the entries of the union it does not hold, sorted. */
  lacking: Map<string, string[]>;
}

/** Names listed in a lack message before "and N more": a fleet that missed a day of teaches
 * still fits on a line. */
export const LACK_NAMES_SHOWN = 8;

/** The union of the nodes' logs and what each one lacks. Nodes whose log is unknown (down, or too
 * old to have /log) add nothing and are given no lack: the caller reports them as unknown. */
export function compareLogs(logs: ReadonlyMap<string, NodeLog>): FleetLog {
  const union = new Set<string>();
  for (const l of logs.values()) for (const n of l.names) union.add(n);
  const lacking = new Map<string, string[]>();
  for (const [id, l] of logs) {
    const held = new Set(l.names);
    lacking.set(id, [...union].filter((n) => !held.has(n)).sort());
  }
  return { entries: union.size, set: setHash(union), lacking };
}

/** `author#seq` for an entry name (`author~seq~sha256`): enough to tell people which teach it was. */
export function shortName(name: string): string {
  const id = parseEntryName(name);
  return id ? `${id.author}#${id.seq}` : name;
}

/** "pi-3 lacks 2 entries: Pi-1#4, Pi-2#1" (at most LACK_NAMES_SHOWN names). */
export function describeLack(nodeId: string, lacking: readonly string[]): string {
  const shown = lacking.slice(0, LACK_NAMES_SHOWN).map(shortName).join(", ");
  const more = lacking.length > LACK_NAMES_SHOWN ? ` and ${lacking.length - LACK_NAMES_SHOWN} more` : "";
  return `${nodeId} lacks ${lacking.length} entr${lacking.length === 1 ? "y" : "ies"}: ${shown}${more}`;
}
