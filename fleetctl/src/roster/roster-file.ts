// The fleet's roster as a file on the control machine (the fleet_node role writes it beside the
// inventory, every node reads its copy): `<node-id> <base64 key>` is a member, `!<node-id> <key>`
// a revoked node, blank and `#` lines are for people. A change keeps every other line as it was,
// comments and order included, so an operator's notes survive and a diff shows only the change.
// The role's merge (ansible/roles/fleet_node/filter_plugins/fleet_roster.py) reads the same way.

import { isNodeId, NODE_ID_RULE } from "../../../node/src/util/ids.js";

/** An Ed25519 public key, raw 32 bytes, in base64 with its padding: 43 characters and `=`. */
const KEY = /^[A-Za-z0-9+/]{43}=$/;

export interface RosterEntry {
  nodeId: string;
  key: string;
  revoked: boolean;
  /** 1-based line in the file, for messages. */
  line: number;
}

export interface Roster {
  /** Every line as read (without its newline), so a change rewrites only the line it touches. */
  lines: string[];
  entries: RosterEntry[];
}

export class RosterSyntaxError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "RosterSyntaxError";
  }
}

/** A roster's text read; every malformed line is named at once (a RosterSyntaxError). */
export function parseRoster(text: string): Roster {
  const lines = text === "" ? [] : text.replace(/\r?\n$/, "").split(/\r?\n/);
  const entries: RosterEntry[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^(!?)(\S+)\s+(\S+)$/.exec(line);
    if (!m) return void problems.push(`line ${i + 1}: "${clip(line)}" is not "<node-id> <key>" or "!<node-id> <key>"`);
    const [, bang, nodeId, key] = m as unknown as [string, string, string, string];
    if (!isNodeId(nodeId)) return void problems.push(`line ${i + 1}: node id "${clip(nodeId)}" must be ${NODE_ID_RULE}`);
    if (!isPublicKey(key)) return void problems.push(`line ${i + 1}: ${nodeId}'s key is not a base64 32-byte key (what fleet-node identity prints)`);
    const first = seen.get(nodeId);
    if (first !== undefined) return void problems.push(`line ${i + 1}: ${nodeId} is already on line ${first}; a node has one line`);
    seen.set(nodeId, i + 1);
    entries.push({ nodeId, key, revoked: bang === "!", line: i + 1 });
  });
  if (problems.length > 0) throw new RosterSyntaxError(problems);
  return { lines, entries };
}

export function isPublicKey(key: string): boolean {
  return KEY.test(key) && Buffer.from(key, "base64").length === 32;
}

export function entryOf(r: Roster, nodeId: string): RosterEntry | undefined {
  return r.entries.find((e) => e.nodeId === nodeId);
}

/** The roster with `nodeId`'s line turned into a revoked one (`!`); unchanged when it already is. */
export function revoke(r: Roster, nodeId: string): Roster {
  const e = entryOf(r, nodeId);
  if (!e) throw new Error(`${nodeId} is not in the roster`);
  if (e.revoked) return r;
  const lines = [...r.lines];
  lines[e.line - 1] = `!${e.nodeId} ${e.key}`;
  return parseRoster(formatRoster({ lines, entries: [] }));
}

export function formatRoster(r: Roster): string {
  return r.lines.length === 0 ? "" : r.lines.join("\n") + "\n";
}

function clip(s: string): string {
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}
