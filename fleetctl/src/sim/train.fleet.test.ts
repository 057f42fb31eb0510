// The proof on a simulated fleet: three "Pis" (containers with sshd and their own Docker
// engine) run real nodes from the image, `fleetctl train` runs two FedAvg rounds over the example
// quiz through them, and `fleetctl status` shows one digest. `npm run test:fleet`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { repoRoot } from "../../../test/support/paths.js";
import { fleetctl } from "../../../test/support/fleetctl/run-fleetctl.js";
import { archTag, DEFAULT_NODE_IMAGE, nativeArch } from "../image/arch.js";

const NETWORK = `deltafleet-train-${process.pid}`;
/** The node image's tag: FLEET_TEST_NODE_TAG lets a run on a shared machine leave the default tag to others. */
const TAG = process.env.FLEET_TEST_NODE_TAG ?? DEFAULT_NODE_IMAGE;

test("image build → sim up -n 3 → up → train --rounds 2 over data/quiz.jsonl → status: one digest → sim down",
  { skip: needs("docker", "ansible", "debootstrap"), timeout: 40 * 60_000 }, async (t) => {
    const inv = join(mkdtempSync(join(tmpdir(), "fleet-train-sim-")), "sim.yml");
    t.after(async () => {
      await fleetctl("sim", "down", "--network", NETWORK, "-i", inv);
      rmSync(dirname(inv), { recursive: true, force: true });
    });
    const arch = nativeArch() ?? "amd64";
    assert.equal((await fleetctl("image", "build", "--arch", arch, "--tag", TAG, "--sim", "--json")).code, 0, "image build");
    assert.equal((await fleetctl("sim", "up", "-n", "3", "-i", inv, "--network", NETWORK, "--node-image", archTag(TAG, arch), "--json")).code, 0, "sim up");
    assert.equal((await fleetctl("up", "-i", inv, "--json")).code, 0, "up");

    const train = await fleetctl("train", "-i", inv, "--dataset", join(repoRoot(), "data", "quiz.jsonl"), "--rounds", "2", "--straggler-timeout", "60", "--json");
    assert.equal(train.code, 0, "train");
    const r = JSON.parse(train.stdout);
    t.diagnostic(`train over 3 simulated Pis: ${r.seconds} s; loss ${r.lossBefore} → ${r.loss.join(" → ")}; bytes per round ${r.bytes.join(", ")}; stragglers ${JSON.stringify(r.stragglers)}`);
    assert.equal(r.state, "done");
    assert.deepEqual(r.members, ["pi-1", "pi-2", "pi-3"]);
    assert.equal(r.loss.length, 2);
    assert.ok(r.loss[1] < r.lossBefore, `loss ${r.lossBefore} → ${r.loss.join(", ")}`);

    const status = await fleetctl("status", "-i", inv, "--json");
    assert.equal(status.code, 0, "status");
    const s = JSON.parse(status.stdout);
    assert.equal(s.up, 3);
    assert.equal(s.digestsAgree, true);
    assert.equal(new Set(s.nodes.map((n: { digest: string }) => n.digest)).size, 1, "one digest");
    for (const n of s.nodes) assert.ok(n.log.entries >= 2, `${n.nodeId} holds both rounds`);
  });
