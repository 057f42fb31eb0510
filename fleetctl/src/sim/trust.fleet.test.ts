// Trust on a simulated fleet: one `fleetctl up` enrols three "Pis" (each node's key made in its
// state folder, the roster beside the inventory and on every Pi), `fleetctl check` passes on the
// enrolled fleet, and once `fleetctl roster revoke` has removed pi-3 what pi-3 is taught no longer
// changes pi-1's or pi-2's model: they refuse it as revoked; another `up` changes nothing and keeps
// it revoked. `fleetctl roster add` lets it back in.
// `npm run test:fleet`; needs Docker, Ansible and debootstrap, like sim/fleet.fleet.test.ts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { fleetctl } from "../../../test/support/fleetctl/run-fleetctl.js";
import { nativeArch } from "../image/arch.js";
import { loadInventory } from "../inventory.js";
import { getStatus, teach, type NodeAddress, type NodeStatus } from "../nodes/client.js";
import { nodeAddressOf } from "../nodes/client.js";
import { waitUntil } from "../wait.js";

const NETWORK = `deltafleet-trust-${process.pid}`;
// Its own tag: another fleet test building from another tree at the same time cannot swap the image.
const NODE_IMAGE = `deltafleet/node:trust-test-${process.pid}`;

/** What /status says about trust (docs/contracts.md). */
interface TrustStatus {
  roster: boolean;
  members: number;
  acceptUnsigned: boolean;
  refused: Record<string, number>;
}

async function trustOf(n: NodeAddress): Promise<TrustStatus & { digest: string; applied: NodeStatus["applied"] }> {
  const s = (await getStatus(n)) as NodeStatus & { trust: TrustStatus };
  return { ...s.trust, digest: s.digest, applied: s.applied };
}

/** Polls until every node's trust status satisfies `ok`; fails with the last status seen. */
async function until(nodes: NodeAddress[], what: string, ok: (t: Awaited<ReturnType<typeof trustOf>>) => boolean, ms: number): Promise<void> {
  let last: unknown;
  const r = await waitUntil(async () => {
    const all = await Promise.all(nodes.map(trustOf));
    last = all.map(({ digest, applied, ...t }) => ({ ...t, digest: digest.slice(0, 12), applied: applied.length }));
    return all.every(ok);
  }, { deadline: Date.now() + ms, everyMs: 500 });
  assert.ok(r.done, `${what} within ${ms / 1000} s; last seen: ${JSON.stringify(last)}`);
}

test(
  "up enrols the fleet → check passes → roster revoke pi-3 → pi-3's teach changes nobody's model, refused as revoked → up again changes nothing → roster add pi-3",
  { skip: needs("docker", "ansible", "debootstrap"), timeout: 40 * 60_000 },
  async (t) => {
    const inv = join(mkdtempSync(join(tmpdir(), "fleet-trust-")), "sim.yml");
    t.after(async () => {
      await fleetctl("sim", "down", "--network", NETWORK, "-i", inv);
      rmSync(dirname(inv), { recursive: true, force: true });
      execFileSync("docker", ["image", "rm", "--force", NODE_IMAGE, `${NODE_IMAGE}-${nativeArch() ?? "amd64"}`], { stdio: "ignore" });
    });

    const built = await fleetctl("image", "build", "--arch", nativeArch() ?? "amd64", "--tag", NODE_IMAGE, "--sim", "--json");
    assert.equal(built.code, 0, "image build");
    const sim = await fleetctl("sim", "up", "-n", "3", "-i", inv, "--network", NETWORK, "--node-image", NODE_IMAGE, "--json");
    assert.equal(sim.code, 0, "sim up");

    // One `up`, nothing else: keys made on the Pis, the roster written here and handed to each.
    const up = await fleetctl("up", "-i", inv, "--json");
    assert.equal(up.code, 0, "up");
    const listed = await fleetctl("roster", "list", "-i", inv, "--json");
    assert.equal(listed.code, 0, "roster list");
    assert.deepEqual(JSON.parse(listed.stdout).members.map((m: { nodeId: string }) => m.nodeId), ["pi-1", "pi-2", "pi-3"]);

    const fleet = (await loadInventory(inv)).hosts.map(nodeAddressOf);
    const [pi1, pi2, pi3] = fleet as [NodeAddress, NodeAddress, NodeAddress];
    for (const n of fleet) {
      const s = await trustOf(n);
      assert.deepEqual([n.nodeId, s.roster, s.members, s.acceptUnsigned], [n.nodeId, true, 3, false], `${n.nodeId} runs with the fleet's roster`);
    }

    const check = await fleetctl("check", "-i", inv, "--json", "--timeout", "120");
    assert.equal(check.code, 0, "check on the enrolled fleet");

    const revoked = await fleetctl("roster", "revoke", "-i", inv, "pi-3", "--json");
    assert.equal(revoked.code, 0, "roster revoke");
    // No restart: the running nodes re-read the roster they were handed.
    await until([pi1, pi2], "pi-1 and pi-2 re-read the roster without pi-3", (s) => s.members === 2, 30_000);

    const before = await Promise.all([pi1, pi2].map(trustOf));
    const taught = await teach(pi3, "What is the revoked word?", "quartz");
    t.diagnostic(`pi-3 taught version ${taught.version} (${taught.bytes} bytes)`);
    await until([pi1, pi2], "pi-1 and pi-2 refuse pi-3's delta as revoked", (s) => (s.refused.revoked ?? 0) > 0, 60_000);
    const after = await Promise.all([pi1, pi2].map(trustOf));
    after.forEach((s, i) => {
      const who = i === 0 ? "pi-1" : "pi-2";
      assert.equal(s.digest, before[i]!.digest, `${who}'s model is unchanged`);
      assert.ok(!s.applied.some((a) => a.version === taught.version), `${who} did not apply pi-3's version`);
    });
    t.diagnostic(`refused on pi-1/pi-2: ${after.map((s) => JSON.stringify(s.refused)).join(" ")}`);

    // Another `up` changes nothing, and pi-3 stays revoked: enrolment never re-admits a revoked node.
    const again = await fleetctl("up", "-i", inv, "--json");
    assert.equal(again.code, 0, "up again");
    for (const h of JSON.parse(again.stdout).hosts) assert.deepEqual([h.host, h.changed, h.changedTasks], [h.host, 0, []], `${h.host} changed nothing`);
    const still = JSON.parse((await fleetctl("roster", "list", "-i", inv, "--json")).stdout);
    assert.deepEqual(still.revoked.map((n: { nodeId: string }) => n.nodeId), ["pi-3"]);

    // Re-admitted: its key read on its Pi again, every node counts three members.
    const added = await fleetctl("roster", "add", "-i", inv, "pi-3", "--json");
    assert.equal(added.code, 0, "roster add");
    await until([pi1, pi2], "pi-1 and pi-2 re-read the roster with pi-3 again", (s) => s.members === 3, 30_000);
  },
);
