// `fleetctl dashboard` against stand-in nodes that want the fleet's token: it picks the first node
// that answers (saying which it passed over), prints the page's link with the token, opens no
// browser with --print or without a desktop, and fails naming every node when none answers.

import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fakeInventoryYaml, startFakeFleet } from "../../../test/support/fleetctl/fake-nodes.js";
import { needs } from "../../../test/support/needs.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";
import { memoryIo } from "../io.js";
import { runCli } from "../main.js";
import { execLog } from "../exec.js";
import type { DashboardReport } from "./dashboard.js";

delete process.env.FLEET_INVENTORY;
const tmp = tempDirs("fleetctl-dashboard-");
const TOKEN = "k3Xq9vT2mZ8pL4rW/7yB1nC6dF0gH5jA=";

async function fleetWithToken(t: { after: (f: () => Promise<void>) => void }) {
  const fleet = await startFakeFleet({ count: 3, token: TOKEN });
  t.after(() => fleet.close());
  const dir = tmp();
  const inventory = join(dir, "hosts.yml");
  writeFileSync(inventory, fakeInventoryYaml(fleet));
  writeFileSync(join(dir, "fleet-api-token"), `${TOKEN}\n`, { mode: 0o600 });
  return { fleet, inventory };
}

test("dashboard --print: the first node that answers, its page's link with the token, the nodes passed over", { skip: needs("ansible") }, async (t) => {
  const { fleet, inventory } = await fleetWithToken(t);
  await fleet.stop("pi-1");
  const io = memoryIo();
  assert.equal(await runCli(["dashboard", "-i", inventory, "--print", "--json"], io), 0, io.stderr());
  const r = JSON.parse(io.stdout()) as DashboardReport;
  assert.equal(r.node, "pi-2");
  assert.equal(r.url, `http://127.0.0.1:${fleet.nodes[1]!.httpPort}/?token=${encodeURIComponent(TOKEN)}`);
  assert.equal(r.openedWith, null);
  assert.deepEqual(r.skipped.map((s) => s.host), ["host-pi-1"]);
  assert.match(r.skipped[0]!.why, /not answering/);

  const human = memoryIo();
  assert.equal(await runCli(["dashboard", "-i", inventory, "-l", "host-pi-3", "--print"], human), 0, human.stderr());
  assert.match(human.stdout(), /classroom page of pi-3 \(host-pi-3\):\n {2}http:\/\/127\.0\.0\.1:\d+\/\?token=k3Xq9vT2mZ8pL4rW%2F7yB1nC6dF0gH5jA%3D\n/);
  assert.match(human.stdout(), /holds the fleet's token/);
});

test("dashboard without --print on a machine without a desktop prints the link and runs no opener", { skip: needs("ansible") }, async (t) => {
  const { inventory } = await fleetWithToken(t);
  const saved = { d: process.env.DISPLAY, w: process.env.WAYLAND_DISPLAY };
  delete process.env.DISPLAY;
  delete process.env.WAYLAND_DISPLAY;
  t.after(async () => {
    if (saved.d !== undefined) process.env.DISPLAY = saved.d;
    if (saved.w !== undefined) process.env.WAYLAND_DISPLAY = saved.w;
  });
  const before = execLog.length;
  const io = memoryIo();
  assert.equal(await runCli(["dashboard", "-i", inventory, "--json"], io), 0, io.stderr());
  assert.equal((JSON.parse(io.stdout()) as DashboardReport).openedWith, null);
  assert.deepEqual(execLog.slice(before).filter((c) => /open$/.test(c.file)), []);
});

test("dashboard with every node down fails (exit 1) naming each", { skip: needs("ansible") }, async (t) => {
  const { fleet, inventory } = await fleetWithToken(t);
  for (const n of fleet.nodes) await fleet.stop(n.nodeId);
  const io = memoryIo();
  assert.equal(await runCli(["dashboard", "-i", inventory, "--print", "--timeout", "1"], io), 1);
  assert.match(io.stderr(), /none of the 3 nodes answered/);
  for (const n of fleet.nodes) assert.match(io.stderr(), new RegExp(`node ${n.nodeId} `));
  assert.match(io.stderr(), /fleetctl status/);
});
