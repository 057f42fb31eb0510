// Reputation: refusals its key vouched for make an author ignored; a new key forgives; a restart does not.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AUTHORS_MAX, IGNORE_AFTER, Reputation, TRUST_FILE } from "./reputation.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const tmp = tempDirs("fleet-reputation-");

test(`${IGNORE_AFTER} refusals vouched by an author's key make it ignored under that key, not under a new one`, () => {
  const r = Reputation.open(undefined);
  for (let i = 0; i < IGNORE_AFTER - 1; i++) r.refused("Pi-3", "KEY1");
  assert.equal(r.isIgnored("Pi-3", "KEY1"), false);
  r.refused("Pi-3", "KEY1");
  assert.equal(r.isIgnored("Pi-3", "KEY1"), true);
  assert.equal(r.isIgnored("Pi-3", "KEY2"), false, "re-enrolled with another key");
  assert.equal(r.ignoredCount((a) => (a === "Pi-3" ? "KEY1" : undefined)), 1);
  r.refused("Pi-3", "KEY2");
  assert.equal(r.isIgnored("Pi-3", "KEY1"), false, "refusals under the new key start afresh");
});

test("refusals nobody vouched for (unsigned, forged) are counted but never make a member ignored", () => {
  const r = Reputation.open(undefined);
  for (let i = 0; i < 50; i++) r.refused("Pi-1");
  assert.equal(r.isIgnored("Pi-1", "KEY1"), false);
  assert.deepEqual(r.status(() => "KEY1"), [{ id: "Pi-1", admitted: 0, refused: 50, ignored: false }]);
});

test("the table is saved in trust.json and read back: a restart forgives nothing", () => {
  const dir = tmp();
  const r = Reputation.open(dir);
  r.admitted("Pi-1", true);
  for (let i = 0; i < IGNORE_AFTER; i++) r.refused("Pi-3", "KEY1");
  r.save();
  assert.ok(JSON.parse(readFileSync(join(dir, TRUST_FILE), "utf8")).authors["Pi-3"]);
  const again = Reputation.open(dir);
  assert.equal(again.isIgnored("Pi-3", "KEY1"), true);
  assert.deepEqual(again.status(() => undefined).map((a) => [a.id, a.admitted, a.refused]), [["Pi-1", 1, 0], ["Pi-3", 0, IGNORE_AFTER]]);
});

test("an unreadable trust.json is reported and the counts start at zero", () => {
  const dir = tmp();
  writeFileSync(join(dir, TRUST_FILE), "{not json");
  const r = Reputation.open(dir);
  assert.match(r.problems[0]!, /could not be read/);
  assert.deepEqual(r.status(() => undefined), []);
});

test(`invented authors fill at most ${AUTHORS_MAX} records; members are tracked past that`, () => {
  const r = Reputation.open(undefined);
  for (let i = 0; i < AUTHORS_MAX + 100; i++) r.refused(`x${i}`);
  assert.equal(r.status(() => undefined).length, AUTHORS_MAX);
  r.admitted("Pi-1", true);
  for (let i = 0; i < IGNORE_AFTER; i++) r.refused("Pi-2", "K");
  assert.equal(r.status(() => undefined).length, AUTHORS_MAX + 2);
  assert.equal(r.isIgnored("Pi-2", "K"), true);
});
