// The fleet_node role's API token, run for real on this machine (two "Pis" with a local connection):
// one random token made on the control machine beside the inventory, installed on every Pi with
// mode 0600, nothing changed on a second run, and fleetctl's inventory reading the same token.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { validateInventory } from "../inventory.js";
import { ansibleDir } from "../paths.js";

const tmp = tempDirs("fleetctl-token-");

function play(dir: string, extraVars: Record<string, string> = {}): { changed: number[]; output: string } {
  const r = spawnSync("ansible-playbook", ["-i", join(dir, "hosts.yml"), join(dir, "play.yml"), "-e", JSON.stringify(extraVars)], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, ANSIBLE_ROLES_PATH: join(ansibleDir(), "roles"), ANSIBLE_NOCOLOR: "1", ANSIBLE_DEPRECATION_WARNINGS: "False" },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return { changed: [...r.stdout.matchAll(/changed=(\d+)/g)].map((m) => Number(m[1])), output: r.stdout + r.stderr };
}

function fleet(): string {
  const dir = tmp();
  const host = (name: string) => `        ${name}:\n          ansible_connection: local\n          ansible_python_interpreter: /usr/bin/python3\n`;
  writeFileSync(join(dir, "hosts.yml"), `all:\n  children:\n    pis:\n      hosts:\n${host("pi-a")}${host("pi-b")}`);
  writeFileSync(join(dir, "play.yml"), [
    "- name: The token part of the fleet_node role",
    "  hosts: pis",
    "  gather_facts: false",
    "  tasks:",
    "    - name: Token",
    "      ansible.builtin.include_role:",
    "        name: fleet_node",
    "        tasks_from: token.yml",
    "      vars:",
    "        fleet_node_state: provisioned",
    `        fleet_node_uid: ${process.getuid?.() ?? 0}`,
    `        fleet_node_gid: ${process.getgid?.() ?? 0}`,
    `        fleet_node_api_token_path: "${dir}/{{ inventory_hostname }}/api-token"`,
    "",
  ].join("\n"));
  return dir;
}

test("the role makes one fleet token beside the inventory, installs it 0600 on every Pi, and fleetctl reads it", { skip: needs("ansible") }, () => {
  const dir = fleet();
  const first = play(dir);
  const made = readFileSync(join(dir, "fleet-api-token"), "utf8").trim();
  assert.match(made, /^[A-Za-z0-9]{43}$/);
  assert.equal(statSync(join(dir, "fleet-api-token")).mode & 0o777, 0o600);
  for (const pi of ["pi-a", "pi-b"]) {
    assert.equal(readFileSync(join(dir, pi, "api-token"), "utf8").trim(), made, `${pi} holds the fleet's token`);
    assert.equal(statSync(join(dir, pi, "api-token")).mode & 0o777, 0o600, `${pi}'s token is the node user's only`);
  }
  assert.doesNotMatch(first.output, new RegExp(made), "the token is never printed");
  assert.deepEqual(play(dir).changed, [0, 0], "a second run changes nothing and keeps the token");
  assert.equal(readFileSync(join(dir, "fleet-api-token"), "utf8").trim(), made);

  const list = { _meta: { hostvars: { "pi-a": {}, "pi-b": {} } }, all: { children: ["pis"] }, pis: { hosts: ["pi-a", "pi-b"] } };
  assert.deepEqual(validateInventory(list, join(dir, "hosts.yml")).hosts.map((h) => h.apiToken), [made, made]);
});

test("a token given as fleet_node_api_token is installed instead, and no file is made", { skip: needs("ansible") }, () => {
  const dir = fleet();
  play(dir, { fleet_node_api_token: "given-by-the-vault-0123456789" });
  assert.equal(readFileSync(join(dir, "pi-a", "api-token"), "utf8").trim(), "given-by-the-vault-0123456789");
  assert.throws(() => statSync(join(dir, "fleet-api-token")), /ENOENT/);
});
