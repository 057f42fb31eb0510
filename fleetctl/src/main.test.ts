import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../../test/support/needs.js";
import { tempDirs } from "../../test/support/temp-dirs.js";
import { execLog } from "./exec.js";
import { memoryIo } from "./io.js";
import { buildProgram, runCli } from "./main.js";
import { fakeInventoryYaml, startFakeFleet } from "../../test/support/fleetctl/fake-nodes.js";


delete process.env.FLEET_INVENTORY;
const tmp = tempDirs("fleetctl-cli-");

test("every command of the contract is wired", () => {
  const names = buildProgram(memoryIo()).commands.map((c) => c.name());
  for (const n of ["demo", "provision", "up", "down", "restart", "status", "logs", "check", "sim", "monitor"]) assert.ok(names.includes(n), n);
});

test("usage mistakes exit 2 and say what to pass", async () => {
  const io = memoryIo();
  assert.equal(await runCli(["status"], io), 2);
  assert.match(io.stderr(), /no inventory given\n  → pass -i <inventory.yml>/);
  assert.equal(await runCli(["status", "--no-such-flag"], memoryIo()), 2);
  assert.equal(await runCli(["frobnicate"], memoryIo()), 2);
  assert.equal(await runCli(["sim", "up", "-n", "0", "-i", "x.yml"], memoryIo()), 2);
  assert.equal(await runCli(["check", "-i", "x.yml", "--question", "only"], memoryIo()), 2);
});

test("--help is not an error", async () => {
  const io = memoryIo();
  assert.equal(await runCli(["--help"], io), 0);
  assert.match(io.stdout(), /Usage: fleetctl/);
});

test("without Ansible, up fails with what to install", async () => {
  const saved = process.env.PATH;
  process.env.PATH = "/nonexistent";
  try {
    const io = memoryIo();
    assert.equal(await runCli(["up", "-i", join(tmp(), "..")], io), 1);
    assert.match(io.stderr(), /Ansible is not installed.*\n  → install it on this machine: `apt-get install ansible`/);
  } finally {
    process.env.PATH = saved;
  }
});

test("status --json reports every node and that the digests agree", { skip: needs("ansible") }, async (t) => {
  const fleet = await startFakeFleet({ count: 3 });
  t.after(() => fleet.close());
  const inv = join(tmp(), "hosts.yml");
  writeFileSync(inv, fakeInventoryYaml(fleet));
  const io = memoryIo();
  assert.equal(await runCli(["status", "-i", inv, "--json"], io), 0, io.stderr());
  const s = JSON.parse(io.stdout());
  assert.equal(s.digestsAgree, true);
  assert.deepEqual(s.nodes.map((n: { nodeId: string; up: boolean }) => [n.nodeId, n.up]), [["pi-1", true], ["pi-2", true], ["pi-3", true]]);
});

