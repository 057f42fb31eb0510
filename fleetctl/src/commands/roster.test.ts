// `fleetctl roster` on a fleet of three local "Pis" (Ansible's local connection, each with its own
// roster folder): list, revoke and add change the roster beside the inventory and hand every Pi the
// same copy through ansible/roster.yml. `add` reads the Pi's key with `docker run … identity`; a
// stand-in `docker` on PATH prints what the node image would. Bad input exits 2 and changes nothing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { publicKeyB64 } from "../../../test/support/fleetctl/keys.js";
import { needs } from "../../../test/support/needs.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { memoryIo } from "../io.js";
import { runCli } from "../main.js";
import type { RosterChange, RosterReport } from "./roster.js";

delete process.env.FLEET_INVENTORY;
const tmp = tempDirs("fleetctl-roster-cmd-");
const PIS = ["pi-1", "pi-2", "pi-3"];

interface Fleet {
  dir: string;
  inventory: string;
  roster: string;
  keys: Record<string, string>;
}

/** Three local Pis whose `fleet-node identity` (the stand-in docker) prints the key in keys/<id>. */
function fleet(): Fleet {
  const dir = tmp();
  const keys = Object.fromEntries(PIS.map((p) => [p, publicKeyB64()]));
  mkdirSync(join(dir, "keys"));
  for (const p of PIS) writeFileSync(join(dir, "keys", p), keys[p]!);
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin", "docker"), [
    "#!/bin/sh",
    "# docker run ... <image> identity --state-dir /state --id <id>: the node's roster line",
    'while [ $# -gt 0 ]; do [ "$1" = "--id" ] && id="$2"; shift; done',
    `echo "$id $(cat ${join(dir, "keys")}/$id)"`,
    "",
  ].join("\n"));
  chmodSync(join(dir, "bin", "docker"), 0o755);
  const host = (name: string) =>
    `        ${name}:\n          ansible_connection: local\n          ansible_python_interpreter: /usr/bin/python3\n`;
  writeFileSync(join(dir, "hosts.yml"), [
    `all:\n  children:\n    pis:\n      hosts:\n${PIS.map(host).join("")}      vars:`,
    `        fleet_node_roster_dir: "${dir}/{{ inventory_hostname }}/roster"`,
    `        fleet_node_state_dir: "${dir}/{{ inventory_hostname }}/state"`,
    "",
  ].join("\n"));
  return { dir, inventory: join(dir, "hosts.yml"), roster: join(dir, "fleet-roster"), keys };
}

async function cli(f: Fleet, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = memoryIo();
  const path = process.env.PATH;
  process.env.PATH = `${join(f.dir, "bin")}:${path}`;
  try {
    const code = await runCli(args, io);
    return { code, stdout: io.stdout(), stderr: io.stderr() };
  } finally {
    process.env.PATH = path;
  }
}

const enrolled = (f: Fleet) => writeFileSync(f.roster, `# lab fleet\n${PIS.map((p) => `${p} ${f.keys[p]}\n`).join("")}`);

function assertEveryPiHolds(f: Fleet): void {
  const text = readFileSync(f.roster, "utf8");
  for (const p of PIS) assert.equal(readFileSync(join(f.dir, p, "roster", "fleet-roster"), "utf8"), text, `${p} holds the roster`);
}

test("list shows members, revoked nodes and the Pis not enrolled yet", { skip: needs("ansible") }, async () => {
  const f = fleet();
  writeFileSync(f.roster, `pi-1 ${f.keys["pi-1"]}\n!pi-2 ${f.keys["pi-2"]}\ngone ${publicKeyB64()}\n`);
  const r = await cli(f, "roster", "list", "-i", f.inventory, "--json");
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as RosterReport;
  assert.deepEqual(report.members.map((m) => [m.nodeId, m.host]), [["pi-1", "pi-1"], ["gone", null]]);
  assert.deepEqual(report.revoked.map((m) => [m.nodeId, m.key]), [["pi-2", f.keys["pi-2"]]]);
  assert.deepEqual(report.notEnrolled, [{ nodeId: "pi-3", host: "pi-3" }]);
  const human = await cli(f, "roster", "list", "-i", f.inventory);
  assert.match(human.stdout, /^pi-2 +pi-2 +REVOKED /m);
  assert.match(human.stdout, /2 member\(s\), 1 revoked in .*fleet-roster\nnot enrolled yet: pi-3/);
});

