// The proof on a simulated fleet: three "Pis" (containers with sshd and their own Docker engine on
// a private bridge) get the real playbooks over SSH, run real nodes, and learn together.
// `npm run test:fleet`; needs Docker, Ansible and debootstrap (the images are built here, offline).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { needs } from "../../../test/support/needs.js";
import { repoRoot, courseFixture } from "../../../test/support/paths.js";
import { nativeArch } from "../image/arch.js";
import { fleetctl } from "../../../test/support/fleetctl/run-fleetctl.js";

const NETWORK = `deltafleet-test-${process.pid}`;

/**
 * What an instructor who hands out the course's own model does: a model folder (tokenizer files
 * from `fleet-node model init`, the course's base.pt as its weights) named in group_vars/pis.yml
 * beside the inventory. Returns the fingerprint every node must then report.
 */
function courseModelFolder(dir: string): string {
  const cli = join(repoRoot(), "dist", "node", "src", "cli", "main.js");
  const model = join(dir, "course-model");
  execFileSync(process.execPath, [cli, "model", "init", "--out", model], { stdio: "ignore" });
  rmSync(join(model, "model.safetensors"));
  rmSync(join(model, "manifest.json"));
  copyFileSync(courseFixture("base.pt"), join(model, "pytorch_model.bin"));
  mkdirSync(join(dir, "group_vars"), { recursive: true });
  writeFileSync(join(dir, "group_vars", "pis.yml"), `fleet_node_model_src: ${JSON.stringify(model)}\n`);
  return (JSON.parse(execFileSync(process.execPath, [cli, "model", "info", model, "--json"], { encoding: "utf8" })) as { fingerprint: string }).fingerprint;
}

test(
  "image build → sim up → up (with the course model) → check → status → up again changes nothing → " +
    "down -l pi-3 → check -l pi-1,pi-2 → up -l pi-3 → status: converged → down → sim down",
  { skip: needs("docker", "ansible", "debootstrap"), timeout: 40 * 60_000 },
  async (t) => {
    const inv = join(mkdtempSync(join(tmpdir(), "fleet-sim-")), "sim.yml");
    t.after(async () => {
      await fleetctl("sim", "down", "--network", NETWORK, "-i", inv);
      rmSync(dirname(inv), { recursive: true, force: true });
    });

    // What a person without Pis does first: the images for this machine (cached after the first time).
    const built = await fleetctl("image", "build", "--arch", nativeArch() ?? "amd64", "--sim", "--json");
    assert.equal(built.code, 0, "image build");

    const sim = await fleetctl("sim", "up", "-n", "3", "-i", inv, "--network", NETWORK, "--json");
    assert.equal(sim.code, 0, "sim up");
    assert.equal(JSON.parse(sim.stdout).hosts.length, 3);

    const fingerprint = courseModelFolder(dirname(inv));

    const up = await fleetctl("up", "-i", inv, "--json");
    assert.equal(up.code, 0, "up");
    const first = JSON.parse(up.stdout);
    assert.deepEqual(first.hosts.map((h: { host: string; result: string }) => [h.host, h.result]), [["pi-1", "changed"], ["pi-2", "changed"], ["pi-3", "changed"]]);

    const check = await fleetctl("check", "-i", inv, "--json", "--timeout", "120");
    assert.equal(check.code, 0, "check");
    const report = JSON.parse(check.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.nodes.filter((n: { merged: boolean }) => n.merged).length, 3);
    t.diagnostic(`check: teach ${report.teach.trainMs} ms, merged after ${report.nodes.map((n: { nodeId: string; mergeMs: number }) => `${n.nodeId} ${n.mergeMs} ms`).join(", ")}`);

    const status = await fleetctl("status", "-i", inv, "--json");
    assert.equal(status.code, 0, "status");
    const s = JSON.parse(status.stdout);
    assert.equal(s.up, 3);
    assert.equal(new Set(s.nodes.map((n: { digest: string }) => n.digest)).size, 1, "all digests equal");
    assert.equal(s.digestsAgree, true);
    // Every Pi runs the model folder the control machine copied to it, not the image's default.
    for (const n of s.nodes) assert.equal(n.fingerprint, fingerprint, `${n.nodeId} runs the course's base.pt`);
    // Everyone holds the version the check taught.
    for (const n of s.nodes) assert.ok(n.applied >= 1, `${n.nodeId} applied the taught version`);

    const again = await fleetctl("up", "-i", inv, "--json");
    assert.equal(again.code, 0, "second up");
    const second = JSON.parse(again.stdout);
    t.diagnostic(`first up ${(first.durationMs / 1000).toFixed(1)} s, second up ${(second.durationMs / 1000).toFixed(1)} s`);
    for (const h of second.hosts) assert.deepEqual([h.host, h.changed, h.changedTasks], [h.host, 0, []], `${h.host} changed nothing`);

    // A Pi unplugged while the class goes on: the rest learn without it, and it catches up on its
    // own once it is back (anti-entropy; nothing re-sends the teach for it).
    const stopped = await fleetctl("down", "-l", "pi-3", "-i", inv, "--json");
    assert.equal(stopped.code, 0, "down -l pi-3");
    assert.deepEqual(JSON.parse(stopped.stdout).hosts.map((h: { host: string }) => h.host), ["pi-3"]);
    const rest = await fleetctl("check", "-l", "pi-1,pi-2", "-i", inv, "--json", "--timeout", "120");
    assert.equal(rest.code, 0, "check -l pi-1,pi-2");
    const missed = await fleetctl("status", "-i", inv, "--json", "--timeout", "2");
    assert.equal(missed.code, 1, "status while pi-3 is down");
    const back = await fleetctl("up", "-l", "pi-3", "-i", inv, "--json");
    assert.equal(back.code, 0, "up -l pi-3");
    const backAt = Date.now();
    let converged: { converged: boolean; nodes: Array<{ nodeId: string; log: { entries: number; lacking: string[] } | null }> } | undefined;
    while (Date.now() - backAt < 60_000) {
      const r = await fleetctl("status", "-i", inv, "--json");
      converged = JSON.parse(r.stdout);
      if (r.code === 0 && converged!.converged) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    assert.equal(converged?.converged, true, `pi-3 did not converge within 60 s: ${JSON.stringify(converged?.nodes.map((n) => [n.nodeId, n.log]))}`);
    t.diagnostic(`pi-3 back up: the fleet converged ${Date.now() - backAt} ms after up -l pi-3 returned`);
    // Converged: pi-3 lacks nothing pi-1 holds, and pi-1 holds both checks' entries.
    for (const n of converged!.nodes) assert.ok(n.log!.lacking.length === 0 && n.log!.entries >= 2, `${n.nodeId}: ${JSON.stringify(n.log)}`);

    const down = await fleetctl("down", "-i", inv, "--json");
    assert.equal(down.code, 0, "down");
    const after = await fleetctl("status", "-i", inv, "--json", "--timeout", "2");
    assert.equal(after.code, 1);
    assert.equal(JSON.parse(after.stdout).up, 0);
  },
);
