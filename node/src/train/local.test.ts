// A member's local epoch: the teach's Adam over its shard lowers the loss on that shard, leaves the
// weights it started from untouched, and hands back an fp16 delta from them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { mergeDelta } from "../engine/delta.js";
import { viewParams } from "../engine/params.js";
import { Model } from "../model/model.js";
import { repoRoot } from "../../../test/support/paths.js";
import { parseJsonl, type Pair } from "./dataset.js";
import { meanLoss, trainEpoch } from "./local.js";

test("one epoch over 24 quiz pairs lowers their mean answer loss on baseline + the delta as sent; the baseline is untouched", async () => {
  const model = await Model.load(undefined, { inference: "ts" });
  const pairs = (parseJsonl(readFileSync(join(repoRoot(), "data", "quiz.jsonl"), "utf8")) as Pair[]).slice(0, 24);
  const tokens = pairs.map((p) => model.pairTokens(p.question, p.answer));
  const before = Float32Array.from(model.params.flat);
  const lossBefore = await meanLoss(model.params, tokens);
  const out = await trainEpoch(model.params, tokens);
  assert.deepEqual(model.params.flat, before, "the weights the fleet agrees on are left as they were");
  assert.equal(out.losses.length, 24);
  for (const t of out.delta.values()) assert.equal(t.dtype, "f16");
  const after = viewParams(model.params.config, Float32Array.from(before));
  mergeDelta(after, out.delta, 1);
  const lossAfter = await meanLoss(after, tokens);
  assert.ok(lossAfter < lossBefore - 0.5, `loss ${lossBefore} → ${lossAfter}`);
});

test("a shard over the round recipe's step count is refused (the round entry's trust bound assumes it)", async () => {
  const model = await Model.load(undefined, { inference: "ts" });
  const t = model.pairTokens("q?", "a");
  await assert.rejects(trainEpoch(model.params, Array.from({ length: 513 }, () => t)), /over ROUND_RECIPE.maxSteps/);
});
