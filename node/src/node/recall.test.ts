// This node's recall of its lessons costs bounded work: answers are cached per model digest, only
// the newest few lessons are asked, callers at the same moment share one pass, and an answer given
// while a merge changed the weights is not kept.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { HeldLesson } from "../log/ledger.js";
import { LessonRecall } from "./recall.js";
import { until as poll } from "../../../test/support/until.js";

function source(lessons: HeldLesson[], answers: Record<string, string>) {
  const s = {
    digest: "d1",
    asked: [] as string[],
    onAsk: undefined as (() => void | Promise<void>) | undefined,
    lessons: () => lessons,
    async ask(q: string) {
      s.asked.push(q);
      await s.onAsk?.();
      await new Promise((r) => setTimeout(r, 5));
      return { answer: answers[q] ?? "?", raw: "", tokens: 1, ms: 1 };
    },
  };
  return { src: { digest: () => s.digest, lessons: s.lessons, ask: (q: string) => s.ask(q) }, s };
}

const until = (what: string, pred: () => boolean): Promise<true> => poll(what, () => pred(), 2_000, 5);

const lesson = (question: string, answer: string, seq: number): HeldLesson => ({ question, answer, author: "Pi-1", seq, at: seq });

test("each lesson is compared with what the node answers now; a second look at the same weights asks nothing", async () => {
  const { src, s } = source([lesson("What is 2+2", "4", 1), lesson("Capital of France", "Paris", 2)], { "What is 2+2": "4", "Capital of France": "Lyon" });
  const r = new LessonRecall(src);
  const out = await r.recall();
  assert.deepEqual(out.map((l) => l.recall), [{ answer: "4", recalled: true }, { answer: "Lyon", recalled: false }]);
  assert.equal(s.asked.length, 2);
  await r.recall();
  assert.equal(s.asked.length, 2, "cached for this digest");
  s.digest = "d2";
  await r.recall();
  assert.equal(s.asked.length, 4, "new weights: asked again");
});

test("only the newest lessons are asked; older ones say so", async () => {
  const lessons = Array.from({ length: 5 }, (_, i) => lesson(`q${i}`, "a", i));
  const { src, s } = source(lessons, {});
  const out = await new LessonRecall(src, 2).recall();
  assert.deepEqual(out.map((l) => l.recall === null), [true, true, true, false, false]);
  assert.deepEqual(s.asked, ["q3", "q4"]);
});

test("callers at the same moment share one pass", async () => {
  const { src, s } = source([lesson("q", "a", 1)], { q: "a" });
  const r = new LessonRecall(src);
  const [x, y] = await Promise.all([r.recall(), r.recall()]);
  assert.equal(x, y);
  assert.equal(s.asked.length, 1);
});

test("an answer given while a merge changed the weights is not kept", async () => {
  const { src, s } = source([lesson("q", "a", 1)], { q: "a" });
  const r = new LessonRecall(src);
  s.onAsk = () => { s.digest = "d2"; s.onAsk = undefined; };
  await r.recall();
  await r.recall();
  assert.equal(s.asked.length, 2, "asked again on the new weights");
});

test("counts: none before a pass, which the first call starts without waiting for it; then the pass's held, asked and recalled", async () => {
  const lessons = [lesson("q1", "a", 1), lesson("q2", "b", 2), lesson("q3", "c", 3)];
  const { src, s } = source(lessons, { q1: "a", q2: "x", q3: "c" });
  const r = new LessonRecall(src, 2);
  assert.equal(r.counts(), undefined);
  await r.recall();
  assert.deepEqual(r.counts(), { digest: "d1", held: 3, asked: 2, recalled: 1 });
  assert.deepEqual(s.asked, ["q2", "q3"], "only the newest two, however many lessons are held");
});

test("counts ask the model at most once per digest, and never wait for it: a stuck pass leaves the last counts", async () => {
  const { src, s } = source([lesson("q", "a", 1)], { q: "a" });
  const r = new LessonRecall(src);
  r.counts();
  await until("the first pass", () => r.counts() !== undefined);
  for (let i = 0; i < 5; i++) assert.deepEqual(r.counts(), { digest: "d1", held: 1, asked: 1, recalled: 1 });
  assert.equal(s.asked.length, 1, "the same weights are not asked again");

  let release!: () => void;
  s.onAsk = () => new Promise<void>((done) => { release = done; });
  s.digest = "d2";
  const before = s.asked.length;
  assert.deepEqual(r.counts(), { digest: "d1", held: 1, asked: 1, recalled: 1 }, "the last pass's counts, at once");
  assert.deepEqual(r.counts(), { digest: "d1", held: 1, asked: 1, recalled: 1 });
  assert.equal(s.asked.length, before + 1, "one pass for the new digest, however often counts() is called");
  release();
  await until("the pass on d2", () => r.counts()?.digest === "d2");
});

test("a lesson added without the weights changing is counted at the next pass", async () => {
  const lessons = [lesson("q1", "a", 1)];
  const { src } = source(lessons, { q1: "a", q2: "b" });
  const r = new LessonRecall(src);
  await r.recall();
  lessons.push(lesson("q2", "b", 2));
  r.counts();
  await until("the pass with two lessons", () => r.counts()?.held === 2);
  assert.deepEqual(r.counts(), { digest: "d1", held: 2, asked: 2, recalled: 2 });
});

