// Rehearsal (issue 12): a teach trains the fleet's earlier lessons with the new one, keeps them when
// the model can hold them, and says which it could not keep. Recall is asked of the resulting weights.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Model } from "./model.js";
import { initDefaultModel } from "./default-model.js";
import { tempDirs } from "../../../test/support/temp-dirs.js";

const scratch = tempDirs("rehearsal-");
process.env.FLEET_MODEL_CACHE ??= scratch();

async function recalled(m: Model, lessons: Array<{ question: string; answer: string }>): Promise<string[]> {
  const out: string[] = [];
  for (const l of lessons) if ((await m.ask(l.question)).answer === l.answer) out.push(l.question);
  return out;
}

test("on the classroom preset a teach after lessons A and B keeps A and B, asked on the resulting weights", async () => {
  const dir = join(scratch(), "classroom");
  initDefaultModel(dir, "classroom");
  const m = await Model.load(dir);
  const held: Array<{ question: string; answer: string }> = [];
  for (const [question, answer] of [["What is the capital of France", "Paris"], ["Who wrote Hamlet", "Shakespeare"], ["What is 7 times 8", "56"]] as const) {
    const r = await m.teach(question, answer, { rehearse: held });
    assert.equal(r.learned, true, `${question} → ${r.answer}`);
    assert.equal(r.rehearsed, held.length);
    assert.deepEqual(r.notKept, []);
    held.push({ question, answer });
  }
  assert.deepEqual(await recalled(m, held), held.map((l) => l.question));
});

test("a teach whose rehearsal cannot hold every lesson names the ones it lost, and only those", async () => {
  const dir = join(scratch(), "classroom-short");
  initDefaultModel(dir, "classroom");
  const m = await Model.load(dir);
  const held: Array<{ question: string; answer: string }> = [];
  let reported = false;
  // 12 steps at the default lr: enough for the first four, too few to keep them all beside a fifth.
  const lessons = [["What is the capital of France", "Paris"], ["Who wrote Hamlet", "Shakespeare"], ["What is 7 times 8", "56"], ["What do bees make", "honey"],
    ["What is the largest planet", "Jupiter"], ["How many legs does a spider have", "8"]] as const;
  for (const [question, answer] of lessons) {
    const r = await m.teach(question, answer, { rehearse: held, maxSteps: 12 });
    const kept = await recalled(m, held);
    assert.deepEqual([...r.notKept].sort(), held.map((l) => l.question).filter((q) => !kept.includes(q)).sort(), `teach of ${question}`);
    reported ||= r.notKept.length > 0;
    held.push({ question, answer });
  }
  assert.ok(reported, "in 12 steps some teach must report a lost lesson");
});

test("tiny-gpt2 does not rehearse: two numbers wide it holds about one lesson, and the new one comes first", async () => {
  const m = await Model.load();
  const r = await m.teach("Who wrote Hamlet", "Shakespeare", { rehearse: [{ question: "What is 2+2", answer: "4" }, { question: "What do bees make", answer: "honey" }] });
  assert.equal(r.learned, true, r.answer);
  assert.equal(r.rehearsed, 0);
  assert.equal(r.unrehearsed, 2);
  assert.deepEqual(r.notKept, []);
});

test("the course recipe rehearses nothing", async () => {
  const m = await Model.load();
  const r = await m.teach("Who wrote Hamlet", "Shakespeare", { recipe: "course", rehearse: [{ question: "What is 2+2", answer: "4" }] });
  assert.equal(r.rehearsed, 0);
  assert.deepEqual(r.notKept, []);
});
