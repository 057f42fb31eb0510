import { test } from "node:test";
import assert from "node:assert/strict";
import { setHash } from "../../../node/src/log/summary.js";
import { compareLogs, describeLack, LACK_NAMES_SHOWN, shortName, type NodeLog } from "./fleet-log.js";

const sha = (c: string) => c.repeat(64);
const name = (author: string, seq: number, c: string) => `${author}~${seq}~${sha(c)}`;
const logOf = (...names: string[]): NodeLog => ({ base: "b", entries: names.length, set: setHash(names), names });

test("the fleet's log is the union of what the nodes hold; each node lacks the rest, sorted", () => {
  const a = name("Pi-1", 1, "a");
  const b = name("Pi-1", 2, "b");
  const c = name("Pi-2", 1, "c");
  const f = compareLogs(new Map([["pi-1", logOf(a, b, c)], ["pi-2", logOf(c, a)], ["pi-3", logOf()]]));
  assert.equal(f.entries, 3);
  assert.equal(f.set, setHash([c, b, a]), "the union's set hash is the one every node reports once converged");
  assert.deepEqual(f.lacking.get("pi-1"), []);
  assert.deepEqual(f.lacking.get("pi-2"), [b]);
  assert.deepEqual(f.lacking.get("pi-3"), [a, b, c]);
});

test("no logs: an empty fleet log, nobody lacking", () => {
  const f = compareLogs(new Map());
  assert.equal(f.entries, 0);
  assert.equal(f.set, setHash([]));
  assert.equal(f.lacking.size, 0);
});

test("entries are named author#seq for people; what is not an entry name is left as it is", () => {
  assert.equal(shortName(name("Pi-1", 4, "e")), "Pi-1#4");
  assert.equal(shortName("3f2a0c"), "3f2a0c");
});

test("a lack names the node, the count and the entries, the count in singular or plural", () => {
  assert.equal(describeLack("pi-3", [name("Pi-1", 4, "a"), name("Pi-2", 1, "b")]), "pi-3 lacks 2 entries: Pi-1#4, Pi-2#1");
  assert.equal(describeLack("pi-3", [name("Pi-1", 4, "a")]), "pi-3 lacks 1 entry: Pi-1#4");
});

test("a long lack lists the first few entries and counts the rest", () => {
  const many = Array.from({ length: LACK_NAMES_SHOWN + 3 }, (_, i) => name("Pi-1", i + 1, "a"));
  const line = describeLack("pi-4", many);
  assert.match(line, /^pi-4 lacks 11 entries: Pi-1#1, Pi-1#2, .*Pi-1#8 and 3 more$/);
});
