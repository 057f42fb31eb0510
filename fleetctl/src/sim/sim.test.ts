import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { run } from "../exec.js";
import { loadInventory } from "../inventory.js";
import { simInventoryYaml } from "./inventory-file.js";
import { privilegeArgs } from "./sim.js";

const tempDir = tempDirs("fleetctl-sim-");

test("the inventory sim up writes is one Ansible and fleetctl read as a fleet", { skip: needs("ansible") }, async () => {
  const file = join(tempDir(), "sim.yml");
  writeFileSync(
    file,
    simInventoryYaml(
      {
        hosts: [1, 2].map((i) => ({ name: `pi-${i}`, address: `172.30.0.${i + 1}`, nodeId: `pi-${i}`, interface: "eth0" })),
        sshUser: "root",
        privateKeyFile: "/keys/id: with a colon",
        vars: { fleet_node_image: "deltafleet/node:latest", docker_engine_manage_service: false },
      },
      "written by a test\nsecond line",
    ),
  );
  const inv = await loadInventory(file);
  assert.deepEqual(inv.hosts.map((h) => [h.name, h.address, h.nodeId, h.interface, h.sshUser]), [
    ["pi-1", "172.30.0.2", "pi-1", "eth0", "root"],
    ["pi-2", "172.30.0.3", "pi-2", "eth0", "root"],
  ]);
  const r = await run("ansible-inventory", ["-i", file, "--host", "pi-2"], { timeoutMs: 60_000 });
  const vars = JSON.parse(r.stdout);
  assert.equal(vars.ansible_ssh_private_key_file, "/keys/id: with a colon");
  assert.equal(vars.docker_engine_manage_service, false);
  assert.match(vars.ansible_ssh_common_args, /StrictHostKeyChecking=no/);
});

test("a machine with every capability runs the Pis --privileged", () => {
  assert.deepEqual(privilegeArgs((1n << 41n) - 1n), ["--privileged"]);
});

test("a machine missing a capability gets all the others, named, instead of a failing --privileged", () => {
  const withoutSysResource = ((1n << 41n) - 1n) & ~(1n << 24n);
  const args = privilegeArgs(withoutSysResource);
  assert.ok(!args.includes("--privileged"));
  assert.deepEqual(args.slice(0, 4), ["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE"]);
  assert.ok(args.includes("seccomp=unconfined"));
});
