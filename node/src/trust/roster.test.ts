// The roster file: members and revoked keys, one per line; anything else stops the node with the line.

import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { rawPublicKey } from "./keys.js";
import { formatRoster, parseRoster, RosterError } from "./roster.js";

const key = (): string => Buffer.from(rawPublicKey(generateKeyPairSync("ed25519").publicKey)).toString("base64");
const [k1, k2, k3, k4] = [key(), key(), key(), key()];
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** The same 32 bytes with a padding bit set: Buffer decodes it, but it is another string for the same key. */
const nonCanonical = (k: string): string => `${k.slice(0, -2)}${B64[B64.indexOf(k.at(-2)!) | 1]}=`;

test("members and revoked keys; blank lines, comments and surrounding spaces are ignored", () => {
  const r = parseRoster(`# classroom 12\n\nPi-1 ${k1}\n  Pi-2\t${k2}  \n!Pi-3 ${k3}\nPi-3 ${k4}\r\n`);
  assert.deepEqual([...r.members.keys()], ["Pi-1", "Pi-2", "Pi-3"]);
  assert.equal(r.members.get("Pi-3")!.b64, k4);
  assert.deepEqual(r.revoked.get("Pi-3")!.map((k) => k.b64), [k3]);
  assert.equal(r.members.get("Pi-1")!.key.asymmetricKeyType, "ed25519");
});

test("an empty file is a roster with no members", () => {
  assert.equal(parseRoster("# nobody yet\n").members.size, 0);
});

test("format then parse gives the same roster, members sorted first", () => {
  const text = formatRoster(parseRoster(`Pi-2 ${k2}\n!Pi-9 ${k3}\nPi-1 ${k1}\n`));
  assert.equal(text, `Pi-1 ${k1}\nPi-2 ${k2}\n!Pi-9 ${k3}\n`);
  assert.equal(formatRoster(parseRoster(text)), text);
});

const bad: Array<[string, string, number, RegExp]> = [
  ["three fields", `Pi-1 ${k1}\nPi-2 ${k2} extra\n`, 2, /2 fields|3 fields/],
  ["one field", `\n\nPi-1\n`, 3, /1 fields/],
  ["a bad id", `Pi/1x ${k1}\n`, 1, /node id/],
  ["an id with a space in it", `#\nPi|1 ${k1}\n`, 2, /node id/],
  ["a key that is not base64", `Pi-1 not-base64!\n`, 1, /not base64/],
  ["a key of 31 bytes", `Pi-1 ${Buffer.alloc(31).toString("base64")}\n`, 1, /31 bytes/],
  ["a key in non-canonical base64 (padding bits set)", `Pi-1 ${nonCanonical(k1)}\n`, 1, /canonical/],
  ["a member twice", `Pi-1 ${k1}\nPi-1 ${k2}\n`, 2, /member twice/],
  ["a key both member and revoked", `Pi-1 ${k1}\n!Pi-1 ${k1}\n`, 2, /both a member and revoked/],
];
for (const [what, text, line, problem] of bad) {
  test(`${what} is refused with its line number`, () => {
    assert.throws(() => parseRoster(text), (e: Error) => e instanceof RosterError && e.line === line && problem.test(e.message) && e.message.startsWith(`line ${line}:`));
  });
}
