// Whether a question is one the fleet was taught: a label shown beside the model's answer (in /ask,
// at the prompt, on the page), never the answer itself. The answer always comes from the weights:
// a lookup table in front of the model would report what was taught, not what the fleet learned.
//
// Questions match as a person would retype them: case, surrounding space, runs of spaces and a
// trailing "?", "." or "!" do not matter. page/ask.js applies the same rule in the browser
// (page-logic.test.ts holds the two to it).

import type { HeldLesson } from "../log/ledger.js";

/** The lesson a question was taught as: its taught answer and who taught it. */
export interface TaughtLabel {
  answer: string;
  author: string;
  seq: number;
}

export function questionKey(q: string): string {
  return q.trim().toLowerCase().replace(/[?.!\s]+$/, "").replace(/\s+/g, " ");
}

/** The newest lesson taught for this question (a later teach corrects an earlier one), or null. */
export function taughtLesson(question: string, lessons: readonly HeldLesson[]): TaughtLabel | null {
  const key = questionKey(question);
  for (let i = lessons.length - 1; i >= 0; i--) {
    const l = lessons[i]!;
    if (questionKey(l.question) === key) return { answer: l.answer, author: l.author, seq: l.seq };
  }
  return null;
}

/** What a person reads under the answer when the question was taught (the page says the same). */
export function taughtNote(t: TaughtLabel): string {
  return `The fleet was taught this question by ${t.author}: "${t.answer}".`;
}