test("revoke turns the node's line into a revoked one and hands every Pi the roster; add admits it again with the key its Pi holds now", { skip: needs("ansible"), timeout: 300_000 }, async () => {
  const f = fleet();
  enrolled(f);
  const revoked = await cli(f, "roster", "revoke", "-i", f.inventory, "pi-3", "--json");
  assert.equal(revoked.code, 0, revoked.stderr);
  const change = JSON.parse(revoked.stdout) as RosterChange;
  assert.deepEqual([change.action, change.nodeId, change.was], ["revoke", "pi-3", "member"]);
  assert.deepEqual(change.roster.revoked.map((n) => n.nodeId), ["pi-3"]);
  assert.equal(readFileSync(f.roster, "utf8"), `# lab fleet\npi-1 ${f.keys["pi-1"]}\npi-2 ${f.keys["pi-2"]}\n!pi-3 ${f.keys["pi-3"]}\n`);
  assertEveryPiHolds(f);

  const again = await cli(f, "roster", "revoke", "-i", f.inventory, "pi-3");
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /pi-3 was already revoked/);
  assert.match(again.stdout, /nothing changed/, "the Pis already hold it");

  // The Pi was wiped and re-imaged: a new key. Only `roster add` lets it back in.
  const newKey = publicKeyB64();
  writeFileSync(join(f.dir, "keys", "pi-3"), newKey);
  const added = await cli(f, "roster", "add", "-i", f.inventory, "pi-3", "--json");
  assert.equal(added.code, 0, added.stderr);
  assert.equal((JSON.parse(added.stdout) as RosterChange).was, "revoked");
  assert.equal(readFileSync(f.roster, "utf8"), `# lab fleet\npi-1 ${f.keys["pi-1"]}\npi-2 ${f.keys["pi-2"]}\npi-3 ${newKey}\n`);
  assertEveryPiHolds(f);
});

test("a node the roster or the inventory does not know is a usage error (exit 2) that changes nothing", { skip: needs("ansible") }, async () => {
  const f = fleet();
  enrolled(f);
  const before = readFileSync(f.roster, "utf8");
  const revoke = await cli(f, "roster", "revoke", "-i", f.inventory, "pi-9");
  assert.equal(revoke.code, 2);
  assert.match(revoke.stderr, /pi-9 is not in the roster .*fleet-roster\n.*it holds: pi-1, pi-2, pi-3/);
  const add = await cli(f, "roster", "add", "-i", f.inventory, "pi-9");
  assert.equal(add.code, 2);
  assert.match(add.stderr, /no host or node "pi-9" in .*hosts\.yml\n.*pick one of: pi-1, pi-2, pi-3/);
  assert.equal((await cli(f, "roster", "revoke", "-i", f.inventory)).code, 2, "no node named");
  assert.equal((await cli(f, "roster", "revoke", "pi-1")).code, 2, "no inventory");
  assert.equal(readFileSync(f.roster, "utf8"), before);
});

test("without a roster, or with a broken one, list says what to do (exit 1)", { skip: needs("ansible") }, async () => {
  const f = fleet();
  const missing = await cli(f, "roster", "list", "-i", f.inventory);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /there is no roster at .*fleet-roster yet\n.*fleetctl up -i <inventory>` enrols every Pi/);
  writeFileSync(f.roster, `pi-1 ${f.keys["pi-1"]}\npi-2 AAAA\n`);
  const broken = await cli(f, "roster", "list", "-i", f.inventory, "--json");
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /line 2: pi-2's key is not a base64 32-byte key/);
  assert.equal(JSON.parse(broken.stdout).error.code, "ROSTER_INVALID");
});
