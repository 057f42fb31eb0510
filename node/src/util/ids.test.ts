// Ids and versions: what the course wire can carry and a state folder can name.

import { test } from "node:test";
import assert from "node:assert/strict";
import { isNodeId, isWireToken, toToken } from "./ids.js";

test("a node id is 1-64 token characters starting with a letter or digit", () => {
  for (const ok of ["Pi-1", "pi.lab_3", "7", "a".repeat(64)]) assert.ok(isNodeId(ok), ok);
  for (const bad of ["", "-Pi", ".hidden", "a".repeat(65), "Pi|1", "Pi;1", "Pi=1", "Pi 1", "Pï"]) assert.ok(!isNodeId(bad), bad);
});

test("a wire token (SRC or ver from any peer) is 1-128 token characters, nothing the course parsers split on", () => {
  for (const ok of ["v1764008499", "delta_v1764009046", "1764008499-0acba2bd", ".x", "a".repeat(128)]) assert.ok(isWireToken(ok), ok);
  for (const bad of ["", "a".repeat(129), "v1|x", "v1;x", "v=1", "../etc", "v1/x"]) assert.ok(!isWireToken(bad), bad);
});

test("toToken replaces what a token cannot hold and cuts to length", () => {
  assert.equal(toToken("Pi 1|lab;ö", 40), "Pi_1_lab__");
  assert.equal(toToken("abcdef", 3), "abc");
});
