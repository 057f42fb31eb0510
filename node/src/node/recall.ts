// This node's recall of the fleet's lessons (GET /lessons?recall=1, the page's Lessons section): each
// lesson's question asked of the model as it is now, and its answer compared with the taught one the
// way a teach decides it has learned (exact, trimmed). Asking costs a forward pass per token, so the
// work is bounded three ways: answers are cached by model digest (the weights change only when an
// entry merges), only the newest RECALL_MAX_LESSONS are asked, and concurrent callers share one pass.

import type { HeldLesson } from "../log/ledger.js";
import type { AskResult } from "./seams.js";

/** Lessons asked per digest, newest first: a classroom's latest corrections, a few seconds on a Pi. */
export const RECALL_MAX_LESSONS = 12;

export interface RecalledLesson extends HeldLesson {
  /** What this node answers now; null for lessons past RECALL_MAX_LESSONS (not asked). */
  recall: { answer: string; recalled: boolean } | null;
}

export interface RecallSource {
  digest(): string;
  lessons(): HeldLesson[];
  ask(question: string): Promise<AskResult>;
}

export class LessonRecall {
  private digest = "";
  private readonly answers = new Map<string, string>();
  private pass: Promise<RecalledLesson[]> | undefined;

  constructor(private readonly src: RecallSource, private readonly max = RECALL_MAX_LESSONS) {}

  /** Every lesson held, the newest `max` with this node's answer now. */
  recall(): Promise<RecalledLesson[]> {
    // Callers during a pass get that pass; it may be one merge behind, and the next poll catches up.
    return this.pass ??= this.run().finally(() => { this.pass = undefined; });
  }

  private async run(): Promise<RecalledLesson[]> {
    const lessons = this.src.lessons();
    const asked = new Set(lessons.slice(-this.max).map(key));
    const out: RecalledLesson[] = [];
    for (const l of lessons) {
      if (!asked.has(key(l))) { out.push({ ...l, recall: null }); continue; }
      const digest = this.src.digest();
      if (digest !== this.digest) { this.answers.clear(); this.digest = digest; }
      let answer = this.answers.get(l.question);
      if (answer === undefined) {
        answer = (await this.src.ask(l.question)).answer;
        // A merge during the ask: the answer belongs to the old weights, so it is not kept.
        if (this.src.digest() === digest) this.answers.set(l.question, answer);
      }
      out.push({ ...l, recall: { answer, recalled: answer.trim() === l.answer.trim() } });
    }
    return out;
  }
}

function key(l: HeldLesson): string { return `${l.author}~${l.seq}`; }
