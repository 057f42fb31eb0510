// The runtime with the real engine behind it (the overlay still a fake): what a refused delta does
// to the weights a node holds, saves and reports as its digest.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeTorchStateDict } from "../checkpoint/torch-file.js";
import type { StateDict } from "../checkpoint/tensor.js";
import { ensureDefaultModel } from "../model/default-model.js";
import { DeltaError, Model } from "../model/model.js";
import { createLogger } from "./logger.js";
import { resolveNodeOptions } from "./options.js";
import type { NodeDeps } from "./seams.js";
import { startNode, type RunningNode } from "./start.js";
import { FakeHub } from "../../../test/support/node-fakes.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("node-engine-");
process.env.FLEET_MODEL_CACHE ??= scratch();

const deps = (hub: FakeHub): NodeDeps => ({
  loadModel: (p) => Model.load(p, { inference: "ts" }),
  defaultModelPath: async () => ensureDefaultModel(),
  startOverlay: hub.start,
  deltaErrorReason: (e) => (e instanceof DeltaError ? e.reason : undefined),
});

async function node(hub: FakeHub, id: string, dir: string): Promise<RunningNode> {
  const o = resolveNodeOptions(id, { http: "127.0.0.1:0", stateDir: join(dir, id), port: "5000" }, {});
  return startNode(o, deps(hub), createLogger({ nodeId: id, level: "silent", format: "json" }));
}

const f16 = (...halves: number[]) => ({ dtype: "f16" as const, shape: [halves.length], data: Uint16Array.from(halves) });
const deltaFile = (entries: [string, ReturnType<typeof f16>][]): Uint8Array => writeTorchStateDict(new Map(entries) as StateDict);
const arrival = (version: string, bytes: Uint8Array) => ({ version, from: "Pi-1", bytes, sha256: "", metaAt: Date.now() });

test("a delta refused for a NaN tensor after a good one leaves the node on the fleet's digest, now and after the next merge", async (t) => {
  const dir = scratch();
  const hub = new FakeHub();
  let b = await node(hub, "Pi-2", dir);
  t.after(() => b.close());
  const start = b.runtime.digest;

  const halfBad = deltaFile([["transformer.h.0.ln_1.bias", f16(0x3c00, 0x3c00)], ["transformer.h.1.ln_1.bias", f16(0x3c00, 0x7e00)]]);
  await assert.rejects(b.runtime.onDelta(arrival("v1", halfBad)), (e: unknown) => e instanceof DeltaError && e.reason === "decode");
  assert.equal(b.runtime.model.digest(), start, "the refused delta changed the weights in memory");

  // The next good delta is saved with whatever the weights hold: they must be start + it, nothing more.
  const good = deltaFile([["transformer.h.1.ln_2.bias", f16(0x3800, 0xb800)]]);
  assert.equal(await b.runtime.onDelta(arrival("v2", good)), "applied");
  const fleet = await Model.load(undefined, { inference: "ts" });
  assert.equal(fleet.digest(), start);
  await fleet.merge(good, 1);
  assert.equal(b.runtime.digest, fleet.digest(), "this node left the digest of a node that merged only the good delta");

  await b.close();
  b = await node(hub, "Pi-2", dir);
  assert.equal(b.runtime.digest, fleet.digest(), "the saved weights differ from the fleet's");
});
