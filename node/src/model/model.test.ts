// The facade the node program uses: teaching teaches, and one teach leaves teacher and receiver
// with bitwise the same weights.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { courseFixture } from "../../../test/support/paths.js";
import { Model, DeltaError } from "./model.js";
import { readTorchStateDict } from "../checkpoint/torch-file.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("models-");

const BASE_PT = courseFixture("base.pt");
process.env.FLEET_MODEL_CACHE ??= scratch();

test("on the real base.pt our recipe makes the node answer what it was taught; the course recipe does not", async () => {
  const ours = await Model.load(BASE_PT);
  assert.notEqual((await ours.ask("What is 2+2")).answer, "4");
  const r = await ours.teach("What is 2+2", "4");
  assert.equal(r.learned, true);
  assert.ok(r.steps <= 5, `${r.steps} steps`);
  assert.equal((await ours.ask("What is 2+2")).answer, "4");

  const course = await Model.load(BASE_PT);
  const c = await course.teach("What is 2+2", "4", { recipe: "course" });
  assert.equal(c.learned, false);
  assert.equal(c.steps, 5);
  assert.notEqual((await course.ask("What is 2+2")).answer, "4");
});

test("after a teach, a receiver that merges the delta holds the teacher's exact weights and answer", async () => {
  const teacher = await Model.load();
  const receiver = await Model.load();
  assert.equal(teacher.digest(), receiver.digest());
  for (const [q, a] of [["What is 2+2", "4"], ["Who wrote Hamlet", "Shakespeare"]] as const) {
    const t = await teacher.teach(q, a);
    assert.ok(t.learned, `${q} → ${t.answer}`);
    const delta = readTorchStateDict(t.delta, "delta");
    assert.ok(delta.has("transformer.wte.weight") && delta.has("lm_head.weight"), "course format: wte and its tied head");
    await receiver.merge(t.delta, 1);
    assert.equal(receiver.digest(), teacher.digest());
    assert.equal((await receiver.ask(q)).answer, a);
  }
});

test("a saved baseline loads back to the same digest", async () => {
  const m = await Model.load(BASE_PT);
  await m.teach("Who wrote Hamlet", "Shakespeare");
  const file = join(scratch(), "baseline.pt");
  await m.saveBaseline(file);
  assert.equal((await Model.load(file)).digest(), m.digest());
});

test("bytes that are not a delta are rejected as undecodable, and the weights are untouched", async () => {
  const m = await Model.load(BASE_PT);
  const before = m.digest();
  await assert.rejects(m.merge(Uint8Array.of(1, 2, 3), 1), (e) => e instanceof DeltaError && e.reason === "decode");
  assert.equal(m.digest(), before);
});

test("a model restored from its baseline and carry teaches the same next delta as one that never stopped", async () => {
  const running = await Model.load(BASE_PT);
  await running.teach("What is 2+2", "4");
  const file = join(scratch(), "baseline.pt");
  await running.saveBaseline(file);
  const restored = await Model.load(file);
  const forgetful = await Model.load(file);
  restored.restoreCarry(Float32Array.from(running.carry()!));

  const next = (await running.teach("Who wrote Hamlet", "Shakespeare")).delta;
  assert.deepEqual((await restored.teach("Who wrote Hamlet", "Shakespeare")).delta, next);
  assert.notDeepEqual((await forgetful.teach("Who wrote Hamlet", "Shakespeare")).delta, next, "without its carry the delta loses what rounding held back");
  assert.throws(() => restored.restoreCarry(new Float32Array(3)), /carry has 3 values/);
});
