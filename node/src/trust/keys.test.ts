// A node's identity is created once, kept private and read back the same on every start.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { IDENTITY_FILE, IdentityError, loadOrCreateIdentity, rosterLine } from "./keys.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const tmp = tempDirs("fleet-keys-");

test("the first call creates identity.key (PKCS#8 PEM, mode 0600, folder created); later calls load the same key", () => {
  const dir = join(tmp(), "state", "Pi-1");
  const first = loadOrCreateIdentity(dir);
  assert.equal(first.created, true);
  const file = join(dir, IDENTITY_FILE);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.match(readFileSync(file, "utf8"), /^-----BEGIN PRIVATE KEY-----\n/);
  assert.deepEqual(readdirSync(dir), [IDENTITY_FILE], "no temporary file left beside it");
  const again = loadOrCreateIdentity(dir);
  assert.equal(again.created, false);
  assert.equal(again.publicB64, first.publicB64);
  assert.equal(Buffer.from(first.publicB64, "base64").length, 32);
});

test("two folders get two different keys", () => {
  assert.notEqual(loadOrCreateIdentity(tmp()).publicB64, loadOrCreateIdentity(tmp()).publicB64);
});

test("a key file that is not an Ed25519 private key is refused, never replaced", () => {
  const dir = tmp();
  writeFileSync(join(dir, IDENTITY_FILE), "not a key\n");
  assert.throws(() => loadOrCreateIdentity(dir), (e: Error) => e instanceof IdentityError && /move it away/.test(e.message));
  assert.equal(readFileSync(join(dir, IDENTITY_FILE), "utf8"), "not a key\n");
});

test("the roster line is the id, one space, the base64 public key", () => {
  assert.equal(rosterLine("Pi-1", { publicB64: "AAAA" }), "Pi-1 AAAA");
});
