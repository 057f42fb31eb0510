import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../../test/support/needs.js";
import { tempDirs } from "../../test/support/temp-dirs.js";
import { FleetError } from "./errors.js";
import { loadInventory, parseProblem, selectHosts, validateInventory } from "./inventory.js";
import { fleetRepoRoot } from "./paths.js";

const tempDir = tempDirs("fleetctl-inv-");

function list(hostvars: Record<string, Record<string, unknown>>, groups: Record<string, unknown> = { pis: { hosts: Object.keys(hostvars) } }) {
  return { _meta: { hostvars }, all: { children: ["ungrouped", ...Object.keys(groups)] }, ...groups };
}

function invalid(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FleetError, String(e));
    return e;
  }
  assert.fail("expected a FleetError");
}

test("a host's node id, address and HTTP port come from its variables, with defaults", () => {
  const inv = validateInventory(
    list({ "pi-a": { ansible_host: "10.0.0.5", fleet_node_id: "a", fleet_node_interface: "wlan0", ansible_user: "pi", fleet_node_http_port: 9000 }, "pi-b": {} }),
    "x.yml",
  );
  assert.deepEqual(inv.hosts, [
    { name: "pi-a", address: "10.0.0.5", nodeId: "a", httpPort: 9000, interface: "wlan0", sshUser: "pi", apiToken: undefined },
    { name: "pi-b", address: "pi-b", nodeId: "pi-b", httpPort: 8477, interface: undefined, sshUser: undefined, apiToken: undefined },
  ]);
});

test("hosts in child groups of pis belong to the fleet", () => {
  const inv = validateInventory(
    list({ a: {}, b: {} }, { pis: { children: ["kitchen", "lab"] }, kitchen: { hosts: ["a"] }, lab: { hosts: ["b", "a"] } }),
    "x.yml",
  );
  assert.deepEqual(inv.hosts.map((h) => h.name), ["a", "b"]);
});

test("an inventory without a pis group is refused with the fix", () => {
  const e = invalid(() => validateInventory(list({ a: {} }, { ungrouped: { hosts: ["a"] } }), "x.yml"));
  assert.equal(e.code, "INVENTORY_INVALID");
  assert.match(e.message, /no hosts in the "pis" group/);
  assert.match(e.suggestion!, /all\.children\.pis\.hosts/);
});

