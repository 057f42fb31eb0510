// The roster: which node ids may change the fleet's model, and with which key. One line per node,
// like authorized_keys, so an operator can read it, diff it and hand-edit it:
//
//   # comment, and blank lines: ignored
//   Pi-1 <base64 of its 32-byte Ed25519 public key>     a member
//   !Pi-4 <base64 key>                                  a revoked key, kept so refusals say "revoked"
//
// Parsing is all-or-nothing and names the first bad line: a roster half understood could admit a
// node the operator meant to revoke, or refuse the whole fleet. Keys must be in canonical base64
// (what `fleet-node identity` prints), so "the same key" is the same string everywhere.

import type { KeyObject } from "node:crypto";
import { isNodeId, NODE_ID_RULE } from "../util/ids.js";
import { KEY_BYTES, publicKeyFromRaw } from "./keys.js";

export interface RosterKey {
  /** Canonical base64 of the 32 raw bytes. */
  b64: string;
  key: KeyObject;
}

export interface Roster {
  /** Member id → its key. */
  members: ReadonlyMap<string, RosterKey>;
  /** Id → the keys revoked for it (a re-enrolled node can have a revoked old key and a new member key). */
  revoked: ReadonlyMap<string, readonly RosterKey[]>;
}

export class RosterError extends Error {
  constructor(readonly line: number, readonly problem: string) {
    super(`line ${line}: ${problem}`);
  }
}

/** A public key from its roster form, or why it is not one. */
export function parseRosterKey(s: string): RosterKey | string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return `key ${short(s)} is not base64`;
  const raw = Buffer.from(s, "base64");
  if (raw.length !== KEY_BYTES) return `key ${short(s)} is ${raw.length} bytes; an Ed25519 public key is ${KEY_BYTES} (fleet-node identity prints one)`;
  if (raw.toString("base64") !== s) return `key ${short(s)} is not in canonical base64 (fleet-node identity prints one)`;
  return { b64: s, key: publicKeyFromRaw(raw) };
}

/** The roster a file's text says, or a RosterError naming the first bad line. */
export function parseRoster(text: string): Roster {
  const members = new Map<string, RosterKey>();
  const revoked = new Map<string, RosterKey[]>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fail = (problem: string): never => { throw new RosterError(i + 1, problem); };
    const parts = line.split(/\s+/);
    if (parts.length !== 2) fail(`expected "<node-id> <base64 key>" or "!<node-id> <base64 key>", got ${parts.length} fields`);
    const isRevoked = parts[0]!.startsWith("!");
    const id = isRevoked ? parts[0]!.slice(1) : parts[0]!;
    if (!isNodeId(id)) fail(`node id ${short(id)} must be ${NODE_ID_RULE}`);
    const key = parseRosterKey(parts[1]!);
    if (typeof key === "string") fail(key);
    const k = key as RosterKey;
    if (isRevoked) {
      if (members.get(id)?.b64 === k.b64) fail(`${id}'s key is both a member and revoked`);
      revoked.set(id, [...(revoked.get(id) ?? []), k]);
    } else {
      if (members.has(id)) fail(`${id} is a member twice (one key per node; revoke the old one with !${id})`);
      if (revoked.get(id)?.some((r) => r.b64 === k.b64)) fail(`${id}'s key is both a member and revoked`);
      members.set(id, k);
    }
  }
  return { members, revoked };
}

/** A roster's text: members, then revoked keys, each sorted by id (a stable file to diff). */
export function formatRoster(r: Roster): string {
  const lines = [...r.members].sort(([a], [b]) => a.localeCompare(b)).map(([id, k]) => `${id} ${k.b64}`);
  for (const [id, keys] of [...r.revoked].sort(([a], [b]) => a.localeCompare(b))) for (const k of keys) lines.push(`!${id} ${k.b64}`);
  return lines.map((l) => l + "\n").join("");
}

function short(s: string): string {
  return JSON.stringify(s.length > 48 ? `${s.slice(0, 48)}…` : s);
}
