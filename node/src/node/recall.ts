// This node's recall of the fleet's lessons (GET /lessons?recall=1, the page's Lessons section): each
// lesson's question asked of the model as it is now, and its answer compared with the taught one the
// way a teach decides it has learned (exact, trimmed). Asking costs a forward pass per token, so the
// work is bounded three ways: answers are cached by model digest (the weights change only when an
// entry merges), only the newest RECALL_MAX_LESSONS are asked, and concurrent callers share one pass.
// The metrics and /status read counts() instead: the counts of the newest pass finished, so a scrape
// never waits for the model (which a teach may hold for seconds); a pass is started for them when
// the weights changed since, off the merge path and at most once per digest.

import type { HeldLesson } from "../log/ledger.js";
import type { AskResult } from "./seams.js";

/** Lessons asked per digest, newest first: a classroom's latest corrections, a few seconds on a Pi. */
export const RECALL_MAX_LESSONS = 12;

export interface RecalledLesson extends HeldLesson {
  /** What this node answers now; null for lessons past RECALL_MAX_LESSONS (not asked). */
  recall: { answer: string; recalled: boolean } | null;
}

/** How many lessons this node holds, how many of them it asked itself, and how many it answered as taught. */
export interface RecallCounts {
  /** The weights the answers came from (the node's digest when the pass started). */
  digest: string;
  held: number;
  asked: number;
  recalled: number;
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
  private last: RecallCounts | undefined;

  constructor(private readonly src: RecallSource, private readonly max = RECALL_MAX_LESSONS) {}

  /** Every lesson held, the newest `max` with this node's answer now. */
  recall(): Promise<RecalledLesson[]> {
    // Callers during a pass get that pass; it may be one merge behind, and the next poll catches up.
    return this.pass ??= this.run().finally(() => { this.pass = undefined; });
  }

  /**
   * The counts of the newest pass finished (undefined before the first), at once. When the weights
   * or the lessons are not those that pass asked, a pass starts in the background; a later call
   * reports it. A pass that fails (the model could not answer) is tried again at the next call.
   */
  counts(): RecallCounts | undefined {
    const l = this.last;
    const stale = !l || l.digest !== this.src.digest() || l.held !== this.src.lessons().length;
    if (stale && !this.pass) void this.recall().catch(() => undefined);
    return l;
  }

  private async run(): Promise<RecalledLesson[]> {
    const startedOn = this.src.digest();
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
    // Answers from weights that changed during the pass count for the digest it started on, which
    // is then no longer the node's: counts() starts another pass, and the cache makes it short.
    const answered = out.filter((l) => l.recall !== null);
    this.last = { digest: startedOn, held: out.length, asked: answered.length, recalled: answered.filter((l) => l.recall!.recalled).length };
    return out;
  }
}

function key(l: HeldLesson): string { return `${l.author}~${l.seq}`; }