test("every problem is listed at once, each naming its host", () => {
  const e = invalid(() =>
    validateInventory(
      list({
        a: { fleet_node_id: "same" },
        b: { fleet_node_id: "same" },
        c: { fleet_node_id: "has space" },
        d: { fleet_node_http_port: 70000 },
        e: { fleet_node_interface: "eth 0" },
      }),
      "x.yml",
    ),
  );
  assert.equal(e.code, "INVENTORY_INVALID");
  assert.deepEqual((e.detail!.problems as string[]).map((p) => p.split(":")[0]), ["host b", "host c", "host d", "host e"]);
  assert.match(e.message, /"same" is also a's/);
});

test("--limit picks hosts by name or node id and refuses unknown ones", () => {
  const inv = validateInventory(list({ "pi-a": { fleet_node_id: "a" }, "pi-b": { fleet_node_id: "b" } }), "x.yml");
  assert.deepEqual(selectHosts(inv, ["b", "pi-a"]).map((h) => h.name), ["pi-b", "pi-a"]);
  assert.deepEqual(selectHosts(inv, undefined).length, 2);
  assert.equal(invalid(() => selectHosts(inv, ["zz"])).code, "USAGE");
});

test("Ansible's parse failure is reduced to the YAML parser's message", () => {
  const stderr =
    "[WARNING]:  * Failed to parse /tmp/bad.yml with auto plugin: We were unable to\nread either as JSON nor YAML, these are the errors we got from each: JSON:\n" +
    "Expecting value: line 1 column 1 (char 0)  Syntax Error while loading YAML.\ndid not find expected ',' or ']'  The error appears to be in '/tmp/bad.yml':\n" +
    "line 6, column 1, but may be elsewhere in the file depending on the exact\nsyntax problem.\n";
  assert.equal(parseProblem(stderr), "Syntax Error while loading YAML. did not find expected ',' or ']' The error appears to be in '/tmp/bad.yml': line 6, column 1");
});

test("the example inventory reads as Ansible reads it, group_vars included", { skip: needs("ansible") }, async () => {
  const inv = await loadInventory(join(fleetRepoRoot(), "ansible/inventory/hosts.yml"));
  assert.deepEqual(inv.hosts.map((h) => [h.name, h.nodeId, h.address, h.interface, h.sshUser, h.httpPort]), [
    ["pi-kitchen", "kitchen", "192.168.1.21", "wlan0", "pi", 8477],
    ["pi-hall", "hall", "192.168.1.22", "wlan0", "pi", 8477],
    ["pi-lab", "lab", "192.168.1.23", "eth0", "pi", 8477],
  ]);
});

test("a file that is not YAML is an invalid inventory, with the line", { skip: needs("ansible") }, async () => {
  const dir = tempDir();
  const file = join(dir, "hosts.yml");
  writeFileSync(file, "all:\n  children:\n    pis:\n      hosts:\n        a: {ansible_host: [1\n");
  await assert.rejects(loadInventory(file), (e: FleetError) => e.code === "INVENTORY_INVALID" && /line \d+/.test(e.message));
});

test("a missing inventory file says how to get one", async () => {
  await assert.rejects(loadInventory("/nonexistent/hosts.yml"), (e: FleetError) => e.code === "INVENTORY_MISSING" && /sim up/.test(e.suggestion!));
});

test("the API token: fleet_node_api_token, else the file fleet_node_api_token_file names, else fleet-api-token beside the inventory", () => {
  const dir = tempDir();
  const file = join(dir, "hosts.yml");
  const tokens = (hostvars: Record<string, Record<string, unknown>>) => validateInventory(list(hostvars), file).hosts.map((h) => h.apiToken);
  assert.deepEqual(tokens({ a: {} }), [undefined], "none until `fleetctl up` creates one");
  writeFileSync(join(dir, "fleet-api-token"), "beside-the-inventory-token\n");
  writeFileSync(join(dir, "named"), "named-file-token\n");
  assert.deepEqual(tokens({ a: {}, b: { fleet_node_api_token_file: "named" }, c: { fleet_node_api_token: "inline-token", fleet_node_api_token_file: "named" } }),
    ["beside-the-inventory-token", "named-file-token", "inline-token"]);
  const e = invalid(() => tokens({ a: { fleet_node_api_token_file: "{{ playbook_dir }}/t" } }));
  assert.match(e.message, /host a: fleet_node_api_token_file .* must be a plain path/);
  assert.match(invalid(() => tokens({ a: { fleet_node_api_token: "{{ vault_token }}" } })).message, /host a: fleet_node_api_token is a template/);
});

test("the roster: fleet-roster beside the inventory, else the one file fleet_node_roster_file names", () => {
  const dir = tempDir();
  const file = join(dir, "hosts.yml");
  assert.equal(validateInventory(list({ a: {}, b: {} }), file).rosterFile, join(dir, "fleet-roster"));
  assert.equal(validateInventory(list({ a: { fleet_node_roster_file: "trust/roster" }, b: { fleet_node_roster_file: "trust/roster" } }), file).rosterFile, join(dir, "trust/roster"));
  assert.equal(validateInventory(list({ a: { fleet_node_roster_file: "/srv/roster" } }), file).rosterFile, "/srv/roster");
  assert.match(invalid(() => validateInventory(list({ a: { fleet_node_roster_file: "x" }, b: {} }), file)).message, /fleet_node_roster_file names 2 files .*; a fleet has one roster/);
  assert.match(invalid(() => validateInventory(list({ a: { fleet_node_roster_file: "{{ r }}" } }), file)).message, /host a: fleet_node_roster_file "\{\{ r \}\}" must be a plain path/);
});