test("status names what a node lacks of the fleet's log, in the table and in --json, and exits 1 until it has converged", { skip: needs("ansible") }, async (t) => {
  const fleet = await startFakeFleet({ count: 3, behind: ["pi-3"] });
  t.after(() => fleet.close());
  const inv = join(tmp(), "hosts.yml");
  writeFileSync(inv, fakeInventoryYaml(fleet));
  const people = memoryIo();
  assert.equal(await runCli(["status", "-i", inv], people), 1);
  assert.match(people.stdout(), /^pi-1 .* 1 +converged /m);
  assert.match(people.stdout(), /^pi-3 .* 0 +lacks 1 /m);
  assert.match(people.stdout(), /^ {2}pi-3 lacks 1 entry: course-1#1764892800$/m);
  assert.match(people.stderr(), /1 of 3 nodes have not converged on the fleet's log/);
  const io = memoryIo();
  assert.equal(await runCli(["status", "-i", inv, "--json"], io), 1);
  const s = JSON.parse(io.stdout());
  assert.equal(s.converged, false);
  assert.deepEqual(s.nodes.map((n: { log: { lacking: string[] } }) => n.log.lacking.length), [0, 0, 1]);
  const rest = memoryIo();
  assert.equal(await runCli(["status", "-i", inv, "-l", "pi-1,pi-2", "--json"], rest), 0, rest.stderr());
  assert.equal(JSON.parse(rest.stdout()).converged, true);
});

test("check -l checks only the nodes named, and fails on a node that is behind", { skip: needs("ansible") }, async (t) => {
  const fleet = await startFakeFleet({ count: 3, propagateMs: 10, behind: ["pi-3"] });
  t.after(() => fleet.close());
  const inv = join(tmp(), "hosts.yml");
  writeFileSync(inv, fakeInventoryYaml(fleet));
  const rest = memoryIo();
  assert.equal(await runCli(["check", "-i", inv, "-l", "pi-1,pi-2", "--json"], rest), 0, rest.stderr());
  assert.deepEqual(JSON.parse(rest.stdout()).nodes.map((n: { nodeId: string }) => n.nodeId), ["pi-1", "pi-2"]);
  const all = memoryIo();
  assert.equal(await runCli(["check", "-i", inv, "--timeout", "1"], all), 1);
  assert.match(all.stderr(), /pi-3 lacks 1 entry: course-1#1764892800/);
});

test("status exits 1 when a node is down, and the JSON still parses", { skip: needs("ansible") }, async (t) => {
  const fleet = await startFakeFleet({ count: 2 });
  t.after(() => fleet.close());
  await fleet.stop("pi-1");
  const inv = join(tmp(), "hosts.yml");
  writeFileSync(inv, fakeInventoryYaml(fleet));
  const io = memoryIo();
  assert.equal(await runCli(["status", "-i", inv, "--json"], io), 1);
  assert.equal(JSON.parse(io.stdout()).up, 1);
  assert.match(io.stderr(), /1 of 2 nodes are down/);
});

test("status and check on a token-protected fleet use the token beside the inventory, and say what is missing without it", { skip: needs("ansible") }, async (t) => {
  const token = "k3Xq9vT2mZ8pL4rW7yB1nC6dF0gH5jA";
  const fleet = await startFakeFleet({ count: 2, propagateMs: 50, token });
  t.after(() => fleet.close());
  const dir = tmp();
  const inv = join(dir, "hosts.yml");
  writeFileSync(inv, fakeInventoryYaml(fleet));
  const refused = memoryIo();
  assert.equal(await runCli(["status", "-i", inv], refused), 1);
  assert.match(refused.stdout() + refused.stderr(), /HTTP 401, it needs the fleet's API token/);

  writeFileSync(join(dir, "fleet-api-token"), `${token}\n`, { mode: 0o600 });
  const status = memoryIo();
  assert.equal(await runCli(["status", "-i", inv, "--json"], status), 0, status.stderr());
  assert.equal(JSON.parse(status.stdout()).up, 2);
  const check = memoryIo();
  assert.equal(await runCli(["check", "-i", inv, "--json"], check), 0, check.stderr());
  assert.equal(JSON.parse(check.stdout()).ok, true);

  // A token named in the inventory wins over the file beside it.
  writeFileSync(join(dir, "other.yml"), fakeInventoryYaml(fleet) + "      vars:\n        fleet_node_api_token: wrong-token-of-another-fleet\n");
  const wrong = memoryIo();
  assert.equal(await runCli(["status", "-i", join(dir, "other.yml")], wrong), 1);
  assert.match(wrong.stdout() + wrong.stderr(), /HTTP 401, it holds another API token/);
});

test("check passes on a fleet that spreads the delta and fails on one that does not", { skip: needs("ansible") }, async (t) => {
  const good = await startFakeFleet({ count: 3, propagateMs: 50 });
  const bad = await startFakeFleet({ count: 3, propagateMs: 50, neverMerge: ["pi-2"] });
  t.after(() => Promise.all([good.close(), bad.close()]));
  const dir = tmp();
  writeFileSync(join(dir, "good.yml"), fakeInventoryYaml(good));
  writeFileSync(join(dir, "bad.yml"), fakeInventoryYaml(bad));
  const ok = memoryIo();
  assert.equal(await runCli(["check", "-i", join(dir, "good.yml"), "--json"], ok), 0, ok.stderr());
  assert.equal(JSON.parse(ok.stdout()).ok, true, "with --json, stdout is the report alone");
  assert.match(ok.stderr(), /^  teaching pi-1: /m, "and the steps go to stderr");
  const no = memoryIo();
  assert.equal(await runCli(["check", "-i", join(dir, "bad.yml"), "--timeout", "1"], no), 1);
  assert.match(no.stdout(), /pi-2 +host-pi-2 +peer +NO/);
  assert.match(no.stderr(), /pi-2 did not merge/);
});

/** A stand-in ansible/ folder whose up.yml runs locally, so the runner is tested with real Ansible. */
function localPlaybooks(): string {
  const dir = tmp();
  writeFileSync(join(dir, "ansible.cfg"), "[defaults]\ninterpreter_python = auto_silent\n");
  writeFileSync(
    join(dir, "up.yml"),
    [
      "- name: Local stand-in",
      "  hosts: pis",
      "  gather_facts: false",
      "  tasks:",
      "    - name: Ensure something changed",
      "      ansible.builtin.command: echo hi",
      "      changed_when: true",
      "    - name: Ensure the bad host fails",
      "      ansible.builtin.command: sh -c 'echo disk full >&2; exit 1'",
      "      changed_when: false",
      "      when: inventory_hostname == 'bad'",
    ].join("\n") + "\n",
  );
  writeFileSync(
    join(dir, "logs.yml"),
    [
      "- name: Local stand-in for the log collection",
      "  hosts: pis",
      "  gather_facts: false",
      "  tasks:",
      "    - name: Ensure the node's latest log lines are collected",
      "      ansible.builtin.command:",
      "        argv: [sh, -c, 'echo \"line of {{ inventory_hostname }} ({{ fleet_node_logs_lines }})\"; echo warn >&2']",
      "      changed_when: false",
    ].join("\n") + "\n",
  );
  return dir;
}

function localInventory(hosts: string[]): string {
  const file = join(tmp(), "hosts.yml");
  const lines = ["all:", "  children:", "    pis:", "      hosts:"];
  for (const h of hosts) {
    if (h === "gone") lines.push("        gone: {ansible_host: 127.0.0.1, ansible_port: 1, ansible_connection: ssh}");
    else lines.push(`        ${h}: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}`);
  }
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

test("a playbook run ends with a per-host summary; --json gives it as data", { skip: needs("ansible") }, async (t) => {
  process.env.FLEET_ANSIBLE_DIR = localPlaybooks();
  t.after(() => delete process.env.FLEET_ANSIBLE_DIR);
  const inv = localInventory(["one", "two"]);
  const io = memoryIo();
  assert.equal(await runCli(["up", "-i", inv], io), 0, io.stderr());
  assert.match(io.stdout(), /one +changed +1 +1 +0 +0 +1/);
  assert.match(io.stdout(), /up: 2 host\(s\), 2 change\(s\)/);
  const call = [...execLog].reverse().find((c) => c.file === "ansible-playbook")!;
  assert.deepEqual(call.args.slice(0, 2), ["-i", inv]);
  assert.equal(call.env.ANSIBLE_STDOUT_CALLBACK, "ansible.posix.jsonl");
  const js = memoryIo();
  assert.equal(await runCli(["up", "-i", inv, "--json", "--limit", "two"], js), 0);
  const summary = JSON.parse(js.stdout());
  assert.deepEqual(summary.hosts.map((h: { host: string; changedTasks: string[] }) => [h.host, h.changedTasks]), [["two", ["Ensure something changed"]]]);
});

test("an unreachable host and a failed task are named with what to do", { skip: needs("ansible") }, async (t) => {
  process.env.FLEET_ANSIBLE_DIR = localPlaybooks();
  t.after(() => delete process.env.FLEET_ANSIBLE_DIR);
  const io = memoryIo();
  assert.equal(await runCli(["up", "-i", localInventory(["one", "gone"])], io), 1);
  assert.match(io.stderr(), /host unreachable over SSH:\n  gone: .*Connection refused/);
  assert.match(io.stderr(), /→ check each is on and on the network/);
  const io2 = memoryIo();
  assert.equal(await runCli(["up", "-i", localInventory(["one", "bad"])], io2), 1);
  assert.match(io2.stderr(), /up failed on bad:\n  bad: Ensure the bad host fails: disk full/);
  assert.match(io2.stdout(), /bad +FAILED +Ensure the bad host fails: disk full/);
});

test("logs shows each node's lines under its name, as text or JSON", { skip: needs("ansible") }, async (t) => {
  process.env.FLEET_ANSIBLE_DIR = localPlaybooks();
  t.after(() => delete process.env.FLEET_ANSIBLE_DIR);
  const inv = localInventory(["one", "two"]);
  const io = memoryIo();
  assert.equal(await runCli(["logs", "-i", inv, "-n", "7"], io), 0, io.stderr());
  assert.equal(io.stdout(), "==> one <==\nline of one (7)\nwarn\n\n==> two <==\nline of two (7)\nwarn\n");
  const js = memoryIo();
  assert.equal(await runCli(["logs", "-i", inv, "--json", "--limit", "two"], js), 0);
  assert.deepEqual(JSON.parse(js.stdout()), { logs: [{ host: "two", log: "line of two (200)\nwarn" }] });
  assert.equal(await runCli(["logs", "-i", inv, "-n", "zero"], memoryIo()), 2);
});
