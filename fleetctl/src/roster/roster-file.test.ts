// The roster file as fleetctl reads and revokes it: the same lines the fleet_node role writes
// (ansible/roster.test.ts runs the role), each malformed line named, and a revocation that
// touches only the revoked node's line.

import { test } from "node:test";
import assert from "node:assert/strict";
import { publicKeyB64 } from "../../../test/support/fleetctl/keys.js";
import { entryOf, formatRoster, isPublicKey, parseRoster, revoke, RosterSyntaxError } from "./roster-file.js";

const A = publicKeyB64();
const B = publicKeyB64();
const C = publicKeyB64();

test("members, revoked nodes, and the lines for people", () => {
  const r = parseRoster(`# lab fleet\n\npi-1 ${A}\n!pi-2 ${B}\n  pi-3   ${C}  \n`);
  assert.deepEqual(
    r.entries.map((e) => [e.nodeId, e.key, e.revoked, e.line]),
    [["pi-1", A, false, 3], ["pi-2", B, true, 4], ["pi-3", C, false, 5]],
  );
  assert.equal(parseRoster("").entries.length, 0);
  assert.equal(parseRoster("\r\n# windows\r\npi-1 " + A + "\r\n").entries[0]!.key, A);
});

test("a key is a raw 32-byte Ed25519 key in base64, as fleet-node identity prints it", () => {
  assert.equal(isPublicKey(A), true);
  assert.equal(isPublicKey(A.slice(0, -1)), false, "without its padding");
  assert.equal(isPublicKey(Buffer.alloc(33).toString("base64")), false, "33 bytes");
  assert.equal(isPublicKey("A".repeat(43) + "="), true);
  assert.equal(isPublicKey("-".repeat(43) + "="), false, "not base64");
});

/** The problems parseRoster names for `text`; fails when it names none. */
function problemsOf(text: string): string[] {
  try {
    parseRoster(text);
  } catch (e) {
    assert.ok(e instanceof RosterSyntaxError, String(e));
    return e.problems;
  }
  assert.fail(`parsed without a problem: ${text}`);
}

test("every malformed line is named at once", () => {
  const problems = problemsOf([`pi-1 ${A}`, "pi-2", `pi|3 ${B}`, "pi-4 c2hvcnQ=", `pi-1 ${C}`, `pi-5 ${B} extra`].join("\n"));
  assert.deepEqual(problems.map((p) => p.split(":")[0]), ["line 2", "line 3", "line 4", "line 5", "line 6"]);
  assert.match(problems[0]!, /"pi-2" is not "<node-id> <key>"/);
  assert.match(problems[1]!, /node id "pi\|3" must be 1-64 letters/);
  assert.match(problems[2]!, /pi-4's key is not a base64 32-byte key/);
  assert.match(problems[3]!, /pi-1 is already on line 1; a node has one line/);
});

test("revoking turns only that node's line into a revoked one; again, nothing changes", () => {
  const text = `# lab fleet\npi-1 ${A}\npi-2 ${B}\n\npi-3 ${C}\n`;
  const once = revoke(parseRoster(text), "pi-2");
  assert.equal(formatRoster(once), `# lab fleet\npi-1 ${A}\n!pi-2 ${B}\n\npi-3 ${C}\n`);
  assert.equal(entryOf(once, "pi-2")!.revoked, true);
  assert.equal(formatRoster(revoke(once, "pi-2")), formatRoster(once));
  assert.throws(() => revoke(once, "pi-9"), /pi-9 is not in the roster/);
});
